/* jsonscan.h : a strict, bounded JSON validator that reports an object's members as spans of the text (pure). */
#ifndef CALLOGD_JSONSCAN_H
#define CALLOGD_JSONSCAN_H

#include <stddef.h>

/*
 * What jansson's json_loadb(JSON_REJECT_DUPLICATES | JSON_DECODE_ANY) accepts,
 * without building a tree: RFC 8259 JSON text in UTF-8, no NUL (raw or \u0000),
 * no duplicate keys in any object (keys compared after unescaping), integers
 * within int64, reals that do not overflow a double, values nested at most
 * CL_JSON_MAX_DEPTH deep (jansson's own limit, counted the way it counts).
 */
#define CL_JSON_MAX_DEPTH 2048

enum cl_json_type {
	CL_JSON_OBJECT,
	CL_JSON_ARRAY,
	CL_JSON_STRING,
	CL_JSON_NUMBER,
	CL_JSON_TRUE,
	CL_JSON_FALSE,
	CL_JSON_NULL,
};

/*
 * A value or key inside the scanned text. For a string, p..p+len is what lies
 * between the quotes (still escaped; escaped says whether any backslash is in
 * it); for anything else it is the value's whole text.
 */
struct cl_json_span {
	const char *p;
	size_t len;
	enum cl_json_type type;
	int escaped;
};

/* Called for each member of the top-level object, in order; key->type is CL_JSON_STRING. */
typedef void (*cl_json_member_fn)(void *arg, const struct cl_json_span *key, const struct cl_json_span *val);

/*
 * cl_json_scan() : validates text (len bytes) as one JSON value. Returns 0 and
 * sets *top to its type, or -1 with *err_pos (byte offset) and *err_what (a
 * static string). on_member may be NULL; when it is not, it sees the members of
 * a top-level object even if the text later turns out invalid (the caller must
 * ignore them then). Allocates only for objects of many keys.
 */
int cl_json_scan(const char *text, size_t len, enum cl_json_type *top, cl_json_member_fn on_member, void *arg,
                 size_t *err_pos, const char **err_what);

/*
 * cl_json_unescape() : decodes the contents of a string that cl_json_scan()
 * accepted (a span's p and len). Writes at most cap bytes to out (no NUL added)
 * and returns the whole decoded length, which is never more than len.
 */
size_t cl_json_unescape(const char *s, size_t len, char *out, size_t cap);

#endif
