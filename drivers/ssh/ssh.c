/*
 * The `ssh` driver (ABI 2, transport): machines that exist already (a
 * customer's own, given by address in the spec) or that a provider made,
 * reached over SSH with libssh2. One connection per machine, reused and
 * guarded by a mutex, so calls from parallel workers are safe
 * (LF_CAP_CONN_SHARED) and calls on different machines run at once.
 * See docs/ssh.md for the config and drivers/ssh/README.md for the files.
 */
#include "ssh.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct lf_host_api *ssh_host;

static int flags_check(unsigned int flags, unsigned int known, const char *fn,
		       struct lf_err *err)
{
	if (flags & ~known)
		return ssh_host->err_set(err, LF_EINVALID, "ssh: unsupported flags (0x%x) in %s",
					 flags & ~known, fn);
	return 0;
}

/* ---- config ------------------------------------------------------------ */

static const char *const cfg_keys[] = {
	"user", "port", "identity", "agent", "known_hosts", "host_key_checking",
	"host_key", "connect_timeout", "exec_timeout", "max_channels", "root", "bin_root", "jump", "path", "supervisor", "unit_dir", NULL
};

static const char *const hop_keys[] = {
	"address", "port", "user", "identity", "known_hosts", "host_key", NULL
};

#define SSH_MAX_HOPS 8

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* "~/x" with $HOME; malloc'd */
static char *expand_home(const char *p)
{
	const char *home = getenv("HOME");
	size_t n;
	char *s;

	if (!p || strncmp(p, "~/", 2) != 0 || !home)
		return dup_or_null(p);
	n = strlen(home) + strlen(p);
	s = malloc(n);
	if (s)
		snprintf(s, n, "%s%s", home, p + 1);
	return s;
}

static void cfg_free(struct ssh_cfg *cfg)
{
	size_t i;

	for (i = 0; i < cfg->njump; i++) {
		free(cfg->jump[i].address);
		free(cfg->jump[i].user);
		free(cfg->jump[i].identity);
		free(cfg->jump[i].known_hosts);
		free(cfg->jump[i].fingerprint);
	}
	free(cfg->jump);
	free(cfg->path);
	free(cfg->supervisor);
	free(cfg->unit_dir);
	free(cfg->user);
	free(cfg->identity);
	free(cfg->known_hosts);
	free(cfg->fingerprint);
	free(cfg->root);
	free(cfg->bin_root);
	memset(cfg, 0, sizeof(*cfg));
}

/* the jump hosts (validated already) */
static int cfg_read_jump(const struct lf_kv *kv, struct ssh_cfg *cfg)
{
	const struct lf_kv *arr = ssh_host->kv_get_kv(kv, "jump");
	const struct lf_kv *h;
	char idx[16];
	size_t n;

	for (n = 0; arr && n < SSH_MAX_HOPS; n++) {
		snprintf(idx, sizeof(idx), "%zu", n);
		if (!ssh_host->kv_get_kv(arr, idx))
			break;
	}
	if (n == 0)
		return 0;
	cfg->jump = calloc(n, sizeof(*cfg->jump));
	if (!cfg->jump)
		return -1;
	for (cfg->njump = 0; cfg->njump < n; cfg->njump++) {
		struct ssh_hop_cfg *j = &cfg->jump[cfg->njump];

		snprintf(idx, sizeof(idx), "%zu", cfg->njump);
		h = ssh_host->kv_get_kv(arr, idx);
		j->address = dup_or_null(ssh_host->kv_get_str(h, "address"));
		j->port = ssh_host->kv_get_int(h, "port", 22);
		j->user = dup_or_null(ssh_host->kv_get_str(h, "user"));
		j->identity = expand_home(ssh_host->kv_get_str(h, "identity"));
		j->known_hosts = expand_home(ssh_host->kv_get_str(h, "known_hosts"));
		j->fingerprint = dup_or_null(ssh_host->kv_get_str(h, "host_key"));
		if (!j->address)
			return -1;
	}
	return 0;
}

static int cfg_read(const struct lf_kv *kv, struct ssh_cfg *cfg)
{
	const char *user = ssh_host->kv_get_str(kv, "user");
	const char *kh = ssh_host->kv_get_str(kv, "known_hosts");
	const char *chk = ssh_host->kv_get_str(kv, "host_key_checking");
	const char *agent = ssh_host->kv_get_str(kv, "agent");

	memset(cfg, 0, sizeof(*cfg));
	cfg->user = strdup(user ? user : getenv("USER") ? getenv("USER") : "root");
	cfg->port = ssh_host->kv_get_int(kv, "port", 22);
	cfg->identity = expand_home(ssh_host->kv_get_str(kv, "identity"));
	cfg->agent = agent && strcmp(agent, "true") == 0;
	cfg->known_hosts = expand_home(kh ? kh : "~/.ssh/known_hosts");
	cfg->accept_new = chk && strcmp(chk, "accept-new") == 0;
	cfg->fingerprint = dup_or_null(ssh_host->kv_get_str(kv, "host_key"));
	cfg->connect_timeout = ssh_host->kv_get_int(kv, "connect_timeout", 10);
	cfg->exec_timeout = ssh_host->kv_get_int(kv, "exec_timeout", 0);
	cfg->max_channels = ssh_host->kv_get_int(kv, "max_channels", 10);
	cfg->root = dup_or_null(ssh_host->kv_get_str(kv, "root"));
	cfg->bin_root = strdup(ssh_host->kv_get_str(kv, "bin_root") ? ssh_host->kv_get_str(kv, "bin_root")
				: ".ledgerform/fabric");
	cfg->path = strdup(ssh_host->kv_get_str(kv, "path") ? ssh_host->kv_get_str(kv, "path")
			   : SSH_DEFAULT_PATH);
	cfg->supervisor = strdup(ssh_host->kv_get_str(kv, "supervisor")
				 ? ssh_host->kv_get_str(kv, "supervisor") : "auto");
	cfg->unit_dir = strdup(ssh_host->kv_get_str(kv, "unit_dir")
			       ? ssh_host->kv_get_str(kv, "unit_dir") : "/etc/systemd/system");
	if (!cfg->path || !cfg->supervisor || !cfg->unit_dir || cfg_read_jump(kv, cfg) != 0)
		return -1;
	return cfg->user && cfg->known_hosts && cfg->bin_root ? 0 : -1;
}

struct unknown_keys {
	struct lf_call *call;
	int bad;
};

static int check_key(const char *key, const char *val, void *payload)
{
	struct unknown_keys *u = payload;
	char path[96];
	size_t i;

	(void)val;
	for (i = 0; cfg_keys[i]; i++)
		if (strcmp(key, cfg_keys[i]) == 0)
			return 0;
	snprintf(path, sizeof(path), "config.%s", key);
	ssh_host->call_diag(u->call, path, "ssh: unknown config key '%s'", key);
	u->bad = 1;
	return 0;
}

struct hop_check {
	struct lf_call *call;
	const char *path;      /* "config.jump.N" */
	int bad;
};

static int check_hop_key(const char *key, const char *val, void *payload)
{
	struct hop_check *hc = payload;
	size_t i;

	(void)val;
	for (i = 0; hop_keys[i]; i++)
		if (strcmp(key, hop_keys[i]) == 0)
			return 0;
	ssh_host->call_diag(hc->call, hc->path, "ssh: unknown jump host key '%s' (address, port, user, identity, known_hosts, host_key)",
			    key);
	hc->bad = 1;
	return 0;
}

/* one jump host: an object with an address; 1 when bad */
static int check_hop(const struct lf_kv *h, const char *path, struct lf_call *call)
{
	struct hop_check hc = { call, path, 0 };
	const char *pin = h ? ssh_host->kv_get_str(h, "host_key") : NULL;
	long long port = h ? ssh_host->kv_get_int(h, "port", 22) : 22;

	if (!h || !ssh_host->kv_get_str(h, "address")) {
		ssh_host->call_diag(call, path, "ssh: a jump host is {address: ..., port, user, identity, known_hosts, host_key}");
		return 1;
	}
	ssh_host->kv_each(h, check_hop_key, &hc);
	if (pin && (strncmp(pin, "SHA256:", 7) != 0 || strlen(pin) != 50)) {
		ssh_host->call_diag(call, path,
				    "ssh: a jump host's host_key is a fingerprint as OpenSSH prints it (SHA256:<43 characters>)");
		hc.bad = 1;
	}
	if (port < 1 || port > 65535) {
		ssh_host->call_diag(call, path, "ssh: jump host port out of range");
		hc.bad = 1;
	}
	return hc.bad;
}

/* config.jump: a list of at most SSH_MAX_HOPS jump hosts; 1 when bad */
static int check_jump(const struct lf_kv *kv, struct lf_call *call)
{
	const struct lf_kv *arr = ssh_host->kv_get_kv(kv, "jump");
	const char *raw = ssh_host->kv_get_str(kv, "jump");
	char idx[16], path[48];
	size_t n;
	int bad = 0;

	if (!raw)
		return 0;
	if (!arr || raw[0] != '[' || !ssh_host->kv_get_kv(arr, "0")) {
		ssh_host->call_diag(call, "config.jump",
				    "ssh: jump is a list of jump hosts, first reached first");
		return 1;
	}
	for (n = 0; n <= SSH_MAX_HOPS; n++) {
		snprintf(idx, sizeof(idx), "%zu", n);
		if (!ssh_host->kv_get_str(arr, idx))
			break;
		if (n == SSH_MAX_HOPS) {
			ssh_host->call_diag(call, "config.jump", "ssh: at most %d jump hosts",
					    SSH_MAX_HOPS);
			return 1;
		}
		snprintf(path, sizeof(path), "config.jump.%zu", n);
		bad |= check_hop(ssh_host->kv_get_kv(arr, idx), path, call);
	}
	return bad;
}

/* the values of config keys; 0 when all good */
static int check_values(const struct lf_kv *kv, struct lf_call *call)
{
	const char *chk = ssh_host->kv_get_str(kv, "host_key_checking");
	const char *pin = ssh_host->kv_get_str(kv, "host_key");
	const char *root = ssh_host->kv_get_str(kv, "root");
	const char *bin_root = ssh_host->kv_get_str(kv, "bin_root");
	const char *sup = ssh_host->kv_get_str(kv, "supervisor");
	const char *udir = ssh_host->kv_get_str(kv, "unit_dir");
	const char *rpath = ssh_host->kv_get_str(kv, "path");
	long long port = ssh_host->kv_get_int(kv, "port", 22);
	long long ct = ssh_host->kv_get_int(kv, "connect_timeout", 10);
	long long mc = ssh_host->kv_get_int(kv, "max_channels", 10);
	int bad = 0;

	if (mc < 2 || mc > 1000) {
		ssh_host->call_diag(call, "config.max_channels",
				    "ssh: max_channels is 2 to 1000 (sshd's MaxSessions; OpenSSH's default is 10)");
		bad = 1;
	}

	if (sup && strcmp(sup, "auto") != 0 && strcmp(sup, "systemd") != 0 &&
	    strcmp(sup, "nohup") != 0) {
		ssh_host->call_diag(call, "config.supervisor",
				    "ssh: supervisor is 'auto', 'systemd' or 'nohup', not '%s'", sup);
		bad = 1;
	}
	if (udir && (udir[0] != '/' || strstr(udir, "..") || strpbrk(udir, "'\"\\$`"))) {
		ssh_host->call_diag(call, "config.unit_dir",
				    "ssh: unit_dir is an absolute path without '..' or quotes");
		bad = 1;
	}
	if (rpath && (!*rpath || strlen(rpath) > 500)) {
		ssh_host->call_diag(call, "config.path", "ssh: path is a PATH value (at most 500 bytes)");
		bad = 1;
	}
	if (chk && strcmp(chk, "yes") != 0 && strcmp(chk, "accept-new") != 0) {
		ssh_host->call_diag(call, "config.host_key_checking",
				    "ssh: host_key_checking is 'yes' or 'accept-new', not '%s'", chk);
		bad = 1;
	}
	if (pin && (strncmp(pin, "SHA256:", 7) != 0 || strlen(pin) != 50)) {
		ssh_host->call_diag(call, "config.host_key",
				    "ssh: host_key is a fingerprint as OpenSSH prints it (SHA256:<43 characters>)");
		bad = 1;
	}
	if (root && (strcmp(root, "/") == 0 || !*root || strstr(root, ".."))) {
		ssh_host->call_diag(call, "config.root",
				    "ssh: root '%s' is not allowed (never '/', never '..')", root);
		bad = 1;
	}
	if (bin_root && (strcmp(bin_root, "/") == 0 || !*bin_root || strstr(bin_root, ".."))) {
		ssh_host->call_diag(call, "config.bin_root",
				    "ssh: bin_root '%s' is not allowed (never '/', never '..')", bin_root);
		bad = 1;
	}
	if (port < 1 || port > 65535 || ct < 1 || ct > 3600) {
		ssh_host->call_diag(call, port < 1 || port > 65535 ? "config.port" : "config.connect_timeout",
				    "ssh: out of range");
		bad = 1;
	}
	return bad;
}

static int ssh_validate(const struct lf_kv *config, const struct lf_kv *sizes,
			struct lf_call *call, unsigned int flags, struct lf_err *err)
{
	struct unknown_keys u = { call, 0 };
	int rc;

	(void)sizes;
	if ((rc = flags_check(flags, 0, "validate", err)) != 0)
		return rc;
	ssh_host->kv_each(config, check_key, &u);
	if (check_values(config, call) | check_jump(config, call) || u.bad)
		return ssh_host->err_set(err, LF_EINVALID, "ssh: the provider's config has problems");
	return 0;
}

static int ssh_open(struct lf_driver_conn **out, const struct lf_kv *config,
		    struct lf_call *call, unsigned int flags, struct lf_err *err)
{
	struct lf_driver_conn *c;
	int rc;

	if ((rc = flags_check(flags, 0, "open", err)) != 0)
		return rc;
	if ((rc = ssh_validate(config, NULL, call, 0, err)) != 0)
		return rc;
	c = calloc(1, sizeof(*c));
	if (!c || cfg_read(config, &c->cfg) != 0) {
		if (c)
			cfg_free(&c->cfg);
		free(c);
		return ssh_host->err_set(err, LF_ERROR, "ssh: out of memory");
	}
	pthread_mutex_init(&c->mu, NULL);
	*out = c;
	return 0;
}

static void ssh_close(struct lf_driver_conn *c)
{
	if (!c)
		return;
	ssh_machines_free(c->machines);
	pthread_mutex_destroy(&c->mu);
	cfg_free(&c->cfg);
	free(c->bin_local);
	free(c->bin_manifest);
	free(c);
}

/* ---- transport ---------------------------------------------------------- */

static int root_call(struct lf_driver_conn *c, const struct lf_target *t, int which,
		     struct lf_kv_builder *out, struct lf_call *call, struct lf_err *err)
{
	struct ssh_machine *m = NULL;
	int rc = ssh_machine_get(c, t, call, &m, err);

	if (rc != 0)
		return rc;
	rc = ssh_root_op(c, m, t, which, out, call, err);
	if (rc == 0 && out)
		ssh_host->kv_set(out, "host_key_sha256", m->fp);
	ssh_machine_put(m);
	return rc;
}

static int ssh_machine_prepare(struct lf_driver_conn *c, const struct lf_target *t,
			       struct lf_call *call, struct lf_kv_builder *out,
			       unsigned int flags, struct lf_err *err)
{
	int rc = flags_check(flags, 0, "machine_prepare", err);

	return rc ? rc : root_call(c, t, 'p', out, call, err);
}

static int ssh_machine_release(struct lf_driver_conn *c, const struct lf_target *t,
			       struct lf_call *call, unsigned int flags,
			       struct lf_err *err)
{
	int rc = flags_check(flags, 0, "machine_release", err);

	return rc ? rc : root_call(c, t, 'x', NULL, call, err);
}

static int ssh_machine_read(struct lf_driver_conn *c, const struct lf_target *t,
			    struct lf_call *call, struct lf_kv_builder *out,
			    unsigned int flags, struct lf_err *err)
{
	int rc = flags_check(flags, 0, "machine_read", err);

	return rc ? rc : root_call(c, t, 'r', out, call, err);
}

/* the machine and the root for a file operation on path */
static int file_begin(struct lf_driver_conn *c, const struct lf_target *t, const char *path,
		      struct lf_call *call, struct ssh_machine **m, char **root,
		      struct lf_err *err)
{
	int rc = path ? ssh_path_check(path, err) : 0;

	if (rc == 0)
		rc = ssh_root_of(c, t, root, err);
	if (rc == 0)
		rc = ssh_machine_get(c, t, call, m, err);
	return rc;
}

static int ssh_put(struct lf_driver_conn *c, const struct lf_target *t,
		   const struct lf_file *files, size_t nfiles, struct lf_call *call,
		   unsigned int flags, struct lf_err *err)
{
	struct ssh_machine *m = NULL;
	char *root = NULL;
	size_t i;
	int rc = flags_check(flags, 0, "put", err);

	for (i = 0; rc == 0 && i < nfiles; i++) {
		rc = ssh_path_check(files[i].path, err);
		if (rc == 0 && (files[i].mode & ~0777u))
			rc = ssh_host->err_set(err, LF_EINVALID,
					       "ssh: file mode 0%o of '%s' has bits outside 0777",
					       files[i].mode, files[i].path);
	}
	if (rc == 0)
		rc = file_begin(c, t, NULL, call, &m, &root, err);
	if (rc == 0) {
		rc = ssh_put_files(c, m, root, files, nfiles, call, err);
		ssh_machine_put(m);
	}
	free(root);
	return rc;
}

static int ssh_get(struct lf_driver_conn *c, const struct lf_target *t, const char *path,
		   size_t max, struct lf_blob *out, struct lf_call *call,
		   unsigned int flags, struct lf_err *err)
{
	struct ssh_machine *m = NULL;
	char *root = NULL;
	int rc = flags_check(flags, 0, "get", err);

	if (rc == 0)
		rc = file_begin(c, t, path, call, &m, &root, err);
	if (rc == 0) {
		rc = ssh_get_file(m, root, path, max, out, err);
		ssh_machine_put(m);
	}
	free(root);
	return rc;
}

static int ssh_mkdir(struct lf_driver_conn *c, const struct lf_target *t, const char *path,
		     unsigned int mode, struct lf_call *call, unsigned int flags,
		     struct lf_err *err)
{
	struct ssh_machine *m = NULL;
	char *root = NULL;
	int rc = flags_check(flags, 0, "mkdir", err);

	if (rc == 0)
		rc = file_begin(c, t, path, call, &m, &root, err);
	if (rc == 0) {
		rc = ssh_mkdirs(m, root, path, mode & 0777, err);
		ssh_machine_put(m);
	}
	free(root);
	return rc;
}

static int ssh_remove(struct lf_driver_conn *c, const struct lf_target *t, const char *path,
		      struct lf_call *call, unsigned int flags, struct lf_err *err)
{
	const char *argv[] = { "rm", "-rf", "--", path, NULL };
	struct ssh_run r = { argv, NULL, NULL, 0, 0, 4096, 0, NULL };
	struct ssh_machine *m = NULL;
	char *root = NULL, *out = NULL, *errout = NULL;
	int status = 0;
	int rc = flags_check(flags, 0, "remove", err);

	if (rc == 0)
		rc = file_begin(c, t, path, call, &m, &root, err);
	if (rc == 0) {
		r.cwd = root;
		rc = ssh_run_text(c, m, &r, &status, &out, &errout, call, err);
		ssh_machine_put(m);
	}
	if (rc == 0 && status != 0)
		rc = ssh_host->err_set(err, LF_ERROR, "ssh: cannot remove '%s' on %s: %.200s", path,
				       t->machine_address, errout ? errout : "");
	free(out);
	free(errout);
	free(root);
	return rc;
}

static int ssh_exec(struct lf_driver_conn *c, const struct lf_target *t,
		    const struct lf_exec_spec *spec, struct lf_exec_result *res,
		    struct lf_call *call, unsigned int flags, struct lf_err *err)
{
	struct ssh_run r = { spec->argv, spec->envp, spec->stdin_data, spec->stdin_len,
			     spec->timeout_ms, spec->out_max, (flags & LF_EXEC_SHELL) != 0, NULL };
	struct ssh_machine *m = NULL;
	char *root = NULL, **envp = NULL;
	int rc = flags_check(flags, LF_EXEC_SHELL, "exec", err);

	if (rc == 0 && (!spec->argv || !spec->argv[0]))
		rc = ssh_host->err_set(err, LF_EINVALID, "ssh: exec without a command");
	if (rc == 0)
		rc = file_begin(c, t, NULL, call, &m, &root, err);
	if (rc != 0) {
		free(root);
		return rc;
	}
	rc = ssh_bin_ensure(c, m, spec->envp, &envp, call, err);
	if (rc == 0) {
		r.cwd = root;
		if (envp)
			r.envp = (const char *const *)envp;
		rc = ssh_run(c, m, &r, res, call, err);
	}
	ssh_machine_put(m);
	ssh_envp_free(envp);
	free(root);
	return rc;
}

static void init_libssh2(void)
{
	libssh2_init(0);
}

/* ---- the table ----------------------------------------------------------- */

static const struct lf_driver ssh_driver = {
	.abi_version = LF_DRIVER_ABI_VERSION,
	.struct_size = sizeof(struct lf_driver),
	.name = "ssh",
	.version = "0.1.0",
	.roles = LF_ROLE_TRANSPORT,
	.caps = LF_CAP_READ_CHEAP | LF_CAP_CONN_SHARED | LF_CAP_SYSTEMD,
	.open = ssh_open,
	.close = ssh_close,
	.validate = ssh_validate,
	.machine_prepare = ssh_machine_prepare,
	.machine_release = ssh_machine_release,
	.machine_read = ssh_machine_read,
	.put = ssh_put,
	.get = ssh_get,
	.mkdir = ssh_mkdir,
	.remove = ssh_remove,
	.exec = ssh_exec,
	.service = ssh_service,
};

LF_DRIVER_EXPORT const struct lf_driver *lf_driver_entry(const struct lf_host_api *host)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	ssh_host = host;
	pthread_once(&once, init_libssh2);
	return &ssh_driver;
}
