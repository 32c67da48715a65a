/* ledgerform command line: thin over the engine. */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "version") == 0) {
		printf("ledgerform %s\n", LF_VERSION);
		return 0;
	}
	fprintf(stderr, "usage: ledgerform COMMAND [options]\n");
	return 1;
}
