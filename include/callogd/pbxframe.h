/* pbxframe.h : what the PBX translators share (pure): one bounded framer for AMI
 * blocks and ESL messages, a frame's headers, and the §3 event lines they write. */
#ifndef CALLOGD_PBXFRAME_H
#define CALLOGD_PBXFRAME_H

#include <stddef.h>
#include <stdint.h>

#include "callogd/event.h"

/* Headers kept per frame; more are counted in dropped, not kept (a FreeSWITCH
 * CHANNEL_HANGUP_COMPLETE carries some 300). */
#define CL_PBX_MAX_HEADERS 512

enum cl_pbx_proto { CL_PBX_AMI, CL_PBX_ESL };

struct cl_pbx_header {
	const char *key, *val; /* NUL-terminated, trimmed */
};

/*
 * One frame: an AMI block, or an ESL message's header block (its body apart).
 * Strings point into the framer's buffers: valid until the framer is fed or
 * asked for the next frame.
 */
struct cl_pbx_frame {
	int n;       /* headers kept */
	int dropped; /* headers past CL_PBX_MAX_HEADERS */
	int bad;     /* lines without "Key: " (skipped) */
	int banner;  /* AMI: the greeting line, as header "Banner" */
	struct cl_pbx_header h[CL_PBX_MAX_HEADERS];
	char *body; /* ESL: the Content-Length bytes, NUL-terminated; NULL when none */
	size_t body_len;
};

struct cl_pbx_framer;

/* cl_pbx_framer_new() : a framer whose frames (an AMI block; an ESL header block, and its body) are at most max bytes
 * each. */
struct cl_pbx_framer *cl_pbx_framer_new(enum cl_pbx_proto proto, size_t max);
void cl_pbx_framer_free(struct cl_pbx_framer *f);
/* cl_pbx_framer_reset() : forgets what is buffered (a new connection: AMI expects its banner again). */
void cl_pbx_framer_reset(struct cl_pbx_framer *f);
/*
 * cl_pbx_framer_feed() : copies up to len bytes in and returns how many it took.
 * It takes fewer only when its buffer is full: read frames, then feed the rest.
 */
size_t cl_pbx_framer_feed(struct cl_pbx_framer *f, const void *data, size_t len);
/*
 * cl_pbx_framer_next() : 1 with fr filled when a whole frame is buffered, 0 when
 * not yet, -1 with err (CL_ERR_LEN) when the frame passes the bound or cannot be
 * framed (a bad Content-Length): the connection cannot be resynchronised.
 */
int cl_pbx_framer_next(struct cl_pbx_framer *f, struct cl_pbx_frame *fr, char *err);

/*
 * cl_pbx_parse_headers() : splits text (len bytes, modified in place, text[len]
 * must be writable) into "Key: Value" headers up to the first blank line; with
 * urldecode the values are %XX-decoded (ESL plain events). Returns the bytes
 * used, blank line included.
 */
size_t cl_pbx_parse_headers(char *text, size_t len, int urldecode, struct cl_pbx_frame *fr);

/* cl_pbx_get() : the first header named key (case-sensitive), or NULL. */
const char *cl_pbx_get(const struct cl_pbx_frame *fr, const char *key);

/* What a translator counts, per link. */
struct cl_pbx_stats {
	uint64_t frames;     /* frames given to the translator */
	uint64_t events;     /* §3 lines produced */
	uint64_t unknown;    /* frames of a kind it does not translate, skipped */
	uint64_t malformed;  /* frames it could not read (a field missing or too long), skipped */
	uint64_t state_full; /* calls, channels or agents not tracked: a table was at its bound */
	uint64_t out_full;   /* lines that did not fit the output buffer, left out */
};

/* ---- §3 lines out ---- */

/* Lines are appended to one buffer, each ending in '\n'; at most max bytes in all. */
struct cl_pbx_out {
	char *buf;
	size_t len, cap, max;
	size_t lines;
	int full; /* a line did not fit (or memory ran out): it was left out */
};

void cl_pbx_out_init(struct cl_pbx_out *o, size_t max);
void cl_pbx_out_free(struct cl_pbx_out *o);
/* Empties it, keeping the allocation. */
void cl_pbx_out_clear(struct cl_pbx_out *o);

/*
 * An event line in the making. Values from the PBX go through str(): invalid
 * UTF-8 becomes '?', control characters are escaped, and the value is cut to max
 * bytes on a character boundary, so a translated line always validates.
 */
struct cl_pbx_line {
	char buf[8192];
	size_t len;
	int overflow;
};

/* cl_pbx_line_begin() : {"type":T,"id":ID[,"call_id":C][,"ts":..]; ts_ms 0 = none. */
void cl_pbx_line_begin(struct cl_pbx_line *l, const char *type, const char *id, const char *call_id, int64_t ts_ms);
void cl_pbx_line_str(struct cl_pbx_line *l, const char *key, const char *val, size_t max);
/* cl_pbx_line_raw() : a member whose value is JSON text already (an object). */
void cl_pbx_line_raw(struct cl_pbx_line *l, const char *key, const char *json);
/* cl_pbx_line_end() : closes it and appends it to o; 0, or -1 when it did not fit (o->full set). */
int cl_pbx_line_end(struct cl_pbx_line *l, struct cl_pbx_out *o);

/* cl_pbx_quote() : val as a JSON string (sanitised as above, at most max source bytes) into out; its length, or -1. */
int cl_pbx_quote(const char *val, size_t max, char *out, size_t outlen);

/*
 * cl_pbx_id() : joins prefix and parts with ':' into out (CL_ID_MAX + 1 bytes).
 * Longer than CL_ID_MAX, it becomes prefix ":h:" and the SHA-256 of the whole,
 * so it stays the same for the same parts. parts ends with NULL.
 */
void cl_pbx_id(char *out, const char *prefix, const char *const *parts);

/* cl_pbx_interface_agent() : "PJSIP/1001" -> "1001" (technology and a channel's
 * "-0000001a" or ";1" suffix removed) into out (size bytes); "" when none. */
void cl_pbx_interface_agent(const char *iface, char *out, size_t size);
/* cl_pbx_channel_interface() : "PJSIP/1001-0000001a" -> "PJSIP/1001" into out. */
void cl_pbx_channel_interface(const char *chan, char *out, size_t size);

/* cl_pbx_copy() : bounded strcpy; src NULL copies "". */
void cl_pbx_copy(char *dst, size_t size, const char *src);

#endif
