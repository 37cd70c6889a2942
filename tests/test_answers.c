/* test_answers.c : answer-slot ordering: slots answered out of order are
 * written in reading order, a held slot holds back the ones after it, long
 * answers, failed answers, the pending counts, and the spare. */
#include <stdlib.h>
#include <string.h>

#include "callogd/answers.h"
#include "testutil.h"

static char out[4096];

static void
collect(void *arg, const char *line, size_t len)
{
	(void)arg;
	strncat(out, line, len);
}

static size_t
flush(struct cl_answers *q)
{
	out[0] = '\0';
	return cl_answers_write(q, collect, NULL);
}

int
main(void)
{
	struct cl_answers q, r;
	struct cl_answer *a, *b, *c, *d;
	size_t total = 0;
	char big[300];

	CHECK_INT(cl_answers_init(&q, &total), 0);
	CHECK(cl_answers_ready(&q));

	/* Answered last to first: nothing goes until the first is known, then all, in order. */
	a = cl_answers_add(&q);
	b = cl_answers_add(&q);
	c = cl_answers_add(&q);
	CHECK_INT(q.pending, 3);
	CHECK_INT(total, 3);
	cl_answer_text(c, "c\n", 2);
	cl_answer_text(b, "b\n", 2);
	CHECK_INT(flush(&q), 0);
	CHECK_STR(out, "");
	CHECK_INT(q.pending, 1);
	CHECK_INT(q.slots, 3);
	cl_answer_text(a, "a\n", 2);
	CHECK_INT(flush(&q), 3);
	CHECK_STR(out, "a\nb\nc\n");
	CHECK_INT(q.slots, 0);
	CHECK_INT(total, 0);
	CHECK(q.head == NULL && q.tail == NULL);

	/* A held slot (its pops not out yet) holds back the answers after it, answered or not. */
	a = cl_answers_add(&q);
	b = cl_answers_add(&q);
	cl_answer_text(a, "1\n", 2);
	a->held = 1;
	cl_answer_text(b, "2\n", 2);
	CHECK_INT(flush(&q), 0);
	a->held = 0;
	CHECK_INT(flush(&q), 2);
	CHECK_STR(out, "1\n2\n");

	/* A prefix goes while a later slot still waits; slots added meanwhile queue behind it. */
	a = cl_answers_add(&q);
	b = cl_answers_add(&q);
	cl_answer_text(a, "x\n", 2);
	CHECK_INT(flush(&q), 1);
	CHECK_STR(out, "x\n");
	c = cl_answers_add(&q);
	cl_answer_text(c, "z\n", 2);
	CHECK_INT(flush(&q), 0);
	cl_answer_text(b, "y\n", 2);
	CHECK_INT(flush(&q), 2);
	CHECK_STR(out, "y\nz\n");

	/* Long answers are copied whole; a taken line is written as it is; a failed one becomes an error. */
	memset(big, 'L', sizeof(big) - 2);
	big[sizeof(big) - 2] = '\n';
	big[sizeof(big) - 1] = '\0';
	a = cl_answers_add(&q);
	b = cl_answers_add(&q);
	c = cl_answers_add(&q);
	cl_answer_text(a, big, strlen(big));
	cl_answer_take(b, strdup("taken\n"));
	cl_answer_take(c, NULL);
	CHECK_INT(flush(&q), 3);
	CHECK(strncmp(out, big, strlen(big)) == 0);
	CHECK_STR(out + strlen(big), "taken\n{\"error\":\"storage\",\"id\":null,\"message\":\"out of memory\"}\n");

	/* Two queues share the total; each keeps its own order. */
	CHECK_INT(cl_answers_init(&r, &total), 0);
	a = cl_answers_add(&q);
	c = cl_answers_add(&r);
	d = cl_answers_add(&r);
	CHECK_INT(total, 3);
	cl_answer_text(d, "r2\n", 3);
	cl_answer_text(a, "q1\n", 3);
	CHECK_INT(flush(&r), 0);
	CHECK_INT(flush(&q), 1);
	CHECK_STR(out, "q1\n");
	cl_answer_text(c, "r1\n", 3);
	CHECK_INT(flush(&r), 2);
	CHECK_STR(out, "r1\nr2\n");
	CHECK_INT(total, 0);

	/* The spare: used when memory runs out, and while it is gone no more lines are read. */
	struct cl_answer *spare = q.spare;
	q.spare = NULL; /* as if cl_answers_add() had to take it */
	CHECK(!cl_answers_ready(&q));
	a = cl_answers_add(&q);
	cl_answer_text(a, "s\n", 2);
	CHECK_INT(cl_answers_write(&q, NULL, NULL), 1); /* dropped unwritten (a closed client) */
	CHECK(cl_answers_ready(&q));                    /* the written slot became the spare */
	free(spare);

	cl_answers_clear(&q);
	cl_answers_clear(&r);
	TEST_DONE();
}
