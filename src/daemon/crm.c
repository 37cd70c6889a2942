/* crm.c : owns the CRM lookup requests on the loop: coalescing by number,
 * the slot cap and its waiters, the cache and the circuit breaker. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callogd/crm.h"
#include "callogd/crmmap.h"
#include "callogd/hmap.h"
#include "callogd/httpc.h"
#include "callogd/log.h"
#include "callogd/numbers.h"

#define HEADERS_MAX 33 /* crm.header_file's lines, and the NULL */

struct waiter {
	char call_id[CL_ID_MAX + 1];
	uint64_t id;
};

/* One number asked (or waiting to be), and every lookup waiting for its answer. */
struct query {
	struct cl_crm *c;
	char number[CL_NUMBER_LEN];
	int64_t start_by_us;
	struct waiter *w;
	size_t nw, capw;
	struct query *next; /* c->waiting */
	int started;
	uint64_t gen; /* the settings it was asked with */
};

struct entry {
	char number[CL_NUMBER_LEN];
	json_t *contacts;
	int64_t expires_us;
	struct entry *next; /* insertion order: with one TTL, also expiry order */
};

struct cl_crm {
	struct event_base *base;
	struct cl_metrics *m;
	cl_crm_done_fn done;
	void *arg;
	struct cl_httpc *http;
	struct event *timer; /* the first waiter's start_by */

	/* settings */
	char *url, *list, *fields[CL_CRM__FIELDS], *headers_text;
	char *headers_buf; /* headers_text cut into the strings of headers[] */
	const char *headers[HEADERS_MAX];
	char cc[8];
	int timeout_ms, cache_seconds, max_concurrent;
	size_t max_body;
	uint64_t gen;

	struct cl_hmap *queries; /* number -> struct query, waiting or in flight */
	struct query *waiting, *waiting_tail;
	size_t nwaiting;
	int inflight;

	struct cl_hmap *cache; /* number -> struct entry */
	struct entry *oldest, *newest;

	int failures; /* in a row */
	int64_t open_until_us;
};

struct cl_crm *
cl_crm_new(struct event_base *base, struct cl_metrics *m, cl_crm_done_fn done, void *arg, char *err)
{
	struct cl_crm *c = calloc(1, sizeof(*c));

	if (c == NULL || (c->queries = cl_hmap_new()) == NULL || (c->cache = cl_hmap_new()) == NULL ||
	    (c->url = strdup("")) == NULL) {
		snprintf(err, CL_ERR_LEN, "out of memory");
		cl_crm_free(c);
		return NULL;
	}
	c->base = base;
	c->m = m;
	c->done = done;
	c->arg = arg;
	return c;
}

static void
cache_clear(struct cl_crm *c)
{
	while (c->oldest) {
		struct entry *e = c->oldest;
		c->oldest = e->next;
		cl_hmap_del(c->cache, e->number);
		json_decref(e->contacts);
		free(e);
	}
	c->newest = NULL;
}

/* Drops expired entries from the old end, and one more when full; then adds contacts for number. */
static void
cache_put(struct cl_crm *c, const char *number, json_t *contacts)
{
	int64_t now = cl_mono_us();
	struct entry *e;

	if (c->cache_seconds == 0 || cl_hmap_get(c->cache, number) != NULL)
		return;
	while ((e = c->oldest) != NULL && (e->expires_us <= now || cl_hmap_count(c->cache) >= CL_CRM_CACHE_MAX)) {
		c->oldest = e->next;
		if (c->oldest == NULL)
			c->newest = NULL;
		cl_hmap_del(c->cache, e->number);
		json_decref(e->contacts);
		free(e);
	}
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return;
	snprintf(e->number, sizeof(e->number), "%s", number);
	e->contacts = json_incref(contacts);
	e->expires_us = now + (int64_t)c->cache_seconds * 1000000;
	if (cl_hmap_put(c->cache, number, e) < 0) {
		json_decref(e->contacts);
		free(e);
		return;
	}
	if (c->newest)
		c->newest->next = e;
	else
		c->oldest = e;
	c->newest = e;
}

/* The cached contacts of number, when still fresh (an expired entry stays until it is the oldest). */
static json_t *
cache_get(struct cl_crm *c, const char *number)
{
	struct entry *e = cl_hmap_get(c->cache, number);

	return e != NULL && e->expires_us > cl_mono_us() ? e->contacts : NULL;
}

static void
query_free(struct query *q)
{
	free(q->w);
	free(q);
}

/* Ends q (off every list): each waiter gets contacts (NULL: without). */
static void
query_end(struct cl_crm *c, struct query *q, json_t *contacts)
{
	cl_hmap_del(c->queries, q->number);
	for (size_t i = 0; i < q->nw; i++)
		c->done(c->arg, q->w[i].call_id, q->w[i].id, contacts ? json_incref(contacts) : NULL);
	query_free(q);
}

static void pump(struct cl_crm *c);

static void
failed(struct cl_crm *c, enum cl_crm_result r, const char *number, const char *why)
{
	c->m->crm_requests[r]++;
	log_debug("msg=\"CRM lookup failed\" number=\"%s\" error=\"%s\"", number, why);
	if (++c->failures < CL_CRM_BREAKER_FAILURES)
		return;
	/* Open: nobody is asked for a while; then one more failure opens it again. */
	c->failures = CL_CRM_BREAKER_FAILURES - 1;
	c->open_until_us = cl_mono_us() + (int64_t)CL_CRM_BREAKER_SECONDS * 1000000;
	c->m->crm_breaker_opens++;
	log_warnx("msg=\"CRM breaker open: lookups go local-only\" seconds=%d last_error=\"%s\"",
	          CL_CRM_BREAKER_SECONDS, why);
}

static void
on_answer(const struct cl_httpc_resp *resp, void *arg)
{
	struct query *q = arg;
	struct cl_crm *c = q->c;
	struct cl_crm_map map;
	char err[CL_ERR_LEN];
	json_t *contacts = NULL;

	if (resp->result == CL_HTTPC_CANCELLED) { /* the client is going away */
		query_free(q);
		return;
	}
	c->inflight--;
	cl_hist_observe(&c->m->crm_latency, resp->total_ms / 1000.0);
	if (resp->result == CL_HTTPC_OK && resp->status == 404) {
		contacts = json_pack("{s:[], s:i}", "contacts", "matches", 0);
	} else if (resp->result == CL_HTTPC_OK && resp->status >= 200 && resp->status < 300) {
		map.list = c->list;
		for (int f = 0; f < CL_CRM__FIELDS; f++)
			map.fields[f] = c->fields[f];
		if ((contacts = cl_crm_contacts(&map, resp->body, resp->body_len, q->number, err)) == NULL)
			failed(c, CL_CRM_BAD_BODY, q->number, err);
	} else if (resp->result == CL_HTTPC_OK) {
		snprintf(err, sizeof(err), "status %ld", resp->status);
		failed(c, CL_CRM_STATUS, q->number, err);
	} else {
		enum cl_crm_result r = resp->result == CL_HTTPC_TIMEOUT     ? CL_CRM_TIMEOUT
		                       : resp->result == CL_HTTPC_CONNECT   ? CL_CRM_CONNECT
		                       : resp->result == CL_HTTPC_TOO_LARGE ? CL_CRM_TOO_LARGE
		                                                            : CL_CRM_ERROR;
		failed(c, r, q->number, resp->err);
	}
	if (contacts != NULL) {
		c->failures = 0;
		c->m->crm_requests[json_integer_value(json_object_get(contacts, "matches")) > 0 ? CL_CRM_HIT
		                                                                                : CL_CRM_MISS]++;
		if (q->gen == c->gen) /* not asked with settings a reload replaced */
			cache_put(c, q->number, contacts);
	}
	query_end(c, q, contacts);
	json_decref(contacts);
	pump(c);
}

/* Starts q's request; -1 when it could not be made. */
static int
start(struct cl_crm *c, struct query *q)
{
	char err[CL_ERR_LEN], *url = cl_crm_url(c->url, q->number, c->cc, err);
	struct cl_httpc_req req = {
	    .method = "GET",
	    .url = url,
	    .headers = c->headers,
	    .timeout_ms = c->timeout_ms,
	    .max_body = c->max_body,
	};
	int rc = url != NULL ? cl_httpc_request(c->http, &req, on_answer, q, err) : -1;

	free(url);
	if (rc < 0) {
		failed(c, CL_CRM_ERROR, q->number, err);
		return -1;
	}
	q->started = 1;
	q->gen = c->gen;
	c->inflight++;
	return 0;
}

static void
arm_timer(struct cl_crm *c)
{
	int64_t us;
	struct timeval tv;

	if (c->waiting == NULL) {
		evtimer_del(c->timer);
		return;
	}
	us = c->waiting->start_by_us - cl_mono_us();
	if (us < 0)
		us = 0;
	tv.tv_sec = (time_t)(us / 1000000);
	tv.tv_usec = (suseconds_t)(us % 1000000);
	evtimer_add(c->timer, &tv);
}

/* Starts waiting queries while slots are free; those past their start_by go without. */
static void
pump(struct cl_crm *c)
{
	int64_t now = cl_mono_us();
	struct query *q;

	while ((q = c->waiting) != NULL && (c->inflight < c->max_concurrent || q->start_by_us <= now)) {
		c->waiting = q->next;
		if (c->waiting == NULL)
			c->waiting_tail = NULL;
		c->nwaiting--;
		if (q->start_by_us <= now || c->url[0] == '\0') {
			c->m->crm_not_started += q->nw;
			query_end(c, q, NULL);
		} else if (start(c, q) < 0) {
			query_end(c, q, NULL);
		}
	}
	arm_timer(c);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	pump(arg);
}

static int
add_waiter(struct query *q, const char *call_id, uint64_t id)
{
	if (q->nw == q->capw) {
		size_t cap = q->capw ? q->capw * 2 : 2;
		struct waiter *w = cap <= CL_CRM_WAITING_MAX ? realloc(q->w, cap * sizeof(*w)) : NULL;
		if (w == NULL)
			return -1;
		q->w = w;
		q->capw = cap;
	}
	snprintf(q->w[q->nw].call_id, sizeof(q->w[0].call_id), "%s", call_id);
	q->w[q->nw++].id = id;
	return 0;
}

int
cl_crm_lookup(struct cl_crm *c, const char *number, const char *call_id, uint64_t id, int64_t start_by_us,
              json_t **cached)
{
	struct query *q;
	json_t *hit;

	if (c == NULL || c->url[0] == '\0' || c->http == NULL || strlen(number) >= CL_NUMBER_LEN)
		return -1;
	if ((hit = cache_get(c, number)) != NULL) {
		c->m->crm_cache_hits++;
		*cached = json_incref(hit);
		return 1;
	}
	if ((q = cl_hmap_get(c->queries, number)) != NULL) /* asked already: share the answer */
		return add_waiter(q, call_id, id) == 0 ? 0 : -1;
	if (cl_crm_breaker_open(c) || (c->inflight >= c->max_concurrent && c->nwaiting >= CL_CRM_WAITING_MAX)) {
		c->m->crm_skipped++;
		return -1;
	}
	if ((q = calloc(1, sizeof(*q))) == NULL || add_waiter(q, call_id, id) < 0)
		goto fail;
	q->c = c;
	q->start_by_us = start_by_us;
	snprintf(q->number, sizeof(q->number), "%s", number);
	if (c->inflight < c->max_concurrent && c->waiting == NULL) {
		if (start(c, q) < 0)
			goto fail;
	} else {
		if (c->waiting_tail)
			c->waiting_tail->next = q;
		else
			c->waiting = q;
		c->waiting_tail = q;
		c->nwaiting++;
		if (c->waiting == q)
			arm_timer(c);
	}
	if (cl_hmap_put(c->queries, number, q) < 0)
		log_warnx("msg=\"CRM lookup not shared: out of memory\" number=\"%s\"", number);
	return 0;
fail:
	if (q != NULL)
		query_free(q);
	return -1;
}

int
cl_crm_enabled(const struct cl_crm *c)
{
	return c != NULL && c->url[0] != '\0' && c->http != NULL;
}

int
cl_crm_breaker_open(const struct cl_crm *c)
{
	return c->open_until_us > cl_mono_us();
}

/* 1 when a and b differ ("" and NULL alike). */
static int
differs(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") != 0;
}

/* Replaces *dst with a copy of src; 1 when the text changed, -1 on out of memory. */
static int
set_text(char **dst, const char *src)
{
	int changed = differs(*dst, src);
	char *copy = strdup(src);

	if (copy == NULL)
		return -1;
	free(*dst);
	*dst = copy;
	return changed;
}

int
cl_crm_configure(struct cl_crm *c, const struct cl_config *cfg, char *err)
{
	int changed = 0, n = 0;

	if (cfg->crm_lookup_url[0] && c->http == NULL && (c->http = cl_httpc_new(c->base, 1024, err)) == NULL)
		return -1;
	if (c->timer == NULL && (c->timer = evtimer_new(c->base, on_timer, c)) == NULL) {
		snprintf(err, CL_ERR_LEN, "out of memory");
		return -1;
	}
	for (int f = 0; f < CL_CRM__FIELDS; f++)
		changed |= set_text(&c->fields[f], cfg->crm_fields[f]) != 0;
	changed |= set_text(&c->url, cfg->crm_lookup_url) != 0;
	changed |= set_text(&c->list, cfg->crm_list) != 0;
	changed |= set_text(&c->headers_text, cfg->crm_headers) != 0;
	changed |= strcmp(c->cc, cfg->country_code) != 0;
	snprintf(c->cc, sizeof(c->cc), "%s", cfg->country_code);
	/* The header lines, each "Name: value\n", cut into strings. */
	free(c->headers_buf);
	if ((c->headers_buf = strdup(c->headers_text ? c->headers_text : "")) == NULL) {
		snprintf(err, CL_ERR_LEN, "out of memory");
		return -1;
	}
	for (char *l = c->headers_buf; l && *l && n < HEADERS_MAX - 1;) {
		char *nl = strchr(l, '\n');
		if (nl)
			*nl = '\0';
		c->headers[n++] = l;
		l = nl ? nl + 1 : l + strlen(l);
	}
	c->headers[n] = NULL;
	c->timeout_ms = cfg->crm_timeout_ms;
	c->cache_seconds = cfg->crm_cache_seconds;
	c->max_concurrent = cfg->crm_max_concurrent;
	c->max_body = (size_t)cfg->crm_max_body;
	if (changed) {
		cache_clear(c);
		c->gen++;
		c->failures = 0;
		c->open_until_us = 0;
	}
	pump(c); /* a higher max_concurrent starts waiters now */
	return 0;
}

void
cl_crm_free(struct cl_crm *c)
{
	if (c == NULL)
		return;
	cl_httpc_free(c->http); /* in-flight queries are freed by their CANCELLED answers */
	while (c->waiting) {
		struct query *q = c->waiting;
		c->waiting = q->next;
		query_free(q);
	}
	cl_hmap_free(c->queries); /* every query was in flight or waiting: freed above */
	if (c->cache)
		cache_clear(c);
	cl_hmap_free(c->cache);
	if (c->timer)
		event_free(c->timer);
	for (int f = 0; f < CL_CRM__FIELDS; f++)
		free(c->fields[f]);
	free(c->url);
	free(c->list);
	free(c->headers_text);
	free(c->headers_buf);
	free(c);
}
