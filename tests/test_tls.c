/* test_tls.c : real TLS handshakes over real sockets between the server and
 * client sides of the tls module, with certificates made by openssl(1). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "callogd/tls.h"
#include "testutil.h"

static char dir[] = "/tmp/callogd-tls-XXXXXX";

static int
sh(const char *fmt, const char *a)
{
	char cmd[2048];
	snprintf(cmd, sizeof(cmd), fmt, a, a, a, a, a, a, a, a);
	return system(cmd);
}

static const char *
path(const char *name)
{
	static char buf[8][256];
	static int i;
	i = (i + 1) % 8;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
	return buf[i];
}

/* A CA, a server certificate it signs for localhost and 127.0.0.1 (CN one),
 * a second one (CN two), an unrelated self-signed certificate, and a stray key. */
static int
make_certs(void)
{
	return sh("cd %s && "
	          "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem "
	          "-days 2 -subj /CN=test-ca 2>/dev/null && "
	          "for n in one two; do "
	          "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $n.key -out $n.csr "
	          "-subj /CN=$n 2>/dev/null && "
	          "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > san.ext && "
	          "openssl x509 -req -in $n.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile san.ext "
	          "-out $n.pem 2>/dev/null || exit 1; done && "
	          "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout other.key "
	          "-out other.pem -days 2 -subj /CN=localhost -addext subjectAltName=DNS:localhost 2>/dev/null && "
	          "openssl genpkey -algorithm ec -pkeyopt ec_paramgen_curve:P-256 -out stray.key 2>/dev/null",
	          dir);
}

struct side {
	struct bufferevent *bev;
	int connected, failed, got_line;
	char err[CL_ERR_LEN], line[64], peer_cn[64];
};

static void
on_read(struct bufferevent *bev, void *arg)
{
	struct side *s = arg;
	size_t n;
	char *line = evbuffer_readln(bufferevent_get_input(bev), &n, EVBUFFER_EOL_LF);
	if (line) {
		snprintf(s->line, sizeof(s->line), "%s", line);
		s->got_line = 1;
		free(line);
	}
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	struct side *s = arg;
	if (what & BEV_EVENT_CONNECTED) {
		SSL *ssl = bufferevent_openssl_get_ssl(bev);
		X509 *peer = ssl ? SSL_get1_peer_certificate(ssl) : NULL;
		s->connected = 1;
		if (peer) {
			X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, s->peer_cn,
			                          sizeof(s->peer_cn));
			X509_free(peer);
		}
	}
	if (what & (BEV_EVENT_ERROR | BEV_EVENT_EOF)) {
		s->failed = 1;
		cl_tls_error(bev, s->err);
	}
}

/* One handshake between srv and a client that expects host, verified with client. */
static void
handshake(struct event_base *base, struct cl_tls_server *srv, struct cl_tls_client *client, const char *host,
          struct side *cs, struct side *ss)
{
	int fds[2];
	char err[CL_ERR_LEN];

	memset(cs, 0, sizeof(*cs));
	memset(ss, 0, sizeof(*ss));
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) < 0)
		return;
	evutil_make_socket_nonblocking(fds[0]);
	evutil_make_socket_nonblocking(fds[1]);
	ss->bev = cl_tls_accept_bev(srv, base, fds[0]);
	cs->bev = cl_tls_connect_bev(client, base, fds[1], host, err);
	CHECK(ss->bev != NULL);
	CHECK(cs->bev != NULL);
	if (!ss->bev || !cs->bev)
		return;
	bufferevent_setcb(ss->bev, on_read, NULL, on_event, ss);
	bufferevent_setcb(cs->bev, on_read, NULL, on_event, cs);
	bufferevent_enable(ss->bev, EV_READ | EV_WRITE);
	bufferevent_enable(cs->bev, EV_READ | EV_WRITE);
	bufferevent_write(cs->bev, "hello\n", 6);
	for (int i = 0; i < 2000 && !ss->got_line && !cs->failed && !ss->failed; i++)
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	bufferevent_free(cs->bev);
	bufferevent_free(ss->bev);
}

static void
test_check(void)
{
	char err[CL_ERR_LEN];
	CHECK_INT(cl_tls_check(path("one.pem"), path("one.key"), err), 0);
	CHECK_INT(cl_tls_check(path("one.pem"), path("stray.key"), err), -1);
	CHECK(strstr(err, "mismatch") != NULL && strstr(err, "stray.key") != NULL);
	CHECK_INT(cl_tls_check(path("missing.pem"), path("one.key"), err), -1);
	CHECK(strstr(err, "missing.pem") != NULL);
	CHECK_INT(cl_tls_check(path("one.pem"), path("one.csr"), err), -1);
	CHECK(strstr(err, "tls.key") != NULL);
	CHECK_INT(cl_tls_check("", "", err), -1);
	CHECK(cl_tls_server_new(path("one.pem"), path("two.key"), err) == NULL);
	CHECK(cl_tls_client_new(path("missing-ca.pem"), err) == NULL);
}

static void
test_handshakes(void)
{
	char err[CL_ERR_LEN];
	struct event_base *base = event_base_new();
	struct cl_tls_server *srv = cl_tls_server_new(path("one.pem"), path("one.key"), err);
	struct cl_tls_client *ca = cl_tls_client_new(path("ca.pem"), err);
	struct cl_tls_client *wrong = cl_tls_client_new(path("other.pem"), err);
	struct side cs, ss;

	CHECK(srv != NULL && ca != NULL && wrong != NULL);
	if (!srv || !ca || !wrong)
		goto done;

	handshake(base, srv, ca, "localhost", &cs, &ss);
	CHECK(cs.connected && ss.got_line);
	CHECK_STR(ss.line, "hello");
	CHECK_STR(cs.peer_cn, "one");

	handshake(base, srv, ca, "127.0.0.1", &cs, &ss);
	CHECK(cs.connected && ss.got_line);

	/* A name the certificate does not carry, or a CA that did not sign it: refused. */
	handshake(base, srv, ca, "evil.example", &cs, &ss);
	CHECK(!ss.got_line && cs.failed);
	CHECK(strstr(cs.err, "certificate verify failed") != NULL);
	CHECK(strstr(cs.err, "mismatch") != NULL);
	handshake(base, srv, ca, "127.0.0.2", &cs, &ss);
	CHECK(!ss.got_line && cs.failed);
	handshake(base, srv, wrong, "localhost", &cs, &ss);
	CHECK(!ss.got_line && cs.failed);
	CHECK(strstr(cs.err, "certificate verify failed") != NULL);

	/* A bad pair is refused and the old certificate stays; a good one serves new connections. */
	CHECK_INT(cl_tls_server_reload(srv, path("two.pem"), path("one.key"), err), -1);
	handshake(base, srv, ca, "localhost", &cs, &ss);
	CHECK_STR(cs.peer_cn, "one");
	CHECK_INT(cl_tls_server_reload(srv, path("two.pem"), path("two.key"), err), 0);
	handshake(base, srv, ca, "localhost", &cs, &ss);
	CHECK(ss.got_line);
	CHECK_STR(cs.peer_cn, "two");

	/* A plain-text client gets no service. */
	int fds[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0) {
		evutil_make_socket_nonblocking(fds[0]);
		memset(&ss, 0, sizeof(ss));
		ss.bev = cl_tls_accept_bev(srv, base, fds[0]);
		bufferevent_setcb(ss.bev, on_read, NULL, on_event, &ss);
		bufferevent_enable(ss.bev, EV_READ | EV_WRITE);
		CHECK(write(fds[1], "{\"type\":\"hello\"}\n", 17) == 17);
		for (int i = 0; i < 500 && !ss.failed; i++)
			event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		CHECK(ss.failed && !ss.got_line);
		bufferevent_free(ss.bev);
		close(fds[1]);
	}
done:
	cl_tls_client_free(ca);
	cl_tls_client_free(wrong);
	cl_tls_server_free(srv);
	event_base_free(base);
}

int
main(void)
{
	if (!mkdtemp(dir) || make_certs() != 0) {
		fprintf(stderr, "cannot make test certificates with openssl(1)\n");
		return 1;
	}
	test_check();
	test_handshakes();
	sh("rm -rf %s", dir);
	TEST_DONE();
}
