/* answers.h : one client's ordered answers. Every line read gets a slot at once;
 * slots are answered in any order (a commit, a refusal, a duplicate verdict) and
 * written strictly in the order their lines came. Pure: no sockets, no clock.
 *
 *   struct cl_answers q;  cl_answers_init(&q, &total);
 *   struct cl_answer *a = cl_answers_add(&q);   // a line was read
 *   ...later, maybe after a later slot...      cl_answer_text(a, "{\"ack\":...}\n", n);
 *   cl_answers_write(&q, write_fn, conn);       // writes the answered prefix, frees it
 *
 * Out of memory: each queue keeps one slot made in advance (the spare), so the
 * line being read still gets an answer, and an answer that cannot be copied
 * becomes a storage error that fits the slot. While the spare is used up
 * cl_answers_ready() is 0: read no more lines until a written slot replaces it.
 */
#ifndef CALLOGD_ANSWERS_H
#define CALLOGD_ANSWERS_H

#include <stddef.h>

#define CL_ANSWER_SHORT 64 /* most acks fit the slot: no allocation for them */

struct cl_answers;

struct cl_answer {
	struct cl_answer *next;
	struct cl_answers *q;
	char *line; /* the answer with its newline, once known: short_line or malloc'd */
	size_t len;
	int held;    /* the caller holds it back (e.g. until its pops went out): set, then cl_answer_release() */
	int checked; /* free for the caller's use (ingest: the id went through the duplicate check) */
	char short_line[CL_ANSWER_SHORT];
};

struct cl_answers {
	struct cl_answer *head, *tail;
	struct cl_answer *spare;
	size_t pending;        /* slots without an answer yet */
	size_t slots;          /* slots not yet written */
	size_t *pending_total; /* a count shared by several queues, or NULL */
};

/* cl_answers_init() : an empty queue with its spare; -1 on out of memory. */
int cl_answers_init(struct cl_answers *q, size_t *pending_total);
/* cl_answers_add() : a slot at the end (the spare when memory ran out); NULL when there is none. */
struct cl_answer *cl_answers_add(struct cl_answers *q);
/* cl_answers_ready() : may another line be read (is an answer sure for it)? */
int cl_answers_ready(const struct cl_answers *q);
/* cl_answer_text() : a's answer is text (len bytes, copied); text NULL or no memory: a storage error. */
void cl_answer_text(struct cl_answer *a, const char *text, size_t len);
/* cl_answer_take() : a's answer is line (malloc'd, taken), or NULL when it could not be made. */
void cl_answer_take(struct cl_answer *a, char *line);
/*
 * cl_answers_write() : hands the answered, unheld prefix to write (NULL: drops
 * it) and frees those slots; the number of slots written.
 */
size_t cl_answers_write(struct cl_answers *q, void (*write)(void *arg, const char *line, size_t len), void *arg);
/* cl_answers_clear() : frees q's spare; every slot must have been written. */
void cl_answers_clear(struct cl_answers *q);

#endif
