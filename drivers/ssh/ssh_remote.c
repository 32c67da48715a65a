/*
 * The machine's root on the remote side: made, checked and removed by
 * small fixed shell scripts (their values passed as $1.., never pasted
 * into the text). The root carries the marker .ledgerform-host naming the
 * state's lineage and the host's resource address, so release only ever
 * removes what ledgerform made for this network. Scripts exit 0 (ours),
 * 2 (absent), 3 (not made by ledgerform: no marker, or a symlink) or 4
 * (another network's); 0 prints the machine's facts as KEY=VALUE lines.
 * supervisor is what runs nodes there: systemd where it is PID 1 (or
 * config supervisor: systemd), else the core's nohup supervisor (config
 * supervisor: nohup forces that); see ssh_service.c.
 */
#include "ssh.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* exits 2, 3 or 4 unless $1 is our root; else goes on (shell builtins
 * only: every program started costs a fork and an exec on the machine) */
#define SH_OURS \
	"d=$1; " \
	"if [ -L \"$d\" ]; then exit 3; fi; " \
	"if [ ! -e \"$d\" ]; then exit 2; fi; " \
	"if [ ! -f \"$d/" SSH_MARKER "\" ] || [ -L \"$d/" SSH_MARKER "\" ]; then exit 3; fi; " \
	"l=; r=; while IFS= read -r x; do " \
	"if [ \"$x\" = \"lineage $2\" ]; then l=1; fi; " \
	"if [ \"$x\" = \"resource $3\" ]; then r=1; fi; " \
	"done <\"$d/" SSH_MARKER "\"; " \
	"if [ -z \"$l\" ] || [ -z \"$r\" ]; then exit 4; fi; "

/* the facts, with two programs (nproc, df) and builtins for the rest */
#define SH_FACTS \
	". /etc/os-release 2>/dev/null; " \
	"o=; read -r o </proc/sys/kernel/ostype 2>/dev/null || o=$(uname -s); " \
	"case $o in Linux) o=linux ;; *) o=$(printf %s \"$o\" | tr A-Z a-z) ;; esac; " \
	"echo \"os=$o\"; " \
	"echo \"os_release=${ID:-unknown} ${VERSION_ID:-}\"; " \
	"echo \"cpus=$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN)\"; " \
	"while read -r k v u; do if [ \"$k\" = MemTotal: ]; then " \
	"echo \"memory_mb=$((v / 1024))\"; break; fi; done </proc/meminfo; " \
	"df -Pk \"$d\" | { read -r h; read -r f t u a p; echo \"disk_free_mb=$((a / 1024))\"; }; " \
	"if [ -d /run/systemd/system ]; then echo systemd=true; s=systemd; " \
	"else echo systemd=false; s=nohup; fi; " \
	"case \"$4\" in systemd|nohup) s=$4 ;; esac; echo supervisor=$s"

/* make the root as one rename (marker first), or adopt ours */
static const char SH_PREPARE[] =
	"d=$1; n=\"$d.lf-new\"; "
	"if [ -d \"$n\" ] && { [ -f \"$n/" SSH_MARKER "\" ] || rmdir \"$n\" 2>/dev/null; }; "
	"then rm -rf \"$n\"; fi; "
	"if [ ! -e \"$d\" ] && [ ! -L \"$d\" ]; then "
	"mkdir -p -m 0755 \"$n\" && "
	"printf 'lineage %s\\nresource %s\\n' \"$2\" \"$3\" >\"$n/" SSH_MARKER "\" && "
	"mv \"$n\" \"$d\" || exit 1; fi; "
	SH_OURS SH_FACTS;

static const char SH_READ[] = SH_OURS SH_FACTS;

/* rename the root away, then remove it; a crashed release's trash goes */
static const char SH_RELEASE[] =
	"d=$1; t=\"$d.lf-trash\"; rm -rf \"$t\"; "
	SH_OURS
	"mv \"$d\" \"$t\" && rm -rf \"$t\"";

/* the root of target t: BASE/NAME (malloc'd) */
int ssh_root_of(struct lf_driver_conn *c, const struct lf_target *t, char **out,
		struct lf_err *err)
{
	char lin[9];
	size_t n;

	if (!t->name || !*t->name || strchr(t->name, '/') || t->name[0] == '.')
		return ssh_host->err_set(err, LF_EINVALID, "ssh: bad host name '%s'",
					 t->name ? t->name : "");
	snprintf(lin, sizeof(lin), "%s", t->lineage && *t->lineage ? t->lineage : "default");
	n = (c->cfg.root ? strlen(c->cfg.root) : 24) + strlen(t->name) + 4;
	*out = malloc(n);
	if (!*out)
		return ssh_host->err_set(err, LF_ERROR, "ssh: out of memory");
	if (c->cfg.root)
		snprintf(*out, n, "%s/%s", c->cfg.root, t->name);
	else
		snprintf(*out, n, ".ledgerform/%s/%s", lin, t->name);
	return 0;
}

static void facts_emit(const char *text, struct lf_kv_builder *out)
{
	const char *line = text, *nl, *eq;
	char key[64], val[256];

	for (; out && line && *line; line = nl ? nl + 1 : NULL) {
		nl = strchr(line, '\n');
		eq = strchr(line, '=');
		if (!eq || (nl && eq > nl) || eq - line >= (long)sizeof(key))
			continue;
		snprintf(key, sizeof(key), "%.*s", (int)(eq - line), line);
		snprintf(val, sizeof(val), "%.*s", (int)(nl ? nl - eq - 1 : (long)strlen(eq + 1)), eq + 1);
		if (strcmp(key, "cpus") == 0 || strcmp(key, "memory_mb") == 0 ||
		    strcmp(key, "disk_free_mb") == 0)
			ssh_host->kv_set_int(out, key, strtoll(val, NULL, 10));
		else
			ssh_host->kv_set(out, key, val);
	}
}

static int status_err(const struct lf_target *t, const char *root, int status,
		      const char *errout, struct lf_err *err)
{
	switch (status) {
	case 2:
		return ssh_host->err_set(err, LF_ENOTFOUND, "ssh: %s: '%s' is not on %s",
					 t->resource, root, t->machine_address);
	case 3:
		return ssh_host->err_set(err, LF_ECONFLICT,
					 "ssh: %s: '%s' on %s was not made by ledgerform (no %s marker), not touching it",
					 t->resource, root, t->machine_address, SSH_MARKER);
	case 4:
		return ssh_host->err_set(err, LF_ECONFLICT,
					 "ssh: %s: '%s' on %s belongs to another network or host, not touching it",
					 t->resource, root, t->machine_address);
	default:
		return ssh_host->err_set(err, LF_ERROR, "ssh: %s: exit status %d on %s: %.200s",
					 t->resource, status, t->machine_address, errout ? errout : "");
	}
}

/* which: 'p' prepare, 'r' read, 'x' release */
int ssh_root_op(struct lf_driver_conn *c, struct ssh_machine *m, const struct lf_target *t,
		int which, struct lf_kv_builder *out, struct lf_call *call,
		struct lf_err *err)
{
	const char *script = which == 'p' ? SH_PREPARE : which == 'r' ? SH_READ : SH_RELEASE;
	char *root = NULL, *text = NULL, *errout = NULL;
	const char *argv[] = { script, NULL, t->lineage ? t->lineage : "", t->resource,
			       c->cfg.supervisor, NULL };
	struct ssh_run r = { argv, NULL, NULL, 0, 0, 16384, 1, NULL };
	int status = 0;
	int rc = ssh_root_of(c, t, &root, err);

	argv[1] = root;
	if (rc == 0)
		rc = ssh_run_text(c, m, &r, &status, &text, &errout, call, err);
	if (rc == 0 && which == 'x' && status == 2)
		status = 0; /* a missing root is released */
	if (rc == 0 && which == 'r' && status == 4)
		status = 2; /* another network's root: not ours, so gone */
	if (rc == 0 && status != 0)
		rc = status_err(t, root, status, errout, err);
	if (rc == 0 && which != 'x')
		facts_emit(text, out);
	free(root);
	free(text);
	free(errout);
	return rc;
}
