/* test_csv.c : unit tests of the CSV reader (csv.c) from buffers and streams. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "callogd/csv.h"
#include "callogd/util.h"
#include "testutil.h"

/*
 * Reads all of text and renders it as "line:[f1|f2]" per record, "line:BAD(msg)"
 * per bad record, joined by spaces; through a buffer, and again through a
 * stream, and checks that both agree.
 */
static void
render(const char *text, size_t len, int use_file, int max_fields, size_t max_record, char *out, size_t outlen)
{
	char err[CL_ERR_LEN];
	struct cl_csv *r;
	FILE *f = NULL;
	size_t o = 0;
	enum cl_csv_status st;

	out[0] = '\0';
	if (use_file) {
		/* fmemopen() may refuse a zero size. */
		f = len > 0 ? fmemopen((void *)text, len, "r") : fopen("/dev/null", "r");
		r = cl_csv_new_file(f, max_fields, max_record);
	} else {
		r = cl_csv_new_buffer(text, len, max_fields, max_record);
	}
	if (r == NULL) {
		snprintf(out, outlen, "NEW FAILED");
		goto done;
	}
	while ((st = cl_csv_next(r, err)) != CL_CSV_EOF && o < outlen) {
		o += snprintf(out + o, outlen - o, "%s%ld:", o ? " " : "", cl_csv_line(r));
		if (st == CL_CSV_BAD) {
			o += snprintf(out + o, outlen - o, "BAD(%s)", err);
			continue;
		}
		if (st == CL_CSV_IO) {
			o += snprintf(out + o, outlen - o, "IO(%s)", err);
			break;
		}
		o += snprintf(out + o, outlen - o, "[");
		for (int i = 0; i < cl_csv_nfields(r) && o < outlen; i++) {
			CHECK_INT(strlen(cl_csv_field(r, i)), cl_csv_field_len(r, i));
			o += snprintf(out + o, outlen - o, "%s%s", i ? "|" : "", cl_csv_field(r, i));
		}
		if (o < outlen)
			o += snprintf(out + o, outlen - o, "]");
	}
	/* EOF stays EOF. */
	CHECK_INT(cl_csv_next(r, err), CL_CSV_EOF);
done:
	cl_csv_free(r);
	if (f != NULL)
		fclose(f);
}

static void
expect_lim(const char *text, size_t len, int max_fields, size_t max_record, const char *want)
{
	char a[4096], b[4096];

	render(text, len, 0, max_fields, max_record, a, sizeof(a));
	render(text, len, 1, max_fields, max_record, b, sizeof(b));
	CHECK_STR(a, want);
	CHECK_STR(b, want);
}

#define EXPECT(text, want) expect_lim(text, sizeof(text) - 1, 0, 0, want)

static void
test_basic(void)
{
	EXPECT("", "");
	EXPECT("a", "1:[a]");
	EXPECT("a,b,c\n", "1:[a|b|c]");
	EXPECT("a,b,c\n1,2,3\n", "1:[a|b|c] 2:[1|2|3]");
	EXPECT("a,b,c\r\n1,2,3\r\n", "1:[a|b|c] 2:[1|2|3]");
	EXPECT("a,b\r1,2\r", "1:[a|b] 2:[1|2]"); /* lone CR */
	EXPECT("a,b\n1,2", "1:[a|b] 2:[1|2]");   /* no final newline */
	EXPECT(",", "1:[|]");
	EXPECT(",,\n", "1:[||]");
	EXPECT("a,\n", "1:[a|]");
	EXPECT(" a , b \n", "1:[ a | b ]"); /* spaces are data */
	EXPECT("\n\n", "");
	EXPECT("a\n\n\r\nb\n\n", "1:[a] 4:[b]"); /* empty lines skipped, still counted */
	EXPECT("h\n\xc3\xa9t\xc3\xa9,\xe2\x82\xac\n", "1:[h] 2:[\xc3\xa9t\xc3\xa9|\xe2\x82\xac]");
}

static void
test_quotes(void)
{
	EXPECT("\"a\",\"b\"\n", "1:[a|b]");
	EXPECT("\"a,b\",c\n", "1:[a,b|c]");
	EXPECT("\"say \"\"hi\"\"\",x\n", "1:[say \"hi\"|x]");
	EXPECT("\"\"\"\"\n", "1:[\"]");
	EXPECT("\"\",\"\"\n", "1:[|]");
	EXPECT("\"line1\nline2\",x\nnext\n", "1:[line1\nline2|x] 3:[next]");
	EXPECT("\"line1\r\nline2\"\r\nnext\r\n", "1:[line1\nline2] 3:[next]");
	EXPECT("\"a\n\n\nb\"\nc", "1:[a\n\n\nb] 5:[c]");
	EXPECT("x,\"\"\n", "1:[x|]");
	EXPECT("\"\n\"", "1:[\n]");
}

static void
test_bad(void)
{
	EXPECT("a\"b,c\nd\n", "1:BAD(a quote inside an unquoted field (quote the whole field)) 2:[d]");
	EXPECT("\"a\"b,c\nd\n", "1:BAD(text after a closing quote) 2:[d]");
	EXPECT("ok\n\"never closed\nmore\n", "1:[ok] 2:BAD(unterminated quoted field)");
	/* A bad record spans its quoted newlines; the next record is found after them. */
	EXPECT("\"a\"x,\"multi\nline\"\nnext\n", "1:BAD(text after a closing quote) 3:[next]");
	expect_lim("a\0b\nc\n", 6, 0, 0, "1:BAD(NUL byte in the record) 2:[c]");
	expect_lim("\"a\0b\"\nc\n", 8, 0, 0, "1:BAD(NUL byte in the record) 2:[c]");
}

static void
test_bounds(void)
{
	expect_lim("a,b,c\n1,2,3,4\n5,6\n", 18, 3, 0, "1:[a|b|c] 2:BAD(more than 3 fields) 3:[5|6]");
	/* A record's bytes count each field's terminator: "ab,c" needs 5. */
	expect_lim("ab,c\n", 5, 0, 5, "1:[ab|c]");
	expect_lim("ab,cd\nx\n", 8, 0, 5, "1:BAD(record longer than 5 bytes) 2:[x]");
	expect_lim(",,,,,,,,\nx\n", 11, 0, 4, "1:BAD(record longer than 4 bytes) 2:[x]");
	expect_lim("\"ab\ncd\",e\nx\n", 12, 0, 4, "1:BAD(record longer than 4 bytes) 3:[x]");

	/* A record that grows the buffer past its first allocation, then one a byte too long. */
	{
		size_t n = 3 * CL_CSV_MAX_RECORD / 4;
		char err[CL_ERR_LEN], *text = malloc(CL_CSV_MAX_RECORD + 8);
		struct cl_csv *r;

		CHECK(text != NULL);
		if (text != NULL) {
			memset(text, 'z', n);
			memcpy(text + n, "\nq\n", 4);
			r = cl_csv_new_buffer(text, n + 3, 0, 0);
			CHECK_INT(cl_csv_next(r, err), CL_CSV_RECORD);
			CHECK_INT(cl_csv_field_len(r, 0), n);
			CHECK_INT(cl_csv_next(r, err), CL_CSV_RECORD);
			CHECK_STR(cl_csv_field(r, 0), "q");
			CHECK_INT(cl_csv_next(r, err), CL_CSV_EOF);
			cl_csv_free(r);

			memset(text, 'y', CL_CSV_MAX_RECORD);
			memcpy(text + CL_CSV_MAX_RECORD, "\nq\n", 4);
			r = cl_csv_new_buffer(text, CL_CSV_MAX_RECORD + 3, 0, 0);
			CHECK_INT(cl_csv_next(r, err), CL_CSV_BAD);
			CHECK(strstr(err, "longer than") != NULL);
			CHECK_INT(cl_csv_next(r, err), CL_CSV_RECORD);
			CHECK_INT(cl_csv_line(r), 2);
			cl_csv_free(r);
			/* Exactly the bound (field and its terminator) is fine. */
			r = cl_csv_new_buffer(text, CL_CSV_MAX_RECORD - 1, 0, 0);
			CHECK_INT(cl_csv_next(r, err), CL_CSV_RECORD);
			cl_csv_free(r);
		}
		free(text);
	}

	/* Accessors out of range. */
	{
		char err[CL_ERR_LEN];
		struct cl_csv *r = cl_csv_new_buffer("a,b\n", 4, 0, 0);
		CHECK_INT(cl_csv_next(r, err), CL_CSV_RECORD);
		CHECK_INT(cl_csv_nfields(r), 2);
		CHECK(cl_csv_field(r, 2) == NULL);
		CHECK(cl_csv_field(r, -1) == NULL);
		CHECK_INT(cl_csv_field_len(r, 5), 0);
		cl_csv_free(r);
	}
	cl_csv_free(NULL);
}

static void
test_bom(void)
{
	EXPECT("\xef\xbb\xbfid,name\n1,x\n", "1:[id|name] 2:[1|x]");
	EXPECT("\xef\xbb\xbf", "");
	/* Not a BOM: the bytes stay. */
	EXPECT("\xef\xbbx\n", "1:[\xef\xbbx]");
	EXPECT("\xef\n", "1:[\xef]");
	EXPECT("\xef\r\nb", "1:[\xef] 2:[b]");
	/* Only at the start. */
	EXPECT("a\n\xef\xbb\xbf"
	       "b\n",
	       "1:[a] 2:[\xef\xbb\xbf"
	       "b]");
}

/* A file with a record per line: the line numbers of a long file stay right. */
static void
test_stream(void)
{
	char err[CL_ERR_LEN], path[] = "/tmp/test_csv_XXXXXX";
	int fd = mkstemp(path), n = 0, bad = 0;
	FILE *f = fd >= 0 ? fdopen(fd, "w+") : NULL;
	struct cl_csv *r;
	enum cl_csv_status st;

	CHECK(f != NULL);
	if (f == NULL)
		return;
	for (int i = 0; i < 10000; i++) {
		if (i % 1000 == 999)
			fprintf(f, "\"bad\"x,%d\r\n", i);
		else if (i % 100 == 0)
			fprintf(f, "%d,\"two\r\nlines\"\r\n", i);
		else
			fprintf(f, "%d,\"q\"\"uote\",plain\r\n", i);
	}
	rewind(f);
	r = cl_csv_new_file(f, 0, 0);
	while ((st = cl_csv_next(r, err)) != CL_CSV_EOF && st != CL_CSV_IO) {
		if (st == CL_CSV_BAD) {
			bad++;
			continue;
		}
		n++;
		if (n == 1)
			CHECK_STR(cl_csv_field(r, 1), "two\nlines");
		if (strcmp(cl_csv_field(r, 0), "5001") == 0) {
			/* rows 0..5000 took 5001 lines, and 51 of them took two */
			CHECK_INT(cl_csv_line(r), 5001 + 51 + 1);
			CHECK_STR(cl_csv_field(r, 1), "q\"uote");
		}
	}
	CHECK_INT(st, CL_CSV_EOF);
	CHECK_INT(n, 9990);
	CHECK_INT(bad, 10);
	cl_csv_free(r);
	fclose(f);
	unlink(path);

	/* A stream that fails to read is CL_CSV_IO. */
	f = fopen("/tmp", "r");
	if (f != NULL) {
		r = cl_csv_new_file(f, 0, 0);
		CHECK_INT(cl_csv_next(r, err), CL_CSV_IO);
		CHECK(strstr(err, "read error") != NULL);
		cl_csv_free(r);
		fclose(f);
	}
}

int
main(void)
{
	test_basic();
	test_quotes();
	test_bad();
	test_bounds();
	test_bom();
	test_stream();
	TEST_DONE();
}
