/* cluster.c : owns this node's part in a cluster on a shared store: the
 * follower thread (other nodes' committed events, read after the last one it
 * has, woken by NOTIFY), their fan-out on the loop through the same path as
 * the events this node takes, and leadership (pbx.c's links, retention). */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <event2/event.h>

#include "callogd/cluster.h"
#include "callogd/daemon.h"
#include "callogd/event.h"
#include "callogd/log.h"
#include "callogd/outbox.h"
#include "callogd/pbx.h"
#include "callogd/pops.h"
#include "callogd/store.h"
#include "callogd/util.h"

#define FETCH_MAX 500         /* rows read per query */
#define QUEUE_MAX 100000      /* rows handed over and not yet taken: past it, the thread waits */
#define WAIT_MS 200           /* one wait for a notification */
#define POLL_US 1000000       /* rows are read at least this often, notified or not */
#define LEAD_EVERY_US 1000000 /* the leader lock is tried (or checked) this often */

struct row {
	struct row *next;
	int64_t received_at;
	size_t len;
	char body[]; /* len bytes and a NUL */
};

struct cl_cluster {
	struct cl_server *srv;
	struct cl_store_feed *feed;
	pthread_t thread;
	pthread_mutex_t mtx;
	struct row *head, **tail; /* handed over, not yet taken */
	size_t queued;
	int stop;
	atomic_int leader; /* what the thread found last */
	int applied;       /* what the loop acts on (pbx links, retention) */
	int64_t last_seq;  /* the thread's: the last row read */
	atomic_uint_fast64_t followed;
	int wake_fd;
	struct event *wake_ev;
	char last_err[CL_ERR_LEN]; /* the thread logs a lost session once, not every retry */
};

static void
wake(struct cl_cluster *c)
{
	uint64_t one = 1;

	while (write(c->wake_fd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
}

static int
take_row(void *arg, int64_t seq, int own, const char *body, size_t len, int64_t received_at)
{
	struct cl_cluster *c = arg;
	struct row *r;

	c->last_seq = seq;
	if (own) /* this node applied it when it took it */
		return 0;
	if ((r = malloc(sizeof(*r) + len + 1)) == NULL)
		return 0; /* a pop lost, never the log: the event is stored */
	r->next = NULL;
	r->received_at = received_at;
	r->len = len;
	memcpy(r->body, body, len);
	r->body[len] = '\0';
	pthread_mutex_lock(&c->mtx);
	*c->tail = r;
	c->tail = &r->next;
	c->queued++;
	pthread_mutex_unlock(&c->mtx);
	return 0;
}

static void
session_trouble(struct cl_cluster *c, const char *err)
{
	if (strcmp(err, c->last_err) != 0)
		log_warnx("msg=\"cluster session: %s\"", err);
	snprintf(c->last_err, sizeof(c->last_err), "%s", err);
}

static void *
follow_main(void *arg)
{
	struct cl_cluster *c = arg;
	char err[CL_ERR_LEN];
	int64_t next_lead = 0, next_fetch = 0;
	int woken = 1;

	pthread_setname_np(pthread_self(), "cl-cluster");
	for (;;) {
		int64_t now = cl_mono_us();
		size_t queued;
		int n = 0, lead;
		pthread_mutex_lock(&c->mtx);
		int stop = c->stop;
		queued = c->queued;
		pthread_mutex_unlock(&c->mtx);
		if (stop)
			break;
		if (now >= next_lead) {
			next_lead = now + LEAD_EVERY_US;
			lead = cl_store_feed_lead(c->feed, err);
			if (lead < 0)
				session_trouble(c, err);
			if ((lead == 1) != atomic_load(&c->leader)) {
				atomic_store(&c->leader, lead == 1);
				wake(c);
			}
		}
		if ((woken || now >= next_fetch) && queued < QUEUE_MAX) {
			next_fetch = now + POLL_US;
			if ((n = cl_store_feed_fetch(c->feed, c->last_seq, FETCH_MAX, take_row, c, err)) < 0) {
				session_trouble(c, err);
				atomic_store(&c->leader, 0); /* the lock went with the session: no split brain */
				wake(c);
			} else {
				c->last_err[0] = '\0';
				if (n > 0)
					wake(c);
			}
			if (n == FETCH_MAX)
				continue;
		}
		woken = cl_store_feed_wait(c->feed, WAIT_MS, err);
		if (woken < 0) {
			session_trouble(c, err);
			atomic_store(&c->leader, 0);
			wake(c);
			struct timespec ts = {0, WAIT_MS * 1000000L};
			nanosleep(&ts, NULL);
		}
	}
	return NULL;
}

/* The leader's work follows the thread's finding: PBX links held or let go. */
static void
apply_leadership(struct cl_cluster *c)
{
	int lead = atomic_load(&c->leader);

	if (lead == c->applied)
		return;
	c->applied = lead;
	log_info("msg=\"%s\" node=\"%s\"",
	         lead ? "leader: this node runs retention, the PBX links and webhooks"
	              : "not leader: retention, the PBX links and webhooks are another node's",
	         cl_store_node());
	if (c->srv->pbx != NULL)
		cl_pbx_standby(c->srv->pbx, !lead);
	if (c->srv->outbox != NULL) /* webhooks: sent by the leader alone, or each twice */
		cl_outbox_set_hooks(c->srv->outbox, lead ? c->srv->cfg.webhooks : NULL,
		                    lead ? c->srv->cfg.n_webhooks : 0);
}

/* On the loop: the other nodes' events, through the path this node's own take (pops, call messages). */
static void
on_wake(evutil_socket_t fd, short what, void *arg)
{
	struct cl_cluster *c = arg;
	struct cl_server *srv = c->srv;
	struct row *r, *next;
	uint64_t count;

	(void)fd;
	(void)what;
	if (read(c->wake_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		log_warn("msg=\"cluster wake-up read failed\" error=\"%s\"", strerror(errno));
	pthread_mutex_lock(&c->mtx);
	r = c->head;
	c->head = NULL;
	c->tail = &c->head;
	c->queued = 0;
	pthread_mutex_unlock(&c->mtx);
	for (; r; r = next) {
		struct cl_event ev;
		char msg[CL_ERR_LEN], *id = NULL;
		next = r->next;
		if (cl_event_parse(r->body, r->len, r->received_at, &srv->numbers, &ev, &id, msg) == CL_EVERR_NONE) {
			ev.received_at = r->received_at;
			if (!srv->stopping)
				(void)cl_pops_on_event(srv->pops, &ev, cl_mono_us(), NULL, NULL);
			cl_event_clear(&ev);
			atomic_fetch_add(&c->followed, 1);
		}
		free(id);
		free(r);
	}
	apply_leadership(c);
}

struct cl_cluster *
cl_cluster_start(struct cl_server *srv, const char *where, char *err)
{
	struct cl_cluster *c;
	struct cl_store_feed *feed = cl_store_feed_open(where, err);
	int lead;

	if (feed == NULL)
		return NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		cl_store_feed_close(feed);
		snprintf(err, CL_ERR_LEN, "out of memory");
		return NULL;
	}
	c->srv = srv;
	c->feed = feed;
	c->tail = &c->head;
	c->wake_fd = -1;
	pthread_mutex_init(&c->mtx, NULL);
	/* From the last seq on: what came before is in the live calls restored at start-up. */
	if (cl_store_feed_last(feed, &c->last_seq, err) < 0)
		goto fail;
	/* Start-up (before the loop runs): a node alone leads at once, so its start-up purge and links go. */
	lead = cl_store_feed_lead(feed, err);
	if (lead < 0)
		goto fail;
	atomic_store(&c->leader, lead);
	c->applied = lead;
	if (lead)
		log_info("msg=\"leader: this node runs retention, the PBX links and webhooks\" node=\"%s\"",
		         cl_store_node());
	if ((c->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		snprintf(err, CL_ERR_LEN, "eventfd: %s", strerror(errno));
		goto fail;
	}
	if ((c->wake_ev = event_new(srv->base, c->wake_fd, EV_READ | EV_PERSIST, on_wake, c)) == NULL ||
	    event_add(c->wake_ev, NULL) < 0) {
		snprintf(err, CL_ERR_LEN, "cannot watch the cluster's eventfd");
		goto fail;
	}
	if (pthread_create(&c->thread, NULL, follow_main, c) != 0) {
		snprintf(err, CL_ERR_LEN, "cannot start the cluster thread");
		goto fail;
	}
	return c;
fail:
	if (c->wake_ev)
		event_free(c->wake_ev);
	if (c->wake_fd >= 0)
		close(c->wake_fd);
	cl_store_feed_close(c->feed);
	pthread_mutex_destroy(&c->mtx);
	free(c);
	return NULL;
}

void
cl_cluster_stop(struct cl_cluster *c)
{
	struct row *r, *next;

	if (c == NULL)
		return;
	pthread_mutex_lock(&c->mtx);
	c->stop = 1;
	pthread_mutex_unlock(&c->mtx);
	pthread_join(c->thread, NULL);
	for (r = c->head; r; r = next) {
		next = r->next;
		free(r);
	}
	event_free(c->wake_ev);
	close(c->wake_fd);
	cl_store_feed_close(c->feed);
	pthread_mutex_destroy(&c->mtx);
	free(c);
}

int
cl_cluster_leader(const struct cl_cluster *c)
{
	return c == NULL || c->applied;
}

uint64_t
cl_cluster_followed(const struct cl_cluster *c)
{
	return c ? atomic_load(&c->followed) : 0;
}
