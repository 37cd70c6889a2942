/* ctl.h : callogctl's commands and what they share (src/ctl/). Commands take
 * argv from the command name on and return the exit code: 0, 1 (failure) or 2
 * (usage). Errors go to stderr as "callogctl: ...". */
#ifndef CALLOGD_CTL_H
#define CALLOGD_CTL_H

#include <stdint.h>

#include <jansson.h>

#include "callogd/config.h"
#include "callogd/numbers.h"

struct cl_store;

struct cl_ctl {
	const char *config_path;
	struct cl_config cfg;
	int cfg_loaded;
	struct cl_numbers rules;
};

extern const char cl_ctl_usage[];

/* cl_ctl_usage_error() : fmt (with arg) and the usage on stderr; returns 2. fmt may be NULL. */
int cl_ctl_usage_error(const char *fmt, const char *arg);
/* cl_ctl_fail() : "callogctl: " fmt (with arg) on stderr; returns 1. */
int cl_ctl_fail(const char *fmt, const char *arg);
/* cl_ctl_config() : loads the config once (and its number rules); -1 after reporting. */
int cl_ctl_config(struct cl_ctl *ctl);
/* cl_ctl_store() : the configured database opened with flags, or NULL after reporting. */
struct cl_store *cl_ctl_store(struct cl_ctl *ctl, int flags);
/*
 * cl_ctl_yield_to_daemon() : long writes (import, purge) run at the lowest
 * priority: they share the database with a running daemon, whose writer thread
 * runs at nice 19 too, and must not take its CPU while it waits its turn.
 */
void cl_ctl_yield_to_daemon(void);
/* Why s is no valid ID (agents, queues) or name, or NULL when it is. */
const char *cl_ctl_id_problem(const char *s);
const char *cl_ctl_name_problem(const char *s);
/*
 * cl_ctl_opt_value() : matches "--name VALUE" and "--name=VALUE" at argv[*i];
 * sets *val and moves *i past what it used. 1 on a match, 0 when argv[*i] is
 * another option, -1 when the value is missing.
 */
int cl_ctl_opt_value(int argc, char **argv, int *i, const char *name, const char **val);
int cl_ctl_parse_long(const char *s, long lo, long hi, long *out);
/* RFC 3339, or YYYY-MM-DD for midnight UTC of that day (+1 day with end_of_day). */
int cl_ctl_parse_when(const char *s, int end_of_day, int64_t *ms);
/* cl_ctl_escape() : s as printed to a terminal: control characters (and DEL) as \xNN, cut to fit cap. */
void cl_ctl_escape(const char *s, char *out, size_t cap);
/* A table of rows (JSON objects) under header, columns as wide as their content; cells are escaped. */
void cl_ctl_print_table(const char *const *header, int ncols, json_t *rows);
/* The text of obj[key] for a table cell ("" when absent). */
const char *cl_ctl_cell(json_t *obj, const char *key);

int cl_ctl_import(struct cl_ctl *ctl, int argc, char **argv);
int cl_ctl_customer(struct cl_ctl *ctl, int argc, char **argv);
int cl_ctl_agent(struct cl_ctl *ctl, int argc, char **argv);
int cl_ctl_token(struct cl_ctl *ctl, int argc, char **argv);
int cl_ctl_calls(struct cl_ctl *ctl, int argc, char **argv);
int cl_ctl_purge(struct cl_ctl *ctl, int argc, char **argv);
int cl_ctl_send(struct cl_ctl *ctl, int argc, char **argv);
int cl_ctl_simulate(struct cl_ctl *ctl, int argc, char **argv);
int cl_ctl_report(struct cl_ctl *ctl, int argc, char **argv);
/* pbx status: the running daemon's PBX links, read from its /metrics (cmd_pbx.c). */
int cl_ctl_pbx(struct cl_ctl *ctl, int argc, char **argv);
/* cmd_webhooks.c */
int cl_ctl_webhooks(struct cl_ctl *ctl, int argc, char **argv);

#endif
