/* report_out.c : owns the rendering of a report: rows in order, each row's
 * fields (means, ratios, nulls) once, written as JSON or RFC 4180 CSV (pure). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callogd/csv.h"
#include <jansson.h>

#include "callogd/report.h"
#include "callogd/util.h"
#include "report_int.h"

enum fkind { F_INT, F_REAL, F_STR, F_NULL };

struct field {
	const char *name;
	enum fkind kind;
	int64_t i;
	double d;
	const char *s;
};

#define MAX_FIELDS 24

struct fields {
	struct field f[MAX_FIELDS];
	int n;
};

static void
put_int(struct fields *fs, const char *name, int64_t v)
{
	fs->f[fs->n++] = (struct field){.name = name, .kind = F_INT, .i = v};
}

static void
put_null(struct fields *fs, const char *name)
{
	fs->f[fs->n++] = (struct field){.name = name, .kind = F_NULL};
}

static void
put_str(struct fields *fs, const char *name, const char *s)
{
	fs->f[fs->n++] = (struct field){.name = name, .kind = s != NULL ? F_STR : F_NULL, .s = s};
}

/* A mean in whole ms, rounded half up; null over no calls. */
static void
put_mean(struct fields *fs, const char *name, int64_t sum, int64_t n)
{
	if (n == 0)
		put_null(fs, name);
	else
		put_int(fs, name, (2 * sum + n) / (2 * n));
}

static void
put_ratio(struct fields *fs, const char *name, int64_t num, int64_t den)
{
	if (den == 0)
		put_null(fs, name);
	else
		fs->f[fs->n++] = (struct field){.name = name, .kind = F_REAL, .d = (double)num / (double)den};
}

static const struct cl_report_row *
queue_row(const struct cl_report *r, const struct cl_report_row *d)
{
	char key[16 + 2 * CL_ID_MAX + 8];

	snprintf(key, sizeof(key), "%d\x1f%c%s\x1f", d->bucket, d->has_k1 ? '=' : '-', d->k1);
	return cl_hmap_get(r->rows, key);
}

/* The fields of one row (start is the caller's), in the order the documentation lists them. */
static void
row_fields(const struct cl_report *r, const struct cl_report_row *w, struct fields *fs)
{
	switch (r->p.kind) {
	case CL_REPORT_QUEUES: {
		const struct cl_slot_figs *f = &w->q;
		int64_t done = f->answered + f->abandoned + f->unanswered;
		put_str(fs, "queue", w->has_k1 ? w->k1 : NULL);
		put_int(fs, "offered", done + f->active);
		put_int(fs, "answered", f->answered);
		put_int(fs, "abandoned", f->abandoned);
		put_int(fs, "short_abandoned", f->short_abandoned);
		put_int(fs, "unanswered", f->unanswered);
		put_int(fs, "active", f->active);
		put_int(fs, "answered_within_sla", f->within_sla);
		put_ratio(fs, "service_level", f->within_sla, f->answered + f->abandoned);
		put_ratio(fs, "abandon_rate", f->abandoned, done);
		put_mean(fs, "asa_ms", f->sum_wait_answered, f->answered);
		put_mean(fs, "avg_abandon_ms", f->sum_wait_abandoned, f->abandoned);
		if (f->max_wait < 0)
			put_null(fs, "max_wait_ms");
		else
			put_int(fs, "max_wait_ms", f->max_wait);
		put_mean(fs, "avg_talk_ms", f->sum_talk, f->answered);
		put_mean(fs, "avg_hold_ms", f->sum_hold, f->answered);
		put_mean(fs, "avg_wrap_ms", f->sum_wrap, f->answered);
		put_mean(fs, "avg_handle_ms", f->sum_talk + f->sum_hold + f->sum_wrap, f->answered);
		put_int(fs, "transferred", f->transferred);
		break;
	}
	case CL_REPORT_AGENTS: {
		int64_t handle = w->talk + w->hold + w->wrap;
		put_str(fs, "agent", w->k1);
		put_int(fs, "rang", w->rang);
		put_int(fs, "answered", w->answered);
		put_int(fs, "missed", w->missed);
		put_int(fs, "talk_ms", w->talk);
		put_int(fs, "hold_ms", w->hold);
		put_int(fs, "wrap_ms", w->wrap);
		put_int(fs, "handle_ms", handle);
		put_int(fs, "logged_in_ms", w->logged_in);
		put_int(fs, "ready_ms", w->ready);
		put_int(fs, "not_ready_ms", w->not_ready);
		put_ratio(fs, "occupancy", handle, handle + w->ready);
		break;
	}
	case CL_REPORT_DISPOSITIONS: {
		const struct cl_report_row *q = queue_row(r, w);
		put_str(fs, "queue", w->has_k1 ? w->k1 : NULL);
		put_str(fs, "code", w->k2);
		put_int(fs, "count", w->q.count);
		put_ratio(fs, "share", w->q.count, q != NULL ? q->q.answered : 0);
		break;
	}
	}
}

static int
row_shown(const struct cl_report *r, const struct cl_report_row *w)
{
	switch (r->p.kind) {
	case CL_REPORT_QUEUES:
		return !w->is_disp;
	case CL_REPORT_AGENTS:
		return w->counted;
	case CL_REPORT_DISPOSITIONS:
		return w->is_disp;
	}
	return 0;
}

static int
row_cmp(const void *pa, const void *pb)
{
	const struct cl_report_row *a = *(const struct cl_report_row *const *)pa;
	const struct cl_report_row *b = *(const struct cl_report_row *const *)pb;
	int c;

	if (a->bucket != b->bucket)
		return a->bucket < b->bucket ? -1 : 1;
	if (a->has_k1 != b->has_k1)
		return a->has_k1 < b->has_k1 ? -1 : 1; /* the null queue first */
	if ((c = strcmp(a->k1, b->k1)) != 0)
		return c;
	return strcmp(a->k2, b->k2);
}

/* The rows shown, sorted (totals, bucket -1, first); malloc'd array, *n set. NULL on OOM. */
static const struct cl_report_row **
sorted_rows(const struct cl_report *r, size_t *n)
{
	const struct cl_report_row **v;
	struct cl_hmap_entry *e;

	*n = 0;
	if ((v = malloc((cl_hmap_count(r->rows) + 1) * sizeof(*v))) == NULL)
		return NULL;
	for (e = cl_hmap_next(r->rows, NULL); e != NULL; e = cl_hmap_next(r->rows, e))
		if (row_shown(r, e->val))
			v[(*n)++] = e->val;
	qsort(v, *n, sizeof(*v), row_cmp);
	return v;
}

static json_t *
field_json(const struct field *f)
{
	switch (f->kind) {
	case F_INT:
		return json_integer((json_int_t)f->i);
	case F_REAL:
		return json_real(f->d);
	case F_STR:
		return json_string(f->s);
	case F_NULL:
		break;
	}
	return json_null();
}

static json_t *
row_json(const struct cl_report *r, const struct cl_report_row *w)
{
	struct fields fs = {.n = 0};
	char start[48];
	json_t *o = json_object(), *reasons = NULL;

	if (o == NULL)
		return NULL;
	if (w->bucket >= 0) {
		cl_tz_format(r->p.tz, r->bounds[w->bucket], 0, start, sizeof(start));
		if (json_object_set_new(o, "start", json_string(start)) < 0)
			goto fail;
	}
	row_fields(r, w, &fs);
	for (int i = 0; i < fs.n; i++) {
		if (r->p.kind == CL_REPORT_AGENTS && strcmp(fs.f[i].name, "occupancy") == 0) {
			/* not_ready_reasons goes before occupancy, as the documentation lists them. */
			if ((reasons = json_object()) == NULL ||
			    json_object_set_new(o, "not_ready_reasons", reasons) < 0)
				goto fail;
			for (int k = 0; k < w->nreasons; k++)
				if (w->reasons[k] > 0 &&
				    json_object_set_new(reasons, r->reasons[k],
				                        json_integer((json_int_t)w->reasons[k])) < 0)
					goto fail;
		}
		if (json_object_set_new(o, fs.f[i].name, field_json(&fs.f[i])) < 0)
			goto fail;
	}
	return o;
fail:
	json_decref(o);
	return NULL;
}

json_t *
cl_report_json(const struct cl_report *r)
{
	const struct cl_report_row **v = NULL;
	json_t *o = NULL, *rows, *totals;
	char from[48], until[48];
	size_t n;

	if ((v = sorted_rows(r, &n)) == NULL)
		return NULL;
	cl_tz_format(r->p.tz, r->p.from_ms, 0, from, sizeof(from));
	cl_tz_format(r->p.tz, r->p.until_ms, 0, until, sizeof(until));
	o = json_pack("{s:s, s:s, s:s, s:s, s:[], s:[]}", "from", from, "until", until, "tz", cl_tz_name(r->p.tz),
	              "interval", cl_interval_name(r->p.interval), "rows", "totals");
	if (o == NULL)
		goto fail;
	rows = json_object_get(o, "rows");
	totals = json_object_get(o, "totals");
	for (size_t i = 0; i < n; i++)
		if (json_array_append_new(v[i]->bucket < 0 ? totals : rows, row_json(r, v[i])) < 0)
			goto fail;
	free(v);
	return o;
fail:
	free(v);
	json_decref(o);
	return NULL;
}

/* The shortest decimal that reads back as the same double. */
static void
fmt_real(double d, char *out, size_t len)
{
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(out, len, "%.*g", prec, d);
		if (strtod(out, NULL) == d)
			return;
	}
}

static void
field_cell(struct cl_csv_out *b, const struct field *f)
{
	char buf[40];

	switch (f->kind) {
	case F_INT:
		cl_csv_put_int(b, (long long)f->i);
		return;
	case F_REAL:
		fmt_real(f->d, buf, sizeof(buf));
		cl_csv_put(b, buf);
		return;
	case F_STR:
		cl_csv_put(b, f->s);
		return;
	case F_NULL:
		cl_csv_put(b, "");
		return;
	}
}

char *
cl_report_csv(const struct cl_report *r, int with_totals, size_t *len)
{
	const struct cl_report_row **v = NULL;
	struct cl_csv_out b = {0};
	struct fields fs = {.n = 0};
	struct cl_report_row blank = {.q.max_wait = -1};
	char name[CL_ID_MAX + 32];
	size_t n, ntotals = 0;

	if ((v = sorted_rows(r, &n)) == NULL)
		return NULL;
	while (ntotals < n && v[ntotals]->bucket < 0)
		ntotals++;
	/* The header: start, then the row's fields, then one column per reason seen. */
	row_fields(r, &blank, &fs);
	cl_csv_put(&b, "start");
	for (int i = 0; i < fs.n; i++)
		cl_csv_put(&b, fs.f[i].name);
	if (r->p.kind == CL_REPORT_AGENTS)
		for (int k = 0; k < r->nreasons; k++) {
			snprintf(name, sizeof(name), "not_ready_reasons.%s", r->reasons[k]);
			cl_csv_put(&b, name);
		}
	cl_csv_end(&b);
	/* Sorted, the totals (bucket -1) come first: written last when wanted. */
	for (size_t k = 0; k < n; k++) {
		size_t i = (k + ntotals) % n;
		char start[48] = "total";
		if (v[i]->bucket < 0 && !with_totals)
			continue;
		if (v[i]->bucket >= 0)
			cl_tz_format(r->p.tz, r->bounds[v[i]->bucket], 0, start, sizeof(start));
		cl_csv_put(&b, start);
		fs.n = 0;
		row_fields(r, v[i], &fs);
		for (int k = 0; k < fs.n; k++)
			field_cell(&b, &fs.f[k]);
		if (r->p.kind == CL_REPORT_AGENTS)
			for (int k = 0; k < r->nreasons; k++)
				cl_csv_put_int(&b, (long long)(k < v[i]->nreasons ? v[i]->reasons[k] : 0));
		cl_csv_end(&b);
	}
	free(v);
	if (b.failed || b.p == NULL) {
		free(b.p);
		return NULL;
	}
	*len = b.len;
	return b.p;
}
