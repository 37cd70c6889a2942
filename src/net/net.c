/* net.c : socket helpers for every listener's connections: write-now, TCP_NODELAY. */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>

#include "callogd/net.h"
#include "callogd/tls.h"

void
cl_bev_writev_now(struct bufferevent *bev, const struct iovec *iov, int n)
{
	struct evbuffer *out = bufferevent_get_output(bev);
	struct bufferevent *under = bufferevent_get_underlying(bev);
	evutil_socket_t fd = bufferevent_getfd(bev);
	ssize_t w = 0;

	/* A filter (the HTTP gate) passes its bytes down: queue them there, then write the one below now. */
	if (under != NULL) {
		for (int i = 0; i < n; i++)
			evbuffer_add(out, iov[i].iov_base, iov[i].iov_len);
		bufferevent_flush(bev, EV_WRITE, BEV_NORMAL);
		cl_bev_writev_now(under, NULL, 0);
		return;
	}
	/* A TLS connection's bytes must go through OpenSSL: queue them for its bufferevent. */
	if (fd < 0 || bufferevent_openssl_get_ssl(bev) != NULL) {
		for (int i = 0; i < n; i++)
			evbuffer_add(out, iov[i].iov_base, iov[i].iov_len);
		return;
	}
	if (evbuffer_get_length(out) > 0) {
		/* Older bytes first: queue behind them and write what the socket takes. */
		for (int i = 0; i < n; i++)
			evbuffer_add(out, iov[i].iov_base, iov[i].iov_len);
		evbuffer_write(out, fd);
		return;
	}
	/*
	 * Nothing queued: write straight to the socket, with no copy and no write
	 * event to arm and disarm for a line the kernel takes whole. What it does
	 * not take waits in the output buffer for the write event.
	 */
	if (n > 0 && (w = writev(fd, iov, n)) < 0)
		w = 0; /* EAGAIN, or an error the next read reports */
	for (int i = 0; i < n; i++) {
		size_t len = iov[i].iov_len;
		if ((size_t)w >= len) {
			w -= (ssize_t)len;
			continue;
		}
		evbuffer_add(out, (const char *)iov[i].iov_base + w, len - (size_t)w);
		w = 0;
	}
}

void
cl_bev_write_now(struct bufferevent *bev, const void *data, size_t len)
{
	struct iovec iov = {(void *)data, len};

	cl_bev_writev_now(bev, &iov, len > 0 ? 1 : 0);
}

size_t
cl_bev_queued(struct bufferevent *bev)
{
	size_t n = 0;

	for (; bev != NULL; bev = bufferevent_get_underlying(bev))
		n += evbuffer_get_length(bufferevent_get_output(bev));
	return n;
}

void
cl_sock_nodelay(int fd)
{
	int one = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)); /* best effort: fails on Unix sockets */
}

struct bufferevent *
cl_conn_bev(struct event_base *base, evutil_socket_t fd, struct cl_tls_server *tls)
{
	struct bufferevent *bev;

	if (tls != NULL)
		return cl_tls_accept_bev(tls, base, fd);
	if ((bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE)) == NULL)
		evutil_closesocket(fd);
	return bev;
}
