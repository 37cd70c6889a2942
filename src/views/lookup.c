/* lookup.c : owns the customer views: the customer object, the caller lookup a
 * pop shows (docs/consoles.md) and the customer search of the API. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callogd/util.h"
#include "callogd/views.h"

json_t *
cl_view_customer(const struct cl_customer *c)
{
	json_t *phones = json_array();

	for (int i = 0; phones != NULL && i < c->nphones; i++)
		if (json_array_append_new(phones, json_string(c->phones[i])) < 0) {
			json_decref(phones);
			return NULL;
		}
	if (phones == NULL)
		return NULL;
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:s}", "id", c->id, "name", c->name, "account", c->account,
	                 "tier", c->tier, "email", c->email, "phones", phones, "notes", c->notes);
}

/* Appends the customers of ids[0..n) to arr (one struct reused: it is 5 KB); how many, or -1. */
static int
add_customers(struct cl_store *st, char (*ids)[CL_ID_MAX + 1], int n, json_t *arr, char *err)
{
	struct cl_customer *c = malloc(sizeof(*c));
	int got = 0;

	if (c == NULL)
		goto oom;
	for (int i = 0; i < n; i++) {
		json_t *j;
		int r = cl_store_customer_get(st, ids[i], c, err);
		if (r < 0)
			goto fail;
		/* A phone row without its customer cannot be written by import; skip it if found. */
		if (r == 0)
			continue;
		if ((j = cl_view_customer(c)) == NULL || json_array_append_new(arr, j) < 0)
			goto oom;
		got++;
	}
	free(c);
	return got;
oom:
	snprintf(err, CL_ERR_LEN, "out of memory");
fail:
	free(c);
	return -1;
}

static int
add_history(void *arg, const struct cl_history_row *h)
{
	json_t *j = json_pack("{s:s, s:o, s:o, s:s, s:o, s:o}", "call_id", h->call_id, "started_at",
	                      cl_json_time(h->offered_at), "agent", h->agent[0] ? json_string(h->agent) : json_null(),
	                      "outcome", cl_outcome_name(h->outcome), "disposition",
	                      h->disp_code[0] ? json_string(h->disp_code) : json_null(), "notes",
	                      h->disp_notes ? json_string(h->disp_notes) : json_null());
	/* What the console shows besides SPEC's fields: queue, talk duration, the agent's name. */
	if (j != NULL &&
	    (json_object_set_new(j, "queue", h->queue[0] ? json_string(h->queue) : json_null()) < 0 ||
	     json_object_set_new(j, "duration_ms", h->duration_ms >= 0 ? json_integer(h->duration_ms) : json_null()) <
	         0 ||
	     json_object_set_new(j, "agent_name", h->agent_name[0] ? json_string(h->agent_name) : json_null()) < 0)) {
		json_decref(j);
		return -1;
	}
	return j == NULL || json_array_append_new(arg, j) < 0 ? -1 : 0;
}

static json_t *
lookup_in_snapshot(struct cl_store *st, const char *number, int nhistory, const char *exclude_call_id, char *err)
{
	char ids[CL_CUSTOMERS_MAX_CANDIDATES][CL_ID_MAX + 1];
	json_t *out = NULL, *cands = NULL, *hist = NULL, *best;
	int matches = 0, n = 0, rc;

	if ((cands = json_array()) == NULL || (hist = json_array()) == NULL)
		goto oom;
	if (number[0] != '\0' &&
	    (n = cl_store_customer_match(st, number, CL_CUSTOMERS_MAX_CANDIDATES, ids, &matches, err)) < 0)
		goto fail;
	if (n > 0 && add_customers(st, ids, n, cands, err) < 0)
		goto fail;
	best = json_array_get(cands, 0);
	rc = cl_store_history(st, best ? json_string_value(json_object_get(best, "id")) : NULL, number, exclude_call_id,
	                      nhistory, add_history, hist, err);
	if (rc > 0)
		goto oom;
	if (rc < 0)
		goto fail;
	out = json_pack("{s:O, s:i, s:o}", "customer", best ? best : json_null(), "matches", matches, "history", hist);
	hist = NULL;
	if (out == NULL)
		goto oom;
	if (matches > 1 && json_object_set(out, "candidates", cands) < 0)
		goto oom;
	json_decref(cands);
	return out;
oom:
	snprintf(err, CL_ERR_LEN, "out of memory");
fail:
	json_decref(out);
	json_decref(hist);
	json_decref(cands);
	return NULL;
}

/*
 * One read snapshot for the whole lookup: the count, the ranking, the
 * customer and the history agree even while the writer or an import commits,
 * and a stale cache is noticed once per lookup instead of once per statement.
 */
json_t *
cl_view_lookup(struct cl_store *st, const char *number, int nhistory, const char *exclude_call_id, char *err)
{
	json_t *out;

	if (nhistory < 0)
		nhistory = 0;
	if (nhistory > CL_CUSTOMERS_MAX_HISTORY)
		nhistory = CL_CUSTOMERS_MAX_HISTORY;
	if (cl_store_begin_read(st, err) < 0)
		return NULL;
	out = lookup_in_snapshot(st, number ? number : "", nhistory, exclude_call_id, err);
	cl_store_end_read(st);
	return out;
}

json_t *
cl_view_lookup_raw(struct cl_store *st, const struct cl_numbers *rules, const char *raw, int nhistory,
                   const char *exclude_call_id, char *err)
{
	char number[CL_NUMBER_LEN];
	enum cl_number_result r = cl_number_normalize(rules, raw, number);
	json_t *out;

	if (r != CL_NUMBER_OK) {
		out = json_pack("{s:n, s:i, s:[], s:n, s:s}", "customer", "matches", 0, "history", "number",
		                "number_status", r == CL_NUMBER_NONE ? "none" : "invalid");
		if (out == NULL)
			snprintf(err, CL_ERR_LEN, "out of memory");
		return out;
	}
	out = cl_view_lookup(st, number, nhistory, exclude_call_id, err);
	if (out != NULL && (json_object_set_new(out, "number", json_string(number)) < 0 ||
	                    json_object_set_new(out, "number_status", json_string("ok")) < 0)) {
		json_decref(out);
		snprintf(err, CL_ERR_LEN, "out of memory");
		return NULL;
	}
	return out;
}

json_t *
cl_view_find_customers(struct cl_store *st, const char *number, int limit, char *err)
{
	char(*ids)[CL_ID_MAX + 1] = NULL;
	json_t *arr = json_array(), *out;
	int n = 0;

	if (limit < 1)
		limit = 1;
	if (limit > CL_CUSTOMERS_FIND_MAX)
		limit = CL_CUSTOMERS_FIND_MAX;
	if (arr == NULL || (ids = malloc((size_t)limit * sizeof(*ids))) == NULL)
		goto oom;
	if (number != NULL && number[0] != '\0') {
		if (cl_store_begin_read(st, err) < 0)
			goto fail;
		n = cl_store_customer_match(st, number, limit, ids, NULL, err);
		if (n > 0)
			n = add_customers(st, ids, n, arr, err);
		cl_store_end_read(st);
		if (n < 0)
			goto fail;
	}
	free(ids);
	if ((out = json_pack("{s:o}", "customers", arr)) == NULL)
		snprintf(err, CL_ERR_LEN, "out of memory");
	return out;
oom:
	snprintf(err, CL_ERR_LEN, "out of memory");
fail:
	free(ids);
	json_decref(arr);
	return NULL;
}

json_t *
cl_view_lookup_id(struct cl_store *st, const char *id, int nhistory, const char *exclude_call_id, char *err)
{
	json_t *c = cl_view_get_customer(st, id, err), *hist;

	if (c == NULL)
		return NULL;
	if ((hist = json_array()) == NULL ||
	    cl_store_history(st, id, NULL, exclude_call_id,
	                     nhistory < 0                          ? 0
	                     : nhistory > CL_CUSTOMERS_MAX_HISTORY ? CL_CUSTOMERS_MAX_HISTORY
	                                                           : nhistory,
	                     add_history, hist, err) < 0) {
		json_decref(hist);
		json_decref(c);
		return NULL;
	}
	return json_pack("{s:o, s:o}", "customer", c, "history", hist);
}

json_t *
cl_view_get_customer(struct cl_store *st, const char *id, char *err)
{
	struct cl_customer *c = malloc(sizeof(*c));
	json_t *j = NULL;

	err[0] = '\0';
	if (c == NULL) {
		snprintf(err, CL_ERR_LEN, "out of memory");
		return NULL;
	}
	if (id != NULL && cl_store_customer_get(st, id, c, err) == 1 && (j = cl_view_customer(c)) == NULL)
		snprintf(err, CL_ERR_LEN, "out of memory");
	free(c);
	return j;
}
