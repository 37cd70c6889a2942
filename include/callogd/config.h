/* config.h : the daemon's settings, loaded from one libconfig file. */
#ifndef CALLOGD_CONFIG_H
#define CALLOGD_CONFIG_H

#include <stddef.h>

#define CL_DEFAULT_CONFIG "/etc/callogd/callogd.conf"

enum cl_pop_trigger { CL_TRIGGER_RINGING = 0, CL_TRIGGER_ANSWERED = 1 };

enum cl_pbx_type { CL_PBX_TYPE_AMI = 0, CL_PBX_TYPE_ESL = 1 };
enum cl_pbx_agent_id { CL_PBX_AGENT_MEMBERNAME = 0, CL_PBX_AGENT_INTERFACE = 1 };
#define CL_PBX_MAX_LINKS 64
#define CL_PBX_NAME_MAX 32

/* One entry of pbx = ( ... ) (docs/pbx.md). Strings malloc'd, "" = none. */
struct cl_pbx_cfg {
	char *name;
	int type; /* enum cl_pbx_type */
	char *host;
	int port;
	char *username;    /* AMI */
	char *secret;      /* AMI secret or ESL password: as given, or read from secret_file */
	char *secret_file; /* where it was read from, or "" */
	int tls;
	char *ca;
	int agent_id; /* enum cl_pbx_agent_id */
};

/* cl_pbx_cfg_equal() : 1 when two links' settings are all the same. */
int cl_pbx_cfg_equal(const struct cl_pbx_cfg *a, const struct cl_pbx_cfg *b);

#define CL_WEBHOOKS_MAX 16
#define CL_CONFIG_CRM_FIELDS 7 /* crm.fields: id, name, email, account, tier, notes, url (crmmap.h) */
enum cl_hook_event { CL_HOOK_COMPLETED = 1, CL_HOOK_MISSED = 2 }; /* bits */

/* One entry of webhooks = ( ... ) (docs/crm.md). Strings malloc'd. */
struct cl_webhook_cfg {
	char *name;
	char *url;
	char *secret; /* read from secret_file */
	char *secret_file;
	int events; /* enum cl_hook_event bits */
	int settle_seconds;
	int timeout_ms;
};

/* Every string is malloc'd and owned by the struct; "" means off/none. */
struct cl_config;
/* cl_config_store() : what cl_store_open() takes: the database URL when set, else the SQLite path. */
#define cl_config_store(c) ((c)->db_url[0] != '\0' ? (c)->db_url : (c)->db_path)

struct cl_config {
	char *path; /* the file it came from, as given */

	char *db_path;
	char *db_url;    /* PostgreSQL (docs/cluster.md), "" = SQLite at db_path */
	char *node_name; /* "" = the host name */

	char *events_unix;
	char *events_tcp;
	int events_max_line;
	char *events_token;
	int events_tls;
	int events_max_clients;
	int events_idle_timeout; /* seconds, 0 = none */
	int events_max_data;     /* bytes of a call's data object */

	char *agents_unix;
	char *agents_tcp;
	int agents_tls;
	int agents_max_clients;
	int agents_max_output; /* bytes queued to one console before it is dropped */
	int agents_idle_timeout;

	char *http_listen;
	int http_timeout;
	int http_max_body;
	int http_max_clients; /* connections at once */
	int http_body_memory; /* MiB of bodies being received, over all connections */
	int http_tls;

	char *tls_cert; /* PEM, for every listener with tls = true */
	char *tls_key;

	char *country_code;
	char *national_prefix;
	char *international_prefix;

	int pop_trigger; /* enum cl_pop_trigger */
	int pops_history;
	int pops_replay_seconds; /* SSE Last-Event-ID replay window */
	int pops_replay_max;     /* messages kept per agent for replay */
	int pops_replay_memory;  /* MiB kept for replay over all agents */
	int pops_lookup_ms;      /* how long a pop waits for its caller lookup */
	int pops_data_memory;    /* MiB of live calls' data kept for pops */

	char *disposition_codes; /* dispositions.codes, one per line */

	int retention_days;
	int sla_seconds;
	int short_abandon_seconds; /* reports: an abandon quicker than this is short */
	char *stats_timezone;      /* reports' and today's zone; "" = the host's */
	int wallboard_streams;     /* GET /api/wallboard/stream at once; 0 = none (the page polls) */
	int log_level;             /* enum cl_log_level */

	struct cl_pbx_cfg *pbx; /* PBX links, pbx = ( ... ) (configpbx.c) */
	int n_pbx;

	char *crm_lookup_url; /* "" = no CRM lookup */
	char *crm_header_file;
	char *crm_headers; /* header_file's "Name: value" lines, each ending in '\n'; "" when none */
	int crm_timeout_ms;
	int crm_cache_seconds;
	int crm_max_concurrent;
	int crm_max_body;
	char *crm_list;                         /* JSON pointer to the array of contacts */
	char *crm_fields[CL_CONFIG_CRM_FIELDS]; /* JSON pointers, by enum cl_crm_field */

	struct cl_webhook_cfg *webhooks; /* webhooks = ( ... ) (configcrm.c) */
	int n_webhooks;
};

/* One key of the settings table, for documentation and checks (docs/). */
struct cl_config_key {
	const char *group, *key;
	const char *type;   /* string, path, socket, listen, digits, integer, enum */
	char def[96];       /* the default as a config file spells it: "\"127.0.0.1:7070\"", 65536, "\"info\"" */
	long min, max;      /* integers: the accepted range */
	const char *values; /* enums: "error|warn|info|debug"; else NULL */
	int reloadable;     /* SIGHUP applies a change */
	const char *doc;    /* one sentence */
};

/*
 * cl_config_key_at() : fills k with the i-th key of the table (0-based, in the
 * order of the documentation); 0, or -1 past the last key.
 */
int cl_config_key_at(size_t i, struct cl_config_key *k);
#define CL_CONFIG_CODES_MAX 64 /* dispositions.codes entries */

/* cl_config_has_code() : 1 when code is one of codes (cfg.disposition_codes), else 0. */
int cl_config_has_code(const char *codes, const char *code);

/* cl_config_defaults() : fills c with every default (strings malloc'd). */
int cl_config_defaults(struct cl_config *c);

/*
 * cl_config_load() : defaults, then the file. On failure returns -1, leaves c
 * empty and writes "FILE:LINE: message" into err (CL_ERR_LEN bytes).
 */
int cl_config_load(struct cl_config *c, const char *path, char *err);

/* cl_config_free() : frees the strings; accepts a zeroed struct. */
void cl_config_free(struct cl_config *c);

/*
 * cl_config_diff() : writes "key=old->new ..." for the settings that a reload
 * may change and that differ; returns how many differ.
 */
int cl_config_diff(const struct cl_config *a, const struct cl_config *b, char *out, size_t outlen);

/*
 * cl_config_reload_compatible() : 0 when b only changes what a reload can
 * apply, else -1 with err listing the keys that need a restart ("a.b c.d").
 */
int cl_config_reload_compatible(const struct cl_config *a, const struct cl_config *b, char *err);

/*
 * cl_config_apply_reloadable() : moves into dst every setting a reload may
 * change, from src (src keeps dst's old values, to be freed by the caller).
 */
void cl_config_apply_reloadable(struct cl_config *dst, struct cl_config *src);

#endif
