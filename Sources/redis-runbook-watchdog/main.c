// redis-runbook-watchdog COMMAND [ARG...]
//
// Runs COMMAND as its child and ends it when this program's standard input closes. The incident
// tool starts its long-lived `kubectl proxy` through it, with a pipe on its stdin whose other end
// only the tool holds: however the tool ends (q, a signal, a crash, SIGKILL), the kernel closes
// that end, the read here returns end-of-file, and the proxy is ended (SIGTERM, then SIGKILL
// after 2 s) instead of being left running with the user's credentials behind its socket.
// (PR_SET_PDEATHSIG on the proxy does not survive: Debian's kubectl dispatcher execs the real
// kubectl from a thread that is not the one the signal was set on.)
//
// SIGTERM, SIGINT and SIGHUP sent to the watchdog alone are passed on to the child. The exit
// status is the child's (128 + the signal when it was killed). C, not Swift: it lives as long as
// the proxy and must cost next to nothing (about 1 MB resident).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t pending_signal = 0;
static void on_signal(int s) { pending_signal = s; }

static int exit_status(int status) {
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void sleep_ms(long ms) {
    struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&t, &t) != 0 && errno == EINTR) {}
}

// SIGTERM, then SIGKILL when it has not ended within 2 s; returns its exit status.
static int end_child(pid_t child) {
    int status = 0;
    kill(child, SIGTERM);
    for (int i = 0; i < 40; i++) {
        if (waitpid(child, &status, WNOHANG) == child) return exit_status(status);
        sleep_ms(50);
    }
    kill(child, SIGKILL);
    while (waitpid(child, &status, 0) < 0 && errno == EINTR) {}
    return exit_status(status);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: redis-runbook-watchdog COMMAND [ARG...]\n"
                        "Runs COMMAND and ends it when this program's standard input closes.\n");
        return 2;
    }
    pid_t child = fork();
    if (child < 0) {
        fprintf(stderr, "redis-runbook-watchdog: fork: %s\n", strerror(errno));
        return 127;
    }
    if (child == 0) {
        // The child reads nothing: /dev/null, so only the watchdog holds the pipe.
        int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (null >= 0) dup2(null, 0);
        execvp(argv[1], argv + 1);
        fprintf(stderr, "redis-runbook-watchdog: cannot run %s: %s\n", argv[1], strerror(errno));
        _exit(127);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    int stdin_open = 1;
    for (;;) {
        int status = 0;
        if (waitpid(child, &status, WNOHANG) == child) return exit_status(status);
        if (pending_signal) {
            int s = pending_signal;
            pending_signal = 0;
            kill(child, s);
        }
        if (!stdin_open) { sleep_ms(200); continue; }
        struct pollfd p = { .fd = 0, .events = POLLIN, .revents = 0 };
        int n = poll(&p, 1, 200);
        if (n < 0 && errno != EINTR) return end_child(child);
        if (n > 0) {
            char buf[512];
            ssize_t k = read(0, buf, sizeof buf);
            if (k == 0 || (k < 0 && errno != EINTR && errno != EAGAIN)) {
                stdin_open = 0;
                return end_child(child);
            }
        }
    }
}
