/* configlist.c : owns the settings' list values (dispositions.codes, a
 * webhook's events): distinct short strings, kept as one string, a line each. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libconfig.h>

#include "config_int.h"

int
cl_config_list(config_setting_t *s, const char *what, int max, char **out, char *msg, size_t mlen)
{
	int n = config_setting_length(s);
	size_t used = 0;
	char *joined;

	if ((config_setting_type(s) != CONFIG_TYPE_ARRAY && config_setting_type(s) != CONFIG_TYPE_LIST) || n < 1 ||
	    n > max) {
		snprintf(msg, mlen, "%s must be a list of 1 to %d strings", what, max);
		return -1;
	}
	if ((joined = malloc((size_t)n * 130)) == NULL) {
		snprintf(msg, mlen, "out of memory");
		return -1;
	}
	joined[0] = '\0';
	for (int i = 0; i < n; i++) {
		config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		const char *v = e && config_setting_type(e) == CONFIG_TYPE_STRING ? config_setting_get_string(e) : NULL;
		size_t len = v ? strlen(v) : 0;
		int bad = len == 0 || len > 128;
		for (size_t k = 0; !bad && k < len; k++)
			bad = (unsigned char)v[k] < 0x20 || v[k] == 0x7f;
		if (!bad && cl_config_has_code(joined, v))
			bad = 2;
		if (bad) {
			snprintf(msg, mlen, "%s: entry %d must be a %s", what, i + 1,
			         bad == 2 ? "code not listed before" : "string of 1 to 128 printable bytes");
			free(joined);
			return -1;
		}
		used += (size_t)sprintf(joined + used, "%s%s", i ? "\n" : "", v);
	}
	free(*out);
	*out = joined;
	return 0;
}

int
cl_config_has_code(const char *codes, const char *code)
{
	size_t n = strlen(code);

	for (const char *p = codes; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, code, n) == 0 && (p[n] == '\n' || p[n] == '\0'))
			return 1;
	return 0;
}
