/* tls.c : owns OpenSSL contexts: server certificates (reloadable) and client
 * verification, and the TLS bufferevents made from them. */
#include "callogd/tls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

struct cl_tls_server {
	SSL_CTX *ctx; /* for new connections; each SSL holds its own reference */
};

struct cl_tls_client {
	SSL_CTX *ctx;
};

/* The newest OpenSSL error, or fallback when the queue is empty. */
static void
ssl_err(char *err, const char *what, const char *file, const char *fallback)
{
	unsigned long e = ERR_peek_last_error();
	char buf[200];

	if (e)
		ERR_error_string_n(e, buf, sizeof(buf));
	snprintf(err, CL_ERR_LEN, "%s%s%s: %s", what, file ? " " : "", file ? file : "", e ? buf : fallback);
	ERR_clear_error();
}

static SSL_CTX *
server_ctx(const char *cert, const char *key, char *err)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (!ctx) {
		ssl_err(err, "tls", NULL, "cannot make a context");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* No session tickets or cache across reloads: every handshake is full and the
	 * context holds no secrets we would have to rotate. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	if (!cert || !*cert || !key || !*key) {
		snprintf(err, CL_ERR_LEN, "tls: tls.cert and tls.key must both be set");
		goto fail;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		ssl_err(err, "tls.cert", cert, "cannot load");
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		ssl_err(err, "tls.key", key, "cannot load");
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		ssl_err(err, "tls.key", key, "does not match tls.cert");
		goto fail;
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

int
cl_tls_check(const char *cert, const char *key, char *err)
{
	SSL_CTX *ctx = server_ctx(cert, key, err);

	if (!ctx)
		return -1;
	SSL_CTX_free(ctx);
	return 0;
}

struct cl_tls_server *
cl_tls_server_new(const char *cert, const char *key, char *err)
{
	struct cl_tls_server *t = calloc(1, sizeof(*t));

	if (!t) {
		snprintf(err, CL_ERR_LEN, "tls: out of memory");
		return NULL;
	}
	if (!(t->ctx = server_ctx(cert, key, err))) {
		free(t);
		return NULL;
	}
	return t;
}

int
cl_tls_server_reload(struct cl_tls_server *t, const char *cert, const char *key, char *err)
{
	SSL_CTX *ctx = server_ctx(cert, key, err);

	if (!ctx)
		return -1;
	SSL_CTX_free(t->ctx); /* connections made from it hold their own reference */
	t->ctx = ctx;
	return 0;
}

void
cl_tls_server_free(struct cl_tls_server *t)
{
	if (!t)
		return;
	SSL_CTX_free(t->ctx);
	free(t);
}

struct bufferevent *
cl_tls_accept_bev(struct cl_tls_server *t, struct event_base *base, evutil_socket_t fd)
{
	SSL *ssl = SSL_new(t->ctx);
	struct bufferevent *bev;

	if (!ssl) {
		ERR_clear_error();
		evutil_closesocket(fd);
		return NULL;
	}
	bev = bufferevent_openssl_socket_new(base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (!bev) { /* libevent frees ssl only once it owns it */
		SSL_free(ssl);
		evutil_closesocket(fd);
		return NULL;
	}
	/* A peer that sends half a record and vanishes must not hold a dirty shutdown. */
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

struct cl_tls_client *
cl_tls_client_new(const char *ca, char *err)
{
	struct cl_tls_client *c = calloc(1, sizeof(*c));

	if (!c || !(c->ctx = SSL_CTX_new(TLS_client_method()))) {
		ssl_err(err, "tls", NULL, "out of memory");
		free(c);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
	if (ca && *ca) {
		if (SSL_CTX_load_verify_locations(c->ctx, ca, NULL) != 1) {
			ssl_err(err, "tls ca", ca, "cannot load");
			goto fail;
		}
	} else if (SSL_CTX_set_default_verify_paths(c->ctx) != 1) {
		ssl_err(err, "tls", NULL, "cannot load the system's certificate store");
		goto fail;
	}
	return c;
fail:
	cl_tls_client_free(c);
	return NULL;
}

void
cl_tls_client_free(struct cl_tls_client *c)
{
	if (!c)
		return;
	SSL_CTX_free(c->ctx);
	free(c);
}

struct bufferevent *
cl_tls_connect_bev(struct cl_tls_client *c, struct event_base *base, evutil_socket_t fd, const char *host, char *err)
{
	SSL *ssl = SSL_new(c->ctx);
	X509_VERIFY_PARAM *vp;
	struct bufferevent *bev;
	unsigned char ip[16];
	int is_ip = evutil_inet_pton(AF_INET, host, ip) == 1 || evutil_inet_pton(AF_INET6, host, ip) == 1;

	if (!ssl) {
		ssl_err(err, "tls", NULL, "out of memory");
		return NULL;
	}
	vp = SSL_get0_param(ssl);
	X509_VERIFY_PARAM_set_hostflags(vp, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if ((is_ip ? X509_VERIFY_PARAM_set1_ip_asc(vp, host) : X509_VERIFY_PARAM_set1_host(vp, host, 0)) != 1 ||
	    (!is_ip && SSL_set_tlsext_host_name(ssl, host) != 1)) {
		ssl_err(err, "tls", host, "bad host name");
		SSL_free(ssl);
		return NULL;
	}
	bev = bufferevent_openssl_socket_new(base, fd, ssl, BUFFEREVENT_SSL_CONNECTING,
	                                     BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (!bev) {
		snprintf(err, CL_ERR_LEN, "tls: cannot make a bufferevent");
		SSL_free(ssl);
		return NULL;
	}
	return bev;
}

void
cl_tls_error(struct bufferevent *bev, char *err)
{
	SSL *ssl = bufferevent_openssl_get_ssl(bev);
	unsigned long e = bufferevent_get_openssl_error(bev);
	long v = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
	char buf[200];

	if (v != X509_V_OK) {
		snprintf(err, CL_ERR_LEN, "certificate verify failed: %s", X509_verify_cert_error_string(v));
	} else if (e) {
		ERR_error_string_n(e, buf, sizeof(buf));
		snprintf(err, CL_ERR_LEN, "%s", buf);
	} else {
		snprintf(err, CL_ERR_LEN, "connection closed during the TLS handshake");
	}
	while (bufferevent_get_openssl_error(bev))
		;
}
