/* customers.c : owns customer import: the CSV rows checked and normalised
 * (docs/callogctl.md), then upserted through the store in bounded transactions; and
 * callogctl's import and lookup entry points. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "callogd/csv.h"
#include "callogd/customers.h"
#include "callogd/util.h"
#include "callogd/views.h"

/* ---- import ---- */

enum col {
	COL_ID = CL_CF_ID,
	COL_NAME = CL_CF_NAME,
	COL_PHONES = CL_CF_PHONES,
	COL_EMAIL = CL_CF_EMAIL,
	COL_ACCOUNT = CL_CF_ACCOUNT,
	COL_TIER = CL_CF_TIER,
	COL_NOTES = CL_CF_NOTES,
	NCOLS = CL_CF__COUNT
};

static const char *const col_names[NCOLS] = {"id", "name", "phones", "email", "account", "tier", "notes"};

struct import {
	struct cl_store *st;
	const struct cl_numbers *rules;
	const char *name;
	FILE *report;
	struct cl_import_summary *sum;
	int field_of[NCOLS]; /* the CSV field of each column, -1 when absent */
	int nfields;
	int64_t now;
	long pending;                  /* rows written in the open transaction */
	int64_t began_us;              /* when it began */
	struct cl_import_summary done; /* committed */
};

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
		cl_customer_trim(&f, &len);
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

/* Checks a data record into row (the rules live in customer_rec.c); -1 with why filled when it is to be rejected. */
static int
check_row(struct import *im, struct cl_csv *csv, struct cl_customer_fields *row, char *why)
{
	if (cl_csv_nfields(csv) != im->nfields) {
		snprintf(why, CL_ERR_LEN, "%d fields, the header has %d", cl_csv_nfields(csv), im->nfields);
		return -1;
	}
	for (int c = 0; c < NCOLS; c++) {
		int f = im->field_of[c];
		row->v[c] = f < 0 ? NULL : cl_csv_field(csv, f);
		row->len[c] = f < 0 ? 0 : cl_csv_field_len(csv, f);
	}
	return cl_customer_check(im->rules, row, why);
}

/* The store's column of each CSV column but id and phones. */
static const int field_of_col[NCOLS] = {
    [COL_ID] = -1,
    [COL_NAME] = CL_CUST_NAME,
    [COL_PHONES] = -1,
    [COL_EMAIL] = CL_CUST_EMAIL,
    [COL_ACCOUNT] = CL_CUST_ACCOUNT,
    [COL_TIER] = CL_CUST_TIER,
    [COL_NOTES] = CL_CUST_NOTES,
};

/* Writes one checked row; -1 on a database error (which ends the import). */
static int
store_row(struct import *im, struct cl_customer_fields *row, char *err)
{
	struct cl_customer_update u;
	int existed;

	memset(&u, 0, sizeof(u));
	u.id = row->v[COL_ID];
	u.id_len = row->len[COL_ID];
	for (int c = 0; c < NCOLS; c++) {
		int f = field_of_col[c];
		if (f >= 0 && row->v[c] != NULL) {
			u.text[f] = row->v[c];
			u.len[f] = row->len[c];
		}
	}
	u.set_phones = row->v[COL_PHONES] != NULL;
	u.phones = (const char(*)[CL_NUMBER_LEN])row->phones;
	u.nphones = row->nphones;
	u.now = im->now;
	if (cl_store_customer_put(im->st, &u, &existed, err) < 0)
		return -1;
	if (existed)
		im->sum->updated++;
	else
		im->sum->inserted++;
	return 0;
}

/*
 * Commits the rows written so far. The pause after it lets a writer waiting
 * for the database (the daemon's) take its turn before the next chunk.
 */
static int
commit_chunk(struct import *im, char *err)
{
	struct timespec gap = {0, CL_IMPORT_GAP_MS * 1000000L};

	if (cl_store_commit(im->st, err) < 0)
		return -1;
	im->done = *im->sum;
	im->pending = 0;
	nanosleep(&gap, NULL);
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
cl_customers_import(struct cl_store *st, const struct cl_numbers *rules, FILE *in, const char *name, FILE *report,
                    struct cl_import_summary *sum, char *err)
{
	struct import im;
	struct cl_csv *csv = NULL;
	struct cl_customer_fields row;
	char why[CL_ERR_LEN];
	enum cl_csv_status cs;
	int open = 0;

	memset(&im, 0, sizeof(im));
	memset(sum, 0, sizeof(*sum));
	im.st = st;
	im.rules = rules;
	im.name = name ? name : "-";
	im.report = report;
	im.sum = sum;
	im.now = cl_now_ms();
	/* Room for every column quoted and separated, with the widest phones cell. */
	csv = cl_csv_new_file(in, CL_CSV_MAX_FIELDS,
	                      2 * (CL_NOTES_MAX + CL_CUSTOMER_PHONES_CELL_MAX + 5 * CL_CUSTOMER_TEXT_MAX));
	if (csv == NULL) {
		snprintf(err, CL_ERR_LEN, "out of memory");
		goto fail;
	}
	if (header(&im, csv, err) < 0)
		goto fail;
	while ((cs = cl_csv_next(csv, why)) != CL_CSV_EOF) {
		if (cs == CL_CSV_IO) {
			snprintf(err, CL_ERR_LEN, "%.100s:%ld: %.100s", im.name, cl_csv_line(csv), why);
			goto fail;
		}
		if (cs == CL_CSV_BAD || check_row(&im, csv, &row, why) < 0) {
			reject(&im, cl_csv_line(csv), why);
			continue;
		}
		if (!open) {
			if (cl_store_begin(st, err) < 0)
				goto fail;
			im.began_us = cl_mono_us();
			open = 1;
		}
		if (store_row(&im, &row, err) < 0)
			goto fail;
		if (++im.pending == CL_IMPORT_CHUNK || cl_mono_us() - im.began_us >= CL_IMPORT_CHUNK_MS * 1000) {
			if (commit_chunk(&im, err) < 0)
				goto fail;
			open = 0;
		}
	}
	if (open && commit_chunk(&im, err) < 0)
		goto fail;
	cl_csv_free(csv);
	return 0;
fail:
	if (open)
		cl_store_rollback(st);
	cl_csv_free(csv);
	sum->inserted = im.done.inserted;
	sum->updated = im.done.updated;
	return -1;
}

int
cl_customers_import_file(struct cl_store *st, const struct cl_numbers *rules, const char *path, FILE *out, FILE *errout)
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
	r = cl_customers_import(st, rules, f, is_stdin ? "<stdin>" : path, errout, &sum, err);
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
cl_customers_print_lookup(struct cl_store *st, const struct cl_numbers *rules, const char *number, int nhistory,
                          FILE *out, FILE *errout)
{
	char err[CL_ERR_LEN];
	json_t *j = cl_view_lookup_raw(st, rules, number, nhistory, NULL, err);

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
