/* bench_ingest.c : acknowledged events/s through a live callogd from C pipelined producer connections. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "bench.h"

#define OUT_CAP (256 * 1024)

struct conn {
	int fd;
	char *out;
	size_t outlen, outoff;
	long inflight, next; /* events sent and not answered; next event number */
	long acks, dups, errors;
	int want_out;
	struct bn_lines in;
};

static struct {
	int nconns;
	long window;
	int nagents;
	char tag[64];
	int measuring;
	long measured_acks;
	int epfd;
} g;

static void
usage(void)
{
	fprintf(stderr, "usage: bench_ingest -e HOST:PORT [-c CONNS] [-w WINDOW] [-d SECONDS] [-W WARMUP] [-t TAG]\n");
	exit(2);
}

static void
on_line(void *arg, const char *line, size_t n)
{
	struct conn *c = arg;

	c->inflight--;
	if (n >= 6 && memcmp(line, "{\"ack\"", 6) == 0) {
		c->acks++;
		if (memmem(line, n, "\"duplicate\":true", 16))
			c->dups++;
		if (g.measuring)
			g.measured_acks++;
	} else {
		if (c->errors++ < 5)
			fprintf(stderr, "bench_ingest: answer: %.*s\n", (int)n, line);
	}
}

static void
refill(struct conn *c, int sending)
{
	if (c->outoff == c->outlen)
		c->outoff = c->outlen = 0;
	while (sending && c->inflight < g.window && OUT_CAP - c->outlen >= 1024) {
		long ev = c->next++;

		c->outlen +=
		    bn_event_line(c->out + c->outlen, g.tag, ev / BN_STEPS, (int)(ev % BN_STEPS), g.nagents, NULL);
		c->inflight++;
	}
}

static int
flush(struct conn *c)
{
	while (c->outoff < c->outlen) {
		ssize_t w = write(c->fd, c->out + c->outoff, c->outlen - c->outoff);

		if (w < 0) {
			if (errno == EAGAIN)
				break;
			if (errno == EINTR)
				continue;
			return -1;
		}
		c->outoff += (size_t)w;
	}
	int want = c->outoff < c->outlen;
	if (want != c->want_out) {
		struct epoll_event e = {.events = EPOLLIN | (want ? EPOLLOUT : 0), .data.ptr = c};

		epoll_ctl(g.epfd, EPOLL_CTL_MOD, c->fd, &e);
		c->want_out = want;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	char host[64] = "";
	int port = 0, opt;
	double seconds = 5, warmup = 1;
	struct conn *conns;
	int64_t t0, tm0 = 0, tm1 = 0, deadline;
	long inflight;

	g.nconns = 1;
	g.window = 1000;
	g.nagents = 200;
	snprintf(g.tag, sizeof(g.tag), "i%ld", (long)getpid());
	while ((opt = getopt(argc, argv, "e:c:w:d:W:t:")) != -1) {
		switch (opt) {
		case 'e':
			if (bn_parse_hostport(optarg, host, &port) < 0)
				usage();
			break;
		case 'c':
			g.nconns = atoi(optarg);
			break;
		case 'w':
			g.window = atol(optarg);
			break;
		case 'd':
			seconds = atof(optarg);
			break;
		case 'W':
			warmup = atof(optarg);
			break;
		case 't':
			snprintf(g.tag, sizeof(g.tag), "%s", optarg);
			break;
		default:
			usage();
		}
	}
	if (!port || g.nconns < 1 || g.window < 1)
		usage();
	g.epfd = epoll_create1(EPOLL_CLOEXEC);
	conns = calloc((size_t)g.nconns, sizeof(*conns));
	for (int i = 0; i < g.nconns; i++) {
		struct conn *c = &conns[i];
		struct epoll_event e = {.events = EPOLLIN, .data.ptr = c};

		if ((c->fd = bn_connect(host, port)) < 0 || bn_set_nonblock(c->fd) < 0) {
			perror("bench_ingest: connect");
			return 1;
		}
		c->out = malloc(OUT_CAP);
		bn_lines_init(&c->in);
		epoll_ctl(g.epfd, EPOLL_CTL_ADD, c->fd, &e);
	}
	t0 = bn_now_ns();
	deadline = t0 + (int64_t)((warmup + seconds) * 1e9);
	for (int i = 0; i < g.nconns; i++) {
		/* Striped event numbers: each connection has its own calls and ids. */
		conns[i].next = (long)i * 1000000000L;
		refill(&conns[i], 1);
		if (flush(&conns[i]) < 0) {
			perror("bench_ingest: write");
			return 1;
		}
	}
	for (;;) {
		struct epoll_event evs[256];
		int64_t now = bn_now_ns();
		int sending = now < deadline, n;

		if (!g.measuring && sending && now >= t0 + (int64_t)(warmup * 1e9)) {
			g.measuring = 1;
			tm0 = now;
		}
		if (g.measuring && !sending) {
			g.measuring = 0;
			tm1 = now;
		}
		inflight = 0;
		for (int i = 0; i < g.nconns; i++)
			inflight += conns[i].inflight;
		if (!sending && inflight == 0)
			break;
		if (now > deadline + 20000000000LL) {
			fprintf(stderr, "bench_ingest: %ld events unanswered 20 s after the end\n", inflight);
			break;
		}
		n = epoll_wait(g.epfd, evs, 256, 100);
		for (int k = 0; k < n; k++) {
			struct conn *c = evs[k].data.ptr;

			if (evs[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
				long r;

				while ((r = bn_lines_read(&c->in, c->fd, on_line, c)) > 0)
					;
				if (r == 0 || r == -1) {
					fprintf(stderr,
					        "bench_ingest: connection closed by the daemon (%ld in flight)\n",
					        c->inflight);
					return 1;
				}
			}
			refill(c, bn_now_ns() < deadline);
			if (flush(c) < 0) {
				perror("bench_ingest: write");
				return 1;
			}
		}
	}
	long acks = 0, dups = 0, errors = 0;
	for (int i = 0; i < g.nconns; i++) {
		acks += conns[i].acks;
		dups += conns[i].dups;
		errors += conns[i].errors;
		close(conns[i].fd);
		free(conns[i].out);
		bn_lines_free(&conns[i].in);
	}
	printf("conns=%d window=%ld seconds=%.2f acks_measured=%ld acks_per_s=%.0f acks_total=%ld duplicates=%ld "
	       "errors=%ld unanswered=%ld\n",
	       g.nconns, g.window, (double)(tm1 - tm0) / 1e9, g.measured_acks,
	       (double)g.measured_acks / ((double)(tm1 - tm0) / 1e9), acks, dups, errors, inflight);
	free(conns);
	return errors || inflight ? 1 : 0;
}
