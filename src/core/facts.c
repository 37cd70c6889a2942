/* facts.c : owns what reports need from a call's events beyond its record:
 * each agent's part (rang, answered, talk and hold within its part), whether
 * it was transferred, and its wrap (pure). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callogd/report.h"

static int
ev_cmp(const void *pa, const void *pb)
{
	const struct cl_event *a = *(const struct cl_event *const *)pa;
	const struct cl_event *b = *(const struct cl_event *const *)pb;

	if (a->ts != b->ts)
		return a->ts < b->ts ? -1 : 1;
	if (a->seq != b->seq)
		return a->seq < b->seq ? -1 : 1;
	return 0;
}

/* The leg of agent, made on first use; NULL when the agent is absent or the call has too many. */
static struct cl_call_leg *
leg_of(struct cl_call_facts *f, const char *agent)
{
	if (agent == NULL || agent[0] == '\0')
		return NULL;
	for (int i = 0; i < f->n_legs; i++)
		if (strcmp(f->legs[i].agent, agent) == 0)
			return &f->legs[i];
	if (f->n_legs == CL_FACTS_MAX_LEGS)
		return NULL;
	struct cl_call_leg *l = &f->legs[f->n_legs++];
	memset(l, 0, sizeof(*l));
	strncpy(l->agent, agent, sizeof(l->agent) - 1);
	return l;
}

/*
 * The sweep: at most one agent has the call at a time (cur). Time between two
 * events goes to cur's running part, as hold while the call is held, else as
 * talk; the part is added to the leg when it closes.
 */
struct sweep {
	struct cl_call_leg *cur;
	int64_t last, talk, hold;
	int held;
};

static void
advance(struct sweep *s, int64_t t)
{
	if (s->cur != NULL && t > s->last) {
		if (s->held)
			s->hold += t - s->last;
		else
			s->talk += t - s->last;
	}
	if (t > s->last)
		s->last = t;
}

static void
close_part(struct sweep *s)
{
	if (s->cur != NULL) {
		s->cur->talk_ms += s->talk;
		s->cur->hold_ms += s->hold;
	}
	s->cur = NULL;
	s->talk = s->hold = 0;
}

int
cl_call_facts(const struct cl_event *const *evs, size_t n, struct cl_call_facts *out)
{
	const struct cl_event **v;
	struct sweep s = {0};
	struct cl_call_leg *l;
	int64_t first_disp = 0;

	memset(out, 0, sizeof(*out));
	if (n == 0)
		return 0;
	if ((v = malloc(n * sizeof(*v))) == NULL)
		return -1;
	memcpy(v, evs, n * sizeof(*v));
	qsort(v, n, sizeof(*v), ev_cmp);
	for (size_t i = 0; i < n; i++)
		if (v[i]->type == CL_EV_ENDED && (out->ended_at == 0 || v[i]->ts < out->ended_at))
			out->ended_at = v[i]->ts;

	for (size_t i = 0; i < n; i++) {
		const struct cl_event *e = v[i];
		/* Nothing happens to a call after its end but rings reported late and the wrap-up. */
		int after_end = out->ended_at != 0 && e->ts > out->ended_at;

		switch (e->type) {
		case CL_EV_RINGING:
			if ((l = leg_of(out, e->agent)) != NULL)
				l->rang = 1;
			break;
		case CL_EV_ANSWERED:
			if ((l = leg_of(out, e->agent)) != NULL)
				l->rang = l->answered = 1;
			if (after_end || l == NULL || l == s.cur)
				break;
			advance(&s, e->ts);
			close_part(&s);
			s.cur = l;
			break;
		case CL_EV_TRANSFERRED:
			out->transferred = 1;
			if ((l = leg_of(out, e->to_agent)) != NULL)
				l->rang = 1;
			if (after_end)
				break;
			/* The part that ends is the transferring agent's, or the one running when none is named. */
			l = e->agent != NULL ? leg_of(out, e->agent) : s.cur;
			if (l != NULL && l == s.cur) {
				advance(&s, e->ts);
				close_part(&s);
			}
			break;
		case CL_EV_HELD:
		case CL_EV_RESUMED:
			if (after_end)
				break;
			advance(&s, e->ts);
			s.held = e->type == CL_EV_HELD;
			break;
		case CL_EV_ENDED:
			if (e->ts == out->ended_at && s.cur != NULL) {
				advance(&s, e->ts);
				close_part(&s);
			}
			break;
		case CL_EV_DISPOSITION:
			if (out->ended_at != 0 && e->ts >= out->ended_at && first_disp == 0)
				first_disp = e->ts;
			break;
		default:
			break;
		}
	}
	/* A part still running is not counted: the call has not ended. */
	if (first_disp != 0)
		out->wrap_ms = first_disp - out->ended_at;
	free(v);
	return 0;
}

int
cl_event_is_mark(int type)
{
	switch (type) {
	case CL_EV_RINGING:
	case CL_EV_ANSWERED:
	case CL_EV_HELD:
	case CL_EV_RESUMED:
	case CL_EV_TRANSFERRED:
	case CL_EV_ENDED:
	case CL_EV_DISPOSITION:
		return 1;
	default:
		return 0;
	}
}

struct cl_marks *
cl_marks_new(void)
{
	return calloc(1, sizeof(struct cl_marks));
}

void
cl_marks_reset(struct cl_marks *m)
{
	m->n = 0;
}

static const char *
keep(char *dst, const char *src)
{
	if (src == NULL)
		return NULL;
	snprintf(dst, CL_ID_MAX + 1, "%s", src);
	return dst;
}

int
cl_marks_add(struct cl_marks *m, const struct cl_event *ev)
{
	struct cl_event *e;

	if (m->n == CL_MARKS_MAX)
		return 1;
	e = &m->ev[m->n];
	memset(e, 0, sizeof(*e));
	e->type = ev->type;
	e->ts = ev->ts;
	e->seq = ev->seq;
	e->agent = keep(m->names[m->n][0], ev->agent);
	e->to_agent = keep(m->names[m->n][1], ev->to_agent);
	m->ptr[m->n] = e;
	m->n++;
	return 0;
}

int
cl_marks_facts(const struct cl_marks *m, struct cl_call_facts *out)
{
	return cl_call_facts(m->ptr, (size_t)m->n, out);
}

int
cl_event_type_parse(const char *name)
{
	for (int t = 0; t < CL_EV__COUNT; t++)
		if (name != NULL && strcmp(name, cl_event_type_name((enum cl_event_type)t)) == 0)
			return t;
	return -1;
}
