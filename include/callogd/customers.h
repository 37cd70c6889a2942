/* customers.h : customer records: caller lookup for screen-pops, and CSV import. */
#ifndef CALLOGD_CUSTOMERS_H
#define CALLOGD_CUSTOMERS_H

#include <stdio.h>

#include <jansson.h>
#include <sqlite3.h>

#include "callogd/event.h"
#include "callogd/numbers.h"

#define CL_CUSTOMERS_MAX_CANDIDATES 5 /* SPEC §5 */
#define CL_CUSTOMERS_MAX_HISTORY 100  /* bound on a lookup's history parameter */
#define CL_CUSTOMERS_RANKED 100       /* matches of one number ranked by their calls; see below */
#define CL_CUSTOMERS_FIND_MAX 100     /* bound on cl_customers_find's limit */
#define CL_CUSTOMER_MAX_PHONES 16     /* phones per customer */

/*
 * Field bounds on import, in bytes of UTF-8: id CL_ID_MAX, name and email
 * CL_CUSTOMER_TEXT_MAX, account and tier CL_ID_MAX, notes CL_NOTES_MAX.
 */
#define CL_CUSTOMER_TEXT_MAX 256

/*
 * Statements prepared once on a connection the caller owns (cl_store_db()). A
 * struct cl_customers is used by one thread at a time, like its connection, and
 * must be freed before the connection is closed. Lookups only read, so a
 * CL_STORE_READONLY connection serves them.
 */
struct cl_customers;

/* cl_customers_new() : NULL with err filled when a statement cannot be prepared. */
struct cl_customers *cl_customers_new(sqlite3 *db, char *err);
/* cl_customers_free() : accepts NULL. */
void cl_customers_free(struct cl_customers *cs);

/*
 * Ranking when several customers share a number: the customer with the most
 * recent call (calls.customer_id, latest offered_at) first, customers without
 * calls after those with, ties by id (byte order). Only the first
 * CL_CUSTOMERS_RANKED customers of a number by id are ranked, so a lookup stays
 * bounded even for a switchboard number shared by thousands; "matches" still
 * counts them all. Every lookup is a handful of index seeks: its cost does not
 * grow with the number of customers or calls.
 *
 * A customer object: {"id","name","account","tier","email","phones":[...],"notes"},
 * every field a string ("" when not set), phones normalised E.164.
 */

/*
 * cl_customers_match() : the best match for a normalised number, for stamping
 * calls.customer_id at offer time. Returns 1 with id (CL_ID_MAX + 1 bytes) and
 * *matches filled, 0 when no customer has the number (id "", *matches 0), -1 on
 * error. matches may be NULL.
 */
int cl_customers_match(struct cl_customers *cs, const char *number, char *id, int *matches, char *err);

/*
 * cl_customers_lookup() : what a pop shows for a normalised number (SPEC §5):
 *   {"customer": object|null, "matches": N,
 *    "candidates": [object, ...]   only when N > 1: the best first, at most 5,
 *    "history": [{"call_id","started_at","agent","outcome","disposition","notes"}, ...]}
 * history holds the best customer's last calls (by calls.customer_id), or for
 * an unknown caller the number's (by calls.number), newest first (offered_at),
 * at most history entries (clamped to 0..CL_CUSTOMERS_MAX_HISTORY). started_at
 * is the offer time (RFC 3339 UTC, ms; null if unknown); agent, disposition
 * (the wrap-up code) and notes are null when not set; outcome is derived as in
 * SPEC §6. exclude_call_id (may be NULL) leaves out the call being popped.
 * A new reference, or NULL with err filled.
 */
json_t *cl_customers_lookup(struct cl_customers *cs, const char *number, int history, const char *exclude_call_id,
                            char *err);

/*
 * cl_customers_lookup_raw() : normalises raw with rules first, then as
 * cl_customers_lookup() with two more fields:
 *   "number": the normalised number, or null when there is none;
 *   "number_status": "ok", "none" (empty, anonymous, ...) or "invalid".
 * For "none" and "invalid" no lookup is made: customer null, matches 0,
 * history [] (SPEC §4: "no lookup is made, and the pop says so").
 */
json_t *cl_customers_lookup_raw(struct cl_customers *cs, const struct cl_numbers *rules, const char *raw, int history,
                                const char *exclude_call_id, char *err);

/*
 * cl_customers_find() : {"customers":[object, ...]} for a normalised number in
 * ranking order, at most limit (clamped to 1..CL_CUSTOMERS_FIND_MAX), for
 * GET /api/customers?phone=. A new reference, or NULL with err filled.
 */
json_t *cl_customers_find(struct cl_customers *cs, const char *number, int limit, char *err);

/* cl_customers_get() : the customer object; NULL with err "" when there is none, NULL with err set on error. */
json_t *cl_customers_get(struct cl_customers *cs, const char *id, char *err);

struct cl_import_summary {
	long inserted; /* new ids */
	long updated;  /* ids that existed (or came earlier in the same file: the last row wins) */
	long rejected; /* bad rows, each reported */
};

/*
 * cl_customers_import() : upserts the customers of a CSV stream (SPEC §7).
 * - The first record is the header: the columns id,name,phones,email,account,
 *   tier,notes in any order, names trimmed and matched case-insensitively; id is
 *   required, the others optional; an unknown or repeated column is an error.
 * - Each row is an upsert by id of the columns the file has: a column the file
 *   lacks keeps its stored value (new customers get ""). phones is ';'-separated,
 *   each normalised with rules, empty entries skipped, duplicates merged; when the
 *   column is present it replaces all of the customer's phones.
 * - A bad row (malformed CSV, wrong field count, missing or over-long id, a
 *   field over its bound, invalid UTF-8, control characters outside notes, a
 *   phone that is not a number, more than CL_CUSTOMER_MAX_PHONES phones) is
 *   skipped and reported to report (may be NULL) as "name:LINE: reason\n",
 *   LINE being where the row starts in the file.
 * - All good rows go in one transaction (the connection must not be in one).
 * Returns 0 with *sum filled when the file was processed, bad rows or not; -1
 * with err filled ("name:1: ..." for header faults) when it could not be (no
 * or bad header, read error, database error): then nothing was imported.
 */
int cl_customers_import(struct cl_customers *cs, const struct cl_numbers *rules, FILE *in, const char *name,
                        FILE *report, struct cl_import_summary *sum, char *err);

/*
 * For callogctl. Each returns the exit status: 0 on success, 1 on failure with
 * one line on errout.
 *
 * cl_customers_import_file() : `callogctl import FILE.csv` ("-" is stdin): bad
 * rows as "FILE:LINE: reason" on errout, then on out
 * "imported: N inserted, N updated, N rejected". A file processed with bad rows
 * still exits 0: SPEC §7 imports the rest, and the summary and report say what
 * was left out.
 */
int cl_customers_import_file(struct cl_customers *cs, const struct cl_numbers *rules, const char *path, FILE *out,
                             FILE *errout);

/*
 * cl_customers_print_lookup() : `callogctl customer NUMBER`: the lookup a pop
 * would make (cl_customers_lookup_raw), as indented JSON on out. A number that
 * is none or invalid is printed as such and still exits 0.
 */
int cl_customers_print_lookup(struct cl_customers *cs, const struct cl_numbers *rules, const char *number, int history,
                              FILE *out, FILE *errout);

#endif
