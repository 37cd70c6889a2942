/* popmsg.c : owns the text of the messages agent consoles get: pops and call
 * state messages (docs/consoles.md), from the live-call model and a lookup (pure). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callogd/popmsg.h"
#include "callogd/util.h"

#define QUOTED_MAX (CL_ID_MAX * 6 + 3) /* the longest field, every byte escaped, quoted */

/* s as a JSON string into out, or null when NULL or empty. */
static const char *
str_or_null(const char *s, char *out)
{
	if (s == NULL || s[0] == '\0' || cl_json_quote(s, out, QUOTED_MAX) < 0)
		return "null";
	return out;
}

char *
cl_popmsg_head(const struct cl_live_call *c)
{
	char id[QUOTED_MAX], from[QUOTED_MAX], to[QUOTED_MAX], queue[QUOTED_MAX], *out;

	if (cl_json_quote(c->call_id, id, sizeof(id)) < 0 ||
	    asprintf(&out, "\"call_id\":%s,\"direction\":\"%s\",\"from\":%s,\"to\":%s,\"queue\":%s", id,
	             c->direction == CL_DIR_OUTBOUND ? "outbound" : "inbound", str_or_null(c->from, from),
	             str_or_null(c->to, to), str_or_null(c->queue, queue)) < 0)
		return NULL;
	return out;
}

char *
cl_popmsg_tail(const struct cl_live_call *c, const json_t *lookup)
{
	char *members = NULL, *out;
	size_t n;

	if (lookup != NULL) {
		if ((members = json_dumps(lookup, JSON_COMPACT | JSON_PRESERVE_ORDER)) == NULL)
			return NULL;
		n = strlen(members);
		if (n < 2 || members[0] != '{') {
			free(members);
			return NULL;
		}
		members[n - 1] = '\0'; /* the object's members: drop the braces */
	}
	if (asprintf(&out, "\"data\":%s,%s", c->data ? c->data : "null",
	             members && members[1] ? members + 1 : "\"customer\":null,\"matches\":0,\"history\":[]") < 0)
		out = NULL;
	free(members);
	return out;
}

char *
cl_popmsg_pop(const char *head, const char *agent, const char *tail)
{
	char aj[QUOTED_MAX], *out;

	if (cl_json_quote(agent, aj, sizeof(aj)) < 0 || asprintf(&out, "%s,\"agent\":%s,%s", head, aj, tail) < 0)
		return NULL;
	return out;
}

char *
cl_popmsg_call(const char *call_id, const struct cl_live_act *a)
{
	char id[QUOTED_MAX], agent[QUOTED_MAX], x1[QUOTED_MAX], x2[QUOTED_MAX], extra[2 * QUOTED_MAX + 32], *out;

	extra[0] = '\0';
	if (strcmp(a->state, "transferred") == 0)
		snprintf(extra, sizeof(extra), ",\"to_agent\":%s,\"to\":%s", str_or_null(a->to_agent, x1),
		         str_or_null(a->to_num, x2));
	else if (strcmp(a->state, "ended") == 0)
		snprintf(extra, sizeof(extra), ",\"reason\":%s", str_or_null(a->reason, x1));
	if (cl_json_quote(call_id, id, sizeof(id)) < 0 ||
	    asprintf(&out, "\"call_id\":%s,\"state\":\"%s\",\"agent\":%s%s", id, a->state, str_or_null(a->agent, agent),
	             extra) < 0)
		return NULL;
	return out;
}

char *
cl_popmsg_frame(const char *type, int64_t seq, const char *body, size_t *len)
{
	char *out;
	int n = asprintf(&out, "{\"type\":\"%s\",\"seq\":%lld,%s}", type, (long long)seq, body);

	if (n < 0)
		return NULL;
	*len = (size_t)n;
	return out;
}
