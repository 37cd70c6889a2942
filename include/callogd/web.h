/* web.h : the agent console's static files, embedded at build time. */
#ifndef CALLOGD_WEB_H
#define CALLOGD_WEB_H

#include <stddef.h>

struct cl_web_asset {
	const char *path; /* "/console.html" */
	const char *type; /* Content-Type */
	const unsigned char *data;
	size_t len;
};

/* Terminated by an entry whose path is NULL. */
extern const struct cl_web_asset cl_web_assets[];

#endif
