/* sdnotify.h : systemd's readiness, watchdog and socket-activation protocols, without libsystemd (pure of libevent). */
#ifndef CALLOGD_SDNOTIFY_H
#define CALLOGD_SDNOTIFY_H

#include <stddef.h>
#include <stdint.h>

/*
 * Notifications (sd_notify(3) protocol): one datagram of newline-separated
 * VAR=value lines to the AF_UNIX socket named by $NOTIFY_SOCKET ("/path" or
 * "@abstract"). Returns 0 when NOTIFY_SOCKET is unset or empty (not under
 * systemd: a no-op), 1 when the datagram was sent, -1 with errno set on
 * failure (bad address, no listener, empty state). Never logs: the caller does.
 * NOTIFY_SOCKET is left in the environment so that later calls still work.
 */
int cl_sd_notify(const char *state);
/* cl_sd_notifyf() : cl_sd_notify() with printf formatting, e.g. ("STATUS=%d calls", n). */
int cl_sd_notifyf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * cl_sd_watchdog_usec() : 1 and *usec set when systemd expects "WATCHDOG=1"
 * at least every *usec microseconds (send it every *usec / 2); 0 when the
 * watchdog is off (WATCHDOG_USEC unset, or WATCHDOG_PID set to another
 * process); -1 with errno = EINVAL when the variables are malformed or zero.
 */
int cl_sd_watchdog_usec(uint64_t *usec);

/* Socket activation (sd_listen_fds(3) protocol): passed fds start at 3. */
#define CL_SD_LISTEN_FDS_START 3

/* Names the shipped .socket units give their fds (FileDescriptorName=). */
#define CL_SD_NAME_EVENTS_UNIX "events-unix"
#define CL_SD_NAME_EVENTS_TCP "events-tcp"
#define CL_SD_NAME_AGENTS_UNIX "agents-unix"
#define CL_SD_NAME_AGENTS_TCP "agents-tcp"
#define CL_SD_NAME_HTTP "http"

struct cl_sd_fd {
	int fd;
	int taken;  /* handed out by cl_sd_fds_take(); the caller then owns fd */
	char *name; /* FileDescriptorName= (systemd's default is the unit name,
	               "foo.socket"); "" when LISTEN_FDNAMES was not set */
};

/* The fds systemd passed in, as data; zero-initialise before use. */
struct cl_sd_fds {
	size_t n;
	struct cl_sd_fd *v;
};

/*
 * cl_sd_listen_fds() : reads LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES into
 * fds, marks every passed fd FD_CLOEXEC, and always removes the three
 * variables from the environment (like sd_listen_fds(unset=1)) so nothing we
 * might spawn mistakes them for its own. Returns how many fds were passed: 0
 * when none or when LISTEN_PID is another process; -1 with err filled when the
 * variables are malformed or a passed fd is not open. fds is then owned by the
 * caller: release it with cl_sd_fds_free(). Call it once, early, before any
 * thread starts: it edits the environment (unsetenv is not thread-safe).
 */
int cl_sd_listen_fds(struct cl_sd_fds *fds, char *err);

/*
 * cl_sd_fds_take() : "the passed fd for listener NAME, or -1". Looks first
 * for an untaken fd named name; failing that, for an untaken fd that systemd
 * left without an explicit name ("" or "*.socket") whose bound address
 * (getsockname) is addr: "host:port", "[v6]:port", ":port" (any address), a
 * Unix socket path, or "@abstract". addr may be NULL or "" (name only).
 * On success returns 0 with *fd = the fd (now owned by the caller) or -1 when
 * nothing matches; the caller then binds addr itself. Returns -1 with err
 * filled when the matching fd is not a listening stream socket (e.g. a unit
 * with Accept=yes or ListenDatagram=) or addr cannot be parsed.
 */
int cl_sd_fds_take(struct cl_sd_fds *fds, const char *name, const char *addr, int *fd, char *err);

/*
 * cl_sd_fds_free() : closes every fd nobody took (each is an fd systemd
 * passed that the configuration does not use: the caller may want to log
 * them first, from fds->v[i].taken/name) and frees the names. Accepts a
 * zeroed struct; leaves fds zeroed.
 */
void cl_sd_fds_free(struct cl_sd_fds *fds);

#endif
