/* pbx.c : owns the PBX links: non-blocking connect (names through evdns), login,
 * subscription, keepalive, backoff, resync, and feeding what the translators
 * (ami.c, esl.c) make of the frames into the producers' path (cl_ingest_line). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/dns.h>
#include <event2/event.h>

#include "callogd/ami.h"
#include "callogd/cluster.h"
#include "callogd/daemon.h"
#include "callogd/esl.h"
#include "callogd/ingest.h"
#include "callogd/live.h"
#include "callogd/log.h"
#include "callogd/pbx.h"
#include "callogd/pops.h"
#include "callogd/store.h"
#include "callogd/tls.h"
#include "callogd/util.h"

#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS 30000
#define LOGIN_TIMEOUT_MS 10000 /* connect to logged in */
#define IDLE_PROBE_MS 10000    /* silent this long: probe (AMI Ping, ESL api) */
#define IDLE_DEAD_MS 30000     /* silent this long, probe unanswered: the link is dead */
#define SYNC_TIMEOUT_MS 30000  /* a resync whose lists did not all come back is given up */
#define OUT_MAX (8 << 20)      /* translated lines of one frame (a resync makes many) */
#define MAX_WAITS 16

enum lstate { L_DOWN, L_CONNECTING, L_LOGIN, L_UP };
static const char *const state_names[] = {"down", "connecting", "login", "up"};

/* What an ESL reply still to come answers, in the order the commands went out. */
enum wait { W_AUTH, W_EVENTS, W_CHANNELS, W_MEMBERS, W_AGENTS, W_PROBE };

struct link {
	struct cl_pbx *x;
	const struct cl_pbx_cfg *cfg;
	struct cl_ami *ami;
	struct cl_esl *esl;
	struct cl_pbx_framer *framer;
	struct cl_tls_client *tls; /* tls = true: the CA the PBX is verified against */
	struct cl_pbx_frame frame;
	struct cl_pbx_out out;
	struct cl_producer *prod;
	struct evbuffer *answers; /* the producer's answers: counted, never sent to the PBX */
	struct bufferevent *bev;
	struct event *retry;
	int state;
	int backoff_ms;
	int probe_sent, syncing;
	int fresh; /* made by the reload under way */
	int waits[MAX_WAITS], nwaits;
	int64_t since_ms, last_frame_ms; /* wall clock, for status */
	int64_t attempt_mono, rx_mono, sync_mono;
	uint64_t reconnects, frames, lines, acked, duplicates, rejected, overlong;
	char why[160]; /* why it last went down */
};

struct cl_pbx {
	struct cl_server *srv;
	struct evdns_base *dns;
	struct event *tick;
	struct link **links;
	int n;
	int quiesced;
	int standby; /* another node of the cluster holds the links (cluster.h): none here */
};

static int64_t
mono_ms(void)
{
	return cl_mono_us() / 1000;
}

static const struct cl_pbx_stats *
tstats(const struct link *l)
{
	return l->ami ? cl_ami_stats(l->ami) : cl_esl_stats(l->esl);
}

static void
set_state(struct link *l, int st, const char *why)
{
	if (l->state == st)
		return;
	l->state = st;
	l->since_ms = cl_now_ms();
	if (st == L_DOWN)
		log_warnx("msg=\"pbx link down\" pbx=%s why=\"%s\" retry_ms=%d", l->cfg->name, why, l->backoff_ms);
	else
		log_info("msg=\"pbx link %s\" pbx=%s host=%s port=%d", state_names[st], l->cfg->name, l->cfg->host,
		         l->cfg->port);
}

static void link_connect(struct link *l);

static void
on_retry(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	link_connect(arg);
}

/* Drops the connection and schedules the next attempt: 1 s doubling to 30 s, plus up to a tenth more. */
static void
link_down(struct link *l, const char *why)
{
	uint32_t r = 0;

	if (l->bev) {
		bufferevent_free(l->bev);
		l->bev = NULL;
	}
	snprintf(l->why, sizeof(l->why), "%s", why);
	l->syncing = l->nwaits = l->probe_sent = 0;
	cl_pbx_framer_reset(l->framer);
	set_state(l, L_DOWN, why);
	if (l->x->quiesced)
		return;
	cl_random_bytes(&r, sizeof(r));
	struct timeval tv;
	int64_t delay = l->backoff_ms + (int64_t)(r % (uint32_t)(l->backoff_ms / 10 + 1));
	tv.tv_sec = (time_t)(delay / 1000);
	tv.tv_usec = (suseconds_t)(delay % 1000) * 1000;
	evtimer_add(l->retry, &tv);
	l->backoff_ms = l->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : l->backoff_ms * 2;
}

static void
send_text(struct link *l, const char *text)
{
	if (l->bev)
		bufferevent_write(l->bev, text, strlen(text));
}

/* ---- what the translators make: into the producers' path ---- */

static void
deliver(struct link *l)
{
	const char *p = l->out.buf, *end = p ? p + l->out.len : NULL;

	while (p && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = (size_t)(nl - p);
		if (len > (size_t)l->x->srv->cfg.events_max_line)
			cl_ingest_reject(l->prod, CL_EVERR_TOO_LONG, NULL, "line longer than events.max_line");
		else
			cl_ingest_line(l->prod, p, len);
		l->lines++;
		p = nl + 1;
	}
	cl_pbx_out_clear(&l->out);
}

static struct evbuffer *
answers_out(void *owner)
{
	return ((struct link *)owner)->answers;
}

/* Counts the answers the way a producer would read them. */
static void
answers_flushed(void *owner)
{
	struct link *l = owner;
	char *line;
	size_t n;

	while ((line = evbuffer_readln(l->answers, &n, EVBUFFER_EOL_LF)) != NULL) {
		if (strncmp(line, "{\"error\"", 8) == 0) {
			l->rejected++;
			log_warnx("msg=\"pbx event refused\" pbx=%s answer=%.200s", l->cfg->name, line);
		} else if (strstr(line, "\"duplicate\":true")) {
			l->duplicates++;
		} else {
			l->acked++;
		}
		free(line);
	}
}

static const struct cl_producer_ops link_ops = {answers_out, answers_flushed};

/* ---- resync ---- */

struct open_calls {
	const char *prefix;
	size_t plen;
	const char **v;
	size_t n, cap;
};

static int
collect_open(void *arg, struct cl_live_call *c)
{
	struct open_calls *o = arg;

	if (strncmp(c->call_id, o->prefix, o->plen) != 0 || c->call_id[o->plen] != ':')
		return 0;
	if (o->n == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 64;
		const char **v = realloc(o->v, cap * sizeof(*v));
		if (v == NULL)
			return 1;
		o->v = v;
		o->cap = cap;
	}
	o->v[o->n++] = c->call_id;
	return 0;
}

static void
sync_start(struct link *l)
{
	if (l->syncing || l->state != L_UP)
		return;
	l->syncing = 1;
	l->sync_mono = mono_ms();
	if (l->ami) {
		cl_ami_sync_begin(l->ami);
		send_text(l, "Action: CoreShowChannels\r\nActionID: callogd-sync-channels\r\n\r\n"
		             "Action: QueueStatus\r\nActionID: callogd-sync-queues\r\n\r\n");
		return;
	}
	cl_esl_sync_begin(l->esl);
	if (l->nwaits + 3 > MAX_WAITS) {
		l->syncing = 0;
		return;
	}
	l->waits[l->nwaits++] = W_CHANNELS;
	l->waits[l->nwaits++] = W_MEMBERS;
	l->waits[l->nwaits++] = W_AGENTS;
	send_text(l, "api show channels as json\n\napi callcenter_config queue list members\n\n"
	             "api callcenter_config agent list\n\n");
}

static void
sync_finish(struct link *l)
{
	struct open_calls o = {.prefix = l->cfg->name, .plen = strlen(l->cfg->name)};
	size_t before = l->out.lines;

	cl_pops_each_call(l->x->srv->pops, collect_open, &o);
	if (l->ami)
		cl_ami_sync_finish(l->ami, o.v, o.n, &l->out);
	else
		cl_esl_sync_finish(l->esl, o.v, o.n, &l->out);
	free(o.v);
	log_info("msg=\"pbx resync\" pbx=%s open_calls=%zu events=%zu", l->cfg->name, o.n, l->out.lines - before);
	l->syncing = 0;
	deliver(l);
}

/* ---- AMI ---- */

static void
ami_up(struct link *l)
{
	cl_ami_session(l->ami, cl_now_ms());
	l->backoff_ms = BACKOFF_MIN_MS;
	set_state(l, L_UP, NULL);
	sync_start(l);
}

static int
ami_frame(struct link *l)
{
	const struct cl_pbx_frame *fr = &l->frame;
	const char *resp = cl_pbx_get(fr, "Response"), *aid = cl_pbx_get(fr, "ActionID");
	char login[512];

	if (fr->banner) {
		if (strncmp(fr->h[0].val, "Asterisk Call Manager/", 22) != 0) {
			link_down(l, "not an Asterisk manager (no banner)");
			return -1;
		}
		snprintf(login, sizeof(login),
		         "Action: Login\r\nActionID: callogd-login\r\nUsername: %s\r\nSecret: %s\r\n"
		         "Events: call,agent,system\r\n\r\n",
		         l->cfg->username, l->cfg->secret);
		send_text(l, login);
		return 0;
	}
	if (resp != NULL) {
		if (aid && strcmp(aid, "callogd-login") == 0) {
			if (strcmp(resp, "Success") != 0) {
				char why[160];
				const char *m = cl_pbx_get(fr, "Message");
				snprintf(why, sizeof(why), "login refused: %.100s", m ? m : resp);
				link_down(l, why);
				return -1;
			}
			ami_up(l);
		} else if (strcmp(resp, "Error") == 0 && aid && strncmp(aid, "callogd-sync", 12) == 0) {
			log_warnx("msg=\"pbx resync refused\" pbx=%s action=%s message=\"%.100s\"", l->cfg->name, aid,
			          cl_pbx_get(fr, "Message") ? cl_pbx_get(fr, "Message") : "");
			l->syncing = 0;
		}
		return 0;
	}
	int flags = cl_ami_frame(l->ami, fr, &l->out);
	deliver(l);
	if (flags & CL_AMI_SYNC_READY)
		sync_finish(l);
	if ((flags & CL_AMI_RESYNC) && !cl_ami_sync_pending(l->ami))
		sync_start(l);
	return 0;
}

/* ---- ESL ---- */

static int
esl_reply(struct link *l, int *wait)
{
	if (l->nwaits == 0)
		return -1;
	*wait = l->waits[0];
	memmove(l->waits, l->waits + 1, (size_t)--l->nwaits * sizeof(int));
	return 0;
}

static int
esl_frame(struct link *l)
{
	struct cl_pbx_frame *fr = &l->frame;
	const char *ct = cl_pbx_get(fr, "Content-Type"), *reply = cl_pbx_get(fr, "Reply-Text");
	char buf[1200];
	int wait;

	if (ct == NULL)
		return 0;
	if (strcmp(ct, "auth/request") == 0) {
		snprintf(buf, sizeof(buf), "auth %s\n\n", l->cfg->secret);
		send_text(l, buf);
		l->nwaits = 0;
		l->waits[l->nwaits++] = W_AUTH;
	} else if (strcmp(ct, "command/reply") == 0) {
		if (esl_reply(l, &wait) < 0)
			return 0;
		if (reply == NULL || strncmp(reply, "+OK", 3) != 0) {
			snprintf(buf, sizeof(buf), "%s refused: %.100s",
			         wait == W_AUTH ? "login" : "event subscription", reply ? reply : "no Reply-Text");
			link_down(l, buf);
			return -1;
		}
		if (wait == W_AUTH) {
			l->waits[l->nwaits++] = W_EVENTS;
			send_text(l, "event plain HEARTBEAT CHANNEL_HOLD CHANNEL_UNHOLD CHANNEL_HANGUP_COMPLETE CUSTOM "
			             "callcenter::info\n\n");
		} else if (wait == W_EVENTS) {
			cl_esl_session(l->esl, cl_now_ms());
			l->backoff_ms = BACKOFF_MIN_MS;
			set_state(l, L_UP, NULL);
			sync_start(l);
		}
	} else if (strcmp(ct, "api/response") == 0) {
		if (esl_reply(l, &wait) < 0 || wait == W_PROBE || !l->syncing)
			return 0;
		const char *body = fr->body ? fr->body : "";
		int rc = wait == W_CHANNELS  ? cl_esl_sync_channels(l->esl, body, fr->body_len)
		         : wait == W_MEMBERS ? cl_esl_sync_members(l->esl, body, fr->body_len)
		                             : cl_esl_sync_agents(l->esl, body, fr->body_len);
		if (rc < 0)
			log_warnx("msg=\"pbx resync list unreadable\" pbx=%s list=%d", l->cfg->name, wait);
		if (wait == W_AGENTS)
			sync_finish(l);
	} else if (strncmp(ct, "text/event-", 11) == 0) {
		int flags = cl_esl_event(l->esl, fr, &l->out);
		deliver(l);
		if (flags & CL_ESL_RESYNC)
			sync_start(l);
	} else if (strcmp(ct, "text/disconnect-notice") == 0) {
		link_down(l, "the PBX said goodbye (disconnect-notice)");
		return -1;
	}
	return 0;
}

/* ---- the connection ---- */

static void
on_read(struct bufferevent *bev, void *arg)
{
	struct link *l = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	char err[CL_ERR_LEN];
	int r;

	l->rx_mono = mono_ms();
	l->probe_sent = 0;
	while (l->bev && evbuffer_get_length(in) > 0) {
		struct evbuffer_iovec v;
		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
			break;
		size_t took = cl_pbx_framer_feed(l->framer, v.iov_base, v.iov_len);
		evbuffer_drain(in, took);
		while ((r = cl_pbx_framer_next(l->framer, &l->frame, err)) == 1) {
			l->frames++;
			l->last_frame_ms = cl_now_ms();
			if ((l->ami ? ami_frame(l) : esl_frame(l)) < 0)
				return; /* the link went down */
		}
		if (r < 0 || took == 0) {
			char why[CL_ERR_LEN + 32];
			l->overlong++;
			snprintf(why, sizeof(why), "unframeable input: %s", r < 0 ? err : "no progress");
			link_down(l, why);
			return;
		}
	}
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	struct link *l = arg;
	char why[160];

	if (what & BEV_EVENT_CONNECTED) {
		set_state(l, L_LOGIN, NULL);
		return;
	}
	int dns = bufferevent_socket_get_dns_error(bev);
	char tls_why[CL_ERR_LEN] = "";
	if (l->tls)
		cl_tls_error(bev, tls_why);
	if (dns)
		snprintf(why, sizeof(why), "cannot resolve %s: %s", l->cfg->host, evutil_gai_strerror(dns));
	else if (tls_why[0])
		snprintf(why, sizeof(why), "tls: %.140s", tls_why);
	else if (what & BEV_EVENT_EOF)
		snprintf(why, sizeof(why), "closed by the PBX");
	else
		snprintf(why, sizeof(why), "%s", evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	link_down(l, why);
}

static void
link_connect(struct link *l)
{
	if (l->x->quiesced || l->bev)
		return;
	if (l->since_ms != 0)
		l->reconnects++;
	l->attempt_mono = mono_ms();
	set_state(l, L_CONNECTING, NULL);
	char err[CL_ERR_LEN];
	if (l->tls)
		l->bev = cl_tls_connect_bev(l->tls, l->x->srv->base, -1, l->cfg->host, err);
	else if ((l->bev = bufferevent_socket_new(l->x->srv->base, -1, BEV_OPT_CLOSE_ON_FREE)) == NULL)
		snprintf(err, sizeof(err), "out of memory");
	if (l->bev == NULL) {
		link_down(l, err);
		return;
	}
	bufferevent_setcb(l->bev, on_read, NULL, on_event, l);
	bufferevent_enable(l->bev, EV_READ | EV_WRITE);
	/* evdns resolves without blocking; a numeric host needs no lookup at all. */
	if (bufferevent_socket_connect_hostname(l->bev, l->x->dns, AF_UNSPEC, l->cfg->host, l->cfg->port) < 0)
		link_down(l, "cannot start the connection");
}

/* Every second: login deadlines, idle probes, dead links, stuck resyncs. */
static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct cl_pbx *x = arg;
	int64_t now = mono_ms();

	(void)fd, (void)what;
	for (int i = 0; i < x->n; i++) {
		struct link *l = x->links[i];
		if ((l->state == L_CONNECTING || l->state == L_LOGIN) && now - l->attempt_mono > LOGIN_TIMEOUT_MS) {
			link_down(l, l->state == L_LOGIN ? "login timed out" : "connect timed out");
			continue;
		}
		if (l->state != L_UP)
			continue;
		if (now - l->rx_mono > IDLE_DEAD_MS) {
			link_down(l, "silent for 30 s, probe unanswered");
			continue;
		}
		if (now - l->rx_mono > IDLE_PROBE_MS && !l->probe_sent) {
			l->probe_sent = 1;
			if (l->ami) {
				send_text(l, "Action: Ping\r\nActionID: callogd-ping\r\n\r\n");
			} else if (l->nwaits < MAX_WAITS) {
				l->waits[l->nwaits++] = W_PROBE;
				send_text(l, "api status\n\n");
			}
		}
		if (l->syncing && now - l->sync_mono > SYNC_TIMEOUT_MS) {
			log_warnx("msg=\"pbx resync given up: lists incomplete\" pbx=%s", l->cfg->name);
			l->syncing = 0;
		}
	}
}

/* ---- metrics ---- */

static void
series(struct evbuffer *b, const struct cl_pbx *x, const char *name, const char *type, const char *help,
       uint64_t (*value)(const struct link *))
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
	for (int i = 0; i < x->n; i++)
		evbuffer_add_printf(b, "%s{pbx=\"%s\"} %llu\n", name, x->links[i]->cfg->name,
		                    (unsigned long long)value(x->links[i]));
}

#define VALUE(fn, expr)                                                                                                \
	static uint64_t fn(const struct link *l)                                                                       \
	{                                                                                                              \
		return (uint64_t)(expr);                                                                               \
	}
VALUE(v_up, l->state == L_UP)
VALUE(v_since, l->since_ms / 1000)
VALUE(v_reconnects, l->reconnects)
VALUE(v_frames, l->frames)
VALUE(v_lines, l->lines)
VALUE(v_acked, l->acked)
VALUE(v_dups, l->duplicates)
VALUE(v_rejected, l->rejected)
VALUE(v_unknown, tstats(l)->unknown)
VALUE(v_malformed, tstats(l)->malformed)
VALUE(v_overlong, l->overlong)
VALUE(v_last, l->last_frame_ms / 1000)

static void
render(void *arg, struct evbuffer *b)
{
	struct cl_pbx *x = arg;

	if (x->n == 0)
		return;
	series(b, x, "callogd_pbx_up", "gauge", "1 when the PBX link is logged in.", v_up);
	evbuffer_add_printf(b, "# HELP callogd_pbx_info The PBX link's type, host and state.\n"
	                       "# TYPE callogd_pbx_info gauge\n");
	for (int i = 0; i < x->n; i++) {
		const struct link *l = x->links[i];
		evbuffer_add_printf(
		    b, "callogd_pbx_info{pbx=\"%s\",type=\"%s\",host=\"%s\",port=\"%d\",state=\"%s\",node=\"%s\"} 1\n",
		    l->cfg->name, l->ami ? "ami" : "esl", l->cfg->host, l->cfg->port, state_names[l->state],
		    cl_store_node());
	}
	series(b, x, "callogd_pbx_state_since_seconds", "gauge", "When the link entered its state (Unix time).",
	       v_since);
	series(b, x, "callogd_pbx_reconnects_total", "counter", "Connection attempts after the first.", v_reconnects);
	series(b, x, "callogd_pbx_frames_total", "counter", "Frames read from the PBX.", v_frames);
	series(b, x, "callogd_pbx_events_total", "counter", "Call events made from them.", v_lines);
	series(b, x, "callogd_pbx_events_acked_total", "counter", "Of those, committed.", v_acked);
	series(b, x, "callogd_pbx_events_duplicate_total", "counter", "Of those, already in the log.", v_dups);
	series(b, x, "callogd_pbx_events_rejected_total", "counter", "Of those, refused.", v_rejected);
	series(b, x, "callogd_pbx_frames_unknown_total", "counter", "Frames of a kind not translated, skipped.",
	       v_unknown);
	series(b, x, "callogd_pbx_frames_malformed_total", "counter", "Frames that could not be read, skipped.",
	       v_malformed);
	series(b, x, "callogd_pbx_overlong_total", "counter", "Links dropped for an over-long frame.", v_overlong);
	series(b, x, "callogd_pbx_last_frame_seconds", "gauge", "When the last frame was read (Unix time).", v_last);
}

/* ---- life cycle ---- */

static void
link_free(struct link *l)
{
	if (l == NULL)
		return;
	if (l->bev) {
		/* A polite goodbye, written straight to the socket (non-blocking, a few bytes): the
		 * bufferevent would drop it when freed. Only when nothing else waits to go out. */
		const char *bye = l->state != L_UP ? NULL
		                  : l->ami         ? "Action: Logoff\r\nActionID: callogd-logoff\r\n\r\n"
		                                   : "exit\n\n";
		if (bye && evbuffer_get_length(bufferevent_get_output(l->bev)) == 0 &&
		    send(bufferevent_getfd(l->bev), bye, strlen(bye), MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
			log_debug("msg=\"pbx goodbye not sent\" pbx=%s", l->cfg->name);
		bufferevent_free(l->bev);
	}
	if (l->retry)
		event_free(l->retry);
	cl_producer_release(l->prod);
	if (l->answers)
		evbuffer_free(l->answers);
	cl_pbx_framer_free(l->framer);
	cl_tls_client_free(l->tls);
	cl_ami_free(l->ami);
	cl_esl_free(l->esl);
	cl_pbx_out_free(&l->out);
	free(l);
}

static struct link *
link_new(struct cl_pbx *x, const struct cl_pbx_cfg *c)
{
	struct cl_server *srv = x->srv;
	struct link *l = calloc(1, sizeof(*l));

	if (l == NULL)
		return NULL;
	l->x = x;
	l->cfg = c;
	l->backoff_ms = BACKOFF_MIN_MS;
	cl_pbx_out_init(&l->out, OUT_MAX);
	if (c->type == CL_PBX_TYPE_AMI)
		l->ami = cl_ami_new(c->name, c->agent_id == CL_PBX_AGENT_INTERFACE ? CL_AMI_AGENT_INTERFACE
		                                                                   : CL_AMI_AGENT_MEMBERNAME);
	else
		l->esl = cl_esl_new(c->name);
	l->framer =
	    cl_pbx_framer_new(c->type == CL_PBX_TYPE_AMI ? CL_PBX_AMI : CL_PBX_ESL, (size_t)srv->cfg.events_max_line);
	l->answers = evbuffer_new();
	l->retry = evtimer_new(srv->base, on_retry, l);
	l->prod = cl_producer_new(srv, CL_PRODUCER_EVENTS, &link_ops, l);
	if (c->tls) {
		char err[CL_ERR_LEN];
		if ((l->tls = cl_tls_client_new(c->ca, err)) == NULL) {
			log_error("msg=\"pbx link not started\" pbx=%s error=\"%s\"", c->name, err);
			link_free(l);
			return NULL;
		}
	}
	if ((!l->ami && !l->esl) || !l->framer || !l->answers || !l->retry || !l->prod) {
		link_free(l);
		return NULL;
	}
	return l;
}

/* The DNS base and the tick, made once the first link exists. */
static int
pbx_timers(struct cl_pbx *x)
{
	const struct timeval second = {1, 0};

	/* Names are resolved by evdns, from resolv.conf and the hosts file, never by a blocking getaddrinfo. */
	if (x->dns == NULL && (x->dns = evdns_base_new(x->srv->base, EVDNS_BASE_INITIALIZE_NAMESERVERS)) == NULL &&
	    (x->dns = evdns_base_new(x->srv->base, 0)) == NULL)
		return -1;
	if (x->tick == NULL && ((x->tick = event_new(x->srv->base, -1, EV_PERSIST, on_tick, x)) == NULL ||
	                        event_add(x->tick, &second) < 0))
		return -1;
	return 0;
}

int
cl_pbx_reload(struct cl_pbx *x, char *err)
{
	const struct cl_config *cfg = &x->srv->cfg;
	int n_pbx = x->standby ? 0 : cfg->n_pbx;
	struct link **next = calloc((size_t)n_pbx + 1, sizeof(*next));
	int n = 0, changed = 0;

	if (next == NULL || (n_pbx > 0 && pbx_timers(x) < 0)) {
		free(next);
		snprintf(err, CL_ERR_LEN, "PBX links: out of memory");
		return -1;
	}
	for (int i = 0; i < n_pbx; i++) {
		const struct cl_pbx_cfg *c = &cfg->pbx[i];
		struct link *l = NULL;
		for (int k = 0; k < x->n && l == NULL; k++) {
			if (x->links[k] && cl_pbx_cfg_equal(x->links[k]->cfg, c)) {
				l = x->links[k]; /* unchanged: keeps its connection and its state */
				x->links[k] = NULL;
			}
		}
		if (l == NULL) {
			if ((l = link_new(x, c)) == NULL) {
				log_error("msg=\"pbx link not started\" pbx=%s", c->name);
				continue;
			}
			l->fresh = 1;
			changed++;
		}
		l->cfg = c;
		next[n++] = l;
	}
	for (int k = 0; k < x->n; k++) {
		if (x->links[k]) {
			log_info("msg=\"pbx link removed\" pbx=%s", x->links[k]->cfg->name);
			link_free(x->links[k]);
			changed++;
		}
	}
	free(x->links);
	x->links = next;
	x->n = n;
	for (int i = 0; i < x->n; i++) {
		struct link *l = x->links[i];
		if (l->fresh) {
			l->fresh = 0;
			log_info("msg=\"pbx link added\" pbx=%s type=%s host=%s port=%d", l->cfg->name,
			         l->ami ? "ami" : "esl", l->cfg->host, l->cfg->port);
			link_connect(l);
		}
	}
	return changed;
}

struct cl_pbx *
cl_pbx_start(struct cl_server *srv, char *err)
{
	struct cl_pbx *x = calloc(1, sizeof(*x));

	if (x == NULL) {
		snprintf(err, CL_ERR_LEN, "PBX links: out of memory");
		return NULL;
	}
	x->srv = srv;
	x->standby = !cl_cluster_leader(srv->cluster);
	if (cl_pbx_reload(x, err) < 0) {
		cl_pbx_free(x);
		return NULL;
	}
	srv->m.render_more = render;
	srv->m.render_more_arg = x;
	return x;
}

void
cl_pbx_standby(struct cl_pbx *x, int standby)
{
	char err[CL_ERR_LEN];

	if (x == NULL || x->standby == standby)
		return;
	x->standby = standby;
	if (!x->quiesced && cl_pbx_reload(x, err) < 0)
		log_error("msg=\"pbx links not changed\" error=\"%s\"", err);
}

void
cl_pbx_quiesce(struct cl_pbx *x)
{
	if (x == NULL)
		return;
	x->quiesced = 1;
	for (int i = 0; i < x->n; i++) {
		struct link *l = x->links[i];
		if (l->bev)
			bufferevent_disable(l->bev, EV_READ);
		evtimer_del(l->retry);
	}
}

void
cl_pbx_free(struct cl_pbx *x)
{
	if (x == NULL)
		return;
	if (x->srv->m.render_more_arg == x)
		x->srv->m.render_more = NULL;
	for (int i = 0; i < x->n; i++)
		link_free(x->links[i]);
	if (x->tick)
		event_free(x->tick);
	if (x->dns)
		evdns_base_free(x->dns, 0);
	free(x->links);
	free(x);
}
