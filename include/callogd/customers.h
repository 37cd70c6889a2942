/* customers.h : customer records from outside: CSV import (docs/callogctl.md) through the
 * store interface, and callogctl's entry points for import and lookup. */
#ifndef CALLOGD_CUSTOMERS_H
#define CALLOGD_CUSTOMERS_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "callogd/numbers.h"
#include "callogd/store.h"

/*
 * Field bounds on import, in bytes of UTF-8: id CL_ID_MAX, name and email
 * CL_CUSTOMER_TEXT_MAX, account and tier CL_ID_MAX, notes CL_NOTES_MAX.
 */

#define CL_IMPORT_CHUNK 1000  /* rows per transaction, at most */
#define CL_IMPORT_CHUNK_MS 50 /* and at most this long (slow disks, sanitizer builds) */
#define CL_IMPORT_GAP_MS 5    /* between transactions */

/* ---- one customer record, checked as callogctl import checks a row (customer_rec.c) ---- */

enum { CL_CF_ID, CL_CF_NAME, CL_CF_PHONES, CL_CF_EMAIL, CL_CF_ACCOUNT, CL_CF_TIER, CL_CF_NOTES, CL_CF__COUNT };

/* The phones field is bounded by what its parts can be. */
#define CL_CUSTOMER_PHONES_CELL_MAX (CL_CUSTOMER_MAX_PHONES * (CL_NUMBER_MAX_INPUT + 1) * 2)

struct cl_customer_fields {
	const char *v[CL_CF__COUNT]; /* in: each field (not NUL-terminated), NULL when absent; trimmed by the check */
	size_t len[CL_CF__COUNT];
	char phones[CL_CUSTOMER_MAX_PHONES][CL_NUMBER_LEN]; /* out: normalised, de-duplicated */
	int nphones;
	char phones_json[CL_CUSTOMER_MAX_PHONES * (CL_NUMBER_LEN + 3) + 3]; /* out: phones as a JSON array */
};

/*
 * cl_customer_check() : checks f as a row of `callogctl import`: valid UTF-8,
 * trimmed (notes aside), within bounds, no control characters outside notes,
 * an id, phones ';'-separated numbers (at most CL_CUSTOMER_MAX_PHONES). 0, or
 * -1 with why (CL_ERR_LEN) naming the field.
 */
int cl_customer_check(const struct cl_numbers *rules, struct cl_customer_fields *f, char *why);

/* cl_customer_trim() : drops spaces and tabs at both ends of s (len bytes), as import trims a field. */
void cl_customer_trim(const char **s, size_t *len);

/* cl_customer_json() : the customer object of a checked f (absent fields ""); NULL on out of memory. */
json_t *cl_customer_json(const struct cl_customer_fields *f);

/*
 * cl_customer_from_json() : checks a customer object ({"id","name","phones":[..],
 * "email","account","tier","notes"}, strings; phones an array of strings) as
 * cl_customer_check() does. Returns the normalised object, or NULL with why.
 */
json_t *cl_customer_from_json(const struct cl_numbers *rules, json_t *in, char *why);

/*
 * cl_customer_put() : inserts or replaces the customer of a normalised object
 * (cl_customer_from_json()) and its phones, in st's open transaction (the
 * writer's). 0, or -1 with err.
 */
int cl_customer_put(struct cl_store *st, json_t *rec, int64_t now_ms, char *err);

struct cl_import_summary {
	long inserted; /* new ids */
	long updated;  /* ids that existed (or came earlier in the same file: the last row wins) */
	long rejected; /* bad rows, each reported */
};

/*
 * cl_customers_import() : upserts the customers of a CSV stream (docs/callogctl.md).
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
 * - Good rows are committed CL_IMPORT_CHUNK at a time (or what CL_IMPORT_CHUNK_MS
 *   allows), with CL_IMPORT_GAP_MS between transactions, so the daemon's
 *   writer never waits long behind an import (st must not be in a transaction).
 * Returns 0 with *sum filled when the file was processed, bad rows or not; -1
 * with err filled ("name:1: ..." for header faults) when it could not be (no
 * or bad header, read error, database error): then *sum counts the rows
 * committed before the fault.
 */
int cl_customers_import(struct cl_store *st, const struct cl_numbers *rules, FILE *in, const char *name, FILE *report,
                        struct cl_import_summary *sum, char *err);

/*
 * For callogctl. Each returns the exit status: 0 on success, 1 on failure with
 * one line on errout.
 *
 * cl_customers_import_file() : `callogctl import FILE.csv` ("-" is stdin): bad
 * rows as "FILE:LINE: reason" on errout, then on out
 * "imported: N inserted, N updated, N rejected". A file processed with bad rows
 * still exits 0: docs/callogctl.md imports the rest, and the summary and report say what
 * was left out.
 */
int cl_customers_import_file(struct cl_store *st, const struct cl_numbers *rules, const char *path, FILE *out,
                             FILE *errout);

/*
 * cl_customers_print_lookup() : `callogctl customer NUMBER`: the lookup a pop
 * would make (cl_view_lookup_raw), as indented JSON on out. A number that
 * is none or invalid is printed as such and still exits 0.
 */
int cl_customers_print_lookup(struct cl_store *st, const struct cl_numbers *rules, const char *number, int history,
                              FILE *out, FILE *errout);

#endif
