/* cmd_send.c : callogctl send: NDJSON events to the daemon, answers printed. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "callogd/client.h"
#include "callogd/ctl.h"
#include "callogd/util.h"
#include "callogd/views.h"

#define SEND_MAX_IN_FLIGHT 1024    /* lines sent and not yet answered */
#define SEND_MAX_OUT (1024 * 1024) /* bytes queued for the socket */
#define SEND_READ_CHUNK 65536      /* bytes read from the input at once */
#define SEND_STALL_MS 30000        /* no answer for this long: give up */

/* --- send --------------------------------------------------------------- */

struct sender {
	struct cl_client *cl;
	int in_fd;
	char *buf; /* input not yet sent */
	size_t len, cap;
	size_t limit;    /* a partial line longer than this is streamed through */
	int passthrough; /* the current line is being streamed: its answer is counted */
	int eof;
	int64_t sent, answers, errors;
};

/* Blank lines (whitespace only) get no answer from the daemon: not sent, not counted. */
static int
blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return 0;
	return 1;
}

/* Moves the complete lines of s->buf to the client. */
static int
send_lines(struct sender *s, char *err)
{
	size_t start = 0;

	while (start < s->len) {
		char *p = s->buf + start, *lf = memchr(p, '\n', s->len - start);
		size_t n = lf ? (size_t)(lf - p) : s->len - start;
		if (s->passthrough) {
			if (cl_client_send_raw(s->cl, p, lf ? n + 1 : n, err) < 0)
				return -1;
			start += lf ? n + 1 : n;
			s->passthrough = lf == NULL;
			continue;
		}
		if (lf == NULL) {
			/* An over-long line goes out as it comes; the daemon answers too_long. */
			if (n > s->limit) {
				if (cl_client_send_raw(s->cl, p, n, err) < 0)
					return -1;
				cl_client_expect(s->cl, 1);
				s->sent++;
				s->passthrough = 1;
				start += n;
			}
			break;
		}
		if (!blank(p, n)) {
			if (cl_client_send_line(s->cl, p, n, err) < 0)
				return -1;
			s->sent++;
		}
		start += n + 1;
	}
	memmove(s->buf, s->buf + start, s->len - start);
	s->len -= start;
	return 0;
}

static int
send_input(struct sender *s, char *err)
{
	ssize_t n;

	do
		n = read(s->in_fd, s->buf + s->len, s->cap - s->len);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		snprintf(err, CL_ERR_LEN, "read: %s", strerror(errno));
		return -1;
	}
	if (n == 0) {
		s->eof = 1;
		if (s->passthrough)
			return cl_client_send_raw(s->cl, "\n", 1, err);
		if (s->len > 0 && !blank(s->buf, s->len)) {
			if (cl_client_send_line(s->cl, s->buf, s->len, err) < 0)
				return -1;
			s->sent++;
		}
		s->len = 0;
		return 0;
	}
	s->len += (size_t)n;
	return send_lines(s, err);
}

static int
send_answer(void *arg, const char *line, size_t len, char *err)
{
	struct sender *s = arg;

	(void)err;
	s->answers++;
	if (!cl_client_is_ack(line, len))
		s->errors++;
	fwrite(line, 1, len, stdout);
	putchar('\n');
	return 0;
}

int
cl_ctl_send(struct cl_ctl *ctl, int argc, char **argv)
{
	struct sender s = {.in_fd = STDIN_FILENO};
	const char *path = NULL;
	char err[CL_ERR_LEN] = "";
	int64_t last_progress;
	int rc = 1;

	if (argc > 2)
		return cl_ctl_usage_error("send takes at most one FILE", NULL);
	if (argc == 2 && argv[1][0] == '-' && argv[1][1] != '\0')
		return cl_ctl_usage_error("send: unknown option %s", argv[1]);
	if (argc == 2 && strcmp(argv[1], "-") != 0)
		path = argv[1];
	if (cl_ctl_config(ctl) < 0)
		return 1;
	if (path != NULL && (s.in_fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		fprintf(stderr, "callogctl: %s: %s\n", path, strerror(errno));
		return 1;
	}
	s.limit = (size_t)ctl->cfg.events_max_line + 1; /* room for a CR */
	s.cap = s.limit + SEND_READ_CHUNK;
	if ((s.buf = malloc(s.cap)) == NULL) {
		snprintf(err, sizeof(err), "out of memory");
		goto out;
	}
	if ((s.cl = cl_client_open(&ctl->cfg, err)) == NULL)
		goto out;
	last_progress = cl_mono_us();
	while (!s.eof || cl_client_in_flight(s.cl) > 0 || cl_client_out_pending(s.cl) > 0) {
		int want_input = !s.eof && cl_client_in_flight(s.cl) < SEND_MAX_IN_FLIGHT &&
		                 cl_client_out_pending(s.cl) < SEND_MAX_OUT;
		struct pollfd p[2] = {
		    {.fd = cl_client_fd(s.cl), .events = cl_client_poll_events(s.cl)},
		    {.fd = want_input ? s.in_fd : -1, .events = POLLIN},
		};
		int64_t answers = s.answers;
		int n = poll(p, 2, want_input ? -1 : 1000);
		if (n < 0 && errno != EINTR) {
			snprintf(err, sizeof(err), "poll: %s", strerror(errno));
			goto out;
		}
		if (n > 0 && p[0].revents && cl_client_handle(s.cl, p[0].revents, send_answer, &s, err) < 0)
			goto out;
		if (n > 0 && p[1].revents && send_input(&s, err) < 0)
			goto out;
		if (s.answers != answers || want_input) {
			last_progress = cl_mono_us();
		} else if (cl_mono_us() - last_progress > (int64_t)SEND_STALL_MS * 1000) {
			snprintf(err, sizeof(err), "no answer from the daemon for %d s with %lld due",
			         SEND_STALL_MS / 1000, (long long)cl_client_in_flight(s.cl));
			goto out;
		}
	}
	err[0] = '\0';
	rc = s.errors > 0 ? 1 : 0;
out:
	if (fflush(stdout) != 0 && rc == 0) {
		snprintf(err, sizeof(err), "stdout: %s", strerror(errno));
		rc = 1;
	}
	if (err[0] != '\0')
		cl_ctl_fail("send: %s", err);
	else if (s.errors > 0)
		fprintf(stderr, "callogctl: send: %lld of %lld events rejected\n", (long long)s.errors,
		        (long long)s.sent);
	cl_client_close(s.cl);
	free(s.buf);
	if (path != NULL && s.in_fd >= 0)
		close(s.in_fd);
	return rc;
}
