/* customers.c : owns customer records: ranked caller lookup with call history, and CSV import. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "callogd/csv.h"
#include "callogd/calls.h"
#include "callogd/customers.h"
#include "callogd/util.h"

#define CUSTOMER_COLS "id, name, phones, email, account, tier, notes"

struct cl_customers {
	sqlite3 *db;
	sqlite3_stmt *count, *rank, *get, *hist_customer, *hist_number;
};

/*
 * The ranking of SPEC §5 in one statement: the number's customers by id (at
 * most CL_CUSTOMERS_RANKED of them, read off the primary key), each with its
 * latest call read off calls_customer by a min/max seek.
 */
static const char rank_sql[] =
    "SELECT m.customer_id FROM"
    " (SELECT customer_id FROM customer_phones WHERE number = ?1 ORDER BY customer_id LIMIT ?2) AS m"
    " ORDER BY (SELECT max(offered_at) FROM calls WHERE customer_id = m.customer_id) DESC NULLS LAST,"
    " m.customer_id LIMIT ?3";

#define HISTORY_COLS "call_id, offered_at, agent, answered_at, ended_at, end_reason, end_by, disp_code, disp_notes"

static int
prep(sqlite3 *db, sqlite3_stmt **s, const char *sql, char *err)
{
	if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, s, NULL) != SQLITE_OK) {
		snprintf(err, CL_ERR_LEN, "customers: prepare: %s", sqlite3_errmsg(db));
		return -1;
	}
	return 0;
}

struct cl_customers *
cl_customers_new(sqlite3 *db, char *err)
{
	struct cl_customers *cs = calloc(1, sizeof(*cs));

	if (cs == NULL) {
		snprintf(err, CL_ERR_LEN, "out of memory");
		return NULL;
	}
	cs->db = db;
	if (prep(db, &cs->count, "SELECT count(*) FROM customer_phones WHERE number = ?", err) < 0 ||
	    prep(db, &cs->rank, rank_sql, err) < 0 ||
	    prep(db, &cs->get, "SELECT " CUSTOMER_COLS " FROM customers WHERE id = ?", err) < 0 ||
	    prep(db, &cs->hist_customer,
	         "SELECT " HISTORY_COLS " FROM calls WHERE customer_id = ?1 AND call_id IS NOT ?2"
	         " ORDER BY offered_at DESC LIMIT ?3",
	         err) < 0 ||
	    prep(db, &cs->hist_number,
	         "SELECT " HISTORY_COLS " FROM calls WHERE number = ?1 AND call_id IS NOT ?2"
	         " ORDER BY offered_at DESC LIMIT ?3",
	         err) < 0) {
		cl_customers_free(cs);
		return NULL;
	}
	return cs;
}

void
cl_customers_free(struct cl_customers *cs)
{
	if (cs == NULL)
		return;
	sqlite3_finalize(cs->count);
	sqlite3_finalize(cs->rank);
	sqlite3_finalize(cs->get);
	sqlite3_finalize(cs->hist_customer);
	sqlite3_finalize(cs->hist_number);
	free(cs);
}

static void
done(sqlite3_stmt *s)
{
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
}

static void
bind_text(sqlite3_stmt *s, int i, const char *v)
{
	if (v == NULL)
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
}

static const char *
col_text(sqlite3_stmt *s, int i)
{
	const unsigned char *v = sqlite3_column_text(s, i);

	return v ? (const char *)v : "";
}

/* A string, or JSON null when the column is NULL or "". */
static json_t *
text_or_null(sqlite3_stmt *s, int i)
{
	const unsigned char *v = sqlite3_column_text(s, i);

	return v && v[0] ? json_string((const char *)v) : json_null();
}

/* The customer object of a row of CUSTOMER_COLS; NULL on out of memory. */
static json_t *
row_customer(sqlite3_stmt *s)
{
	json_t *phones = json_loads(col_text(s, 2), 0, NULL);

	/* The column is written by import only; anything else is treated as no phones. */
	if (phones == NULL || !json_is_array(phones)) {
		json_decref(phones);
		phones = json_array();
	}
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:s}", "id", col_text(s, 0), "name", col_text(s, 1), "account",
	                 col_text(s, 4), "tier", col_text(s, 5), "email", col_text(s, 3), "phones", phones, "notes",
	                 col_text(s, 6));
}

/* 1 with *out a new customer object, 0 when there is no such id, -1 on error. */
static int
get_customer(struct cl_customers *cs, const char *id, json_t **out, char *err)
{
	sqlite3_stmt *s = cs->get;
	int rc, ret = 0;

	*out = NULL;
	bind_text(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		if ((*out = row_customer(s)) == NULL) {
			snprintf(err, CL_ERR_LEN, "out of memory");
			ret = -1;
		} else {
			ret = 1;
		}
	} else if (rc != SQLITE_DONE) {
		snprintf(err, CL_ERR_LEN, "customer: %s", sqlite3_errmsg(cs->db));
		ret = -1;
	}
	done(s);
	return ret;
}

static int
count_matches(struct cl_customers *cs, const char *number, int *n, char *err)
{
	sqlite3_stmt *s = cs->count;
	int rc;

	bind_text(s, 1, number);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*n = sqlite3_column_int(s, 0);
	done(s);
	if (rc != SQLITE_ROW) {
		snprintf(err, CL_ERR_LEN, "customer matches: %s", sqlite3_errmsg(cs->db));
		return -1;
	}
	return 0;
}

/*
 * Appends the customer objects matching number, best first, at most limit, to
 * arr (or, when arr is NULL, only copies the best id into best_id). Returns how
 * many, or -1.
 */
static int
ranked(struct cl_customers *cs, const char *number, int limit, json_t *arr, char *best_id, char *err)
{
	sqlite3_stmt *s = cs->rank;
	char ids[CL_CUSTOMERS_FIND_MAX][CL_ID_MAX + 1];
	int rc = SQLITE_DONE, n = 0, got = 0;

	if (limit > CL_CUSTOMERS_FIND_MAX)
		limit = CL_CUSTOMERS_FIND_MAX;
	bind_text(s, 1, number);
	sqlite3_bind_int(s, 2, CL_CUSTOMERS_RANKED);
	sqlite3_bind_int(s, 3, limit);
	/* The ids are copied out and the statement reset before the customers are read: one statement open at a time.
	 */
	while (n < limit && (rc = sqlite3_step(s)) == SQLITE_ROW)
		snprintf(ids[n++], sizeof(ids[0]), "%s", col_text(s, 0));
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		snprintf(err, CL_ERR_LEN, "customer ranking: %s", sqlite3_errmsg(cs->db));
		done(s);
		return -1;
	}
	done(s);
	if (arr == NULL) {
		if (n > 0)
			memcpy(best_id, ids[0], sizeof(ids[0]));
		return n;
	}
	for (int i = 0; i < n; i++) {
		json_t *c;
		int r = get_customer(cs, ids[i], &c, err);
		if (r < 0)
			return -1;
		/* A phone row without its customer cannot be written by import; skip it if found. */
		if (r == 0)
			continue;
		if (json_array_append_new(arr, c) < 0) {
			snprintf(err, CL_ERR_LEN, "out of memory");
			return -1;
		}
		got++;
	}
	return got;
}

int
cl_customers_match(struct cl_customers *cs, const char *number, char *id, int *matches, char *err)
{
	int r;

	id[0] = '\0';
	if (matches != NULL)
		*matches = 0;
	if (number == NULL || number[0] == '\0')
		return 0;
	if (matches != NULL && count_matches(cs, number, matches, err) < 0)
		return -1;
	if ((r = ranked(cs, number, 1, NULL, id, err)) < 0)
		return -1;
	return r > 0 ? 1 : 0;
}

/* The SPEC §6 outcome from the stored columns (the rule lives in calls.c). */
static const char *
outcome(sqlite3_stmt *s)
{
	return cl_outcome_name(
	    cl_outcome_of(sqlite3_column_int64(s, 3), sqlite3_column_int64(s, 4), col_text(s, 5), col_text(s, 6)));
}

static json_t *
history(struct cl_customers *cs, sqlite3_stmt *s, const char *key, int max, const char *exclude, char *err)
{
	json_t *arr = json_array();
	int rc;

	if (arr == NULL)
		goto oom;
	bind_text(s, 1, key);
	bind_text(s, 2, exclude);
	sqlite3_bind_int(s, 3, max);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		char at[CL_TIME_LEN];
		int64_t offered = sqlite3_column_int64(s, 1);
		json_t *h;
		cl_time_format(offered, at);
		h = json_pack("{s:s, s:o, s:o, s:s, s:o, s:o}", "call_id", col_text(s, 0), "started_at",
		              offered ? json_string(at) : json_null(), "agent", text_or_null(s, 2), "outcome",
		              outcome(s), "disposition", text_or_null(s, 7), "notes",
		              sqlite3_column_type(s, 8) == SQLITE_NULL ? json_null() : json_string(col_text(s, 8)));
		if (h == NULL || json_array_append_new(arr, h) < 0)
			goto oom;
	}
	if (rc != SQLITE_DONE) {
		snprintf(err, CL_ERR_LEN, "call history: %s", sqlite3_errmsg(cs->db));
		goto fail;
	}
	done(s);
	return arr;
oom:
	snprintf(err, CL_ERR_LEN, "out of memory");
fail:
	done(s);
	json_decref(arr);
	return NULL;
}

static json_t *lookup_in_txn(struct cl_customers *cs, const char *number, int nhistory, const char *exclude_call_id,
                             char *err);

/*
 * One read transaction for the whole lookup: the count, the ranking, the
 * customer and the history come from one snapshot even while the writer or
 * an import commits, and the WAL is consulted (and a stale cache dropped)
 * once per lookup instead of once per statement.
 */
json_t *
cl_customers_lookup(struct cl_customers *cs, const char *number, int nhistory, const char *exclude_call_id, char *err)
{
	int own = sqlite3_get_autocommit(cs->db) && sqlite3_exec(cs->db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK;
	json_t *out = lookup_in_txn(cs, number, nhistory, exclude_call_id, err);

	if (own && sqlite3_exec(cs->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		sqlite3_exec(cs->db, "ROLLBACK", NULL, NULL, NULL);
	return out;
}

static json_t *
lookup_in_txn(struct cl_customers *cs, const char *number, int nhistory, const char *exclude_call_id, char *err)
{
	json_t *out = NULL, *cands = NULL, *hist = NULL, *best = NULL;
	int matches = 0;

	if (nhistory < 0)
		nhistory = 0;
	if (nhistory > CL_CUSTOMERS_MAX_HISTORY)
		nhistory = CL_CUSTOMERS_MAX_HISTORY;
	if (number == NULL)
		number = "";
	if ((cands = json_array()) == NULL)
		goto oom;
	if (count_matches(cs, number, &matches, err) < 0)
		goto fail;
	if (matches > 0 && ranked(cs, number, CL_CUSTOMERS_MAX_CANDIDATES, cands, NULL, err) < 0)
		goto fail;
	best = json_array_get(cands, 0);
	if (best != NULL)
		hist = history(cs, cs->hist_customer, json_string_value(json_object_get(best, "id")), nhistory,
		               exclude_call_id, err);
	else
		hist = history(cs, cs->hist_number, number, nhistory, exclude_call_id, err);
	if (hist == NULL)
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

json_t *
cl_customers_lookup_raw(struct cl_customers *cs, const struct cl_numbers *rules, const char *raw, int nhistory,
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
	out = cl_customers_lookup(cs, number, nhistory, exclude_call_id, err);
	if (out != NULL && (json_object_set_new(out, "number", json_string(number)) < 0 ||
	                    json_object_set_new(out, "number_status", json_string("ok")) < 0)) {
		json_decref(out);
		snprintf(err, CL_ERR_LEN, "out of memory");
		return NULL;
	}
	return out;
}

json_t *
cl_customers_find(struct cl_customers *cs, const char *number, int limit, char *err)
{
	json_t *arr = json_array();

	if (arr == NULL) {
		snprintf(err, CL_ERR_LEN, "out of memory");
		return NULL;
	}
	if (limit < 1)
		limit = 1;
	if (limit > CL_CUSTOMERS_FIND_MAX)
		limit = CL_CUSTOMERS_FIND_MAX;
	if (number != NULL && number[0] != '\0' && ranked(cs, number, limit, arr, NULL, err) < 0) {
		json_decref(arr);
		return NULL;
	}
	return json_pack("{s:o}", "customers", arr);
}

json_t *
cl_customers_get(struct cl_customers *cs, const char *id, char *err)
{
	json_t *c;

	err[0] = '\0';
	if (id == NULL || get_customer(cs, id, &c, err) <= 0)
		return NULL;
	return c;
}

/* ---- import ---- */

enum col { COL_ID, COL_NAME, COL_PHONES, COL_EMAIL, COL_ACCOUNT, COL_TIER, COL_NOTES, NCOLS };

static const char *const col_names[NCOLS] = {"id", "name", "phones", "email", "account", "tier", "notes"};
static const size_t col_max[NCOLS] = {CL_ID_MAX, CL_CUSTOMER_TEXT_MAX, 0, CL_CUSTOMER_TEXT_MAX, CL_ID_MAX,
                                      CL_ID_MAX, CL_NOTES_MAX};

/* The phones cell is bounded by what its parts can be. */
#define PHONES_CELL_MAX (CL_CUSTOMER_MAX_PHONES * (CL_NUMBER_MAX_INPUT + 1) * 2)

struct import {
	struct cl_customers *cs;
	const struct cl_numbers *rules;
	const char *name;
	FILE *report;
	struct cl_import_summary *sum;
	int field_of[NCOLS]; /* the CSV field of each column, -1 when absent */
	int nfields;
	int64_t now;
	sqlite3_stmt *exists, *upsert, *del_phones, *ins_phone;
};

struct row {
	const char *v[NCOLS];
	size_t len[NCOLS];
	char phones[CL_CUSTOMER_MAX_PHONES][CL_NUMBER_LEN];
	int nphones;
	char phones_json[CL_CUSTOMER_MAX_PHONES * (CL_NUMBER_LEN + 3) + 3];
};

static void
trim(const char **s, size_t *len)
{
	while (*len > 0 && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t'))
		(*len)--;
}

static int
header(struct import *im, struct cl_csv *csv, char *err)
{
	char msg[CL_ERR_LEN];
	enum cl_csv_status st = cl_csv_next(csv, msg);

	for (int c = 0; c < NCOLS; c++)
		im->field_of[c] = -1;
	if (st == CL_CSV_EOF) {
		snprintf(err, CL_ERR_LEN,
		         "%s:1: empty file: a header id,name,phones,email,account,tier,notes is needed", im->name);
		return -1;
	}
	if (st != CL_CSV_RECORD) {
		snprintf(err, CL_ERR_LEN, "%.100s:%ld: header: %.100s", im->name, cl_csv_line(csv), msg);
		return -1;
	}
	im->nfields = cl_csv_nfields(csv);
	for (int i = 0; i < im->nfields; i++) {
		const char *f = cl_csv_field(csv, i);
		size_t len = cl_csv_field_len(csv, i);
		int c;
		trim(&f, &len);
		for (c = 0; c < NCOLS; c++)
			if (strlen(col_names[c]) == len && strncasecmp(f, col_names[c], len) == 0)
				break;
		if (c == NCOLS) {
			snprintf(
			    err, CL_ERR_LEN,
			    "%s:%ld: unknown column \"%.*s\" (the columns are id,name,phones,email,account,tier,notes)",
			    im->name, cl_csv_line(csv), (int)(len > 64 ? 64 : len), f);
			return -1;
		}
		if (im->field_of[c] >= 0) {
			snprintf(err, CL_ERR_LEN, "%s:%ld: column \"%s\" appears twice", im->name, cl_csv_line(csv),
			         col_names[c]);
			return -1;
		}
		im->field_of[c] = i;
	}
	if (im->field_of[COL_ID] < 0) {
		snprintf(err, CL_ERR_LEN, "%s:%ld: the header has no \"id\" column", im->name, cl_csv_line(csv));
		return -1;
	}
	return 0;
}

/* Prepares the upsert of exactly the columns the file has. */
static int
prepare_import(struct import *im, char *err)
{
	char sql[1024], cols[256] = "id", vals[128] = "?1", set[512] = "updated_at = excluded.updated_at";
	sqlite3 *db = im->cs->db;
	int n = 1;

	for (int c = COL_NAME; c < NCOLS; c++) {
		if (im->field_of[c] < 0)
			continue;
		n++;
		snprintf(cols + strlen(cols), sizeof(cols) - strlen(cols), ", %s", col_names[c]);
		snprintf(vals + strlen(vals), sizeof(vals) - strlen(vals), ", ?%d", c + 1);
		snprintf(set + strlen(set), sizeof(set) - strlen(set), ", %s = excluded.%s", col_names[c],
		         col_names[c]);
	}
	snprintf(sql, sizeof(sql),
	         "INSERT INTO customers(%s, updated_at) VALUES(%s, ?%d) ON CONFLICT(id) DO UPDATE SET %s", cols, vals,
	         NCOLS + 1, set);
	if (prep(db, &im->upsert, sql, err) < 0 ||
	    prep(db, &im->exists, "SELECT 1 FROM customers WHERE id = ?", err) < 0 ||
	    prep(db, &im->del_phones, "DELETE FROM customer_phones WHERE customer_id = ?", err) < 0 ||
	    prep(db, &im->ins_phone, "INSERT OR IGNORE INTO customer_phones(number, customer_id) VALUES(?, ?)", err) <
	        0)
		return -1;
	return 0;
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

/* Splits, normalises and de-duplicates the phones cell; -1 with why filled. */
static int
parse_phones(struct import *im, struct row *row, char *why)
{
	const char *p = row->v[COL_PHONES], *end = p + row->len[COL_PHONES];
	size_t o;

	row->nphones = 0;
	while (p != NULL && p <= end) {
		const char *semi = memchr(p, ';', (size_t)(end - p));
		const char *q = semi ? semi : end;
		char one[CL_NUMBER_MAX_INPUT + 1], norm[CL_NUMBER_LEN];
		size_t len = (size_t)(q - p);
		const char *s = p;
		enum cl_number_result r;
		int dup = 0;

		p = semi ? semi + 1 : NULL;
		trim(&s, &len);
		if (len == 0)
			continue;
		if (len > CL_NUMBER_MAX_INPUT) {
			snprintf(why, CL_ERR_LEN, "phone \"%.24s...\" is too long", s);
			return -1;
		}
		memcpy(one, s, len);
		one[len] = '\0';
		r = cl_number_normalize(im->rules, one, norm);
		if (r != CL_NUMBER_OK) {
			snprintf(why, CL_ERR_LEN, "phone \"%s\" is %s", one,
			         r == CL_NUMBER_NONE ? "no number" : "not a valid phone number");
			return -1;
		}
		for (int i = 0; i < row->nphones; i++)
			dup |= strcmp(row->phones[i], norm) == 0;
		if (dup)
			continue;
		if (row->nphones == CL_CUSTOMER_MAX_PHONES) {
			snprintf(why, CL_ERR_LEN, "more than %d phones", CL_CUSTOMER_MAX_PHONES);
			return -1;
		}
		memcpy(row->phones[row->nphones++], norm, sizeof(norm));
	}
	/* Normalised numbers are '+' and digits only: the JSON needs no escaping. */
	o = (size_t)snprintf(row->phones_json, sizeof(row->phones_json), "[");
	for (int i = 0; i < row->nphones; i++)
		o += (size_t)snprintf(row->phones_json + o, sizeof(row->phones_json) - o, "%s\"%s\"", i ? "," : "",
		                      row->phones[i]);
	snprintf(row->phones_json + o, sizeof(row->phones_json) - o, "]");
	return 0;
}

/* Checks a data record into row; -1 with why filled when the row is to be rejected. */
static int
check_row(struct import *im, struct cl_csv *csv, struct row *row, char *why)
{
	if (cl_csv_nfields(csv) != im->nfields) {
		snprintf(why, CL_ERR_LEN, "%d fields, the header has %d", cl_csv_nfields(csv), im->nfields);
		return -1;
	}
	for (int c = 0; c < NCOLS; c++) {
		int f = im->field_of[c];
		if (f < 0) {
			row->v[c] = NULL;
			continue;
		}
		row->v[c] = cl_csv_field(csv, f);
		row->len[c] = cl_csv_field_len(csv, f);
		if (!cl_utf8_valid(row->v[c], row->len[c])) {
			snprintf(why, CL_ERR_LEN, "%s is not valid UTF-8", col_names[c]);
			return -1;
		}
		if (c != COL_NOTES)
			trim(&row->v[c], &row->len[c]);
		if (c == COL_PHONES) {
			if (row->len[c] > PHONES_CELL_MAX) {
				snprintf(why, CL_ERR_LEN, "phones longer than %d bytes", PHONES_CELL_MAX);
				return -1;
			}
			continue;
		}
		if (row->len[c] > col_max[c]) {
			snprintf(why, CL_ERR_LEN, "%s longer than %zu bytes", col_names[c], col_max[c]);
			return -1;
		}
		if (has_control(row->v[c], row->len[c], c == COL_NOTES)) {
			snprintf(why, CL_ERR_LEN, "control character in %s", col_names[c]);
			return -1;
		}
	}
	if (row->len[COL_ID] == 0) {
		snprintf(why, CL_ERR_LEN, "no id");
		return -1;
	}
	if (row->v[COL_PHONES] != NULL && parse_phones(im, row, why) < 0)
		return -1;
	return 0;
}

static int
step_done(struct import *im, sqlite3_stmt *s, char *err)
{
	int rc = sqlite3_step(s);

	done(s);
	if (rc != SQLITE_DONE) {
		snprintf(err, CL_ERR_LEN, "database: %s", sqlite3_errmsg(im->cs->db));
		return -1;
	}
	return 0;
}

/* Writes one checked row; -1 on a database error (which ends the import). */
static int
store_row(struct import *im, struct row *row, char *err)
{
	sqlite3_stmt *s = im->exists;
	int rc, existed;

	sqlite3_bind_text(s, 1, row->v[COL_ID], (int)row->len[COL_ID], SQLITE_STATIC);
	rc = sqlite3_step(s);
	done(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		snprintf(err, CL_ERR_LEN, "database: %s", sqlite3_errmsg(im->cs->db));
		return -1;
	}
	existed = rc == SQLITE_ROW;

	s = im->upsert;
	for (int c = 0; c < NCOLS; c++) {
		if (row->v[c] == NULL)
			continue;
		if (c == COL_PHONES)
			sqlite3_bind_text(s, c + 1, row->phones_json, -1, SQLITE_STATIC);
		else
			sqlite3_bind_text(s, c + 1, row->v[c], (int)row->len[c], SQLITE_STATIC);
	}
	sqlite3_bind_int64(s, NCOLS + 1, im->now);
	if (step_done(im, s, err) < 0)
		return -1;

	if (row->v[COL_PHONES] != NULL) {
		if (existed) {
			sqlite3_bind_text(im->del_phones, 1, row->v[COL_ID], (int)row->len[COL_ID], SQLITE_STATIC);
			if (step_done(im, im->del_phones, err) < 0)
				return -1;
		}
		for (int i = 0; i < row->nphones; i++) {
			sqlite3_bind_text(im->ins_phone, 1, row->phones[i], -1, SQLITE_STATIC);
			sqlite3_bind_text(im->ins_phone, 2, row->v[COL_ID], (int)row->len[COL_ID], SQLITE_STATIC);
			if (step_done(im, im->ins_phone, err) < 0)
				return -1;
		}
	}
	if (existed)
		im->sum->updated++;
	else
		im->sum->inserted++;
	return 0;
}

static void
reject(struct import *im, long line, const char *why)
{
	im->sum->rejected++;
	if (im->report != NULL)
		fprintf(im->report, "%s:%ld: %s\n", im->name, line, why);
}

int
cl_customers_import(struct cl_customers *cs, const struct cl_numbers *rules, FILE *in, const char *name, FILE *report,
                    struct cl_import_summary *sum, char *err)
{
	struct import im;
	struct cl_csv *csv = NULL;
	struct row row;
	char why[CL_ERR_LEN];
	enum cl_csv_status st;
	int began = 0;

	memset(&im, 0, sizeof(im));
	memset(sum, 0, sizeof(*sum));
	im.cs = cs;
	im.rules = rules;
	im.name = name ? name : "-";
	im.report = report;
	im.sum = sum;
	im.now = cl_now_ms();
	/* Room for every column quoted and separated, with the widest phones cell. */
	csv = cl_csv_new_file(in, CL_CSV_MAX_FIELDS, 2 * (CL_NOTES_MAX + PHONES_CELL_MAX + 5 * CL_CUSTOMER_TEXT_MAX));
	if (csv == NULL) {
		snprintf(err, CL_ERR_LEN, "out of memory");
		goto fail;
	}
	if (header(&im, csv, err) < 0 || prepare_import(&im, err) < 0)
		goto fail;
	if (!sqlite3_get_autocommit(cs->db)) {
		snprintf(err, CL_ERR_LEN, "import: the connection is already in a transaction");
		goto fail;
	}
	if (sqlite3_exec(cs->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, CL_ERR_LEN, "database: %s", sqlite3_errmsg(cs->db));
		goto fail;
	}
	began = 1;
	while ((st = cl_csv_next(csv, why)) != CL_CSV_EOF) {
		if (st == CL_CSV_IO) {
			snprintf(err, CL_ERR_LEN, "%.100s:%ld: %.100s", im.name, cl_csv_line(csv), why);
			goto fail;
		}
		if (st == CL_CSV_BAD || check_row(&im, csv, &row, why) < 0) {
			reject(&im, cl_csv_line(csv), why);
			continue;
		}
		if (store_row(&im, &row, err) < 0)
			goto fail;
	}
	if (sqlite3_exec(cs->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, CL_ERR_LEN, "database: commit: %s", sqlite3_errmsg(cs->db));
		goto fail;
	}
	sqlite3_finalize(im.exists);
	sqlite3_finalize(im.upsert);
	sqlite3_finalize(im.del_phones);
	sqlite3_finalize(im.ins_phone);
	cl_csv_free(csv);
	return 0;
fail:
	if (began && !sqlite3_get_autocommit(cs->db))
		sqlite3_exec(cs->db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_finalize(im.exists);
	sqlite3_finalize(im.upsert);
	sqlite3_finalize(im.del_phones);
	sqlite3_finalize(im.ins_phone);
	cl_csv_free(csv);
	sum->inserted = sum->updated = 0;
	return -1;
}

int
cl_customers_import_file(struct cl_customers *cs, const struct cl_numbers *rules, const char *path, FILE *out,
                         FILE *errout)
{
	struct cl_import_summary sum;
	char err[CL_ERR_LEN];
	int is_stdin = strcmp(path, "-") == 0;
	FILE *f = is_stdin ? stdin : fopen(path, "r");
	int r;

	if (f == NULL) {
		fprintf(errout, "cannot open %s: %s\n", path, strerror(errno));
		return 1;
	}
	r = cl_customers_import(cs, rules, f, is_stdin ? "<stdin>" : path, errout, &sum, err);
	if (!is_stdin)
		fclose(f);
	if (r < 0) {
		fprintf(errout, "%s\n", err);
		return 1;
	}
	fprintf(out, "imported: %ld inserted, %ld updated, %ld rejected\n", sum.inserted, sum.updated, sum.rejected);
	return 0;
}

int
cl_customers_print_lookup(struct cl_customers *cs, const struct cl_numbers *rules, const char *number, int nhistory,
                          FILE *out, FILE *errout)
{
	char err[CL_ERR_LEN];
	json_t *j = cl_customers_lookup_raw(cs, rules, number, nhistory, NULL, err);

	if (j == NULL) {
		fprintf(errout, "lookup: %s\n", err);
		return 1;
	}
	if (json_dumpf(j, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER) < 0) {
		json_decref(j);
		fprintf(errout, "lookup: cannot write the answer\n");
		return 1;
	}
	fputc('\n', out);
	json_decref(j);
	return 0;
}
