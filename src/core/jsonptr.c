/* jsonptr.c : owns JSON Pointer (RFC 6901) checking and resolving. */
#include <stdio.h>
#include <string.h>

#include "callogd/jsonptr.h"

int
cl_jsonptr_check(const char *ptr, char *err)
{
	size_t n = strlen(ptr);

	if (n > CL_JSONPTR_MAX) {
		snprintf(err, CL_ERR_LEN, "a JSON pointer is at most %d bytes", CL_JSONPTR_MAX);
		return -1;
	}
	if (n > 0 && ptr[0] != '/') {
		snprintf(err, CL_ERR_LEN, "a JSON pointer is \"\" or starts with \"/\", not \"%.64s\"", ptr);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (ptr[i] == '~' && ptr[i + 1] != '0' && ptr[i + 1] != '1') {
			snprintf(err, CL_ERR_LEN, "JSON pointer \"%.64s\": \"~\" must be followed by 0 or 1", ptr);
			return -1;
		}
	return 0;
}

/* An array index token: "0" or digits not starting with 0, small enough for size_t; -1 when not. */
static int
array_index(const char *tok, size_t len, size_t *out)
{
	size_t v = 0;

	if (len == 0 || len > 9 || (len > 1 && tok[0] == '0'))
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (tok[i] < '0' || tok[i] > '9')
			return -1;
		v = v * 10 + (size_t)(tok[i] - '0');
	}
	*out = v;
	return 0;
}

json_t *
cl_jsonptr_get(json_t *root, const char *ptr)
{
	char tok[CL_JSONPTR_MAX + 1], err[CL_ERR_LEN];
	const char *p = ptr;
	json_t *cur = root;

	if (cl_jsonptr_check(ptr, err) < 0)
		return NULL;
	while (cur != NULL && *p == '/') {
		size_t len = 0, idx;
		for (p++; *p && *p != '/'; p++) {
			if (*p == '~') /* checked: ~0 or ~1 */
				tok[len++] = *++p == '0' ? '~' : '/';
			else
				tok[len++] = *p;
		}
		tok[len] = '\0';
		if (json_is_object(cur))
			cur = json_object_get(cur, tok);
		else if (json_is_array(cur) && array_index(tok, len, &idx) == 0)
			cur = json_array_get(cur, idx);
		else
			cur = NULL;
	}
	return cur;
}
