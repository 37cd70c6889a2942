/* test_config_docs.c : docs/configuration.md's key table against the settings table (cl_config_key_at), key by key. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "callogd/config.h"
#include "callogd/util.h"
#include "testutil.h"

#define DOC_ROWS_MAX 256
#define CELL_MAX 512

struct doc_row {
	char key[CELL_MAX], type[CELL_MAX], def[CELL_MAX], range[CELL_MAX], reload[CELL_MAX];
	int line, matched;
};

static struct doc_row doc[DOC_ROWS_MAX];
static int ndoc;
static char tmpdir[] = "/tmp/callogd-confdocs-XXXXXX";

/* Copies cell text without surrounding spaces and backticks, with "\|" read as "|". */
static void
cell_copy(char *dst, const char *s, size_t n)
{
	size_t o = 0;

	while (n > 0 && (*s == ' ' || *s == '`'))
		s++, n--;
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '`'))
		n--;
	for (size_t i = 0; i < n && o < CELL_MAX - 1; i++) {
		if (s[i] == '\\' && i + 1 < n && s[i + 1] == '|')
			continue;
		dst[o++] = s[i];
	}
	dst[o] = '\0';
}

/* Splits "| a | b | ... |" into cells (an escaped "\|" stays inside its cell); returns how many. */
static int
split_cells(const char *line, char cells[][CELL_MAX], int max)
{
	const char *start = strchr(line, '|'), *p;
	int n = 0;

	if (start == NULL)
		return 0;
	for (p = start + 1; *p && n < max; p++) {
		if (*p == '\\' && p[1] == '|') {
			p++;
			continue;
		}
		if (*p == '|') {
			cell_copy(cells[n++], start + 1, (size_t)(p - start - 1));
			start = p;
		}
	}
	return n;
}

static int
read_doc(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[4096], cells[6][CELL_MAX];
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

/* Loads "group = { key = VALUE; };" and says whether the loader took it. */
static int
loads(const struct cl_config_key *k, const char *value)
{
	char path[128], err[CL_ERR_LEN];
	struct cl_config c;
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "%s/c.conf", tmpdir);
	if ((f = fopen(path, "w")) == NULL)
		return -1;
	fprintf(f, "%s = { %s = %s; };\n", k->group, k->key, value);
	fclose(f);
	ok = cl_config_load(&c, path, err) == 0;
	if (ok)
		cl_config_free(&c);
	return ok;
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

/* The range cell as the docs write it: "MIN..MAX", "a, b, c" for enums, "-" otherwise. */
static void
key_range(const struct cl_config_key *k, char *out, size_t n)
{
	size_t o = 0;

	if (k->values != NULL) {
		for (const char *p = k->values; *p && o + 3 < n; p++) {
			if (*p == '|') {
				out[o++] = ',';
				out[o++] = ' ';
			} else {
				out[o++] = *p;
			}
		}
		out[o] = '\0';
	} else if (strcmp(k->type, "integer") == 0) {
		snprintf(out, n, "%ld..%ld", k->min, k->max);
	} else {
		snprintf(out, n, "-");
	}
}

/* The documented range is what the loader enforces: both ends taken, one past each refused; every enum value. */
static void
check_enforced(const struct cl_config_key *k)
{
	char v[64], list[CELL_MAX], *save = NULL;

	if (strcmp(k->type, "integer") == 0) {
		snprintf(v, sizeof(v), "%ld", k->min);
		CHECK_INT(loads(k, v), 1);
		snprintf(v, sizeof(v), "%ld", k->max);
		CHECK_INT(loads(k, v), 1);
		snprintf(v, sizeof(v), "%ld", k->min - 1);
		CHECK_INT(loads(k, v), 0);
		snprintf(v, sizeof(v), "%ld", k->max + 1);
		CHECK_INT(loads(k, v), 0);
	} else if (k->values != NULL) {
		snprintf(list, sizeof(list), "%s", k->values);
		for (char *w = strtok_r(list, "|", &save); w; w = strtok_r(NULL, "|", &save)) {
			snprintf(v, sizeof(v), "\"%s\"", w);
			CHECK_INT(loads(k, v), 1);
		}
		CHECK_INT(loads(k, "\"no-such-value\""), 0);
	}
	/* The default, written out, is a value the loader takes. */
	CHECK_INT(loads(k, k->def), 1);
}

int
main(void)
{
	const char *src = getenv("CALLOGD_SRC");
	struct cl_config_key k;
	char path[1024], key[CELL_MAX], range[CELL_MAX];
	int wrong;

	if (src == NULL || mkdtemp(tmpdir) == NULL) {
		fprintf(stderr, "CALLOGD_SRC must name the source tree\n");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/docs/configuration.md", src);
	CHECK_INT(read_doc(path), 0);
	CHECK(ndoc > 0);
	wrong = tu_failed;
	for (size_t i = 0; cl_config_key_at(i, &k) == 0; i++) {
		struct doc_row *d = NULL;
		snprintf(key, sizeof(key), "%s.%s", k.group, k.key);
		for (int j = 0; j < ndoc; j++)
			if (strcmp(doc[j].key, key) == 0)
				d = &doc[j];
		check_enforced(&k);
		if (d == NULL) {
			fprintf(stderr, "configuration.md: %s is in the settings table but not documented\n", key);
			CHECK(0);
			continue;
		}
		d->matched = 1;
		compare("type", d, d->type, k.type);
		compare("default", d, d->def, k.def);
		key_range(&k, range, sizeof(range));
		compare("range", d, d->range, range);
		compare("reload", d, d->reload, k.reloadable ? "yes" : "no");
	}
	for (int j = 0; j < ndoc; j++) {
		if (!doc[j].matched) {
			fprintf(stderr, "configuration.md:%d: %s is documented but not in the settings table\n",
			        doc[j].line, doc[j].key);
			CHECK(0);
		}
	}
	if (tu_failed > wrong) {
		fprintf(stderr, "\nthe settings table (callogd --config-keys), as rows of docs/configuration.md:\n");
		for (size_t i = 0; cl_config_key_at(i, &k) == 0; i++) {
			key_range(&k, range, sizeof(range));
			fprintf(stderr, "| `%s.%s` | %s | `%s` | %s%s%s | %s | %s |\n", k.group, k.key, k.type, k.def,
			        strcmp(range, "-") ? "`" : "", range, strcmp(range, "-") ? "`" : "",
			        k.reloadable ? "yes" : "no", k.doc);
		}
	}
	snprintf(path, sizeof(path), "%s/c.conf", tmpdir);
	unlink(path);
	rmdir(tmpdir);
	TEST_DONE();
}
