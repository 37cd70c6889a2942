/* net.h : listeners (bind or take from systemd, accept with a cap, refuse and
 * count the rest, never touch another process's socket) and the helpers every
 * connection shares: write-now and TCP_NODELAY. */
#ifndef CALLOGD_NET_H
#define CALLOGD_NET_H

#include <stddef.h>
#include <stdint.h>

#include <event2/util.h>

struct bufferevent;
struct cl_sd_fds;
struct cl_tls_server;
struct evconnlistener;
struct event_base;
struct iovec;

/* An admitted connection: fd is non-blocking with TCP_NODELAY set, and the callee owns it;
 * tls is the listener's TLS side, or NULL for plain text (make its bufferevent with cl_conn_bev). */
typedef void (*cl_accept_cb)(evutil_socket_t fd, struct cl_tls_server *tls, void *arg);

/* What a listener is: the caller's table row, with its live counters. */
struct cl_listener_conf {
	const char *name;    /* the config key, named in errors: "events.unix" */
	const char *sd_name; /* the FileDescriptorName= systemd passes it under */
	const char *addr;    /* a Unix socket path, or HOST:PORT */
	int is_unix;
	cl_accept_cb accept; /* NULL: nothing is accepted here, the caller takes the fd (evhttp) */
	void *arg;
	const int *max_clients;    /* read at each accept (a reload may change it); NULL: no cap */
	const uint64_t *open;      /* connections open now, counted by their owner */
	uint64_t *refused;         /* counts the connections refused at the cap */
	struct cl_tls_server *tls; /* TCP listeners with tls = true; NULL for plain text */
};

struct cl_listener;

/*
 * cl_listener_open() : the socket systemd passed for c->sd_name or c->addr
 * (taken from sd), else a new one bound to c->addr. A Unix socket path that
 * another process still listens on is never unlinked: that is an error ("in
 * use"); a stale one (ECONNREFUSED) is replaced. NULL with err filled.
 */
struct cl_listener *cl_listener_open(struct event_base *base, struct cl_sd_fds *sd, const struct cl_listener_conf *c,
                                     char *err);
/*
 * cl_listener_take() : the evconnlistener of a listener without accept, made
 * disabled; the caller (evhttp_bind_listener) owns it from now on. Running out
 * of file descriptors pauses it as it pauses every listener.
 */
struct evconnlistener *cl_listener_take(struct cl_listener *l);
/* cl_listener_disable() : accepts no more (shutdown); connections already open are untouched. */
void cl_listener_disable(struct cl_listener *l);
/* cl_listener_free() : closes it, and removes its Unix socket file if this process created it. Accepts NULL. */
void cl_listener_free(struct cl_listener *l);

/* cl_bev_write_now() : appends data to bev's output and tries to write it at
 * once, so a pop or an ack does not wait for the next loop turn. */
void cl_bev_write_now(struct bufferevent *bev, const void *data, size_t len);
/* cl_bev_writev_now() : the same for n pieces, written with one writev() when nothing is queued. */
void cl_bev_writev_now(struct bufferevent *bev, const struct iovec *iov, int n);

/* cl_conn_bev() : the bufferevent of an accepted connection: TLS (server side) when tls is
 * set, else plain. It owns fd; NULL on failure, with fd closed. */
struct bufferevent *cl_conn_bev(struct event_base *base, evutil_socket_t fd, struct cl_tls_server *tls);

/* cl_bev_queued() : bytes bev holds for the peer, with those of the bufferevents below it (the HTTP gate). */
size_t cl_bev_queued(struct bufferevent *bev);
/* cl_sock_nodelay() : small writes (acks, pops, lines) leave at once; harmless on a Unix socket. */
void cl_sock_nodelay(int fd);

#endif
