/*
 * Nodes as systemd units (the `service` callback, LF_CAP_SYSTEMD). Where
 * systemd is PID 1 on the machine (/run/systemd/system, as sd_booted
 * checks; config supervisor: systemd|nohup overrides), a node is the unit
 * ledgerform-NAME.service rendered from
 * templates/systemd/ledgerform-node.service.in (embedded at build time):
 * User= the SSH user, WorkingDirectory= the machine root,
 * EnvironmentFile= fabric/node.env (0600) with the node's environment,
 * ExecStart= /bin/sh ROOT/<the bundle's start script>, Restart=on-failure,
 * enabled at boot, output to the journal. Elsewhere LF_EUNSUPPORTED: the
 * caller runs the node under its own supervisor (nohup).
 *
 * systemctl sequences (with `sudo -n` when the user is not root):
 *   start:  daemon-reload; enable U; restart U; show -p MainPID -p ActiveState U
 *   stop:   disable --now U; daemon-reload       (only when U is installed)
 *   status: show -p MainPID -p ActiveState U
 */
#include "ssh.h"
#include "ssh_unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SVC_PRE \
	"set -e; u=ledgerform-$1.service; d=$2; S=; " \
	"if [ \"$(id -u)\" != 0 ]; then S='sudo -n'; fi; "

static const char SH_SVC_START[] = SVC_PRE
	"r=$(pwd); case \"$r\" in *[!A-Za-z0-9._/+-]*) "
	"echo \"root '$r' has characters other than letters, digits and /._-+\" >&2; exit 1 ;; esac; "
	"sed \"s|@ROOT@|$r|g\" \"fabric/$u.in\" >\"fabric/$u\"; "
	"$S mkdir -p \"$d\"; $S cp \"fabric/$u\" \"$d/.$u.tmp\"; $S chmod 0644 \"$d/.$u.tmp\"; "
	"$S mv -f \"$d/.$u.tmp\" \"$d/$u\"; "
	"$S systemctl daemon-reload; $S systemctl enable \"$u\"; $S systemctl restart \"$u\"; "
	"$S systemctl show -p MainPID -p ActiveState \"$u\"";

static const char SH_SVC_STOP[] = SVC_PRE
	"if [ -f \"$d/$u\" ]; then $S systemctl disable --now \"$u\"; $S rm -f \"$d/$u\"; "
	"$S systemctl daemon-reload; fi; rm -f \"fabric/$u\" \"fabric/$u.in\"; "
	"echo ActiveState=inactive; echo MainPID=0";

static const char SH_SVC_STATUS[] = SVC_PRE
	"$S systemctl show -p MainPID -p ActiveState \"$u\"";

static int name_ok(const char *s, const char *extra)
{
	size_t i;

	if (!s || !*s || s[0] == '.' || s[0] == '-')
		return 0;
	for (i = 0; s[i]; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || strchr("_.-", s[i]) ||
		      (extra && strchr(extra, s[i]))))
			return 0;
	return 1;
}

/* append text, growing *buf; 0 or -1 */
static int grow(char **buf, size_t *len, const char *text, size_t n)
{
	char *p = realloc(*buf, *len + n + 1);

	if (!p)
		return -1;
	memcpy(p + *len, text, n);
	*len += n;
	p[*len] = '\0';
	*buf = p;
	return 0;
}

/* the unit text with every @KEY@ but @ROOT@ replaced (malloc'd) */
static char *unit_render(const struct lf_driver_conn *c, const struct lf_target *t,
			 const struct lf_service *svc, size_t *len)
{
	const char *vals[][2] = { { "@NAME@", svc->name }, { "@USER@", c->cfg.user },
				  { "@EXEC@", svc->exec },
				  { "@RESOURCE@", svc->resource ? svc->resource : t->resource } };
	const char *p = SSH_UNIT_TEMPLATE;
	char *out = NULL;
	size_t i, k;
	int rc = 0;

	*len = 0;
	while (rc == 0 && *p) {
		for (i = 0; i < 4 && strncmp(p, vals[i][0], strlen(vals[i][0])) != 0; i++)
			;
		if (i < 4) {
			rc = grow(&out, len, vals[i][1], strlen(vals[i][1]));
			p += strlen(vals[i][0]);
			continue;
		}
		k = strcspn(p + 1, "@") + 1;
		rc = grow(&out, len, p, k);
		p += k;
	}
	if (rc != 0) {
		free(out);
		return NULL;
	}
	return out;
}

/* envp as systemd's EnvironmentFile: KEY="VALUE" with \ and " escaped */
static char *env_render(const char *const *envp, size_t *len, struct lf_err *err)
{
	char *out = NULL;
	size_t i, j;
	int rc = grow(&out, len, "", 0);

	for (i = 0; rc == 0 && envp && envp[i]; i++) {
		const char *eq = strchr(envp[i], '=');

		if (!eq || eq == envp[i] || strchr(envp[i], '\n')) {
			free(out);
			ssh_host->err_set(err, LF_EINVALID,
					  "ssh: environment entry %zu is not KEY=VALUE on one line", i);
			return NULL;
		}
		rc = grow(&out, len, envp[i], (size_t)(eq - envp[i]) + 1);
		rc |= grow(&out, len, "\"", 1);
		for (j = 1; rc == 0 && eq[j]; j++) {
			if (eq[j] == '\\' || eq[j] == '"')
				rc = grow(&out, len, "\\", 1);
			rc |= grow(&out, len, eq + j, 1);
		}
		rc |= grow(&out, len, "\"\n", 2);
	}
	if (rc != 0) {
		free(out);
		ssh_host->err_set(err, LF_ERROR, "ssh: out of memory");
		return NULL;
	}
	return out;
}

/* 's' or 'n' into m->sup */
static int supervisor_decide(struct lf_driver_conn *c, struct ssh_machine *m,
			     struct lf_call *call, int *sup, struct lf_err *err)
{
	char *out = NULL, *errout = NULL;
	int status = 1, rc = 0, known;

	ssh_lock(m);
	known = *sup = m->sup;
	ssh_unlock(m);
	if (known)
		return 0;
	if (strcmp(c->cfg.supervisor, "auto") == 0)
		rc = ssh_script(c, m, "[ -d /run/systemd/system ]", &status, &out, &errout, call,
				err);
	else
		status = strcmp(c->cfg.supervisor, "systemd") == 0 ? 0 : 1;
	ssh_lock(m);
	if (rc == 0)
		m->sup = *sup = status == 0 ? 's' : 'n';
	ssh_unlock(m);
	free(out);
	free(errout);
	return rc;
}

static void status_parse(const char *text, struct lf_service_status *st)
{
	const char *pid = text ? strstr(text, "MainPID=") : NULL;
	const char *as = text ? strstr(text, "ActiveState=") : NULL;

	memset(st, 0, sizeof(*st));
	snprintf(st->manager, sizeof(st->manager), "systemd");
	st->main_pid = pid ? strtoll(pid + 8, NULL, 10) : 0;
	if (as)
		snprintf(st->state, sizeof(st->state), "%.*s", (int)strcspn(as + 12, "\n"), as + 12);
	st->active = strcmp(st->state, "active") == 0;
}

/* the unit template and the env file into the root (START) */
static int svc_files(struct lf_driver_conn *c, struct ssh_machine *m, const struct lf_target *t,
		     const struct lf_service *svc, const char *root, struct lf_call *call,
		     struct lf_err *err)
{
	char **envp = NULL, *unit = NULL, *env = NULL, upath[160];
	size_t ulen = 0, elen = 0;
	struct lf_file f[2];
	int rc = ssh_bin_ensure(c, m, svc->envp, &envp, call, err);

	if (rc == 0 && !(unit = unit_render(c, t, svc, &ulen)))
		rc = ssh_host->err_set(err, LF_ERROR, "ssh: out of memory");
	if (rc == 0 && !(env = env_render(envp ? (const char *const *)envp : svc->envp, &elen,
					  err)))
		rc = LF_EINVALID;
	if (rc == 0) {
		snprintf(upath, sizeof(upath), "fabric/ledgerform-%s.service.in", svc->name);
		f[0] = (struct lf_file){ upath, unit, ulen, 0644, NULL };
		f[1] = (struct lf_file){ "fabric/node.env", env, elen, 0600, NULL };
		rc = ssh_put_files(c, m, root, f, 2, call, err);
	}
	free(unit);
	if (env)
		explicit_bzero(env, elen);
	free(env);
	ssh_envp_free(envp);
	return rc;
}

static int svc_check(const struct lf_service *svc, int op, struct lf_err *err)
{
	if (!svc || !name_ok(svc->name, NULL) || strlen(svc->name) > 100)
		return ssh_host->err_set(err, LF_EINVALID,
					 "ssh: a service name is letters, digits and _.- (not '%s')",
					 svc && svc->name ? svc->name : "");
	if (op == LF_SVC_START && (!svc->exec || !name_ok(svc->exec, "/") ||
				   strstr(svc->exec, "..")))
		return ssh_host->err_set(err, LF_EINVALID,
					 "ssh: a service's start script is a relative path of letters, digits and _.-/");
	if (op != LF_SVC_START && op != LF_SVC_STOP && op != LF_SVC_STATUS)
		return ssh_host->err_set(err, LF_EINVALID, "ssh: unknown service operation %d", op);
	return 0;
}

static int svc_run(struct lf_driver_conn *c, struct ssh_machine *m, const struct lf_target *t,
		   const struct lf_service *svc, int op, const char *root,
		   struct lf_service_status *st, struct lf_call *call, struct lf_err *err)
{
	const char *script = op == LF_SVC_START ? SH_SVC_START
			     : op == LF_SVC_STOP ? SH_SVC_STOP : SH_SVC_STATUS;
	const char *argv[] = { script, svc->name, c->cfg.unit_dir, NULL };
	struct ssh_run r = { argv, NULL, NULL, 0, 0, 16384, 1, root };
	char *out = NULL, *errout = NULL;
	int status = 0, rc = 0;

	if (op == LF_SVC_START)
		rc = svc_files(c, m, t, svc, root, call, err);
	if (rc == 0)
		rc = ssh_run_text(c, m, &r, &status, &out, &errout, call, err);
	if (rc == 0 && status != 0)
		rc = ssh_host->err_set(err, LF_ERROR,
				       "ssh: %s: systemd unit ledgerform-%s.service on %s: exit status %d: %.300s",
				       t->resource, svc->name, t->machine_address, status,
				       errout ? errout : "");
	if (rc == 0 && st)
		status_parse(out, st);
	free(out);
	free(errout);
	return rc;
}

int ssh_service(struct lf_driver_conn *c, const struct lf_target *t,
		const struct lf_service *svc, int op, struct lf_service_status *st,
		struct lf_call *call, unsigned int flags, struct lf_err *err)
{
	struct ssh_machine *m = NULL;
	char *root = NULL;
	int sup = 0;
	int rc = flags ? ssh_host->err_set(err, LF_EINVALID,
					   "ssh: unsupported flags (0x%x) in service", flags) : 0;

	if (rc == 0)
		rc = svc_check(svc, op, err);
	if (rc == 0)
		rc = ssh_root_of(c, t, &root, err);
	if (rc == 0)
		rc = ssh_machine_get(c, t, call, &m, err);
	if (rc != 0) {
		free(root);
		return rc;
	}
	rc = supervisor_decide(c, m, call, &sup, err);
	/* a unit installed before (the supervisor setting changed since) is
	 * still stopped and removed */
	if (rc == 0 && sup != 's' && op != LF_SVC_STOP)
		rc = ssh_host->err_set(err, LF_EUNSUPPORTED,
				       "ssh: %s has no systemd as PID 1: its nodes run under the supervisor (nohup)",
				       t->machine_address);
	if (rc == 0)
		rc = svc_run(c, m, t, svc, op, root, st, call, err);
	ssh_machine_put(m);
	free(root);
	return rc;
}
