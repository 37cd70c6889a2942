/* server.c : owns the daemon's lifetime: start-up in order, signals, reload,
 * the periodic jobs (watchdog, retention) and a draining shutdown. */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <event2/event.h>

#include "callogd/cluster.h"
#include "callogd/consoles.h"
#include "callogd/crm.h"
#include "callogd/daemon.h"
#include "callogd/dedup.h"
#include "callogd/econn.h"
#include "callogd/http.h"
#include "callogd/journal.h"
#include "callogd/ingest.h"
#include "callogd/log.h"
#include "callogd/net.h"
#include "callogd/outbox.h"
#include "callogd/pbx.h"
#include "callogd/pops.h"
#include "callogd/sdnotify.h"
#include "callogd/server.h"
#include "callogd/store.h"
#include "callogd/tls.h"
#include "callogd/util.h"
#include "callogd/workers.h"
#include "callogd/wbstream.h"
#include "callogd/writer.h"

#define SHUTDOWN_DEADLINE_MS 4000
#define RETENTION_CHECK_S 3600

#define CFG(field) offsetof(struct cl_config, field)

/* The listeners: one row each, opened in this order, before anything else starts. */
static const struct listener_row {
	const char *name;    /* its config key */
	const char *sd_name; /* FileDescriptorName= in the shipped .socket units */
	size_t addr;         /* char * in struct cl_config */
	int is_unix;
	cl_accept_cb accept; /* NULL: http, whose fd evhttp takes */
	int kind;            /* enum cl_conn_kind, counted per kind */
	size_t max_clients;  /* int in struct cl_config: the cap per kind */
	size_t tls;          /* int in struct cl_config: speaks TLS; 0 = never (Unix sockets) */
} listener_table[CL_LISTENERS] = {
    {"events.unix", CL_SD_NAME_EVENTS_UNIX, CFG(events_unix), 1, cl_econn_accept, CL_CONN_EVENTS,
     CFG(events_max_clients), 0},
    {"events.tcp", CL_SD_NAME_EVENTS_TCP, CFG(events_tcp), 0, cl_econn_accept, CL_CONN_EVENTS, CFG(events_max_clients),
     CFG(events_tls)},
    {"agents.unix", CL_SD_NAME_AGENTS_UNIX, CFG(agents_unix), 1, cl_consoles_accept, CL_CONN_CONSOLE,
     CFG(agents_max_clients), 0},
    {"agents.tcp", CL_SD_NAME_AGENTS_TCP, CFG(agents_tcp), 0, cl_consoles_accept, CL_CONN_CONSOLE,
     CFG(agents_max_clients), CFG(agents_tls)},
    {"http.listen", CL_SD_NAME_HTTP, CFG(http_listen), 0, NULL, CL_CONN_HTTP, 0, CFG(http_tls)},
};

/* True when a HOST:PORT listens on the loopback interface only. */
static int
is_loopback(const char *addr)
{
	return strncmp(addr, "127.", 4) == 0 || strncmp(addr, "[::1]:", 6) == 0 || strncmp(addr, "localhost:", 10) == 0;
}

/* docs/security.md: the daemon warns about every TCP listener reachable from the network without TLS. */
static void
warn_exposed(const struct cl_server *srv)
{
	const char *cfg = (const char *)&srv->cfg;

	for (size_t i = 0; i < CL_LISTENERS; i++) {
		const struct listener_row *r = &listener_table[i];
		const char *addr = *(char *const *)(cfg + r->addr);
		if (r->is_unix || addr[0] == '\0' || is_loopback(addr))
			continue;
		if (!*(const int *)(cfg + r->tls))
			log_warnx("msg=\"listener on a non-loopback address without TLS\" listener=%s addr=\"%s\"",
			          r->name, addr);
		if (r->accept == cl_econn_accept && srv->cfg.events_token[0] == '\0')
			log_warnx("msg=\"events listener on a non-loopback address without events.token\" addr=\"%s\"",
			          addr);
	}
}
#define LISTENER_HTTP 4

static int
open_listeners(struct cl_server *srv, char *err)
{
	char *cfg = (char *)&srv->cfg;

	for (size_t i = 0; i < CL_LISTENERS; i++) {
		const struct listener_row *r = &listener_table[i];
		struct cl_listener_conf c = {.name = r->name,
		                             .sd_name = r->sd_name,
		                             .addr = *(char **)(cfg + r->addr),
		                             .is_unix = r->is_unix,
		                             .accept = r->accept,
		                             .arg = srv,
		                             .tls = r->tls && *(int *)(cfg + r->tls) ? srv->tls : NULL};
		if (c.addr[0] == '\0')
			continue;
		if (r->accept != NULL) {
			/* Points into srv->cfg, which a reload updates in place. */
			c.max_clients = (const int *)(cfg + r->max_clients);
			c.open = &srv->m.connections[r->kind];
			c.refused = &srv->m.refused[r->kind];
		}
		if ((srv->listeners[i] = cl_listener_open(srv->base, &srv->sd, &c, err)) == NULL)
			return -1;
	}
	for (size_t i = 0; i < srv->sd.n; i++)
		if (!srv->sd.v[i].taken)
			log_warnx("msg=\"passed socket matches no listener, closed\" name=\"%s\"", srv->sd.v[i].name);
	cl_sd_fds_free(&srv->sd);
	return 0;
}

static void
apply_numbers(struct cl_server *srv)
{
	if (cl_numbers_init(&srv->numbers, srv->cfg.country_code, srv->cfg.national_prefix,
	                    srv->cfg.international_prefix) < 0)
		log_warnx("msg=\"numbering rules rejected\"");
}

static void
reload(struct cl_server *srv)
{
	struct cl_config next;
	char err[CL_ERR_LEN], diff[1024];
	int n;

	cl_sd_notify("RELOADING=1");
	srv->m.reloads++;
	if (cl_config_load(&next, srv->cfg.path, err) < 0) {
		srv->m.reload_failures++;
		log_error("msg=\"reload refused, keeping the running configuration\" error=\"%s\"", err);
		cl_sd_notify("READY=1");
		return;
	}
	if (cl_config_reload_compatible(&srv->cfg, &next, err) < 0)
		log_warnx("msg=\"changed settings need a restart, not applied\" keys=\"%s\"", err);
	n = cl_config_diff(&srv->cfg, &next, diff, sizeof(diff));
	cl_config_apply_reloadable(&srv->cfg, &next);
	/* Before the old list is freed: unchanged links keep running, changed ones restart. */
	if (srv->pbx != NULL && cl_pbx_reload(srv->pbx, err) < 0)
		log_error("msg=\"PBX links not reloaded\" error=\"%s\"", err);
	cl_journal_set(srv->journal, srv->cfg.webhooks, srv->cfg.n_webhooks);
	/* In a cluster the leader alone sends webhooks (cluster.h): two nodes would send each twice. */
	if (cl_cluster_leader(srv->cluster))
		cl_outbox_set_hooks(srv->outbox, srv->cfg.webhooks, srv->cfg.n_webhooks);
	if (srv->crm != NULL && cl_crm_configure(srv->crm, &srv->cfg, err) < 0)
		log_error("msg=\"CRM lookup off: its HTTP client cannot start\" error=\"%s\"", err);
	cl_config_free(&next);
	cl_log_set_level(srv->cfg.log_level);
	apply_numbers(srv);
	/* New thresholds: the writer counts the report slots again (it does nothing when they are the same). */
	cl_writer_slots(srv->writer, (int64_t)srv->cfg.sla_seconds * 1000,
	                (int64_t)srv->cfg.short_abandon_seconds * 1000, 0);
	/* Open connections keep the certificate they started with; a bad pair keeps the old one. */
	if (srv->tls != NULL && cl_tls_server_reload(srv->tls, srv->cfg.tls_cert, srv->cfg.tls_key, err) < 0)
		log_error("msg=\"TLS certificate reload refused, keeping the old one\" error=\"%s\"", err);
	if (n > 0)
		log_info("msg=\"reloaded\" changed=%d %s", n, diff);
	else
		log_info("msg=\"reloaded\" changed=0");
	cl_sd_notify("READY=1");
}

static void
on_drain_tick(evutil_socket_t fd, short what, void *arg)
{
	struct cl_server *srv = arg;

	(void)fd;
	(void)what;
	if (srv->writer == NULL) /* stop() runs the loop once more after the writer is gone */
		return;
	cl_ingest_flush(srv);
	if ((cl_writer_backlog(srv->writer) == 0 && srv->ingest.open_batch == NULL && cl_ingest_waiting(srv) == 0) ||
	    cl_now_ms() - srv->stopping_since > SHUTDOWN_DEADLINE_MS)
		event_base_loopexit(srv->base, NULL);
}

static void
begin_shutdown(struct cl_server *srv, const char *why)
{
	struct timeval tick = {0, 5000};

	if (srv->stopping)
		return;
	srv->stopping = 1;
	srv->stopping_since = cl_now_ms();
	log_info("msg=\"stopping\" signal=%s", why);
	cl_sd_notify("STOPPING=1");
	/* Stop accepting; what was received is still committed and acknowledged. */
	for (size_t i = 0; i < CL_LISTENERS; i++)
		cl_listener_disable(srv->listeners[i]);
	cl_econns_quiesce(srv);
	cl_pbx_quiesce(srv->pbx);
	cl_ingest_flush(srv);
	srv->drain = event_new(srv->base, -1, EV_PERSIST, on_drain_tick, srv);
	if (srv->drain == NULL || event_add(srv->drain, &tick) < 0)
		event_base_loopexit(srv->base, NULL);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct cl_server *srv = arg;

	(void)what;
	if (sig == SIGHUP)
		reload(srv);
	else
		begin_shutdown(srv, sig == SIGTERM ? "TERM" : "INT");
}

static void
on_flush(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	cl_ingest_flush(arg);
}

static void
on_watchdog(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	cl_sd_notify("WATCHDOG=1");
}

static void
on_housekeeping(evutil_socket_t fd, short what, void *arg)
{
	struct cl_server *srv = arg;
	int64_t now = cl_now_ms();

	(void)fd;
	(void)what;
	cl_pops_expire(srv->pops, now);
	/* In a cluster, the leader alone purges (cluster.h). */
	if (srv->cfg.retention_days > 0 && cl_cluster_leader(srv->cluster) && now - srv->last_purge_ms >= 86400000LL) {
		srv->last_purge_ms = now;
		cl_writer_purge(srv->writer, now - (int64_t)srv->cfg.retention_days * 86400000LL);
	}
}

static int
add_timer(struct cl_server *srv, struct event **ev, event_callback_fn cb, int64_t usec)
{
	struct timeval tv = {(time_t)(usec / 1000000), (suseconds_t)(usec % 1000000)};

	*ev = event_new(srv->base, -1, EV_PERSIST, cb, srv);
	return *ev == NULL || event_add(*ev, &tv) < 0 ? -1 : 0;
}

static uint64_t
gauge_live_calls(void *pops)
{
	return cl_pops_live_calls(pops);
}

static uint64_t
gauge_live_data(void *pops)
{
	return cl_pops_live_data(pops);
}

static uint64_t
gauge_replay_bytes(void *pops)
{
	return cl_pops_replay_bytes(pops);
}

static uint64_t
gauge_writer_backlog(void *writer)
{
	return cl_writer_backlog(writer);
}

static uint64_t
gauge_crm_breaker(void *crm)
{
	return (uint64_t)cl_crm_breaker_open(crm);
}

static uint64_t
gauge_dedup(void *arg, int which)
{
	struct cl_server *srv = arg;
	struct cl_dedup_stats s;

	cl_dedup_stats(srv->ingest.dedup, &s);
	return which == 0 ? s.probes : which == 1 ? s.unprobed : s.filter_ids;
}

static uint64_t
gauge_dedup_probes(void *srv)
{
	return gauge_dedup(srv, 0);
}

static uint64_t
gauge_dedup_unprobed(void *srv)
{
	return gauge_dedup(srv, 1);
}

static uint64_t
gauge_dedup_filter(void *srv)
{
	return gauge_dedup(srv, 2);
}

static uint64_t
gauge_leader(void *srv)
{
	return (uint64_t)cl_cluster_leader(((struct cl_server *)srv)->cluster);
}

static uint64_t
gauge_followed(void *srv)
{
	return cl_cluster_followed(((struct cl_server *)srv)->cluster);
}

static int
start(struct cl_server *srv, char *err)
{
	struct event_config *ec;
	uint64_t wd_usec = 0;

	signal(SIGPIPE, SIG_IGN);
	/*
	 * libevent is used from this thread only, so it runs without locks
	 * (no evthread_use_pthreads): the writer thread wakes us with an eventfd.
	 */
	/* Before any thread starts: it unsets LISTEN_* in the environment. */
	if (cl_sd_listen_fds(&srv->sd, err) < 0)
		return -1;
	apply_numbers(srv);
	if ((ec = event_config_new()) == NULL) {
		snprintf(err, CL_ERR_LEN, "out of memory");
		return -1;
	}
	srv->base = event_base_new_with_config(ec);
	event_config_free(ec);
	if (srv->base == NULL || event_base_priority_init(srv->base, 2) < 0) {
		snprintf(err, CL_ERR_LEN, "cannot create the event loop");
		return -1;
	}
	if ((srv->cfg.events_tls || srv->cfg.agents_tls || srv->cfg.http_tls) &&
	    (srv->tls = cl_tls_server_new(srv->cfg.tls_cert, srv->cfg.tls_key, err)) == NULL)
		return -1;
	/* First: a second daemon on this configuration stops here, before it opens the database. */
	if (open_listeners(srv, err) < 0)
		return -1;
	warn_exposed(srv);
	/* The node's name goes with every event it stores in a shared store: set before one opens. */
	char host[256] = "";
	if (srv->cfg.node_name[0] == '\0' && gethostname(host, sizeof(host) - 1) == 0)
		cl_store_set_node(host);
	else
		cl_store_set_node(srv->cfg.node_name);
	if (srv->cfg.db_url[0] == '\0' && cl_mkdir_parent(srv->cfg.db_path) < 0)
		log_debug("msg=\"cannot create directory\" path=\"%s\" error=\"%s\"", srv->cfg.db_path,
		          strerror(errno));
	if ((srv->writer = cl_writer_start(cl_config_store(&srv->cfg), srv->base, cl_ingest_done, srv, err)) == NULL)
		return -1;
	/* Counted before the daemon is ready (the first start on a database counts every call once). */
	cl_writer_slots(srv->writer, (int64_t)srv->cfg.sla_seconds * 1000,
	                (int64_t)srv->cfg.short_abandon_seconds * 1000, 1);
	/* A PostgreSQL read mostly waits for its round trip: more threads keep more of them going. */
	if ((srv->workers =
	         cl_workers_start(cl_config_store(&srv->cfg), srv->base,
	                          srv->cfg.db_url[0] ? CL_WORKERS_REMOTE_THREADS : CL_WORKERS_DEFAULT_THREADS,
	                          CL_WORKERS_DEFAULT_QUEUE, err)) == NULL)
		return -1;
	if ((srv->reader = cl_store_open(cl_config_store(&srv->cfg), CL_STORE_READONLY, err)) == NULL)
		return -1;
	/* Webhook deliveries: journaled by the writer, sent from the outbox (docs/crm.md). */
	if ((srv->journal = cl_journal_new()) == NULL) {
		snprintf(err, CL_ERR_LEN, "out of memory");
		return -1;
	}
	cl_journal_set(srv->journal, srv->cfg.webhooks, srv->cfg.n_webhooks);
	if ((srv->outbox = cl_outbox_start(srv, err)) == NULL)
		return -1;
	cl_writer_set_journal(srv->writer, srv->journal, cl_outbox_kick, srv->outbox);
	if (cl_ingest_start(srv, err) < 0)
		return -1;
	if ((srv->pops = cl_pops_new(srv)) == NULL) {
		snprintf(err, CL_ERR_LEN, "out of memory");
		return -1;
	}
	if ((srv->crm = cl_crm_new(srv->base, &srv->m, cl_pops_crm_done, srv->pops, err)) == NULL ||
	    cl_crm_configure(srv->crm, &srv->cfg, err) < 0)
		return -1;
	/* Welcome re-pops and live figures are right after any restart, kill -9 included. */
	if (cl_pops_restore(srv->pops, srv->reader, err) < 0)
		return -1;
	cl_metrics_gauge(&srv->m, "callogd_active_calls", "Calls being tracked for pops (not ended).", gauge_live_calls,
	                 srv->pops);
	cl_metrics_gauge(&srv->m, "callogd_replay_bytes", "Memory held for SSE replay over all agents.",
	                 gauge_replay_bytes, srv->pops);
	cl_metrics_gauge(&srv->m, "callogd_live_data_bytes", "Live calls' attached data kept for pops.",
	                 gauge_live_data, srv->pops);
	cl_metrics_gauge(&srv->m, "callogd_crm_breaker_open", "1 while the CRM breaker is open (lookups local-only).",
	                 gauge_crm_breaker, srv->crm);
	cl_metrics_gauge(&srv->m, "callogd_webhook_outbox", "Webhook deliveries not yet delivered or given up.",
	                 cl_outbox_open, srv->outbox);
	cl_metrics_gauge(&srv->m, "callogd_writer_backlog", "Events waiting for their commit.", gauge_writer_backlog,
	                 srv->writer);
	cl_metrics_gauge(&srv->m, "callogd_dedup_probes", "New event ids looked up in the database (since start).",
	                 gauge_dedup_probes, srv);
	cl_metrics_gauge(&srv->m, "callogd_dedup_unprobed",
	                 "New event ids the filter of stored ids let through without a lookup (since start).",
	                 gauge_dedup_unprobed, srv);
	cl_metrics_gauge(&srv->m, "callogd_dedup_filter_ids", "Ids in the filter of stored ids (0: not loaded yet).",
	                 gauge_dedup_filter, srv);
	srv->ingest.flush_ev = event_new(srv->base, -1, 0, on_flush, srv);
	if (srv->ingest.flush_ev == NULL || event_priority_set(srv->ingest.flush_ev, 1) < 0) {
		snprintf(err, CL_ERR_LEN, "out of memory");
		return -1;
	}
	if (srv->listeners[LISTENER_HTTP] != NULL &&
	    (srv->http = cl_http_start(srv, cl_listener_take(srv->listeners[LISTENER_HTTP]), err)) == NULL)
		return -1;
	/* After the live calls are restored: the other nodes' events from the seq they reached on. */
	if ((srv->cluster = cl_cluster_start(srv, cl_config_store(&srv->cfg), err)) == NULL && err[0] != '\0')
		return -1;
	if (!cl_cluster_leader(srv->cluster))
		cl_outbox_set_hooks(srv->outbox, NULL, 0);
	cl_metrics_gauge(&srv->m, "callogd_cluster_leader",
	                 "1 when this node runs retention and the PBX links (always 1 without a cluster).",
	                 gauge_leader, srv);
	cl_metrics_gauge(&srv->m, "callogd_cluster_followed",
	                 "Events other nodes of the cluster took, fanned out here.", gauge_followed, srv);
	if ((srv->pbx = cl_pbx_start(srv, err)) == NULL)
		return -1;
	if ((srv->wb = cl_wb_new(srv)) == NULL) {
		snprintf(err, CL_ERR_LEN, "out of memory");
		return -1;
	}
	/* The start-up reads are done: from here on the loop has no database connection to wait on. */
	cl_store_close(srv->reader);
	srv->reader = NULL;
	srv->sig_term = evsignal_new(srv->base, SIGTERM, on_signal, srv);
	srv->sig_int = evsignal_new(srv->base, SIGINT, on_signal, srv);
	srv->sig_hup = evsignal_new(srv->base, SIGHUP, on_signal, srv);
	if (!srv->sig_term || !srv->sig_int || !srv->sig_hup || evsignal_add(srv->sig_term, NULL) < 0 ||
	    evsignal_add(srv->sig_int, NULL) < 0 || evsignal_add(srv->sig_hup, NULL) < 0) {
		snprintf(err, CL_ERR_LEN, "cannot install signal handlers");
		return -1;
	}
	if (cl_sd_watchdog_usec(&wd_usec) > 0 &&
	    add_timer(srv, &srv->watchdog, on_watchdog, (int64_t)wd_usec / 2) < 0) {
		snprintf(err, CL_ERR_LEN, "cannot start the watchdog timer");
		return -1;
	}
	srv->last_purge_ms = 0;
	if (add_timer(srv, &srv->housekeeping, on_housekeeping, 1000000LL * 10) < 0) {
		snprintf(err, CL_ERR_LEN, "cannot start the housekeeping timer");
		return -1;
	}
	on_housekeeping(-1, 0, srv); /* the first retention purge runs at start-up, then daily */
	return 0;
}

static void
stop(struct cl_server *srv)
{
	/* Accept no more; each Unix socket file this process made goes with its listener. */
	for (size_t i = 0; i < CL_LISTENERS; i++) {
		cl_listener_free(srv->listeners[i]);
		srv->listeners[i] = NULL;
	}
	if (srv->drain) {
		event_free(srv->drain);
		srv->drain = NULL;
	}
	if (srv->writer) {
		/* A producer that keeps sending must not keep the last loop pass below busy. */
		cl_econns_stop_reading(srv);
		cl_ingest_flush(srv);
		cl_writer_stop(srv->writer); /* commits the rest and delivers the last acks */
		srv->writer = NULL;
		if (srv->base)
			event_base_loop(srv->base, EVLOOP_NONBLOCK);
		cl_ingest_flush(srv); /* what that pass read is answered "storage" and freed */
	}
	/* Before the connections close: a finished job's done() may still answer on them. */
	cl_workers_stop(srv->workers);
	srv->workers = NULL;
	cl_outbox_stop(srv->outbox); /* after the writer, which kicks it */
	srv->outbox = NULL;
	cl_journal_free(srv->journal);
	srv->journal = NULL;
	cl_ingest_flush(srv); /* events a last duplicate verdict let through: answered "storage" and freed */
	cl_pbx_free(srv->pbx);
	srv->pbx = NULL;
	cl_cluster_stop(srv->cluster); /* its session ends: another node may lead now */
	srv->cluster = NULL;
	cl_econns_close_all(srv);
	cl_ingest_close(srv);
	cl_consoles_close_all(srv);
	if (srv->http)
		cl_http_free(srv->http);
	cl_wb_free(srv->wb); /* its streams closed with the HTTP server, its reads with the workers */
	srv->wb = NULL;
	cl_crm_free(srv->crm); /* before the pops its answers go to; it calls no one */
	srv->crm = NULL;
	if (srv->pops)
		cl_pops_free(srv->pops);
	cl_store_close(srv->reader); /* still open when the start failed */
	struct event *evs[] = {srv->sig_term,     srv->sig_int,         srv->sig_hup, srv->watchdog,
	                       srv->housekeeping, srv->ingest.flush_ev, srv->drain};
	for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
		if (evs[i])
			event_free(evs[i]);
	if (srv->base)
		event_base_free(srv->base);
	cl_tls_server_free(srv->tls);
	srv->tls = NULL;
	cl_sd_fds_free(&srv->sd);
}

/*
 * Asks the kernel's scheduler (EEVDF, Linux 6.12 and later) for a short time
 * slice on the loop thread, the one that reads events and writes pops: a
 * waking task with a shorter slice preempts the one running, so a ringing
 * line no longer waits out another task's 1.4 ms default slice. Its share of
 * the CPU stays what its nice value gives. On 2 cores, bench_pop at 500
 * calls/s: pop p99 180-236 us with the default slice, 77-135 us with this;
 * ingest unchanged. Older kernels accept and ignore it; a seccomp filter that
 * denies the call leaves the default. Threads started before (the writer)
 * keep the default slice.
 */
struct slice_attr { /* the kernel's struct sched_attr, first version (48 bytes) */
	uint32_t size, policy;
	uint64_t flags;
	int32_t nice;
	uint32_t priority;
	uint64_t runtime, deadline, period;
};
#define LOOP_SLICE_NS 100000 /* the shortest the kernel takes */

static void
ask_short_slice(void)
{
	struct slice_attr a = {.size = sizeof(a), .policy = 0 /* SCHED_OTHER */, .runtime = LOOP_SLICE_NS};

	a.nice = getpriority(PRIO_PROCESS, 0); /* sched_setattr sets the nice value too: keep ours */
	if (syscall(SYS_sched_setattr, 0, &a, 0) < 0)
		log_debug("msg=\"short time slice refused\" error=\"%s\"", strerror(errno));
}

int
cl_server_main(struct cl_config *cfg)
{
	struct cl_server *srv = calloc(1, sizeof(*srv));
	char err[CL_ERR_LEN] = "";
	int rc = 0;

	if (srv == NULL) {
		fprintf(stderr, "callogd: out of memory\n");
		cl_config_free(cfg);
		return 1;
	}
	srv->cfg = *cfg;
	memset(cfg, 0, sizeof(*cfg));
	srv->m.started_ms = cl_now_ms();
	if (start(srv, err) < 0) {
		/* One line naming the cause, on stderr, and nothing left half-started. */
		fprintf(stderr, "callogd: %s\n", err);
		rc = 1;
	} else {
		/* Never the URL: it may hold a password. */
		log_info(
		    "msg=\"listening\" version=%s node=\"%s\" events.unix=\"%s\" events.tcp=\"%s\" agents.unix=\"%s\" "
		    "agents.tcp=\"%s\" http=\"%s\" database=\"%s\"",
		    CALLOGD_VERSION, cl_store_node(), srv->cfg.events_unix, srv->cfg.events_tcp, srv->cfg.agents_unix,
		    srv->cfg.agents_tcp, srv->cfg.http_listen, srv->cfg.db_url[0] ? "postgresql" : srv->cfg.db_path);
		cl_sd_notify("READY=1");
		ask_short_slice();
		event_base_dispatch(srv->base);
		log_info("msg=\"stopped\" events=%llu", (unsigned long long)srv->m.committed_events);
	}
	stop(srv);
	cl_config_free(&srv->cfg);
	free(srv);
	return rc;
}
