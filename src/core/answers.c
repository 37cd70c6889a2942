/* answers.c : owns a client's answer slots: made in reading order, answered in
 * any order, written in reading order. */
#include <stdlib.h>
#include <string.h>

#include "callogd/answers.h"
#include "callogd/util.h"

int
cl_answers_init(struct cl_answers *q, size_t *pending_total)
{
	memset(q, 0, sizeof(*q));
	q->pending_total = pending_total;
	return (q->spare = calloc(1, sizeof(*q->spare))) == NULL ? -1 : 0;
}

struct cl_answer *
cl_answers_add(struct cl_answers *q)
{
	struct cl_answer *a = calloc(1, sizeof(*a));

	if (a == NULL && (a = q->spare) != NULL)
		q->spare = NULL; /* out of memory: this line's answer uses the spare */
	if (a == NULL)
		return NULL;
	a->q = q;
	if (q->tail)
		q->tail->next = a;
	else
		q->head = a;
	q->tail = a;
	q->slots++;
	q->pending++;
	if (q->pending_total)
		(*q->pending_total)++;
	return a;
}

int
cl_answers_ready(const struct cl_answers *q)
{
	return q->spare != NULL;
}

static void
settle(struct cl_answer *a, char *line, size_t len)
{
	a->line = line;
	a->len = len;
	a->q->pending--;
	if (a->q->pending_total)
		(*a->q->pending_total)--;
}

void
cl_answer_text(struct cl_answer *a, const char *text, size_t len)
{
	static const char oom[] = "{\"error\":\"storage\",\"id\":null,\"message\":\"out of memory\"}\n";
	char *line = NULL;

	_Static_assert(sizeof(oom) <= CL_ANSWER_SHORT, "the out-of-memory answer fits a slot");
	if (text != NULL && len >= sizeof(a->short_line) && (line = cl_strndup(text, len)) != NULL) {
		settle(a, line, len);
		return;
	}
	if (text == NULL || len >= sizeof(a->short_line)) {
		text = oom;
		len = sizeof(oom) - 1;
	}
	memcpy(a->short_line, text, len);
	a->short_line[len] = '\0';
	settle(a, a->short_line, len);
}

void
cl_answer_take(struct cl_answer *a, char *line)
{
	if (line == NULL)
		cl_answer_text(a, NULL, 0);
	else
		settle(a, line, strlen(line));
}

/* A written slot becomes the queue's spare when that was used up (see cl_answers_add). */
static void
slot_free(struct cl_answers *q, struct cl_answer *a)
{
	if (a->line != a->short_line)
		free(a->line);
	if (q->spare == NULL) {
		memset(a, 0, sizeof(*a));
		q->spare = a;
		return;
	}
	free(a);
}

size_t
cl_answers_write(struct cl_answers *q, void (*write)(void *arg, const char *line, size_t len), void *arg)
{
	struct cl_answer *a;
	size_t n = 0;

	while ((a = q->head) != NULL && a->line != NULL && !a->held) {
		q->head = a->next;
		if (write)
			write(arg, a->line, a->len);
		slot_free(q, a);
		q->slots--;
		n++;
	}
	if (q->head == NULL)
		q->tail = NULL;
	return n;
}

void
cl_answers_clear(struct cl_answers *q)
{
	free(q->spare);
	q->spare = NULL;
}
