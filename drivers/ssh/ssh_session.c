/*
 * SSH sessions of the ssh driver: one per machine (address and port),
 * reused by every call, parallel calls on channels of their own (the
 * locking and waiting rules are at struct ssh_machine in ssh.h). A session is
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
#include <time.h>
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

/* ---- waiting without the lock ------------------------------------------ */

/* libssh2's socket I/O, noting that bytes moved (mu is held: libssh2 runs
 * only under it), so the callers waiting for other channels look again */
static ssize_t io_recv(libssh2_socket_t fd, void *buf, size_t len, int flags, void **abstract)
{
	struct ssh_machine *m = *abstract;
	ssize_t n = recv(fd, buf, len, flags);

	if (n > 0)
		m->io = 1;
	return n < 0 ? -errno : n;
}

static ssize_t io_send(libssh2_socket_t fd, const void *buf, size_t len, int flags,
		       void **abstract)
{
	struct ssh_machine *m = *abstract;
	ssize_t n = send(fd, buf, len, flags | MSG_NOSIGNAL);

	if (n > 0)
		m->io = 1;
	return n < 0 ? -errno : n;
}

/* tell everyone waiting to look again */
static void wake_all(struct ssh_machine *m)
{
	char b = 1;

	m->io = 0;
	m->moved++;
	pthread_cond_broadcast(&m->cv);
	if (m->polling && write(m->wake[1], &b, 1) < 0) {
		/* full: the poller wakes anyway */
	}
}

void ssh_lock(struct ssh_machine *m)
{
	pthread_mutex_lock(&m->mu);
}

void ssh_unlock(struct ssh_machine *m)
{
	if (m->io)
		wake_all(m);
	pthread_mutex_unlock(&m->mu);
}

/* the poller: poll the socket (and the wake pipe) without the lock */
static void poll_socket(struct ssh_machine *m, int ms)
{
	int dir = libssh2_session_block_directions(m->s);
	struct pollfd p[2] = { { m->sock, POLLIN, 0 }, { m->wake[0], POLLIN, 0 } };
	char buf[64];

	if ((dir & LIBSSH2_SESSION_BLOCK_OUTBOUND) || m->poll_out)
		p[0].events |= POLLOUT;
	m->polling = 1;
	pthread_mutex_unlock(&m->mu);
	if (poll(p, 2, ms) > 0 && (p[1].revents & POLLIN))
		while (read(m->wake[0], buf, sizeof(buf)) > 0)
			;
	pthread_mutex_lock(&m->mu);
	m->polling = 0;
	m->poll_out = 0;
	wake_all(m); /* the others look again; one of them polls next */
}

/* now + ms on the clock pthread_cond_timedwait uses */
static void deadline_in(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

int ssh_wait(struct ssh_machine *m, int ms)
{
	unsigned long seen;
	struct timespec ts;

	if (m->io)
		wake_all(m); /* this call read bytes for other channels */
	if (m->dead)
		return -1;
	if (!m->polling) {
		poll_socket(m, ms);
		return m->dead ? -1 : 0;
	}
	if ((libssh2_session_block_directions(m->s) & LIBSSH2_SESSION_BLOCK_OUTBOUND) &&
	    !m->poll_out) {
		char b = 1;

		m->poll_out = 1; /* the poller polls again, for POLLOUT too */
		if (write(m->wake[1], &b, 1) < 0) {
			/* full: it wakes anyway */
		}
	}
	seen = m->moved;
	deadline_in(&ts, ms);
	while (m->moved == seen && !m->dead &&
	       pthread_cond_timedwait(&m->cv, &m->mu, &ts) == 0)
		;
	return m->dead ? -1 : 0;
}

int ssh_again(struct ssh_machine *m, uint64_t *t0)
{
	uint64_t now = ssh_host->now_ms();

	if (!*t0)
		*t0 = now;
	if (now - *t0 >= (uint64_t)m->stall_ms) {
		ssh_machine_drop(m); /* no answer: as good as lost */
		return -1;
	}
	return ssh_wait(m, 1000);
}

void ssh_yield_to_puts(struct ssh_machine *m, int ms)
{
	struct timespec ts;

	deadline_in(&ts, ms);
	while (m->putting > 0 && !m->dead &&
	       pthread_cond_timedwait(&m->cv, &m->mu, &ts) == 0)
		;
}

/* ---- channels ----------------------------------------------------------- */

int ssh_chan_take(struct ssh_machine *m, int kill)
{
	while (!m->dead && m->chans >= m->max_chans - (kill ? 0 : 1)) {
		if (!kill && m->nidle > 0) { /* an idle SFTP channel makes room */
			LIBSSH2_SFTP *sf = m->sftp_idle[--m->nidle];
			int rc;

			SSH_INT(m, rc, libssh2_sftp_shutdown(sf));
			m->chans--;
			continue;
		}
		pthread_cond_wait(&m->cv, &m->mu);
	}
	if (m->dead)
		return -1;
	m->chans++;
	return 0;
}

void ssh_chan_give(struct ssh_machine *m)
{
	m->chans--;
	pthread_cond_broadcast(&m->cv);
}

/* one channel open at a time: libssh2 keeps its progress in the session */
static void opening_begin(struct ssh_machine *m)
{
	while (m->opening && !m->dead)
		pthread_cond_wait(&m->cv, &m->mu);
	m->opening = 1;
}

static void opening_end(struct ssh_machine *m)
{
	m->opening = 0;
	pthread_cond_broadcast(&m->cv);
}

LIBSSH2_CHANNEL *ssh_channel_open(struct ssh_machine *m)
{
	LIBSSH2_CHANNEL *ch = NULL;

	opening_begin(m);
	if (!m->dead)
		SSH_PTR(m, ch, libssh2_channel_open_session(m->s));
	opening_end(m);
	return ch;
}

LIBSSH2_SFTP *ssh_sftp_take(struct ssh_machine *m, struct lf_err *err)
{
	LIBSSH2_SFTP *sf = NULL;
	int e;

	if (m->nidle > 0)
		return m->sftp_idle[--m->nidle];
	if (ssh_chan_take(m, 0) != 0) {
		ssh_fail(m, LIBSSH2_ERROR_SOCKET_DISCONNECT, "cannot start SFTP", err);
		return NULL;
	}
	opening_begin(m);
	if (!m->dead)
		SSH_PTR(m, sf, libssh2_sftp_init(m->s));
	e = sf ? 0 : libssh2_session_last_errno(m->s);
	opening_end(m);
	if (!sf) {
		ssh_chan_give(m);
		ssh_fail(m, e, "cannot start SFTP", err);
	}
	return sf;
}

void ssh_sftp_give(struct ssh_machine *m, LIBSSH2_SFTP *sf)
{
	int rc;

	if (!sf)
		return;
	if (!m->dead && m->nidle < SSH_SFTP_IDLE) {
		m->sftp_idle[m->nidle++] = sf;
		return;
	}
	SSH_INT(m, rc, libssh2_sftp_shutdown(sf)); /* fails at once when dead */
	ssh_chan_give(m);
}

/* ---- sessions ----------------------------------------------------------- */

/* free the session (no caller uses it) */
static void session_close(struct ssh_machine *m)
{
	int i;

	if (m->s)
		libssh2_session_set_blocking(m->s, 1);
	for (i = 0; i < m->nidle; i++)
		libssh2_sftp_shutdown(m->sftp_idle[i]);
	m->nidle = 0;
	if (m->s) {
		if (!m->dead)
			libssh2_session_disconnect(m->s, "bye");
		libssh2_session_free(m->s);
	}
	if (m->sock >= 0)
		close(m->sock);
	m->s = NULL;
	m->sock = -1;
	m->dead = 0;
	m->chans = 0;
	m->opening = 0;
	ssh_jump_close(m); /* after the target's end of the tunnel is closed */
}

void ssh_machine_drop(struct ssh_machine *m)
{
	if (!m->s || m->dead)
		return;
	m->dead = 1;
	if (m->sock >= 0) /* pollers and readers see the end now */
		shutdown(m->sock, SHUT_RDWR);
	wake_all(m);
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
	if (rc != 0) {
		session_close(m);
		return rc;
	}
	*libssh2_session_abstract(m->s) = m;
	libssh2_session_callback_set(m->s, LIBSSH2_CALLBACK_RECV, (void *)io_recv);
	libssh2_session_callback_set(m->s, LIBSSH2_CALLBACK_SEND, (void *)io_send);
	libssh2_session_set_blocking(m->s, 0);
	m->max_chans = (int)c->cfg.max_channels;
	m->stall_ms = c->cfg.connect_timeout * 1000;
	return 0;
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
		m->wake[0] = m->wake[1] = -1;
		if (!m->address || pipe2(m->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
			free(m->address);
			free(m);
			m = NULL;
		} else {
			pthread_mutex_init(&m->mu, NULL);
			pthread_mutex_init(&m->bin_mu, NULL);
			pthread_cond_init(&m->cv, NULL);
			m->next = c->machines;
			c->machines = m;
		}
	}
	pthread_mutex_unlock(&c->mu);
	return m;
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
	while (m->dead && m->users > 0) /* its last callers are failing now */
		pthread_cond_wait(&m->cv, &m->mu);
	if (m->dead)
		session_close(m);
	if (m->s && m->users == 0) {
		int next = 0;

		rc = libssh2_keepalive_send(m->s, &next);
		if (rc != 0 && rc != LIBSSH2_ERROR_EAGAIN)
			session_close(m); /* dropped: reopen */
		rc = 0;
	}
	if (!m->s)
		rc = session_open(c, m, target_pin(c, t), call, err);
	if (rc == 0)
		m->users++;
	ssh_unlock(m);
	if (rc != 0)
		return rc;
	*out = m;
	return 0;
}

void ssh_machine_put(struct ssh_machine *m)
{
	pthread_mutex_lock(&m->mu);
	m->users--;
	if (m->dead && m->users == 0)
		session_close(m);
	pthread_cond_broadcast(&m->cv);
	ssh_unlock(m);
}

void ssh_machines_free(struct ssh_machine *list)
{
	struct ssh_machine *m, *next;

	for (m = list; m; m = next) {
		next = m->next;
		session_close(m);
		pthread_mutex_destroy(&m->mu);
		pthread_mutex_destroy(&m->bin_mu);
		pthread_cond_destroy(&m->cv);
		close(m->wake[0]);
		close(m->wake[1]);
		free(m->address);
		free(m->bin_sent);
		free(m);
	}
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
	if (m->dead && (!msg || !*msg || rc == LIBSSH2_ERROR_EAGAIN))
		msg = "closed or no answer";
	if (is_network_error(rc) || m->dead || !m->s) {
		ssh_host->err_set_retry(err, LF_ERETRY, 0,
					"ssh: %s on %s: connection lost (%s)", what, m->address,
					msg && *msg ? msg : "network error");
		ssh_machine_drop(m);
		return LF_ERETRY;
	}
	if (rc == LIBSSH2_ERROR_CHANNEL_FAILURE) /* refused: over its MaxSessions? */
		return ssh_host->err_set(err, LF_ERROR,
					 "ssh: %s on %s: %s (%d); the server refused a channel: is max_channels (%d) above its sshd's MaxSessions?",
					 what, m->address, msg && *msg ? msg : "error", rc, m->max_chans);
	return ssh_host->err_set(err, LF_ERROR, "ssh: %s on %s: %s (%d)", what, m->address,
				 msg && *msg ? msg : "error", rc);
}
