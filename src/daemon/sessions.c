/* sessions.c : owns the console page's login sessions (signed cookies, logouts
 * remembered until the sessions expire) and the end of consoles and streams
 * whose agent was removed or given a new token (see sessions.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "callogd/daemon.h"
#include "callogd/hmap.h"
#include "callogd/log.h"
#include "callogd/pops.h"
#include "callogd/sessions.h"
#include "callogd/subs.h"
#include "callogd/util.h"
#include "callogd/workers.h"
#include "callogd/writer.h"

#define ENDED_AGENTS_MAX 100000 /* agents whose every session so far was ended at once */
#define WATCH_MS 1000           /* how often connected agents' generations are checked */
#define WATCH_MAX 100000        /* agent and generation pairs checked per round */

struct cl_sessions {
	struct cl_server *srv;
	unsigned char key[32];   /* signs session cookies (kept in the database) */
	struct cl_hmap *revoked; /* MACs of logged-out sessions -> int64_t expiry */
	struct cl_hmap *ended;   /* "A" + the agent's hash -> int64_t: its sessions expiring by then ended */
	long long last_expires;  /* of the newest session: each gets its own, so its own MAC */
	struct event *watch;
	struct watch_job *running; /* a generation check on a worker, NULL when none */
};

static void
hex_encode(const unsigned char *in, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", in[i]);
	out[2 * n] = '\0';
}

/* The MAC of a session for agent with generation gen until expires_ms, as hex (CL_SHA256_HEX bytes). */
static void
session_mac(struct cl_sessions *s, const char *agent, long long expires_ms, const char *gen, char *out)
{
	unsigned char mac[CL_SHA256_LEN];
	char msg[CL_ID_MAX + CL_AGENT_GEN_LEN + 64];
	int n = snprintf(msg, sizeof(msg), "callogd-session|%s|%lld|%s", agent, expires_ms, gen);

	cl_hmac_sha256(s->key, sizeof(s->key), msg, (size_t)n, mac);
	hex_encode(mac, sizeof(mac), out);
}

/* The key an agent-wide end is kept under: "A" and 63 hex digits of the agent's hash (a MAC's length). */
static void
ended_key(const char *agent, char *out)
{
	char h[CL_SHA256_HEX];

	cl_sha256_hex(agent, strlen(agent), h);
	out[0] = 'A';
	memcpy(out + 1, h, CL_SHA256_HEX - 2);
	out[CL_SHA256_HEX - 1] = '\0';
}

/* Remembers key (a MAC, or an agent-wide end) until until_ms; -1 when the map is full. */
static int
remember(struct cl_hmap *m, size_t max, const char *key, int64_t until_ms)
{
	int64_t *until = cl_hmap_get(m, key);

	if (until != NULL) {
		if (until_ms > *until)
			*until = until_ms;
		return 0;
	}
	if (cl_hmap_count(m) >= max || (until = malloc(sizeof(*until))) == NULL)
		return -1;
	*until = until_ms;
	if (cl_hmap_put(m, key, until) < 0) {
		free(until);
		return -1;
	}
	return 0;
}

/* A logout read back from the database. */
static void
load_revoked(void *arg, const char *key, int64_t until_ms)
{
	struct cl_sessions *s = arg;

	if (strlen(key) != CL_SHA256_HEX - 1)
		return;
	if (key[0] == 'A')
		remember(s->ended, ENDED_AGENTS_MAX, key, until_ms);
	else if (remember(s->revoked, CL_SESSIONS_REVOKED_MAX, key, until_ms) < 0)
		log_error("msg=\"stored logouts past the bound: some are not in force\" max=%d",
		          CL_SESSIONS_REVOKED_MAX);
}

void
cl_sessions_issue(struct cl_sessions *s, const char *agent, const char *gen, char *out)
{
	char hexagent[2 * CL_ID_MAX + 1], mac[CL_SHA256_HEX];
	long long expires = cl_now_ms() + CL_SESSION_TTL_MS;

	hex_encode((const unsigned char *)agent, strlen(agent), hexagent);
	/* Two logins in one millisecond must not share a cookie: a logout would end both. */
	if (expires <= s->last_expires)
		expires = s->last_expires + 1;
	s->last_expires = expires;
	session_mac(s, agent, expires, gen, mac);
	snprintf(out, CL_SESSION_COOKIE_MAX + 1, "%s.%lld.%s.%s", hexagent, expires, gen, mac);
}

int
cl_sessions_check(struct cl_sessions *s, const char *value, char *agent_out, char *gen_out, char *mac_out)
{
	char v[CL_SESSION_COOKIE_MAX + 1], agent[CL_ID_MAX + 1], mac[CL_SHA256_HEX], key[CL_SHA256_HEX];
	char *dot1, *dot2, *dot3, *end;
	size_t alen;
	long long expires;
	int64_t *until;

	if (strlen(value) >= sizeof(v))
		return -1;
	snprintf(v, sizeof(v), "%s", value);
	if ((dot1 = strchr(v, '.')) == NULL || (dot2 = strchr(dot1 + 1, '.')) == NULL ||
	    (dot3 = strchr(dot2 + 1, '.')) == NULL)
		return -1;
	alen = (size_t)(dot1 - v);
	if (alen == 0 || alen % 2 || alen / 2 > CL_ID_MAX || dot3 - dot2 - 1 != CL_AGENT_GEN_LEN - 1 ||
	    strlen(dot3 + 1) != CL_SHA256_HEX - 1)
		return -1;
	for (size_t i = 0; i < alen / 2; i++) {
		unsigned int byte;
		if (sscanf(v + 2 * i, "%2x", &byte) != 1 || byte == 0)
			return -1;
		agent[i] = (char)byte;
	}
	agent[alen / 2] = '\0';
	*dot2 = *dot3 = '\0';
	expires = strtoll(dot1 + 1, &end, 10);
	if (*end != '\0' || expires < cl_now_ms())
		return -1;
	session_mac(s, agent, expires, dot2 + 1, mac);
	if (!cl_ct_equal(mac, dot3 + 1, CL_SHA256_HEX - 1) || cl_hmap_get(s->revoked, mac) != NULL)
		return -1;
	ended_key(agent, key);
	if ((until = cl_hmap_get(s->ended, key)) != NULL && expires <= *until)
		return -1;
	if (agent_out)
		snprintf(agent_out, CL_ID_MAX + 1, "%s", agent);
	if (gen_out)
		snprintf(gen_out, CL_AGENT_GEN_LEN, "%s", dot2 + 1);
	if (mac_out)
		memcpy(mac_out, mac, CL_SHA256_HEX);
	return 0;
}

int
cl_sessions_end(struct cl_sessions *s, const char *agent, const char *mac)
{
	int64_t until = cl_now_ms() + CL_SESSION_TTL_MS;
	char key[CL_SHA256_HEX];
	const char *stored = mac;

	if (remember(s->revoked, CL_SESSIONS_REVOKED_MAX, mac, until) < 0) {
		/* Too many logouts to remember one by one: end every session of this agent made so far. */
		ended_key(agent, key);
		until = s->last_expires;
		if (remember(s->ended, ENDED_AGENTS_MAX, key, until) < 0) {
			log_error("msg=\"logout refused: too many logouts remembered\" agent=\"%s\"", agent);
			return -1;
		}
		log_warnx("msg=\"logouts past the bound: every session of the agent ended\" agent=\"%s\" max=%d", agent,
		          CL_SESSIONS_REVOKED_MAX);
		stored = key;
	}
	if (cl_writer_revoke(s->srv->writer, stored, until) < 0) {
		log_error(
		    "msg=\"logout not stored: the writer's queue is full; it lasts until a restart\" agent=\"%s\"",
		    agent);
		return -1;
	}
	return 0;
}

static void
forget_expired(struct cl_hmap *m, int64_t now_ms)
{
	struct cl_hmap_entry *it, *next;

	for (it = cl_hmap_next(m, NULL); it; it = next) {
		int64_t *until = it->val;
		next = cl_hmap_next(m, it);
		if (*until < now_ms) {
			cl_hmap_del(m, it->key);
			free(until);
		}
	}
}

void
cl_sessions_expire(struct cl_sessions *s, int64_t now_ms)
{
	forget_expired(s->revoked, now_ms);
	forget_expired(s->ended, now_ms);
}

/* ---- consoles and streams of removed agents or old tokens ---- */

struct watch_pair {
	char agent[CL_ID_MAX + 1];
	char gen[CL_AGENT_GEN_LEN];
	int stale; /* output: the agent is gone or has another generation */
};

struct watch_job {
	struct cl_job job;
	struct cl_sessions *s; /* NULL once the sessions are freed */
	struct watch_pair *v;
	size_t n, cap;
};

static void
watch_collect(void *arg, const char *agent, const char *gen)
{
	struct watch_job *w = arg;

	if (w->n == w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 64;
		struct watch_pair *v = cap <= WATCH_MAX ? realloc(w->v, cap * sizeof(*v)) : NULL;
		if (v == NULL)
			return; /* the rest next round */
		w->v = v;
		w->cap = cap;
	}
	snprintf(w->v[w->n].agent, sizeof(w->v[w->n].agent), "%s", agent);
	snprintf(w->v[w->n].gen, sizeof(w->v[w->n].gen), "%s", gen);
	w->v[w->n++].stale = 0;
}

static void
watch_run(struct cl_job *job, struct cl_worker_ctx *ctx)
{
	struct watch_job *w = (struct watch_job *)job;
	char gen[CL_AGENT_GEN_LEN];

	for (size_t i = 0; i < w->n; i++) {
		int rc = cl_store_agent_gen(ctx->st, w->v[i].agent, gen);
		w->v[i].stale = rc == 0 || (rc == 1 && strcmp(gen, w->v[i].gen) != 0);
	}
}

static void
watch_done(struct cl_job *job, int status)
{
	struct watch_job *w = (struct watch_job *)job;
	struct cl_sessions *s = w->s;

	if (s != NULL) {
		s->running = NULL;
		for (size_t i = 0; status == CL_JOB_RAN && i < w->n; i++) {
			int n;
			if (!w->v[i].stale)
				continue;
			n = cl_subs_end(cl_pops_subs(s->srv->pops), w->v[i].agent, w->v[i].gen);
			if (n > 0)
				log_info("msg=\"agent removed or given a new token: its consoles and streams closed\" "
				         "agent=\"%s\" closed=%d",
				         w->v[i].agent, n);
		}
	}
	free(w->v);
	free(w);
}

static void
on_watch(evutil_socket_t fd, short what, void *arg)
{
	struct cl_sessions *s = arg;
	struct watch_job *w;
	char err[CL_ERR_LEN];

	(void)fd;
	(void)what;
	if (s->running != NULL || s->srv->pops == NULL || s->srv->workers == NULL ||
	    (w = calloc(1, sizeof(*w))) == NULL)
		return;
	cl_subs_gens(cl_pops_subs(s->srv->pops), watch_collect, w);
	if (w->n == 0) {
		free(w->v);
		free(w);
		return;
	}
	w->s = s;
	w->job.run = watch_run;
	w->job.done = watch_done;
	if (cl_workers_submit(s->srv->workers, &w->job, CL_JOB_LOW, err) < 0) {
		free(w->v);
		free(w);
		return; /* busy: next round */
	}
	s->running = w;
}

struct cl_sessions *
cl_sessions_new(struct cl_server *srv, char *err)
{
	struct cl_sessions *s = calloc(1, sizeof(*s));
	struct timeval tv = {WATCH_MS / 1000, (WATCH_MS % 1000) * 1000};

	if (s == NULL || (s->revoked = cl_hmap_new()) == NULL || (s->ended = cl_hmap_new()) == NULL ||
	    (s->watch = event_new(srv->base, -1, EV_PERSIST, on_watch, s)) == NULL || event_add(s->watch, &tv) < 0) {
		snprintf(err, CL_ERR_LEN, "out of memory");
		goto fail;
	}
	s->srv = srv;
	if (cl_store_secret(srv->reader, "session_key", s->key, sizeof(s->key), err) < 0 ||
	    cl_store_revoked_sessions(srv->reader, cl_now_ms(), load_revoked, s, err) < 0)
		goto fail;
	return s;
fail:
	cl_sessions_free(s);
	return NULL;
}

static void
free_map(struct cl_hmap *m)
{
	struct cl_hmap_entry *it;

	if (m == NULL)
		return;
	for (it = cl_hmap_next(m, NULL); it; it = cl_hmap_next(m, it))
		free(it->val);
	cl_hmap_free(m);
}

void
cl_sessions_free(struct cl_sessions *s)
{
	if (s == NULL)
		return;
	if (s->running)
		s->running->s = NULL; /* its done() still comes, and frees it */
	if (s->watch)
		event_free(s->watch);
	free_map(s->revoked);
	free_map(s->ended);
	free(s);
}
