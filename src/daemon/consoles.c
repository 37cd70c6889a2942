/* consoles.c : owns agent console sessions on agents.unix / agents.tcp: the
 * hello, the pops written to them, and their wrap-up and state messages. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <jansson.h>

#include "callogd/calls.h"
#include "callogd/consoles.h"
#include "callogd/customers.h"
#include "callogd/daemon.h"
#include "callogd/ingest.h"
#include "callogd/lines.h"
#include "callogd/log.h"
#include "callogd/net.h"
#include "callogd/pops.h"
#include "callogd/store.h"
#include "callogd/util.h"
#include "callogd/views.h"
#include "callogd/workers.h"

#define CONSOLE_MAX_LINE 16384
#define HELLO_TIMEOUT_S 10

#define TOKEN_MAX 128 /* a longer token is a wrong one */

struct hello_job;
struct check_job;

struct cl_console {
	struct cl_console *next, *prev; /* srv->consoles */
	struct cl_server *srv;
	struct bufferevent *bev;
	struct cl_sub sub;
	struct cl_producer *p;
	struct hello_job *hello; /* the token check running on a worker; lines wait for it */
	struct check_job *check; /* a message's database checks on a worker; lines wait for them */
	struct event *deadline;  /* the welcome must come by then, however slowly the hello trickles in */
	struct cl_lines lines;
	int welcomed;
	int dead;   /* dropped: freed from the loop, never from inside a callback chain */
	int paused; /* reading waits for answers to go out (cl_producer_may_read) */
};

/* A hello's token check; the console may be gone (c NULL) when it comes back. */
struct hello_job {
	struct cl_job job;
	struct cl_console *c;
	char agent[CL_ID_MAX + 1];
	char token[TOKEN_MAX + 1];
	int ok;
};

/* A message's database checks (cl_consoles_gather); the console may be gone (c NULL) when they come back. */
struct check_job {
	struct cl_job job;
	struct cl_console *c;
	json_t *msg; /* the loop's; the worker only reads it */
	char agent[CL_ID_MAX + 1];
	struct cl_msg_facts facts;
};

static void console_read(struct bufferevent *bev, void *arg);

static void
console_free(struct cl_console *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		c->srv->consoles = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->srv->m.connections[CL_CONN_CONSOLE]--;
	if (c->deadline)
		event_free(c->deadline);
	if (c->hello)
		c->hello->c = NULL;
	if (c->check)
		c->check->c = NULL;
	if (c->welcomed && !c->dead)
		cl_pops_unsubscribe(c->srv->pops, &c->sub);
	cl_producer_release(c->p);
	bufferevent_free(c->bev);
	free(c);
}

static void
console_free_later(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	console_free(arg);
}

/* Called by pops after it unlinked the subscriber: close without touching pops again. */
static void
console_drop(struct cl_sub *s)
{
	struct cl_console *c = (struct cl_console *)((char *)s - offsetof(struct cl_console, sub));

	struct linger lg = {1, 0};

	if (c->dead)
		return;
	c->dead = 1;
	bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	/* Reset rather than close: what the kernel still holds for it is dropped too. */
	setsockopt(bufferevent_getfd(c->bev), SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	if (event_base_once(c->srv->base, -1, EV_TIMEOUT, console_free_later, c, NULL) < 0)
		log_warnx("msg=\"cannot schedule console close\"");
}

/* Its answers (pongs, oks, errors) count against agents.max_output like pops: past it, it is dropped. */
static int
console_over(struct cl_console *c)
{
	if (c->dead || !c->welcomed ||
	    evbuffer_get_length(bufferevent_get_output(c->bev)) <= (size_t)c->srv->cfg.agents_max_output)
		return c->dead;
	c->srv->m.slow_consoles_dropped++;
	log_warnx("msg=\"console dropped: its answers are not read\" agent=\"%s\"", c->sub.agent);
	cl_pops_unsubscribe(c->srv->pops, &c->sub);
	console_drop(&c->sub);
	return 1;
}

static int
console_send(struct cl_sub *s, int64_t seq, const char *type, const char *json, size_t len)
{
	struct cl_console *c = (struct cl_console *)((char *)s - offsetof(struct cl_console, sub));
	struct evbuffer *out = bufferevent_get_output(c->bev);

	(void)seq;
	(void)type;
	if (c->dead)
		return 0;
	/* A console that does not read is dropped, never waited for. */
	if (evbuffer_get_length(out) + len > (size_t)c->srv->cfg.agents_max_output)
		return -1;
	struct iovec iov[2] = {{(void *)json, len}, {"\n", 1}};
	cl_bev_writev_now(c->bev, iov, 2);
	return 0;
}

static void
console_write_line(struct cl_console *c, const char *line)
{
	cl_bev_write_now(c->bev, line, strlen(line));
}

static struct evbuffer *
console_out(void *owner)
{
	return bufferevent_get_output(((struct cl_console *)owner)->bev);
}

static void
console_flushed(void *owner)
{
	struct cl_console *c = owner;

	cl_bev_write_now(c->bev, NULL, 0);
	if (console_over(c))
		return;
	if (c->paused && !c->dead && cl_producer_may_read(c->p)) {
		c->paused = 0;
		bufferevent_enable(c->bev, EV_READ);
		/* Lines may be buffered already; read them from the loop, not from inside a flush. */
		bufferevent_trigger(c->bev, EV_READ, BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
	}
}

static const struct cl_producer_ops console_ops = {console_out, console_flushed};

/* A console that failed its hello: told so, then closed once that is written. */
static void
console_refuse(struct cl_console *c)
{
	c->srv->m.errors[CL_EVERR_AUTH]++;
	console_write_line(c, "{\"type\":\"error\",\"code\":\"auth\"}\n");
	c->dead = 1; /* never subscribed: close once the error is out */
	bufferevent_disable(c->bev, EV_READ);
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		console_free(c);
}

static void
hello_run(struct cl_job *job, struct cl_worker_ctx *ctx)
{
	struct hello_job *h = (struct hello_job *)job;

	h->ok = cl_store_agent_check(ctx->st, h->agent, h->token) == 1;
}

/* On the loop: welcome (then the lines that waited), or refuse. */
static void
hello_done(struct cl_job *job, int status)
{
	struct hello_job *h = (struct hello_job *)job;
	struct cl_console *c = h->c;
	char line[CL_ID_MAX * 6 + 64];
	json_t *w;
	char *s;

	if (c == NULL)
		goto done; /* the console went away meanwhile */
	c->hello = NULL;
	if (status != CL_JOB_RAN || !h->ok) {
		console_refuse(c);
		goto done;
	}
	snprintf(c->sub.agent, sizeof(c->sub.agent), "%s", h->agent);
	cl_agent_gen_of_token(h->token, c->sub.gen); /* closed when the agent's token changes */
	c->welcomed = 1;
	if (c->deadline) {
		event_free(c->deadline);
		c->deadline = NULL;
	}
	bufferevent_set_timeouts(c->bev, NULL, NULL);
	if (c->srv->cfg.agents_idle_timeout > 0) {
		struct timeval tv = {c->srv->cfg.agents_idle_timeout, 0};
		bufferevent_set_timeouts(c->bev, &tv, NULL);
	}
	w = json_pack("{s:s, s:s}", "type", "welcome", "agent", h->agent);
	s = w ? json_dumps(w, JSON_COMPACT) : NULL;
	json_decref(w);
	snprintf(line, sizeof(line), "%s\n", s ? s : "{\"type\":\"welcome\"}");
	free(s);
	console_write_line(c, line);
	log_info("msg=\"console connected\" agent=\"%s\"", h->agent);
	cl_pops_subscribe(c->srv->pops, &c->sub, -1);
	if (!c->dead) {
		bufferevent_enable(c->bev, EV_READ);
		console_read(c->bev, c); /* lines that came after the hello are buffered already */
	}
done:
	free(h);
}

/* Starts the hello's token check on a worker; -1 when the hello is malformed or cannot be checked. */
static int
console_hello(struct cl_console *c, json_t *j)
{
	const char *type = json_string_value(json_object_get(j, "type"));
	const char *agent = json_string_value(json_object_get(j, "agent"));
	const char *token = json_string_value(json_object_get(j, "token"));
	char err[CL_ERR_LEN];
	struct hello_job *h;

	if (!type || strcmp(type, "hello") != 0 || !agent || !token || strlen(agent) == 0 ||
	    strlen(agent) > CL_ID_MAX || strlen(token) > TOKEN_MAX || (h = calloc(1, sizeof(*h))) == NULL)
		return -1;
	h->job.run = hello_run;
	h->job.done = hello_done;
	h->c = c;
	snprintf(h->agent, sizeof(h->agent), "%s", agent);
	snprintf(h->token, sizeof(h->token), "%s", token);
	if (cl_workers_submit(c->srv->workers, &h->job, CL_JOB_HIGH, err) < 0) {
		log_warnx("msg=\"console hello not checked\" error=\"%s\"", err);
		free(h);
		return -1;
	}
	c->hello = h;
	bufferevent_disable(c->bev, EV_READ); /* more lines wait in the buffer */
	return 0;
}

void
cl_consoles_gather(struct cl_store *st, const char *agent, const char *call_id, const char *customer_id,
                   struct cl_msg_facts *f)
{
	struct cl_call c;
	json_t *cust;
	int rc = 0;

	memset(f, 0, sizeof(*f));
	memset(&c, 0, sizeof(c));
	/* Older than what pops remembers (or before a restart): the record says who answered. */
	if (call_id != NULL && (rc = cl_store_get_call(st, call_id, &c, f->call_err)) == 1)
		for (int i = 0; i < c.n_agents && !f->on_record; i++)
			f->on_record = strcmp(c.agents[i], agent) == 0;
	if (rc >= 0)
		f->call_err[0] = '\0';
	cl_call_clear(&c);
	if (customer_id != NULL) {
		cust = cl_view_get_customer(st, customer_id, f->err);
		f->customer = cust != NULL ? 1 : f->err[0] ? -1 : 0;
		json_decref(cust);
	}
}

int
cl_consoles_call_allowed(struct cl_server *srv, const char *agent, const char *call_id, unsigned need,
                         const struct cl_msg_facts *f)
{
	return (cl_pops_agent_call(srv->pops, agent, call_id) & need) || (f != NULL && f->on_record);
}

static const char *
str_member(json_t *j, const char *name)
{
	return json_string_value(json_object_get(j, name));
}

/* A message refused for a call: forbidden, or a storage error when the call's record could not be read. */
static char *
refused(const struct cl_msg_facts *f, enum cl_event_error *code, char *why, const char *forbidden)
{
	int failed = f != NULL && f->call_err[0] != '\0';

	*code = failed ? CL_EVERR_STORAGE : CL_EVERR_FORBIDDEN;
	snprintf(why, CL_ERR_LEN, "%s", failed ? f->call_err : forbidden);
	return NULL;
}

int
cl_consoles_needs_facts(struct cl_server *srv, const char *agent, json_t *msg, int admin)
{
	const char *type = str_member(msg, "type"), *call_id = str_member(msg, "call_id");

	if (type == NULL || call_id == NULL)
		return 0; /* refused without them */
	if (strcmp(type, "select") == 0)
		return 1;
	return strcmp(type, "disposition") == 0 && !admin &&
	       !cl_consoles_call_allowed(srv, agent, call_id, CL_AC_ANSWERED, NULL);
}

char *
cl_consoles_event(struct cl_server *srv, const char *agent, json_t *msg, int admin, const struct cl_msg_facts *f,
                  enum cl_event_error *code, char *why)
{
	const char *type = str_member(msg, "type"), *call_id = str_member(msg, "call_id");
	json_t *ev = NULL;
	char *line;

	*code = CL_EVERR_BAD_EVENT;
	if (type == NULL) {
		snprintf(why, CL_ERR_LEN, "\"type\" must be a string");
		return NULL;
	}
	if (strcmp(type, "disposition") == 0) {
		const char *dcode = str_member(msg, "code");
		if (call_id == NULL || dcode == NULL) {
			snprintf(why, CL_ERR_LEN, "\"call_id\" and \"code\" must be strings");
			return NULL;
		}
		if (!admin && !cl_config_has_code(srv->cfg.disposition_codes, dcode)) {
			*code = CL_EVERR_BAD_CODE;
			snprintf(why, CL_ERR_LEN, "\"code\" must be one of dispositions.codes (GET /api/dispositions)");
			return NULL;
		}
		if (!admin && !cl_consoles_call_allowed(srv, agent, call_id, CL_AC_ANSWERED, f))
			return refused(f, code, why, "a wrap-up is only for a call this agent answered");
		ev = json_pack("{s:s, s:s, s:s, s:s}", "type", "call.disposition", "call_id", call_id, "agent", agent,
		               "code", dcode);
		if (ev && json_object_get(msg, "notes"))
			json_object_set(ev, "notes", json_object_get(msg, "notes"));
	} else if (strcmp(type, "state") == 0) {
		ev = json_pack("{s:s, s:s, s:O}", "type", "agent.state", "agent", agent, "state",
		               json_object_get(msg, "state") ? json_object_get(msg, "state") : json_null());
		if (ev && json_object_get(msg, "reason"))
			json_object_set(ev, "reason", json_object_get(msg, "reason"));
	} else if (strcmp(type, "select") == 0) {
		const char *cid = str_member(msg, "customer_id");
		if (call_id == NULL || cid == NULL) {
			snprintf(why, CL_ERR_LEN, "\"call_id\" and \"customer_id\" must be strings");
			return NULL;
		}
		if (!admin && !cl_consoles_call_allowed(srv, agent, call_id, CL_AC_RANG | CL_AC_ANSWERED, f))
			return refused(f, code, why, "select is only for a call that rang or reached this agent");
		/* A local customer, or one of the CRM's candidates for this call (docs/crm.md). */
		json_t *crm = f != NULL && f->customer == 0 ? cl_pops_crm_contact(srv->pops, call_id, cid) : NULL;
		int is_crm = crm != NULL;
		json_decref(crm);
		if ((f == NULL || f->customer != 1) && !is_crm) {
			snprintf(why, CL_ERR_LEN, "%s", f && f->customer < 0 ? f->err : "no such customer");
			*code = f && f->customer < 0 ? CL_EVERR_STORAGE : CL_EVERR_BAD_EVENT;
			return NULL;
		}
		ev = json_pack("{s:s, s:s, s:s, s:s}", "type", "customer.set", "call_id", call_id, "customer_id", cid,
		               "agent", agent);
	} else {
		*code = CL_EVERR_UNKNOWN_TYPE;
		snprintf(why, CL_ERR_LEN, "console messages are disposition, state, select, ping");
		return NULL;
	}
	line = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
	json_decref(ev);
	if (line == NULL)
		snprintf(why, CL_ERR_LEN, "invalid message");
	return line;
}

/* Turns a console's message into the producer event it stands for, validated like a PBX's. */
static void
console_message_checked(struct cl_console *c, json_t *j, const struct cl_msg_facts *f)
{
	enum cl_event_error code;
	char why[CL_ERR_LEN], *line;

	if ((line = cl_consoles_event(c->srv, c->sub.agent, j, 0, f, &code, why)) == NULL) {
		cl_ingest_reject(c->p, code, NULL, why);
		return;
	}
	cl_ingest_line(c->p, line, strlen(line));
	free(line);
}

static void
check_run(struct cl_job *job, struct cl_worker_ctx *ctx)
{
	struct check_job *k = (struct check_job *)job;

	cl_consoles_gather(ctx->st, k->agent, json_string_value(json_object_get(k->msg, "call_id")),
	                   json_string_value(json_object_get(k->msg, "customer_id")), &k->facts);
}

/* On the loop: the message answered with its facts, then the lines that waited. */
static void
check_done(struct cl_job *job, int status)
{
	struct check_job *k = (struct check_job *)job;
	struct cl_console *c = k->c;

	if (c != NULL) {
		c->check = NULL;
		if (status != CL_JOB_RAN) {
			k->facts.customer = -1;
			snprintf(k->facts.err, sizeof(k->facts.err), "stopping");
		}
		if (!c->dead) {
			console_message_checked(c, k->msg, &k->facts);
			bufferevent_enable(c->bev, EV_READ);
			console_read(c->bev, c);
		}
	}
	json_decref(k->msg);
	free(k);
}

static void
console_message(struct cl_console *c, json_t *j)
{
	const char *type = json_string_value(json_object_get(j, "type"));
	char err[CL_ERR_LEN];
	struct check_job *k;

	if (type != NULL && strcmp(type, "ping") == 0) {
		cl_ingest_answer(c->p, "{\"type\":\"pong\"}\n"); /* after the answers to the lines before it */
		return;
	}
	if (!cl_consoles_needs_facts(c->srv, c->sub.agent, j, 0)) {
		console_message_checked(c, j, NULL);
		return;
	}
	/* The database is read on a worker; later lines wait in the buffer, keeping their order. */
	if ((k = calloc(1, sizeof(*k))) == NULL) {
		cl_ingest_reject(c->p, CL_EVERR_STORAGE, NULL, "out of memory");
		return;
	}
	k->job.run = check_run;
	k->job.done = check_done;
	k->c = c;
	k->msg = json_incref(j);
	snprintf(k->agent, sizeof(k->agent), "%s", c->sub.agent);
	if (cl_workers_submit(c->srv->workers, &k->job, CL_JOB_HIGH, err) < 0) {
		json_decref(k->msg);
		free(k);
		cl_ingest_reject(c->p, CL_EVERR_STORAGE, NULL, "busy: the message could not be checked, send it again");
		return;
	}
	c->check = k;
	bufferevent_disable(c->bev, EV_READ);
}

static void
console_read(struct bufferevent *bev, void *arg)
{
	struct cl_console *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	while (!console_over(c) && c->hello == NULL && c->check == NULL) {
		size_t len;
		char *line;
		int st;
		json_t *j;
		if (!cl_producer_may_read(c->p)) { /* every line must be sure of its answer */
			c->paused = 1;
			bufferevent_disable(bev, EV_READ);
			return;
		}
		st = cl_lines_next(&c->lines, in, 0, &line, &len);
		if (st == CL_LINE_MORE)
			return;
		if (st != CL_LINE_OK) { /* one answer, and the line's tail is dropped unread */
			enum cl_event_error code = st == CL_LINE_TOO_LONG ? CL_EVERR_TOO_LONG : CL_EVERR_STORAGE;
			const char *msg = st == CL_LINE_TOO_LONG ? "line too long" : "out of memory";
			if (c->welcomed)
				cl_ingest_reject(c->p, code, NULL, msg);
			else
				console_write_line(c, st == CL_LINE_TOO_LONG
				                          ? "{\"type\":\"error\",\"code\":\"too_long\"}\n"
				                          : "{\"type\":\"error\",\"code\":\"storage\"}\n");
			continue;
		}
		j = cl_utf8_valid(line, len) ? json_loadb(line, len, 0, NULL) : NULL;
		cl_lines_done(&c->lines, in);
		if (!c->welcomed) {
			if (j == NULL || !json_is_object(j) || console_hello(c, j) < 0) {
				json_decref(j);
				console_refuse(c);
				return;
			}
		} else if (j == NULL || !json_is_object(j)) {
			cl_ingest_reject(c->p, CL_EVERR_BAD_JSON, NULL, "not a JSON object");
		} else {
			console_message(c, j);
		}
		json_decref(j);
	}
}

static void
console_write(struct bufferevent *bev, void *arg)
{
	struct cl_console *c = arg;

	(void)bev;
	if (c->dead && !c->welcomed)
		console_free(c);
}

static void
console_event(struct bufferevent *bev, short what, void *arg)
{
	struct cl_console *c = arg;

	(void)bev;
	if (what == BEV_EVENT_CONNECTED) /* a TLS handshake finished */
		return;
	if (c->welcomed)
		log_info("msg=\"console disconnected\" agent=\"%s\"", c->sub.agent);
	if (c->dead && c->welcomed)
		return; /* already scheduled for freeing */
	console_free(c);
}

static void
console_hello_expired(evutil_socket_t fd, short what, void *arg)
{
	struct cl_console *c = arg;

	(void)fd;
	(void)what;
	event_free(c->deadline);
	c->deadline = NULL;
	if (c->dead || c->welcomed)
		return;
	log_info("msg=\"console sent no hello in time, closed\" seconds=%d", HELLO_TIMEOUT_S);
	console_free(c);
}

void
cl_consoles_accept(evutil_socket_t fd, struct cl_tls_server *tls, void *arg)
{
	struct cl_server *srv = arg;
	struct cl_console *c = calloc(1, sizeof(*c));
	struct timeval tv = {HELLO_TIMEOUT_S, 0};

	if (c == NULL || cl_producer_accept(srv, fd, tls, CL_CONN_CONSOLE, CL_PRODUCER_CONSOLE, &console_ops, c,
	                                    &c->bev, &c->p) < 0) {
		if (c == NULL)
			evutil_closesocket(fd);
		free(c);
		return;
	}
	c->srv = srv;
	c->sub.send = console_send;
	c->sub.drop = console_drop;
	c->sub.kind = CL_CONN_CONSOLE;
	c->next = srv->consoles;
	if (c->next)
		c->next->prev = c;
	srv->consoles = c;
	cl_lines_init(&c->lines, CONSOLE_MAX_LINE);
	bufferevent_setwatermark(c->bev, EV_READ, 0, cl_lines_watermark(&c->lines));
	bufferevent_setcb(c->bev, console_read, console_write, console_event, c);
	/* Absolute, not a read timeout: one byte every few seconds must not keep a slot. */
	if ((c->deadline = evtimer_new(srv->base, console_hello_expired, c)) == NULL ||
	    evtimer_add(c->deadline, &tv) < 0) {
		console_free(c);
		return;
	}
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

void
cl_consoles_close_all(struct cl_server *srv)
{
	while (srv->consoles)
		console_free(srv->consoles);
}
