/* daemon.h : the daemon's one mutable root (struct cl_server), passed to every
 * event-loop callback. Each module's API is in its own header. */
#ifndef CALLOGD_DAEMON_H
#define CALLOGD_DAEMON_H

#include <stdint.h>

#include "callogd/config.h"
#include "callogd/ingest.h"
#include "callogd/metrics.h"
#include "callogd/numbers.h"
#include "callogd/sdnotify.h"
#include "callogd/util.h"

struct cl_console;
struct cl_crm;
struct cl_journal;
struct cl_outbox;
struct cl_http;
struct cl_pbx;
struct cl_pops;
struct cl_store;
struct cl_workers;
struct cl_writer;
struct event;
struct event_base;
struct cl_listener;
struct cl_tls_server;

/* events.unix, events.tcp, agents.unix, agents.tcp, http.listen */
#define CL_LISTENERS 5

struct cl_server {
	struct cl_config cfg;
	struct cl_numbers numbers;
	struct event_base *base;
	struct cl_store *reader; /* start-up reads (restore, session key) only: closed before the loop runs */
	struct cl_writer *writer;
	struct cl_workers *workers; /* database reads off the loop (workers.h) */
	struct cl_pops *pops;
	struct cl_http *http;
	struct cl_wb *wb;            /* wallboard streams (wbstream.c) */
	struct cl_pbx *pbx;          /* PBX links (pbx.c) */
	struct cl_crm *crm;          /* the CRM lookup (crm.c) */
	struct cl_journal *journal;  /* the webhooks the writer journals for (journal.c) */
	struct cl_outbox *outbox;    /* webhook deliveries (outbox.c) */
	struct cl_cluster *cluster;  /* other nodes on a shared store (cluster.c); NULL alone */
	struct cl_ingest ingest;     /* ingest.c's state */
	struct cl_console *consoles; /* console connections (consoles.c) */
	struct cl_metrics m;

	struct cl_tls_server *tls;                   /* every TCP listener with tls = true shares it; NULL when none */
	struct cl_listener *listeners[CL_LISTENERS]; /* by the table in server.c; NULL when off */
	struct cl_sd_fds sd;                         /* sockets systemd passed, until the listeners take them */

	struct event *sig_term, *sig_int, *sig_hup, *watchdog, *housekeeping, *drain;
	int stopping;
	int storage_failing; /* the last commit failed */
	char storage_error[CL_ERR_LEN];
	int64_t stopping_since, last_purge_ms;
};

#endif
