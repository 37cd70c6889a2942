/* outbox.c : owns webhook delivery: the outbox thread (picks due deliveries,
 * records tries, its own connection) and the loop side (signs, POSTs, sorts
 * the answers into delivered, retried and given up). */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "callogd/daemon.h"
#include "callogd/hmap.h"
#include "callogd/httpc.h"
#include "callogd/log.h"
#include "callogd/outbox.h"
#include "callogd/sha256.h"
#include "callogd/store.h"

#define ANSWER_MAX 65536 /* bytes of a receiver's answer read */
#define LAST_ERROR_MAX 200

/* One try of one delivery, from the thread to the loop and back. */
struct delivery {
	struct delivery *next;
	struct cl_outbox *o;
	int64_t id, expires_ms;
	int attempts; /* tries before this one */
	char delivery_id[96];
	char hook[CL_PBX_NAME_MAX + 1];
	char *body;
	size_t body_len;
	/* the result */
	int state, status;
	int64_t due_ms;
	char error[LAST_ERROR_MAX + 1];
};

struct cl_outbox {
	struct cl_server *srv;
	struct cl_store *st; /* the thread's */
	struct cl_httpc *http;
	pthread_t thread;
	pthread_mutex_t mtx;
	pthread_cond_t cond;
	int stop, kicked, started, up;
	struct delivery *results; /* tries done, to record (loop -> thread) */
	struct delivery *ready;   /* deliveries to try (thread -> loop) */
	int wake_fd;
	struct event *wake_ev;
	atomic_uint_least64_t open;
	char names[CL_WEBHOOKS_MAX][CL_PBX_NAME_MAX + 1]; /* the webhooks to look for (under mtx) */
	int nnames;
	struct cl_hmap *inflight; /* the thread's: "id" -> hook name (a copy), from pick to record */
};

int64_t
cl_outbox_backoff_ms(int attempts, double rnd)
{
	int64_t ms = 1000;

	for (int i = 0; i < attempts && ms < CL_OUTBOX_BACKOFF_MAX_MS; i++)
		ms *= 2;
	if (ms > CL_OUTBOX_BACKOFF_MAX_MS)
		ms = CL_OUTBOX_BACKOFF_MAX_MS;
	return ms / 2 + (int64_t)((double)(ms / 2) * rnd);
}

static void
delivery_free(struct delivery *d)
{
	if (d != NULL)
		free(d->body);
	free(d);
}

/* ---- the thread ---- */

struct pick {
	struct cl_outbox *o;
	struct delivery *got, **tail;
	int n;
};

/* The body as the receiver gets it (docs/crm.md); the same bytes on every try. */
static char *
compose(const struct cl_outbox_row *r, size_t *len)
{
	char created[32], *out;
	int n;

	cl_time_format(r->created_ms, created);
	n = asprintf(&out, "{\"id\":\"%s\",\"type\":\"%s\",\"revision\":%d,\"created_at\":\"%s\",\"call\":%s}",
	             r->body_id, r->type, r->revision, created, r->call);
	if (n < 0)
		return NULL;
	*len = (size_t)n;
	return out;
}

static int
on_row(void *arg, const struct cl_outbox_row *r)
{
	struct pick *pk = arg;
	struct delivery *d;
	char key[32];

	snprintf(key, sizeof(key), "%lld", (long long)r->id);
	if (cl_hmap_get(pk->o->inflight, key) != NULL) /* being tried: its answer is not recorded yet */
		return 0;
	if ((d = calloc(1, sizeof(*d))) == NULL || (d->body = compose(r, &d->body_len)) == NULL) {
		free(d);
		return 0;
	}
	d->o = pk->o;
	d->id = r->id;
	d->expires_ms = r->expires_ms;
	d->attempts = r->attempts;
	snprintf(d->delivery_id, sizeof(d->delivery_id), "%s", r->delivery_id);
	snprintf(d->hook, sizeof(d->hook), "%s", r->hook);
	if (cl_hmap_put(pk->o->inflight, key, strdup(r->hook)) < 0) {
		delivery_free(d);
		return 0;
	}
	*pk->tail = d;
	pk->tail = &d->next;
	pk->n++;
	return 0;
}

/* How many of hook's deliveries are in flight. */
static int
in_flight(struct cl_outbox *o, const char *hook)
{
	int n = 0;

	for (struct cl_hmap_entry *e = cl_hmap_next(o->inflight, NULL); e; e = cl_hmap_next(o->inflight, e))
		n += strcmp(e->val, hook) == 0;
	return n;
}

/* Frees a list of deliveries, dropping each from the in-flight set. */
static void
forget(struct cl_outbox *o, struct delivery *list)
{
	char key[32];

	while (list) {
		struct delivery *d = list;
		list = d->next;
		snprintf(key, sizeof(key), "%lld", (long long)d->id);
		free(cl_hmap_del(o->inflight, key));
		delivery_free(d);
	}
}

/*
 * One pass, one transaction (one fsync): records the tries in results, then
 * picks each webhook's due deliveries and hands them to the loop. When the
 * transaction fails, the tries are made again later (same Callogd-Id).
 */
static void
cycle(struct cl_outbox *o, struct delivery *results, char (*hooks)[CL_PBX_NAME_MAX + 1], int nhooks)
{
	struct pick pk = {.o = o, .got = NULL, .tail = &pk.got};
	char err[CL_ERR_LEN];
	int64_t open = 0, now = cl_now_ms();
	int ok;

	if (results == NULL && nhooks == 0) /* no webhooks: nothing to look for */
		return;
	ok = cl_store_begin(o->st, err) == 0;
	for (struct delivery *d = results; ok && d; d = d->next)
		ok = cl_store_outbox_result(o->st, d->id, d->state, d->due_ms, d->status, d->error, now, err) == 0;
	forget(o, results);
	for (int i = 0; ok && i < nhooks; i++) {
		int room = CL_OUTBOX_PER_HOOK - in_flight(o, hooks[i]);
		if (room > 0)
			ok = cl_store_outbox_due(o->st, hooks[i], now, room, on_row, &pk, &open, err) >= 0;
	}
	if (ok)
		ok = cl_store_commit(o->st, err) == 0;
	if (!ok) {
		cl_store_rollback(o->st);
		log_error("msg=\"webhook outbox not updated: its deliveries are tried again\" error=\"%s\"", err);
		forget(o, pk.got);
		return;
	}
	if (nhooks > 0)
		atomic_store(&o->open, (uint64_t)open);
	if (pk.got == NULL)
		return;
	pthread_mutex_lock(&o->mtx);
	*pk.tail = o->ready;
	o->ready = pk.got;
	pthread_mutex_unlock(&o->mtx);
	uint64_t one = 1;
	while (write(o->wake_fd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
}

static void *
outbox_main(void *arg)
{
	struct cl_outbox *o = arg;
	char hooks[CL_WEBHOOKS_MAX][CL_PBX_NAME_MAX + 1];

	pthread_setname_np(pthread_self(), "cl-outbox");
	if (setpriority(PRIO_PROCESS, 0, 19) < 0) /* as the writer: its commits yield the CPU to pops */
		log_debug("msg=\"outbox priority unchanged\" error=\"%s\"", strerror(errno));
	pthread_mutex_lock(&o->mtx);
	o->up = 1; /* named and niced: cl_outbox_start() returns */
	pthread_cond_broadcast(&o->cond);
	while (!o->stop) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += CL_OUTBOX_POLL_MS / 1000;
		while (!o->stop && !o->kicked && o->results == NULL &&
		       pthread_cond_timedwait(&o->cond, &o->mtx, &ts) != ETIMEDOUT)
			;
		struct delivery *results = o->results;
		o->results = NULL;
		o->kicked = 0;
		int n = o->nnames;
		memcpy(hooks, o->names, sizeof(hooks));
		int stopping = o->stop;
		pthread_mutex_unlock(&o->mtx);
		cycle(o, results, hooks, stopping ? 0 : n);
		pthread_mutex_lock(&o->mtx);
	}
	struct delivery *results = o->results;
	o->results = NULL;
	pthread_mutex_unlock(&o->mtx);
	if (results)
		cycle(o, results, hooks, 0);
	return NULL;
}

void
cl_outbox_set_hooks(struct cl_outbox *o, const struct cl_webhook_cfg *hooks, int n)
{
	pthread_mutex_lock(&o->mtx);
	o->nnames = 0;
	for (int i = 0; i < n && i < CL_WEBHOOKS_MAX; i++)
		snprintf(o->names[o->nnames++], sizeof(o->names[0]), "%s", hooks[i].name);
	o->kicked = 1;
	pthread_mutex_unlock(&o->mtx);
	pthread_cond_signal(&o->cond);
}

void
cl_outbox_kick(void *outbox)
{
	struct cl_outbox *o = outbox;

	pthread_mutex_lock(&o->mtx);
	o->kicked = 1;
	pthread_mutex_unlock(&o->mtx);
	pthread_cond_signal(&o->cond);
}

uint64_t
cl_outbox_open(void *outbox)
{
	return atomic_load(&((struct cl_outbox *)outbox)->open);
}

/* ---- the loop ---- */

static void
give_back(struct delivery *d)
{
	struct cl_outbox *o = d->o;

	pthread_mutex_lock(&o->mtx);
	d->next = o->results;
	o->results = d;
	pthread_mutex_unlock(&o->mtx);
	pthread_cond_signal(&o->cond);
}

static const struct cl_webhook_cfg *
find_hook(struct cl_server *srv, const char *name)
{
	for (int i = 0; i < srv->cfg.n_webhooks; i++)
		if (strcmp(srv->cfg.webhooks[i].name, name) == 0)
			return &srv->cfg.webhooks[i];
	return NULL;
}

/* Sets d's result: tried again after a backoff, or given up once past its 24 hours. */
static void
retry_later(struct delivery *d, int64_t now)
{
	int64_t wait = cl_outbox_backoff_ms(d->attempts, (double)random() / (double)RAND_MAX);

	d->due_ms = now + wait;
	d->state = CL_OUTBOX_PENDING;
	if (d->due_ms > d->expires_ms) {
		d->state = CL_OUTBOX_FAILED;
		snprintf(d->error + strlen(d->error), sizeof(d->error) - strlen(d->error), " (gave up after 24 h)");
	}
}

static void
on_answer(const struct cl_httpc_resp *r, void *arg)
{
	struct delivery *d = arg;
	struct cl_metrics *m = &d->o->srv->m;
	int64_t now = cl_now_ms();

	if (r->result == CL_HTTPC_CANCELLED) { /* stopping: it stays pending in the outbox */
		delivery_free(d);
		return;
	}
	d->status = r->result == CL_HTTPC_OK ? (int)r->status : 0;
	if (r->result == CL_HTTPC_OK) { /* the status and the answer's start, printable */
		int w = snprintf(d->error, sizeof(d->error), "%ld ", r->status);
		for (size_t i = 0; i < r->body_len && i < 120 && w + 1 < (int)sizeof(d->error); i++)
			d->error[w++] = (unsigned char)r->body[i] >= 0x20 && r->body[i] != 0x7f ? r->body[i] : '.';
		d->error[w] = '\0';
	} else {
		snprintf(d->error, sizeof(d->error), "%.200s", r->err);
	}
	if (r->result == CL_HTTPC_OK && r->status >= 200 && r->status < 300) {
		d->state = CL_OUTBOX_DELIVERED;
		d->due_ms = now;
		m->hook_deliveries[CL_HOOK_DELIVERED]++;
	} else if (r->result != CL_HTTPC_OK || r->status == 408 || r->status == 429 || r->status >= 500) {
		retry_later(d, now);
		m->hook_deliveries[d->state == CL_OUTBOX_FAILED ? CL_HOOK_GAVE_UP : CL_HOOK_RETRIED]++;
	} else {
		d->state = CL_OUTBOX_FAILED;
		d->due_ms = now;
		m->hook_deliveries[CL_HOOK_GAVE_UP]++;
	}
	if (d->state != CL_OUTBOX_DELIVERED)
		log_warnx("msg=\"webhook not delivered\" hook=\"%s\" id=\"%s\" answer=\"%s\" %s", d->hook,
		          d->delivery_id, d->error, d->state == CL_OUTBOX_FAILED ? "given_up=1" : "retry=1");
	give_back(d);
}

/* Signs and POSTs d; its result goes back to the thread either way. */
static void
send_one(struct cl_outbox *o, struct delivery *d)
{
	const struct cl_webhook_cfg *h = find_hook(o->srv, d->hook);
	unsigned char mac[CL_SHA256_LEN];
	char ts[24], sig[32 + 2 * CL_SHA256_LEN], hid[128], hts[64], *msg = NULL, err[CL_ERR_LEN];
	const char *headers[] = {"Content-Type: application/json", hid, hts, sig, NULL};
	struct cl_httpc_req req = {
	    .method = "POST", .headers = headers, .body = d->body, .body_len = d->body_len, .max_body = ANSWER_MAX};
	int n;

	if (h == NULL) { /* taken out of the configuration: kept, looked at again later */
		snprintf(d->error, sizeof(d->error), "webhook \"%s\" is not configured", d->hook);
		d->state = CL_OUTBOX_PENDING;
		d->due_ms = cl_now_ms() + 60000;
		give_back(d);
		return;
	}
	snprintf(ts, sizeof(ts), "%lld", (long long)(cl_now_ms() / 1000));
	n = asprintf(&msg, "%s.%s.", d->delivery_id, ts);
	if (n < 0 || (msg = realloc(msg, (size_t)n + d->body_len)) == NULL) {
		free(msg);
		goto later;
	}
	memcpy(msg + n, d->body, d->body_len);
	if (cl_hmac_sha256(h->secret, strlen(h->secret), msg, (size_t)n + d->body_len, mac) < 0) {
		free(msg);
		goto later;
	}
	free(msg);
	n = snprintf(sig, sizeof(sig), "Callogd-Signature: v1=");
	for (int i = 0; i < CL_SHA256_LEN; i++)
		n += snprintf(sig + n, sizeof(sig) - (size_t)n, "%02x", mac[i]);
	snprintf(hid, sizeof(hid), "Callogd-Id: %s", d->delivery_id);
	snprintf(hts, sizeof(hts), "Callogd-Timestamp: %s", ts);
	req.url = h->url;
	req.timeout_ms = h->timeout_ms;
	if (cl_httpc_request(o->http, &req, on_answer, d, err) == 0)
		return;
	snprintf(d->error, sizeof(d->error), "%.200s", err);
later:
	if (d->error[0] == '\0')
		snprintf(d->error, sizeof(d->error), "out of memory");
	retry_later(d, cl_now_ms());
	give_back(d);
}

static void
on_ready(evutil_socket_t fd, short what, void *arg)
{
	struct cl_outbox *o = arg;
	struct delivery *d, *next;
	uint64_t count;

	(void)what;
	if (read(fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		log_warn("msg=\"outbox wake-up read failed\"");
	pthread_mutex_lock(&o->mtx);
	d = o->ready;
	o->ready = NULL;
	pthread_mutex_unlock(&o->mtx);
	for (; d; d = next) {
		next = d->next;
		d->next = NULL;
		send_one(o, d);
	}
}

struct cl_outbox *
cl_outbox_start(struct cl_server *srv, char *err)
{
	struct cl_outbox *o = calloc(1, sizeof(*o));

	if (o == NULL) {
		snprintf(err, CL_ERR_LEN, "out of memory");
		return NULL;
	}
	o->srv = srv;
	o->wake_fd = -1;
	unsigned seed;
	if (cl_random_bytes(&seed, sizeof(seed)) == 0)
		srandom(seed); /* the backoff's jitter differs between daemons */
	o->nnames = 0;
	for (int i = 0; i < srv->cfg.n_webhooks && i < CL_WEBHOOKS_MAX; i++)
		snprintf(o->names[o->nnames++], sizeof(o->names[0]), "%s", srv->cfg.webhooks[i].name);
	pthread_mutex_init(&o->mtx, NULL);
	pthread_cond_init(&o->cond, NULL);
	if ((o->st = cl_store_open(cl_config_store(&srv->cfg), 0, err)) == NULL)
		goto fail;
	if ((o->http = cl_httpc_new(srv->base, CL_OUTBOX_PER_HOOK * CL_WEBHOOKS_MAX, err)) == NULL)
		goto fail;
	if ((o->inflight = cl_hmap_new()) == NULL || (o->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0 ||
	    (o->wake_ev = event_new(srv->base, o->wake_fd, EV_READ | EV_PERSIST, on_ready, o)) == NULL ||
	    event_add(o->wake_ev, NULL) < 0) {
		snprintf(err, CL_ERR_LEN, "outbox: cannot set up its wake-up");
		goto fail;
	}
	if (pthread_create(&o->thread, NULL, outbox_main, o) != 0) {
		snprintf(err, CL_ERR_LEN, "cannot start the outbox thread");
		goto fail;
	}
	o->started = 1;
	pthread_mutex_lock(&o->mtx);
	while (!o->up)
		pthread_cond_wait(&o->cond, &o->mtx);
	pthread_mutex_unlock(&o->mtx);
	return o;
fail:
	cl_outbox_stop(o);
	return NULL;
}

void
cl_outbox_stop(struct cl_outbox *o)
{
	struct cl_hmap_entry *e;

	if (o == NULL)
		return;
	cl_httpc_free(o->http); /* answers in flight are dropped: those deliveries stay pending */
	o->http = NULL;
	if (o->started) {
		pthread_mutex_lock(&o->mtx);
		o->stop = 1;
		pthread_mutex_unlock(&o->mtx);
		pthread_cond_signal(&o->cond);
		pthread_join(o->thread, NULL);
	}
	while (o->ready) {
		struct delivery *d = o->ready;
		o->ready = d->next;
		delivery_free(d);
	}
	if (o->inflight) {
		for (e = cl_hmap_next(o->inflight, NULL); e; e = cl_hmap_next(o->inflight, e))
			free(e->val);
		cl_hmap_free(o->inflight);
	}
	if (o->wake_ev)
		event_free(o->wake_ev);
	if (o->wake_fd >= 0)
		close(o->wake_fd);
	cl_store_close(o->st);
	pthread_mutex_destroy(&o->mtx);
	pthread_cond_destroy(&o->cond);
	free(o);
}
