/* test_config.c : the config loader: defaults, every kind of error with its line, relative paths, reload rules. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "callogd/config.h"
#include "callogd/log.h"
#include "callogd/util.h"
#include "testutil.h"

static char dir[] = "/tmp/callogd-config-XXXXXX";

static const char *
write_conf(const char *name, const char *text)
{
	static char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	return path;
}

/* Loads text and expects failure with an error that starts "PATH:LINE:" and contains want. */
static void
expect_error(const char *text, int line, const char *want)
{
	struct cl_config c;
	char err[CL_ERR_LEN], prefix[600];
	const char *path = write_conf("bad.conf", text);

	CHECK_INT(cl_config_load(&c, path, err), -1);
	snprintf(prefix, sizeof(prefix), "%s:%d: ", path, line);
	if (strncmp(err, prefix, strlen(prefix)) != 0 || strstr(err, want) == NULL) {
		fprintf(stderr, "  got \"%s\", want prefix \"%s\" and \"%s\"\n", err, prefix, want);
		CHECK(0);
	} else {
		CHECK(1);
	}
}

int
main(void)
{
	struct cl_config c, d;
	char err[CL_ERR_LEN], diff[512];
	const char *path;

	if (mkdtemp(dir) == NULL)
		return 1;

	/* Defaults: an empty file is valid. */
	path = write_conf("empty.conf", "");
	CHECK_INT(cl_config_load(&c, path, err), 0);
	CHECK_STR(c.db_path, "/var/lib/callogd/callog.db");
	CHECK_STR(c.events_tcp, "127.0.0.1:7070");
	CHECK_STR(c.agents_tcp, "127.0.0.1:7071");
	CHECK_STR(c.http_listen, "127.0.0.1:7080");
	CHECK_INT(c.events_max_line, 65536);
	CHECK_STR(c.events_token, "");
	CHECK_STR(c.country_code, "1");
	CHECK_STR(c.international_prefix, "011");
	CHECK_INT(c.pop_trigger, CL_TRIGGER_RINGING);
	CHECK_INT(c.pops_history, 5);
	CHECK_INT(c.retention_days, 0);
	CHECK_INT(c.sla_seconds, 20);
	CHECK_INT(c.log_level, CL_LOG_INFO);
	cl_config_free(&c);

	/* Group validators: values each key accepts alone, refused together, at the blamed key's line. */
	expect_error("numbers = {\n country_code = \"0\";\n};\n", 2, "numbers.country_code must be 1 to 3 digits");
	expect_error("numbers = { country_code = \"1234\"; };\n", 1, "numbers.country_code");
	expect_error("numbers = {\n national_prefix = \"00\";\n international_prefix = \"00\";\n};\n", 2,
	             "must differ from international_prefix");
	expect_error("events = { tcp = \"127.0.0.1:9000\"; };\n\nhttp = { listen = \"127.0.0.1:9000\"; };\n", 3,
	             "http.listen is the same address as events.tcp");
	expect_error("events = { unix = \"/tmp/s\"; };\nagents = {\n unix = \"/tmp/s\";\n};\n", 3,
	             "agents.unix is the same socket as events.unix");
	expect_error("database = { path = \"\"; };\n", 1, "database.path must not be empty");
	/* A group not in the file is blamed at line 0: here the defaults of events and agents clash. */
	expect_error("events = { tcp = \"127.0.0.1:7071\"; };\n", 0, "agents.tcp is the same address as events.tcp");

	/* The table can be enumerated, for docs/: every key once, defaults that load. */
	{
		struct cl_config_key k;
		size_t n = 0;
		int saw_level = 0;
		for (; cl_config_key_at(n, &k) == 0; n++) {
			CHECK(k.group != NULL && k.key != NULL && k.type != NULL && k.doc != NULL && k.doc[0] != '\0');
			CHECK(k.def[0] != '\0');
			if (strcmp(k.type, "integer") == 0)
				CHECK(k.min <= atol(k.def) && atol(k.def) <= k.max);
			if (strcmp(k.group, "log") == 0 && strcmp(k.key, "level") == 0) {
				saw_level = 1;
				CHECK_STR(k.def, "\"info\"");
				CHECK_STR(k.values, "error|warn|info|debug");
				CHECK_INT(k.reloadable, 1);
			}
		}
		CHECK(n >= 26);
		CHECK(saw_level);
		CHECK_INT(cl_config_key_at(n, &k), -1);
	}

	/* Every key of the spec, relative paths resolved against the file's directory. */
	path =
	    write_conf("full.conf",
	               "database = { path = \"data/x.db\"; };\n"
	               "events = { unix = \"ev.sock\"; tcp = \"\"; max_line = 1024; token = \"s3\"; };\n"
	               "agents = { unix = \"/abs/ag.sock\"; tcp = \"0.0.0.0:9\"; };\n"
	               "http = { listen = \"[::1]:8080\"; };\n"
	               "numbers = { country_code = \"31\"; national_prefix = \"0\"; international_prefix = \"00\"; };\n"
	               "pops = { trigger = \"answered\"; history = 3; };\n"
	               "retention = { days = 30; };\nstats = { sla_seconds = 15; };\nlog = { level = \"debug\"; };\n");
	CHECK_INT(cl_config_load(&c, path, err), 0);
	{
		char want[600];
		char real[512];
		CHECK(realpath(dir, real) != NULL);
		snprintf(want, sizeof(want), "%s/data/x.db", real);
		CHECK_STR(c.db_path, want);
		snprintf(want, sizeof(want), "%s/ev.sock", real);
		CHECK_STR(c.events_unix, want);
	}
	CHECK_STR(c.agents_unix, "/abs/ag.sock");
	CHECK_STR(c.events_tcp, "");
	CHECK_STR(c.http_listen, "[::1]:8080");
	CHECK_INT(c.events_max_line, 1024);
	CHECK_STR(c.events_token, "s3");
	CHECK_STR(c.national_prefix, "0");
	CHECK_INT(c.pop_trigger, CL_TRIGGER_ANSWERED);
	CHECK_INT(c.pops_history, 3);
	CHECK_INT(c.retention_days, 30);
	CHECK_INT(c.sla_seconds, 15);
	CHECK_INT(c.log_level, CL_LOG_DEBUG);

	/* Reload rules: what may change, what needs a restart, what is reported. */
	path =
	    write_conf("full2.conf",
	               "database = { path = \"data/x.db\"; };\n"
	               "events = { unix = \"ev.sock\"; tcp = \"\"; max_line = 1024; token = \"s4\"; };\n"
	               "agents = { unix = \"/abs/ag.sock\"; tcp = \"0.0.0.0:9\"; };\n"
	               "http = { listen = \"[::1]:8080\"; };\n"
	               "numbers = { country_code = \"31\"; national_prefix = \"0\"; international_prefix = \"00\"; };\n"
	               "pops = { trigger = \"answered\"; history = 3; };\n"
	               "retention = { days = 30; };\nstats = { sla_seconds = 15; };\nlog = { level = \"warn\"; };\n");
	CHECK_INT(cl_config_load(&d, path, err), 0);
	CHECK_INT(cl_config_reload_compatible(&c, &d, err), 0);
	CHECK_INT(cl_config_diff(&c, &d, diff, sizeof(diff)), 2);
	CHECK(strstr(diff, "log.level=debug->warn") != NULL);
	CHECK(strstr(diff, "events.token=\"***\"->\"***\"") != NULL); /* never log a secret */
	cl_config_apply_reloadable(&c, &d);
	CHECK_INT(c.log_level, CL_LOG_WARN);
	CHECK_STR(c.events_token, "s4");
	CHECK_STR(d.events_token, "s3");
	cl_config_free(&d);
	path = write_conf("moved.conf", "http = { listen = \"127.0.0.1:1\"; };\n");
	CHECK_INT(cl_config_load(&d, path, err), 0);
	CHECK_INT(cl_config_reload_compatible(&c, &d, err), -1);
	CHECK(strstr(err, "http.listen") != NULL); /* every key needing a restart is named */
	CHECK(strstr(err, "database.path") != NULL);
	CHECK(strstr(err, "events.max_line") != NULL);
	CHECK(strstr(err, "log.level") == NULL); /* reloadable: not listed */
	cl_config_free(&d);
	cl_config_free(&c);

	/* "../" is resolved, not kept: logs show the real place. */
	path = write_conf("up.conf", "database = { path = \"../x/./y.db\"; };\n");
	CHECK_INT(cl_config_load(&c, path, err), 0);
	{
		char want[600], real[512];
		CHECK(realpath(dir, real) != NULL);
		*strrchr(real, '/') = '\0';
		snprintf(want, sizeof(want), "%s/x/y.db", real);
		CHECK_STR(c.db_path, want);
	}
	cl_config_free(&c);

	/* Each kind of error names the file and the line. */
	expect_error("database = { path = \"x\" ", 1, ""); /* syntax */
	expect_error("\n\nbogus = { a = 1; };\n", 3, "unknown setting \"bogus\"");
	expect_error("events = {\n  tcp = \"127.0.0.1:1\";\n  colour = 1;\n};\n", 3,
	             "unknown setting \"events.colour\"");
	expect_error("events = {\n  max_line = \"big\";\n};\n", 2, "events.max_line must be an integer");
	expect_error("events = { max_line = 10; };\n", 1, "between 256 and");
	expect_error("\nhttp = { listen = \"localhost\"; };\n", 2, "HOST:PORT");
	expect_error("http = { listen = \"127.0.0.1:70000\"; };\n", 1, "HOST:PORT");
	expect_error("pops = { trigger = \"always\"; };\n", 1, "ringing or answered");
	expect_error("log = { level = \"loud\"; };\n", 1, "error, warn, info or debug");
	expect_error("numbers = { country_code = \"+1\"; };\n", 1, "digits");
	expect_error("retention = 5;\n", 1, "must be a group");
	expect_error("stats = { sla_seconds = 0; };\n", 1, "between 1 and");
	expect_error("stats = {\n timezone = \"Mars/Olympus\";\n};\n", 2, "stats.timezone: unknown time zone");
	expect_error("stats = { timezone = \"../../etc/passwd\"; };\n", 1, "stats.timezone");
	expect_error("stats = { short_abandon_seconds = -1; };\n", 1, "between 0 and");
	expect_error("events = { unix = "
	             "\"/tmp/"
	             "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	             "aaaaaaaaaaaaaaaaaaaaaa.sock\"; };\n",
	             1, "longer than");
	expect_error("events = { token = 5; };\n", 1, "events.token must be a string");
	expect_error("dispositions = { codes = []; };\n", 1, "dispositions.codes must be a list of 1 to 64");
	expect_error("dispositions = { codes = \"sale\"; };\n", 1, "dispositions.codes must be a list");
	expect_error("dispositions = {\n codes = [ \"a\", \"b\", \"a\" ]; };\n", 2,
	             "entry 3 must be a code not listed before");
	expect_error("dispositions = { codes = [ \"a\", \"\" ]; };\n", 1, "entry 2 must be a string of 1 to 128");
	path = write_conf("codes.conf", "dispositions = { codes = [ \"sale\", \"no_sale\" ]; };\n");
	CHECK_INT(cl_config_load(&c, path, err), 0);
	CHECK_STR(c.disposition_codes, "sale\nno_sale");
	CHECK(cl_config_has_code(c.disposition_codes, "sale") && cl_config_has_code(c.disposition_codes, "no_sale"));
	CHECK(!cl_config_has_code(c.disposition_codes, "no") && !cl_config_has_code(c.disposition_codes, "sale\nno"));
	cl_config_free(&c);
	CHECK_INT(cl_config_defaults(&c), 0);
	CHECK_STR(c.disposition_codes, "resolved\ncallback\nescalated\nsale\nno_sale");
	cl_config_free(&c);

	/* A missing file. */
	CHECK_INT(cl_config_load(&c, "/nonexistent/callogd.conf", err), -1);
	CHECK(strncmp(err, "/nonexistent/callogd.conf:0: cannot read config", 47) == 0);

	/* The repository's documented example is valid. */
	{
		char ex[512];
		const char *data = getenv("CALLOGD_TEST_DATA");
		snprintf(ex, sizeof(ex), "%s/../../conf/callogd.conf", data ? data : "tests/data");
		CHECK_INT(cl_config_load(&c, ex, err), 0);
		if (err[0] && c.path == NULL)
			fprintf(stderr, "  %s\n", err);
		cl_config_free(&c);
	}
	TEST_DONE();
}
