/* httpc.c : owns outbound HTTP: libcurl's multi interface on libevent, with
 * our own slot limit and wait queue. */
#include "callogd/httpc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

struct xfer {
	struct xfer *next, *prev; /* in the queue or the in-flight list */
	struct cl_httpc *c;
	CURL *easy;
	struct curl_slist *headers;
	char *url, *body; /* copies */
	size_t body_len;
	char method[8];
	long timeout_ms;
	size_t max_body;
	char *ca;
	char *buf; /* the answer so far */
	size_t len, cap;
	int too_large;
	char errbuf[CURL_ERROR_SIZE];
	cl_httpc_done_fn done;
	void *arg;
};

struct xlist {
	struct xfer *head, *tail;
	size_t n;
};

struct cl_httpc {
	struct event_base *base;
	CURLM *multi;
	struct event *timer;
	struct xlist queue, flight;
	int max;
};

/* One per socket curl watches; freed when curl says CURL_POLL_REMOVE. */
struct sock {
	struct cl_httpc *c;
	struct event *ev;
};

static void
xlist_push(struct xlist *l, struct xfer *x)
{
	x->next = NULL;
	x->prev = l->tail;
	if (l->tail)
		l->tail->next = x;
	else
		l->head = x;
	l->tail = x;
	l->n++;
}

static void
xlist_remove(struct xlist *l, struct xfer *x)
{
	if (x->prev)
		x->prev->next = x->next;
	else
		l->head = x->next;
	if (x->next)
		x->next->prev = x->prev;
	else
		l->tail = x->prev;
	x->next = x->prev = NULL;
	l->n--;
}

static void
xfer_free(struct xfer *x)
{
	if (!x)
		return;
	if (x->easy)
		curl_easy_cleanup(x->easy);
	curl_slist_free_all(x->headers);
	free(x->url);
	free(x->body);
	free(x->ca);
	free(x->buf);
	free(x);
}

static size_t
on_data(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct xfer *x = arg;
	size_t n = size * nmemb;

	if (n > x->max_body - x->len) {
		x->too_large = 1;
		return 0; /* curl ends the transfer with CURLE_WRITE_ERROR */
	}
	if (x->len + n + 1 > x->cap) {
		size_t cap = x->cap ? x->cap : 4096;
		while (cap < x->len + n + 1)
			cap *= 2;
		if (cap > x->max_body + 1)
			cap = x->max_body + 1;
		char *b = realloc(x->buf, cap);
		if (!b)
			return 0;
		x->buf = b;
		x->cap = cap;
	}
	memcpy(x->buf + x->len, ptr, n);
	x->len += n;
	x->buf[x->len] = '\0';
	return n;
}

/* Ends x (already off every list) with its answer, then frees it. */
static void
finish(struct xfer *x, CURLcode code)
{
	struct cl_httpc_resp r;
	double secs = 0;

	memset(&r, 0, sizeof(r));
	r.body = x->buf ? x->buf : "";
	r.body_len = x->len;
	if (x->easy && curl_easy_getinfo(x->easy, CURLINFO_TOTAL_TIME, &secs) == CURLE_OK)
		r.total_ms = secs * 1000.0;
	if (code == CURLE_OK) {
		r.result = CL_HTTPC_OK;
		curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &r.status);
	} else if (x->too_large || code == CURLE_FILESIZE_EXCEEDED) {
		r.result = CL_HTTPC_TOO_LARGE;
		snprintf(r.err, sizeof(r.err), "answer larger than %zu bytes", x->max_body);
	} else if (code == CURLE_OPERATION_TIMEDOUT) {
		r.result = CL_HTTPC_TIMEOUT;
		snprintf(r.err, sizeof(r.err), "no answer within %ld ms", x->timeout_ms);
	} else if (code == CURLE_COULDNT_RESOLVE_HOST || code == CURLE_COULDNT_CONNECT || code == CURLE_SEND_ERROR ||
	           code == CURLE_RECV_ERROR || code == CURLE_SSL_CONNECT_ERROR ||
	           code == CURLE_PEER_FAILED_VERIFICATION || code == CURLE_GOT_NOTHING) {
		r.result = CL_HTTPC_CONNECT;
		snprintf(r.err, sizeof(r.err), "%s", x->errbuf[0] ? x->errbuf : curl_easy_strerror(code));
	} else if (code == (CURLcode)-1) {
		r.result = CL_HTTPC_CANCELLED;
		snprintf(r.err, sizeof(r.err), "cancelled");
	} else {
		r.result = CL_HTTPC_ERROR;
		snprintf(r.err, sizeof(r.err), "%s", x->errbuf[0] ? x->errbuf : curl_easy_strerror(code));
	}
	x->done(&r, x->arg);
	xfer_free(x);
}

static int
start(struct cl_httpc *c, struct xfer *x)
{
	CURL *e = curl_easy_init();

	if (!e)
		return -1;
	x->easy = e;
	curl_easy_setopt(e, CURLOPT_URL, x->url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, x);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, x->timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, x->timeout_ms);
	curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)x->max_body);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "callogd/" CALLOGD_VERSION);
	if (x->ca)
		curl_easy_setopt(e, CURLOPT_CAINFO, x->ca);
	if (x->headers)
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->headers);
	if (strcmp(x->method, "POST") == 0) {
		curl_easy_setopt(e, CURLOPT_POST, 1L);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, x->body ? x->body : "");
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x->body_len);
	}
	if (curl_multi_add_handle(c->multi, e) != CURLM_OK)
		return -1;
	xlist_push(&c->flight, x);
	return 0;
}

/* Starts queued requests while there are free slots. */
static void
fill_slots(struct cl_httpc *c)
{
	while (c->queue.head && c->flight.n < (size_t)c->max) {
		struct xfer *x = c->queue.head;
		xlist_remove(&c->queue, x);
		if (start(c, x) < 0) {
			snprintf(x->errbuf, sizeof(x->errbuf), "cannot start the request");
			finish(x, CURLE_OUT_OF_MEMORY);
		}
	}
}

static void
reap(struct cl_httpc *c)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(c->multi, &left))) {
		if (m->msg != CURLMSG_DONE)
			continue;
		struct xfer *x = NULL;
		CURLcode code = m->data.result;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
		curl_multi_remove_handle(c->multi, m->easy_handle);
		xlist_remove(&c->flight, x);
		finish(x, code);
	}
	fill_slots(c);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct cl_httpc *c = arg;
	int running;

	(void)fd;
	(void)what;
	curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	reap(c);
}

static int
set_timer(CURLM *multi, long ms, void *arg)
{
	struct cl_httpc *c = arg;
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	(void)multi;
	if (ms < 0)
		evtimer_del(c->timer);
	else
		evtimer_add(c->timer, &tv);
	return 0;
}

static void
on_socket(evutil_socket_t fd, short what, void *arg)
{
	struct cl_httpc *c = arg;
	int running, flags = (what & EV_READ ? CURL_CSELECT_IN : 0) | (what & EV_WRITE ? CURL_CSELECT_OUT : 0);

	curl_multi_socket_action(c->multi, fd, flags, &running);
	reap(c);
}

static int
watch(CURL *easy, curl_socket_t fd, int what, void *arg, void *sockp)
{
	struct cl_httpc *c = arg;
	struct sock *s = sockp;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (s) {
			event_free(s->ev);
			free(s);
			curl_multi_assign(c->multi, fd, NULL);
		}
		return 0;
	}
	if (!s) {
		if (!(s = calloc(1, sizeof(*s))))
			return -1;
		s->c = c;
		curl_multi_assign(c->multi, fd, s);
	} else {
		event_free(s->ev);
	}
	short ev = EV_PERSIST | (what & CURL_POLL_IN ? EV_READ : 0) | (what & CURL_POLL_OUT ? EV_WRITE : 0);
	if (!(s->ev = event_new(c->base, fd, ev, on_socket, c)) || event_add(s->ev, NULL) < 0)
		return -1;
	return 0;
}

struct cl_httpc *
cl_httpc_new(struct event_base *base, int max_concurrent, char *err)
{
	struct cl_httpc *c;
	const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);

	if (max_concurrent < 1 || max_concurrent > 1024) {
		snprintf(err, CL_ERR_LEN, "httpc: max_concurrent must be 1..1024");
		return NULL;
	}
	/* A resolver that blocks would block the loop: refuse such a libcurl. */
	if (!(v->features & CURL_VERSION_ASYNCHDNS)) {
		snprintf(err, CL_ERR_LEN, "httpc: libcurl %s has no asynchronous resolver", v->version);
		return NULL;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !(c = calloc(1, sizeof(*c)))) {
		snprintf(err, CL_ERR_LEN, "httpc: cannot initialise libcurl");
		return NULL;
	}
	c->base = base;
	c->max = max_concurrent;
	if (!(c->multi = curl_multi_init()) || !(c->timer = evtimer_new(base, on_timer, c))) {
		snprintf(err, CL_ERR_LEN, "httpc: out of memory");
		cl_httpc_free(c);
		return NULL;
	}
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, watch);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, set_timer);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
	return c;
}

void
cl_httpc_free(struct cl_httpc *c)
{
	struct xfer *x;

	if (!c)
		return;
	while ((x = c->queue.head)) {
		xlist_remove(&c->queue, x);
		finish(x, (CURLcode)-1);
	}
	while ((x = c->flight.head)) {
		xlist_remove(&c->flight, x);
		curl_multi_remove_handle(c->multi, x->easy);
		finish(x, (CURLcode)-1);
	}
	if (c->multi)
		curl_multi_cleanup(c->multi);
	if (c->timer)
		event_free(c->timer);
	free(c);
	curl_global_cleanup();
}

int
cl_httpc_request(struct cl_httpc *c, const struct cl_httpc_req *req, cl_httpc_done_fn done, void *arg, char *err)
{
	struct xfer *x = NULL;
	const char *method = req->method ? req->method : "GET";

	if (!req->url || (strncmp(req->url, "http://", 7) != 0 && strncmp(req->url, "https://", 8) != 0)) {
		snprintf(err, CL_ERR_LEN, "httpc: the URL must be http:// or https://");
		return -1;
	}
	if ((strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0) || req->timeout_ms <= 0 || req->max_body == 0) {
		snprintf(err, CL_ERR_LEN, "httpc: bad method, timeout or body bound");
		return -1;
	}
	if (c->queue.n >= CL_HTTPC_MAX_QUEUE) {
		snprintf(err, CL_ERR_LEN, "httpc: %d requests wait already", CL_HTTPC_MAX_QUEUE);
		return -1;
	}
	if (!(x = calloc(1, sizeof(*x))) || !(x->url = strdup(req->url)))
		goto oom;
	if (req->body_len && !(x->body = cl_strndup(req->body, req->body_len)))
		goto oom;
	if (req->ca && !(x->ca = strdup(req->ca)))
		goto oom;
	for (const char *const *h = req->headers; h && *h; h++) {
		struct curl_slist *l = curl_slist_append(x->headers, *h);
		if (!l)
			goto oom;
		x->headers = l;
	}
	snprintf(x->method, sizeof(x->method), "%s", method);
	x->c = c;
	x->body_len = req->body_len;
	x->timeout_ms = req->timeout_ms;
	x->max_body = req->max_body;
	x->done = done;
	x->arg = arg;
	/* Always through the queue: done is never called before this returns. */
	xlist_push(&c->queue, x);
	if (c->flight.n < (size_t)c->max) {
		struct timeval now = {0, 0};
		evtimer_add(c->timer, &now);
	}
	return 0;
oom:
	xfer_free(x);
	snprintf(err, CL_ERR_LEN, "httpc: out of memory");
	return -1;
}

size_t
cl_httpc_in_flight(const struct cl_httpc *c)
{
	return c->flight.n;
}

size_t
cl_httpc_queued(const struct cl_httpc *c)
{
	return c->queue.n;
}
