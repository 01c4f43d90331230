/* Power supervisor of a test host: the host's "hardware".  Static, ~100 kB, one per host.
 *   super HOOK... -- CMD...
 * Runs CMD (ip netns exec NS unshare ... hostlib.py boot NAME: the host's PID namespace) and waits for it.
 * The kernel reports how a PID namespace ended: reboot(2) with LINUX_REBOOT_CMD_RESTART inside it kills its
 * PID 1 with SIGHUP as the exit status, POWER_OFF/HALT with SIGINT (kernel/pid_namespace.c reboot_pid_ns),
 * and unshare --fork passes that signal on.  So:
 *   SIGHUP  -> the guest rebooted: run HOOK (hostlib.py rebooted NAME: link down a moment, new boot), then CMD again;
 *   anything else (SIGINT = powered off from inside, SIGKILL = down.sh) -> exit.
 * Inside reboots (`reboot`, `shutdown -r now`, `systemctl reboot`) and outside ones (a simulator restart run through
 * `hostlib.py reboot NAME`, which calls reboot(2) in the host's PID namespace) take this one path. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int run(char **argv)
{
    int st = 0;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        signal(SIGHUP, SIG_DFL);
        execvp(argv[0], argv);
        _exit(127);
    }
    while (waitpid(pid, &st, 0) < 0)
        ;
    return st;
}

int main(int argc, char **argv)
{
    int sep = 0;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--") == 0) { sep = i; break; }
    if (sep < 2 || sep == argc - 1) {
        fprintf(stderr, "usage: super HOOK... -- CMD...\n");
        return 2;
    }
    argv[sep] = NULL;
    char **hook = argv + 1, **cmd = argv + sep + 1;
    signal(SIGHUP, SIG_IGN);   /* our own session: a hang-up of the starter is no reboot */
    for (;;) {
        int st = run(cmd);
        if (!(WIFSIGNALED(st) && WTERMSIG(st) == SIGHUP))
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
        int h = run(hook);
        if (!WIFEXITED(h) || WEXITSTATUS(h) != 0)
            return 3;   /* the hook says: stay off */
    }
}
