/* pbx.h : the PBX links (docs/pbx.md): outbound Asterisk AMI and FreeSWITCH ESL
 * connections whose translated events take the producers' path (ingest.h). */
#ifndef CALLOGD_PBX_H
#define CALLOGD_PBX_H

struct cl_pbx;
struct cl_server;

/*
 * cl_pbx_start() : starts a link for each srv->cfg.pbx entry (each connects,
 * logs in, resyncs and reconnects with backoff on its own) and registers their
 * metrics. NULL with err on failure.
 */
struct cl_pbx *cl_pbx_start(struct cl_server *srv, char *err);
/*
 * cl_pbx_reload() : after a reload changed srv->cfg.pbx: links whose settings are
 * unchanged keep their connection (their cfg now points into the new list), the
 * others are closed, and new ones start. The old list must still be alive during
 * the call. Returns the links added, removed or changed, or -1 with err.
 */
int cl_pbx_reload(struct cl_pbx *x, char *err);
/*
 * cl_pbx_standby() : with standby, every link is closed (another node of the
 * cluster holds them, cluster.h); without, the configured links connect.
 */
void cl_pbx_standby(struct cl_pbx *x, int standby);
/* cl_pbx_quiesce() : a shutdown began: the links read no more (what was read is still committed). */
void cl_pbx_quiesce(struct cl_pbx *x);
/* cl_pbx_free() : logs off and closes every link; accepts NULL. */
void cl_pbx_free(struct cl_pbx *x);

#endif
