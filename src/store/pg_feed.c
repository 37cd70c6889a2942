/* pg_feed.c : owns a daemon's own sessions on a store shared by several
 * daemons (PostgreSQL): the feed that follows the events other nodes commit
 * (LISTEN callogd_events as a wake-up, the rows read after the last one
 * had), and the leader lock (a session advisory lock). Each is one blocking
 * connection for one thread, reopened by itself after a loss. */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callogd/util.h"
#include "pg.h"

#define LEADER_KEY "7467105938121" /* pg_try_advisory_lock key of the cluster's leader */

struct cl_store_feed {
	PGconn *conn;
	char *where;
	int listening; /* the session has LISTENed: notifications come */
	int lock_held; /* the leader lock is held by this session */
	int64_t retry_at, backoff_us;
};

static void
quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

static void
feed_fail(struct cl_store_feed *f, const char *what, const PGresult *r, char *err)
{
	const char *m = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	size_t n;

	snprintf(err, CL_ERR_LEN, "%s: %s", what, m ? m : f->conn ? PQerrorMessage(f->conn) : "no connection");
	n = strlen(err);
	while (n > 0 && (err[n - 1] == '\n' || err[n - 1] == ' '))
		err[--n] = '\0';
	for (char *c = err; *c; c++)
		if (*c == '\n' || *c == '"')
			*c = ' ';
}

/* One statement on the feed's session; its result or NULL with err (a lost session is dropped). */
static PGresult *
feed_exec(struct cl_store_feed *f, const char *sql, const char *param, const char *what, char *err)
{
	PGresult *r = PQexecParams(f->conn, sql, param ? 1 : 0, NULL, param ? &param : NULL, NULL, NULL, 0);
	ExecStatusType s = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;

	if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK)
		return r;
	feed_fail(f, what, r, err);
	PQclear(r);
	if (PQstatus(f->conn) != CONNECTION_OK) {
		PQfinish(f->conn);
		f->conn = NULL;
		f->listening = f->lock_held = 0;
	}
	return NULL;
}

/* The session, (re)opened at most once per backoff step: 0, or -1 with err while it cannot be. */
static int
feed_ensure(struct cl_store_feed *f, char *err)
{
	/* Ours first, the URL's own settings win; keepalives bound how long a dead peer goes unnoticed. */
	const char *keys[] = {"connect_timeout",
	                      "keepalives_idle",
	                      "keepalives_interval",
	                      "keepalives_count",
	                      "tcp_user_timeout",
	                      "application_name",
	                      "dbname",
	                      NULL};
	const char *vals[] = {"3", "3", "1", "3", "5000", "callogd", f->where, NULL};
	int64_t now = cl_mono_us();
	PGresult *r;

	if (f->conn != NULL && PQstatus(f->conn) == CONNECTION_OK)
		return 0;
	if (now < f->retry_at) {
		snprintf(err, CL_ERR_LEN, "PostgreSQL unreachable (retrying)");
		return -1;
	}
	if (f->conn != NULL)
		PQfinish(f->conn);
	f->listening = f->lock_held = 0;
	f->conn = PQconnectdbParams(keys, vals, 1);
	if (f->conn == NULL || PQstatus(f->conn) != CONNECTION_OK) {
		feed_fail(f, "PostgreSQL", NULL, err);
		PQfinish(f->conn);
		f->conn = NULL;
		f->backoff_us = f->backoff_us ? f->backoff_us * 2 : 100000;
		if (f->backoff_us > 2000000)
			f->backoff_us = 2000000;
		f->retry_at = now + f->backoff_us;
		return -1;
	}
	f->backoff_us = 0;
	(void)PQsetNoticeProcessor(f->conn, quiet, NULL);
	/* The server drops this session within ~10 s of losing sight of us, and so frees the leader lock. */
	if ((r = feed_exec(f, "SET tcp_keepalives_idle = 3", NULL, "set-up", err)) == NULL)
		return -1;
	PQclear(r);
	if ((r = feed_exec(f, "SET tcp_keepalives_interval = 1", NULL, "set-up", err)) == NULL)
		return -1;
	PQclear(r);
	if ((r = feed_exec(f, "SET tcp_keepalives_count = 3", NULL, "set-up", err)) == NULL)
		return -1;
	PQclear(r);
	return 0;
}

struct cl_store_feed *
pg_feed_open(const char *where, char *err)
{
	struct cl_store_feed *f = calloc(1, sizeof(*f));

	if (f == NULL || (f->where = strdup(where)) == NULL) {
		free(f);
		snprintf(err, CL_ERR_LEN, "out of memory");
		return NULL;
	}
	if (feed_ensure(f, err) < 0) {
		pg_feed_close(f);
		return NULL;
	}
	return f;
}

void
pg_feed_close(struct cl_store_feed *f)
{
	if (f == NULL)
		return;
	PQfinish(f->conn);
	free(f->where);
	free(f);
}

int
pg_feed_last(struct cl_store_feed *f, int64_t *seq, char *err)
{
	PGresult *r;

	if (feed_ensure(f, err) < 0 ||
	    (r = feed_exec(f, "SELECT last_seq FROM cluster", NULL, "last seq", err)) == NULL)
		return -1;
	*seq = PQntuples(r) == 1 ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : 0;
	PQclear(r);
	return 0;
}

int
pg_feed_wait(struct cl_store_feed *f, int timeout_ms, char *err)
{
	struct pollfd pfd;
	PGnotify *n;
	PGresult *r;
	int got = 0;

	if (feed_ensure(f, err) < 0)
		return -1;
	if (!f->listening) {
		if ((r = feed_exec(f, "LISTEN callogd_events", NULL, "listen", err)) == NULL)
			return -1;
		PQclear(r);
		f->listening = 1;
		return 1; /* notifications may have been missed: read now */
	}
	pfd.fd = PQsocket(f->conn);
	pfd.events = POLLIN;
	if (pfd.fd < 0 || poll(&pfd, 1, timeout_ms) < 0)
		return 0;
	if (pfd.revents != 0 && !PQconsumeInput(f->conn)) {
		feed_fail(f, "listen", NULL, err);
		PQfinish(f->conn);
		f->conn = NULL;
		f->listening = f->lock_held = 0;
		return -1;
	}
	while ((n = PQnotifies(f->conn)) != NULL) {
		got = 1;
		PQfreemem(n);
	}
	return got;
}

int
pg_feed_fetch(struct cl_store_feed *f, int64_t after_seq, int max,
              int (*fn)(void *, int64_t, int, const char *, size_t, int64_t), void *arg, char *err)
{
	char p[64];
	const char *params[3];
	PGresult *r;
	int n;

	if (feed_ensure(f, err) < 0)
		return -1;
	snprintf(p, sizeof(p), "%lld", (long long)after_seq);
	params[0] = p;
	params[1] = cl_store_node();
	snprintf(p + 32, 32, "%d", max);
	params[2] = p + 32;
	r = PQexecParams(f->conn,
	                 "SELECT seq, body, received_at, node IS NOT DISTINCT FROM $2 FROM events WHERE seq > $1"
	                 " ORDER BY seq LIMIT $3",
	                 3, NULL, params, NULL, NULL, 0);
	if (r == NULL || PQresultStatus(r) != PGRES_TUPLES_OK) {
		feed_fail(f, "follow", r, err);
		PQclear(r);
		if (PQstatus(f->conn) != CONNECTION_OK) {
			PQfinish(f->conn);
			f->conn = NULL;
			f->listening = f->lock_held = 0;
		}
		return -1;
	}
	n = PQntuples(r);
	for (int i = 0; i < n; i++) {
		int64_t seq = strtoll(PQgetvalue(r, i, 0), NULL, 10);
		int own = PQgetvalue(r, i, 3)[0] == 't';
		if (fn(arg, seq, own, PQgetvalue(r, i, 1), (size_t)PQgetlength(r, i, 1),
		       strtoll(PQgetvalue(r, i, 2), NULL, 10)) != 0)
			break;
	}
	PQclear(r);
	return n;
}

int
pg_feed_lead(struct cl_store_feed *f, char *err)
{
	PGresult *r;
	int held;

	if (feed_ensure(f, err) < 0)
		return -1;
	/* Held: the session answering is what keeps it (a lost session has already dropped it). */
	r = feed_exec(f, f->lock_held ? "SELECT true" : "SELECT pg_try_advisory_lock(" LEADER_KEY ")", NULL, "leader",
	              err);
	if (r == NULL)
		return -1;
	held = PQntuples(r) == 1 && PQgetvalue(r, 0, 0)[0] == 't';
	PQclear(r);
	f->lock_held = held;
	return held;
}
