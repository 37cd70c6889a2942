/* client.c : owns the producer side of the events socket: connecting per
 * config, the hello, and pipelined lines out with their answers in. */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "callogd/client.h"
#include "callogd/net.h"
#include "callogd/util.h"

#define READ_CHUNK 65536

struct cl_client {
	int fd;
	char *out; /* queued bytes: out[out_head .. out_len) are still to write */
	size_t out_head, out_len, out_cap;
	char *in; /* received bytes not yet handed out as answers */
	size_t in_len, in_cap;
	int64_t in_flight;
};

/* Waits for a non-blocking connect() on fd to finish. */
static int
connect_wait(int fd, int timeout_ms, const char *what, char *err)
{
	struct pollfd p = {.fd = fd, .events = POLLOUT};
	int soerr = 0, rc;
	socklen_t sl = sizeof(soerr);

	do
		rc = poll(&p, 1, timeout_ms);
	while (rc < 0 && errno == EINTR);
	if (rc == 0) {
		snprintf(err, CL_ERR_LEN, "connect %s: timed out", what);
		return -1;
	}
	if (rc < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0) {
		snprintf(err, CL_ERR_LEN, "connect %s: %s", what, strerror(errno));
		return -1;
	}
	if (soerr != 0) {
		snprintf(err, CL_ERR_LEN, "connect %s: %s", what, strerror(soerr));
		return -1;
	}
	return 0;
}

static int
connect_unix(const char *path, int timeout_ms, char *err)
{
	struct sockaddr_un sa;
	int fd = -1;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, CL_ERR_LEN, "unix socket path too long: %s", path);
		goto fail;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0) {
		snprintf(err, CL_ERR_LEN, "socket: %s", strerror(errno));
		goto fail;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno != EINPROGRESS && errno != EAGAIN) {
			snprintf(err, CL_ERR_LEN, "connect %s: %s", path, strerror(errno));
			goto fail;
		}
		if (connect_wait(fd, timeout_ms, path, err) < 0)
			goto fail;
	}
	return fd;
fail:
	if (fd >= 0)
		close(fd);
	return -1;
}

/* Splits "host:port" or "[v6]:port" into host and port. */
static int
split_hostport(const char *hp, char *host, size_t hostlen, char *port, size_t portlen)
{
	const char *colon, *h = hp;
	size_t n;

	if (hp[0] == '[') {
		const char *close_br = strchr(hp, ']');
		if (close_br == NULL || close_br[1] != ':')
			return -1;
		h = hp + 1;
		n = (size_t)(close_br - h);
		colon = close_br + 1;
	} else {
		if ((colon = strrchr(hp, ':')) == NULL)
			return -1;
		n = (size_t)(colon - hp);
	}
	if (n == 0 || n >= hostlen || strlen(colon + 1) == 0 || strlen(colon + 1) >= portlen)
		return -1;
	memcpy(host, h, n);
	host[n] = '\0';
	snprintf(port, portlen, "%s", colon + 1);
	return 0;
}

static int
connect_tcp(const char *hp, int timeout_ms, char *err)
{
	struct addrinfo hints, *res = NULL, *ai;
	char host[256], port[32];
	int fd = -1, rc;

	if (split_hostport(hp, host, sizeof(host), port, sizeof(port)) < 0) {
		snprintf(err, CL_ERR_LEN, "bad address \"%s\" (want host:port)", hp);
		return -1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		snprintf(err, CL_ERR_LEN, "%s: %s", hp, gai_strerror(rc));
		return -1;
	}
	snprintf(err, CL_ERR_LEN, "%s: no address", hp);
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
		if (fd < 0) {
			snprintf(err, CL_ERR_LEN, "socket: %s", strerror(errno));
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (errno != EINPROGRESS)
			snprintf(err, CL_ERR_LEN, "connect %s: %s", hp, strerror(errno));
		else if (connect_wait(fd, timeout_ms, hp, err) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd >= 0)
		cl_sock_nodelay(fd);
	return fd;
}

/* The hello's answer must be {"ok":true}; anything else is a refusal. */
static int
hello_answer(void *arg, const char *line, size_t len, char *err)
{
	json_t *j = json_loadb(line, len, 0, NULL);
	int ok = j != NULL && json_is_true(json_object_get(j, "ok"));

	(void)arg;
	json_decref(j);
	if (!ok) {
		snprintf(err, CL_ERR_LEN, "hello refused: %.*s", (int)(len > 120 ? 120 : len), line);
		return -1;
	}
	return 0;
}

struct cl_client *
cl_client_connect(const char *unix_path, const char *tcp, const char *token, int timeout_ms, char *err)
{
	struct cl_client *c = NULL;
	json_t *hello = NULL;
	char *line = NULL;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		goto oom;
	c->fd = -1;
	c->in_cap = CL_CLIENT_MAX_ANSWER + 1;
	if ((c->in = malloc(c->in_cap)) == NULL)
		goto oom;
	if (unix_path != NULL && unix_path[0] != '\0')
		c->fd = connect_unix(unix_path, timeout_ms, err);
	else if (tcp != NULL && tcp[0] != '\0')
		c->fd = connect_tcp(tcp, timeout_ms, err);
	else
		snprintf(err, CL_ERR_LEN, "no events socket configured (events.unix and events.tcp are both off)");
	if (c->fd < 0)
		goto fail;
	if (token != NULL && token[0] != '\0') {
		if ((hello = json_pack("{s:s, s:s}", "type", "hello", "token", token)) == NULL ||
		    (line = json_dumps(hello, JSON_COMPACT)) == NULL)
			goto oom;
		if (cl_client_send_line(c, line, strlen(line), err) < 0)
			goto fail;
		if (cl_client_drain(c, timeout_ms, hello_answer, NULL, err) < 0) {
			if (strncmp(err, "daemon closed", 13) == 0)
				snprintf(err, CL_ERR_LEN,
				         "the daemon closed the connection after the hello "
				         "(auth refused: check events.token)");
			goto fail;
		}
	}
	free(line);
	json_decref(hello);
	return c;
oom:
	snprintf(err, CL_ERR_LEN, "out of memory");
fail:
	free(line);
	json_decref(hello);
	cl_client_close(c);
	return NULL;
}

struct cl_client *
cl_client_open(const struct cl_config *cfg, char *err)
{
	return cl_client_connect(cfg->events_unix, cfg->events_tcp, cfg->events_token, 5000, err);
}

void
cl_client_close(struct cl_client *c)
{
	if (c == NULL)
		return;
	if (c->fd >= 0)
		close(c->fd);
	free(c->out);
	free(c->in);
	free(c);
}

int
cl_client_send_raw(struct cl_client *c, const void *buf, size_t len, char *err)
{
	if (c->out_head > 0 && c->out_head == c->out_len) {
		c->out_head = c->out_len = 0;
	} else if (c->out_head > 0 && c->out_head >= c->out_cap / 2) {
		memmove(c->out, c->out + c->out_head, c->out_len - c->out_head);
		c->out_len -= c->out_head;
		c->out_head = 0;
	}
	if (c->out_len + len > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 16384;
		while (cap < c->out_len + len)
			cap *= 2;
		char *n = realloc(c->out, cap);
		if (n == NULL) {
			snprintf(err, CL_ERR_LEN, "out of memory");
			return -1;
		}
		c->out = n;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, buf, len);
	c->out_len += len;
	return 0;
}

int
cl_client_send_line(struct cl_client *c, const char *line, size_t len, char *err)
{
	if (cl_client_send_raw(c, line, len, err) < 0 || cl_client_send_raw(c, "\n", 1, err) < 0)
		return -1;
	c->in_flight++;
	return 0;
}

void
cl_client_expect(struct cl_client *c, int64_t n)
{
	c->in_flight += n;
}

int64_t
cl_client_in_flight(const struct cl_client *c)
{
	return c->in_flight;
}

size_t
cl_client_out_pending(const struct cl_client *c)
{
	return c->out_len - c->out_head;
}

int
cl_client_fd(const struct cl_client *c)
{
	return c->fd;
}

short
cl_client_poll_events(const struct cl_client *c)
{
	return (short)(POLLIN | (cl_client_out_pending(c) > 0 ? POLLOUT : 0));
}

static int
flush_out(struct cl_client *c, char *err)
{
	while (c->out_head < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_head, c->out_len - c->out_head, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			snprintf(err, CL_ERR_LEN, "send: %s", strerror(errno));
			return -1;
		}
		c->out_head += (size_t)n;
	}
	return 0;
}

/* Hands every complete line in c->in to cb and keeps the rest. */
static int
deliver(struct cl_client *c, cl_client_answer_fn cb, void *arg, char *err)
{
	size_t start = 0;
	int rc = 0;

	for (;;) {
		char *lf = memchr(c->in + start, '\n', c->in_len - start);
		if (lf == NULL)
			break;
		size_t n = (size_t)(lf - (c->in + start));
		*lf = '\0';
		if (n > 0 && c->in[start + n - 1] == '\r')
			c->in[start + --n] = '\0';
		if (c->in_flight > 0)
			c->in_flight--;
		if (cb != NULL && cb(arg, c->in + start, n, err) < 0)
			rc = -1;
		start = (size_t)(lf - c->in) + 1;
		if (rc < 0)
			break;
	}
	if (start > 0) {
		memmove(c->in, c->in + start, c->in_len - start);
		c->in_len -= start;
	}
	if (rc == 0 && c->in_len >= c->in_cap - 1) {
		snprintf(err, CL_ERR_LEN, "answer longer than %d bytes", CL_CLIENT_MAX_ANSWER);
		return -1;
	}
	return rc;
}

static int
read_in(struct cl_client *c, cl_client_answer_fn cb, void *arg, char *err)
{
	for (;;) {
		size_t room = c->in_cap - 1 - c->in_len;
		ssize_t n = recv(c->fd, c->in + c->in_len, room < READ_CHUNK ? room : READ_CHUNK, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			snprintf(err, CL_ERR_LEN, "recv: %s", strerror(errno));
			return -1;
		}
		if (n == 0) {
			if (deliver(c, cb, arg, err) < 0)
				return -1;
			snprintf(err, CL_ERR_LEN, "daemon closed the connection with %lld answer%s due",
			         (long long)c->in_flight, c->in_flight == 1 ? "" : "s");
			return -1;
		}
		c->in_len += (size_t)n;
		if (deliver(c, cb, arg, err) < 0)
			return -1;
	}
}

int
cl_client_handle(struct cl_client *c, short revents, cl_client_answer_fn cb, void *arg, char *err)
{
	if (revents & (POLLIN | POLLHUP | POLLERR)) {
		if (read_in(c, cb, arg, err) < 0)
			return -1;
	}
	if (cl_client_out_pending(c) > 0 && flush_out(c, err) < 0)
		return -1;
	return 0;
}

int
cl_client_pump(struct cl_client *c, int timeout_ms, cl_client_answer_fn cb, void *arg, char *err)
{
	struct pollfd p = {.fd = c->fd, .events = cl_client_poll_events(c)};
	int rc;

	/* Write first: most of the time the socket has room and no poll is needed. */
	if (cl_client_out_pending(c) > 0 && flush_out(c, err) < 0)
		return -1;
	p.events = cl_client_poll_events(c);
	rc = poll(&p, 1, timeout_ms);
	if (rc < 0 && errno != EINTR) {
		snprintf(err, CL_ERR_LEN, "poll: %s", strerror(errno));
		return -1;
	}
	if (rc <= 0)
		return 0;
	return cl_client_handle(c, p.revents, cb, arg, err);
}

int
cl_client_drain(struct cl_client *c, int timeout_ms, cl_client_answer_fn cb, void *arg, char *err)
{
	int64_t last = cl_mono_us();

	while (c->in_flight > 0 || cl_client_out_pending(c) > 0) {
		int64_t before = c->in_flight;
		size_t out_before = cl_client_out_pending(c);
		int64_t left_ms = timeout_ms - (cl_mono_us() - last) / 1000;
		if (left_ms <= 0) {
			snprintf(err, CL_ERR_LEN, "timed out with %lld answer%s due", (long long)c->in_flight,
			         c->in_flight == 1 ? "" : "s");
			return -1;
		}
		if (cl_client_pump(c, (int)left_ms, cb, arg, err) < 0)
			return -1;
		if (c->in_flight != before || cl_client_out_pending(c) != out_before)
			last = cl_mono_us();
	}
	return 0;
}

int
cl_client_is_ack(const char *line, size_t len)
{
	json_t *j;
	int ok;

	/* The daemon's own form first: no parse on the hot path. */
	if (len >= 7 && memcmp(line, "{\"ack\":", 7) == 0 && memmem(line, len, "\"error\"", 7) == NULL)
		return 1;
	if ((j = json_loadb(line, len, 0, NULL)) == NULL)
		return 0;
	ok = json_is_object(j) && json_object_get(j, "ack") != NULL && json_object_get(j, "error") == NULL;
	json_decref(j);
	return ok;
}
