/* Stand-in for a long-running guest process (mongod, dockerd, containerd ...) and for the
 * guest's PID 1.  Static, so it runs in any rootfs.
 *   - as a plain process: waits for ever; /proc/PID/comm is the file name it was started
 *     under, /proc/PID/cmdline the argv it was given.
 *   - as PID 1 (getpid() == 1): optional prctl name from ADE_COMM, runs "/bin/bash $ADE_RC"
 *     once, then reaps orphans for ever; SIGTERM/SIGINT end it (and so the PID namespace). */
#define _GNU_SOURCE
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static void bye(int sig) { (void)sig; _exit(0); }

int main(int argc, char **argv)
{
    (void)argc; (void)argv;
    if (getpid() != 1) {
        for (;;)
            pause();
    }
    const char *comm = getenv("ADE_COMM");
    if (comm && *comm)
        prctl(PR_SET_NAME, comm, 0, 0, 0);
    signal(SIGTERM, bye);
    signal(SIGINT, bye);
    const char *rc = getenv("ADE_RC");
    if (rc && *rc) {
        pid_t pid = fork();
        if (pid == 0) {
            unsetenv("ADE_RC");
            unsetenv("ADE_COMM");
            execl("/bin/bash", "bash", rc, (char *)0);
            _exit(127);
        }
    }
    unsetenv("ADE_RC");
    unsetenv("ADE_COMM");
    for (;;) {
        if (waitpid(-1, 0, 0) < 0)
            sleep(1);
    }
}
