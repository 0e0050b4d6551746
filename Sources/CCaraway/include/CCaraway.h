// Small C helpers for what Swift cannot express directly: variadic prctl,
// async-signal-safe flags, and the stdio globals Swift 6 refuses to read.
#ifndef CCARAWAY_H
#define CCARAWAY_H
#include <stdio.h>

/// Ask the kernel to SIGKILL this process when its parent dies (Linux prctl).
/// Returns 0 on success, -1 on failure (errno set).
int caraway_die_with_parent(void);

/// Install a SIGUSR1 handler that raises the soft-time-limit flag.
void caraway_install_soft_limit_handler(void);
/// 1 once SIGUSR1 arrived since the last reset, else 0. Async-signal-safe flag.
int caraway_soft_limit_flag(void);
void caraway_reset_soft_limit_flag(void);

/// fork + execve for script tasks: the script gets its own process group, SIGKILL when the
/// calling process dies (so killing a pool child never orphans its script), stdin from
/// /dev/null, stdout/stderr on the given fds, and no other inherited descriptors.
/// Returns the pid, or -1 with errno set. Only async-signal-safe calls run between fork and exec.
int caraway_spawn_script(const char *path, char *const argv[], char *const envp[], int out_fd, int err_fd);

/// A CLOCK_MONOTONIC timerfd (non-blocking, close-on-exec) for sub-millisecond wake-ups, which
/// libuv's millisecond timers cannot give (the bench's latency proxy). -1 with errno on failure.
int caraway_timerfd_create(void);
/// Arms `fd` to become readable once, `nanoseconds` from now (0 disarms). 0 or -1 with errno.
int caraway_timerfd_arm(int fd, long long nanoseconds);

FILE *caraway_stderr(void);
FILE *caraway_stdout(void);
#endif
