/* configcrm.c : owns the crm group's parts outside the settings table
 * (crm.fields, the header file) and the webhooks = ( ... ) list (docs/crm.md). */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libconfig.h>

#include "config_int.h"
#include "callogd/crmmap.h"
#include "callogd/jsonptr.h"

#define HEADERS_MAX 8192 /* bytes of crm.header_file */
#define HEADER_LINES_MAX 32

_Static_assert(CL_CONFIG_CRM_FIELDS == CL_CRM__FIELDS, "crm.fields and crmmap.h agree");

static const char *const field_defaults[CL_CRM__FIELDS] = {"/id",   "/name",  "/email", "/account",
                                                           "/tier", "/notes", "/url"};

int
cl_config_crm_defaults(struct cl_config *c)
{
	for (int f = 0; f < CL_CRM__FIELDS; f++)
		if ((c->crm_fields[f] = strdup(field_defaults[f])) == NULL)
			return -1;
	return (c->crm_headers = strdup("")) == NULL ? -1 : 0;
}

static void
webhooks_free(struct cl_webhook_cfg *h, int n)
{
	for (int i = 0; i < n; i++) {
		free(h[i].name);
		free(h[i].url);
		free(h[i].secret);
		free(h[i].secret_file);
	}
	free(h);
}

void
cl_config_crm_free(struct cl_config *c)
{
	for (int f = 0; f < CL_CRM__FIELDS; f++) {
		free(c->crm_fields[f]);
		c->crm_fields[f] = NULL;
	}
	free(c->crm_headers);
	c->crm_headers = NULL;
	webhooks_free(c->webhooks, c->n_webhooks);
	c->webhooks = NULL;
	c->n_webhooks = 0;
}

int
cl_config_crm_fields(struct cl_config *c, config_setting_t *g, int *line, char *msg, size_t mlen)
{
	char why[CL_ERR_LEN];

	if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
		snprintf(msg, mlen, "crm.fields must be a group: fields = { id = \"/id\"; ... };");
		return -1;
	}
	for (int i = 0; i < config_setting_length(g); i++) {
		config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
		const char *key = config_setting_name(s), *v;
		int f = 0;
		*line = (int)config_setting_source_line(s);
		while (f < CL_CRM__FIELDS && strcmp(cl_crm_field_names[f], key) != 0)
			f++;
		if (f == CL_CRM__FIELDS) {
			snprintf(msg, mlen,
			         "unknown setting \"crm.fields.%s\" (id, name, email, account, tier, notes, url)", key);
			return -1;
		}
		if (config_setting_type(s) != CONFIG_TYPE_STRING) {
			snprintf(msg, mlen, "crm.fields.%s must be a string (a JSON pointer)", key);
			return -1;
		}
		v = config_setting_get_string(s);
		if (cl_jsonptr_check(v, why) < 0) {
			snprintf(msg, mlen, "crm.fields.%s: %s", key, why);
			return -1;
		}
		char *nv = strdup(v);
		if (nv == NULL) {
			snprintf(msg, mlen, "out of memory");
			return -1;
		}
		free(c->crm_fields[f]);
		c->crm_fields[f] = nv;
	}
	return 0;
}

/* Checks one "Name: value" line (len bytes, no line end) of the header file. */
static int
header_ok(const char *l, size_t len)
{
	const char *colon = memchr(l, ':', len);
	size_t name = colon ? (size_t)(colon - l) : 0;

	if (name == 0 ||
	    strspn(l, "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") < name)
		return 0;
	for (size_t i = name + 1; i < len; i++)
		if (((unsigned char)l[i] < 0x20 && l[i] != '\t') || l[i] == 0x7f)
			return 0;
	return 1;
}

/* header_file's lines, checked, into *out ("Name: value\n" each); blank lines and "#" comments skipped. */
static int
read_headers(const char *path, char **out, char *msg, size_t mlen)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL, *res = NULL;
	size_t n, used = 0;
	int lines = 0, lineno = 0;

	if (f == NULL) {
		snprintf(msg, mlen, "crm.header_file: cannot read \"%s\": %s", path, strerror(errno));
		return -1;
	}
	if ((buf = malloc(HEADERS_MAX + 2)) == NULL || (res = malloc(HEADERS_MAX + 2)) == NULL)
		goto oom;
	n = fread(buf, 1, HEADERS_MAX + 1, f);
	buf[n] = '\0';
	if (n > HEADERS_MAX || memchr(buf, '\0', n) != NULL) {
		snprintf(msg, mlen, "crm.header_file \"%s\" must be text of at most %d bytes", path, HEADERS_MAX);
		goto fail;
	}
	for (char *l = buf, *next; *l; l = next) {
		size_t len = strcspn(l, "\n");
		next = l[len] ? l + len + 1 : l + len;
		lineno++;
		if (len > 0 && l[len - 1] == '\r')
			len--;
		if (len == 0 || l[0] == '#')
			continue;
		if (!header_ok(l, len) || ++lines > HEADER_LINES_MAX) {
			snprintf(msg, mlen, "crm.header_file \"%s\" line %d: want \"Name: value\" (at most %d lines)",
			         path, lineno, HEADER_LINES_MAX);
			goto fail;
		}
		memcpy(res + used, l, len);
		used += len;
		res[used++] = '\n';
	}
	res[used] = '\0';
	fclose(f);
	free(buf);
	free(*out);
	*out = res;
	return 0;
oom:
	snprintf(msg, mlen, "out of memory");
fail:
	fclose(f);
	free(buf);
	free(res);
	return -1;
}

int
cl_config_crm_finish(struct cl_config *c, const char **key, char *msg, size_t mlen)
{
	char why[CL_ERR_LEN];

	if (c->crm_lookup_url[0] && cl_crm_url_check(c->crm_lookup_url, why) < 0) {
		*key = "lookup_url";
		snprintf(msg, mlen, "crm.lookup_url: %s", why);
		return -1;
	}
	if (cl_jsonptr_check(c->crm_list, why) < 0) {
		*key = "list";
		snprintf(msg, mlen, "crm.list: %s", why);
		return -1;
	}
	if (c->crm_header_file[0] && read_headers(c->crm_header_file, &c->crm_headers, msg, mlen) < 0) {
		*key = "header_file";
		return -1;
	}
	return 0;
}

/* ---- webhooks = ( { name = ...; url = ...; secret_file = ...; events = [...]; settle_seconds = N; } ) ---- */

static int
hook_int(config_setting_t *s, const char *key, int lo, int hi, int *out, char *msg, size_t mlen)
{
	if (config_setting_type(s) != CONFIG_TYPE_INT || config_setting_get_int(s) < lo ||
	    config_setting_get_int(s) > hi) {
		snprintf(msg, mlen, "webhooks.%s must be an integer between %d and %d", key, lo, hi);
		return -1;
	}
	*out = config_setting_get_int(s);
	return 0;
}

static int
hook_events(config_setting_t *s, int *out, char *msg, size_t mlen)
{
	char *list = NULL;
	int ev = 0;

	if (cl_config_list(s, "webhooks.events", 2, &list, msg, mlen) < 0)
		return -1;
	for (char *p = list; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		size_t n = strcspn(p, "\n");
		if (n == 14 && strncmp(p, "call.completed", n) == 0)
			ev |= CL_HOOK_COMPLETED;
		else if (n == 11 && strncmp(p, "call.missed", n) == 0)
			ev |= CL_HOOK_MISSED;
		else {
			snprintf(msg, mlen, "webhooks.events: \"%.*s\" is not call.completed or call.missed", (int)n,
			         p);
			free(list);
			return -1;
		}
	}
	free(list);
	*out = ev;
	return 0;
}

static int
hook_key(struct cl_webhook_cfg *h, config_setting_t *s, const char *dir, char *msg, size_t mlen)
{
	const char *key = config_setting_name(s);
	const char *v = config_setting_type(s) == CONFIG_TYPE_STRING ? config_setting_get_string(s) : NULL;
	char **dst = strcmp(key, "name") == 0          ? &h->name
	             : strcmp(key, "url") == 0         ? &h->url
	             : strcmp(key, "secret_file") == 0 ? &h->secret_file
	                                               : NULL;

	if (strcmp(key, "events") == 0)
		return hook_events(s, &h->events, msg, mlen);
	if (strcmp(key, "settle_seconds") == 0)
		return hook_int(s, key, 0, 86400, &h->settle_seconds, msg, mlen);
	if (strcmp(key, "timeout_ms") == 0)
		return hook_int(s, key, 100, 60000, &h->timeout_ms, msg, mlen);
	if (dst == NULL) {
		snprintf(msg, mlen, "unknown setting \"webhooks.%s\"", key);
		return -1;
	}
	if (v == NULL || strlen(v) > 1024) {
		snprintf(msg, mlen, "webhooks.%s must be a string of at most 1024 bytes", key);
		return -1;
	}
	char *nv = dst == &h->secret_file ? cl_config_resolve_path(dir, v) : strdup(v);
	if (nv == NULL) {
		snprintf(msg, mlen, "out of memory");
		return -1;
	}
	free(*dst);
	*dst = nv;
	return 0;
}

static int
hook_check(struct cl_config *c, struct cl_webhook_cfg *h, int i, char *msg, size_t mlen)
{
	if (h->name[0] == '\0' || strlen(h->name) > 32 ||
	    strspn(h->name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") != strlen(h->name)) {
		snprintf(msg, mlen, "webhooks entry %d: name must be 1 to 32 letters, digits, '_', '-' or '.'", i + 1);
		return -1;
	}
	for (int k = 0; k < i; k++)
		if (strcmp(c->webhooks[k].name, h->name) == 0) {
			snprintf(msg, mlen, "webhooks: two are named \"%s\"", h->name);
			return -1;
		}
	if ((strncmp(h->url, "http://", 7) != 0 && strncmp(h->url, "https://", 8) != 0) || strpbrk(h->url, " \t\r\n")) {
		snprintf(msg, mlen, "webhook \"%s\": url must be an http:// or https:// URL", h->name);
		return -1;
	}
	if (h->secret_file[0] == '\0') {
		snprintf(msg, mlen, "webhook \"%s\": secret_file is required", h->name);
		return -1;
	}
	char *secret = cl_config_read_secret(h->secret_file, msg, mlen);
	if (secret == NULL)
		return -1;
	free(h->secret);
	h->secret = secret;
	return 0;
}

int
cl_config_webhooks_load(struct cl_config *c, config_setting_t *list, const char *dir, int *line, char *msg, size_t mlen)
{
	int n = config_setting_length(list);

	if (config_setting_type(list) != CONFIG_TYPE_LIST) {
		snprintf(msg, mlen, "\"webhooks\" must be a list: webhooks = ( { ... }, ... );");
		return -1;
	}
	if (n > CL_WEBHOOKS_MAX) {
		snprintf(msg, mlen, "webhooks: at most %d", CL_WEBHOOKS_MAX);
		return -1;
	}
	webhooks_free(c->webhooks, c->n_webhooks);
	c->webhooks = NULL;
	c->n_webhooks = 0;
	if (n == 0)
		return 0;
	if ((c->webhooks = calloc((size_t)n, sizeof(*c->webhooks))) == NULL) {
		snprintf(msg, mlen, "out of memory");
		return -1;
	}
	for (int i = 0; i < n; i++) {
		config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
		struct cl_webhook_cfg *h = &c->webhooks[i];
		c->n_webhooks = i + 1;
		*line = (int)config_setting_source_line(g);
		h->events = CL_HOOK_COMPLETED;
		h->settle_seconds = 120;
		h->timeout_ms = 10000;
		if ((h->name = strdup("")) == NULL || (h->url = strdup("")) == NULL ||
		    (h->secret = strdup("")) == NULL || (h->secret_file = strdup("")) == NULL) {
			snprintf(msg, mlen, "out of memory");
			return -1;
		}
		if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
			snprintf(msg, mlen, "each webhooks entry must be a group: { name = \"...\"; ... }");
			return -1;
		}
		for (int j = 0; j < config_setting_length(g); j++) {
			config_setting_t *s = config_setting_get_elem(g, (unsigned)j);
			*line = (int)config_setting_source_line(s);
			if (hook_key(h, s, dir, msg, mlen) < 0)
				return -1;
		}
		*line = (int)config_setting_source_line(g);
		if (hook_check(c, h, i, msg, mlen) < 0)
			return -1;
	}
	return 0;
}

static int
hooks_differ(const struct cl_config *a, const struct cl_config *b)
{
	if (a->n_webhooks != b->n_webhooks)
		return 1;
	for (int i = 0; i < a->n_webhooks; i++) {
		const struct cl_webhook_cfg *x = &a->webhooks[i], *y = &b->webhooks[i];
		if (strcmp(x->name, y->name) || strcmp(x->url, y->url) || strcmp(x->secret, y->secret) ||
		    x->events != y->events || x->settle_seconds != y->settle_seconds || x->timeout_ms != y->timeout_ms)
			return 1;
	}
	return 0;
}

int
cl_config_crm_diff(const struct cl_config *a, const struct cl_config *b, char *out, size_t outlen)
{
	int fields = 0, n = 0;
	size_t used = 0;

	for (int f = 0; f < CL_CRM__FIELDS; f++)
		fields |= strcmp(a->crm_fields[f], b->crm_fields[f]) != 0;
	const char *what[3] = {fields ? "crm.fields" : NULL,
	                       strcmp(a->crm_headers, b->crm_headers) ? "crm.headers" : NULL,
	                       hooks_differ(a, b) ? "webhooks" : NULL};
	for (int i = 0; i < 3; i++) {
		if (what[i] == NULL)
			continue;
		if (used < outlen)
			used += (size_t)snprintf(out + used, outlen - used, " %s=(changed)", what[i]);
		n++;
	}
	return n;
}

void
cl_config_crm_swap(struct cl_config *dst, struct cl_config *src)
{
	struct cl_webhook_cfg *h = dst->webhooks;
	int n = dst->n_webhooks;
	char *t;

	for (int f = 0; f < CL_CRM__FIELDS; f++) {
		t = dst->crm_fields[f];
		dst->crm_fields[f] = src->crm_fields[f];
		src->crm_fields[f] = t;
	}
	t = dst->crm_headers;
	dst->crm_headers = src->crm_headers;
	src->crm_headers = t;
	dst->webhooks = src->webhooks;
	dst->n_webhooks = src->n_webhooks;
	src->webhooks = h;
	src->n_webhooks = n;
}
