/* bench.h : helpers shared by the benchmark programs: clock, sockets, line buffers, statistics, event lines. */
#ifndef CALLOGD_BENCH_H
#define CALLOGD_BENCH_H

#include <stddef.h>
#include <stdint.h>

/* CLOCK_MONOTONIC in nanoseconds. */
int64_t bn_now_ns(void);

/* bn_parse_hostport() : "127.0.0.1:7070" into host (64 bytes) and *port; -1 when malformed. */
int bn_parse_hostport(const char *s, char *host, int *port);
/* bn_connect() : a blocking TCP connection with TCP_NODELAY, or -1 (errno set). */
int bn_connect(const char *host, int port);
/* bn_connect_nb() : a non-blocking TCP connection in progress, or -1. */
int bn_connect_nb(const char *host, int port);
int bn_set_nonblock(int fd);
/* bn_write_all() : writes everything on a (possibly non-blocking) fd, polling on EAGAIN; -1 on error. */
int bn_write_all(int fd, const char *p, size_t n);

/* A growable input buffer cut into LF-terminated lines. */
struct bn_lines {
	char *buf;
	size_t len, cap;
};
void bn_lines_init(struct bn_lines *l);
void bn_lines_free(struct bn_lines *l);
/*
 * bn_lines_read() : reads what fd has (non-blocking) and calls fn for every
 * complete line (without the LF). Returns bytes read, 0 on EOF, -1 on error,
 * -2 when nothing was there (EAGAIN).
 */
long bn_lines_read(struct bn_lines *l, int fd, void (*fn)(void *arg, const char *line, size_t n), void *arg);

/* Statistics over a sample of doubles (sorted in place). */
void bn_sort(double *v, size_t n);
/* bn_pct() : the q-quantile (0..1) of sorted v by nearest rank; 0 for an empty sample. */
double bn_pct(const double *v, size_t n, double q);
double bn_median(double *v, size_t n);

/*
 * bn_event_line() : one line of the realistic event mix (docs/events.md), LF included,
 * into out (at least 1024 bytes); returns its length. A call is 8 events in
 * order, step 0..7: offered, queued, ringing, answered, held, resumed, ended,
 * disposition. call_id is "<tag>-<call>", the event id "<tag>-<call>-<step>".
 * type_out (may be NULL) gets the event type name.
 */
#define BN_STEPS 8
size_t bn_event_line(char *out, const char *tag, long call, int step, int nagents, const char **type_out);

#endif
