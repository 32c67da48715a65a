/*
 * `cmake --install` puts the man page (made from the --help texts) and the
 * bash and zsh completion scripts under the prefix; the man page renders
 * with `man -l` and names every command; bash completes commands and a
 * command's options from the installed binary.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "clitest.h"

static struct clitest t;
static char prefix[512];

static int setup(void **state)
{
	char cmd[1400];

	(void)state;
	ct_init(&t, "install-docs");
	snprintf(prefix, sizeof(prefix), "%s/prefix", t.dir);
	snprintf(cmd, sizeof(cmd), "cmake --install '%s' --prefix '%s' >'%s/install.log' 2>&1",
		 LF_BINARY_DIR, prefix, t.dir);
	if (system(cmd) != 0) {
		snprintf(cmd, sizeof(cmd), "cat '%s/install.log' >&2", t.dir);
		if (system(cmd) != 0)
			return -1;
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	ct_done(&t);
	return 0;
}

/* the output of a shell command (NULL on failure) */
static char *sh_out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *sh_out(const char *fmt, ...)
{
	char *cmd = NULL, *out = NULL;
	size_t n, len = 0;
	va_list ap;
	FILE *p;

	va_start(ap, fmt);
	if (vasprintf(&cmd, fmt, ap) < 0)
		abort();
	va_end(ap);
	p = popen(cmd, "r");
	free(cmd);
	if (!p)
		return NULL;
	/* all of it: the man page outgrows any fixed buffer */
	do {
		out = realloc(out, len + 4097);
		if (!out)
			abort();
		n = fread(out + len, 1, 4096, p);
		len += n;
	} while (n > 0);
	out[len] = '\0';
	if (pclose(p) != 0) {
		free(out);
		return NULL;
	}
	return out;
}

static void test_installed_files(void **state)
{
	static const char *const files[] = {
		"bin/ledgerform", "share/man/man1/ledgerform.1",
		"share/bash-completion/completions/ledgerform", "share/zsh/site-functions/_ledgerform",
	};
	char *man;

	(void)state;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char *rel = NULL;

		assert_true(asprintf(&rel, "prefix/%s", files[i]) > 0);
		if (!ct_exists(&t, rel))
			fail_msg("not installed: %s", files[i]);
		free(rel);
	}
	man = ct_read(&t, "prefix/share/man/man1/ledgerform.1");
	assert_non_null(strstr(man, ".TH LEDGERFORM 1"));
	/* a section per command of the table, with that command's --help */
	assert_non_null(strstr(man, ".SS graph\n.nf\nUsage: ledgerform graph -f SPEC"));
	assert_non_null(strstr(man, ".SS completion\n"));
	assert_non_null(strstr(man, ".SS plan\n"));
	assert_non_null(strstr(man, ".SS issue\n.nf\nUsage: ledgerform issue FILE --ca-cert"));
	free(man);
}

static void test_man_renders(void **state)
{
	char *out;

	(void)state;
	if (system("command -v man >/dev/null 2>&1") != 0)
		skip();
	out = sh_out("MANWIDTH=100 man -l '%s/share/man/man1/ledgerform.1' 2>&1", prefix);
	assert_non_null(out);
	assert_non_null(strstr(out, "COMMANDS"));
	assert_non_null(strstr(out, "Usage: ledgerform destroy -f SPEC"));
	free(out);
	/* groff finds nothing wrong with the roff */
	out = sh_out("MANWIDTH=100 man --warnings -l '%s/share/man/man1/ledgerform.1' 2>&1 >/dev/null",
		     prefix);
	assert_non_null(out);
	assert_string_equal(out, "");
	free(out);
}

static void test_bash_completion(void **state)
{
	char *out;

	(void)state;
	out = sh_out("PATH='%s/bin':\"$PATH\" bash -c '. \"%s/share/bash-completion/completions/ledgerform\"; "
		     "COMP_WORDS=(ledgerform gr); COMP_CWORD=1; _ledgerform; echo \"${COMPREPLY[*]}\"; "
		     "COMP_WORDS=(ledgerform destroy --ke); COMP_CWORD=2; _ledgerform; "
		     "echo \"${COMPREPLY[*]}\"; "
		     "COMP_WORDS=(ledgerform issue --tls-ca-k); COMP_CWORD=2; _ledgerform; "
		     "echo \"${COMPREPLY[*]}\"'", prefix, prefix);
	assert_non_null(out);
	assert_string_equal(out, "graph\n--keep-crypto\n--tls-ca-key\n");
	free(out);
	assert_int_equal(ct_run(&t, "completion fish"), 1);
	assert_non_null(strstr(t.err, "expected bash or zsh"));
}

static void test_zsh_completion(void **state)
{
	char *out;

	(void)state;
	if (system("command -v zsh >/dev/null 2>&1") != 0)
		skip();
	/* the script parses and defines its function */
	out = sh_out("zsh -c 'compdef() { :; }; compadd() { :; }; "
		     "source \"%s/share/zsh/site-functions/_ledgerform\" 2>&1; whence -w _ledgerform'",
		     prefix);
	assert_non_null(out);
	assert_non_null(strstr(out, "_ledgerform: function"));
	free(out);
}

/* no file of the source tree keeps a merge's conflict markers (a merge
 * once left them in docs/spec.md and docs/chaincode.md) */
static void test_no_conflict_markers(void **state)
{
	char *out;

	(void)state;
	out = sh_out("cd '%s' && grep -rlE '^(<<<<<<< |>>>>>>> )' "
		     "README.md CMakeLists.txt core drivers templates include plans "
		     "state tests/unit tests/e2e tests/abi tests/drivers tests/fuzz "
		     "bench docs examples .ci 2>/dev/null; true", LF_SOURCE_DIR);
	assert_non_null(out);
	if (out[0])
		fail_msg("conflict markers in:\n%s", out);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_installed_files),
		cmocka_unit_test(test_man_renders),
		cmocka_unit_test(test_bash_completion),
		cmocka_unit_test(test_zsh_completion),
		cmocka_unit_test(test_no_conflict_markers),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
