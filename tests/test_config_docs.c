/* test_config_docs.c : docs/configuration.md's key table against the settings table, key by key. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The settings table is static to config.c: compile it in here to walk it. */
#include "../src/base/config.c"

#include "testutil.h"

#define DOC_ROWS_MAX 256
#define CELL_MAX 256

struct doc_row {
	char key[CELL_MAX], type[CELL_MAX], def[CELL_MAX], range[CELL_MAX], reload[CELL_MAX];
	int line, matched;
};

static struct doc_row doc[DOC_ROWS_MAX];
static int ndoc;
static char tmpdir[] = "/tmp/callogd-confdocs-XXXXXX";

/* Copies cell text without surrounding spaces and backticks. */
static void
cell_copy(char *dst, const char *s, size_t n)
{
	while (n > 0 && (*s == ' ' || *s == '`'))
		s++, n--;
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '`'))
		n--;
	if (n >= CELL_MAX)
		n = CELL_MAX - 1;
	memcpy(dst, s, n);
	dst[n] = '\0';
}

/* Splits "| a | b | ... |" into cells; returns how many. */
static int
split_cells(const char *line, char cells[][CELL_MAX], int max)
{
	const char *p = strchr(line, '|'), *q;
	int n = 0;

	while (p != NULL && n < max && (q = strchr(p + 1, '|')) != NULL) {
		cell_copy(cells[n++], p + 1, (size_t)(q - p - 1));
		p = q;
	}
	return n;
}

static int
read_doc(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[2048], cells[6][CELL_MAX];
	int in = 0, lineno = 0;

	if (f == NULL) {
		fprintf(stderr, "cannot open %s\n", path);
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		if (strstr(line, "<!-- config-keys:begin -->")) {
			in = 1;
			continue;
		}
		if (strstr(line, "<!-- config-keys:end -->"))
			break;
		if (!in || line[0] != '|' || strncmp(line, "| key ", 6) == 0 || strncmp(line, "| ---", 5) == 0)
			continue;
		if (split_cells(line, cells, 6) != 6 || ndoc == DOC_ROWS_MAX) {
			fprintf(stderr, "%s:%d: a key row needs 6 cells\n", path, lineno);
			CHECK(0);
			continue;
		}
		struct doc_row *d = &doc[ndoc++];
		snprintf(d->key, sizeof(d->key), "%s", cells[0]);
		snprintf(d->type, sizeof(d->type), "%s", cells[1]);
		snprintf(d->def, sizeof(d->def), "%s", cells[2]);
		snprintf(d->range, sizeof(d->range), "%s", cells[3]);
		snprintf(d->reload, sizeof(d->reload), "%s", cells[4]);
		d->line = lineno;
	}
	fclose(f);
	return in ? 0 : -1;
}

static const char *
kind_doc_name(enum kind k)
{
	switch (k) {
	case K_STR:
		return "string";
	case K_PATH:
		return "path";
	case K_SOCK:
		return "socket";
	case K_LISTEN:
		return "address";
	case K_DIGITS:
		return "digits";
	case K_INT:
		return "integer";
	case K_LEVEL:
	case K_TRIGGER:
		return "choice";
	case K_BOOL:
		return "boolean";
	}
	return "unknown kind: teach test_config_docs.c its name";
}

static void
row_default(const struct row *r, char *out, size_t n)
{
	if (is_string_kind(r->kind))
		snprintf(out, n, "\"%s\"", r->sdef);
	else if (r->kind == K_LEVEL)
		snprintf(out, n, "\"%s\"", cl_log_level_name((int)r->idef));
	else if (r->kind == K_TRIGGER)
		snprintf(out, n, "\"%s\"", r->idef == CL_TRIGGER_ANSWERED ? "answered" : "ringing");
	else if (r->kind == K_BOOL)
		snprintf(out, n, "%s", r->idef ? "true" : "false");
	else
		snprintf(out, n, "%ld", r->idef);
}

/* Loads "group = { key = VALUE; };" and says whether the loader took it. */
static int
loads(const struct row *r, const char *value)
{
	char path[128], err[CL_ERR_LEN];
	struct cl_config c;
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "%s/c.conf", tmpdir);
	if ((f = fopen(path, "w")) == NULL)
		return -1;
	fprintf(f, "%s = { %s = %s; };\n", r->group, r->key, value);
	fclose(f);
	ok = cl_config_load(&c, path, err) == 0;
	if (ok)
		cl_config_free(&c);
	return ok;
}

/* The documented range is what the loader enforces: both ends taken, one past each refused. */
static void
check_range(const struct row *r, const struct doc_row *d)
{
	char want[CELL_MAX], v[64];

	if (r->kind == K_INT) {
		snprintf(want, sizeof(want), "%ld..%ld", r->min, r->max);
		if (strcmp(d->range, want) != 0) {
			fprintf(stderr, "configuration.md:%d: %s range \"%s\", the table says \"%s\"\n", d->line,
			        d->key, d->range, want);
			CHECK(0);
			return;
		}
		snprintf(v, sizeof(v), "%ld", r->min);
		CHECK_INT(loads(r, v), 1);
		snprintf(v, sizeof(v), "%ld", r->max);
		CHECK_INT(loads(r, v), 1);
		snprintf(v, sizeof(v), "%ld", r->min - 1);
		CHECK_INT(loads(r, v), 0);
		snprintf(v, sizeof(v), "%ld", r->max + 1);
		CHECK_INT(loads(r, v), 0);
		return;
	}
	if (r->kind == K_LEVEL || r->kind == K_TRIGGER) {
		char list[CELL_MAX], *save = NULL;
		snprintf(list, sizeof(list), "%s", d->range);
		for (char *w = strtok_r(list, ", ", &save); w; w = strtok_r(NULL, ", ", &save)) {
			snprintf(v, sizeof(v), "\"%s\"", w);
			if (loads(r, v) != 1) {
				fprintf(stderr, "configuration.md:%d: %s = %s is refused by the loader\n", d->line,
				        d->key, v);
				CHECK(0);
			}
		}
		CHECK_INT(loads(r, "\"no-such-choice\""), 0);
		return;
	}
	if (strcmp(d->range, "-") != 0) {
		fprintf(stderr, "configuration.md:%d: %s has no range, the doc says \"%s\"\n", d->line, d->key,
		        d->range);
		CHECK(0);
	}
}

static void
compare(const char *what, const struct doc_row *d, const char *got, const char *want)
{
	if (strcmp(got, want) == 0) {
		CHECK(1);
		return;
	}
	fprintf(stderr, "configuration.md:%d: %s %s is \"%s\", the settings table says \"%s\"\n", d->line, d->key, what,
	        got, want);
	CHECK(0);
}

int
main(void)
{
	const char *src = getenv("CALLOGD_SRC");
	char path[1024], key[CELL_MAX], def[CELL_MAX];

	if (src == NULL || mkdtemp(tmpdir) == NULL) {
		fprintf(stderr, "CALLOGD_SRC must name the source tree\n");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/docs/configuration.md", src);
	CHECK_INT(read_doc(path), 0);
	CHECK(ndoc > 0);
	for (size_t i = 0; i < NROWS; i++) {
		const struct row *r = &rows[i];
		struct doc_row *d = NULL;
		snprintf(key, sizeof(key), "%s.%s", r->group, r->key);
		for (int j = 0; j < ndoc; j++)
			if (strcmp(doc[j].key, key) == 0)
				d = &doc[j];
		if (d == NULL) {
			fprintf(stderr, "configuration.md: %s is in the settings table but not documented\n", key);
			CHECK(0);
			continue;
		}
		d->matched = 1;
		compare("type", d, d->type, kind_doc_name(r->kind));
		row_default(r, def, sizeof(def));
		compare("default", d, d->def, def);
		compare("reload", d, d->reload, r->reloadable ? "yes" : "no");
		check_range(r, d);
	}
	for (int j = 0; j < ndoc; j++) {
		if (!doc[j].matched) {
			fprintf(stderr, "configuration.md:%d: %s is documented but not in the settings table\n",
			        doc[j].line, doc[j].key);
			CHECK(0);
		}
	}
	snprintf(path, sizeof(path), "%s/c.conf", tmpdir);
	unlink(path);
	rmdir(tmpdir);
	TEST_DONE();
}
