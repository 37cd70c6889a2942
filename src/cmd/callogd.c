/* callogd.c : the daemon's entry point: flags, config check, then the server. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "callogd/config.h"
#include "callogd/log.h"
#include "callogd/server.h"
#include "callogd/util.h"

static void
usage(FILE *f)
{
	fprintf(f, "usage: callogd [-t] [-c FILE]\n"
	           "       callogd -V | -h | --config-keys\n"
	           "  -c FILE  configuration file (default " CL_DEFAULT_CONFIG ")\n"
	           "  -t       check the configuration and exit\n"
	           "  -V       print the version\n"
	           "  -h       print this help\n"
	           "  --config-keys  print every configuration key, one a line, tab-separated:\n"
	           "           name, type, default, bounds, reload (yes|no), description\n");
}

/* The settings table, for docs/ to be generated from or checked against. */
static int
print_config_keys(void)
{
	struct cl_config_key k;
	char bounds[64];

	for (size_t i = 0; cl_config_key_at(i, &k) == 0; i++) {
		if (k.values)
			snprintf(bounds, sizeof(bounds), "%s", k.values);
		else if (strcmp(k.type, "integer") == 0)
			snprintf(bounds, sizeof(bounds), "%ld..%ld", k.min, k.max);
		else
			snprintf(bounds, sizeof(bounds), "-");
		printf("%s.%s\t%s\t%s\t%s\t%s\t%s\n", k.group, k.key, k.type, k.def, bounds,
		       k.reloadable ? "yes" : "no", k.doc);
	}
	return fflush(stdout) == 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
	const char *path = CL_DEFAULT_CONFIG;
	struct cl_config cfg;
	char err[CL_ERR_LEN];
	int ch, test = 0;

	static const struct option longopts[] = {
	    {"config-keys", no_argument, NULL, 'K'},
	    {NULL, 0, NULL, 0},
	};

	while ((ch = getopt_long(argc, argv, "c:tVh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'K':
			return print_config_keys();
		case 'c':
			path = optarg;
			break;
		case 't':
			test = 1;
			break;
		case 'V':
			printf("callogd %s\n", CALLOGD_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "callogd: unexpected argument \"%s\"\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (cl_config_load(&cfg, path, err) < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	if (test) {
		printf("%s: configuration ok\n", path);
		cl_config_free(&cfg);
		return 0;
	}
	cl_log_init(cfg.log_level);
	/* The database, its WAL and anything else we create hold call data: ours alone,
	 * whatever umask we were started with (Unix sockets are set to 0660 on purpose). */
	umask(077);
	return cl_server_main(&cfg);
}
