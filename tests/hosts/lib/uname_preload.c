/* LD_PRELOAD shim listed in a test host's /etc/ld.so.preload: uname(2) answers with the
 * kernel the guest booted: release and version from /proc/sys/kernel/osrelease and
 * /proc/sys/kernel/version, which hostlib.py boot bind-mounts for the kernel the guest's boot
 * loader picked (so a reboot into a newly installed kernel shows it).  The -DADE_RELEASE /
 * -DADE_VERSION compiled in per variant are the fallback when /proc cannot be read.
 * Uses the raw syscall (no dlsym) so it binds only to GLIBC_2.2.5 symbols and loads in the
 * bullseye rootfs although it is built with the host's newer glibc. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#ifndef ADE_RELEASE
#error "define ADE_RELEASE"
#endif
#ifndef ADE_VERSION
#error "define ADE_VERSION"
#endif

static int read_line(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, size - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    char *nl = strchr(buf, '\n');
    if (nl)
        *nl = '\0';
    return buf[0] ? 0 : -1;
}

int uname(struct utsname *buf)
{
    long rc = syscall(SYS_uname, buf);
    if (rc != 0)
        return (int)rc;
    if (read_line("/proc/sys/kernel/osrelease", buf->release, sizeof(buf->release)) != 0)
        strncpy(buf->release, ADE_RELEASE, sizeof(buf->release) - 1);
    if (read_line("/proc/sys/kernel/version", buf->version, sizeof(buf->version)) != 0)
        strncpy(buf->version, ADE_VERSION, sizeof(buf->version) - 1);
    buf->release[sizeof(buf->release) - 1] = '\0';
    buf->version[sizeof(buf->version) - 1] = '\0';
    return 0;
}
