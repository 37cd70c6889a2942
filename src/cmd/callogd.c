/* callogd.c : the daemon's entry point: flags, config check, then the server. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "callogd/config.h"
#include "callogd/log.h"
#include "callogd/server.h"
#include "callogd/util.h"

static void
usage(FILE *f)
{
	fprintf(f, "usage: callogd [-t] [-c FILE]\n"
	           "       callogd -V | -h\n"
	           "  -c FILE  configuration file (default " CL_DEFAULT_CONFIG ")\n"
	           "  -t       check the configuration and exit\n"
	           "  -V       print the version\n"
	           "  -h       print this help\n");
}

int
main(int argc, char **argv)
{
	const char *path = CL_DEFAULT_CONFIG;
	struct cl_config cfg;
	char err[CL_ERR_LEN];
	int ch, test = 0;

	while ((ch = getopt(argc, argv, "c:tVh")) != -1) {
		switch (ch) {
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
	return cl_server_main(&cfg);
}
