/* rows.c : owns what every storage backend writes and reads the same way: the
 * JSON of a call's agents and of a customer's phones, and the figures of a
 * report slot row. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "backend.h"
#include "callogd/slots.h"

void
cl_rows_phones(const char *text, struct cl_customer *c)
{
	json_t *a = json_loads(text, 0, NULL), *v;
	size_t i;

	c->nphones = 0;
	json_array_foreach (a, i, v) {
		const char *num = json_string_value(v);
		if (num != NULL && strlen(num) < CL_NUMBER_LEN && c->nphones < CL_CUSTOMER_MAX_PHONES)
			snprintf(c->phones[c->nphones++], CL_NUMBER_LEN, "%s", num);
	}
	json_decref(a);
}

void
cl_rows_agents(const char *text, struct cl_call *c)
{
	json_t *agents = json_loads(text, 0, NULL), *a;
	size_t i;

	/* The column is written by cl_rows_agents_json only; anything else reads as no agents. */
	json_array_foreach (agents, i, a) {
		if (c->n_agents < CL_CALL_MAX_AGENTS && json_is_string(a))
			snprintf(c->agents[c->n_agents++], sizeof(c->agents[0]), "%s", json_string_value(a));
	}
	json_decref(agents);
}

char *
cl_rows_agents_json(const struct cl_call *c)
{
	json_t *arr = json_array();
	char *aj = NULL;

	for (int i = 0; arr != NULL && i < c->n_agents; i++)
		if (json_array_append_new(arr, json_string(c->agents[i])) < 0)
			break;
	if (arr != NULL && json_array_size(arr) == (size_t)c->n_agents)
		aj = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	return aj;
}

int64_t *
cl_rows_slot_fig(struct cl_slot_figs *f, int i)
{
	int64_t *v[CL_SLOT_NFIGS] = {&f->answered,
	                             &f->abandoned,
	                             &f->short_abandoned,
	                             &f->unanswered,
	                             &f->active,
	                             &f->within_sla,
	                             &f->transferred,
	                             &f->sum_wait_answered,
	                             &f->sum_wait_abandoned,
	                             &f->sum_talk,
	                             &f->sum_hold,
	                             &f->sum_wrap,
	                             &f->max_wait,
	                             &f->count};
	return v[i];
}
