/* test_sdnotify.c : the sd_notify and socket-activation protocols against real sockets. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "callogd/sdnotify.h"
#include "callogd/util.h"
#include "testutil.h"

static char tmpdir[] = "/tmp/cl-sdnotify-XXXXXX";

/* A datagram socket bound to "/path" or "@abstract", as systemd's manager listens. */
static int
dgram_bound(const char *where)
{
	struct sockaddr_un sa;
	socklen_t len;
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	strcpy(sa.sun_path, where);
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(where) + 1);
	if (where[0] == '@') {
		sa.sun_path[0] = '\0';
		len--;
	}
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, len) < 0) {
		perror("bind notify socket");
		exit(1);
	}
	return fd;
}

/* Reads one pending datagram (non-blocking) into buf; its length or -1. */
static ssize_t
recv_one(int fd, char *buf, size_t len)
{
	ssize_t n = recv(fd, buf, len - 1, MSG_DONTWAIT);

	buf[n > 0 ? n : 0] = '\0';
	return n;
}

static void
test_notify_unset(void)
{
	unsetenv("NOTIFY_SOCKET");
	CHECK_INT(cl_sd_notify("READY=1"), 0);
	CHECK_INT(cl_sd_notifyf("STATUS=%d", 1), 0);
	setenv("NOTIFY_SOCKET", "", 1);
	CHECK_INT(cl_sd_notify("READY=1"), 0);
	unsetenv("NOTIFY_SOCKET");
}

static void
test_notify_path(void)
{
	char path[128], buf[512];
	int fd;

	snprintf(path, sizeof(path), "%s/notify", tmpdir);
	fd = dgram_bound(path);
	setenv("NOTIFY_SOCKET", path, 1);

	CHECK_INT(cl_sd_notify("READY=1"), 1);
	CHECK_INT(recv_one(fd, buf, sizeof(buf)), 7);
	CHECK_STR(buf, "READY=1");

	CHECK_INT(cl_sd_notify("RELOADING=1\nSTATUS=reloading configuration"), 1);
	CHECK_INT(recv_one(fd, buf, sizeof(buf)), 42);
	CHECK_STR(buf, "RELOADING=1\nSTATUS=reloading configuration");

	CHECK_INT(cl_sd_notifyf("MAINPID=%ld", (long)getpid()), 1);
	{
		char want[64];
		snprintf(want, sizeof(want), "MAINPID=%ld", (long)getpid());
		recv_one(fd, buf, sizeof(buf));
		CHECK_STR(buf, want);
	}
	CHECK_INT(cl_sd_notifyf("STATUS=%d calls, %s", 12, "3 consoles"), 1);
	recv_one(fd, buf, sizeof(buf));
	CHECK_STR(buf, "STATUS=12 calls, 3 consoles");

	/* Nothing else was sent: each call is exactly one datagram. */
	CHECK_INT(recv_one(fd, buf, sizeof(buf)), -1);

	/* The variable stays for the daemon's later READY=1/STOPPING=1. */
	CHECK(getenv("NOTIFY_SOCKET") != NULL);

	/* An empty state is a caller bug, not a datagram. */
	errno = 0;
	CHECK_INT(cl_sd_notify(""), -1);
	CHECK_INT(errno, EINVAL);
	CHECK_INT(recv_one(fd, buf, sizeof(buf)), -1);

	close(fd);
	unlink(path);
	/* Nobody listening any more: an error, not a hang. */
	CHECK_INT(cl_sd_notify("WATCHDOG=1"), -1);
	unsetenv("NOTIFY_SOCKET");
}

static void
test_notify_abstract(void)
{
	char name[64], buf[128];
	int fd;

	snprintf(name, sizeof(name), "@callogd-test-%ld", (long)getpid());
	fd = dgram_bound(name);
	setenv("NOTIFY_SOCKET", name, 1);
	CHECK_INT(cl_sd_notify("STOPPING=1"), 1);
	CHECK_INT(recv_one(fd, buf, sizeof(buf)), 10);
	CHECK_STR(buf, "STOPPING=1");
	close(fd);
	unsetenv("NOTIFY_SOCKET");
}

static void
test_notify_bad_address(void)
{
	char longpath[200];

	setenv("NOTIFY_SOCKET", "relative/notify", 1);
	CHECK_INT(cl_sd_notify("READY=1"), -1);
	setenv("NOTIFY_SOCKET", "@", 1);
	CHECK_INT(cl_sd_notify("READY=1"), -1);
	memset(longpath, 'x', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	setenv("NOTIFY_SOCKET", longpath, 1);
	errno = 0;
	CHECK_INT(cl_sd_notify("READY=1"), -1);
	CHECK_INT(errno, ENAMETOOLONG);
	unsetenv("NOTIFY_SOCKET");
}

static void
test_watchdog(void)
{
	uint64_t usec = 42;
	char pid[32];

	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	CHECK_INT(cl_sd_watchdog_usec(&usec), 0);
	CHECK_INT(usec, 42);

	setenv("WATCHDOG_USEC", "30000000", 1);
	CHECK_INT(cl_sd_watchdog_usec(&usec), 1);
	CHECK_INT(usec, 30000000);

	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	setenv("WATCHDOG_PID", pid, 1);
	usec = 0;
	CHECK_INT(cl_sd_watchdog_usec(&usec), 1);
	CHECK_INT(usec, 30000000);

	/* Inherited from a parent that systemd watches: not our job. */
	snprintf(pid, sizeof(pid), "%ld", (long)getpid() + 1);
	setenv("WATCHDOG_PID", pid, 1);
	CHECK_INT(cl_sd_watchdog_usec(&usec), 0);

	setenv("WATCHDOG_PID", "12x", 1);
	CHECK_INT(cl_sd_watchdog_usec(&usec), -1);
	unsetenv("WATCHDOG_PID");

	setenv("WATCHDOG_USEC", "0", 1);
	CHECK_INT(cl_sd_watchdog_usec(&usec), -1);
	setenv("WATCHDOG_USEC", "-5", 1);
	CHECK_INT(cl_sd_watchdog_usec(&usec), -1);
	setenv("WATCHDOG_USEC", "5s", 1);
	CHECK_INT(cl_sd_watchdog_usec(&usec), -1);
	setenv("WATCHDOG_USEC", "", 1);
	CHECK_INT(cl_sd_watchdog_usec(&usec), -1);
	unsetenv("WATCHDOG_USEC");
}

static int
unix_listener(const char *path)
{
	struct sockaddr_un sa;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	strcpy(sa.sun_path, path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 8) < 0) {
		perror("unix listener");
		exit(1);
	}
	return fd;
}

/* A TCP listener on 127.0.0.1 (or any address) with a kernel-chosen port, returned in *port. */
static int
tcp_listener(int any, unsigned *port)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(any ? INADDR_ANY : INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 8) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
		perror("tcp listener");
		exit(1);
	}
	*port = ntohs(sa.sin_port);
	return fd;
}

/*
 * Puts the given fds at 3, 4, ... as systemd's manager does before exec, and
 * sets LISTEN_PID to us. Moves them high first so no source is overwritten.
 */
static void
pass_fds(const int *src, int n, const char *names)
{
	int high[8], i;
	char buf[32];

	for (i = 0; i < n; i++) {
		high[i] = fcntl(src[i], F_DUPFD, 100);
		close(src[i]);
	}
	for (i = 0; i < n; i++) {
		if (dup2(high[i], CL_SD_LISTEN_FDS_START + i) < 0) {
			perror("dup2");
			exit(1);
		}
		close(high[i]);
	}
	snprintf(buf, sizeof(buf), "%ld", (long)getpid());
	setenv("LISTEN_PID", buf, 1);
	snprintf(buf, sizeof(buf), "%d", n);
	setenv("LISTEN_FDS", buf, 1);
	if (names != NULL)
		setenv("LISTEN_FDNAMES", names, 1);
	else
		unsetenv("LISTEN_FDNAMES");
}

static int
env_cleared(void)
{
	return getenv("LISTEN_PID") == NULL && getenv("LISTEN_FDS") == NULL && getenv("LISTEN_FDNAMES") == NULL;
}

static int
is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

static void
test_listen_none(void)
{
	struct cl_sd_fds fds;
	char err[CL_ERR_LEN] = "";
	char pid[32];

	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	CHECK_INT(cl_sd_listen_fds(&fds, err), 0);
	CHECK_INT(fds.n, 0);
	cl_sd_fds_free(&fds);

	/* Meant for another process: ignored, and still cleared. */
	snprintf(pid, sizeof(pid), "%ld", (long)getpid() + 1);
	setenv("LISTEN_PID", pid, 1);
	setenv("LISTEN_FDS", "2", 1);
	setenv("LISTEN_FDNAMES", "a:b", 1);
	CHECK_INT(cl_sd_listen_fds(&fds, err), 0);
	CHECK(env_cleared());

	setenv("LISTEN_PID", "nope", 1);
	setenv("LISTEN_FDS", "1", 1);
	CHECK_INT(cl_sd_listen_fds(&fds, err), -1);
	CHECK(strstr(err, "LISTEN_PID") != NULL);
	CHECK(env_cleared());

	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	setenv("LISTEN_PID", pid, 1);
	setenv("LISTEN_FDS", "1x", 1);
	CHECK_INT(cl_sd_listen_fds(&fds, err), -1);
	CHECK(strstr(err, "LISTEN_FDS") != NULL);
	CHECK(env_cleared());
}

static void
test_listen_named(void)
{
	struct cl_sd_fds fds = {0};
	char err[CL_ERR_LEN] = "", path[128];
	unsigned p1, p2;
	int src[3], fd, i, flags;

	snprintf(path, sizeof(path), "%s/events.sock", tmpdir);
	src[0] = unix_listener(path);
	src[1] = tcp_listener(0, &p1);
	src[2] = tcp_listener(0, &p2);
	pass_fds(src, 3, "events-unix:agents-tcp:http");

	CHECK_INT(cl_sd_listen_fds(&fds, err), 3);
	CHECK(env_cleared());
	CHECK_INT(fds.n, 3);
	CHECK_STR(fds.v[0].name, "events-unix");
	CHECK_STR(fds.v[1].name, "agents-tcp");
	CHECK_STR(fds.v[2].name, "http");
	for (i = 0; i < 3; i++) {
		CHECK_INT(fds.v[i].fd, 3 + i);
		flags = fcntl(3 + i, F_GETFD);
		CHECK(flags >= 0 && (flags & FD_CLOEXEC));
	}

	/* By name, whatever the configured address says: the unit owns the address. */
	CHECK_INT(cl_sd_fds_take(&fds, CL_SD_NAME_AGENTS_TCP, "127.0.0.1:1", &fd, err), 0);
	CHECK_INT(fd, 4);
	CHECK_INT(fds.v[1].taken, 1);
	/* Handed out once only. */
	CHECK_INT(cl_sd_fds_take(&fds, CL_SD_NAME_AGENTS_TCP, NULL, &fd, err), 0);
	CHECK_INT(fd, -1);
	CHECK_INT(cl_sd_fds_take(&fds, CL_SD_NAME_EVENTS_UNIX, path, &fd, err), 0);
	CHECK_INT(fd, 3);
	/* Not passed: the caller binds itself. */
	CHECK_INT(cl_sd_fds_take(&fds, CL_SD_NAME_EVENTS_TCP, "127.0.0.1:7070", &fd, err), 0);
	CHECK_INT(fd, -1);
	/* A named fd never matches by address, only by its name. */
	{
		char addr[64];
		snprintf(addr, sizeof(addr), "127.0.0.1:%u", p2);
		CHECK_INT(cl_sd_fds_take(&fds, CL_SD_NAME_AGENTS_UNIX, addr, &fd, err), 0);
		CHECK_INT(fd, -1);
	}

	/* "http" is left: free closes it, and leaves the taken ones to their new owner. */
	cl_sd_fds_free(&fds);
	CHECK_INT(fds.n, 0);
	CHECK(fds.v == NULL);
	CHECK(is_open(3));
	CHECK(is_open(4));
	CHECK(!is_open(5));
	close(3);
	close(4);
	unlink(path);
}

static void
test_listen_by_address(void)
{
	struct cl_sd_fds fds = {0};
	char err[CL_ERR_LEN] = "", path[128], alias[160], addr[64];
	unsigned p1, p2;
	int src[3], fd;

	snprintf(path, sizeof(path), "%s/agents.sock", tmpdir);
	src[0] = tcp_listener(0, &p1);
	src[1] = unix_listener(path);
	src[2] = tcp_listener(1, &p2);
	/* No FileDescriptorName=: systemd names every fd after its unit. */
	pass_fds(src, 3, "callogd.socket:callogd.socket:callogd.socket");
	CHECK_INT(cl_sd_listen_fds(&fds, err), 3);

	/* Another address (wrong port) matches nothing. */
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", p1 == 65535 ? 1 : p1 + 1);
	CHECK_INT(cl_sd_fds_take(&fds, CL_SD_NAME_EVENTS_TCP, addr, &fd, err), 0);
	CHECK_INT(fd, -1);
	snprintf(addr, sizeof(addr), "localhost:%u", p1);
	CHECK_INT(cl_sd_fds_take(&fds, CL_SD_NAME_EVENTS_TCP, addr, &fd, err), 0);
	CHECK_INT(fd, 3);

	/* The same socket file through another spelling of the path. */
	snprintf(alias, sizeof(alias), "%s/./agents.sock", tmpdir);
	CHECK_INT(cl_sd_fds_take(&fds, CL_SD_NAME_AGENTS_UNIX, alias, &fd, err), 0);
	CHECK_INT(fd, 4);

	/* ":port" is the any-address listener; a specific host is not. */
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", p2);
	CHECK_INT(cl_sd_fds_take(&fds, CL_SD_NAME_HTTP, addr, &fd, err), 0);
	CHECK_INT(fd, -1);
	snprintf(addr, sizeof(addr), ":%u", p2);
	CHECK_INT(cl_sd_fds_take(&fds, CL_SD_NAME_HTTP, addr, &fd, err), 0);
	CHECK_INT(fd, 5);

	CHECK_INT(cl_sd_fds_take(&fds, CL_SD_NAME_HTTP, "no-port-here", &fd, err), -1);
	CHECK(strstr(err, "no-port-here") != NULL);

	cl_sd_fds_free(&fds);
	close(3);
	close(4);
	close(5);
	unlink(path);
}

static void
test_listen_unnamed_and_abstract(void)
{
	struct cl_sd_fds fds = {0};
	char err[CL_ERR_LEN] = "", name[64];
	struct sockaddr_un sa;
	socklen_t len;
	int src[1], fd;

	snprintf(name, sizeof(name), "@callogd-test-listen-%ld", (long)getpid());
	src[0] = socket(AF_UNIX, SOCK_STREAM, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path + 1, name + 1, strlen(name) - 1);
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(name));
	CHECK(bind(src[0], (struct sockaddr *)&sa, len) == 0 && listen(src[0], 4) == 0);
	pass_fds(src, 1, NULL);
	CHECK_INT(cl_sd_listen_fds(&fds, err), 1);
	CHECK_STR(fds.v[0].name, "");
	CHECK_INT(cl_sd_fds_take(&fds, CL_SD_NAME_EVENTS_UNIX, "@other", &fd, err), 0);
	CHECK_INT(fd, -1);
	CHECK_INT(cl_sd_fds_take(&fds, CL_SD_NAME_EVENTS_UNIX, name, &fd, err), 0);
	CHECK_INT(fd, 3);
	cl_sd_fds_free(&fds);
	close(3);
}

static void
test_listen_bad(void)
{
	struct cl_sd_fds fds = {0};
	char err[CL_ERR_LEN] = "";
	unsigned port;
	int src[2], fd, sv[2];

	/* Name count must match the fd count. */
	src[0] = tcp_listener(0, &port);
	src[1] = tcp_listener(0, &port);
	pass_fds(src, 2, "http");
	CHECK_INT(cl_sd_listen_fds(&fds, err), -1);
	CHECK(strstr(err, "fewer") != NULL);
	CHECK(env_cleared());
	pass_fds((int[]){3, 4}, 2, "http:events-tcp:extra");
	CHECK_INT(cl_sd_listen_fds(&fds, err), -1);
	CHECK(strstr(err, "more") != NULL);
	CHECK(fds.n == 0 && fds.v == NULL);

	/* A connected socket (Accept=yes) or datagram socket is refused by name. */
	close(3);
	close(4);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	src[0] = sv[0];
	src[1] = socket(AF_UNIX, SOCK_DGRAM, 0);
	close(sv[1]);
	pass_fds(src, 2, "events-unix:agents-unix");
	CHECK_INT(cl_sd_listen_fds(&fds, err), 2);
	CHECK_INT(cl_sd_fds_take(&fds, CL_SD_NAME_EVENTS_UNIX, NULL, &fd, err), -1);
	CHECK(strstr(err, "events-unix") != NULL && strstr(err, "listening") != NULL);
	CHECK_INT(fd, -1);
	CHECK_INT(cl_sd_fds_take(&fds, CL_SD_NAME_AGENTS_UNIX, NULL, &fd, err), -1);
	cl_sd_fds_free(&fds);
	CHECK(!is_open(3) && !is_open(4));

	/* LISTEN_FDS naming an fd that is not open. */
	pass_fds(NULL, 0, NULL);
	setenv("LISTEN_FDS", "1", 1);
	CHECK_INT(cl_sd_listen_fds(&fds, err), -1);
	CHECK(strstr(err, "fd 3") != NULL);
}

int
main(void)
{
	char cmd[64];

	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_notify_unset();
	test_notify_path();
	test_notify_abstract();
	test_notify_bad_address();
	test_watchdog();
	test_listen_none();
	test_listen_named();
	test_listen_by_address();
	test_listen_unnamed_and_abstract();
	test_listen_bad();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
	TEST_DONE();
}
