/* test_log.c : log lines: values from outside can neither end their quotes nor
 * start a line of their own, and every other conversion prints as printf would. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "callogd/log.h"
#include "testutil.h"

/* What cl_log() wrote for one call, without the priority and the newline. */
static const char *
logged(char *buf, size_t len)
{
	FILE *f;
	size_t n;
	char *p;

	fflush(stderr);
	if ((f = fopen("test_log.out", "r")) == NULL)
		return "";
	n = fread(buf, 1, len - 1, f);
	fclose(f);
	buf[n] = '\0';
	if ((p = strrchr(buf, '\n')) != NULL)
		*p = '\0';
	if ((p = strrchr(buf, '\n')) != NULL)
		memmove(buf, p + 1, strlen(p + 1) + 1);
	return strchr(buf, '>') ? strchr(buf, '>') + 1 : buf;
}

int
main(void)
{
	char buf[4096], want[256];
	long long big = -1234567890123LL;
	size_t z = 42;

	if (freopen("test_log.out", "w", stderr) == NULL)
		return 1;
	cl_log_init(CL_LOG_DEBUG);
	cl_log(CL_LOG_INFO, "msg=\"x\" agent=\"%s\" raw=%s", "a\"1\\\nX", "b\rc\033");
	CHECK_STR(logged(buf, sizeof(buf)), "msg=\"x\" agent=\"a\\\"1\\\\\\x0aX\" raw=b\\x0dc\\x1b");
	cl_log(CL_LOG_INFO, "%d %ld %lld %zu %u %x %c %5d|%-3d|%.2f %s %.*s %% %s", -7, 123456789L, big, z, 7u, 255u,
	       'q', 42, 1, 3.14159, "s", 3, "abcdef", "end");
	snprintf(want, sizeof(want), "%d %ld %lld %zu %u %x %c %5d|%-3d|%.2f %s %.*s %% %s", -7, 123456789L, big, z, 7u,
	         255u, 'q', 42, 1, 3.14159, "s", 3, "abcdef", "end");
	CHECK_STR(logged(buf, sizeof(buf)), want);
	cl_log(CL_LOG_DEBUG, "quoted=\"%s\" n=%d", "plain", 5);
	CHECK_STR(logged(buf, sizeof(buf)), "quoted=\"plain\" n=5");
	unlink("test_log.out");
	fprintf(stdout, "%d passed, %d failed\n", tu_passed, tu_failed);
	return tu_failed ? 1 : 0;
}
