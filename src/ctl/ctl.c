/* ctl.c : what callogctl's commands share: the config and store they open,
 * argument checks, errors and tables. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <jansson.h>

#include "callogd/config.h"
#include "callogd/ctl.h"
#include "callogd/util.h"
#include "callogd/numbers.h"
#include "callogd/store.h"

#define EXIT_USAGE 2
#define NAME_MAX_LEN 256 /* agent and token names */
#define COL_MAX 32       /* widest table column */

const char cl_ctl_usage[] =
    "usage: callogctl [-c FILE] COMMAND [ARGS]\n"
    "\n"
    "  -c FILE   config file (default " CL_DEFAULT_CONFIG ")\n"
    "  -h        this help\n"
    "\n"
    "commands:\n"
    "  import FILE.csv                     upsert customers (header id,name,phones,email,account,tier,notes)\n"
    "  customer NUMBER                     the customer lookup a screen-pop would make\n"
    "  agent add ID [--name NAME]          create an agent; prints its token, once\n"
    "  agent list [--json]                 agents: id, name, state, since\n"
    "  agent remove ID                     delete an agent\n"
    "  token add NAME [--role ROLE]        create an API token (admin, supervisor or producer); prints it, once\n"
    "  calls [--since T] [--until T] [--agent A] [--queue Q] [--number N] [--limit N] [--json]\n"
    "                                      the call log, newest first (limit 1..1000, default 50);\n"
    "                                      T is RFC 3339 or YYYY-MM-DD (UTC; --until DATE includes that day)\n"
    "  send [FILE]                         send NDJSON events (stdin by default); print the answers\n"
    "  simulate [--calls N] [--rate R] [--agents K] [--seed S]\n"
    "                                      drive contact-center traffic through the daemon\n"
    "                                      (defaults: 100 calls, 5 calls/s, 10 agents)\n"
    "  purge --before DATE                 delete calls (and their events) that ended before DATE\n"
    "  report queues|agents|dispositions [--from D] [--until D] [--interval I] [--tz Z]\n"
    "         [--queue Q] [--agent A] [--csv]\n"
    "                                      the reports of /api/reports (default: today, by day)\n"
    "  pbx status                          each PBX link: state, since, node, frames and events read\n"
    "  webhooks [--json]                   webhook deliveries pending or failed, with their last answer\n"
    "  webhooks retry ID                   send delivery ID (Callogd-Id) again now\n"
    "  help                                this help\n";

int
cl_ctl_usage_error(const char *fmt, const char *arg)
{
	if (fmt != NULL) {
		fputs("callogctl: ", stderr);
		fprintf(stderr, fmt, arg);
		fputc('\n', stderr);
	}
	fputs(cl_ctl_usage, stderr);
	return EXIT_USAGE;
}

int
cl_ctl_fail(const char *fmt, const char *arg)
{
	fputs("callogctl: ", stderr);
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	return 1;
}

/* Loads the config once, with the number rules every command may need. */
int
cl_ctl_config(struct cl_ctl *ctl)
{
	char err[CL_ERR_LEN] = "";

	if (ctl->cfg_loaded)
		return 0;
	if (cl_config_load(&ctl->cfg, ctl->config_path, err) < 0) {
		cl_ctl_fail("%s", err);
		return -1;
	}
	ctl->cfg_loaded = 1;
	if (cl_numbers_init(&ctl->rules, ctl->cfg.country_code, ctl->cfg.national_prefix,
	                    ctl->cfg.international_prefix) < 0) {
		cl_ctl_fail("%s: bad numbers rules", ctl->config_path);
		return -1;
	}
	return 0;
}

struct cl_store *
cl_ctl_store(struct cl_ctl *ctl, int flags)
{
	char err[CL_ERR_LEN] = "";
	struct cl_store *st;

	if (cl_ctl_config(ctl) < 0)
		return NULL;
	if ((st = cl_store_open(cl_config_store(&ctl->cfg), flags, err)) == NULL)
		fprintf(stderr, "callogctl: %s: %s\n", ctl->cfg.db_url[0] ? "database.url" : ctl->cfg.db_path, err);
	return st;
}

/* IDs (agents, queues) are 1..CL_ID_MAX printable ASCII bytes, no spaces. */
const char *
cl_ctl_id_problem(const char *s)
{
	size_t n = strlen(s);

	if (n == 0)
		return "is empty";
	if (n > CL_ID_MAX)
		return "is longer than 128 bytes";
	for (size_t i = 0; i < n; i++)
		if (!isgraph((unsigned char)s[i]))
			return "must be printable ASCII without spaces";
	return NULL;
}

/* Names are 1..NAME_MAX_LEN bytes of UTF-8 without control characters. */
const char *
cl_ctl_name_problem(const char *s)
{
	size_t n = strlen(s);

	if (n == 0)
		return "is empty";
	if (n > NAME_MAX_LEN)
		return "is longer than 256 bytes";
	if (!cl_utf8_valid(s, n))
		return "is not valid UTF-8";
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return "contains control characters";
	return NULL;
}

/*
 * Matches "--name VALUE" and "--name=VALUE" at argv[*i]; sets *val and moves
 * *i past what it used. 1 on a match, 0 when argv[*i] is another option, -1
 * when the value is missing.
 */
int
cl_ctl_opt_value(int argc, char **argv, int *i, const char *name, const char **val)
{
	size_t n = strlen(name);

	if (strncmp(argv[*i], name, n) != 0)
		return 0;
	if (argv[*i][n] == '=') {
		*val = argv[*i] + n + 1;
		return 1;
	}
	if (argv[*i][n] != '\0')
		return 0;
	if (*i + 1 >= argc)
		return -1;
	*val = argv[++*i];
	return 1;
}

int
cl_ctl_parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

/* RFC 3339, or YYYY-MM-DD for midnight UTC of that day (+1 day with end_of_day). */
int
cl_ctl_parse_when(const char *s, int end_of_day, int64_t *ms)
{
	char buf[40];

	if (strlen(s) == 10) {
		snprintf(buf, sizeof(buf), "%sT00:00:00Z", s);
		if (cl_time_parse(buf, ms) < 0)
			return -1;
		if (end_of_day)
			*ms += 86400000;
		return 0;
	}
	return cl_time_parse(s, ms);
}

/* Appends s to a fixed-width cell: cut to COL_MAX with a "~" when longer. */
static void
print_cell(const char *s, int width, int last)
{
	int n = (int)strlen(s);

	if (n > COL_MAX)
		printf("%.*s~", COL_MAX - 1, s);
	else
		fputs(s, stdout);
	if (!last)
		printf("%*s", (n > COL_MAX ? COL_MAX : n) < width ? width - (n > COL_MAX ? COL_MAX : n) + 2 : 2, "");
}

void
cl_ctl_escape(const char *s, char *out, size_t cap)
{
	size_t n = 0;

	for (; *s && n + 5 < cap; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch < 0x20 || ch == 0x7f)
			n += (size_t)snprintf(out + n, cap - n, "\\x%02x", ch);
		else
			out[n++] = (char)ch;
	}
	out[n] = '\0';
}

static int
has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

/* Prints rows (an array of arrays of strings) under header as aligned columns. */
void
cl_ctl_print_table(const char *const *header, int ncols, json_t *rows)
{
	int width[16] = {0};
	size_t r;
	json_t *row;

	for (int k = 0; k < ncols && k < 16; k++)
		width[k] = (int)strlen(header[k]);
	json_array_foreach (rows, r, row) {
		for (int k = 0; k < ncols && k < 16; k++) {
			/* Text from producers and agents: ESC, BEL or CR never reach the terminal as they are. */
			const char *s = json_string_value(json_array_get(row, (size_t)k));
			char esc[4 * COL_MAX + 8];
			if (s != NULL && has_control(s)) {
				json_t *e;
				cl_ctl_escape(s, esc, sizeof(esc));
				e = json_string(esc);
				json_array_set_new(row, (size_t)k, e ? e : json_string("?"));
			}
		}
	}
	json_array_foreach (rows, r, row) {
		for (int k = 0; k < ncols && k < 16; k++) {
			int n = (int)strlen(json_string_value(json_array_get(row, (size_t)k)));
			if (n > COL_MAX)
				n = COL_MAX;
			if (n > width[k])
				width[k] = n;
		}
	}
	for (int k = 0; k < ncols; k++)
		print_cell(header[k], width[k], k == ncols - 1);
	putchar('\n');
	json_array_foreach (rows, r, row) {
		for (int k = 0; k < ncols; k++)
			print_cell(json_string_value(json_array_get(row, (size_t)k)), width[k], k == ncols - 1);
		putchar('\n');
	}
}

/* A string field for a table cell: "-" when null or absent. */
const char *
cl_ctl_cell(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));
	return s != NULL && s[0] != '\0' ? s : "-";
}

void
cl_ctl_yield_to_daemon(void)
{
	/* Raising one's own nice value is always allowed; if refused, the write still runs. */
	if (setpriority(PRIO_PROCESS, 0, 19) < 0)
		fprintf(stderr, "callogctl: priority unchanged: %s\n", strerror(errno));
}
