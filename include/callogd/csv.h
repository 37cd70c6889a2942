/* csv.h : an RFC 4180 CSV record reader over a FILE * or a memory buffer (pure). */
#ifndef CALLOGD_CSV_H
#define CALLOGD_CSV_H

#include <stddef.h>
#include <stdio.h>

#define CL_CSV_MAX_FIELDS 64          /* default bound on fields per record */
#define CL_CSV_MAX_RECORD (64 * 1024) /* default bound on a record's bytes, quotes and separators included */

/*
 * What the reader accepts: fields separated by ',', records ended by LF, CRLF or
 * a lone CR; a field in double quotes may hold ',', CR, LF and "" (one quote).
 * A UTF-8 byte order mark at the very start is skipped (spreadsheets write one).
 * Empty lines between records are skipped. A record's last line may lack its
 * end of line. A NUL byte, a quote inside an unquoted field, text after a
 * closing quote and an unterminated quote make the record bad. Field bytes are
 * otherwise returned as they are (the caller checks UTF-8).
 */
struct cl_csv;

enum cl_csv_status {
	CL_CSV_EOF = 0,    /* no more records */
	CL_CSV_RECORD = 1, /* a record was read */
	CL_CSV_BAD = 2,    /* the record is malformed (err says why); it was skipped, reading may go on */
	CL_CSV_IO = 3,     /* the stream failed (err says why); stop */
};

/*
 * cl_csv_new_file() / cl_csv_new_buffer() : a reader of f (not closed by the
 * reader) or of len bytes at buf (not copied: it must outlive the reader). A
 * record with more than max_fields fields or more than max_record bytes is
 * CL_CSV_BAD; 0 means the defaults above. NULL on out of memory.
 */
struct cl_csv *cl_csv_new_file(FILE *f, int max_fields, size_t max_record);
struct cl_csv *cl_csv_new_buffer(const char *buf, size_t len, int max_fields, size_t max_record);
/* cl_csv_free() : accepts NULL. */
void cl_csv_free(struct cl_csv *r);

/*
 * cl_csv_next() : reads the next record. On CL_CSV_BAD the reader has skipped
 * to the end of the bad record (quotes still pair up across lines), so the next
 * call reads the record after it; an unterminated quote runs to the end of the
 * input. err (CL_ERR_LEN bytes) is filled on CL_CSV_BAD and CL_CSV_IO.
 */
enum cl_csv_status cl_csv_next(struct cl_csv *r, char *err);

/* The current record: valid until the next cl_csv_next(). Fields are NUL-terminated. */
int cl_csv_nfields(const struct cl_csv *r);
const char *cl_csv_field(const struct cl_csv *r, int i);
/* The length of field i in bytes. */
size_t cl_csv_field_len(const struct cl_csv *r, int i);
/* The 1-based line where the last record (read or bad) started. */
long cl_csv_line(const struct cl_csv *r);

/*
 * Writing: a growing buffer of RFC 4180 records (CRLF line ends; a field is
 * quoted when it holds ',', '"', CR or LF). On out of memory it stops growing
 * and sets failed; check it once at the end. p is malloc'd and NUL-terminated
 * (or NULL when nothing was written): the caller frees it.
 */
struct cl_csv_out {
	char *p;
	size_t len, cap;
	int failed;
	int fields; /* in the current record */
};

void cl_csv_put(struct cl_csv_out *o, const char *field);
/* cl_csv_put_int() : an integer field. */
void cl_csv_put_int(struct cl_csv_out *o, long long v);
/* cl_csv_end() : ends the current record. */
void cl_csv_end(struct cl_csv_out *o);

#endif
