/* config_int.h : what the settings module's files (config.c, configpbx.c,
 * configdb.c) share; not an interface. */
#ifndef CALLOGD_CONFIG_INT_H
#define CALLOGD_CONFIG_INT_H

#include <stddef.h>

#include <libconfig.h>

#include "callogd/config.h"

/* A path made absolute against dir unless it is "" or absolute already; malloc'd, NULL on OOM. */
char *cl_config_resolve_path(const char *dir, const char *path);
/* cl_config_read_secret() : path's first line (1..1024 bytes), malloc'd; NULL with msg. */
char *cl_config_read_secret(const char *path, char *msg, size_t mlen);
/* pbx = ( ... ): -1 with msg and *line set. */
int cl_config_pbx_load(struct cl_config *c, config_setting_t *list, const char *dir, int *line, char *msg, size_t mlen);
void cl_config_pbx_free(struct cl_config *c);
/* 1 when the two configs' links differ in anything. */
int cl_config_pbx_differs(const struct cl_config *a, const struct cl_config *b);

/*
 * cl_config_list() : a list of 1..max distinct strings of 1..128 printable
 * bytes (what names it in messages) into *out, one a line (the old *out
 * freed). -1 with msg.
 */
int cl_config_list(config_setting_t *s, const char *what, int max, char **out, char *msg, size_t mlen);

/* configcrm.c: crm.fields = { ... } (JSON pointers); -1 with msg and *line set. */
int cl_config_crm_fields(struct cl_config *c, config_setting_t *g, int *line, char *msg, size_t mlen);
/* webhooks = ( ... ): -1 with msg and *line set. */
int cl_config_webhooks_load(struct cl_config *c, config_setting_t *list, const char *dir, int *line, char *msg,
                            size_t mlen);
/* The crm group's checks and its header_file read into c->crm_headers; -1 with *key (the key to blame) and msg. */
int cl_config_crm_finish(struct cl_config *c, const char **key, char *msg, size_t mlen);
/* Defaults of what the table does not hold (crm.fields); -1 on out of memory. */
int cl_config_crm_defaults(struct cl_config *c);
void cl_config_crm_free(struct cl_config *c);
/* Appends " crm.fields=(changed)" and the like for what differs outside the table; how many. */
int cl_config_crm_diff(const struct cl_config *a, const struct cl_config *b, char *out, size_t outlen);
/* Swaps what a reload changes outside the table (fields, headers, webhooks). */
void cl_config_crm_swap(struct cl_config *dst, struct cl_config *src);
/* database.path's built-in default: a path left at it counts as not set. */
#define DB_PATH_DEFAULT "/var/lib/callogd/callog.db"
/* The database group's validator (config.c's table): -1 with *key and msg. */
int cl_config_check_database(const struct cl_config *c, const char **key, char *msg, size_t mlen);

#endif
