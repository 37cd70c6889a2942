/* customer_rec.c : owns one customer record's rules (those of callogctl import's
 * rows) and writing one record, for the console's "new customer" (POST /api/customers). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callogd/customers.h"
#include "callogd/store.h"
#include "callogd/util.h"

static const char *const field_names[CL_CF__COUNT] = {"id", "name", "phones", "email", "account", "tier", "notes"};
static const size_t field_max[CL_CF__COUNT] = {CL_ID_MAX, CL_CUSTOMER_TEXT_MAX, 0, CL_CUSTOMER_TEXT_MAX, CL_ID_MAX,
                                               CL_ID_MAX, CL_NOTES_MAX};

void
cl_customer_trim(const char **s, size_t *len)
{
	while (*len > 0 && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t'))
		(*len)--;
}

static int
has_control(const char *s, size_t len, int allow_newlines)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f) {
			if (allow_newlines && (c == '\n' || c == '\t' || c == '\r'))
				continue;
			return 1;
		}
	}
	return 0;
}

/* Splits, normalises and de-duplicates the phones field; -1 with why filled. */
static int
parse_phones(const struct cl_numbers *rules, struct cl_customer_fields *f, char *why)
{
	const char *p = f->v[CL_CF_PHONES], *end = p + f->len[CL_CF_PHONES];
	size_t o;

	f->nphones = 0;
	while (p != NULL && p <= end) {
		const char *semi = memchr(p, ';', (size_t)(end - p));
		const char *q = semi ? semi : end;
		char one[CL_NUMBER_MAX_INPUT + 1], norm[CL_NUMBER_LEN];
		size_t len = (size_t)(q - p);
		const char *s = p;
		enum cl_number_result r;
		int dup = 0;

		p = semi ? semi + 1 : NULL;
		cl_customer_trim(&s, &len);
		if (len == 0)
			continue;
		if (len > CL_NUMBER_MAX_INPUT) {
			snprintf(why, CL_ERR_LEN, "phone \"%.24s...\" is too long", s);
			return -1;
		}
		memcpy(one, s, len);
		one[len] = '\0';
		r = cl_number_normalize(rules, one, norm);
		if (r != CL_NUMBER_OK) {
			snprintf(why, CL_ERR_LEN, "phone \"%s\" is %s", one,
			         r == CL_NUMBER_NONE ? "no number" : "not a valid phone number");
			return -1;
		}
		for (int i = 0; i < f->nphones; i++)
			dup |= strcmp(f->phones[i], norm) == 0;
		if (dup)
			continue;
		if (f->nphones == CL_CUSTOMER_MAX_PHONES) {
			snprintf(why, CL_ERR_LEN, "more than %d phones", CL_CUSTOMER_MAX_PHONES);
			return -1;
		}
		memcpy(f->phones[f->nphones++], norm, sizeof(norm));
	}
	/* Normalised numbers are '+' and digits only: the JSON needs no escaping. */
	o = (size_t)snprintf(f->phones_json, sizeof(f->phones_json), "[");
	for (int i = 0; i < f->nphones; i++)
		o += (size_t)snprintf(f->phones_json + o, sizeof(f->phones_json) - o, "%s\"%s\"", i ? "," : "",
		                      f->phones[i]);
	snprintf(f->phones_json + o, sizeof(f->phones_json) - o, "]");
	return 0;
}

int
cl_customer_check(const struct cl_numbers *rules, struct cl_customer_fields *f, char *why)
{
	f->nphones = 0;
	snprintf(f->phones_json, sizeof(f->phones_json), "[]");
	for (int c = 0; c < CL_CF__COUNT; c++) {
		if (f->v[c] == NULL)
			continue;
		if (!cl_utf8_valid(f->v[c], f->len[c])) {
			snprintf(why, CL_ERR_LEN, "%s is not valid UTF-8", field_names[c]);
			return -1;
		}
		if (c != CL_CF_NOTES)
			cl_customer_trim(&f->v[c], &f->len[c]);
		if (c == CL_CF_PHONES) {
			if (f->len[c] > CL_CUSTOMER_PHONES_CELL_MAX) {
				snprintf(why, CL_ERR_LEN, "phones longer than %d bytes", CL_CUSTOMER_PHONES_CELL_MAX);
				return -1;
			}
			continue;
		}
		if (f->len[c] > field_max[c]) {
			snprintf(why, CL_ERR_LEN, "%s longer than %zu bytes", field_names[c], field_max[c]);
			return -1;
		}
		if (has_control(f->v[c], f->len[c], c == CL_CF_NOTES)) {
			snprintf(why, CL_ERR_LEN, "control character in %s", field_names[c]);
			return -1;
		}
	}
	if (f->v[CL_CF_ID] == NULL || f->len[CL_CF_ID] == 0) {
		snprintf(why, CL_ERR_LEN, "no id");
		return -1;
	}
	if (f->v[CL_CF_PHONES] != NULL && parse_phones(rules, f, why) < 0)
		return -1;
	return 0;
}

json_t *
cl_customer_json(const struct cl_customer_fields *f)
{
	json_t *o = json_object(), *phones = json_array();

	if (o == NULL || phones == NULL)
		goto oom;
	for (int c = 0; c < CL_CF__COUNT; c++) {
		json_t *v;
		if (c == CL_CF_PHONES)
			continue;
		v = json_stringn(f->v[c] ? f->v[c] : "", f->v[c] ? f->len[c] : 0);
		if (v == NULL || json_object_set_new(o, field_names[c], v) < 0)
			goto oom;
	}
	for (int i = 0; i < f->nphones; i++)
		if (json_array_append_new(phones, json_string(f->phones[i])) < 0)
			goto oom;
	if (json_object_set_new(o, "phones", phones) < 0) {
		phones = NULL;
		goto oom;
	}
	return o;
oom:
	json_decref(phones);
	json_decref(o);
	return NULL;
}

json_t *
cl_customer_from_json(const struct cl_numbers *rules, json_t *in, char *why)
{
	struct cl_customer_fields f;
	char phones[CL_CUSTOMER_PHONES_CELL_MAX + 1];
	size_t used = 0, i;
	json_t *v;

	memset(&f, 0, sizeof(f));
	if (!json_is_object(in)) {
		snprintf(why, CL_ERR_LEN, "a customer must be a JSON object");
		return NULL;
	}
	for (int c = 0; c < CL_CF__COUNT; c++) {
		if (c == CL_CF_PHONES || (v = json_object_get(in, field_names[c])) == NULL || json_is_null(v))
			continue;
		if (!json_is_string(v)) {
			snprintf(why, CL_ERR_LEN, "%s must be a string", field_names[c]);
			return NULL;
		}
		f.v[c] = json_string_value(v);
		f.len[c] = json_string_length(v);
	}
	if ((v = json_object_get(in, "phones")) != NULL && !json_is_null(v)) {
		json_t *ph;
		if (!json_is_array(v)) {
			snprintf(why, CL_ERR_LEN, "phones must be an array of strings");
			return NULL;
		}
		json_array_foreach (v, i, ph) {
			size_t n = json_string_length(ph);
			if (!json_is_string(ph) || memchr(json_string_value(ph), ';', n) != NULL) {
				snprintf(why, CL_ERR_LEN, "phones must be an array of strings, one number each");
				return NULL;
			}
			if (used + n + 1 > CL_CUSTOMER_PHONES_CELL_MAX) {
				snprintf(why, CL_ERR_LEN, "phones longer than %d bytes", CL_CUSTOMER_PHONES_CELL_MAX);
				return NULL;
			}
			memcpy(phones + used, json_string_value(ph), n);
			used += n;
			phones[used++] = ';';
		}
		f.v[CL_CF_PHONES] = phones;
		f.len[CL_CF_PHONES] = used;
	}
	if (cl_customer_check(rules, &f, why) < 0)
		return NULL;
	if ((v = cl_customer_json(&f)) == NULL)
		snprintf(why, CL_ERR_LEN, "out of memory");
	return v;
}

int
cl_customer_put(struct cl_store *st, json_t *rec, int64_t now_ms, char *err)
{
	static const int field_of_col[CL_CF__COUNT] = {-1,           CL_CUST_NAME, -1, CL_CUST_EMAIL, CL_CUST_ACCOUNT,
	                                               CL_CUST_TIER, CL_CUST_NOTES};
	char phones[CL_CUSTOMER_MAX_PHONES][CL_NUMBER_LEN];
	struct cl_customer_update u;
	json_t *ph, *v;
	size_t i;
	int existed;

	memset(&u, 0, sizeof(u));
	if ((u.id = json_string_value(json_object_get(rec, "id"))) == NULL) {
		snprintf(err, CL_ERR_LEN, "customer: no id");
		return -1;
	}
	u.id_len = strlen(u.id);
	for (int c = 0; c < CL_CF__COUNT; c++)
		if (field_of_col[c] >= 0 && (v = json_object_get(rec, field_names[c])) != NULL && json_is_string(v)) {
			u.text[field_of_col[c]] = json_string_value(v);
			u.len[field_of_col[c]] = json_string_length(v);
		}
	json_array_foreach (json_object_get(rec, "phones"), i, ph) {
		if (u.nphones == CL_CUSTOMER_MAX_PHONES || !json_is_string(ph) ||
		    json_string_length(ph) >= CL_NUMBER_LEN)
			break;
		snprintf(phones[u.nphones++], CL_NUMBER_LEN, "%s", json_string_value(ph));
	}
	u.set_phones = 1;
	u.phones = (const char(*)[CL_NUMBER_LEN])phones;
	u.now = now_ms;
	return cl_store_customer_put(st, &u, &existed, err);
}
