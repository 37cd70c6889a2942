/* tls.h : TLS for listeners and outbound links (OpenSSL through libevent's
 * OpenSSL bufferevents): server contexts that reload without dropping
 * connections, and client contexts that verify the peer's certificate and name.
 * Everything here runs on the loop thread except cl_tls_check(). */
#ifndef CALLOGD_TLS_H
#define CALLOGD_TLS_H

#include <event2/bufferevent.h>
#include <event2/event.h>

#include "callogd/util.h"

/* A server side: one certificate and key for every listener with tls = true. */
struct cl_tls_server;

/*
 * cl_tls_check() : loads cert and key (PEM files) and checks that they match,
 * as `callogd -t` and a reload do. 0, or -1 with err naming the file and cause.
 */
int cl_tls_check(const char *cert, const char *key, char *err);

/* cl_tls_server_new() : TLS 1.2 or newer with cert and key; NULL with err filled. */
struct cl_tls_server *cl_tls_server_new(const char *cert, const char *key, char *err);
/*
 * cl_tls_server_reload() : swaps in a context made from cert and key for new
 * connections; connections already open keep the one they started with. On
 * failure the old context stays in use and -1 is returned with err filled.
 */
int cl_tls_server_reload(struct cl_tls_server *t, const char *cert, const char *key, char *err);
/* cl_tls_server_free() : accepts NULL; open connections keep their context alive. */
void cl_tls_server_free(struct cl_tls_server *t);

/*
 * cl_tls_accept_bev() : a bufferevent that speaks TLS as the server side on the
 * accepted socket fd (closed with the bufferevent). NULL on failure (fd closed).
 */
struct bufferevent *cl_tls_accept_bev(struct cl_tls_server *t, struct event_base *base, evutil_socket_t fd);

/* A client side: the certificates a peer is verified against. */
struct cl_tls_client;

/* cl_tls_client_new() : ca is a PEM file, or "" / NULL for the system's store. */
struct cl_tls_client *cl_tls_client_new(const char *ca, char *err);
void cl_tls_client_free(struct cl_tls_client *c);

/*
 * cl_tls_connect_bev() : a TLS client bufferevent on fd (-1: one is made by
 * bufferevent_socket_connect later) that sends host as SNI and refuses a peer
 * whose certificate does not verify or does not name host (DNS name or IP
 * address). NULL with err filled.
 */
struct bufferevent *cl_tls_connect_bev(struct cl_tls_client *c, struct event_base *base, evutil_socket_t fd,
                                       const char *host, char *err);

/* cl_tls_error() : why a TLS bufferevent failed (verification, handshake), into err. */
void cl_tls_error(struct bufferevent *bev, char *err);

#endif
