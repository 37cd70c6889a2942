/* log.h : the daemon's one logger: levelled, key=value lines to stderr. */
#ifndef CALLOGD_LOG_H
#define CALLOGD_LOG_H

enum cl_log_level {
	CL_LOG_ERROR = 3, /* the numbers are syslog priorities: <3> .. <7> */
	CL_LOG_WARN = 4,
	CL_LOG_INFO = 6,
	CL_LOG_DEBUG = 7,
};

/* Parses "error", "warn", "info", "debug"; returns -1 for anything else. */
int cl_log_level_parse(const char *name);
const char *cl_log_level_name(int level);

/* Sets the level and routes libevent's and SQLite's own messages here. */
void cl_log_init(int level);
void cl_log_set_level(int level);
int cl_log_get_level(void);

void cl_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* As cl_log, with ": strerror(errno)" appended. */
void cl_log_errno(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) cl_log(CL_LOG_ERROR, __VA_ARGS__)
#define log_warn(...) cl_log_errno(CL_LOG_WARN, __VA_ARGS__)
#define log_warnx(...) cl_log(CL_LOG_WARN, __VA_ARGS__)
#define log_info(...) cl_log(CL_LOG_INFO, __VA_ARGS__)
#define log_debug(...)                                                                                                 \
	do {                                                                                                           \
		if (cl_log_get_level() >= CL_LOG_DEBUG)                                                                \
			cl_log(CL_LOG_DEBUG, __VA_ARGS__);                                                             \
	} while (0)

#endif
