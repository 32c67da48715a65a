/*
 * SSH sessions of the ssh driver: one per machine (address and port),
 * reused by every call and guarded by the machine's mutex. A session is
 * made by a TCP connect bounded by connect_timeout, the SSH handshake, a
 * host key check (known_hosts through libssh2's knownhost API, hashed
 * entries included; a pinned fingerprint; accept-new) and public key
 * authentication (an identity file or ssh-agent). Network failures are
 * LF_ERETRY (the executor retries and the next call reconnects); a refused
 * host key or a refused user key is not.
 */
#include "ssh.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <openssl/evp.h>

void ssh_fingerprint(const unsigned char *blob, size_t len, char *out, size_t cap)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	unsigned char b64[128];
	int n;

	EVP_Digest(blob, len, md, &mdlen, EVP_sha256(), NULL);
	n = EVP_EncodeBlock(b64, md, (int)mdlen);
	while (n > 0 && b64[n - 1] == '=')
		n--;
	snprintf(out, cap, "SHA256:%.*s", n, (const char *)b64);
}

/* ---- TCP ---------------------------------------------------------------- */

static int connect_wait(int fd, long timeout_s)
{
	struct pollfd p = { fd, POLLOUT, 0 };
	int soerr = 0;
	socklen_t sl = sizeof(soerr);
	int n = poll(&p, 1, (int)(timeout_s * 1000));

	if (n == 0) {
		errno = ETIMEDOUT;
		return -1;
	}
	if (n < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
		return -1;
	errno = soerr;
	return soerr == 0 ? 0 : -1;
}

int ssh_tcp_connect(const char *addr, long port, long timeout_s, int *out,
		    struct lf_err *err)
{
	struct addrinfo hints, *res = NULL, *ai;
	char ps[16];
	int fd = -1, gai, e = 0, one = 1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	snprintf(ps, sizeof(ps), "%ld", port);
	gai = getaddrinfo(addr, ps, &hints, &res);
	if (gai != 0)
		return ssh_host->err_set_retry(err, LF_ERETRY, 0, "ssh: cannot resolve '%s': %s",
					       addr, gai_strerror(gai));
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0)
			continue;
		fcntl(fd, F_SETFL, O_NONBLOCK);
		if ((connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 ||
		     (errno == EINPROGRESS && connect_wait(fd, timeout_s) == 0)) &&
		    fcntl(fd, F_SETFL, 0) == 0)
			break;
		e = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd >= 0) /* small SFTP requests go out at once (no Nagle delay) */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (fd < 0)
		return ssh_host->err_set_retry(err, LF_ERETRY, 0, "ssh: cannot connect to %s port %ld: %s",
					       addr, port, strerror(e));
	*out = fd;
	return 0;
}

/* ---- host keys ---------------------------------------------------------- */

static int knownhost_keybit(int type)
{
	switch (type) {
	case LIBSSH2_HOSTKEY_TYPE_RSA: return LIBSSH2_KNOWNHOST_KEY_SSHRSA;
	case LIBSSH2_HOSTKEY_TYPE_DSS: return LIBSSH2_KNOWNHOST_KEY_SSHDSS;
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_256: return LIBSSH2_KNOWNHOST_KEY_ECDSA_256;
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_384: return LIBSSH2_KNOWNHOST_KEY_ECDSA_384;
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_521: return LIBSSH2_KNOWNHOST_KEY_ECDSA_521;
	case LIBSSH2_HOSTKEY_TYPE_ED25519: return LIBSSH2_KNOWNHOST_KEY_ED25519;
	default: return LIBSSH2_KNOWNHOST_KEY_UNKNOWN;
	}
}

/* the name known_hosts uses: "addr", or "[addr]:port" off port 22 */
static void kh_name(const struct ssh_peer *p, char *buf, size_t cap)
{
	if (p->port == 22)
		snprintf(buf, cap, "%s", p->address);
	else
		snprintf(buf, cap, "[%s]:%ld", p->address, p->port);
}

/* append one line for the key to the known_hosts file (accept-new) */
static int kh_record(const struct ssh_peer *p, LIBSSH2_KNOWNHOSTS *kh,
		     const char *key, size_t klen, int type, struct lf_err *err)
{
	struct libssh2_knownhost *entry = NULL;
	char name[300], line[8192];
	size_t ll = 0;
	FILE *f;
	int rc;

	kh_name(p, name, sizeof(name));
	rc = libssh2_knownhost_addc(kh, name, NULL, key, klen, "added by ledgerform", 19,
				    LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW |
				    knownhost_keybit(type), &entry);
	if (rc == 0)
		rc = libssh2_knownhost_writeline(kh, entry, line, sizeof(line), &ll,
						 LIBSSH2_KNOWNHOST_FILE_OPENSSH);
	if (rc != 0)
		return ssh_host->err_set(err, LF_ERROR, "ssh: cannot record the host key of %s", name);
	f = fopen(p->known_hosts, "a");
	if (!f || fwrite(line, 1, ll, f) != ll || fclose(f) != 0) {
		if (f)
			fclose(f);
		return ssh_host->err_set(err, LF_ERROR, "ssh: cannot append to '%s': %s",
					 p->known_hosts, strerror(errno));
	}
	return 0;
}

static int kh_check(const struct ssh_peer *p, LIBSSH2_KNOWNHOSTS *kh,
		    const char *key, size_t klen, int type)
{
	struct libssh2_knownhost *found = NULL;

	if (access(p->known_hosts, F_OK) == 0 &&
	    libssh2_knownhost_readfile(kh, p->known_hosts,
				       LIBSSH2_KNOWNHOST_FILE_OPENSSH) < 0)
		return LIBSSH2_KNOWNHOST_CHECK_FAILURE;
	return libssh2_knownhost_checkp(kh, p->address, (int)p->port, key, klen,
					LIBSSH2_KNOWNHOST_TYPE_PLAIN |
					LIBSSH2_KNOWNHOST_KEYENC_RAW | knownhost_keybit(type),
					&found);
}

/* is the key the peer presented one we trust? its fingerprint into fp */
static int hostkey_verify(LIBSSH2_SESSION *s, const struct ssh_peer *p, char *fp,
			  size_t fpcap, struct lf_err *err)
{
	size_t klen = 0;
	int type = 0, check, rc = 0;
	const char *key = libssh2_session_hostkey(s, &klen, &type);
	LIBSSH2_KNOWNHOSTS *kh;

	if (!key)
		return ssh_host->err_set(err, LF_ERROR, "ssh: %s sent no host key", p->address);
	ssh_fingerprint((const unsigned char *)key, klen, fp, fpcap);
	kh = libssh2_knownhost_init(s);
	if (!kh)
		return ssh_host->err_set(err, LF_ERROR, "ssh: out of memory");
	check = kh_check(p, kh, key, klen, type);
	if (p->pin && strcmp(p->pin, fp) == 0)
		rc = 0; /* pinned in the spec (or by the provider): trusted */
	else if (p->pin)
		rc = ssh_host->err_set(err, LF_EAUTH,
				       "ssh: %s key of %s port %ld is %s, not the pinned %s: refused",
				       p->role, p->address, p->port, fp, p->pin);
	else if (check == LIBSSH2_KNOWNHOST_CHECK_MATCH)
		rc = 0;
	else if (check == LIBSSH2_KNOWNHOST_CHECK_MISMATCH)
		rc = ssh_host->err_set(err, LF_EAUTH,
				       "ssh: %s key of %s port %ld CHANGED: it is now %s, which '%s' does not hold: refused (remove the old entry if the change is expected)",
				       p->role, p->address, p->port, fp, p->known_hosts);
	else if (check == LIBSSH2_KNOWNHOST_CHECK_FAILURE)
		rc = ssh_host->err_set(err, LF_EAUTH, "ssh: cannot read known hosts file '%s'",
				       p->known_hosts);
	else if (p->accept_new)
		rc = kh_record(p, kh, key, klen, type, err);
	else
		rc = ssh_host->err_set(err, LF_EAUTH,
				       "ssh: %s key of %s port %ld is unknown (%s, not in '%s'): refused; pin it (host_key: %s) or set host_key_checking: accept-new",
				       p->role, p->address, p->port, fp, p->known_hosts, fp);
	libssh2_knownhost_free(kh);
	return rc;
}

/* ---- authentication ---------------------------------------------------- */

static int auth_agent(LIBSSH2_SESSION *s, const struct ssh_peer *p)
{
	LIBSSH2_AGENT *ag = libssh2_agent_init(s);
	struct libssh2_agent_publickey *id = NULL, *prev = NULL;
	int rc = -1;

	if (!ag)
		return -1;
	if (libssh2_agent_connect(ag) == 0 && libssh2_agent_list_identities(ag) == 0) {
		while (rc != 0 && libssh2_agent_get_identity(ag, &id, prev) == 0) {
			rc = libssh2_agent_userauth(ag, p->user, id);
			prev = id;
		}
		libssh2_agent_disconnect(ag);
	}
	libssh2_agent_free(ag);
	return rc;
}

static int auth_identity(LIBSSH2_SESSION *s, const struct ssh_peer *p, struct lf_call *call)
{
	char pass[512];
	size_t plen = 0;
	int have = ssh_host->call_secret(call, "secret", pass, sizeof(pass), &plen) == 0;
	int rc;

	rc = libssh2_userauth_publickey_fromfile(s, p->user, NULL, p->identity,
						 have ? pass : NULL);
	explicit_bzero(pass, sizeof(pass));
	return rc;
}

static int authenticate(LIBSSH2_SESSION *s, const struct ssh_peer *p, struct lf_call *call,
			struct lf_err *err)
{
	int rc = -1;

	if (p->identity)
		rc = auth_identity(s, p, call);
	if (rc != 0 && (p->agent || !p->identity))
		rc = auth_agent(s, p);
	if (rc == 0)
		return 0;
	return ssh_host->err_set(err, LF_EAUTH,
				 "ssh: %s %s@%s port %ld refused our key (%s): authentication failed",
				 p->role, p->user, p->address, p->port,
				 p->identity ? p->identity : "ssh-agent");
}

/* ---- sessions ----------------------------------------------------------- */

int ssh_session_start(LIBSSH2_SESSION **out, int sock, const struct ssh_peer *p,
		      long timeout_s, char *fp, size_t fpcap, struct lf_call *call,
		      struct lf_err *err)
{
	LIBSSH2_SESSION *s = libssh2_session_init();
	int rc = 0;

	if (!s)
		return ssh_host->err_set(err, LF_ERROR, "ssh: out of memory");
	libssh2_session_set_timeout(s, timeout_s * 1000);
	if (libssh2_session_handshake(s, sock) != 0)
		rc = ssh_host->err_set_retry(err, LF_ERETRY, 0,
					     "ssh: SSH handshake with %s %s port %ld failed",
					     p->role, p->address, p->port);
	if (rc == 0)
		rc = hostkey_verify(s, p, fp, fpcap, err);
	if (rc == 0)
		rc = authenticate(s, p, call, err);
	if (rc != 0) {
		libssh2_session_disconnect(s, "bye");
		libssh2_session_free(s);
		return rc;
	}
	libssh2_keepalive_config(s, 1, 15);
	*out = s;
	return 0;
}

void ssh_machine_drop(struct ssh_machine *m)
{
	if (m->sftp)
		libssh2_sftp_shutdown(m->sftp);
	if (m->s) {
		libssh2_session_disconnect(m->s, "bye");
		libssh2_session_free(m->s);
	}
	if (m->sock >= 0)
		close(m->sock);
	m->sftp = NULL;
	m->s = NULL;
	m->sock = -1;
	ssh_jump_close(m); /* after the target's end of the tunnel is closed */
}

static int session_open(struct lf_driver_conn *c, struct ssh_machine *m,
			const char *pin, struct lf_call *call, struct lf_err *err)
{
	struct ssh_peer p = { m->address, m->port, c->cfg.user, c->cfg.identity,
			      c->cfg.agent, c->cfg.known_hosts, c->cfg.accept_new, pin, "host" };
	int rc;

	if (c->cfg.njump)
		rc = ssh_jump_open(c, m, call, err);
	else
		rc = ssh_tcp_connect(m->address, m->port, c->cfg.connect_timeout, &m->sock, err);
	if (rc == 0)
		rc = ssh_session_start(&m->s, m->sock, &p, c->cfg.connect_timeout, m->fp,
				       sizeof(m->fp), call, err);
	if (rc != 0)
		ssh_machine_drop(m);
	return rc;
}

static struct ssh_machine *machine_find(struct lf_driver_conn *c, const char *addr)
{
	struct ssh_machine *m;

	pthread_mutex_lock(&c->mu);
	for (m = c->machines; m; m = m->next)
		if (strcmp(m->address, addr) == 0)
			break;
	if (!m && (m = calloc(1, sizeof(*m))) != NULL) {
		m->address = strdup(addr);
		m->port = c->cfg.port;
		m->sock = -1;
		pthread_mutex_init(&m->mu, NULL);
		m->next = c->machines;
		c->machines = m;
	}
	pthread_mutex_unlock(&c->mu);
	return m && m->address ? m : NULL;
}

/* the pin: the spec's, else a provider's reported host key */
static const char *target_pin(struct lf_driver_conn *c, const struct lf_target *t)
{
	const char *p = t->outputs ? ssh_host->kv_get_str(t->outputs, "host_key_sha256") : NULL;

	return c->cfg.fingerprint ? c->cfg.fingerprint : p;
}

int ssh_machine_get(struct lf_driver_conn *c, const struct lf_target *t,
		    struct lf_call *call, struct ssh_machine **out,
		    struct lf_err *err)
{
	struct ssh_machine *m;
	int rc = 0;

	if (!t->machine_address || !*t->machine_address)
		return ssh_host->err_set(err, LF_EINVALID, "ssh: %s has no machine address",
					 t->resource);
	m = machine_find(c, t->machine_address);
	if (!m)
		return ssh_host->err_set(err, LF_ERROR, "ssh: out of memory");
	pthread_mutex_lock(&m->mu);
	if (m->s && libssh2_keepalive_send(m->s, NULL) != 0)
		ssh_machine_drop(m); /* dropped: reopen */
	if (!m->s)
		rc = session_open(c, m, target_pin(c, t), call, err);
	if (rc != 0) {
		pthread_mutex_unlock(&m->mu);
		return rc;
	}
	*out = m;
	return 0;
}

void ssh_machine_put(struct ssh_machine *m)
{
	pthread_mutex_unlock(&m->mu);
}

void ssh_machines_free(struct ssh_machine *list)
{
	struct ssh_machine *m, *next;

	for (m = list; m; m = next) {
		next = m->next;
		ssh_machine_drop(m);
		pthread_mutex_destroy(&m->mu);
		free(m->address);
		free(m->bin_sent);
		free(m);
	}
}

int ssh_sftp(struct ssh_machine *m, struct lf_err *err)
{
	if (m->sftp)
		return 0;
	m->sftp = libssh2_sftp_init(m->s);
	if (!m->sftp)
		return ssh_fail(m, libssh2_session_last_errno(m->s), "cannot start SFTP", err);
	return 0;
}

static int is_network_error(int rc)
{
	return rc == LIBSSH2_ERROR_SOCKET_SEND || rc == LIBSSH2_ERROR_SOCKET_RECV ||
	       rc == LIBSSH2_ERROR_SOCKET_DISCONNECT || rc == LIBSSH2_ERROR_TIMEOUT ||
	       rc == LIBSSH2_ERROR_SOCKET_TIMEOUT || rc == LIBSSH2_ERROR_BANNER_RECV ||
	       rc == LIBSSH2_ERROR_KEX_FAILURE || rc == LIBSSH2_ERROR_CHANNEL_CLOSED ||
	       rc == LIBSSH2_ERROR_CHANNEL_EOF_SENT;
}

int ssh_fail(struct ssh_machine *m, int rc, const char *what, struct lf_err *err)
{
	char *msg = NULL;

	if (m->s)
		libssh2_session_last_error(m->s, &msg, NULL, 0);
	if (is_network_error(rc) || !m->s) {
		ssh_host->err_set_retry(err, LF_ERETRY, 0,
					"ssh: %s on %s: connection lost (%s)", what, m->address,
					msg && *msg ? msg : "network error");
		ssh_machine_drop(m);
		return LF_ERETRY;
	}
	return ssh_host->err_set(err, LF_ERROR, "ssh: %s on %s: %s (%d)", what, m->address,
				 msg && *msg ? msg : "error", rc);
}
