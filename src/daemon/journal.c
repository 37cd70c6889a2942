/* journal.c : owns the webhook journaling rules the writer applies to each
 * touched call (docs/crm.md); the delivery itself is outbox.c's. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "callogd/journal.h"
#include "callogd/sha256.h"

struct hook {
	char name[CL_PBX_NAME_MAX + 1];
	int events;
	int settle_seconds;
};

struct cl_journal {
	pthread_mutex_t mtx;
	struct hook hooks[CL_WEBHOOKS_MAX];
	int n;
};

struct cl_journal *
cl_journal_new(void)
{
	struct cl_journal *j = calloc(1, sizeof(*j));

	if (j != NULL)
		pthread_mutex_init(&j->mtx, NULL);
	return j;
}

void
cl_journal_free(struct cl_journal *j)
{
	if (j == NULL)
		return;
	pthread_mutex_destroy(&j->mtx);
	free(j);
}

void
cl_journal_set(struct cl_journal *j, const struct cl_webhook_cfg *hooks, int n)
{
	pthread_mutex_lock(&j->mtx);
	j->n = 0;
	for (int i = 0; i < n && i < CL_WEBHOOKS_MAX; i++) {
		struct hook *h = &j->hooks[j->n++];
		snprintf(h->name, sizeof(h->name), "%s", hooks[i].name);
		h->events = hooks[i].events;
		h->settle_seconds = hooks[i].settle_seconds;
	}
	pthread_mutex_unlock(&j->mtx);
}

/* The body's "id": the same for every revision of one webhook's event about one call (and after restarts). */
static void
body_id(const char *hook, const char *call_id, const char *type, char *out)
{
	char buf[CL_PBX_NAME_MAX + CL_ID_MAX + 32], hex[CL_SHA256_HEX];
	int n = snprintf(buf, sizeof(buf), "%s\n%s\n%s", hook, call_id, type);

	cl_sha256_hex(buf, (size_t)n, hex);
	snprintf(out, 25, "%.24s", hex); /* 96 bits: callogctl shows the ids whole */
}

static int
put(struct cl_store *st, const struct hook *h, const struct cl_call *c, const char *type, const char *text,
    int64_t now_ms, int64_t due_ms, char *err)
{
	char id[25];
	struct cl_outbox_put p = {.hook = h->name,
	                          .body_id = id,
	                          .call_id = c->call_id,
	                          .type = type,
	                          .call = text,
	                          .now_ms = now_ms,
	                          .due_ms = due_ms,
	                          .once = strcmp(type, "call.missed") == 0};

	body_id(h->name, c->call_id, type, id);
	return cl_store_outbox_put(st, &p, err);
}

int
cl_journal_call(struct cl_journal *j, struct cl_store *st, const struct cl_call *c, int64_t now_ms, char *err)
{
	struct hook hooks[CL_WEBHOOKS_MAX];
	enum cl_outcome o = cl_call_outcome(c);
	int n, changed = 0, rc = 0;
	char *text = NULL;
	json_t *rec;

	if (c->ended_at == 0)
		return 0;
	pthread_mutex_lock(&j->mtx);
	n = j->n;
	memcpy(hooks, j->hooks, (size_t)n * sizeof(hooks[0]));
	pthread_mutex_unlock(&j->mtx);
	if (n == 0)
		return 0;
	/* Durations are fixed once the call ended: the text is the same for the same record. */
	if ((rec = cl_call_to_json(c, c->ended_at)) == NULL || (text = json_dumps(rec, JSON_COMPACT)) == NULL) {
		json_decref(rec);
		snprintf(err, CL_ERR_LEN, "out of memory");
		return -1;
	}
	json_decref(rec);
	for (int i = 0; rc >= 0 && i < n; i++) {
		const struct hook *h = &hooks[i];
		if ((h->events & CL_HOOK_MISSED) && c->direction == CL_DIR_INBOUND &&
		    (o == CL_OUTCOME_ABANDONED || o == CL_OUTCOME_UNANSWERED))
			changed |= (rc = put(st, h, c, "call.missed", text, now_ms, now_ms, err)) > 0;
		if (rc >= 0 && (h->events & CL_HOOK_COMPLETED)) {
			int64_t due = c->disp_code[0] ? now_ms : c->ended_at + (int64_t)h->settle_seconds * 1000;
			changed |=
			    (rc = put(st, h, c, "call.completed", text, now_ms, due < now_ms ? now_ms : due, err)) > 0;
		}
	}
	free(text);
	return rc < 0 ? -1 : changed;
}
