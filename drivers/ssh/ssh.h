/*
 * The `ssh` transport driver: existing machines (or a provider's VMs)
 * reached over SSH with libssh2. Internal header shared by the driver's
 * files only.
 */
#ifndef LF_DRIVER_SSH_H
#define LF_DRIVER_SSH_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
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
	long max_channels;     /* channels at once per connection (sshd's
				  MaxSessions, 10 by default) */
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

#define SSH_SFTP_IDLE 4     /* SFTP channels kept open between calls */

/* one SSH connection to one machine, reused by parallel calls, each on
 * its own channel (a command, or an SFTP channel of its own). libssh2 is
 * not thread-safe per session: mu is held around every libssh2 call on s,
 * its channels and SFTP handles, and never while waiting. The session is
 * non-blocking; a caller told EAGAIN waits in ssh_wait (one caller polls
 * the socket, the others sleep on cv until bytes move). A failed session
 * is marked dead: its callers fail LF_ERETRY, the last one out frees it,
 * and the next ssh_machine_get connects again. */
struct ssh_machine {
	struct ssh_machine *next;
	char *address;
	long port;
	pthread_mutex_t mu;
	pthread_cond_t cv;      /* bytes moved, a channel ended, a user left */
	int sock;
	LIBSSH2_SESSION *s;
	int users;              /* calls between ssh_machine_get and _put */
	int dead;               /* s failed (see above) */
	int chans;              /* channels open: commands and SFTP */
	int opening;            /* a channel open is under way (libssh2 keeps
				   its state in the session: one at a time) */
	int polling;            /* a caller is in poll() on sock */
	int poll_out;           /* ... and waits for POLLOUT too */
	int io;                 /* bytes went in or out since the last wake */
	unsigned long moved;    /* bumped on every wake */
	int wake[2];            /* a pipe that ends the poller's poll */
	int max_chans;          /* cfg.max_channels */
	long stall_ms;          /* no progress this long: the connection is lost */
	LIBSSH2_SFTP *sftp_idle[SSH_SFTP_IDLE];
	int nidle;
	char fp[SSH_FP_MAX];    /* the verified host key's fingerprint */
	pthread_mutex_t bin_mu; /* one delivery of Fabric binaries at a time;
				   guards bin_sent */
	char *bin_sent;         /* manifest hash of Fabric binaries known there */
	int putting;            /* bundle puts under way (ssh_put_files): a
				   bulk transfer yields to them */
	int sup;                /* what runs nodes: 's' systemd, 'n' nohup, 0 not
				   known yet (under mu) */
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
/* The machine for t, connected and verified, counted as in use (mu not
 * held; release with ssh_machine_put). Network errors are LF_ERETRY; host
 * key and authentication errors are not. */
int ssh_machine_get(struct lf_driver_conn *c, const struct lf_target *t,
		    struct lf_call *call, struct ssh_machine **out,
		    struct lf_err *err);
void ssh_machine_put(struct ssh_machine *m);
/* mark m's session dead after an error (mu held): its calls fail, the
 * next ssh_machine_get reconnects */
void ssh_machine_drop(struct ssh_machine *m);
void ssh_machines_free(struct ssh_machine *list);
void ssh_lock(struct ssh_machine *m);
void ssh_unlock(struct ssh_machine *m);
/* mu held, the last libssh2 call said EAGAIN: wait (mu released) until
 * the socket or another caller moves, at most ms; -1 when the session is
 * dead */
int ssh_wait(struct ssh_machine *m, int ms);
/* ssh_wait for a call that must finish: -1 (and the session dead) when
 * nothing moved for stall_ms since *t0 (0: now) */
int ssh_again(struct ssh_machine *m, uint64_t *t0);
/* repeat a libssh2 call (mu held) while it says EAGAIN: var gets its
 * result; an int call, or one returning a pointer */
#define SSH_INT(m, var, expr) \
	do { uint64_t t0_ = 0; \
	     while (((var) = (expr)) == LIBSSH2_ERROR_EAGAIN && ssh_again((m), &t0_) == 0) \
		;  } while (0)
#define SSH_PTR(m, var, expr) \
	do { uint64_t t0_ = 0; \
	     while (!((var) = (expr)) && \
		    libssh2_session_last_errno((m)->s) == LIBSSH2_ERROR_EAGAIN && \
		    ssh_again((m), &t0_) == 0) \
		;  } while (0)
/* mu held: while bundle puts are under way on m, wait for them, at most
 * ms (a bulk transfer's bytes would queue ahead of their small requests
 * and make every one of them wait for the queue to drain) */
void ssh_yield_to_puts(struct ssh_machine *m, int ms);
/* a channel slot (mu held; waits while max_channels are open); kill: the
 * slot kept for ending a timed-out command. -1 when the session is dead */
int ssh_chan_take(struct ssh_machine *m, int kill);
void ssh_chan_give(struct ssh_machine *m);
/* a session channel of its own (mu held, slot taken) */
LIBSSH2_CHANNEL *ssh_channel_open(struct ssh_machine *m);
/* an SFTP channel of the caller's own, idle or new (mu held); give it back
 * with ssh_sftp_give */
LIBSSH2_SFTP *ssh_sftp_take(struct ssh_machine *m, struct lf_err *err);
void ssh_sftp_give(struct ssh_machine *m, LIBSSH2_SFTP *sf);
/* map a libssh2 error of m's session to a code and message (mu held); a
 * lost connection is dropped and reported as LF_ERETRY */
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

/* Fabric's binaries: when neither BASE/ID nor BASE/ID.lf-tmp is on the
 * machine, make BASE (as mkdir -p) and BASE/ID.lf-tmp/{bin,config} by
 * SFTP, put BASE's absolute path in *abs (malloc'd) and return 1; 0 when
 * either is there or SFTP cannot tell (the check command decides); an
 * error code when the connection failed */
int ssh_bin_fresh(struct ssh_machine *m, const char *base, const char *id, char **abs,
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
