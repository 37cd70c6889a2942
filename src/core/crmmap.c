/* crmmap.c : owns the pure CRM lookup pieces: URL templates, answer mapping, merge. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callogd/crmmap.h"
#include "callogd/event.h"
#include "callogd/jsonptr.h"

const char *const cl_crm_field_names[CL_CRM__FIELDS] = {"id", "name", "email", "account", "tier", "notes", "url"};

static const char *const placeholders[] = {"{e164}", "{national}", "{digits}"};

/* The index of the placeholder at s, or -1. */
static int
placeholder_at(const char *s)
{
	for (int i = 0; i < 3; i++)
		if (strncmp(s, placeholders[i], strlen(placeholders[i])) == 0)
			return i;
	return -1;
}

int
cl_crm_url_check(const char *tmpl, char *err)
{
	if (strncmp(tmpl, "http://", 7) != 0 && strncmp(tmpl, "https://", 8) != 0) {
		snprintf(err, CL_ERR_LEN, "the lookup URL must start with http:// or https://");
		return -1;
	}
	for (const char *p = tmpl; *p; p++) {
		if ((unsigned char)*p <= 0x20 || *p == 0x7f) {
			snprintf(err, CL_ERR_LEN, "the lookup URL must not contain spaces or control characters");
			return -1;
		}
		if (*p == '{' && placeholder_at(p) < 0) {
			snprintf(err, CL_ERR_LEN, "unknown placeholder \"%.16s\": use {e164}, {national} or {digits}",
			         p);
			return -1;
		}
	}
	return 0;
}

/* Appends s percent-encoded (RFC 3986 unreserved bytes kept) at out[*n]; -1 when it does not fit. */
static int
put_encoded(char *out, size_t *n, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		int plain = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		            ch == '-' || ch == '.' || ch == '_' || ch == '~';
		if (*n + 4 > CL_CRM_URL_MAX)
			return -1;
		if (plain) {
			out[(*n)++] = (char)ch;
		} else {
			out[(*n)++] = '%';
			out[(*n)++] = hex[ch >> 4];
			out[(*n)++] = hex[ch & 15];
		}
	}
	return 0;
}

char *
cl_crm_url(const char *tmpl, const char *e164, const char *country_code, char *err)
{
	const char *digits = e164[0] == '+' ? e164 + 1 : e164, *national = digits;
	size_t n = 0, cc = strlen(country_code);
	char *out;

	if (cl_crm_url_check(tmpl, err) < 0)
		return NULL;
	if (e164[0] == '+' && cc > 0 && strncmp(digits, country_code, cc) == 0)
		national = digits + cc;
	if ((out = malloc(CL_CRM_URL_MAX)) == NULL) {
		snprintf(err, CL_ERR_LEN, "out of memory");
		return NULL;
	}
	for (const char *p = tmpl; *p;) {
		int k = *p == '{' ? placeholder_at(p) : -1;
		if (k >= 0) {
			if (put_encoded(out, &n, k == 0 ? e164 : k == 1 ? national : digits) < 0)
				goto too_long;
			p += strlen(placeholders[k]);
			continue;
		}
		if (n + 2 > CL_CRM_URL_MAX)
			goto too_long;
		out[n++] = *p++;
	}
	out[n] = '\0';
	return out;
too_long:
	free(out);
	snprintf(err, CL_ERR_LEN, "the lookup URL is longer than %d bytes", CL_CRM_URL_MAX);
	return NULL;
}

/* The text of a field's value: strings cut at a UTF-8 boundary, numbers and booleans as text, else "". */
static json_t *
field_text(json_t *v, size_t cap)
{
	char buf[CL_NOTES_MAX + 1];

	if (json_is_string(v))
		cl_utf8_copy(buf, cap + 1 < sizeof(buf) ? cap + 1 : sizeof(buf), json_string_value(v));
	else if (json_is_integer(v))
		snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		snprintf(buf, sizeof(buf), "%.17g", json_real_value(v));
	else if (json_is_boolean(v))
		snprintf(buf, sizeof(buf), "%s", json_is_true(v) ? "true" : "false");
	else
		buf[0] = '\0';
	return json_string(buf);
}

/* One contact from one element of the answer; NULL when it has neither id nor name or on out of memory. */
static json_t *
contact(const struct cl_crm_map *m, json_t *elem, const char *number)
{
	static const size_t caps[CL_CRM__FIELDS] = {
	    CL_ID_MAX, CL_CRM_TEXT_MAX, CL_CRM_TEXT_MAX, CL_ID_MAX, CL_ID_MAX, CL_NOTES_MAX, 2048};
	json_t *c = json_object();

	if (c == NULL)
		return NULL;
	for (int f = 0; f < CL_CRM__FIELDS; f++) {
		json_t *v = m->fields[f] && m->fields[f][0] ? cl_jsonptr_get(elem, m->fields[f]) : NULL;
		json_t *t = field_text(v, caps[f]);
		const char *s = json_string_value(t);
		if (t != NULL && f == CL_CRM_URL && strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0)
			json_string_set(t, "");
		if (t == NULL || json_object_set_new(c, cl_crm_field_names[f], t) < 0)
			goto fail;
	}
	if (json_string_length(json_object_get(c, "id")) == 0 && json_string_length(json_object_get(c, "name")) == 0)
		goto fail;
	if (json_object_set_new(c, "phones", json_pack("[s]", number)) < 0 ||
	    json_object_set_new(c, "source", json_string("crm")) < 0)
		goto fail;
	return c;
fail:
	json_decref(c);
	return NULL;
}

json_t *
cl_crm_contacts(const struct cl_crm_map *m, const char *body, size_t len, const char *number, char *err)
{
	json_error_t jerr;
	json_t *root = json_loadb(body, len, 0, &jerr), *list, *out = NULL, *arr = NULL, *c;
	size_t n, matches = 0;

	if (root == NULL) {
		snprintf(err, CL_ERR_LEN, "the answer is not JSON: %s (line %d)", jerr.text, jerr.line);
		return NULL;
	}
	list = cl_jsonptr_get(root, m->list ? m->list : "");
	if (list != NULL && !json_is_null(list) && !json_is_array(list) && !json_is_object(list)) {
		snprintf(err, CL_ERR_LEN, "crm.list \"%.64s\" is neither an array nor an object in the answer",
		         m->list ? m->list : "");
		goto fail;
	}
	if ((arr = json_array()) == NULL)
		goto oom;
	n = json_is_array(list) ? json_array_size(list) : json_is_object(list) ? 1 : 0;
	for (size_t i = 0; i < n; i++) {
		json_t *elem = json_is_array(list) ? json_array_get(list, i) : list;
		if (!json_is_object(elem))
			continue;
		if (json_array_size(arr) == CL_CRM_MAX_CONTACTS) {
			matches++; /* counted, not mapped */
			continue;
		}
		if ((c = contact(m, elem, number)) == NULL)
			continue;
		matches++;
		if (json_array_append_new(arr, c) < 0)
			goto oom;
	}
	out = json_pack("{s:O, s:I}", "contacts", arr, "matches", (json_int_t)matches);
	if (out == NULL)
		goto oom;
	json_decref(arr);
	json_decref(root);
	return out;
oom:
	snprintf(err, CL_ERR_LEN, "out of memory");
fail:
	json_decref(arr);
	json_decref(root);
	return NULL;
}

/* A copy of a local customer object with "source":"local"; a new reference. */
static json_t *
local_customer(json_t *c)
{
	json_t *copy = json_copy(c);

	if (copy != NULL && json_object_set_new(copy, "source", json_string("local")) < 0) {
		json_decref(copy);
		return NULL;
	}
	return copy;
}

/* 1 when arr has an object whose "id" is id (a non-empty string). */
static int
has_id(json_t *arr, const char *id)
{
	size_t i;
	json_t *c;

	if (id == NULL || id[0] == '\0')
		return 0;
	json_array_foreach (arr, i, c) {
		const char *o = json_string_value(json_object_get(c, "id"));
		if (o != NULL && strcmp(o, id) == 0)
			return 1;
	}
	return 0;
}

json_t *
cl_crm_merge(json_t *local, json_t *crm, const char *number)
{
	json_t *out = local ? json_copy(local)
	                    : json_pack("{s:n, s:i, s:[], s:s, s:s}", "customer", "matches", 0, "history", "number",
	                                number ? number : "", "number_status", "ok");
	json_t *lc = json_object_get(local, "candidates"), *cands = json_array(),
	       *crmc = json_object_get(crm, "contacts");
	json_int_t matches = json_integer_value(json_object_get(local, "matches"));
	size_t i;
	json_t *c;

	if (out == NULL || cands == NULL)
		goto fail;
	if (!json_is_array(lc)) /* one match or none: the customer alone */
		lc = NULL;
	json_array_foreach (crmc, i, c)
		if (json_array_append(cands, c) < 0)
			goto fail;
	matches += json_integer_value(json_object_get(crm, "matches"));
	for (i = 0; i < (lc ? json_array_size(lc) : 1); i++) {
		json_t *l = lc ? json_array_get(lc, i) : json_object_get(local, "customer");
		if (!json_is_object(l))
			continue;
		if (has_id(crmc, json_string_value(json_object_get(l, "id")))) {
			matches--; /* the same customer in both: counted once */
			continue;
		}
		if (json_array_size(cands) < CL_CRM_MAX_CONTACTS && json_array_append_new(cands, local_customer(l)) < 0)
			goto fail;
	}
	if (json_object_set(out, "customer", json_array_size(cands) ? json_array_get(cands, 0) : json_null()) < 0 ||
	    json_object_set_new(out, "matches", json_integer(matches)) < 0)
		goto fail;
	if (matches > 1 && json_array_size(cands) > 1) {
		if (json_object_set(out, "candidates", cands) < 0)
			goto fail;
	} else {
		json_object_del(out, "candidates");
	}
	json_decref(cands);
	return out;
fail:
	json_decref(cands);
	json_decref(out);
	return NULL;
}
