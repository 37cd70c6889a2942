/* config_int.h : what the settings module's two files (config.c, configpbx.c)
 * share; not an interface. */
#ifndef CALLOGD_CONFIG_INT_H
#define CALLOGD_CONFIG_INT_H

#include <stddef.h>

#include <libconfig.h>

#include "callogd/config.h"

/* A path made absolute against dir unless it is "" or absolute already; malloc'd, NULL on OOM. */
char *cl_config_resolve_path(const char *dir, const char *path);
/* pbx = ( ... ): -1 with msg and *line set. */
int cl_config_pbx_load(struct cl_config *c, config_setting_t *list, const char *dir, int *line, char *msg, size_t mlen);
void cl_config_pbx_free(struct cl_config *c);
/* 1 when the two configs' links differ in anything. */
int cl_config_pbx_differs(const struct cl_config *a, const struct cl_config *b);

#endif
