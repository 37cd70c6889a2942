/* config.c : owns the settings table and the libconfig file loader. */
#include <ctype.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include <libconfig.h>

#include "config_int.h"
#include "callogd/log.h"
#include "callogd/numbers.h"
#include "callogd/tls.h"
#include "callogd/tz.h"
#include "callogd/util.h"

enum kind {
	K_STR,    /* any string up to 1024 bytes */
	K_PATH,   /* a file path, resolved against the config's directory */
	K_SOCK,   /* a Unix socket path: a K_PATH that must fit sun_path */
	K_LISTEN, /* "host:port", "[v6]:port" or "" */
	K_DIGITS, /* a string of digits (numbering rules) */
	K_INT,
	K_LEVEL,   /* log level name -> int */
	K_TRIGGER, /* pop trigger name -> int */
	K_BOOL,    /* true/false -> int 1/0 */
	K_CODES,   /* a list of codes, kept as one string: each code on its own line */
};

struct row {
	const char *group;
	const char *key;
	enum kind kind;
	size_t off;
	const char *sdef; /* default of string kinds */
	long idef, min, max;
	int reloadable; /* SIGHUP may change it */
	const char *doc;
};

#define S(g, k, kind_, f, d, r, doc_)                                                                                  \
	{                                                                                                              \
		.group = g, .key = k, .kind = kind_, .off = offsetof(struct cl_config, f), .sdef = d, .reloadable = r, \
		.doc = doc_                                                                                            \
	}
#define I(g, k, f, d, lo, hi, r, doc_)                                                                                 \
	{                                                                                                              \
		.group = g, .key = k, .kind = K_INT, .off = offsetof(struct cl_config, f), .idef = d, .min = lo,       \
		.max = hi, .reloadable = r, .doc = doc_                                                                \
	}

#define B(g, k, f, d, r, doc_)                                                                                         \
	{                                                                                                              \
		.group = g, .key = k, .kind = K_BOOL, .off = offsetof(struct cl_config, f), .idef = d, .min = 0,       \
		.max = 1, .reloadable = r, .doc = doc_                                                                 \
	}

static const struct row rows[] = {
    S("database", "path", K_PATH, db_path, DB_PATH_DEFAULT, 0, "The SQLite database (WAL mode)."),
    S("database", "url", K_STR, db_url, "", 0,
      "A postgresql:// URL: PostgreSQL instead of SQLite, shared by a cluster of nodes; exclusive with path."),
    S("node", "name", K_STR, node_name, "", 0, "This node's name in logs and metrics; \"\" = the host name."),
    S("events", "unix", K_SOCK, events_unix, "/run/callogd/events.sock", 0,
      "Unix socket for call events (NDJSON), created with mode 0660; \"\" = off."),
    S("events", "tcp", K_LISTEN, events_tcp, "127.0.0.1:7070", 0, "HOST:PORT for call events; \"\" = off."),
    B("events", "tls", events_tls, 0, 0, "events.tcp speaks only TLS (1.2 or newer) with tls.cert and tls.key."),
    I("events", "max_line", events_max_line, 65536, 256, 16 * 1024 * 1024, 0, "Bytes per event line."),
    S("events", "token", K_STR, events_token, "", 1,
      "When set, a producer's first line must be {\"type\":\"hello\",\"token\":...}; \"\" = none required."),
    I("events", "max_clients", events_max_clients, 1024, 1, 100000, 1,
      "Producer connections at once; more are refused and counted."),
    I("events", "idle_timeout", events_idle_timeout, 0, 0, 86400 * 7, 1,
      "Seconds without a line before a producer is closed; 0 = never."),
    I("events", "max_data", events_max_data, 65536, 2, 16 * 1024 * 1024, 1,
      "Bytes of a call.offered event's data object; a longer one is refused (bad_event)."),
    S("agents", "unix", K_SOCK, agents_unix, "/run/callogd/agents.sock", 0,
      "Unix socket for agent consoles (NDJSON), mode 0660; \"\" = off."),
    S("agents", "tcp", K_LISTEN, agents_tcp, "127.0.0.1:7071", 0, "HOST:PORT for agent consoles; \"\" = off."),
    B("agents", "tls", agents_tls, 0, 0, "agents.tcp speaks only TLS (1.2 or newer) with tls.cert and tls.key."),
    I("agents", "max_clients", agents_max_clients, 20000, 1, 1000000, 1,
      "Socket consoles and SSE streams at once; more are refused and counted."),
    I("agents", "max_output", agents_max_output, 1024 * 1024, 4096, 256 * 1024 * 1024, 1,
      "Bytes queued to one console before it is dropped."),
    I("agents", "idle_timeout", agents_idle_timeout, 0, 0, 86400 * 7, 1,
      "Seconds without a line before a console is closed; 0 = never."),
    S("http", "listen", K_LISTEN, http_listen, "127.0.0.1:7080", 0,
      "HOST:PORT for the HTTP API, SSE streams and the console page; \"\" = off."),
    B("http", "tls", http_tls, 0, 0, "http.listen speaks only HTTPS; the session cookie gets Secure."),
    I("http", "timeout", http_timeout, 60, 1, 86400, 0,
      "Seconds to read a request or write a reply; idle keep-alive connections close after it."),
    I("http", "max_body", http_max_body, 8 * 1024 * 1024, 1024, 256 * 1024 * 1024, 0,
      "Bytes of a request body (POST /api/events)."),
    I("http", "max_clients", http_max_clients, 20000, 1, 1000000, 1,
      "HTTP connections at once (SSE streams included); more are answered 503 and closed."),
    I("http", "body_memory", http_body_memory, 64, 1, 65536, 1,
      "MiB of request bodies being received over all connections; a body that does not fit is answered 503."),
    S("tls", "cert", K_PATH, tls_cert, "", 1,
      "PEM certificate chain for every listener with tls = true; SIGHUP reloads it."),
    S("tls", "key", K_PATH, tls_key, "", 1, "PEM private key matching tls.cert; SIGHUP reloads it."),
    S("numbers", "country_code", K_DIGITS, country_code, "1", 1,
      "Country code added to national numbers: 1 to 3 digits, not starting with 0."),
    S("numbers", "national_prefix", K_DIGITS, national_prefix, "1", 1,
      "Trunk prefix replaced by + and the country code; \"\" = none. Differs from international_prefix."),
    S("numbers", "international_prefix", K_DIGITS, international_prefix, "011", 1,
      "Prefix replaced by +; \"\" = none."),
    {.group = "pops",
     .key = "trigger",
     .kind = K_TRIGGER,
     .off = offsetof(struct cl_config, pop_trigger),
     .idef = CL_TRIGGER_RINGING,
     .reloadable = 1,
     .doc = "When an agent is popped: ringing (call.ringing) or answered (call.answered)."},
    I("pops", "history", pops_history, 5, 0, 100, 1, "Past calls shown in a pop."),
    I("pops", "replay_seconds", pops_replay_seconds, 300, 0, 86400, 1, "SSE Last-Event-ID replay window, in seconds."),
    I("pops", "replay_max", pops_replay_max, 256, 0, 100000, 1, "Messages kept per agent for replay."),
    I("pops", "replay_memory", pops_replay_memory, 64, 1, 65536, 1,
      "MiB kept for replay over all agents; when full, new messages are not kept."),
    I("pops", "lookup_ms", pops_lookup_ms, 200, 0, 60000, 1,
      "Milliseconds a pop waits for its caller lookup before it goes out with what is known."),
    I("pops", "data_memory", pops_data_memory, 64, 1, 65536, 1,
      "MiB of live calls' attached data kept for pops; past it a new call's pop goes without its data."),
    I("retention", "days", retention_days, 0, 0, 36500, 1,
      "Delete calls ended more than N days ago; 0 = keep forever."),
    I("stats", "sla_seconds", sla_seconds, 20, 1, 86400, 1, "Service level: answered within this many seconds."),
    I("stats", "short_abandon_seconds", short_abandon_seconds, 5, 0, 3600, 1,
      "Reports: a call abandoned within this many seconds is a short abandon."),
    S("stats", "timezone", K_STR, stats_timezone, "", 1,
      "IANA time zone of reports and of today (\"\" = the host's zone)."),
    I("stats", "wallboard_streams", wallboard_streams, 32, 0, 1024, 1,
      "Wallboard streams (GET /api/wallboard/stream) at once; more are refused and the page polls."),
    S("crm", "lookup_url", K_STR, crm_lookup_url, "", 1,
      "CRM lookup URL with {e164}, {national} or {digits} (docs/crm.md); \"\" = no CRM lookup."),
    S("crm", "header_file", K_PATH, crm_header_file, "", 1,
      "A file of \"Name: value\" lines sent with each lookup (Authorization); \"\" = none."),
    I("crm", "timeout_ms", crm_timeout_ms, 1500, 50, 60000, 1, "Milliseconds a CRM lookup may take."),
    I("crm", "cache_seconds", crm_cache_seconds, 300, 0, 86400, 1, "Seconds CRM hits and misses are kept."),
    I("crm", "max_concurrent", crm_max_concurrent, 16, 1, 1024, 1, "CRM requests in flight at once; more wait."),
    I("crm", "max_body", crm_max_body, 1024 * 1024, 1024, 64 * 1024 * 1024, 1,
      "Bytes of a CRM answer; a larger one is a failure."),
    S("crm", "list", K_STR, crm_list, "", 1, "JSON pointer to the answer's array of contacts; \"\" = the answer."),
    S("dispositions", "codes", K_CODES, disposition_codes, "resolved\ncallback\nescalated\nsale\nno_sale", 1,
      "Wrap-up codes a console may send (a list of 1 to 64 distinct strings); producers may send any code."),
    {.group = "log",
     .key = "level",
     .kind = K_LEVEL,
     .off = offsetof(struct cl_config, log_level),
     .idef = CL_LOG_INFO,
     .reloadable = 1,
     .doc = "error, warn, info or debug."},
};

#define NROWS (sizeof(rows) / sizeof(rows[0]))

static char **
str_field(struct cl_config *c, const struct row *r)
{
	return (char **)((char *)c + r->off);
}

static int *
int_field(struct cl_config *c, const struct row *r)
{
	return (int *)((char *)c + r->off);
}

static int
is_string_kind(enum kind k)
{
	return k == K_STR || k == K_PATH || k == K_SOCK || k == K_LISTEN || k == K_DIGITS || k == K_CODES;
}

int
cl_config_defaults(struct cl_config *c)
{
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < NROWS; i++) {
		const struct row *r = &rows[i];
		if (is_string_kind(r->kind)) {
			if ((*str_field(c, r) = strdup(r->sdef)) == NULL)
				goto fail;
		} else {
			*int_field(c, r) = (int)r->idef;
		}
	}
	if (cl_config_crm_defaults(c) < 0)
		goto fail;
	return 0;
fail:
	cl_config_free(c);
	return -1;
}

void
cl_config_free(struct cl_config *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < NROWS; i++)
		if (is_string_kind(rows[i].kind))
			free(*str_field(c, &rows[i]));
	free(c->path);
	cl_config_pbx_free(c);
	cl_config_crm_free(c);
	memset(c, 0, sizeof(*c));
}

/* Checks "host:port" / "[v6]:port" / ":port" with a port of 1-65535. */
static int
listen_valid(const char *s)
{
	const char *colon = strrchr(s, ':');
	char *end;
	long port;

	if (colon == NULL || colon[1] == '\0')
		return 0;
	if (s[0] == '[' && (colon == s || colon[-1] != ']'))
		return 0;
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	return errno == 0 && *end == '\0' && port >= 1 && port <= 65535;
}

/* Removes "." and ".." segments and doubled slashes from an absolute path, in place. */
static void
normalize_path(char *path)
{
	char *out = path, *in = path;

	while (*in) {
		while (*in == '/')
			in++;
		char *seg = in;
		while (*in && *in != '/')
			in++;
		size_t n = (size_t)(in - seg);
		if (n == 0 || (n == 1 && seg[0] == '.'))
			continue;
		if (n == 2 && seg[0] == '.' && seg[1] == '.') {
			while (out > path && *--out != '/')
				;
			continue;
		}
		*out++ = '/';
		memmove(out, seg, n);
		out += n;
	}
	if (out == path)
		*out++ = '/';
	*out = '\0';
}

/* Makes path absolute against dir unless it is "" or already absolute. */
char *
cl_config_resolve_path(const char *dir, const char *path)
{
	char *out;

	if (path[0] == '\0' || path[0] == '/')
		return strdup(path);
	if (asprintf(&out, "%s/%s", dir, path) < 0)
		return NULL;
	normalize_path(out);
	return out;
}

/*
 * Group validators: the checks that span keys, or that a later stage (the
 * numbering rules, the listeners) would otherwise make on its own. Each is run
 * by cl_config_load(), so callogd -t, start-up, reload and callogctl agree.
 * They return -1 with *key naming the key to blame and msg saying why.
 */
static int
check_numbers(const struct cl_config *c, const char **key, char *msg, size_t mlen)
{
	char why[128];

	if (cl_numbers_check(c->country_code, c->national_prefix, c->international_prefix, key, why, sizeof(why)) < 0) {
		snprintf(msg, mlen, "numbers.%s %s", *key, why);
		return -1;
	}
	return 0;
}

/* Two listeners on one address or path would fail at start-up, or steal each other's clients. */
static int
same_listener(const char *a, const char *b)
{
	return a[0] != '\0' && strcmp(a, b) == 0;
}

static int
check_agents(const struct cl_config *c, const char **key, char *msg, size_t mlen)
{
	if (same_listener(c->agents_unix, c->events_unix)) {
		*key = "unix";
		snprintf(msg, mlen, "agents.unix is the same socket as events.unix (\"%s\")", c->agents_unix);
		return -1;
	}
	if (same_listener(c->agents_tcp, c->events_tcp)) {
		*key = "tcp";
		snprintf(msg, mlen, "agents.tcp is the same address as events.tcp (\"%s\")", c->agents_tcp);
		return -1;
	}
	return 0;
}

static int
check_http(const struct cl_config *c, const char **key, char *msg, size_t mlen)
{
	const char *other = same_listener(c->http_listen, c->events_tcp)   ? "events.tcp"
	                    : same_listener(c->http_listen, c->agents_tcp) ? "agents.tcp"
	                                                                   : NULL;

	if (other != NULL) {
		*key = "listen";
		snprintf(msg, mlen, "http.listen is the same address as %s (\"%s\")", other, c->http_listen);
		return -1;
	}
	return 0;
}

static int
check_stats(const struct cl_config *c, const char **key, char *msg, size_t mlen)
{
	char why[CL_ERR_LEN];
	struct cl_tz *tz = cl_tz_load(c->stats_timezone, why);

	if (tz == NULL) {
		*key = "timezone";
		snprintf(msg, mlen, "stats.timezone: %s", why);
		return -1;
	}
	cl_tz_free(tz);
	return 0;
}

/* With any listener on TLS, both files must load and match: -t says so, not the first client. */
static int
check_tls(const struct cl_config *c, const char **key, char *msg, size_t mlen)
{
	char why[CL_ERR_LEN];

	if (!c->events_tls && !c->agents_tls && !c->http_tls)
		return 0;
	if (c->tls_cert[0] == '\0' || c->tls_key[0] == '\0') {
		*key = c->tls_cert[0] == '\0' ? "cert" : "key";
		snprintf(msg, mlen, "tls.cert and tls.key must be set when a listener has tls = true");
		return -1;
	}
	if (cl_tls_check(c->tls_cert, c->tls_key, why) < 0) {
		*key = strncmp(why, "tls.cert", 8) == 0 ? "cert" : "key";
		snprintf(msg, mlen, "%s", why);
		return -1;
	}
	return 0;
}

/* The groups whose keys must agree, and the validator of each, in the order they run. */
static const struct validator {
	const char *group;
	int (*check)(const struct cl_config *c, const char **key, char *msg, size_t mlen);
} validators[] = {
    {"database", cl_config_check_database},
    {"agents", check_agents},
    {"http", check_http},
    {"numbers", check_numbers},
    {"stats", check_stats},
    {"tls", check_tls},
};

static int
set_value(struct cl_config *c, const struct row *r, config_setting_t *s, const char *dir, char *msg, size_t mlen)
{
	int type = config_setting_type(s);

	if (r->kind == K_CODES) {
		char what[64];
		snprintf(what, sizeof(what), "%s.%s", r->group, r->key);
		return cl_config_list(s, what, CL_CONFIG_CODES_MAX, str_field(c, r), msg, mlen);
	}

	if (is_string_kind(r->kind) || r->kind == K_LEVEL || r->kind == K_TRIGGER) {
		const char *v;
		if (type != CONFIG_TYPE_STRING) {
			snprintf(msg, mlen, "%s.%s must be a string", r->group, r->key);
			return -1;
		}
		v = config_setting_get_string(s);
		if (strlen(v) > 1024) {
			snprintf(msg, mlen, "%s.%s is too long", r->group, r->key);
			return -1;
		}
		switch (r->kind) {
		case K_LEVEL:
			if ((*int_field(c, r) = cl_log_level_parse(v)) < 0) {
				snprintf(msg, mlen, "log.level must be error, warn, info or debug, not \"%.64s\"", v);
				return -1;
			}
			return 0;
		case K_TRIGGER:
			if (strcmp(v, "ringing") == 0)
				*int_field(c, r) = CL_TRIGGER_RINGING;
			else if (strcmp(v, "answered") == 0)
				*int_field(c, r) = CL_TRIGGER_ANSWERED;
			else {
				snprintf(msg, mlen, "pops.trigger must be ringing or answered, not \"%.64s\"", v);
				return -1;
			}
			return 0;
		case K_LISTEN:
			if (v[0] != '\0' && !listen_valid(v)) {
				snprintf(msg, mlen, "%s.%s must be HOST:PORT (port 1-65535) or \"\", not \"%.64s\"",
				         r->group, r->key, v);
				return -1;
			}
			break;
		case K_DIGITS:
			if (strlen(v) > 4 || strspn(v, "0123456789") != strlen(v)) {
				snprintf(msg, mlen, "%s.%s must be at most 4 digits, not \"%.64s\"", r->group, r->key,
				         v);
				return -1;
			}
			break;
		default:
			break;
		}
		char *nv = (r->kind == K_PATH || r->kind == K_SOCK) ? cl_config_resolve_path(dir, v) : strdup(v);
		if (nv == NULL) {
			snprintf(msg, mlen, "out of memory");
			return -1;
		}
		if (r->kind == K_SOCK && strlen(nv) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
			snprintf(msg, mlen, "%s.%s: socket path \"%s\" is longer than %zu bytes", r->group, r->key, nv,
			         sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
			free(nv);
			return -1;
		}
		free(*str_field(c, r));
		*str_field(c, r) = nv;
		return 0;
	}

	if (r->kind == K_BOOL) {
		if (type != CONFIG_TYPE_BOOL) {
			snprintf(msg, mlen, "%s.%s must be true or false", r->group, r->key);
			return -1;
		}
		*int_field(c, r) = config_setting_get_bool(s) ? 1 : 0;
		return 0;
	}

	long long iv;
	if (type == CONFIG_TYPE_INT)
		iv = config_setting_get_int(s);
	else if (type == CONFIG_TYPE_INT64)
		iv = config_setting_get_int64(s);
	else {
		snprintf(msg, mlen, "%s.%s must be an integer", r->group, r->key);
		return -1;
	}
	if (iv < r->min || iv > r->max) {
		snprintf(msg, mlen, "%s.%s must be between %ld and %ld, not %lld", r->group, r->key, r->min, r->max,
		         iv);
		return -1;
	}
	*int_field(c, r) = (int)iv;
	return 0;
}

static const struct row *
find_row(const char *group, const char *key)
{
	for (size_t i = 0; i < NROWS; i++)
		if (strcmp(rows[i].group, group) == 0 && strcmp(rows[i].key, key) == 0)
			return &rows[i];
	return NULL;
}

/* The index of the first row of group name, or -1: a group is known by its rows. */
static int
find_group(const char *name)
{
	for (size_t i = 0; i < NROWS; i++)
		if (strcmp(rows[i].group, name) == 0)
			return (int)i;
	return -1;
}

/*
 * Runs every group's validator; -1 with msg and *line set to the blamed key's
 * line (or its group's, or 0 when the file sets neither).
 */
static int
validate(const struct cl_config *c, const int *row_line, const int *group_line, int *line, char *msg, size_t mlen)
{
	for (size_t i = 0; i < sizeof(validators) / sizeof(validators[0]); i++) {
		const struct validator *v = &validators[i];
		const char *key = NULL;
		int gi = find_group(v->group);
		if (v->check(c, &key, msg, mlen) == 0)
			continue;
		const struct row *r = key ? find_row(v->group, key) : NULL;
		*line = r && row_line[r - rows] ? row_line[r - rows] : gi >= 0 ? group_line[gi] : 0;
		return -1;
	}
	return 0;
}

int
cl_config_load(struct cl_config *c, const char *path, char *err)
{
	config_t cf;
	char msg[CL_ERR_LEN - 64];
	char *copy = NULL, *dir;
	char absdir[PATH_MAX];
	config_setting_t *root;
	int line = 0, gi;
	int row_line[NROWS] = {0}, group_line[NROWS] = {0};

	config_init(&cf);
	if (cl_config_defaults(c) < 0) {
		snprintf(err, CL_ERR_LEN, "%s:0: out of memory", path);
		config_destroy(&cf);
		return -1;
	}
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		snprintf(err, CL_ERR_LEN, "%s:0: cannot read config: %s", path, strerror(errno));
		goto fail;
	}
	if (config_read(&cf, f) != CONFIG_TRUE) {
		fclose(f);
		snprintf(err, CL_ERR_LEN, "%s:%d: %s", path, config_error_line(&cf), config_error_text(&cf));
		goto fail;
	}
	fclose(f);

	if ((copy = strdup(path)) == NULL) {
		snprintf(err, CL_ERR_LEN, "%s:0: out of memory", path);
		goto fail;
	}
	dir = dirname(copy);
	if (realpath(dir, absdir) == NULL) {
		snprintf(err, CL_ERR_LEN, "%s:0: cannot resolve directory: %s", path, strerror(errno));
		goto fail;
	}

	root = config_root_setting(&cf);
	for (int i = 0; i < config_setting_length(root); i++) {
		config_setting_t *g = config_setting_get_elem(root, (unsigned)i);
		const char *gname = config_setting_name(g);
		line = (int)config_setting_source_line(g);
		if (strcmp(gname, "webhooks") == 0) { /* a list of hooks: configcrm.c */
			if (cl_config_webhooks_load(c, g, absdir, &line, msg, sizeof(msg)) < 0)
				goto bad;
			continue;
		}
		if (strcmp(gname, "pbx") == 0) { /* a list of links: configpbx.c */
			if (cl_config_pbx_load(c, g, absdir, &line, msg, sizeof(msg)) < 0)
				goto bad;
			continue;
		}
		if ((gi = find_group(gname)) < 0) {
			snprintf(msg, sizeof(msg), "unknown setting \"%s\"", gname);
			goto bad;
		}
		group_line[gi] = line;
		if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
			snprintf(msg, sizeof(msg), "\"%s\" must be a group: %s = { ... };", gname, gname);
			goto bad;
		}
		for (int j = 0; j < config_setting_length(g); j++) {
			config_setting_t *s = config_setting_get_elem(g, (unsigned)j);
			const struct row *r = find_row(gname, config_setting_name(s));
			line = (int)config_setting_source_line(s);
			if (r == NULL && strcmp(gname, "crm") == 0 && strcmp(config_setting_name(s), "fields") == 0) {
				if (cl_config_crm_fields(c, s, &line, msg, sizeof(msg)) < 0)
					goto bad;
				continue;
			}
			if (r == NULL) {
				snprintf(msg, sizeof(msg), "unknown setting \"%s.%s\"", gname, config_setting_name(s));
				goto bad;
			}
			if (set_value(c, r, s, absdir, msg, sizeof(msg)) < 0)
				goto bad;
			row_line[r - rows] = line;
		}
	}
	if (validate(c, row_line, group_line, &line, msg, sizeof(msg)) < 0)
		goto bad;
	const char *crm_key = "lookup_url";
	if (cl_config_crm_finish(c, &crm_key, msg, sizeof(msg)) < 0) {
		const struct row *r = find_row("crm", crm_key);
		line = r && row_line[r - rows] ? row_line[r - rows] : group_line[find_group("crm")];
		goto bad;
	}
	if ((c->path = strdup(path)) == NULL) {
		snprintf(err, CL_ERR_LEN, "%s:0: out of memory", path);
		goto fail;
	}
	free(copy);
	config_destroy(&cf);
	return 0;
bad:
	snprintf(err, CL_ERR_LEN, "%s:%d: %s", path, line, msg);
fail:
	free(copy);
	config_destroy(&cf);
	cl_config_free(c);
	return -1;
}

static void
value_text(const struct cl_config *c, const struct row *r, char *buf, size_t len)
{
	struct cl_config *m = (struct cl_config *)c;

	if (is_string_kind(r->kind))
		snprintf(buf, len, "\"%s\"",
		         r->kind == K_STR && strcmp(r->key, "token") == 0 ? "***" : *str_field(m, r));
	else if (r->kind == K_LEVEL)
		snprintf(buf, len, "%s", cl_log_level_name(*int_field(m, r)));
	else if (r->kind == K_TRIGGER)
		snprintf(buf, len, "%s", *int_field(m, r) == CL_TRIGGER_ANSWERED ? "answered" : "ringing");
	else
		snprintf(buf, len, "%d", *int_field(m, r));
}

static int
row_differs(const struct cl_config *a, const struct cl_config *b, const struct row *r)
{
	struct cl_config *x = (struct cl_config *)a, *y = (struct cl_config *)b;

	if (is_string_kind(r->kind))
		return strcmp(*str_field(x, r), *str_field(y, r)) != 0;
	return *int_field(x, r) != *int_field(y, r);
}

int
cl_config_diff(const struct cl_config *a, const struct cl_config *b, char *out, size_t outlen)
{
	int n = 0;
	size_t used = 0;

	if (outlen > 0)
		out[0] = '\0';
	for (size_t i = 0; i < NROWS; i++) {
		char va[96], vb[96];
		if (!rows[i].reloadable || !row_differs(a, b, &rows[i]))
			continue;
		value_text(a, &rows[i], va, sizeof(va));
		value_text(b, &rows[i], vb, sizeof(vb));
		if (used < outlen) {
			int w = snprintf(out + used, outlen - used, "%s%s.%s=%s->%s", n ? " " : "", rows[i].group,
			                 rows[i].key, va, vb);
			if (w > 0)
				used += (size_t)w;
		}
		n++;
	}
	if (cl_config_pbx_differs(a, b)) {
		if (used < outlen)
			used += (size_t)snprintf(out + used, outlen - used, "%spbx=(changed)", n ? " " : "");
		n++;
	}
	if (used < outlen)
		n += cl_config_crm_diff(a, b, out + used, outlen - used);
	return n;
}

int
cl_config_reload_compatible(const struct cl_config *a, const struct cl_config *b, char *err)
{
	size_t used = 0;
	int n = 0;

	err[0] = '\0';
	for (size_t i = 0; i < NROWS; i++) {
		if (rows[i].reloadable || !row_differs(a, b, &rows[i]))
			continue;
		int w = snprintf(err + used, CL_ERR_LEN - used, "%s%s.%s", n++ ? " " : "", rows[i].group, rows[i].key);
		if (w > 0 && (size_t)w < CL_ERR_LEN - used)
			used += (size_t)w;
	}
	return n > 0 ? -1 : 0;
}

void
cl_config_apply_reloadable(struct cl_config *dst, struct cl_config *src)
{
	struct cl_pbx_cfg *links = dst->pbx; /* the PBX links (the caller reconciles them: cl_pbx_reload) */
	int n_links = dst->n_pbx;
	dst->pbx = src->pbx;
	dst->n_pbx = src->n_pbx;
	src->pbx = links;
	src->n_pbx = n_links;
	cl_config_crm_swap(dst, src);

	for (size_t i = 0; i < NROWS; i++) {
		const struct row *r = &rows[i];
		if (!r->reloadable)
			continue;
		if (is_string_kind(r->kind)) {
			char *t = *str_field(dst, r);
			*str_field(dst, r) = *str_field(src, r);
			*str_field(src, r) = t;
		} else {
			*int_field(dst, r) = *int_field(src, r);
		}
	}
}

int
cl_config_key_at(size_t i, struct cl_config_key *k)
{
	static const char *const type_names[] = {
	    [K_STR] = "string",  [K_PATH] = "path",  [K_SOCK] = "socket",  [K_LISTEN] = "listen", [K_DIGITS] = "digits",
	    [K_INT] = "integer", [K_LEVEL] = "enum", [K_TRIGGER] = "enum", [K_BOOL] = "boolean",  [K_CODES] = "list",
	};
	const struct row *r;

	if (i >= NROWS)
		return -1;
	r = &rows[i];
	memset(k, 0, sizeof(*k));
	k->group = r->group;
	k->key = r->key;
	k->type = type_names[r->kind];
	k->reloadable = r->reloadable;
	k->doc = r->doc;
	switch (r->kind) {
	case K_INT:
		k->min = r->min;
		k->max = r->max;
		snprintf(k->def, sizeof(k->def), "%ld", r->idef);
		break;
	case K_LEVEL:
		k->values = "error|warn|info|debug";
		snprintf(k->def, sizeof(k->def), "\"%s\"", cl_log_level_name((int)r->idef));
		break;
	case K_BOOL:
		snprintf(k->def, sizeof(k->def), "%s", r->idef ? "true" : "false");
		break;
	case K_TRIGGER:
		k->values = "ringing|answered";
		snprintf(k->def, sizeof(k->def), "\"%s\"", r->idef == CL_TRIGGER_ANSWERED ? "answered" : "ringing");
		break;
	case K_CODES: /* as a config file spells it: [ "a", "b" ] */
		snprintf(k->def, sizeof(k->def), "[ ");
		for (const char *p = r->sdef; *p;) {
			size_t n = strcspn(p, "\n"), used = strlen(k->def);
			snprintf(k->def + used, sizeof(k->def) - used, "%s\"%.*s\"", p == r->sdef ? "" : ", ", (int)n,
			         p);
			p += n + (p[n] == '\n');
		}
		snprintf(k->def + strlen(k->def), sizeof(k->def) - strlen(k->def), " ]");
		break;
	default:
		snprintf(k->def, sizeof(k->def), "\"%s\"", r->sdef);
		break;
	}
	return 0;
}
