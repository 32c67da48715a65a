/* Real etcd servers for tests: see etcd_fixture.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "etcd_fixture.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/util/util.h"
#include "state/state.h"

bool etcd_available(void)
{
	return system("command -v etcd >/dev/null 2>&1") == 0;
}

int etcd_fx_init(struct etcd_fx *fx, const char *tag)
{
	memset(fx, 0, sizeof(*fx));
	snprintf(fx->dir, sizeof(fx->dir), "%s/etcd-%s-XXXXXX", LF_BINARY_DIR, tag);
	return mkdtemp(fx->dir) ? 0 : -1;
}

static void exec_etcd(const struct etcd_fx *fx, const struct etcd_proc *p,
		      const char *cluster, const char *peer, const char *const *extra)
{
	const char *argv[40];
	char *data = lf_xasprintf("%s/%s.data", fx->dir, p->name);
	char *log = lf_xasprintf("%s/%s.log", fx->dir, p->name);
	int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600), n = 0;

	if (fd >= 0) {
		dup2(fd, 1);
		dup2(fd, 2);
	}
	argv[n++] = "etcd";
	argv[n++] = "--name";
	argv[n++] = p->name;
	argv[n++] = "--data-dir";
	argv[n++] = data;
	argv[n++] = "--listen-client-urls";
	argv[n++] = p->url;
	argv[n++] = "--advertise-client-urls";
	argv[n++] = p->url;
	argv[n++] = "--listen-peer-urls";
	argv[n++] = peer;
	argv[n++] = "--initial-advertise-peer-urls";
	argv[n++] = peer;
	argv[n++] = "--initial-cluster";
	argv[n++] = cluster;
	argv[n++] = "--initial-cluster-token";
	argv[n++] = fx->dir;
	for (size_t i = 0; extra && extra[i] && n < 38; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	execvp("etcd", (char *const *)argv);
	_exit(127);
}

int etcd_start(struct etcd_fx *fx, const char *name, int cport, int pport,
	       const char *cluster, bool https, const char *const *extra)
{
	struct etcd_proc *p = &fx->p[fx->n];
	char peer[64], self[128];

	if (fx->n >= ETCD_MAX_PROCS)
		return -1;
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->cport = cport;
	p->pport = pport;
	snprintf(p->url, sizeof(p->url), "%s://127.0.0.1:%d", https ? "https" : "http", cport);
	snprintf(peer, sizeof(peer), "http://127.0.0.1:%d", pport);
	snprintf(self, sizeof(self), "%s=%s", name, peer);
	p->pid = fork();
	if (p->pid < 0)
		return -1;
	if (p->pid == 0)
		exec_etcd(fx, p, cluster ? cluster : self, peer, extra);
	fx->n++;
	return 0;
}

int etcd_wait_ready(const json_t *settings, const char *base_dir)
{
	struct lf_state *st = NULL;
	struct lf_state_holder h;
	struct lf_err err = LF_ERR_INIT;
	uint64_t deadline = lf_now_ms() + 30000;
	int rc;

	if (lf_state_etcd_new(&st, settings, base_dir, &err) != 0)
		return -1;
	do {
		lf_err_clear(&err);
		rc = lf_state_holder(st, &h, &err);
		if (rc == LF_ERETRY || rc == LF_EAUTH || rc == LF_ERROR)
			lf_sleep_ms(100);
	} while ((rc == LF_ERETRY || rc == LF_ERROR) && lf_now_ms() < deadline);
	lf_state_free(st);
	return rc == 0 || rc == LF_ENOTFOUND ? 0 : -1;
}

void etcd_kill(struct etcd_fx *fx, int i)
{
	if (fx->p[i].pid <= 0)
		return;
	kill(fx->p[i].pid, SIGKILL);
	waitpid(fx->p[i].pid, NULL, 0);
	fx->p[i].pid = 0;
}

void etcd_fx_stop(struct etcd_fx *fx)
{
	for (int i = 0; i < fx->n; i++) {
		if (fx->p[i].pid <= 0)
			continue;
		kill(fx->p[i].pid, SIGTERM);
		waitpid(fx->p[i].pid, NULL, 0);
		fx->p[i].pid = 0;
	}
	if (fx->dir[0])
		lf_rmtree(fx->dir, NULL);
	fx->n = 0;
}

json_t *etcd_settings(const struct etcd_fx *fx, const char *prefix)
{
	json_t *eps = json_array();

	for (int i = 0; i < fx->n; i++)
		json_array_append_new(eps, json_string(fx->p[i].url));
	return json_pack("{s:o, s:s}", "endpoints", eps, "prefix", prefix);
}

int etcd_fx_start_one(struct etcd_fx *fx, const char *name, int cport, int pport)
{
	if (!etcd_available())
		return 0;
	if (etcd_fx_init(fx, name) != 0 ||
	    etcd_start(fx, name, cport, pport, NULL, false, NULL) != 0)
		return -1;
	return 0;
}

void etcd_need(const struct etcd_fx *fx)
{
	json_t *s;

	if (!etcd_available()) {
		print_message("etcd is not installed (Debian: etcd-server): skipped\n");
		skip();
	}
	s = etcd_settings(fx, "/ready/");
	assert_int_equal(etcd_wait_ready(s, NULL), 0);
	json_decref(s);
}
