/* server.h : the daemon's one mutable root and its main loop. */
#ifndef CALLOGD_SERVER_H
#define CALLOGD_SERVER_H

#include "callogd/config.h"

/*
 * cl_server_main() : takes ownership of cfg, starts every listener, runs until
 * SIGTERM/SIGINT and returns the process exit code (0 clean, 1 startup failure).
 */
int cl_server_main(struct cl_config *cfg);

#endif
