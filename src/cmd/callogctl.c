/* callogctl.c : the operator's tool: options, then one command of docs/callogctl.md
 * (each in src/ctl/cmd_*.c). */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "callogd/config.h"
#include "callogd/ctl.h"

/* --- main --------------------------------------------------------------- */

struct command {
	const char *name;
	int (*run)(struct cl_ctl *ctl, int argc, char **argv);
};

static const struct command commands[] = {
    {"import", cl_ctl_import}, {"customer", cl_ctl_customer}, {"agent", cl_ctl_agent},       {"token", cl_ctl_token},
    {"calls", cl_ctl_calls},   {"send", cl_ctl_send},         {"simulate", cl_ctl_simulate}, {"purge", cl_ctl_purge},
    {"report", cl_ctl_report}, {"pbx", cl_ctl_pbx},           {"webhooks", cl_ctl_webhooks},
};

int
main(int argc, char **argv)
{
	struct cl_ctl ctl = {.config_path = CL_DEFAULT_CONFIG};
	int i = 1, rc;

	signal(SIGPIPE, SIG_IGN);
	for (; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			fputs(cl_ctl_usage, stdout);
			return 0;
		}
		if (strcmp(argv[i], "-c") == 0) {
			if (i + 1 >= argc)
				return cl_ctl_usage_error("-c needs a FILE", NULL);
			ctl.config_path = argv[++i];
		} else if (strncmp(argv[i], "-c", 2) == 0) {
			ctl.config_path = argv[i] + 2;
		} else if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		} else {
			return cl_ctl_usage_error("unknown option %s", argv[i]);
		}
	}
	if (i >= argc)
		return cl_ctl_usage_error("no COMMAND given", NULL);
	if (strcmp(argv[i], "help") == 0) {
		fputs(cl_ctl_usage, stdout);
		return 0;
	}
	rc = -1;
	for (size_t k = 0; k < sizeof(commands) / sizeof(commands[0]); k++) {
		if (strcmp(argv[i], commands[k].name) == 0) {
			rc = commands[k].run(&ctl, argc - i, argv + i);
			break;
		}
	}
	if (rc < 0)
		rc = cl_ctl_usage_error("unknown command %s", argv[i]);
	if (ctl.cfg_loaded)
		cl_config_free(&ctl.cfg);
	return rc;
}
