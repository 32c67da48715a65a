/*
 * The `ssh` transport driver: existing machines (or a provider's VMs)
 * reached over SSH with libssh2. Internal header shared by the driver's
 * files only.
 */
#ifndef LF_DRIVER_SSH_H
#define LF_DRIVER_SSH_H

#include <pthread.h>
#include <stddef.h>
#include <libssh2.h>
#include <libssh2_sftp.h>
#include "ledgerform/driver.h"

#define SSH_MARKER ".ledgerform-host"
#define SSH_FP_MAX 80        /* "SHA256:" + 43 base64 characters */
#define SSH_DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"

/* one jump host (config `jump:`, in order from the controller) */
struct ssh_hop_cfg {
	char *address;
	long port;
	char *user;            /* default: the provider's user */
	char *identity;        /* default: the provider's identity */
	char *known_hosts;     /* default: the provider's known_hosts */
	char *fingerprint;     /* pinned "SHA256:..." or NULL */
};

/* what the provider's config says (strings owned here) */
struct ssh_cfg {
	char *user;
	long port;
	char *identity;        /* private key file; NULL: ssh-agent */
	int agent;             /* use ssh-agent (also when identity is NULL) */
	char *known_hosts;     /* default ~/.ssh/known_hosts */
	int accept_new;        /* host_key_checking: accept-new */
	char *fingerprint;     /* pinned "SHA256:..." or NULL */
	long connect_timeout;  /* seconds */
	long exec_timeout;     /* seconds, 0: none */
	char *root;            /* remote base, relative to home or absolute */
	char *bin_root;        /* where Fabric's binaries go (same rules) */
	char *path;            /* PATH of remote commands */
	char *supervisor;      /* "auto", "systemd" or "nohup" */
	char *unit_dir;        /* where systemd units go */
	struct ssh_hop_cfg *jump;  /* jump hosts, first reached first */
	size_t njump;
};

/* one SSH endpoint as a session sees it: the machine or a jump host */
struct ssh_peer {
	const char *address;
	long port;
	const char *user;
	const char *identity;   /* NULL: ssh-agent */
	int agent;
	const char *known_hosts;
	int accept_new;
	const char *pin;        /* "SHA256:..." or NULL */
	const char *role;       /* "host" or "jump host" (messages) */
};

/* one jump host's live session: its pump thread owns s and ch after the
 * tunnel to the next hop is made, and moves bytes between ch and pump_fd
 * (one end of a socketpair; the next session talks on the other end) */
struct ssh_hop {
	LIBSSH2_SESSION *s;
	LIBSSH2_CHANNEL *ch;
	int sock;               /* what s talks on (TCP, or the previous pair) */
	int pump_fd;
	pthread_t th;
	int started;
	char fp[SSH_FP_MAX];
};

/* one SSH connection to one machine, reused; mu serialises its use */
struct ssh_machine {
	struct ssh_machine *next;
	char *address;
	long port;
	pthread_mutex_t mu;
	int sock;
	LIBSSH2_SESSION *s;
	LIBSSH2_SFTP *sftp;
	char fp[SSH_FP_MAX];    /* the verified host key's fingerprint */
	char *bin_sent;         /* manifest hash of Fabric binaries known there */
	int sup;                /* what runs nodes: 's' systemd, 'n' nohup, 0 not
				   known yet */
	struct ssh_hop *hops;   /* jump hosts' sessions (cfg.njump of them) */
	size_t nhops;           /* how many are open */
};

struct lf_driver_conn {
	struct ssh_cfg cfg;
	pthread_mutex_t mu;     /* guards the machine list and the manifest */
	struct ssh_machine *machines;
	char *bin_local;        /* the FABRIC_BIN folder last hashed */
	char *bin_manifest;     /* its sha256sum lines */
	char bin_id[17];        /* first 16 hex of the manifest's SHA-256 */
	unsigned long long bin_bytes; /* bytes of binaries sent (all machines) */
};

extern const struct lf_host_api *ssh_host;

/* ssh_session.c */
/* The machine for t (connected and verified, its mutex held on success;
 * release with ssh_machine_put). Network errors are LF_ERETRY; host key and
 * authentication errors are not. */
int ssh_machine_get(struct lf_driver_conn *c, const struct lf_target *t,
		    struct lf_call *call, struct ssh_machine **out,
		    struct lf_err *err);
void ssh_machine_put(struct ssh_machine *m);
/* forget m's session after an error (next use reconnects) */
void ssh_machine_drop(struct ssh_machine *m);
void ssh_machines_free(struct ssh_machine *list);
/* the SFTP handle of m (opened on first use) */
int ssh_sftp(struct ssh_machine *m, struct lf_err *err);
/* map a libssh2 error of m's session to a code and message; a lost
 * connection is dropped and reported as LF_ERETRY */
int ssh_fail(struct ssh_machine *m, int rc, const char *what,
	     struct lf_err *err);
int ssh_tcp_connect(const char *addr, long port, long timeout_s, int *out,
		    struct lf_err *err);
/* a session on sock: handshake, host key check (known_hosts, pin,
 * accept-new) and public key authentication, as p says; fp gets the
 * verified key's fingerprint */
int ssh_session_start(LIBSSH2_SESSION **out, int sock, const struct ssh_peer *p,
		      long timeout_s, char *fp, size_t fpcap, struct lf_call *call,
		      struct lf_err *err);
/* "SHA256:<unpadded base64>" of a key blob */
void ssh_fingerprint(const unsigned char *blob, size_t len, char *out,
		     size_t cap);

/* ssh_jump.c: the jump host chain of a machine */
/* open cfg.jump in order, each hop's session verified and authenticated
 * like the machine's, and leave in m->sock a socket tunnelled to the
 * machine's address and port (through the last hop) */
int ssh_jump_open(struct lf_driver_conn *c, struct ssh_machine *m,
		  struct lf_call *call, struct lf_err *err);
/* end the chain (after m->sock is closed): last hop first */
void ssh_jump_close(struct ssh_machine *m);

/* ssh_exec.c */
/* how a remote command is run */
struct ssh_run {
	const char *const *argv;
	const char *const *envp;
	const void *stdin_data;
	size_t stdin_len;
	unsigned int timeout_ms;
	size_t out_max;
	int shell;              /* argv[0] is a script for /bin/sh -c */
	const char *cwd;        /* remote directory (relative to home) */
};
int ssh_run(struct lf_driver_conn *c, struct ssh_machine *m,
	    const struct ssh_run *r, struct lf_exec_result *res,
	    struct lf_call *call, struct lf_err *err);
/* ssh_run with stdout (and stderr) into malloc'd strings */
int ssh_run_text(struct lf_driver_conn *c, struct ssh_machine *m,
		 const struct ssh_run *r, int *status, char **out, char **errout,
		 struct lf_call *call, struct lf_err *err);
/* run a fixed script (trusted text) in the machine's shell; its stdout
 * (at most 64 KiB) into *out (malloc'd, NUL-terminated) */
int ssh_script(struct lf_driver_conn *c, struct ssh_machine *m,
	       const char *script, int *status, char **out, char **errout,
	       struct lf_call *call, struct lf_err *err);
/* s quoted for a POSIX shell ('...'), malloc'd */
char *ssh_quote(const char *s);

/* ssh_sftp.c */
/* relative, no "..", no empty component */
int ssh_path_check(const char *path, struct lf_err *err);
int ssh_put_files(struct lf_driver_conn *c, struct ssh_machine *m,
		  const char *dir, const struct lf_file *files, size_t n,
		  struct lf_call *call, struct lf_err *err);
int ssh_get_file(struct ssh_machine *m, const char *dir, const char *rel,
		 size_t max, struct lf_blob *out, struct lf_err *err);
int ssh_mkdirs(struct ssh_machine *m, const char *dir, const char *rel,
	       unsigned int mode, struct lf_err *err);
/* stream the local file src to remote dst (a temporary name) with mode */
int ssh_send_file(struct ssh_machine *m, const char *src, const char *dst,
		  unsigned int mode, unsigned long long *bytes,
		  struct lf_err *err);

/* ssh_remote.c: the machine's root and its marker */
/* BASE/NAME: BASE is config root, else .ledgerform/<lineage[0:8]> (both
 * relative to the user's home unless absolute); malloc'd */
int ssh_root_of(struct lf_driver_conn *c, const struct lf_target *t, char **out,
		struct lf_err *err);
/* which: 'p' prepare (make or adopt), 'r' read, 'x' release; facts to out */
int ssh_root_op(struct lf_driver_conn *c, struct ssh_machine *m,
		const struct lf_target *t, int which, struct lf_kv_builder *out,
		struct lf_call *call, struct lf_err *err);

/* ssh_service.c: nodes as systemd units (the `service` callback) */
int ssh_service(struct lf_driver_conn *c, const struct lf_target *t,
		const struct lf_service *svc, int op, struct lf_service_status *st,
		struct lf_call *call, unsigned int flags, struct lf_err *err);

/* ssh_bin.c: Fabric's binaries delivered once per machine */
/* When envp names FABRIC_BIN=<local dir>, make sure that folder (and its
 * sibling config/) is on the machine, checked by SHA-256, and rewrite the
 * value to the remote copy: *envp_out (NULL when nothing to do) is a new
 * array whose strings the caller frees with ssh_envp_free. */
int ssh_bin_ensure(struct lf_driver_conn *c, struct ssh_machine *m,
		   const char *const *envp, char ***envp_out,
		   struct lf_call *call, struct lf_err *err);
void ssh_envp_free(char **envp);

#endif
