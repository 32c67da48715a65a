/* See ec2fake.h. */
#include "ec2fake.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <curl/curl.h>

#include "core/util/util.h"

#define SERVER_JS LF_SOURCE_DIR "/tests/node/ec2-fake.js"
#define REQ "openssl req -config o.cnf -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 "

int ec2fake_certs(const char *dir)
{
	char *cmd = lf_xasprintf(
		"cd '%s' && printf '[req]\\ndistinguished_name=dn\\n[dn]\\n' > o.cnf && "
		REQ "-keyout ca.key -out ca.pem -subj /CN=test-ca -addext basicConstraints=critical,CA:TRUE "
		"-addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null && "
		REQ "-keyout srv.key -out srv.pem -subj /CN=ec2 -CA ca.pem -CAkey ca.key "
		"-addext subjectAltName=IP:127.0.0.1 -addext basicConstraints=critical,CA:FALSE 2>/dev/null && "
		REQ "-keyout other.key -out other.pem -subj /CN=other 2>/dev/null",
		dir);
	int rc = system(cmd);

	free(cmd);
	return rc;
}

static void child(const char *dir, int port, int out)
{
	char ps[16];

	snprintf(ps, sizeof(ps), "%d", port);
	dup2(out, STDOUT_FILENO);
	if (chdir(dir) != 0)
		_exit(126);
	execlp("node", "node", SERVER_JS, "--port", ps, "--cert", "srv.pem", "--key", "srv.key",
	       "--creds", "keys.json", (char *)NULL);
	_exit(127);
}

/* one port: the server prints "PORT n" once it listens */
static int start_one(struct ec2fake *f, int port)
{
	char line[64] = "";
	struct pollfd pfd;
	int fds[2], got = 0;
	FILE *in;

	if (pipe(fds) != 0)
		return -1;
	f->pid = fork();
	if (f->pid == 0) {
		close(fds[0]);
		child(f->dir, port, fds[1]);
	}
	close(fds[1]);
	in = fdopen(fds[0], "r");
	pfd.fd = fds[0];
	pfd.events = POLLIN;
	/* a bound on a stuck start, not a timing assertion */
	if (f->pid > 0 && in && poll(&pfd, 1, 30000) == 1 && fgets(line, sizeof(line), in) &&
	    sscanf(line, "PORT %d", &got) == 1 && got == port)
		f->port = port;
	if (in)
		fclose(in);
	if (!f->port)
		ec2fake_stop(f);
	return f->port ? 0 : -1;
}

int ec2fake_start(struct ec2fake *f, const char *dir, int first, int last)
{
	int p;

	memset(f, 0, sizeof(*f));
	f->pid = -1;
	snprintf(f->dir, sizeof(f->dir), "%s", dir);
	if (system("command -v node >/dev/null 2>&1") != 0)
		return -1;
	for (p = first; p <= last; p++)
		if (start_one(f, p) == 0)
			return 0;
	return -1;
}

void ec2fake_stop(struct ec2fake *f)
{
	if (f->pid > 0) {
		kill(f->pid, SIGTERM);
		waitpid(f->pid, NULL, 0);
	}
	f->pid = -1;
}

static size_t sink(char *p, size_t sz, size_t n, void *ud)
{
	lf_buf_append(ud, p, sz * n);
	return sz * n;
}

json_t *ec2fake_control(const struct ec2fake *f, const char *fmt, ...)
{
	char body[2048], url[64];
	struct lf_buf out = LF_BUF_INIT;
	char *ca = lf_path_join(f->dir, "ca.pem");
	CURL *h = curl_easy_init();
	va_list ap;
	json_t *j;

	va_start(ap, fmt);
	vsnprintf(body, sizeof(body), fmt, ap);
	va_end(ap);
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/_control", f->port);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CAINFO, ca);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &out);
	assert_int_equal(curl_easy_perform(h), CURLE_OK);
	curl_easy_cleanup(h);
	free(ca);
	j = json_loadb(out.data, out.len, 0, NULL);
	lf_buf_free(&out);
	assert_non_null(j);
	return j;
}

long long ec2fake_calls(const struct ec2fake *f, const char *action)
{
	json_t *s = ec2fake_control(f, "{\"op\":\"stats\"}");
	long long n = json_integer_value(json_object_get(json_object_get(s, "calls"), action));

	json_decref(s);
	return n;
}

json_t *ec2fake_instance(const struct ec2fake *f, const char *id)
{
	json_t *s = ec2fake_control(f, "{\"op\":\"stats\"}"), *v, *hit = NULL;
	size_t i;

	json_array_foreach(json_object_get(s, "instances"), i, v)
		if (strcmp(json_string_value(json_object_get(v, "id")), id) == 0)
			hit = json_incref(v);
	json_decref(s);
	return hit;
}

size_t ec2fake_live(const struct ec2fake *f, const char *resource)
{
	json_t *s = ec2fake_control(f, "{\"op\":\"stats\"}"), *v;
	size_t i, n = 0;

	json_array_foreach(json_object_get(s, "instances"), i, v) {
		const char *r = json_string_value(json_object_get(json_object_get(v, "tags"),
								  "ledgerform:resource"));
		const char *st = json_string_value(json_object_get(v, "state"));

		if (r && strcmp(r, resource) == 0 && strcmp(st, "terminated") != 0)
			n++;
	}
	json_decref(s);
	return n;
}
