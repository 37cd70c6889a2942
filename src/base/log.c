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

struct out {
	char *p;
	size_t n, cap; /* cap > 0; p[n] is kept a NUL */
};

static void
put(struct out *o, const char *s, size_t len)
{
	size_t room = o->cap - 1 - o->n;

	if (len > room)
		len = room;
	memcpy(o->p + o->n, s, len);
	o->n += len;
	o->p[o->n] = '\0';
}

/*
 * A string argument as logged: control bytes (and DEL) become \xNN anywhere,
 * so a value from outside never starts a line of its own; inside quotes a " or
 * a \ gets a backslash too, so it never ends its quotes early.
 */
static void
put_value(struct out *o, const char *s, int quoted, long max)
{
	if (s == NULL)
		s = "(null)";
	for (long i = 0; s[i] && (max < 0 || i < max); i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[5];
		if (c < 0x20 || c == 0x7f) {
			snprintf(esc, sizeof(esc), "\\x%02x", c);
			put(o, esc, 4);
		} else if (quoted && (c == '"' || c == '\\')) {
			esc[0] = '\\', esc[1] = (char)c;
			put(o, esc, 2);
		} else {
			put(o, (const char *)&c, 1);
		}
	}
}

/* vsnprintf, but every %s is put_value()'d. The conversions are the ones -Wformat lets through. */
static void
log_format(struct out *o, const char *fmt, va_list ap)
{
	for (const char *f = fmt; *f; f++) {
		char spec[32], tmp[128];
		size_t k = 0;
		long width = -1, prec = -1;
		const char *start = f, *len;
		if (*f != '%') {
			put(o, f, 1);
			continue;
		}
		if (f[1] == '%') {
			put(o, "%", 1);
			f++;
			continue;
		}
		spec[k++] = '%';
		for (f++; *f && strchr("-+ #0", *f) && k < 8; f++)
			spec[k++] = *f;
		if (*f == '*') {
			width = va_arg(ap, int);
			f++;
		} else {
			for (; *f >= '0' && *f <= '9'; f++)
				width = (width < 0 ? 0 : width * 10) + (*f - '0');
		}
		if (*f == '.') {
			prec = 0;
			if (*++f == '*') {
				prec = va_arg(ap, int);
				f++;
			} else {
				for (; *f >= '0' && *f <= '9'; f++)
					prec = prec * 10 + (*f - '0');
			}
		}
		if (width >= 0)
			k += (size_t)snprintf(spec + k, sizeof(spec) - k, "%ld", width);
		if (prec >= 0)
			k += (size_t)snprintf(spec + k, sizeof(spec) - k, ".%ld", prec);
		len = f;
		while (*f && strchr("hljztL", *f))
			f++;
		if (*f == '\0')
			break;
		for (const char *l = len; l <= f && k < sizeof(spec) - 1; l++)
			spec[k++] = *l;
		spec[k] = '\0';
		switch (*f) {
		case 's':
			put_value(o, va_arg(ap, const char *), start > fmt && start[-1] == '"', prec);
			continue;
		case 'c':
			snprintf(tmp, sizeof(tmp), spec, va_arg(ap, int));
			break;
		case 'p':
			snprintf(tmp, sizeof(tmp), spec, va_arg(ap, void *));
			break;
		case 'f':
		case 'F':
		case 'e':
		case 'E':
		case 'g':
		case 'G':
		case 'a':
		case 'A':
			snprintf(tmp, sizeof(tmp), spec, va_arg(ap, double));
			break;
		case 'd':
		case 'i':
			if (len[0] == 'l' && len[1] == 'l')
				snprintf(tmp, sizeof(tmp), spec, va_arg(ap, long long));
			else if (len[0] == 'l' || len[0] == 'z' || len[0] == 'j' || len[0] == 't')
				snprintf(tmp, sizeof(tmp), spec, va_arg(ap, long));
			else
				snprintf(tmp, sizeof(tmp), spec, va_arg(ap, int));
			break;
		default: /* u x X o */
			if (len[0] == 'l' && len[1] == 'l')
				snprintf(tmp, sizeof(tmp), spec, va_arg(ap, unsigned long long));
			else if (len[0] == 'l' || len[0] == 'z' || len[0] == 'j' || len[0] == 't')
				snprintf(tmp, sizeof(tmp), spec, va_arg(ap, unsigned long));
			else
				snprintf(tmp, sizeof(tmp), spec, va_arg(ap, unsigned int));
			break;
		}
		put(o, tmp, strlen(tmp));
	}
}

static void
log_vwrite(int level, const char *fmt, va_list ap, const char *suffix)
{
	char line[2048];
	struct out o = {line, 0, sizeof(line)};

	if (level > atomic_load_explicit(&log_level, memory_order_relaxed))
		return;
	line[0] = '\0';
	log_format(&o, fmt, ap);
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
