/* csv.c : owns reading RFC 4180 CSV records, bounded, from a stream or a buffer (pure). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callogd/csv.h"
#include "callogd/util.h"

#define REC_INITIAL 4096

struct cl_csv {
	FILE *f;
	const unsigned char *buf;
	size_t len, pos;
	int pushback[3]; /* bytes read ahead, last in first out */
	int npushback;
	int started;  /* the byte order mark check is done */
	int io_errno; /* set when the stream failed */

	int max_fields;
	size_t max_record;

	char *rec; /* the fields, each NUL-terminated, back to back */
	size_t rec_len, rec_cap;
	size_t *start, *flen;
	int nfields;

	long line;     /* the line the next byte is on */
	long rec_line; /* the line the current record started on */
};

static struct cl_csv *
csv_new(int max_fields, size_t max_record)
{
	struct cl_csv *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->max_fields = max_fields > 0 ? max_fields : CL_CSV_MAX_FIELDS;
	r->max_record = max_record > 0 ? max_record : CL_CSV_MAX_RECORD;
	r->line = 1;
	r->rec_cap = r->max_record < REC_INITIAL ? r->max_record : REC_INITIAL;
	r->rec = malloc(r->rec_cap);
	r->start = calloc((size_t)r->max_fields, sizeof(*r->start));
	r->flen = calloc((size_t)r->max_fields, sizeof(*r->flen));
	if (r->rec == NULL || r->start == NULL || r->flen == NULL) {
		cl_csv_free(r);
		return NULL;
	}
	return r;
}

struct cl_csv *
cl_csv_new_file(FILE *f, int max_fields, size_t max_record)
{
	struct cl_csv *r = csv_new(max_fields, max_record);

	if (r != NULL)
		r->f = f;
	return r;
}

struct cl_csv *
cl_csv_new_buffer(const char *buf, size_t len, int max_fields, size_t max_record)
{
	struct cl_csv *r = csv_new(max_fields, max_record);

	if (r != NULL) {
		r->buf = (const unsigned char *)buf;
		r->len = len;
	}
	return r;
}

void
cl_csv_free(struct cl_csv *r)
{
	if (r == NULL)
		return;
	free(r->rec);
	free(r->start);
	free(r->flen);
	free(r);
}

static int
raw_getc(struct cl_csv *r)
{
	int c;

	if (r->npushback > 0)
		return r->pushback[--r->npushback];
	if (r->f == NULL)
		return r->pos < r->len ? r->buf[r->pos++] : EOF;
	c = getc_unlocked(r->f);
	if (c == EOF && ferror(r->f) && r->io_errno == 0)
		r->io_errno = errno ? errno : EIO;
	return c;
}

/*
 * The next byte, with line ends folded: LF, CRLF and a lone CR all come back as
 * '\n' and count one line. Inside quotes a CRLF is thereby kept as LF, which is
 * what a multi-line note means whichever system wrote the file.
 */
static int
next_byte(struct cl_csv *r)
{
	int c = raw_getc(r);

	if (c == '\r') {
		int d = raw_getc(r);
		if (d != '\n' && d != EOF)
			r->pushback[r->npushback++] = d;
		c = '\n';
	}
	if (c == '\n')
		r->line++;
	return c;
}

static void
skip_bom(struct cl_csv *r)
{
	static const int bom[3] = {0xef, 0xbb, 0xbf};
	int c[3], n;

	r->started = 1;
	for (n = 0; n < 3; n++) {
		c[n] = raw_getc(r);
		if (c[n] != bom[n]) {
			n++;
			break;
		}
	}
	if (n == 3 && c[2] == bom[2])
		return;
	/* Not a byte order mark: give back what was read, the first byte last in. */
	while (n-- > 0)
		if (c[n] != EOF)
			r->pushback[r->npushback++] = c[n];
}

enum state { FIELD_START, UNQUOTED, QUOTED, AFTER_QUOTE };

static void
set_bad(int *bad, char *err, const char *msg)
{
	if (*bad)
		return;
	*bad = 1;
	snprintf(err, CL_ERR_LEN, "%s", msg);
}

/* Appends byte c (NUL ends a field) unless the record is already bad; a record past max_record is bad. */
static void
put_byte(struct cl_csv *r, int c, int *bad, char *err)
{
	if (*bad)
		return;
	if (r->rec_len >= r->max_record) {
		char msg[64];
		snprintf(msg, sizeof(msg), "record longer than %zu bytes", r->max_record);
		set_bad(bad, err, msg);
		return;
	}
	if (r->rec_len >= r->rec_cap) {
		size_t cap = r->rec_cap * 2 > r->max_record ? r->max_record : r->rec_cap * 2;
		char *p = realloc(r->rec, cap);
		if (p == NULL) {
			set_bad(bad, err, "out of memory");
			return;
		}
		r->rec = p;
		r->rec_cap = cap;
	}
	r->rec[r->rec_len++] = (char)c;
}

static void
begin_field(struct cl_csv *r, int *bad, char *err)
{
	if (*bad)
		return;
	if (r->nfields == r->max_fields) {
		char msg[64];
		snprintf(msg, sizeof(msg), "more than %d fields", r->max_fields);
		set_bad(bad, err, msg);
		return;
	}
	r->start[r->nfields++] = r->rec_len;
}

static void
end_field(struct cl_csv *r, int *bad, char *err)
{
	if (*bad)
		return;
	r->flen[r->nfields - 1] = r->rec_len - r->start[r->nfields - 1];
	put_byte(r, '\0', bad, err);
}

enum cl_csv_status
cl_csv_next(struct cl_csv *r, char *err)
{
	enum state st = FIELD_START;
	int c, bad = 0;

	if (!r->started)
		skip_bom(r);
	r->nfields = 0;
	r->rec_len = 0;
	do {
		c = next_byte(r);
	} while (c == '\n');
	r->rec_line = r->line;
	if (c == EOF)
		goto eof;
	begin_field(r, &bad, err);
	for (;; c = next_byte(r)) {
		if (c == 0) {
			set_bad(&bad, err, "NUL byte in the record");
			continue;
		}
		switch (st) {
		case FIELD_START:
			if (c == '"') {
				st = QUOTED;
				continue;
			}
			st = UNQUOTED;
			/* fall through */
		case UNQUOTED:
			if (c == ',' || c == '\n' || c == EOF)
				break;
			if (c == '"')
				set_bad(&bad, err, "a quote inside an unquoted field (quote the whole field)");
			put_byte(r, c, &bad, err);
			continue;
		case QUOTED:
			if (c == EOF) {
				set_bad(&bad, err, "unterminated quoted field");
				break;
			}
			if (c == '"') {
				st = AFTER_QUOTE;
				continue;
			}
			put_byte(r, c, &bad, err);
			continue;
		case AFTER_QUOTE:
			if (c == '"') {
				st = QUOTED;
				put_byte(r, c, &bad, err);
				continue;
			}
			if (c == ',' || c == '\n' || c == EOF)
				break;
			set_bad(&bad, err, "text after a closing quote");
			st = UNQUOTED;
			continue;
		}
		/* Here c ends a field: ',', end of line or end of input. */
		end_field(r, &bad, err);
		if (c != ',')
			break;
		begin_field(r, &bad, err);
		st = FIELD_START;
	}
	if (r->io_errno)
		goto eof;
	if (bad) {
		r->nfields = 0;
		return CL_CSV_BAD;
	}
	return CL_CSV_RECORD;
eof:
	r->nfields = 0;
	if (r->io_errno) {
		snprintf(err, CL_ERR_LEN, "read error: %s", strerror(r->io_errno));
		return CL_CSV_IO;
	}
	return CL_CSV_EOF;
}

int
cl_csv_nfields(const struct cl_csv *r)
{
	return r->nfields;
}

const char *
cl_csv_field(const struct cl_csv *r, int i)
{
	return i >= 0 && i < r->nfields ? r->rec + r->start[i] : NULL;
}

size_t
cl_csv_field_len(const struct cl_csv *r, int i)
{
	return i >= 0 && i < r->nfields ? r->flen[i] : 0;
}

long
cl_csv_line(const struct cl_csv *r)
{
	return r->rec_line;
}

static void
out_add(struct cl_csv_out *o, const char *s, size_t n)
{
	if (o->failed)
		return;
	if (o->len + n + 1 > o->cap) {
		size_t cap = o->cap ? o->cap : 4096;
		char *p;
		while (cap < o->len + n + 1)
			cap *= 2;
		if ((p = realloc(o->p, cap)) == NULL) {
			o->failed = 1;
			return;
		}
		o->p = p;
		o->cap = cap;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = '\0';
}

void
cl_csv_put(struct cl_csv_out *o, const char *s)
{
	if (o->fields++ > 0)
		out_add(o, ",", 1);
	if (strpbrk(s, ",\"\r\n") == NULL) {
		out_add(o, s, strlen(s));
		return;
	}
	out_add(o, "\"", 1);
	for (const char *p = s; *p; p++) {
		if (*p == '"')
			out_add(o, "\"\"", 2);
		else
			out_add(o, p, 1);
	}
	out_add(o, "\"", 1);
}

void
cl_csv_put_int(struct cl_csv_out *o, long long v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%lld", v);
	cl_csv_put(o, buf);
}

void
cl_csv_end(struct cl_csv_out *o)
{
	out_add(o, "\r\n", 2);
	o->fields = 0;
}
