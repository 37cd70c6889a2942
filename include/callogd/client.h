/* client.h : a producer's connection to the daemon's events socket: connect
 * per config, hello, and pipelined NDJSON lines out with their answers in. */
#ifndef CALLOGD_CLIENT_H
#define CALLOGD_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "callogd/config.h"

/* Answers are short; anything longer than this is not the daemon speaking. */
#define CL_CLIENT_MAX_ANSWER 65536

struct cl_client;

/*
 * cl_client_connect() : connects to the unix socket path when it is not "",
 * else to tcp ("host:port", "[v6]:port"). When token is not "" it sends the
 * hello and waits up to timeout_ms for {"ok":true}. The socket is then
 * non-blocking. NULL with err (CL_ERR_LEN) filled on failure.
 */
struct cl_client *cl_client_connect(const char *unix_path, const char *tcp, const char *token, int timeout_ms,
                                    char *err);
/* cl_client_open() : cl_client_connect() with the events.* settings of cfg. */
struct cl_client *cl_client_open(const struct cl_config *cfg, char *err);
/* cl_client_close() : closes and frees; accepts NULL. */
void cl_client_close(struct cl_client *c);

/*
 * cl_client_send_line() : queues line (len bytes, no LF) followed by LF and
 * counts one answer due. Nothing is written until cl_client_handle() or
 * cl_client_pump(). -1 on out of memory.
 */
int cl_client_send_line(struct cl_client *c, const char *line, size_t len, char *err);
/*
 * cl_client_send_raw() : queues bytes as they are, counting no answer: for a
 * line sent in pieces; call cl_client_expect() once for it.
 */
int cl_client_send_raw(struct cl_client *c, const void *buf, size_t len, char *err);
void cl_client_expect(struct cl_client *c, int64_t n);

/* Answers due (lines sent whose answer has not come yet). */
int64_t cl_client_in_flight(const struct cl_client *c);
/* Bytes queued and not yet written to the socket. */
size_t cl_client_out_pending(const struct cl_client *c);

/*
 * cl_client_answer_fn : called for each answer line (len bytes, no LF, NUL
 * terminated). Return 0 to go on, -1 to stop (cl_client_handle then fails
 * with err as the callback left it).
 */
typedef int (*cl_client_answer_fn)(void *arg, const char *line, size_t len, char *err);

/* For an outside poll(): the socket, and the events to wait for. */
int cl_client_fd(const struct cl_client *c);
short cl_client_poll_events(const struct cl_client *c);
/*
 * cl_client_handle() : acts on revents from poll(): writes what it can, reads
 * and hands each answer to cb. -1 with err on a socket error, an answer longer
 * than CL_CLIENT_MAX_ANSWER, a callback's -1, or the daemon closing the
 * connection (err then says how many answers were still due).
 */
int cl_client_handle(struct cl_client *c, short revents, cl_client_answer_fn cb, void *arg, char *err);
/* cl_client_pump() : one poll() of at most timeout_ms, then cl_client_handle(). */
int cl_client_pump(struct cl_client *c, int timeout_ms, cl_client_answer_fn cb, void *arg, char *err);
/*
 * cl_client_drain() : pumps until every answer due has come or timeout_ms
 * passes without any progress (then -1, "timed out").
 */
int cl_client_drain(struct cl_client *c, int timeout_ms, cl_client_answer_fn cb, void *arg, char *err);

/* 1 when an answer line is an ack ({"ack":...} without "error"), else 0. */
int cl_client_is_ack(const char *line, size_t len);

#endif
