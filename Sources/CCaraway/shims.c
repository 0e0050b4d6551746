#include "CCaraway.h"
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

static volatile sig_atomic_t soft_limit_flag = 0;

static void on_soft_limit(int signo) { (void)signo; soft_limit_flag = 1; }

int caraway_die_with_parent(void) {
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) return -1;
    // The parent may have died before prctl ran: then we were re-parented already.
    if (getppid() == 1) return -1;
    return 0;
}

void caraway_install_soft_limit_handler(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_soft_limit;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);
}

int caraway_soft_limit_flag(void) { return soft_limit_flag ? 1 : 0; }
void caraway_reset_soft_limit_flag(void) { soft_limit_flag = 0; }

FILE *caraway_stderr(void) { return stderr; }
FILE *caraway_stdout(void) { return stdout; }
