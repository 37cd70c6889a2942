/* bench_pop.c : screen-pop latency through a live callogd (or a loopback relay baseline), and console memory. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

/*
 * Modes:
 *  daemon  consoles say hello to callogd's agents listener; a producer sends
 *          call.offered, then (timed) call.ringing for agent aK, at -r calls/s;
 *          the latency is from just before writing the ringing line to reading
 *          the pop on aK's console. Each popped call is then ended.
 *  relay   the same programme against a relay child: it answers every
 *          producer line with an ack and, for a ringing line, writes a line of
 *          -s bytes to aK's console (and a short one for call.ended). That is
 *          the loopback floor: two TCP hops and two epoll wake-ups.
 *  mem     VmRSS of -p PID idle, then with -n welcomed idle consoles.
 */

enum kind { K_CONSOLE, K_PRODUCER, K_TIMER };

struct conn {
	enum kind kind;
	int fd, agent, state; /* console: 0 connecting, 1 hello sent, 2 welcomed */
	struct bn_lines in;
	char *out;
	size_t outlen, outcap;
	int want_out;
};

static struct {
	const char *mode;
	char ehost[64], ahost[64];
	int eport, aport;
	int nconsoles, rate, customers, popsize;
	double seconds, warmup;
	double linger; /* seconds to wait for late pops after the last call rang */
	char tag[32];
	char **tokens; /* tokens[K] for agent aK */
	int ntokens;
	int epfd;
	struct conn *consoles, producer, timer;
	int welcomed, refused;
	long ncalls, sent, popped, answers, errors, pop_bytes, pops_seen;
	int64_t *t0; /* per call: ns before the ringing write, 0 = not sent */
	double *lat; /* per call: latency in us, <0 = no pop yet */
	pid_t relay;
	int verbose;
	unsigned long numbase; /* first unknown caller number of this run */
} g;

static void
usage(void)
{
	fprintf(
	    stderr,
	    "usage: bench_pop -m daemon|relay|mem -a HOST:PORT [-e HOST:PORT] -k TOKENS -n CONSOLES\n"
	    "                 [-r CALLS_PER_S] [-d SECONDS] [-W WARMUP] [-C CUSTOMERS] [-s POP_BYTES] [-p PID] [-v]\n"
	    "                 [-L LINGER]   seconds to wait for late pops (default 3); a pop still missing then\n"
	    "                               counts with the time waited for it, a lower bound (see missing=)\n");
	exit(2);
}

static void
die(const char *what)
{
	perror(what);
	if (g.relay > 0)
		kill(g.relay, SIGTERM);
	exit(1);
}

static void
watch(struct conn *c, int want_out)
{
	struct epoll_event e = {.events = EPOLLIN | (want_out ? EPOLLOUT : 0), .data.ptr = c};

	if (c->want_out == want_out)
		return;
	epoll_ctl(g.epfd, EPOLL_CTL_MOD, c->fd, &e);
	c->want_out = want_out;
}

/* Queues and writes what the connection can take now. */
static void
send_out(struct conn *c, const char *p, size_t n)
{
	if (c->outlen == 0 && n > 0) {
		ssize_t w = write(c->fd, p, n);

		if (w < 0 && errno != EAGAIN)
			die("bench_pop: write");
		if (w > 0) {
			p += w;
			n -= (size_t)w;
		}
	}
	if (n > 0) {
		if (c->outlen + n > c->outcap) {
			c->outcap = (c->outlen + n) * 2;
			if ((c->out = realloc(c->out, c->outcap)) == NULL)
				die("bench_pop: realloc");
		}
		memcpy(c->out + c->outlen, p, n);
		c->outlen += n;
	}
	watch(c, c->outlen > 0);
}

static void
flush_out(struct conn *c)
{
	ssize_t w = c->outlen ? write(c->fd, c->out, c->outlen) : 0;

	if (w < 0 && errno != EAGAIN)
		die("bench_pop: write");
	if (w > 0) {
		memmove(c->out, c->out + w, c->outlen - (size_t)w);
		c->outlen -= (size_t)w;
	}
	watch(c, c->outlen > 0);
}

static int
load_tokens(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[512];

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char agent[256], token[256];
		int k;

		if (sscanf(line, "%255s %255s", agent, token) != 2 || agent[0] != 'a' || (k = atoi(agent + 1)) < 1)
			continue;
		if (k >= g.ntokens) {
			int n = k * 2 + 16;

			g.tokens = realloc(g.tokens, (size_t)n * sizeof(*g.tokens));
			memset(g.tokens + g.ntokens, 0, (size_t)(n - g.ntokens) * sizeof(*g.tokens));
			g.ntokens = n;
		}
		g.tokens[k] = strdup(token);
	}
	fclose(f);
	return 0;
}

static long
vmrss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/* ---- the relay child ---- */

static int
relay_listen(int *port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4096) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0 || bn_set_nonblock(fd) < 0)
		die("bench_pop: relay listen");
	*port = ntohs(sa.sin_port);
	return fd;
}

static struct conn **relay_agents; /* by agent number */
static int relay_nagents;
static long relay_seq;

static int
field(const char *line, size_t n, const char *key, char *out, size_t outlen)
{
	char pat[64];
	const char *p, *q;
	int plen = snprintf(pat, sizeof(pat), "\"%s\":\"", key);

	if ((p = memmem(line, n, pat, (size_t)plen)) == NULL)
		return -1;
	p += plen;
	if ((q = memchr(p, '"', n - (size_t)(p - line))) == NULL || (size_t)(q - p) >= outlen)
		return -1;
	memcpy(out, p, (size_t)(q - p));
	out[q - p] = '\0';
	return 0;
}

static void
relay_line(void *arg, const char *line, size_t n)
{
	struct conn *c = arg;
	char agent[160], call[160], id[160], buf[65536];
	int k;

	if (c->kind == K_CONSOLE) {
		if (field(line, n, "agent", agent, sizeof(agent)) == 0 && (k = atoi(agent + 1)) > 0 &&
		    k < relay_nagents) {
			int len = snprintf(buf, sizeof(buf), "{\"type\":\"welcome\",\"agent\":\"%s\"}\n", agent);

			relay_agents[k] = c;
			send_out(c, buf, (size_t)len);
		}
		return;
	}
	if (field(line, n, "id", id, sizeof(id)) < 0)
		snprintf(id, sizeof(id), "null");
	int len = snprintf(buf, sizeof(buf), "{\"ack\":\"%s\",\"seq\":%ld}\n", id, ++relay_seq);
	send_out(c, buf, (size_t)len);
	if (field(line, n, "call_id", call, sizeof(call)) < 0)
		return;
	if (memmem(line, n, "\"call.ringing\"", 14) && field(line, n, "agent", agent, sizeof(agent)) == 0 &&
	    (k = atoi(agent + 1)) > 0 && k < relay_nagents && relay_agents[k]) {
		int size = g.popsize < 128 ? 128 : g.popsize > 60000 ? 60000 : g.popsize;

		len = snprintf(buf, sizeof(buf),
		               "{\"type\":\"pop\",\"seq\":%ld,\"call_id\":\"%s\",\"agent\":\"%s\",\"pad\":\"",
		               relay_seq, call, agent);
		memset(buf + len, 'x', (size_t)(size - len - 3));
		memcpy(buf + size - 3, "\"}\n", 3);
		send_out(relay_agents[k], buf, (size_t)size);
	}
}

static void
relay_main(int wfd)
{
	int ports[2], lfd[2], epfd = epoll_create1(EPOLL_CLOEXEC);
	struct conn lc[2];

	lfd[0] = relay_listen(&ports[0]);
	lfd[1] = relay_listen(&ports[1]);
	relay_nagents = g.nconsoles + 2;
	relay_agents = calloc((size_t)relay_nagents, sizeof(*relay_agents));
	g.epfd = epfd;
	for (int i = 0; i < 2; i++) {
		struct epoll_event e = {.events = EPOLLIN, .data.ptr = &lc[i]};

		lc[i].fd = lfd[i];
		lc[i].kind = K_TIMER; /* marks a listener here */
		lc[i].agent = i;
		epoll_ctl(epfd, EPOLL_CTL_ADD, lfd[i], &e);
	}
	if (write(wfd, ports, sizeof(ports)) != sizeof(ports))
		_exit(1);
	close(wfd);
	for (;;) {
		struct epoll_event evs[256];
		int n = epoll_wait(epfd, evs, 256, -1);

		for (int k = 0; k < n; k++) {
			struct conn *c = evs[k].data.ptr;

			if (c->kind == K_TIMER) {
				int fd;

				while ((fd = accept4(c->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
					struct conn *nc = calloc(1, sizeof(*nc));
					struct epoll_event e = {.events = EPOLLIN, .data.ptr = nc};
					int one = 1;

					setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
					nc->fd = fd;
					nc->kind = c->agent == 0 ? K_PRODUCER : K_CONSOLE;
					bn_lines_init(&nc->in);
					epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &e);
				}
				continue;
			}
			if (evs[k].events & EPOLLOUT)
				flush_out(c);
			if (evs[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
				long r;

				while ((r = bn_lines_read(&c->in, c->fd, relay_line, c)) > 0)
					;
				if (r == 0 || r == -1) {
					epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
					close(c->fd);
					for (int a = 0; a < relay_nagents; a++)
						if (relay_agents[a] == c)
							relay_agents[a] = NULL;
					bn_lines_free(&c->in);
					free(c->out);
					free(c);
				}
			}
		}
	}
}

static void
start_relay(void)
{
	int pfd[2], ports[2];

	if (pipe(pfd) < 0)
		die("bench_pop: pipe");
	if ((g.relay = fork()) < 0)
		die("bench_pop: fork");
	if (g.relay == 0) {
		close(pfd[0]);
		relay_main(pfd[1]);
		_exit(0);
	}
	close(pfd[1]);
	if (read(pfd[0], ports, sizeof(ports)) != sizeof(ports))
		die("bench_pop: relay start");
	close(pfd[0]);
	snprintf(g.ehost, sizeof(g.ehost), "127.0.0.1");
	snprintf(g.ahost, sizeof(g.ahost), "127.0.0.1");
	g.eport = ports[0];
	g.aport = ports[1];
}

/* ---- the measuring side ---- */

static void
console_line(void *arg, const char *line, size_t n)
{
	struct conn *c = arg;
	const char *p, *dash;
	int64_t now = bn_now_ns();
	long i;

	if (c->state < 2) {
		if (memmem(line, n, "\"welcome\"", 9)) {
			c->state = 2;
			g.welcomed++;
		} else {
			fprintf(stderr, "bench_pop: console a%d refused: %.*s\n", c->agent, (int)n, line);
			g.refused++;
			c->state = 3;
		}
		return;
	}
	if (n < 13 || memcmp(line, "{\"type\":\"pop\"", 13) != 0)
		return;
	g.pops_seen++;
	if ((p = memmem(line, n, "\"call_id\":\"", 11)) == NULL)
		return;
	p += 11;
	if (strncmp(p, g.tag, strlen(g.tag)) != 0 || p[strlen(g.tag)] != '-')
		return; /* a call of another run */
	dash = p + strlen(g.tag);
	i = strtol(dash + 1, NULL, 10);
	if (i < 0 || i >= g.ncalls || g.t0[i] == 0 || g.lat[i] >= 0)
		return;
	g.lat[i] = (double)(now - g.t0[i]) / 1e3;
	g.popped++;
	g.pop_bytes += (long)n + 1;
	/* The agent's call is over: end it so live calls stay bounded. */
	char buf[256];
	int len =
	    snprintf(buf, sizeof(buf),
	             "{\"type\":\"call.ended\",\"call_id\":\"%s-%ld\",\"id\":\"%s-%ld-e\",\"reason\":\"completed\"}\n",
	             g.tag, i, g.tag, i);
	send_out(&g.producer, buf, (size_t)len);
}

static void
producer_line(void *arg, const char *line, size_t n)
{
	(void)arg;
	g.answers++;
	if (n < 6 || memcmp(line, "{\"ack\"", 6) != 0) {
		if (g.errors++ < 5)
			fprintf(stderr, "bench_pop: producer answer: %.*s\n", (int)n, line);
	}
}

static void
send_offer(long i)
{
	char buf[1024];
	int len;
	/* Known callers spread over the customers; else a fresh unknown number per call and run (no history). */
	long cust = g.customers > 0 ? (long)(((unsigned long)i * 2654435761UL) % (unsigned long)g.customers) + 1
	                            : (long)((g.numbase + (unsigned long)i) % 9999999UL);

	len = snprintf(buf, sizeof(buf),
	               "{\"type\":\"call.offered\",\"call_id\":\"%s-%ld\",\"id\":\"%s-%ld-o\",\"from\":\"+1555%07ld\","
	               "\"to\":\"+18005550100\",\"queue\":\"support\",\"data\":{\"ivr\":\"2\",\"lang\":\"en\"}}\n",
	               g.tag, i, g.tag, i, cust);
	send_out(&g.producer, buf, (size_t)len);
}

/*
 * A call is offered one tick (1/rate s) before it rings, as a real call is
 * offered (IVR, queue) before it rings an agent, so the timed ringing finds
 * its caller looked up already. The next call's offer is written just before
 * this ringing, so each timed ringing still waits behind one lookup (another
 * caller's), as it would on a busy producer connection.
 */
static void
send_call(long i)
{
	char buf[1024];
	int len, k = (int)(i % g.nconsoles) + 1;

	if (i == 0)
		send_offer(0);
	if (i + 1 < g.ncalls)
		send_offer(i + 1);
	len = snprintf(buf, sizeof(buf),
	               "{\"type\":\"call.ringing\",\"call_id\":\"%s-%ld\",\"id\":\"%s-%ld-r\",\"agent\":\"a%d\"}\n",
	               g.tag, i, g.tag, i, k);
	g.t0[i] = bn_now_ns();
	send_out(&g.producer, buf, (size_t)len);
	g.sent++;
}

static void
on_event(struct conn *c, uint32_t events)
{
	if (c->kind == K_TIMER) {
		uint64_t exp;

		if (read(c->fd, &exp, sizeof(exp)) == sizeof(exp))
			for (uint64_t j = 0; j < exp && g.sent < g.ncalls; j++)
				send_call(g.sent);
		return;
	}
	if (events & EPOLLOUT) {
		if (c->kind == K_CONSOLE && c->state == 0) {
			int err = 0;
			socklen_t len = sizeof(err);
			char hello[512];
			int n;

			getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
			if (err) {
				errno = err;
				die("bench_pop: console connect");
			}
			n = snprintf(hello, sizeof(hello), "{\"type\":\"hello\",\"agent\":\"a%d\",\"token\":\"%s\"}\n",
			             c->agent, g.tokens[c->agent]);
			c->state = 1;
			send_out(c, hello, (size_t)n);
		} else {
			flush_out(c);
		}
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		long r;

		while ((r = bn_lines_read(&c->in, c->fd, c->kind == K_CONSOLE ? console_line : producer_line, c)) > 0)
			;
		if (r == 0 || r == -1) {
			fprintf(stderr, "bench_pop: %s a%d closed by the server\n",
			        c->kind == K_CONSOLE ? "console" : "producer", c->agent);
			if (c->kind == K_PRODUCER)
				die("bench_pop: producer");
			epoll_ctl(g.epfd, EPOLL_CTL_DEL, c->fd, NULL);
			close(c->fd);
			c->fd = -1;
		}
	}
}

static void
loop_once(int timeout_ms)
{
	struct epoll_event evs[512];
	int n = epoll_wait(g.epfd, evs, 512, timeout_ms);

	for (int k = 0; k < n; k++)
		on_event(evs[k].data.ptr, evs[k].events);
}

static void
connect_consoles(void)
{
	int started = 0;
	int64_t deadline = bn_now_ns() + 120000000000LL;

	g.consoles = calloc((size_t)g.nconsoles, sizeof(*g.consoles));
	while (g.welcomed + g.refused < g.nconsoles) {
		/* At most 200 handshakes at once: the listen backlog stays short. */
		while (started < g.nconsoles && started - g.welcomed - g.refused < 200) {
			struct conn *c = &g.consoles[started];
			struct epoll_event e = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};

			c->kind = K_CONSOLE;
			c->agent = started + 1;
			if (c->agent >= g.ntokens || g.tokens[c->agent] == NULL) {
				fprintf(stderr, "bench_pop: no token for a%d\n", c->agent);
				exit(1);
			}
			if ((c->fd = bn_connect_nb(g.ahost, g.aport)) < 0)
				die("bench_pop: console socket");
			bn_lines_init(&c->in);
			c->want_out = 1;
			epoll_ctl(g.epfd, EPOLL_CTL_ADD, c->fd, &e);
			started++;
		}
		loop_once(100);
		if (bn_now_ns() > deadline) {
			fprintf(stderr, "bench_pop: only %d of %d consoles welcomed in 120 s\n", g.welcomed,
			        g.nconsoles);
			exit(1);
		}
	}
	if (g.refused) {
		fprintf(stderr, "bench_pop: %d consoles refused\n", g.refused);
		exit(1);
	}
}

static void
run_calls(void)
{
	struct itimerspec its = {0};
	struct epoll_event e;
	long first, last, missing = 0, n = 0;
	int64_t end;
	double *v;

	g.ncalls = (long)((g.warmup + g.seconds) * g.rate);
	g.t0 = calloc((size_t)g.ncalls, sizeof(*g.t0));
	g.lat = malloc((size_t)g.ncalls * sizeof(*g.lat));
	for (long i = 0; i < g.ncalls; i++)
		g.lat[i] = -1;
	g.producer.kind = K_PRODUCER;
	if ((g.producer.fd = bn_connect(g.ehost, g.eport)) < 0 || bn_set_nonblock(g.producer.fd) < 0)
		die("bench_pop: producer connect");
	bn_lines_init(&g.producer.in);
	e = (struct epoll_event){.events = EPOLLIN, .data.ptr = &g.producer};
	epoll_ctl(g.epfd, EPOLL_CTL_ADD, g.producer.fd, &e);
	g.timer.kind = K_TIMER;
	g.timer.fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	its.it_interval.tv_nsec = 1000000000L / g.rate;
	its.it_value.tv_nsec = its.it_interval.tv_nsec;
	timerfd_settime(g.timer.fd, 0, &its, NULL);
	e = (struct epoll_event){.events = EPOLLIN, .data.ptr = &g.timer};
	epoll_ctl(g.epfd, EPOLL_CTL_ADD, g.timer.fd, &e);
	while (g.sent < g.ncalls)
		loop_once(1000);
	epoll_ctl(g.epfd, EPOLL_CTL_DEL, g.timer.fd, NULL);
	close(g.timer.fd);
	/* Wait for the last pops and every answer (acks include the ends). */
	end = bn_now_ns() + (int64_t)(g.linger * 1e9);
	while (bn_now_ns() < end && (g.popped < g.ncalls || g.answers < 2 * g.ncalls + g.popped))
		loop_once(50);
	end = bn_now_ns();
	first = (long)(g.warmup * g.rate);
	last = g.ncalls;
	v = malloc((size_t)(last - first) * sizeof(*v));
	for (long i = first; i < last; i++) {
		if (g.lat[i] < 0) {
			/* Never seen: it took at least until now; leaving it out would flatter the tail. */
			missing++;
			v[n++] = g.t0[i] > 0 ? (double)(end - g.t0[i]) / 1e3 : g.linger * 1e6;
		} else {
			v[n++] = g.lat[i];
		}
	}
	if (g.verbose) {
		/* The slowest calls and when they rang: a stall shows as neighbours with similar latencies. */
		for (int top = 0; top < 10; top++) {
			long worst = -1;

			for (long i = first; i < last; i++)
				if (g.lat[i] >= 0 && (worst < 0 || g.lat[i] > g.lat[worst]))
					worst = i;
			if (worst < 0)
				break;
			fprintf(stderr, "bench_pop: slow call %ld at t=%.3fs agent a%ld: %.0f us\n", worst,
			        (double)(g.t0[worst] - g.t0[0]) / 1e9, worst % g.nconsoles + 1, g.lat[worst]);
			g.lat[worst] = -2 - g.lat[worst];
		}
		for (long i = first; i < last; i++)
			if (g.lat[i] <= -2)
				g.lat[i] = -2 - g.lat[i];
	}
	bn_sort(v, (size_t)n);
	printf("mode=%s consoles=%d rate=%d customers=%d calls=%ld samples=%ld p50_us=%.1f p99_us=%.1f p999_us=%.1f "
	       "max_us=%.1f missing=%ld answers=%ld errors=%ld pop_bytes_avg=%ld\n",
	       g.mode, g.nconsoles, g.rate, g.customers, g.ncalls, n, bn_pct(v, (size_t)n, 0.5),
	       bn_pct(v, (size_t)n, 0.99), bn_pct(v, (size_t)n, 0.999), n ? v[n - 1] : 0.0, missing, g.answers,
	       g.errors, g.popped ? g.pop_bytes / g.popped : 0);
	free(v);
}

int
main(int argc, char **argv)
{
	const char *tokens = NULL;
	long pid = 0;
	int opt;

	g.mode = "daemon";
	g.nconsoles = 200;
	g.rate = 500;
	g.seconds = 5;
	g.linger = 3;
	g.warmup = 1;
	g.popsize = 400;
	snprintf(g.tag, sizeof(g.tag), "p%ld", (long)getpid());
	g.numbase = ((unsigned long)bn_now_ns() / 1000 ^ (unsigned long)getpid() * 40503UL) % 9999999UL;
	while ((opt = getopt(argc, argv, "m:a:e:k:n:r:d:W:C:s:p:vL:")) != -1) {
		switch (opt) {
		case 'm':
			g.mode = optarg;
			break;
		case 'a':
			if (bn_parse_hostport(optarg, g.ahost, &g.aport) < 0)
				usage();
			break;
		case 'e':
			if (bn_parse_hostport(optarg, g.ehost, &g.eport) < 0)
				usage();
			break;
		case 'k':
			tokens = optarg;
			break;
		case 'n':
			g.nconsoles = atoi(optarg);
			break;
		case 'r':
			g.rate = atoi(optarg);
			break;
		case 'd':
			g.seconds = atof(optarg);
			break;
		case 'W':
			g.warmup = atof(optarg);
			break;
		case 'C':
			g.customers = atoi(optarg);
			break;
		case 's':
			g.popsize = atoi(optarg);
			break;
		case 'p':
			pid = atol(optarg);
			break;
		case 'L':
			g.linger = atof(optarg);
			break;
		case 'v':
			g.verbose = 1;
			break;
		default:
			usage();
		}
	}
	signal(SIGPIPE, SIG_IGN);
	if (g.nconsoles < 1 || g.rate < 1 || g.rate > 100000)
		usage();
	if ((g.epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
		die("bench_pop: epoll");
	if (strcmp(g.mode, "relay") == 0) {
		g.ntokens = g.nconsoles + 2;
		g.tokens = calloc((size_t)g.ntokens, sizeof(*g.tokens));
		for (int k = 1; k <= g.nconsoles; k++)
			g.tokens[k] = "relay";
		start_relay();
		connect_consoles();
		run_calls();
		kill(g.relay, SIGTERM);
		waitpid(g.relay, NULL, 0);
		return 0;
	}
	if (tokens == NULL || load_tokens(tokens) < 0 || !g.aport)
		usage();
	if (strcmp(g.mode, "mem") == 0) {
		long idle, busy;

		if (pid <= 0)
			usage();
		idle = vmrss_kib((pid_t)pid);
		connect_consoles();
		/* Let the daemon settle (allocator, buffers) before reading. */
		for (int i = 0; i < 20; i++)
			loop_once(100);
		busy = vmrss_kib((pid_t)pid);
		printf("mode=mem consoles=%d rss_idle_kib=%ld rss_consoles_kib=%ld per_console_kib=%.2f\n", g.nconsoles,
		       idle, busy, (double)(busy - idle) / g.nconsoles);
		return 0;
	}
	if (strcmp(g.mode, "daemon") != 0 || !g.eport)
		usage();
	connect_consoles();
	run_calls();
	return g.errors ? 1 : 0;
}
