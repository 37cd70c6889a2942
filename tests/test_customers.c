/* test_customers.c : customer import (customers.c) and the lookup views (lookup.c) over the
 * store interface, on a real SQLite file: import, ranked lookup, history, speed.
 *
 * `test_customers --bench N` imports N synthetic customers and prints the import
 * time and the lookup latency; `test_customers --import FILE` times importing
 * FILE (e.g. from scripts/gen_customers.py) into a fresh database.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "callogd/customers.h"
#include "callogd/store.h"
#include <sqlite3.h>

#include "callogd/util.h"
#include "callogd/views.h"
#include "testutil.h"

static char dir[64];
static struct cl_numbers nanp;

static struct cl_store *
open_store(const char *name)
{
	char path[128], err[CL_ERR_LEN];
	struct cl_store *st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	st = cl_store_open(path, 0, err);
	if (st == NULL)
		fprintf(stderr, "cl_store_open: %s\n", err);
	return st;
}

/* Imports text; returns the import's result, with the report in rep (repsz bytes). */
static int
import_text(struct cl_store *cs, const char *text, struct cl_import_summary *sum, char *rep, size_t repsz, char *err)
{
	FILE *in = fmemopen((void *)text, strlen(text), "r");
	FILE *report = fmemopen(rep, repsz, "w");
	int r;

	memset(rep, 0, repsz);
	r = cl_customers_import(cs, &nanp, in, "t.csv", report, sum, err);
	fclose(report);
	fclose(in);
	return r;
}

/* Stores one call record (ended_at 0: still going), as the writer would. */
static void
put_call(struct cl_store *st, const char *id, const char *number, const char *customer, int64_t offered,
         const char *agent, int64_t answered, int64_t ended, const char *reason, const char *by, const char *code,
         const char *notes)
{
	char err[CL_ERR_LEN];
	struct cl_call c;

	cl_call_init(&c, id);
	snprintf(c.number, sizeof(c.number), "%s", number);
	snprintf(c.customer_id, sizeof(c.customer_id), "%s", customer ? customer : "");
	snprintf(c.agent, sizeof(c.agent), "%s", agent);
	snprintf(c.end_reason, sizeof(c.end_reason), "%s", reason);
	snprintf(c.end_by, sizeof(c.end_by), "%s", by);
	snprintf(c.disp_code, sizeof(c.disp_code), "%s", code);
	c.disp_notes = notes ? strdup(notes) : NULL;
	c.offered_at = offered;
	c.answered_at = c.last_answered_at = answered;
	c.ended_at = ended;
	if (cl_store_put_call(st, &c, err) < 0) {
		fprintf(stderr, "put_call %s: %s\n", id, err);
		tu_failed++;
	}
	cl_call_clear(&c);
}

static const char *
jstr(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static void
test_import_and_lookup(void)
{
	struct cl_store *st = open_store("a.db");
	struct cl_store *cs;
	struct cl_import_summary sum;
	char err[CL_ERR_LEN], rep[4096];
	json_t *j, *c;

	CHECK(st != NULL);
	if (st == NULL)
		return;
	cs = st;
	CHECK(cs != NULL);

	CHECK_INT(import_text(
	              cs,
	              "id,name,phones,email,account,tier,notes\n"
	              "C-7,Ada Lovelace,+1 (555) 123-4567,ada@example.com,ACC-1,gold,\"likes \"\"tea\"\", and cake\"\n"
	              "C-8,Grace Hopper,555-123-9876; 15551239877 ;;,grace@example.com,ACC-2,silver,\"two\nlines\"\n",
	              &sum, rep, sizeof(rep), err),
	          0);
	CHECK_INT(sum.inserted, 2);
	CHECK_INT(sum.updated, 0);
	CHECK_INT(sum.rejected, 0);
	CHECK_STR(rep, "");

	j = cl_view_lookup(cs, "+15551234567", 5, NULL, err);
	CHECK(j != NULL);
	c = json_object_get(j, "customer");
	CHECK_STR(jstr(c, "id"), "C-7");
	CHECK_STR(jstr(c, "name"), "Ada Lovelace");
	CHECK_STR(jstr(c, "account"), "ACC-1");
	CHECK_STR(jstr(c, "tier"), "gold");
	CHECK_STR(jstr(c, "email"), "ada@example.com");
	CHECK_STR(jstr(c, "notes"), "likes \"tea\", and cake");
	CHECK_INT(json_array_size(json_object_get(c, "phones")), 1);
	CHECK_STR(json_string_value(json_array_get(json_object_get(c, "phones"), 0)), "+15551234567");
	CHECK_INT(json_integer_value(json_object_get(j, "matches")), 1);
	CHECK(json_object_get(j, "candidates") == NULL);
	CHECK_INT(json_array_size(json_object_get(j, "history")), 0);
	CHECK(json_object_get(j, "number_status") == NULL);
	json_decref(j);

	j = cl_view_lookup(cs, "+15551239877", 5, NULL, err);
	c = json_object_get(j, "customer");
	CHECK_STR(jstr(c, "id"), "C-8");
	CHECK_STR(jstr(c, "notes"), "two\nlines");
	CHECK_INT(json_array_size(json_object_get(c, "phones")), 2);
	CHECK_STR(json_string_value(json_array_get(json_object_get(c, "phones"), 0)), "+15551239876");
	json_decref(j);

	/* Unknown caller. */
	j = cl_view_lookup(cs, "+15550000000", 5, NULL, err);
	CHECK(json_is_null(json_object_get(j, "customer")));
	CHECK_INT(json_integer_value(json_object_get(j, "matches")), 0);
	CHECK(json_is_array(json_object_get(j, "history")));
	json_decref(j);

	/* Raw lookups normalise and report the number's status. */
	j = cl_view_lookup_raw(cs, &nanp, "sip:5551234567@pbx.example", 5, NULL, err);
	CHECK_STR(jstr(json_object_get(j, "customer"), "id"), "C-7");
	CHECK_STR(jstr(j, "number"), "+15551234567");
	CHECK_STR(jstr(j, "number_status"), "ok");
	json_decref(j);
	j = cl_view_lookup_raw(cs, &nanp, "Anonymous", 5, NULL, err);
	CHECK(json_is_null(json_object_get(j, "customer")));
	CHECK_INT(json_integer_value(json_object_get(j, "matches")), 0);
	CHECK_INT(json_array_size(json_object_get(j, "history")), 0);
	CHECK(json_is_null(json_object_get(j, "number")));
	CHECK_STR(jstr(j, "number_status"), "none");
	json_decref(j);
	j = cl_view_lookup_raw(cs, &nanp, "555-CALL-NOW", 5, NULL, err);
	CHECK_STR(jstr(j, "number_status"), "invalid");
	CHECK(json_is_null(json_object_get(j, "customer")));
	json_decref(j);

	/* Upsert: new phones replace the old ones; a file without a column keeps it. */
	CHECK_INT(import_text(cs,
	                      "Phones , ID,tier\n"
	                      "555 777 0001,C-7,platinum\n"
	                      "555 777 0002,C-9,bronze\n",
	                      &sum, rep, sizeof(rep), err),
	          0);
	CHECK_INT(sum.inserted, 1);
	CHECK_INT(sum.updated, 1);
	CHECK_INT(sum.rejected, 0);
	j = cl_view_lookup(cs, "+15551234567", 5, NULL, err);
	CHECK(json_is_null(json_object_get(j, "customer")));
	json_decref(j);
	j = cl_view_lookup(cs, "+15557770001", 5, NULL, err);
	c = json_object_get(j, "customer");
	CHECK_STR(jstr(c, "id"), "C-7");
	CHECK_STR(jstr(c, "name"), "Ada Lovelace"); /* kept */
	CHECK_STR(jstr(c, "tier"), "platinum");     /* changed */
	CHECK_STR(jstr(c, "notes"), "likes \"tea\", and cake");
	json_decref(j);
	c = cl_view_get_customer(cs, "C-9", err);
	CHECK_STR(jstr(c, "name"), "");
	CHECK_STR(jstr(c, "tier"), "bronze");
	json_decref(c);
	CHECK(cl_view_get_customer(cs, "C-404", err) == NULL);
	CHECK_STR(err, "");

	/* A file without the phones column leaves phones alone. */
	CHECK_INT(import_text(cs, "id,name\nC-7,Ada King\n", &sum, rep, sizeof(rep), err), 0);
	j = cl_view_lookup(cs, "+15557770001", 5, NULL, err);
	CHECK_STR(jstr(json_object_get(j, "customer"), "name"), "Ada King");
	json_decref(j);
	/* An empty phones cell removes them. */
	CHECK_INT(import_text(cs, "id,phones\nC-9,\n", &sum, rep, sizeof(rep), err), 0);
	j = cl_view_lookup(cs, "+15557770002", 5, NULL, err);
	CHECK(json_is_null(json_object_get(j, "customer")));
	json_decref(j);
	cl_store_close(st);
}

static void
test_bad_rows(void)
{
	struct cl_store *st = open_store("b.db");
	struct cl_store *cs = st;
	struct cl_import_summary sum;
	char err[CL_ERR_LEN], rep[4096], notes[CL_NOTES_MAX + 200], *text;
	json_t *j;
	size_t n;

	memset(notes, 'n', sizeof(notes) - 1);
	notes[sizeof(notes) - 1] = '\0';
	text = malloc(sizeof(notes) + 2048);
	n = (size_t)snprintf(text, 2048,
	                     "id,name,phones,email,account,tier,notes\n"  /* 1 */
	                     "G-1,Good One,5551110001,,,,\n"              /* 2 */
	                     "B-1,Too few fields,5551110002\n"            /* 3 */
	                     ",No id,5551110003,,,,\n"                    /* 4 */
	                     "B-3,Bad phone,5551110004;call-me,,,,\n"     /* 5 */
	                     "B-4,Anonymous phone,anonymous,,,,\n"        /* 6 */
	                     "B-5,Bad \"quote,5551110005,,,,\n"           /* 7 */
	                     "\"B-6\"x,Text after quote,5551110006,,,,\n" /* 8 */
	                     "B-7,\"Multi\nline\nname\",5551110007,,,,\n" /* 9-11: control chars in name */
	                     "G-2,\"Good, Two\",\"5551110008;+44 20 7946 0018\",,,,\"ok\nnote\"\n" /* 12-13 */
	                     "B-8,Bad UTF-8 \xff,5551110009,,,,\n"                                 /* 14 */
	                     "B-9,Many phones,1000001;1000002;1000003;1000004;1000005;1000006;1000007;1000008;"
	                     "1000009;1000010;1000011;1000012;1000013;1000014;1000015;1000016;1000017,,,,\n" /* 15 */
	                     "  ,Blank id,,,,,\n"                                                            /* 16 */
	                     "B-10,Long notes,5551110010,,,,");                                              /* 17 */
	memcpy(text + n, notes, strlen(notes));
	n += strlen(notes);
	memcpy(text + n, "\nG-3,Good Three,5551110011,,,,\n", 32); /* 18 */

	CHECK_INT(import_text(cs, text, &sum, rep, sizeof(rep), err), 0);
	CHECK_INT(sum.inserted, 3);
	CHECK_INT(sum.updated, 0);
	CHECK_INT(sum.rejected, 11);
	CHECK_STR(rep, "t.csv:3: 3 fields, the header has 7\n"
	               "t.csv:4: no id\n"
	               "t.csv:5: phone \"call-me\" is not a valid phone number\n"
	               "t.csv:6: phone \"anonymous\" is no number\n"
	               "t.csv:7: a quote inside an unquoted field (quote the whole field)\n"
	               "t.csv:8: text after a closing quote\n"
	               "t.csv:9: control character in name\n"
	               "t.csv:14: name is not valid UTF-8\n"
	               "t.csv:15: more than 16 phones\n"
	               "t.csv:16: no id\n"
	               "t.csv:17: notes longer than 4096 bytes\n");
	j = cl_view_lookup(cs, "+442079460018", 5, NULL, err);
	CHECK_STR(jstr(json_object_get(j, "customer"), "name"), "Good, Two");
	CHECK_STR(jstr(json_object_get(j, "customer"), "notes"), "ok\nnote");
	json_decref(j);
	/* Nothing of a rejected row was written. */
	j = cl_view_lookup(cs, "+15551110004", 5, NULL, err);
	CHECK(json_is_null(json_object_get(j, "customer")));
	json_decref(j);
	CHECK(cl_view_get_customer(cs, "B-3", err) == NULL);
	free(text);

	/* Header faults stop the import before anything is written. */
	CHECK_INT(import_text(cs, "", &sum, rep, sizeof(rep), err), -1);
	CHECK(strstr(err, "t.csv:1: empty file") == err);
	CHECK_INT(import_text(cs, "id,name,phone\nX-1,x,5551112222\n", &sum, rep, sizeof(rep), err), -1);
	CHECK_STR(err, "t.csv:1: unknown column \"phone\" (the columns are id,name,phones,email,account,tier,notes)");
	CHECK_INT(import_text(cs, "name,phones\nx,5551112222\n", &sum, rep, sizeof(rep), err), -1);
	CHECK_STR(err, "t.csv:1: the header has no \"id\" column");
	CHECK_INT(import_text(cs, "id,name,ID\n", &sum, rep, sizeof(rep), err), -1);
	CHECK_STR(err, "t.csv:1: column \"id\" appears twice");
	CHECK_INT(import_text(cs, "\n\n\"id,name\n", &sum, rep, sizeof(rep), err), -1);
	CHECK_STR(err, "t.csv:3: header: unterminated quoted field");
	CHECK(cl_view_get_customer(cs, "X-1", err) == NULL);
	/* A header with a BOM (spreadsheets) and CRLF. */
	CHECK_INT(import_text(cs, "\xef\xbb\xbfid,name\r\nX-2,Bom\r\n", &sum, rep, sizeof(rep), err), 0);
	CHECK_INT(sum.inserted, 1);
	/* The same id twice in a file: the last row wins. */
	CHECK_INT(import_text(cs, "id,name\nX-3,first\nX-3,second\n", &sum, rep, sizeof(rep), err), 0);
	CHECK_INT(sum.inserted, 1);
	CHECK_INT(sum.updated, 1);
	j = cl_view_get_customer(cs, "X-3", err);
	CHECK_STR(jstr(j, "name"), "second");
	json_decref(j);

	/* Inside a caller's transaction the import refuses rather than commit it. */
	CHECK_INT(cl_store_begin(st, err), 0);
	CHECK_INT(import_text(cs, "id\nX-4\n", &sum, rep, sizeof(rep), err), -1);
	CHECK(strstr(err, "transaction") != NULL);
	cl_store_rollback(st);
	CHECK(cl_view_get_customer(cs, "X-4", err) == NULL);
	cl_store_close(st);
}

static void
test_shared_and_history(void)
{
	struct cl_store *st = open_store("c.db");
	struct cl_store *cs = st;
	struct cl_import_summary sum;
	char err[CL_ERR_LEN], rep[1024], ids[2][CL_ID_MAX + 1];
	json_t *j, *h, *e;
	int matches;

	CHECK_INT(import_text(cs,
	                      "id,name,phones\n"
	                      "S-2,Second,5552220000\n"
	                      "S-1,First,5552220000;5552220001\n"
	                      "S-3,Third,5552220000\n"
	                      "S-4,Fourth,5552220000\n"
	                      "S-5,Fifth,5552220000\n"
	                      "S-6,Sixth,5552220000\n"
	                      "S-7,Seventh,5552220000\n",
	                      &sum, rep, sizeof(rep), err),
	          0);
	CHECK_INT(sum.inserted, 7);

	/* No calls yet: by id. */
	j = cl_view_lookup(cs, "+15552220000", 5, NULL, err);
	CHECK_INT(json_integer_value(json_object_get(j, "matches")), 7);
	CHECK_STR(jstr(json_object_get(j, "customer"), "id"), "S-1");
	CHECK_INT(json_array_size(json_object_get(j, "candidates")), 5);
	CHECK_STR(jstr(json_array_get(json_object_get(j, "candidates"), 0), "id"), "S-1");
	CHECK_STR(jstr(json_array_get(json_object_get(j, "candidates"), 4), "id"), "S-5");
	json_decref(j);

	/* Calls: S-3 called most recently, then S-6; S-1 has an old one. */
	put_call(st, "c-1", "+15552220000", "S-1", 1000, "a1", 2000, 3000, "completed", "agent", "billing", "paid");
	put_call(st, "c-2", "+15552220000", "S-6", 5000, "", 0, 6000, "abandoned", "", "", NULL);
	put_call(st, "c-3", "+15552220000", "S-3", 9000, "a2", 9500, 0, "", "", "", NULL);
	put_call(st, "c-4", "+15552220000", "S-3", 8000, "", 0, 8100, "completed", "caller", "", NULL);
	put_call(st, "c-5", "+15552220000", "S-3", 7000, "", 0, 7100, "no_answer", "system", "", NULL);
	put_call(st, "c-6", "+15552220000", "S-3", 0, "", 0, 100, "", "", "", NULL);
	put_call(st, "u-1", "+15559990000", NULL, 4000, "a3", 4100, 4200, "completed", "", "sales", "n1");
	put_call(st, "u-2", "+15559990000", NULL, 4500, "", 0, 4600, "busy", "system", "", NULL);

	j = cl_view_lookup(cs, "+15552220000", 10, NULL, err);
	CHECK_INT(json_integer_value(json_object_get(j, "matches")), 7);
	CHECK_STR(jstr(json_object_get(j, "customer"), "id"), "S-3");
	e = json_object_get(j, "candidates");
	CHECK_STR(jstr(json_array_get(e, 0), "id"), "S-3");
	CHECK_STR(jstr(json_array_get(e, 1), "id"), "S-6");
	CHECK_STR(jstr(json_array_get(e, 2), "id"), "S-1");
	CHECK_STR(jstr(json_array_get(e, 3), "id"), "S-2"); /* no calls: by id */
	CHECK_STR(jstr(json_array_get(e, 4), "id"), "S-4");
	h = json_object_get(j, "history");
	CHECK_INT(json_array_size(h), 4);
	CHECK_STR(jstr(json_array_get(h, 0), "call_id"), "c-3");
	CHECK_STR(jstr(json_array_get(h, 0), "started_at"), "1970-01-01T00:00:09.000Z");
	CHECK_STR(jstr(json_array_get(h, 0), "agent"), "a2");
	CHECK_STR(jstr(json_array_get(h, 0), "outcome"), "active");
	CHECK(json_is_null(json_object_get(json_array_get(h, 0), "disposition")));
	CHECK(json_is_null(json_object_get(json_array_get(h, 0), "notes")));
	CHECK_STR(jstr(json_array_get(h, 1), "call_id"), "c-4");
	CHECK_STR(jstr(json_array_get(h, 1), "outcome"), "abandoned"); /* by caller */
	CHECK(json_is_null(json_object_get(json_array_get(h, 1), "agent")));
	CHECK_STR(jstr(json_array_get(h, 2), "outcome"), "unanswered");
	CHECK_STR(jstr(json_array_get(h, 3), "call_id"), "c-6");
	CHECK(json_is_null(json_object_get(json_array_get(h, 3), "started_at")));
	json_decref(j);

	/* At most history entries, and the call being popped left out. */
	j = cl_view_lookup(cs, "+15552220000", 2, "c-3", err);
	h = json_object_get(j, "history");
	CHECK_INT(json_array_size(h), 2);
	CHECK_STR(jstr(json_array_get(h, 0), "call_id"), "c-4");
	CHECK_STR(jstr(json_array_get(h, 1), "call_id"), "c-5");
	json_decref(j);
	j = cl_view_lookup(cs, "+15552220000", 0, NULL, err);
	CHECK_INT(json_array_size(json_object_get(j, "history")), 0);
	json_decref(j);
	j = cl_view_lookup(cs, "+15552220000", 100000, NULL, err);
	CHECK_INT(json_array_size(json_object_get(j, "history")), 4);
	json_decref(j);

	/* The other number of S-1 finds only S-1, with its own history. */
	j = cl_view_lookup(cs, "+15552220001", 5, NULL, err);
	CHECK_INT(json_integer_value(json_object_get(j, "matches")), 1);
	h = json_object_get(j, "history");
	CHECK_INT(json_array_size(h), 1);
	e = json_array_get(h, 0);
	CHECK_STR(jstr(e, "call_id"), "c-1");
	CHECK_STR(jstr(e, "outcome"), "answered");
	CHECK_STR(jstr(e, "disposition"), "billing");
	CHECK_STR(jstr(e, "notes"), "paid");
	CHECK_STR(jstr(e, "agent"), "a1");
	json_decref(j);

	/* An unknown caller's history is the number's. */
	j = cl_view_lookup(cs, "+15559990000", 5, NULL, err);
	CHECK(json_is_null(json_object_get(j, "customer")));
	h = json_object_get(j, "history");
	CHECK_INT(json_array_size(h), 2);
	CHECK_STR(jstr(json_array_get(h, 0), "call_id"), "u-2");
	CHECK_STR(jstr(json_array_get(h, 0), "outcome"), "unanswered");
	CHECK_STR(jstr(json_array_get(h, 1), "disposition"), "sales");
	json_decref(j);

	/* match, find */
	CHECK_INT(cl_store_customer_match(cs, "+15552220000", 2, ids, &matches, err), 2);
	CHECK_STR(ids[0], "S-3");
	CHECK_STR(ids[1], "S-6");
	CHECK_INT(matches, 7);
	CHECK_INT(cl_store_customer_match(cs, "+15550000000", 2, ids, &matches, err), 0);
	CHECK_INT(matches, 0);
	CHECK_INT(cl_store_customer_match(cs, "+15552220001", 0, ids, &matches, err), 0);
	CHECK_INT(matches, 1);
	j = cl_view_find_customers(cs, "+15552220000", 100, err);
	CHECK_INT(json_array_size(json_object_get(j, "customers")), 7);
	CHECK_STR(jstr(json_array_get(json_object_get(j, "customers"), 6), "id"), "S-7");
	json_decref(j);
	j = cl_view_find_customers(cs, "+15550000000", 100, err);
	CHECK_INT(json_array_size(json_object_get(j, "customers")), 0);
	json_decref(j);
	cl_store_close(st);
}

/* A stream into buf that reads back as "" when nothing was written. */
static FILE *
open_mem(char *buf, size_t len)
{
	memset(buf, 0, len);
	return fmemopen(buf, len - 1, "w");
}

/* The callogctl entry points, and the sample data file. */
static void
test_cli(void)
{
	struct cl_store *st = open_store("d.db");
	struct cl_store *cs = st;
	char path[256], outbuf[8192], errbuf[4096];
	const char *data = getenv("CALLOGD_TEST_DATA");
	FILE *out, *errout, *f;
	json_t *j;

	snprintf(path, sizeof(path), "%s/bad.csv", dir);
	f = fopen(path, "w");
	fputs("id,name,phones\nK-1,Ok,5553330001\nK-2,Bad,xyz\n\nK-3,\"Quoted\nName\",5553330003\n", f);
	fclose(f);
	out = open_mem(outbuf, sizeof(outbuf));
	errout = open_mem(errbuf, sizeof(errbuf));
	CHECK_INT(cl_customers_import_file(cs, &nanp, path, out, errout), 0);
	fclose(out);
	fclose(errout);
	CHECK_STR(outbuf, "imported: 1 inserted, 0 updated, 2 rejected\n");
	{
		char want[1024];
		snprintf(want, sizeof(want),
		         "%s:3: phone \"xyz\" is not a valid phone number\n%s:5: control character in name\n", path,
		         path);
		CHECK_STR(errbuf, want);
	}

	out = open_mem(outbuf, sizeof(outbuf));
	errout = open_mem(errbuf, sizeof(errbuf));
	CHECK_INT(cl_customers_import_file(cs, &nanp, "/nonexistent/x.csv", out, errout), 1);
	fclose(out);
	fclose(errout);
	CHECK_STR(outbuf, "");
	CHECK_STR(errbuf, "cannot open /nonexistent/x.csv: No such file or directory\n");

	snprintf(path, sizeof(path), "%s/customers_sample.csv", data ? data : "tests/data");
	out = open_mem(outbuf, sizeof(outbuf));
	errout = open_mem(errbuf, sizeof(errbuf));
	CHECK_INT(cl_customers_import_file(cs, &nanp, path, out, errout), 0);
	fclose(out);
	fclose(errout);
	CHECK_STR(outbuf, "imported: 20 inserted, 0 updated, 0 rejected\n");
	CHECK_STR(errbuf, "");

	out = open_mem(outbuf, sizeof(outbuf));
	errout = open_mem(errbuf, sizeof(errbuf));
	CHECK_INT(cl_customers_print_lookup(cs, &nanp, "(555) 200-0004", 5, out, errout), 0);
	fclose(out);
	fclose(errout);
	j = json_loads(outbuf, 0, NULL);
	CHECK(j != NULL);
	CHECK_INT(json_integer_value(json_object_get(j, "matches")), 2);
	CHECK_STR(jstr(json_object_get(j, "customer"), "id"), "C-8");
	CHECK_INT(json_array_size(json_object_get(j, "candidates")), 2);
	CHECK_STR(jstr(j, "number"), "+15552000004");
	json_decref(j);

	j = cl_view_lookup(cs, "+442079460018", 5, NULL, (char[CL_ERR_LEN]){0});
	CHECK_STR(jstr(json_object_get(j, "customer"), "notes"), "Calls from London; ask for the \"Enigma\" ticket.");
	json_decref(j);
	j = cl_view_lookup(cs, "+15552000009", 5, NULL, (char[CL_ERR_LEN]){0});
	CHECK_STR(jstr(json_object_get(j, "customer"), "id"), "C-12");
	json_decref(j);
	j = cl_view_get_customer(cs, "C-15", (char[CL_ERR_LEN]){0});
	CHECK_STR(jstr(j, "name"), "S\xc3\xb8ren Kierkegaard");
	CHECK_STR(json_string_value(json_array_get(json_object_get(j, "phones"), 0)), "+4533123456");
	json_decref(j);

	out = open_mem(outbuf, sizeof(outbuf));
	errout = open_mem(errbuf, sizeof(errbuf));
	CHECK_INT(cl_customers_print_lookup(cs, &nanp, "restricted", 5, out, errout), 0);
	fclose(out);
	fclose(errout);
	j = json_loads(outbuf, 0, NULL);
	CHECK_STR(jstr(j, "number_status"), "none");
	json_decref(j);
	cl_store_close(st);
}

/* Every lookup statement is an index search: no full scans whatever the table sizes. */
static void
test_plans(void)
{
	static const char *const sql[] = {
	    "SELECT count(*) FROM customer_phones WHERE number = ?",
	    "SELECT m.customer_id FROM (SELECT customer_id FROM customer_phones WHERE number = ?1 ORDER BY "
	    "customer_id LIMIT ?2) AS m ORDER BY (SELECT max(offered_at) FROM calls WHERE customer_id = "
	    "m.customer_id) DESC NULLS LAST, m.customer_id LIMIT ?3",
	    "SELECT id, name FROM customers WHERE id = ?",
	    "SELECT call_id FROM calls WHERE customer_id = ?1 AND call_id IS NOT ?2 ORDER BY offered_at DESC LIMIT ?3",
	    "SELECT call_id FROM calls WHERE number = ?1 AND call_id IS NOT ?2 ORDER BY offered_at DESC LIMIT ?3",
	};
	char path[128];
	sqlite3 *db = NULL;

	/* The SQLite backend's own file, read with a connection of the test's own. */
	snprintf(path, sizeof(path), "%s/a.db", dir);
	CHECK_INT(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);

	for (size_t i = 0; i < sizeof(sql) / sizeof(sql[0]); i++) {
		char q[1024];
		sqlite3_stmt *s = NULL;
		int scans = 0;
		snprintf(q, sizeof(q), "EXPLAIN QUERY PLAN %s", sql[i]);
		CHECK_INT(sqlite3_prepare_v2(db, q, -1, &s, NULL), SQLITE_OK);
		while (s != NULL && sqlite3_step(s) == SQLITE_ROW) {
			const char *d = (const char *)sqlite3_column_text(s, 3);
			/* "SCAN m" walks the at most CL_CUSTOMERS_RANKED ids of the subquery. */
			if (strncmp(d, "SCAN", 4) == 0 && strcmp(d, "SCAN m") != 0) {
				fprintf(stderr, "full scan in plan of %s: %s\n", sql[i], d);
				scans++;
			}
		}
		CHECK_INT(scans, 0);
		sqlite3_finalize(s);
	}
	sqlite3_close(db);
}

/*
 * Imports n synthetic customers (each with two phones; every 1000th shares one
 * with its neighbour) and n/4 calls, then times lookups. Returns the mean
 * lookup time in microseconds.
 */
static double
bench(long n, int verbose)
{
	char name[32], path[256], err[CL_ERR_LEN];
	struct cl_store *st;
	struct cl_store *cs;
	struct cl_import_summary sum;
	FILE *f;
	int64_t t0, t1;
	long lookups = 20000, found = 0;
	double mean;

	snprintf(name, sizeof(name), "bench%ld.db", n);
	st = open_store(name);
	cs = st;
	snprintf(path, sizeof(path), "%s/bench.csv", dir);
	f = fopen(path, "w+");
	fprintf(f, "id,name,phones,email,account,tier,notes\n");
	for (long i = 0; i < n; i++) {
		fprintf(f,
		        "B-%ld,\"Customer %ld, Jr.\",(555) %03ld-%04ld;+1 666 %03ld "
		        "%04ld%s,c%ld@example.com,ACC-%ld,gold,\n",
		        i, i, (i / 10000) % 1000, i % 10000, (i / 10000) % 1000, i % 10000,
		        i % 1000 == 999 ? ";+1 777 000 0000" : "", i, i);
	}
	rewind(f);
	t0 = cl_mono_us();
	CHECK_INT(cl_customers_import(cs, &nanp, f, "bench.csv", stderr, &sum, err), 0);
	t1 = cl_mono_us();
	fclose(f);
	unlink(path);
	CHECK_INT(sum.inserted, n);
	CHECK_INT(sum.rejected, 0);
	if (verbose)
		printf("import: %ld customers in %.2f s (%.0f rows/s)\n", n, (t1 - t0) / 1e6,
		       n / ((t1 - t0) / 1e6 + 1e-9));

	/* Calls for a quarter of the customers, so history and ranking have rows to read. */
	CHECK_INT(cl_store_begin(st, err), 0);
	for (long i = 0; i < n; i += 4) {
		char cid[32], num[32], cust[32];
		for (int k = 0; k < 3; k++) {
			int64_t at = 1700000000000LL + i * 1000 + k;
			snprintf(cid, sizeof(cid), "call-%ld-%d", i, k);
			snprintf(num, sizeof(num), "+1555%03ld%04ld", (i / 10000) % 1000, i % 10000);
			snprintf(cust, sizeof(cust), "B-%ld", i);
			put_call(st, cid, num, cust, at, "a1", at + 1000, at + 60000, "", "", "", NULL);
		}
	}
	CHECK_INT(cl_store_commit(st, err), 0);

	t0 = cl_mono_us();
	for (long k = 0; k < lookups; k++) {
		char raw[32];
		long i = (long)(((unsigned long)k * 2654435761UL) % (unsigned long)n);
		json_t *j;
		snprintf(raw, sizeof(raw), "555%03ld%04ld", (i / 10000) % 1000, i % 10000);
		j = cl_view_lookup_raw(cs, &nanp, raw, 5, NULL, err);
		found += j != NULL && !json_is_null(json_object_get(j, "customer"));
		json_decref(j);
	}
	t1 = cl_mono_us();
	CHECK_INT(found, lookups);
	mean = (double)(t1 - t0) / lookups;
	if (verbose) {
		printf("lookup: %ld random hits with 5 history in %.3f s: %.1f us each\n", lookups, (t1 - t0) / 1e6,
		       mean);
		/* The shared number: n/1000 customers, ranking bounded. */
		t0 = cl_mono_us();
		for (int k = 0; k < 1000; k++)
			json_decref(cl_view_lookup(cs, "+17770000000", 5, NULL, err));
		t1 = cl_mono_us();
		printf("lookup of a number shared by %ld customers: %.1f us each\n", n / 1000,
		       (double)(t1 - t0) / 1000);
		t0 = cl_mono_us();
		for (int k = 0; k < 10000; k++)
			json_decref(cl_view_lookup(cs, "+19990000000", 5, NULL, err));
		t1 = cl_mono_us();
		printf("lookup miss: %.1f us each\n", (double)(t1 - t0) / 10000);
	}
	cl_store_close(st);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
	strcat(path, "-wal");
	unlink(path);
	path[strlen(path) - 4] = '\0';
	strcat(path, "-shm");
	unlink(path);
	return mean;
}

int
main(int argc, char **argv)
{
	char cmd[128];
	double small, large;

	snprintf(dir, sizeof(dir), "/tmp/test_customers_XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	cl_numbers_init(&nanp, "1", "1", "011");

	if (argc == 3 && strcmp(argv[1], "--bench") == 0) {
		bench(atol(argv[2]), 1);
	} else if (argc == 3 && strcmp(argv[1], "--import") == 0) {
		/* Times `callogctl import FILE` into a fresh database. */
		struct cl_store *st = open_store("import.db");
		struct cl_store *cs = st;
		/* Twice: the second run updates every row (phones deleted and written again). */
		for (int run = 0; run < 2; run++) {
			int64_t t0 = cl_mono_us();
			int rc = cl_customers_import_file(cs, &nanp, argv[2], stdout, stderr);
			printf("import of %s: %.2f s, exit %d\n", argv[2], (cl_mono_us() - t0) / 1e6, rc);
		}
		cl_store_close(st);
	} else {
		test_import_and_lookup();
		test_bad_rows();
		test_shared_and_history();
		test_cli();
		test_plans();
		/* Lookup cost must not grow with the table: 100x the customers, about the same time. */
		small = bench(200, 0);
		large = bench(20000, 0);
		printf("lookup: %.1f us at 200 customers, %.1f us at 20000\n", small, large);
		CHECK(large < 3 * small + 50);
		CHECK(large < 2000); /* 2 ms, far above what it takes, even under sanitizers */
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	TEST_DONE();
}
