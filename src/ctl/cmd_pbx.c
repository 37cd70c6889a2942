/* cmd_pbx.c : owns `callogctl pbx status`: one GET /metrics from the daemon,
 * its callogd_pbx_* series turned into a table (the CLI may block; it is not the loop). */
#include <errno.h>
#include <stdio.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "callogd/ctl.h"
#include "callogd/util.h"

#define METRICS_MAX (8 << 20)

/* The body of GET /metrics, malloc'd, or NULL with err. */
static char *
fetch_metrics(const char *listen, char *err)
{
	char host[256], *port, req[512], *buf = NULL;
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
	struct timeval tv = {5, 0};
	size_t len = 0;
	int fd = -1;

	snprintf(host, sizeof(host), "%s", listen);
	if ((port = strrchr(host, ':')) == NULL) {
		snprintf(err, CL_ERR_LEN, "http.listen \"%.64s\" is not HOST:PORT", listen);
		return NULL;
	}
	*port++ = '\0';
	char *h = host;
	if (h[0] == '[') { /* [v6]:port */
		h++;
		h[strcspn(h, "]")] = '\0';
	}
	if (h[0] == '\0')
		h = "127.0.0.1";
	int gai = getaddrinfo(h, port, &hints, &ai);
	if (gai != 0) {
		snprintf(err, CL_ERR_LEN, "cannot resolve %.64s: %s", h, gai_strerror(gai));
		return NULL;
	}
	if ((fd = socket(ai->ai_family, SOCK_STREAM, 0)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		snprintf(err, CL_ERR_LEN, "cannot reach the daemon at %.64s: %s", listen, strerror(errno));
		goto out;
	}
	int n = snprintf(req, sizeof(req), "GET /metrics HTTP/1.0\r\nHost: %s\r\n\r\n", h);
	if (write(fd, req, (size_t)n) != n || (buf = malloc(METRICS_MAX + 1)) == NULL) {
		snprintf(err, CL_ERR_LEN, "cannot ask the daemon: %s", strerror(errno));
		goto out;
	}
	ssize_t r;
	while (len < METRICS_MAX && (r = read(fd, buf + len, METRICS_MAX - len)) > 0)
		len += (size_t)r;
	buf[len] = '\0';
	char *body = strstr(buf, "\r\n\r\n");
	if (strncmp(buf, "HTTP/1.", 7) != 0 || strncmp(buf + 8, " 200", 4) != 0 || body == NULL) {
		snprintf(err, CL_ERR_LEN, "the daemon at %.64s did not answer GET /metrics", listen);
		free(buf);
		buf = NULL;
		goto out;
	}
	memmove(buf, body + 4, strlen(body + 4) + 1);
out:
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	return buf;
}

/* The value of NAME{pbx="link"} in text, or -1. */
static long long
series(const char *text, const char *name, const char *link)
{
	char key[256];
	const char *p;

	snprintf(key, sizeof(key), "\n%s{pbx=\"%s\"} ", name, link);
	if ((p = strstr(text, key)) == NULL)
		return -1;
	return atoll(p + strlen(key));
}

/* A label's value from a series line (up to its closing quote), into out. */
static void
label(const char *line, const char *name, char *out, size_t size)
{
	char key[64];
	const char *p;

	snprintf(key, sizeof(key), "%s=\"", name);
	out[0] = '\0';
	if ((p = strstr(line, key)) != NULL)
		snprintf(out, size, "%.*s", (int)strcspn(p + strlen(key), "\""), p + strlen(key));
}

static void
when(long long secs, char *out, size_t size)
{
	char t[CL_TIME_LEN];

	if (secs <= 0) {
		snprintf(out, size, "-");
		return;
	}
	cl_time_format(secs * 1000, t);
	snprintf(out, size, "%.19sZ", t);
}

/* Prints one line per PBX link (name, type, state, since, node, address, frames, events, reconnects, last frame). */
static int
status_print(const struct cl_config *cfg, FILE *out, char *err)
{
	char host[256] = "", node[256], *text;
	const char *p;
	int links = 0;

	if (cfg->http_listen[0] == '\0') {
		snprintf(err, CL_ERR_LEN, "http.listen is off: pbx status reads the daemon's /metrics");
		return -1;
	}
	if ((text = fetch_metrics(cfg->http_listen, err)) == NULL)
		return -1;
	gethostname(host, sizeof(host) - 1);
	fprintf(out, "%-16s %-4s %-10s %-20s %-16s %-24s %10s %10s %10s %s\n", "NAME", "TYPE", "STATE", "SINCE", "NODE",
	        "ADDRESS", "FRAMES", "EVENTS", "RECONNECTS", "LAST_FRAME");
	for (p = strstr(text, "\ncallogd_pbx_info{"); p; p = strstr(p + 1, "\ncallogd_pbx_info{")) {
		char line[1024], name[64], type[8], host[256], port[8], state[16], since[32], last[32], addr[300];
		snprintf(line, sizeof(line), "%.*s", (int)strcspn(p + 1, "\n"), p + 1);
		label(line, "pbx", name, sizeof(name));
		label(line, "type", type, sizeof(type));
		label(line, "host", host, sizeof(host));
		label(line, "port", port, sizeof(port));
		label(line, "state", state, sizeof(state));
		label(line, "node", node, sizeof(node)); /* the daemon's node.name; older daemons: this host */
		if (node[0] == '\0')
			snprintf(node, sizeof(node), "%s", host);
		when(series(text, "callogd_pbx_state_since_seconds", name), since, sizeof(since));
		when(series(text, "callogd_pbx_last_frame_seconds", name), last, sizeof(last));
		snprintf(addr, sizeof(addr), "%s:%s", host, port);
		fprintf(out, "%-16s %-4s %-10s %-20s %-16s %-24s %10lld %10lld %10lld %s\n", name, type, state, since,
		        node, addr, series(text, "callogd_pbx_frames_total", name),
		        series(text, "callogd_pbx_events_total", name),
		        series(text, "callogd_pbx_reconnects_total", name), last);
		links++;
	}
	if (links == 0 && strstr(text, "\ncallogd_cluster_leader 0\n") != NULL)
		fprintf(out, "(this node is not the cluster's leader: another node holds the PBX links)\n");
	else if (links == 0)
		fprintf(out, "(no PBX links configured)\n");
	free(text);
	return 0;
}

int
cl_ctl_pbx(struct cl_ctl *ctl, int argc, char **argv)
{
	char err[CL_ERR_LEN];

	if (argc != 2 || strcmp(argv[1], "status") != 0)
		return cl_ctl_usage_error("pbx takes status", NULL);
	if (cl_ctl_config(ctl) < 0)
		return 1;
	if (status_print(&ctl->cfg, stdout, err) < 0)
		return cl_ctl_fail("pbx status: %s", err);
	return 0;
}
