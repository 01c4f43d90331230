/* LD_PRELOAD shim listed in a test host's /etc/ld.so.preload: uname(2) answers with the
 * guest's kernel release/version (compiled in per variant with -DADE_RELEASE/-DADE_VERSION).
 * Uses the raw syscall (no dlsym) so it binds only to GLIBC_2.2.5 symbols and loads in the
 * bullseye rootfs although it is built with the host's newer glibc. */
#define _GNU_SOURCE
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

int uname(struct utsname *buf)
{
    long rc = syscall(SYS_uname, buf);
    if (rc != 0)
        return (int)rc;
    strncpy(buf->release, ADE_RELEASE, sizeof(buf->release) - 1);
    buf->release[sizeof(buf->release) - 1] = '\0';
    strncpy(buf->version, ADE_VERSION, sizeof(buf->version) - 1);
    buf->version[sizeof(buf->version) - 1] = '\0';
    return 0;
}
