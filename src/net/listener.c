/* listener.c : owns listening sockets: bound here or passed by systemd,
 * accepted with a cap per listener, and Unix socket files that are ours alone. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "callogd/log.h"
#include "callogd/net.h"
#include "callogd/sdnotify.h"
#include "callogd/util.h"

#define BACKLOG 1024
#define EXHAUSTED_PAUSE_MS 250 /* out of descriptors: accept nothing for this long */
#define MAX_LISTENERS 16

struct cl_listener {
	struct cl_listener_conf c;
	struct evconnlistener *evl; /* ours, or evhttp's once taken (then NULL) */
	struct evconnlistener *lev; /* the evconnlistener either way, for the error callback */
	struct event *resume;       /* re-enables accepting after a pause */
	uint64_t pauses;
	evutil_socket_t fd; /* the listening fd until evl or the caller takes it, else -1 */
	char *path;         /* the Unix socket file we created, to remove at the end; else NULL */
	dev_t dev;
	ino_t ino;
};

/* evhttp replaces a listener's callback argument: find ours by the evconnlistener. */
static struct cl_listener *all[MAX_LISTENERS];

static void
on_resume(evutil_socket_t fd, short what, void *arg)
{
	struct cl_listener *l = arg;

	(void)fd;
	(void)what;
	evconnlistener_enable(l->lev);
}

/*
 * accept() failed for a reason retrying at once will not cure: out of file
 * descriptors (EMFILE, ENFILE) or kernel memory. The socket stays readable, so
 * accepting again now would spin; pause this listener instead. Connections
 * wait in the backlog and are taken once descriptors are free again. Logged
 * at the first pause and then every 64th, so a long shortage is not a flood.
 */
static void
on_accept_error(struct evconnlistener *lev, void *arg)
{
	struct cl_listener *l = NULL;
	struct timeval tv = {0, EXHAUSTED_PAUSE_MS * 1000};
	int e = EVUTIL_SOCKET_ERROR();

	(void)arg;
	for (size_t i = 0; i < MAX_LISTENERS && l == NULL; i++)
		if (all[i] != NULL && all[i]->lev == lev)
			l = all[i];
	evconnlistener_disable(lev);
	if (l == NULL)
		return;
	if (l->pauses++ % 64 == 0)
		log_warnx("msg=\"cannot accept, pausing the listener\" listener=%s error=\"%s\" pauses=%llu", l->c.name,
		          strerror(e), (unsigned long long)l->pauses);
	if (l->c.refused)
		(*l->c.refused)++;
	evtimer_add(l->resume, &tv);
}

static void
on_accept(struct evconnlistener *evl, evutil_socket_t fd, struct sockaddr *sa, int socklen, void *arg)
{
	struct cl_listener *l = arg;

	(void)evl;
	(void)sa;
	(void)socklen;
	if (l->c.max_clients && l->c.open && *l->c.open >= (uint64_t)*l->c.max_clients) {
		if (l->c.refused)
			(*l->c.refused)++;
		evutil_closesocket(fd);
		return;
	}
	cl_sock_nodelay(fd); /* acks and pops must not wait for Nagle */
	l->c.accept(fd, l->c.tls, l->c.arg);
}

/*
 * Makes path free to bind, or says why not: a socket file that a live process
 * accepts on belongs to it (a second daemon on the same config must not take
 * it); one that refuses connections is left over from a run that died, and is
 * removed. Anything else at path is left alone and bind() reports it.
 */
static int
unix_path_free(const char *name, const char *path, char *err)
{
	struct sockaddr_un sun;
	struct stat sb;
	int fd, rc;

	if (lstat(path, &sb) < 0 || !S_ISSOCK(sb.st_mode))
		return 0;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	/* Non-blocking: a live listener with a full backlog answers EAGAIN instead of making us wait. */
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0) {
		snprintf(err, CL_ERR_LEN, "cannot check %s %s: %s", name, path, strerror(errno));
		return -1;
	}
	rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ? errno : 0;
	if (rc == EAGAIN || rc == EINPROGRESS)
		rc = 0; /* accepting, just busy */
	close(fd);
	if (rc == 0) {
		snprintf(err, CL_ERR_LEN, "%s %s is in use by another process (another callogd on this configuration?)",
		         name, path);
		return -1;
	}
	if (rc == ECONNREFUSED && unlink(path) < 0 && errno != ENOENT) {
		snprintf(err, CL_ERR_LEN, "cannot remove the stale socket %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int
bind_unix(struct cl_listener *l, char *err)
{
	struct sockaddr_un sun;
	struct stat sb;
	const char *path = l->c.addr;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	cl_mkdir_parent(path); /* so a fresh checkout runs */
	if (unix_path_free(l->c.name, path, err) < 0)
		return -1;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0 ||
	    bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		snprintf(err, CL_ERR_LEN, "cannot listen on %s %s: %s", l->c.name, path, strerror(errno));
		goto fail;
	}
	/* Ours from here: remove it at the end, unless someone replaced it meanwhile. */
	if ((l->path = strdup(path)) == NULL || lstat(path, &sb) < 0) {
		snprintf(err, CL_ERR_LEN, "cannot listen on %s %s: out of memory", l->c.name, path);
		goto fail;
	}
	l->dev = sb.st_dev;
	l->ino = sb.st_ino;
	if (chmod(path, 0660) < 0) {
		snprintf(err, CL_ERR_LEN, "cannot set the mode of %s: %s", path, strerror(errno));
		goto fail;
	}
	if (listen(fd, BACKLOG) < 0) {
		snprintf(err, CL_ERR_LEN, "cannot listen on %s %s: %s", l->c.name, path, strerror(errno));
		goto fail;
	}
	l->fd = fd;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	return -1;
}

static int
bind_tcp(struct cl_listener *l, char *err)
{
	struct sockaddr_storage ss;
	int sslen = sizeof(ss), one = 1, fd;

	memset(&ss, 0, sizeof(ss));
	if (evutil_parse_sockaddr_port(l->c.addr, (struct sockaddr *)&ss, &sslen) < 0) {
		snprintf(err, CL_ERR_LEN, "%s: \"%s\" is not an IP address and port", l->c.name, l->c.addr);
		return -1;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&ss, (socklen_t)sslen) < 0 || listen(fd, BACKLOG) < 0) {
		snprintf(err, CL_ERR_LEN, "cannot listen on %s %s: %s", l->c.name, l->c.addr, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	l->fd = fd;
	return 0;
}

struct cl_listener *
cl_listener_open(struct event_base *base, struct cl_sd_fds *sd, const struct cl_listener_conf *c, char *err)
{
	struct cl_listener *l = calloc(1, sizeof(*l));
	int fd;

	if (l == NULL) {
		snprintf(err, CL_ERR_LEN, "out of memory");
		return NULL;
	}
	l->c = *c;
	l->fd = -1;
	if (cl_sd_fds_take(sd, c->sd_name, c->addr, &fd, err) < 0)
		goto fail;
	if (fd >= 0) {
		/* systemd owns this socket (and its file): it must outlive us. */
		evutil_make_socket_nonblocking(fd); /* systemd passes blocking sockets */
		l->fd = fd;
	} else if ((c->is_unix ? bind_unix(l, err) : bind_tcp(l, err)) < 0) {
		goto fail;
	}
	/* Without accept (http): made disabled, for evhttp to take with its own callback. */
	l->evl = evconnlistener_new(base, c->accept ? on_accept : NULL, l,
	                            LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, l->fd);
	l->resume = evtimer_new(base, on_resume, l);
	if (l->evl == NULL || l->resume == NULL) {
		snprintf(err, CL_ERR_LEN, "cannot listen on %s %s: out of memory", c->name, c->addr);
		goto fail;
	}
	l->lev = l->evl;
	l->fd = -1; /* the evconnlistener closes it */
	evconnlistener_set_error_cb(l->evl, on_accept_error);
	for (size_t i = 0; i < MAX_LISTENERS; i++) {
		if (all[i] == NULL) {
			all[i] = l;
			break;
		}
	}
	return l;
fail:
	cl_listener_free(l);
	return NULL;
}

struct evconnlistener *
cl_listener_take(struct cl_listener *l)
{
	struct evconnlistener *evl = l->evl;

	l->evl = NULL;
	return evl;
}

void
cl_listener_disable(struct cl_listener *l)
{
	if (l == NULL)
		return;
	if (l->resume)
		evtimer_del(l->resume);
	if (l->evl != NULL)
		evconnlistener_disable(l->evl);
}

void
cl_listener_free(struct cl_listener *l)
{
	struct stat sb;

	if (l == NULL)
		return;
	for (size_t i = 0; i < MAX_LISTENERS; i++)
		if (all[i] == l)
			all[i] = NULL;
	if (l->resume)
		event_free(l->resume);
	if (l->evl)
		evconnlistener_free(l->evl);
	if (l->fd >= 0)
		close(l->fd);
	/* Only the file we bound: a path another process has bound since is left alone. */
	if (l->path && lstat(l->path, &sb) == 0 && sb.st_dev == l->dev && sb.st_ino == l->ino)
		unlink(l->path);
	free(l->path);
	free(l);
}
