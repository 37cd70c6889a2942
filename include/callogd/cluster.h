/* cluster.h : this daemon as a node of a cluster on a shared store
 * (PostgreSQL, docs/cluster.md): the events other nodes commit, fanned out to
 * this node's consoles as if it had taken them, and the leadership that one
 * node at a time holds (retention, PBX links). A thread of its own owns the
 * session; the loop only takes what it hands over. */
#ifndef CALLOGD_CLUSTER_H
#define CALLOGD_CLUSTER_H

#include <stdint.h>

struct cl_cluster;
struct cl_server;

/*
 * cl_cluster_start() : follows the store named where from its current last
 * seq on, and competes for leadership. NULL with err "" when the store is not
 * shared (one daemon alone: it is its own leader), NULL with err on failure.
 */
struct cl_cluster *cl_cluster_start(struct cl_server *srv, const char *where, char *err);
/* cl_cluster_stop() : joins the thread and closes its session (which frees the leader lock); accepts NULL. */
void cl_cluster_stop(struct cl_cluster *c);
/* cl_cluster_leader() : 1 when this node does the leader's work; always 1 without a cluster (c NULL). */
int cl_cluster_leader(const struct cl_cluster *c);
/* Events of other nodes fanned out here so far. */
uint64_t cl_cluster_followed(const struct cl_cluster *c);

#endif
