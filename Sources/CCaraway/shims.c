#include "CCaraway.h"
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>
#include <errno.h>
#include <fcntl.h>

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

int caraway_spawn_script(const char *path, char *const argv[], char *const envp[], int out_fd, int err_fd) {
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid != 0) return pid; /* parent: pid, or -1 with errno */
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127); /* the caller died before prctl took effect */
    int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0) _exit(127);
    long max_fd = sysconf(_SC_OPEN_MAX);
    if (max_fd < 0 || max_fd > 65536) max_fd = 65536;
    for (int fd = 3; fd < max_fd; fd++) close(fd);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    for (int sig = 1; sig < 32; sig++) sigaction(sig, &sa, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execve(path, argv, envp);
    /* ETXTBSY: some other process still holds the file open for writing — typically a fork
     * (ours or anyone's) that inherited the writer's fd and has not closed it yet. That window
     * is short, so wait it out briefly instead of failing the task. */
    for (int attempt = 0; attempt < 50 && errno == ETXTBSY; attempt++) {
        usleep(2000);
        execve(path, argv, envp);
    }
    _exit(127);
}

#include <sys/timerfd.h>

int caraway_timerfd_create(void) {
    return timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
}

int caraway_timerfd_arm(int fd, long long nanoseconds) {
    struct itimerspec spec = {0};
    if (nanoseconds > 0) {
        spec.it_value.tv_sec = nanoseconds / 1000000000LL;
        spec.it_value.tv_nsec = nanoseconds % 1000000000LL;
    }
    return timerfd_settime(fd, 0, &spec, NULL);
}
