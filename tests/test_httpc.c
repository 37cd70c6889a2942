/* test_httpc.c : the loop's HTTP client against a real HTTP server on
 * loopback (libevent's evhttp, in the same loop): answers, statuses, bounds,
 * deadlines, refused connections and the in-flight cap. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "callogd/httpc.h"
#include "testutil.h"

static struct event_base *base;
static int port;
static int slow_seen;
static struct evhttp_request *parked[16];
static int nparked;

static void
handle(struct evhttp_request *req, void *arg)
{
	const char *uri = evhttp_request_get_uri(req);
	struct evbuffer *out = evbuffer_new();

	(void)arg;
	if (strcmp(uri, "/ok") == 0) {
		evbuffer_add_printf(out, "{\"id\":\"C-1\"}");
		evhttp_send_reply(req, 200, "OK", out);
	} else if (strcmp(uri, "/fail") == 0) {
		evbuffer_add_printf(out, "<html>oops</html>");
		evhttp_send_reply(req, 503, "Unavailable", out);
	} else if (strcmp(uri, "/big") == 0) {
		char chunk[4096];
		memset(chunk, 'x', sizeof(chunk));
		for (int i = 0; i < 256; i++) /* 1 MiB */
			evbuffer_add(out, chunk, sizeof(chunk));
		evhttp_send_reply(req, 200, "OK", out);
	} else if (strcmp(uri, "/echo") == 0) {
		const char *auth = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
		struct evbuffer *in = evhttp_request_get_input_buffer(req);
		evbuffer_add_printf(out, "%s %s|", evhttp_request_get_command(req) == EVHTTP_REQ_POST ? "POST" : "GET",
		                    auth ? auth : "-");
		evbuffer_add_buffer(out, in);
		evhttp_send_reply(req, 200, "OK", out);
	} else if (strcmp(uri, "/slow") == 0) { /* never answered until the test says so */
		slow_seen++;
		if (nparked < 16)
			parked[nparked++] = req;
	} else {
		evhttp_send_reply(req, 404, "Not Found", out);
	}
	evbuffer_free(out);
}

struct result {
	int done;
	struct cl_httpc_resp r;
	char body[256];
};

static void
on_done(const struct cl_httpc_resp *r, void *arg)
{
	struct result *res = arg;
	res->done++;
	res->r = *r;
	res->r.body = NULL;
	snprintf(res->body, sizeof(res->body), "%s", r->body);
}

static void
run_until(struct result *res, int n, int max_turns)
{
	for (int i = 0; i < max_turns; i++) {
		int all = 1;
		for (int k = 0; k < n; k++)
			all &= res[k].done > 0;
		if (all)
			return;
		event_base_loop(base, EVLOOP_ONCE);
	}
}

static void
request(struct cl_httpc *c, const char *path, long timeout_ms, size_t max_body, struct result *res)
{
	char url[128], err[CL_ERR_LEN];
	struct cl_httpc_req req = {.url = url, .timeout_ms = timeout_ms, .max_body = max_body};
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
	memset(res, 0, sizeof(*res));
	CHECK_INT(cl_httpc_request(c, &req, on_done, res, err), 0);
}

int
main(void)
{
	char err[CL_ERR_LEN];
	struct result res[8];
	struct evhttp *http;
	struct evhttp_bound_socket *bs;

	base = event_base_new();
	http = evhttp_new(base);
	evhttp_set_gencb(http, handle, NULL);
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST);
	bs = evhttp_bind_socket_with_handle(http, "127.0.0.1", 0);
	CHECK(bs != NULL);
	if (!bs)
		return 1;
	{
		struct sockaddr_storage ss;
		ev_socklen_t len = sizeof(ss);
		getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&ss, &len);
		port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	}

	CHECK(cl_httpc_new(base, 0, err) == NULL);
	struct cl_httpc *c = cl_httpc_new(base, 2, err);
	CHECK(c != NULL);
	if (!c)
		return 1;

	/* Bad requests are refused at once and never called back. */
	struct cl_httpc_req bad = {.url = "file:///etc/passwd", .timeout_ms = 100, .max_body = 10};
	CHECK_INT(cl_httpc_request(c, &bad, on_done, &res[0], err), -1);
	bad.url = "gopher://x";
	CHECK_INT(cl_httpc_request(c, &bad, on_done, &res[0], err), -1);

	request(c, "/ok", 2000, 1024, &res[0]);
	CHECK_INT(res[0].done, 0); /* never called back from inside the request call */
	run_until(res, 1, 1000);
	CHECK_INT(res[0].r.result, CL_HTTPC_OK);
	CHECK_INT(res[0].r.status, 200);
	CHECK_STR(res[0].body, "{\"id\":\"C-1\"}");

	request(c, "/fail", 2000, 1024, &res[0]);
	run_until(res, 1, 1000);
	CHECK_INT(res[0].r.result, CL_HTTPC_OK);
	CHECK_INT(res[0].r.status, 503);

	/* A body over the bound is a failure, and no more than the bound is kept. */
	request(c, "/big", 2000, 64 * 1024, &res[0]);
	run_until(res, 1, 5000);
	CHECK_INT(res[0].r.result, CL_HTTPC_TOO_LARGE);

	/* Headers and a POST body reach the server. */
	{
		char url[128];
		const char *hdrs[] = {"Authorization: Bearer s3cret", NULL};
		struct cl_httpc_req req = {.method = "POST",
		                           .url = url,
		                           .headers = hdrs,
		                           .body = "{\"a\":1}",
		                           .body_len = 7,
		                           .timeout_ms = 2000,
		                           .max_body = 1024};
		snprintf(url, sizeof(url), "http://127.0.0.1:%d/echo", port);
		memset(&res[0], 0, sizeof(res[0]));
		CHECK_INT(cl_httpc_request(c, &req, on_done, &res[0], err), 0);
		run_until(res, 1, 1000);
		CHECK_STR(res[0].body, "POST Bearer s3cret|{\"a\":1}");
	}

	/* A server that never answers: the deadline ends the request. Two slots: the
	 * third request waits in the queue until a slot frees, then is served. */
	request(c, "/slow", 300, 1024, &res[0]);
	request(c, "/slow", 300, 1024, &res[1]);
	request(c, "/ok", 2000, 1024, &res[2]);
	for (int i = 0; i < 50 && slow_seen < 2; i++)
		event_base_loop(base, EVLOOP_ONCE);
	CHECK_INT(cl_httpc_in_flight(c), 2);
	CHECK_INT(cl_httpc_queued(c), 1);
	CHECK_INT(res[2].done, 0);
	run_until(res, 3, 5000);
	CHECK_INT(res[0].r.result, CL_HTTPC_TIMEOUT);
	CHECK_INT(res[1].r.result, CL_HTTPC_TIMEOUT);
	CHECK(res[0].r.total_ms >= 250);
	CHECK_INT(res[2].r.result, CL_HTTPC_OK);
	CHECK_INT(cl_httpc_in_flight(c), 0);

	/* Nobody listening. */
	{
		struct cl_httpc_req req = {.url = "http://127.0.0.1:1/", .timeout_ms = 2000, .max_body = 10};
		memset(&res[0], 0, sizeof(res[0]));
		CHECK_INT(cl_httpc_request(c, &req, on_done, &res[0], err), 0);
		run_until(res, 1, 1000);
		CHECK_INT(res[0].r.result, CL_HTTPC_CONNECT);
	}

	/* Freeing the client ends what is in flight or queued, each called back once. */
	request(c, "/slow", 5000, 1024, &res[0]);
	request(c, "/slow", 5000, 1024, &res[1]);
	request(c, "/slow", 5000, 1024, &res[2]);
	for (int i = 0; i < 50 && cl_httpc_in_flight(c) < 2; i++)
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	cl_httpc_free(c);
	CHECK_INT(res[0].done + res[1].done + res[2].done, 3);
	CHECK_INT(res[2].r.result, CL_HTTPC_CANCELLED);

	for (int i = 0; i < nparked; i++)
		evhttp_send_reply(parked[i], 200, "OK", NULL);
	evhttp_free(http);
	event_base_free(base);
	TEST_DONE();
}
