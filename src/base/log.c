/* log.c : owns the log stream: one line per event, syslog priority prefix. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include <event2/event.h>

#include "callogd/log.h"

/* Written by the loop (reload), read by every thread that logs. */
static _Atomic int log_level = CL_LOG_INFO;
static pthread_mutex_t log_mtx = PTHREAD_MUTEX_INITIALIZER;

static const struct {
	const char *name;
	int level;
} log_names[] = {
    {"error", CL_LOG_ERROR},
    {"warn", CL_LOG_WARN},
    {"info", CL_LOG_INFO},
    {"debug", CL_LOG_DEBUG},
};

int
cl_log_level_parse(const char *name)
{
	for (size_t i = 0; i < sizeof(log_names) / sizeof(log_names[0]); i++)
		if (strcmp(name, log_names[i].name) == 0)
			return log_names[i].level;
	return -1;
}

const char *
cl_log_level_name(int level)
{
	for (size_t i = 0; i < sizeof(log_names) / sizeof(log_names[0]); i++)
		if (log_names[i].level == level)
			return log_names[i].name;
	return "?";
}

static void
log_vwrite(int level, const char *fmt, va_list ap, const char *suffix)
{
	char line[2048];
	int n;

	if (level > atomic_load_explicit(&log_level, memory_order_relaxed))
		return;
	n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n < 0)
		return;
	/* One fprintf per line under a lock: the writer thread logs too. */
	pthread_mutex_lock(&log_mtx);
	fprintf(stderr, "<%d>%s%s%s\n", level, line, suffix ? ": " : "", suffix ? suffix : "");
	pthread_mutex_unlock(&log_mtx);
}

void
cl_log(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(level, fmt, ap, NULL);
	va_end(ap);
}

void
cl_log_errno(int level, const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	log_vwrite(level, fmt, ap, strerror(saved));
	va_end(ap);
	errno = saved;
}

static void
log_from_libevent(int severity, const char *msg)
{
	int level = CL_LOG_DEBUG;

	if (severity == EVENT_LOG_ERR)
		level = CL_LOG_ERROR;
	else if (severity == EVENT_LOG_WARN)
		level = CL_LOG_WARN;
	else if (severity == EVENT_LOG_MSG)
		level = CL_LOG_INFO;
	cl_log(level, "src=libevent msg=\"%s\"", msg);
}

void
cl_log_init(int level)
{
	static int routed;

	atomic_store_explicit(&log_level, level, memory_order_relaxed);
	if (!routed) {
		routed = 1;
		event_set_log_callback(log_from_libevent);
	}
}

void
cl_log_set_level(int level)
{
	atomic_store_explicit(&log_level, level, memory_order_relaxed);
}

int
cl_log_get_level(void)
{
	return atomic_load_explicit(&log_level, memory_order_relaxed);
}
