/* configpbx.c : owns the pbx = ( ... ) list of the settings (docs/pbx.md): one table
 * of keys per link, checked as the rest of the file is, secrets read from files. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libconfig.h>

#include "config_int.h"

#define SECRET_MAX 1024

enum lkind { LK_STR, LK_PATH, LK_PORT, LK_BOOL, LK_TYPE, LK_AGENT_ID };

/* The keys of one link, in the settings table's style. */
static const struct lrow {
	const char *key;
	enum lkind kind;
	size_t off;
	const char *doc;
} lrows[] = {
    {"name", LK_STR, offsetof(struct cl_pbx_cfg, name), "The link's name: the prefix of its call ids (required)."},
    {"type", LK_TYPE, offsetof(struct cl_pbx_cfg, type), "ami (Asterisk) or esl (FreeSWITCH) (required)."},
    {"host", LK_STR, offsetof(struct cl_pbx_cfg, host), "The PBX's host name or address (required)."},
    {"port", LK_PORT, offsetof(struct cl_pbx_cfg, port), "Its port: 5038 for ami, 8021 for esl by default."},
    {"username", LK_STR, offsetof(struct cl_pbx_cfg, username), "The AMI user (manager.conf)."},
    {"secret", LK_STR, offsetof(struct cl_pbx_cfg, secret), "The AMI secret."},
    {"secret_file", LK_PATH, offsetof(struct cl_pbx_cfg, secret_file), "A file holding the AMI secret."},
    {"password", LK_STR, offsetof(struct cl_pbx_cfg, secret), "The ESL password."},
    {"password_file", LK_PATH, offsetof(struct cl_pbx_cfg, secret_file), "A file holding the ESL password."},
    {"tls", LK_BOOL, offsetof(struct cl_pbx_cfg, tls), "TLS to the PBX, its certificate and name verified."},
    {"ca", LK_PATH, offsetof(struct cl_pbx_cfg, ca), "CA file (PEM) for tls; \"\" = the system's store."},
    {"agent_id", LK_AGENT_ID, offsetof(struct cl_pbx_cfg, agent_id),
     "membername, or interface: PJSIP/1001 is agent 1001 (ami)."},
};

#define NLROWS (sizeof(lrows) / sizeof(lrows[0]))

static char **
lstr(struct cl_pbx_cfg *p, const struct lrow *r)
{
	return (char **)((char *)p + r->off);
}

static int *
lint(struct cl_pbx_cfg *p, const struct lrow *r)
{
	return (int *)((char *)p + r->off);
}

void
cl_config_pbx_free(struct cl_config *c)
{
	for (int i = 0; i < c->n_pbx; i++) {
		struct cl_pbx_cfg *p = &c->pbx[i];
		free(p->name);
		free(p->host);
		free(p->username);
		free(p->secret);
		free(p->secret_file);
		free(p->ca);
	}
	free(c->pbx);
	c->pbx = NULL;
	c->n_pbx = 0;
}

/* The secret in path: its first line, without the line end (systemd credentials end with none). */
char *
cl_config_read_secret(const char *path, char *msg, size_t mlen)
{
	FILE *f = fopen(path, "r");
	char buf[SECRET_MAX + 2];
	size_t n;

	if (f == NULL) {
		snprintf(msg, mlen, "cannot read \"%s\": %s", path, strerror(errno));
		return NULL;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	if (n > SECRET_MAX || buf[0] == '\0') {
		snprintf(msg, mlen, "\"%s\" must hold one line of 1 to %d bytes", path, SECRET_MAX);
		return NULL;
	}
	return strdup(buf);
}

static int
set_key(struct cl_pbx_cfg *p, const struct lrow *r, config_setting_t *s, const char *dir, char *msg, size_t mlen)
{
	int type = config_setting_type(s);
	const char *v = type == CONFIG_TYPE_STRING ? config_setting_get_string(s) : NULL;

	switch (r->kind) {
	case LK_PORT:
		if (type != CONFIG_TYPE_INT || config_setting_get_int(s) < 1 || config_setting_get_int(s) > 65535) {
			snprintf(msg, mlen, "pbx.port must be an integer between 1 and 65535");
			return -1;
		}
		*lint(p, r) = config_setting_get_int(s);
		return 0;
	case LK_BOOL:
		if (type != CONFIG_TYPE_BOOL) {
			snprintf(msg, mlen, "pbx.%s must be true or false", r->key);
			return -1;
		}
		*lint(p, r) = config_setting_get_bool(s);
		return 0;
	default:
		break;
	}
	if (v == NULL || strlen(v) > 1024) {
		snprintf(msg, mlen, "pbx.%s must be a string of at most 1024 bytes", r->key);
		return -1;
	}
	if (r->kind == LK_TYPE || r->kind == LK_AGENT_ID) {
		const char *a = r->kind == LK_TYPE ? "ami" : "membername",
		           *b = r->kind == LK_TYPE ? "esl" : "interface";
		if (strcmp(v, a) != 0 && strcmp(v, b) != 0) {
			snprintf(msg, mlen, "pbx.%s must be %s or %s, not \"%.64s\"", r->key, a, b, v);
			return -1;
		}
		*lint(p, r) = strcmp(v, b) == 0;
		return 0;
	}
	char *nv = r->kind == LK_PATH ? cl_config_resolve_path(dir, v) : strdup(v);
	if (nv == NULL) {
		snprintf(msg, mlen, "out of memory");
		return -1;
	}
	free(*lstr(p, r));
	*lstr(p, r) = nv;
	return 0;
}

/* The checks that span one link's keys. */
static int
check_link(struct cl_pbx_cfg *p, int seen_secret, int seen_file, char *msg, size_t mlen)
{
	const char *word = p->type == CL_PBX_TYPE_AMI ? "secret" : "password";

	if (p->name[0] == '\0' || strlen(p->name) > CL_PBX_NAME_MAX ||
	    strspn(p->name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") != strlen(p->name)) {
		snprintf(msg, mlen, "pbx.name must be 1 to %d letters, digits, '_', '-' or '.'", CL_PBX_NAME_MAX);
		return -1;
	}
	if (p->host[0] == '\0') {
		snprintf(msg, mlen, "pbx \"%s\": host is required", p->name);
		return -1;
	}
	if (p->type == CL_PBX_TYPE_AMI && p->username[0] == '\0') {
		snprintf(msg, mlen, "pbx \"%s\": username is required for ami", p->name);
		return -1;
	}
	if (seen_secret + seen_file != 1) {
		snprintf(msg, mlen, "pbx \"%s\": exactly one of %s and %s_file is required", p->name, word, word);
		return -1;
	}
	if (p->ca[0] && !p->tls) {
		snprintf(msg, mlen, "pbx \"%s\": ca is set but tls is not", p->name);
		return -1;
	}
	if (p->ca[0]) {
		FILE *f = fopen(p->ca, "r");
		if (f == NULL) {
			snprintf(msg, mlen, "pbx \"%s\": cannot read ca \"%s\": %s", p->name, p->ca, strerror(errno));
			return -1;
		}
		fclose(f);
	}
	if (seen_file) {
		char *secret = cl_config_read_secret(p->secret_file, msg, mlen);
		if (secret == NULL)
			return -1;
		free(p->secret);
		p->secret = secret;
	}
	/* They go into the login as they are: a line break would add headers of its own. */
	if (strpbrk(p->secret, "\r\n") || strpbrk(p->username, "\r\n")) {
		snprintf(msg, mlen, "pbx \"%s\": username and %s must not contain line breaks", p->name, word);
		return -1;
	}
	if (p->port == 0) /* AMI over TLS listens on 5039 (manager.conf tlsbindport) */
		p->port = p->type == CL_PBX_TYPE_AMI ? (p->tls ? 5039 : 5038) : 8021;
	return 0;
}

int
cl_config_pbx_load(struct cl_config *c, config_setting_t *list, const char *dir, int *line, char *msg, size_t mlen)
{
	int n = config_setting_length(list);

	if (config_setting_type(list) != CONFIG_TYPE_LIST) {
		snprintf(msg, mlen, "\"pbx\" must be a list: pbx = ( { ... }, ... );");
		return -1;
	}
	if (n > CL_PBX_MAX_LINKS) {
		snprintf(msg, mlen, "pbx: at most %d links", CL_PBX_MAX_LINKS);
		return -1;
	}
	cl_config_pbx_free(c);
	if (n == 0)
		return 0;
	if ((c->pbx = calloc((size_t)n, sizeof(*c->pbx))) == NULL) {
		snprintf(msg, mlen, "out of memory");
		return -1;
	}
	for (int i = 0; i < n; i++) {
		config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
		struct cl_pbx_cfg *p = &c->pbx[i];
		int seen_secret = 0, seen_file = 0, seen_type = 0;
		c->n_pbx = i + 1;
		*line = (int)config_setting_source_line(g);
		p->type = -1;
		if ((p->name = strdup("")) == NULL || (p->host = strdup("")) == NULL ||
		    (p->username = strdup("")) == NULL || (p->secret = strdup("")) == NULL ||
		    (p->secret_file = strdup("")) == NULL || (p->ca = strdup("")) == NULL) {
			snprintf(msg, mlen, "out of memory");
			return -1;
		}
		if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
			snprintf(msg, mlen, "each pbx entry must be a group: { name = \"...\"; ... }");
			return -1;
		}
		for (int j = 0; j < config_setting_length(g); j++) {
			config_setting_t *s = config_setting_get_elem(g, (unsigned)j);
			const char *key = config_setting_name(s);
			const struct lrow *r = NULL;
			*line = (int)config_setting_source_line(s);
			for (size_t k = 0; k < NLROWS; k++)
				if (strcmp(lrows[k].key, key) == 0)
					r = &lrows[k];
			if (r == NULL) {
				snprintf(msg, mlen, "unknown setting \"pbx.%s\"", key);
				return -1;
			}
			if (set_key(p, r, s, dir, msg, mlen) < 0)
				return -1;
			seen_secret += r->off == offsetof(struct cl_pbx_cfg, secret);
			seen_file += r->off == offsetof(struct cl_pbx_cfg, secret_file);
			seen_type += r->kind == LK_TYPE;
		}
		*line = (int)config_setting_source_line(g);
		if (!seen_type) {
			snprintf(msg, mlen, "pbx entry %d: type is required (ami or esl)", i + 1);
			return -1;
		}
		if (check_link(p, seen_secret, seen_file, msg, mlen) < 0)
			return -1;
		for (int k = 0; k < i; k++)
			if (strcmp(c->pbx[k].name, p->name) == 0) {
				snprintf(msg, mlen, "pbx: two links are named \"%s\"", p->name);
				return -1;
			}
	}
	return 0;
}

int
cl_pbx_cfg_equal(const struct cl_pbx_cfg *x, const struct cl_pbx_cfg *y)
{
	return strcmp(x->name, y->name) == 0 && x->type == y->type && strcmp(x->host, y->host) == 0 &&
	       x->port == y->port && strcmp(x->username, y->username) == 0 && strcmp(x->secret, y->secret) == 0 &&
	       x->tls == y->tls && strcmp(x->ca, y->ca) == 0 && x->agent_id == y->agent_id;
}

int
cl_config_pbx_differs(const struct cl_config *a, const struct cl_config *b)
{
	if (a->n_pbx != b->n_pbx)
		return 1;
	for (int i = 0; i < a->n_pbx; i++)
		if (!cl_pbx_cfg_equal(&a->pbx[i], &b->pbx[i]))
			return 1;
	return 0;
}
