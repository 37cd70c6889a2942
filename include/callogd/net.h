/* net.h : socket helpers shared by every listener's connections: write-now and
 * TCP_NODELAY. */
#ifndef CALLOGD_NET_H
#define CALLOGD_NET_H

#include <stddef.h>

struct bufferevent;
struct iovec;

/* cl_bev_write_now() : appends data to bev's output and tries to write it at
 * once, so a pop or an ack does not wait for the next loop turn. */
void cl_bev_write_now(struct bufferevent *bev, const void *data, size_t len);
/* cl_bev_writev_now() : the same for n pieces, written with one writev() when nothing is queued. */
void cl_bev_writev_now(struct bufferevent *bev, const struct iovec *iov, int n);

/* cl_sock_nodelay() : small writes (acks, pops, lines) leave at once; harmless on a Unix socket. */
void cl_sock_nodelay(int fd);

#endif
