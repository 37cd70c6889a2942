/* jsonptr.h : JSON Pointers (RFC 6901) over jansson values (pure; jansson has
 * none): a syntax check for the settings, and a resolver. */
#ifndef CALLOGD_JSONPTR_H
#define CALLOGD_JSONPTR_H

#include <jansson.h>

#include "callogd/util.h"

#define CL_JSONPTR_MAX 256 /* bytes of a pointer the settings accept */

/*
 * cl_jsonptr_check() : 0 when ptr is a valid pointer ("" is the whole
 * document; else "/" then tokens separated by "/", where "~" is only in
 * "~0" and "~1"), at most CL_JSONPTR_MAX bytes; else -1 with err filled.
 */
int cl_jsonptr_check(const char *ptr, char *err);

/*
 * cl_jsonptr_get() : the value ptr points at in root (a borrowed reference),
 * or NULL when there is none or ptr is not valid. An array index is "0" or
 * digits not starting with 0; "-" (past the end) points at nothing.
 */
json_t *cl_jsonptr_get(json_t *root, const char *ptr);

#endif
