/* End-to-end test helpers: see clitest.h. */
#include "clitest.h"

#include <dirent.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = calloc(1, (size_t)n + 1);
	if (n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n)
		buf[0] = '\0';
	fclose(f);
	return buf;
}

static char *fabric_bin_saved;
static bool fabric_bin_taken;

/* FABRIC_BIN, as CI sets it, is kept for the tests that run real nodes;
 * every other command starts none, whatever the environment says */
static void take_fabric_bin(void)
{
	const char *b = getenv("FABRIC_BIN");

	if (fabric_bin_taken)
		return;
	fabric_bin_taken = true;
	fabric_bin_saved = b && *b ? strdup(b) : NULL;
	unsetenv("FABRIC_BIN");
}

const char *ct_fabric_bin(void)
{
	take_fabric_bin();
	return fabric_bin_saved;
}

void ct_init(struct clitest *t, const char *name)
{
	char tmpl[256];

	take_fabric_bin();
	memset(t, 0, sizeof(*t));
	snprintf(tmpl, sizeof(tmpl), "/tmp/lf-e2e-%s-XXXXXX", name);
	if (!mkdtemp(tmpl))
		abort();
	snprintf(t->dir, sizeof(t->dir), "%s", tmpl);
}

void ct_done(struct clitest *t)
{
	char cmd[512];

	free(t->out);
	free(t->err);
	if (!getenv("LF_KEEP_TEST_DIRS")) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", t->dir);
	}
}

static char *command(struct clitest *t, const char *fmt, va_list ap, bool bg)
{
	char *args = NULL, *cmd = NULL;

	if (vasprintf(&args, fmt, ap) < 0)
		abort();
	if (asprintf(&cmd, "cd '%s' && %s%s/ledgerform %s >'%s/.out' 2>'%s/.err' </dev/null",
		     t->dir, bg ? "exec " : "", LF_BINARY_DIR, args, t->dir, t->dir) < 0)
		abort();
	free(args);
	return cmd;
}

static void load_output(struct clitest *t)
{
	char path[512];

	free(t->out);
	free(t->err);
	snprintf(path, sizeof(path), "%s/.out", t->dir);
	t->out = slurp(path);
	snprintf(path, sizeof(path), "%s/.err", t->dir);
	t->err = slurp(path);
	if (!t->out)
		t->out = calloc(1, 1);
	if (!t->err)
		t->err = calloc(1, 1);
}

int ct_run(struct clitest *t, const char *fmt, ...)
{
	va_list ap;
	char *cmd;
	int st;

	va_start(ap, fmt);
	cmd = command(t, fmt, ap, false);
	va_end(ap);
	st = system(cmd);
	free(cmd);
	t->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	load_output(t);
	if (getenv("LF_TEST_VERBOSE"))
		fprintf(stderr, "[exit %d]\n%s%s", t->status, t->out, t->err);
	return t->status;
}

pid_t ct_spawn(struct clitest *t, const char *fmt, ...)
{
	va_list ap;
	char *cmd;
	pid_t pid;

	va_start(ap, fmt);
	cmd = command(t, fmt, ap, true);
	va_end(ap);
	pid = fork();
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	free(cmd);
	return pid;
}

int ct_wait(pid_t pid)
{
	int st = 0;

	while (waitpid(pid, &st, 0) < 0)
		;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

void ct_write(struct clitest *t, const char *rel, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", t->dir, rel);
	f = fopen(path, "w");
	if (!f)
		abort();
	fputs(text, f);
	fclose(f);
}

char *ct_read(struct clitest *t, const char *rel)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", t->dir, rel);
	return slurp(path);
}

bool ct_exists(struct clitest *t, const char *rel)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", t->dir, rel);
	return lstat(path, &st) == 0;
}

unsigned int ct_mode(struct clitest *t, const char *rel)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", t->dir, rel);
	return stat(path, &st) == 0 ? (unsigned int)(st.st_mode & 07777) : 0;
}

size_t ct_count(struct clitest *t, const char *rel)
{
	char path[512];
	DIR *d;
	struct dirent *e;
	size_t n = 0;

	snprintf(path, sizeof(path), "%s/%s", t->dir, rel);
	d = opendir(path);
	if (!d)
		return 0;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

bool ct_wait_for(struct clitest *t, const char *rel, const char *needle, int ms)
{
	struct timespec ts = { 0, 20 * 1000000L };
	int waited;

	for (waited = 0; waited < ms; waited += 20) {
		char *s = ct_read(t, rel);
		bool ok = s && strstr(s, needle);

		free(s);
		if (ok)
			return true;
		nanosleep(&ts, NULL);
	}
	return false;
}

bool ct_pid_alive(long pid)
{
	char path[64], buf[256] = "";
	FILE *f;
	bool up;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	/* "PID (comm) STATE ...": Z zombie, X dead */
	up = buf[0] && strstr(buf, ") Z") == NULL && strstr(buf, ") X") == NULL;
	return up;
}

long ct_node_pid(struct clitest *t, const char *hosts_rel, const char *host)
{
	char rel[200], *s; /* fits ct_read's path beside t->dir */
	long pid;

	snprintf(rel, sizeof(rel), "%s/%s/fabric/node.pid", hosts_rel, host);
	s = ct_read(t, rel);
	if (!s)
		return 0;
	pid = strtol(s, NULL, 10);
	free(s);
	return pid;
}

int ct_sh(struct clitest *t, const char *fmt, ...)
{
	char cmd[4096];
	int n = snprintf(cmd, sizeof(cmd), "cd '%s' && { ", t->dir);
	va_list ap;

	va_start(ap, fmt);
	n += vsnprintf(cmd + n, sizeof(cmd) - (size_t)n, fmt, ap);
	va_end(ap);
	snprintf(cmd + n, sizeof(cmd) - (size_t)n, "; } > sh.out 2>&1");
	return system(cmd);
}

int ct_offline_admin_key(struct clitest *t, const char *home, const char *domain)
{
	return ct_sh(t, "mkdir -p '%s' && openssl ecparam -genkey -name prime256v1 "
		     "-noout -out '%s/admin.key' && openssl req -new -key '%s/admin.key' "
		     "-subj /CN=Admin@%s -out '%s/admin.csr'", home, home, home, domain,
		     home);
}

void ct_kill_nodes(struct clitest *t, const char *hosts_rel, const char *const *hosts,
		   size_t n)
{
	for (size_t i = 0; t->dir[0] && i < n; i++) {
		long pid = ct_node_pid(t, hosts_rel, hosts[i]);

		if (pid > 0 && ct_pid_alive(pid))
			kill((pid_t)pid, SIGKILL);
	}
}

int ct_destroy_nodes(struct clitest *t, const char *hosts_rel, const char *const *hosts,
		     size_t n, size_t *alive)
{
	long *pids = calloc(n ? n : 1, sizeof(*pids));
	int rc;

	for (size_t i = 0; pids && i < n; i++)
		pids[i] = ct_node_pid(t, hosts_rel, hosts[i]);
	rc = ct_run(t, "destroy -f spec.yaml --auto-approve");
	*alive = 0;
	for (size_t i = 0; pids && i < n; i++)
		*alive += pids[i] > 0 && ct_pid_alive(pids[i]);
	free(pids);
	return rc;
}

void ct_destroy_left(struct clitest *t)
{
	if (ct_fabric_bin())
		setenv("FABRIC_BIN", ct_fabric_bin(), 1);
	(void)ct_run(t, "destroy -f spec.yaml --auto-approve");
	unsetenv("FABRIC_BIN");
	ct_done(t);
}

json_t *ct_state_doc(struct clitest *t, const char *rel)
{
	char *s = ct_read(t, rel);
	json_t *doc = s ? json_loads(s, 0, NULL) : NULL;

	free(s);
	return doc;
}

const char *ct_output_of(json_t *doc, const char *addr, const char *key)
{
	json_t *r = json_object_get(json_object_get(doc, "resources"), addr);

	return json_string_value(json_object_get(json_object_get(r, "outputs"), key));
}

json_t *ct_outputs(struct clitest *t, const char *addr)
{
	json_t *r, *o;

	if (ct_run(t, "state show %s -f spec.yaml", addr) != 0)
		return NULL;
	r = json_loads(t->out, 0, NULL);
	o = json_incref(json_object_get(r, "outputs"));
	json_decref(r);
	return o;
}

json_t *ct_plan_action(json_t *plan, const char *addr)
{
	json_t *a;
	size_t i;

	json_array_foreach(json_object_get(plan, "actions"), i, a)
		if (strcmp(json_string_value(json_object_get(a, "address")), addr) == 0)
			return a;
	return NULL;
}

void ct_write_demo(struct clitest *t, const char *head, unsigned int peers,
		   const char *tail)
{
	char buf[2048];

	snprintf(buf, sizeof(buf),
		 "name: demo\n"
		 "fabric: {version: \"2.5\", consensus: etcdraft}\n"
		 "%s"
		 "orgs:\n"
		 "  - name: ordering\n"
		 "    domain: example.com\n"
		 "    orderers: {count: 1}\n"
		 "  - name: bank\n"
		 "    domain: bank.example.com\n"
		 "    peers: {count: %u}\n%s", head, peers, tail);
	ct_write(t, "spec.yaml", buf);
}
