/* sdnotify.c : owns our side of systemd's notify, watchdog and socket-activation protocols (no libsystemd). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "callogd/sdnotify.h"
#include "callogd/util.h"

/*
 * Parses a whole decimal string with no sign, spaces or trailing bytes into
 * *out; 0 or -1. strtoull alone would accept " -1" and wrap it.
 */
static int
parse_u64(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

/* Fills a sockaddr_un for "/path" or "@abstract"; 0, or -1 with errno. */
static int
notify_addr(const char *e, struct sockaddr_un *sa, socklen_t *salen)
{
	size_t len = strlen(e);

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (e[0] != '/' && e[0] != '@') {
		/* Newer systemd may also pass "vsock:..." addresses; we only run on the host. */
		errno = EAFNOSUPPORT;
		return -1;
	}
	if (len < 2 || len > sizeof(sa->sun_path) - (e[0] == '/')) {
		errno = len < 2 ? EINVAL : ENAMETOOLONG;
		return -1;
	}
	memcpy(sa->sun_path, e, len);
	if (e[0] == '@') {
		/* Abstract names are not NUL-terminated: the length says where they end. */
		sa->sun_path[0] = '\0';
		*salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	} else {
		*salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
	}
	return 0;
}

int
cl_sd_notify(const char *state)
{
	const char *e = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa;
	socklen_t salen;
	struct timeval tv = {.tv_sec = 2, .tv_usec = 0};
	size_t len;
	ssize_t n;
	int fd = -1, saved;

	if (e == NULL || e[0] == '\0')
		return 0;
	if (state == NULL || state[0] == '\0') {
		errno = EINVAL;
		goto fail;
	}
	if (notify_addr(e, &sa, &salen) < 0)
		goto fail;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	/*
	 * A datagram send blocks while the manager's queue is full. Bound that:
	 * a wedged PID 1 must not freeze the event loop that acks calls.
	 */
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	len = strlen(state);
	n = sendto(fd, state, len, MSG_NOSIGNAL, (struct sockaddr *)&sa, salen);
	if (n < 0)
		goto fail;
	if ((size_t)n != len) {
		errno = EMSGSIZE;
		goto fail;
	}
	close(fd);
	return 1;
fail:
	saved = errno;
	if (fd >= 0)
		close(fd);
	errno = saved;
	return -1;
}

int
cl_sd_notifyf(const char *fmt, ...)
{
	va_list ap;
	char *buf = NULL;
	int r, saved;

	/* Skip the formatting when nobody listens, as the daemon calls this often. */
	if (getenv("NOTIFY_SOCKET") == NULL || getenv("NOTIFY_SOCKET")[0] == '\0')
		return 0;
	va_start(ap, fmt);
	r = vasprintf(&buf, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -1;
	r = cl_sd_notify(buf);
	saved = errno;
	free(buf);
	errno = saved;
	return r;
}

int
cl_sd_watchdog_usec(uint64_t *usec)
{
	const char *u = getenv("WATCHDOG_USEC"), *p = getenv("WATCHDOG_PID");
	uint64_t v, pid;

	if (u == NULL)
		return 0;
	if (parse_u64(u, &v) < 0 || v == 0 || v == UINT64_MAX)
		goto invalid;
	/* WATCHDOG_PID names the process systemd watches; a child that inherited ours is not it. */
	if (p != NULL) {
		if (parse_u64(p, &pid) < 0 || pid == 0)
			goto invalid;
		if (pid != (uint64_t)getpid())
			return 0;
	}
	*usec = v;
	return 1;
invalid:
	errno = EINVAL;
	return -1;
}

static void
unset_listen_env(void)
{
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
}

int
cl_sd_listen_fds(struct cl_sd_fds *fds, char *err)
{
	const char *e_pid = getenv("LISTEN_PID"), *e_fds = getenv("LISTEN_FDS");
	const char *e_names = getenv("LISTEN_FDNAMES");
	const char *p;
	uint64_t pid, n;
	size_t i;

	memset(fds, 0, sizeof(*fds));
	if (e_pid == NULL || e_fds == NULL)
		goto none;
	if (parse_u64(e_pid, &pid) < 0 || pid == 0) {
		snprintf(err, CL_ERR_LEN, "LISTEN_PID=\"%.40s\" is not a process id", e_pid);
		goto fail;
	}
	/* The variables were meant for another process (we were exec'd by it): not ours. */
	if (pid != (uint64_t)getpid())
		goto none;
	if (parse_u64(e_fds, &n) < 0 || n > (uint64_t)(INT_MAX - CL_SD_LISTEN_FDS_START)) {
		snprintf(err, CL_ERR_LEN, "LISTEN_FDS=\"%.40s\" is not a count of fds", e_fds);
		goto fail;
	}
	if (n == 0)
		goto none;
	fds->v = calloc((size_t)n, sizeof(*fds->v));
	if (fds->v == NULL) {
		snprintf(err, CL_ERR_LEN, "out of memory for %llu passed fds", (unsigned long long)n);
		goto fail;
	}
	/* fds->n counts the entries that own a name, so a failure below frees exactly those. */
	p = e_names;
	for (i = 0; i < n; i++) {
		int fd = CL_SD_LISTEN_FDS_START + (int)i;
		const char *colon;
		size_t len;
		int flags;

		flags = fcntl(fd, F_GETFD);
		/* Close-on-exec: the fds are ours alone, never a helper's we might spawn. */
		if (flags < 0 || fcntl(fd, F_SETFD, flags | FD_CLOEXEC) < 0) {
			snprintf(err, CL_ERR_LEN, "passed fd %d: %s", fd, strerror(errno));
			goto fail;
		}
		if (e_names == NULL) {
			len = 0;
		} else if (p == NULL) {
			snprintf(err, CL_ERR_LEN, "LISTEN_FDNAMES has fewer names than LISTEN_FDS=%llu",
			         (unsigned long long)n);
			goto fail;
		} else {
			colon = strchr(p, ':');
			len = colon ? (size_t)(colon - p) : strlen(p);
		}
		fds->v[i].fd = fd;
		fds->v[i].name = cl_strndup(p ? p : "", len);
		if (fds->v[i].name == NULL) {
			snprintf(err, CL_ERR_LEN, "out of memory for passed fd names");
			goto fail;
		}
		fds->n = i + 1;
		if (p != NULL)
			p = p[len] == ':' ? p + len + 1 : NULL;
	}
	if (p != NULL) {
		snprintf(err, CL_ERR_LEN, "LISTEN_FDNAMES has more names than LISTEN_FDS=%llu", (unsigned long long)n);
		goto fail;
	}
	unset_listen_env();
	return (int)fds->n;
none:
	unset_listen_env();
	return 0;
fail:
	/* Leave the fds open: on error the caller exits, and we never close what we did not take. */
	for (i = 0; i < fds->n; i++)
		free(fds->v[i].name);
	free(fds->v);
	memset(fds, 0, sizeof(*fds));
	unset_listen_env();
	return -1;
}

/* True for fds that systemd named by default (no FileDescriptorName=): only those may match by address. */
static int
unnamed(const char *name)
{
	size_t len = strlen(name);

	return len == 0 || (len > 7 && strcmp(name + len - 7, ".socket") == 0);
}

/* 0 when fd is a listening SOCK_STREAM socket, else -1 with err naming it. */
static int
check_listening(int fd, const char *name, char *err)
{
	int type = 0, acc = 0;
	socklen_t len = sizeof(type);

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0) {
		snprintf(err, CL_ERR_LEN, "passed fd %d (%s): %s", fd, name, strerror(errno));
		return -1;
	}
	len = sizeof(acc);
	if (type != SOCK_STREAM || getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len) < 0 || !acc) {
		snprintf(err, CL_ERR_LEN,
		         "passed fd %d (%s) is not a listening stream socket (ListenStream= with Accept=no needed)", fd,
		         name);
		return -1;
	}
	return 0;
}

/* Is the Unix socket address sa (salen bytes) the path or @abstract name addr? */
static int
unix_matches(const struct sockaddr_un *sa, socklen_t salen, const char *addr)
{
	size_t off = offsetof(struct sockaddr_un, sun_path);
	size_t plen = salen > off ? salen - off : 0;
	char path[sizeof(sa->sun_path) + 1];
	struct stat a, b;

	if (sa->sun_family != AF_UNIX || plen == 0)
		return 0;
	if (addr[0] == '@')
		return sa->sun_path[0] == '\0' && plen - 1 == strlen(addr + 1) &&
		       memcmp(sa->sun_path + 1, addr + 1, plen - 1) == 0;
	if (sa->sun_path[0] == '\0')
		return 0;
	memcpy(path, sa->sun_path, plen);
	path[plen] = '\0';
	if (strcmp(path, addr) == 0)
		return 1;
	/* The same socket file reached another way (/var/run vs /run, a symlinked directory). */
	return stat(path, &a) == 0 && stat(addr, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

static int
is_any(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ((const struct sockaddr_in *)ss)->sin_addr.s_addr == htonl(INADDR_ANY);
	if (ss->ss_family == AF_INET6)
		return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)ss)->sin6_addr);
	return 0;
}

static int
same_ip(const struct sockaddr_storage *ss, const struct sockaddr *ai)
{
	if (ss->ss_family != ai->sa_family)
		return 0;
	if (ai->sa_family == AF_INET)
		return ((const struct sockaddr_in *)ss)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)ai)->sin_addr.s_addr;
	if (ai->sa_family == AF_INET6)
		return memcmp(&((const struct sockaddr_in6 *)ss)->sin6_addr,
		              &((const struct sockaddr_in6 *)ai)->sin6_addr, sizeof(struct in6_addr)) == 0;
	return 0;
}

/*
 * Splits "host:port", "[v6]:port", ":port" or "*:port" into host (empty for
 * any address) and port; 0, or -1 with err filled.
 */
static int
split_hostport(const char *addr, char *host, size_t hostlen, unsigned *port, char *err)
{
	const char *colon = strrchr(addr, ':');
	const char *h = addr;
	size_t hlen;
	uint64_t p;

	if (colon == NULL || parse_u64(colon + 1, &p) < 0 || p < 1 || p > 65535)
		goto bad;
	hlen = (size_t)(colon - addr);
	if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') {
		h++;
		hlen -= 2;
	} else if (memchr(h, ':', hlen) != NULL) {
		goto bad; /* a bare IPv6 address needs brackets to say where the port starts */
	}
	if (hlen == 1 && h[0] == '*')
		hlen = 0;
	if (hlen >= hostlen)
		goto bad;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	*port = (unsigned)p;
	return 0;
bad:
	snprintf(err, CL_ERR_LEN, "\"%.200s\" is not host:port, a Unix socket path or @name", addr);
	return -1;
}

/* 1 when fd is bound to addr, 0 when not (or not a socket), -1 with err when addr is malformed. */
static int
addr_matches(int fd, const char *addr, char *err)
{
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	struct addrinfo hints, *res = NULL, *ai;
	char host[NI_MAXHOST];
	unsigned port, bound_port;
	int r = 0;

	memset(&ss, 0, sizeof(ss));
	if (addr[0] != '/' && addr[0] != '@' && split_hostport(addr, host, sizeof(host), &port, err) < 0)
		return -1;
	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) < 0)
		return 0;
	if (addr[0] == '/' || addr[0] == '@')
		return unix_matches((const struct sockaddr_un *)&ss, sslen, addr);
	if (ss.ss_family == AF_INET)
		bound_port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	else if (ss.ss_family == AF_INET6)
		bound_port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	else
		return 0;
	if (bound_port != port)
		return 0;
	if (host[0] == '\0')
		return is_any(&ss);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	/* A name such as "localhost" is looked up: it matches if any of its addresses is the bound one. */
	if (getaddrinfo(host, NULL, &hints, &res) != 0)
		return 0;
	for (ai = res; ai != NULL && !r; ai = ai->ai_next)
		r = same_ip(&ss, ai->ai_addr);
	freeaddrinfo(res);
	return r;
}

int
cl_sd_fds_take(struct cl_sd_fds *fds, const char *name, const char *addr, int *fd, char *err)
{
	struct cl_sd_fd *hit = NULL;
	size_t i;
	int r;

	*fd = -1;
	/* A malformed address is an error even when nothing was passed: the same config fails the same way. */
	if (addr != NULL && addr[0] != '\0' && addr[0] != '/' && addr[0] != '@') {
		char host[NI_MAXHOST];
		unsigned port;
		if (split_hostport(addr, host, sizeof(host), &port, err) < 0)
			return -1;
	}
	for (i = 0; i < fds->n && hit == NULL; i++)
		if (!fds->v[i].taken && name != NULL && name[0] != '\0' && strcmp(fds->v[i].name, name) == 0)
			hit = &fds->v[i];
	for (i = 0; i < fds->n && hit == NULL && addr != NULL && addr[0] != '\0'; i++) {
		if (fds->v[i].taken || !unnamed(fds->v[i].name))
			continue;
		r = addr_matches(fds->v[i].fd, addr, err);
		if (r < 0)
			return -1;
		if (r > 0)
			hit = &fds->v[i];
	}
	if (hit == NULL)
		return 0;
	if (check_listening(hit->fd, name ? name : addr, err) < 0)
		return -1;
	hit->taken = 1;
	*fd = hit->fd;
	return 0;
}

void
cl_sd_fds_free(struct cl_sd_fds *fds)
{
	size_t i;

	if (fds == NULL)
		return;
	for (i = 0; i < fds->n; i++) {
		if (!fds->v[i].taken)
			close(fds->v[i].fd);
		free(fds->v[i].name);
	}
	free(fds->v);
	memset(fds, 0, sizeof(*fds));
}
