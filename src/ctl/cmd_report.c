/* cmd_report.c : callogctl report queues|agents|dispositions: the arguments,
 * the report run on a read-only connection, printed as an aligned table (the
 * totals last) or as the API's CSV. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callogd/csv.h"
#include "callogd/ctl.h"
#include "callogd/report.h"
#include "callogd/reports.h"
#include "callogd/store.h"
#include "callogd/tz.h"
#include "callogd/util.h"

static int
value(int argc, char **argv, int *i, const char *name, const char **out)
{
	if (strcmp(argv[*i], name) != 0)
		return 0;
	if (*i + 1 >= argc)
		return -1;
	*out = argv[++*i];
	return 1;
}

struct cmd {
	struct cl_report_params p; /* p.tz is tz below */
	struct cl_tz *tz;
	int csv;
};

static void cmd_clear(struct cmd *c);

/* argv[0] is "report"; defaults: today in default_tz ("" = the host's zone), by day. -1 with err: a usage error. */
static int
cmd_parse(int argc, char **argv, const char *default_tz, int64_t sla_ms, int64_t short_ms, int64_t now_ms,
          struct cmd *c, char *err)
{
	const char *from = NULL, *until = NULL, *iv = NULL, *tz = default_tz, *kind = NULL;
	int k, m;
	char why[CL_ERR_LEN];

	memset(c, 0, sizeof(*c));
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--csv") == 0) {
			c->csv = 1;
			continue;
		}
		if ((m = value(argc, argv, &i, "--from", &from)) == 0 &&
		    (m = value(argc, argv, &i, "--until", &until)) == 0 &&
		    (m = value(argc, argv, &i, "--interval", &iv)) == 0 &&
		    (m = value(argc, argv, &i, "--tz", &tz)) == 0 &&
		    (m = value(argc, argv, &i, "--queue", &c->p.queue)) == 0 &&
		    (m = value(argc, argv, &i, "--agent", &c->p.agent)) == 0) {
			if (argv[i][0] == '-' || kind != NULL) {
				snprintf(err, CL_ERR_LEN, "report: unexpected argument %s", argv[i]);
				return -1;
			}
			kind = argv[i];
			continue;
		}
		if (m < 0) {
			snprintf(err, CL_ERR_LEN, "report: %s needs a value", argv[i]);
			return -1;
		}
	}
	if (kind == NULL || (k = cl_report_kind_parse(kind)) < 0) {
		snprintf(err, CL_ERR_LEN, "report: which report? queues, agents or dispositions");
		return -1;
	}
	c->p.kind = (enum cl_report_kind)k;
	c->p.interval = CL_INTERVAL_DAY;
	if (iv != NULL && (k = cl_interval_parse(iv)) < 0) {
		snprintf(err, CL_ERR_LEN, "report: --interval must be hour, day, week, month or total");
		return -1;
	}
	if (iv != NULL)
		c->p.interval = (enum cl_interval)k;
	if ((c->p.queue && (c->p.queue[0] == '\0' || strlen(c->p.queue) > CL_ID_MAX)) ||
	    (c->p.agent && (c->p.agent[0] == '\0' || strlen(c->p.agent) > CL_ID_MAX))) {
		snprintf(err, CL_ERR_LEN, "report: --queue and --agent take 1 to %d bytes", CL_ID_MAX);
		return -1;
	}
	if ((c->tz = cl_tz_load(tz, why)) == NULL) {
		snprintf(err, CL_ERR_LEN, "report: --tz: %.200s", why);
		return -1;
	}
	c->p.tz = c->tz;
	c->p.sla_ms = sla_ms;
	c->p.short_abandon_ms = short_ms;
	c->p.from_ms = cl_tz_floor(c->tz, CL_INTERVAL_DAY, now_ms / 1000) * 1000;
	if (from != NULL && cl_report_parse_time(c->tz, from, &c->p.from_ms) < 0) {
		snprintf(err, CL_ERR_LEN, "report: --from %.64s is not YYYY-MM-DD or RFC 3339", from);
		goto fail;
	}
	c->p.until_ms =
	    cl_tz_next(c->tz, CL_INTERVAL_DAY, cl_tz_floor(c->tz, CL_INTERVAL_DAY, c->p.from_ms / 1000)) * 1000;
	if (until != NULL && cl_report_parse_time(c->tz, until, &c->p.until_ms) < 0) {
		snprintf(err, CL_ERR_LEN, "report: --until %.64s is not YYYY-MM-DD or RFC 3339", until);
		goto fail;
	}
	return 0;
fail:
	cmd_clear(c);
	return -1;
}

static void
cmd_clear(struct cmd *c)
{
	cl_tz_free(c->tz);
	c->tz = NULL;
}

/* The display width of UTF-8 text: one column per character. */
static size_t
width(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		w += ((unsigned char)*s & 0xc0) != 0x80;
	return w;
}

#define CELL_MAX (4 * CL_ID_MAX + 8)

/*
 * A cell as the table shows it: an empty cell is a null (no queue, no ratio)
 * shown as "-"; a ratio has 4 decimals (the CSV keeps them all).
 */
static void
show(int numeric_ok, const char *v, char *out, size_t cap)
{
	char *end;
	double d;

	if (v[0] == '\0') {
		snprintf(out, cap, "-");
		return;
	}
	if (numeric_ok && strchr(v, '.') != NULL && (d = strtod(v, &end), *end == '\0')) {
		snprintf(out, cap, "%.4f", d);
		return;
	}
	cl_ctl_escape(v, out, cap);
}

/* r as CSV or as a table; text from outside has its control characters escaped. 0, or -1. */
static int
print_report(const struct cl_report *r, int csv, FILE *out)
{
	struct cl_csv *rd = NULL;
	char *text, err[CL_ERR_LEN], cell[CELL_MAX];
	size_t len, *w = NULL;
	int ncols = 0, rc = -1;

	if ((text = cl_report_csv(r, !csv, &len)) == NULL)
		return -1;
	if (csv) {
		rc = fwrite(text, 1, len, out) == len ? 0 : -1;
		free(text);
		return rc;
	}
	/* Two passes over the CSV: the widths, then the cells padded to them. */
	for (int pass = 0; pass < 2; pass++) {
		cl_csv_free(rd);
		if ((rd = cl_csv_new_buffer(text, len, CL_CSV_MAX_FIELDS * 4, 0)) == NULL)
			goto out;
		while (cl_csv_next(rd, err) == CL_CSV_RECORD) {
			int n = cl_csv_nfields(rd);
			if (pass == 0 && n > ncols) {
				size_t *nw = realloc(w, (size_t)n * sizeof(*w));
				if (nw == NULL)
					goto out;
				memset(nw + ncols, 0, (size_t)(n - ncols) * sizeof(*nw));
				w = nw;
				ncols = n;
			}
			for (int i = 0; i < n && i < ncols; i++) {
				show(i > 0, cl_csv_field(rd, i), cell, sizeof(cell));
				if (pass == 0 && width(cell) > w[i])
					w[i] = width(cell);
				if (pass == 1)
					fprintf(out, "%s%s%*s", i ? "  " : "", cell,
					        i + 1 < n ? (int)(w[i] - width(cell)) : 0, "");
			}
			if (pass == 1)
				fputc('\n', out);
		}
	}
	rc = ferror(out) ? -1 : 0;
out:
	cl_csv_free(rd);
	free(w);
	free(text);
	return rc;
}

int
cl_ctl_report(struct cl_ctl *ctl, int argc, char **argv)
{
	struct cmd c;
	struct cl_report *r = NULL;
	struct cl_store *st = NULL;
	char err[CL_ERR_LEN];
	int rc = 1;

	if (cl_ctl_config(ctl) < 0)
		return 1;
	if (cmd_parse(argc, argv, ctl->cfg.stats_timezone, (int64_t)ctl->cfg.sla_seconds * 1000,
	              (int64_t)ctl->cfg.short_abandon_seconds * 1000, cl_now_ms(), &c, err) < 0)
		return cl_ctl_usage_error("%s", err);
	if ((r = cl_report_new(&c.p, err)) == NULL)
		cl_ctl_fail("report: %s", err);
	else if ((st = cl_ctl_store(ctl, CL_STORE_READONLY)) == NULL)
		rc = 1; /* cl_ctl_store said why */
	else if (cl_reports_run(st, r, cl_now_ms(), err) < 0)
		cl_ctl_fail("report: %s", err);
	else if (print_report(r, c.csv, stdout) < 0)
		cl_ctl_fail("%s", "report: cannot write the report");
	else
		rc = 0;
	cl_store_close(st);
	cl_report_free(r);
	cmd_clear(&c);
	return rc;
}
