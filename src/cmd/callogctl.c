/* callogctl.c : the operator's tool (placeholder until the commands land). */
#include <stdio.h>

int
main(void)
{
	fprintf(stderr, "usage: callogctl [-c FILE] COMMAND\n");
	return 2;
}
