/* bench.c : the helpers of bench.h. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

int64_t
bn_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int
bn_parse_hostport(const char *s, char *host, int *port)
{
	const char *colon = strrchr(s, ':');
	size_t n;

	if (colon == NULL || (n = (size_t)(colon - s)) == 0 || n >= 64)
		return -1;
	memcpy(host, s, n);
	host[n] = '\0';
	*port = atoi(colon + 1);
	return *port > 0 && *port < 65536 ? 0 : -1;
}

int
bn_set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static int
open_socket(const char *host, int port, struct sockaddr_in *sa)
{
	int fd, one = 1;

	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &sa->sin_addr) != 1) {
		errno = EINVAL;
		return -1;
	}
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

int
bn_connect(const char *host, int port)
{
	struct sockaddr_in sa;
	int fd = open_socket(host, port, &sa);

	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int
bn_connect_nb(const char *host, int port)
{
	struct sockaddr_in sa;
	int fd = open_socket(host, port, &sa);

	if (fd < 0)
		return -1;
	if (bn_set_nonblock(fd) < 0 || (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS)) {
		close(fd);
		return -1;
	}
	return fd;
}

int
bn_write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			struct pollfd pf = {.fd = fd, .events = POLLOUT};

			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				return -1;
			poll(&pf, 1, 1000);
			continue;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

void
bn_lines_init(struct bn_lines *l)
{
	l->buf = NULL;
	l->len = l->cap = 0;
}

void
bn_lines_free(struct bn_lines *l)
{
	free(l->buf);
	bn_lines_init(l);
}

long
bn_lines_read(struct bn_lines *l, int fd, void (*fn)(void *arg, const char *line, size_t n), void *arg)
{
	ssize_t r;
	size_t start = 0;

	if (l->cap - l->len < 16384) {
		size_t cap = l->cap ? l->cap * 2 : 65536;
		char *nb = realloc(l->buf, cap);

		if (nb == NULL)
			return -1;
		l->buf = nb;
		l->cap = cap;
	}
	r = read(fd, l->buf + l->len, l->cap - l->len);
	if (r < 0)
		return errno == EAGAIN || errno == EINTR ? -2 : -1;
	if (r == 0)
		return 0;
	l->len += (size_t)r;
	for (;;) {
		char *lf = memchr(l->buf + start, '\n', l->len - start);

		if (lf == NULL)
			break;
		fn(arg, l->buf + start, (size_t)(lf - (l->buf + start)));
		start = (size_t)(lf - l->buf) + 1;
	}
	if (start > 0) {
		memmove(l->buf, l->buf + start, l->len - start);
		l->len -= start;
	}
	return r;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

void
bn_sort(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
}

double
bn_pct(const double *v, size_t n, double q)
{
	size_t i;

	if (n == 0)
		return 0;
	i = (size_t)(q * (double)n + 0.999999);
	if (i > 0)
		i--;
	return v[i < n ? i : n - 1];
}

double
bn_median(double *v, size_t n)
{
	bn_sort(v, n);
	if (n == 0)
		return 0;
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

size_t
bn_event_line(char *out, const char *tag, long call, int step, int nagents, const char **type_out)
{
	static const char *const types[BN_STEPS] = {"call.offered", "call.queued",  "call.ringing", "call.answered",
	                                            "call.held",    "call.resumed", "call.ended",   "call.disposition"};
	static const char *const queues[] = {"support", "billing", "sales", "retention"};
	static const char *const codes[] = {"resolved", "billing", "callback", "escalated"};
	const char *queue = queues[call % 4];
	long agent = call % (nagents > 0 ? nagents : 1) + 1;
	int n;

	if (type_out)
		*type_out = types[step];
	n = snprintf(out, 1024, "{\"type\":\"%s\",\"call_id\":\"%s-%ld\",\"id\":\"%s-%ld-%d\"", types[step], tag, call,
	             tag, call, step);
	switch (step) {
	case 0:
		n += snprintf(out + n, 1024 - (size_t)n,
		              ",\"from\":\"(555) %03ld-%04ld\",\"to\":\"1-800-555-0100\",\"queue\":\"%s\","
		              "\"data\":{\"ivr\":\"%ld\",\"account\":\"ACC-%07ld\",\"lang\":\"en\"}",
		              (call / 10000) % 1000, call % 10000, queue, call % 9 + 1, call % 9999991);
		break;
	case 1:
		n += snprintf(out + n, 1024 - (size_t)n, ",\"queue\":\"%s\"", queue);
		break;
	case 2:
	case 3:
	case 4:
	case 5:
		n += snprintf(out + n, 1024 - (size_t)n, ",\"agent\":\"a%ld\"", agent);
		break;
	case 6:
		n += snprintf(out + n, 1024 - (size_t)n, ",\"reason\":\"completed\",\"by\":\"caller\"");
		break;
	default:
		n += snprintf(out + n, 1024 - (size_t)n,
		              ",\"agent\":\"a%ld\",\"code\":\"%s\",\"notes\":\"customer asked about invoice %ld\"",
		              agent, codes[call % 4], call);
		break;
	}
	n += snprintf(out + n, 1024 - (size_t)n, "}\n");
	return (size_t)n;
}
