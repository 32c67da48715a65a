/*
 * Jump hosts (config `jump:`, OpenSSH's ProxyJump). Hop 0 is reached by
 * TCP; every later hop, and at the end the machine, through a
 * direct-tcpip channel of the hop before (the jump host's sshd connects
 * onward). A libssh2 session needs a socket, so each channel is bridged
 * to one end of a socketpair by a pump thread and the next session talks
 * on the other end. Each hop's session gets the same handshake, host key
 * check and authentication as the machine's (ssh_session_start).
 *
 * Threads: once its pump starts, a hop's session and channel are used by
 * that pump thread only (non-blocking, polled with its TCP socket or
 * pair); the machine's mutex holder never touches them, and
 * ssh_jump_close joins the pump before freeing them. A pump ends when the
 * next session closes its end of the pair, or when the hop's connection
 * ends (it then shuts its end down, so the next session sees EOF at once
 * and reports a lost connection, LF_ERETRY).
 */
#include "ssh.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define PUMP_BUF 65536

struct pump_dir {
	char buf[PUMP_BUF];
	size_t len, off;
};

/* channel -> pair; -1 when the channel ended, 1 when bytes moved */
static int pump_down(struct ssh_hop *h, struct pump_dir *d)
{
	ssize_t n;

	if (d->len == 0) {
		n = libssh2_channel_read(h->ch, d->buf, sizeof(d->buf));
		if (n == LIBSSH2_ERROR_EAGAIN || n == 0)
			return libssh2_channel_eof(h->ch) ? -1 : 0;
		if (n < 0)
			return -1;
		d->len = (size_t)n;
		d->off = 0;
	}
	n = send(h->pump_fd, d->buf + d->off, d->len - d->off, MSG_NOSIGNAL);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	d->off += (size_t)n;
	if (d->off == d->len)
		d->len = 0;
	return 1;
}

/* pair -> channel; -1 when the next session closed its end */
static int pump_up(struct ssh_hop *h, struct pump_dir *u)
{
	ssize_t n;

	if (u->len == 0) {
		n = read(h->pump_fd, u->buf, sizeof(u->buf));
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		if (n == 0)
			return -1;
		u->len = (size_t)n;
		u->off = 0;
	}
	n = libssh2_channel_write(h->ch, u->buf + u->off, u->len - u->off);
	if (n == LIBSSH2_ERROR_EAGAIN)
		return 0;
	if (n < 0)
		return -1;
	u->off += (size_t)n;
	if (u->off == u->len)
		u->len = 0;
	return 1;
}

/* wait until the hop's socket or the pair can move something; -1 when
 * the next session has closed its end */
static int pump_wait(struct ssh_hop *h, const struct pump_dir *d, const struct pump_dir *u)
{
	int dirs = libssh2_session_block_directions(h->s);
	struct pollfd p[2] = { { h->sock, POLLIN, 0 }, { h->pump_fd, 0, 0 } };

	if (dirs & LIBSSH2_SESSION_BLOCK_OUTBOUND)
		p[0].events |= POLLOUT;
	p[1].events = (short)((u->len == 0 ? POLLIN : 0) | (d->len ? POLLOUT : 0));
	if (poll(p, 2, 1000) > 0 && (p[1].revents & (POLLHUP | POLLERR)))
		return -1;
	return 0;
}

static void *pump_main(void *arg)
{
	struct ssh_hop *h = arg;
	struct pump_dir *d = malloc(sizeof(*d)), *u = malloc(sizeof(*u));
	int rd = 0, ru = 0;

	if (d && u) {
		d->len = u->len = 0;
		libssh2_session_set_blocking(h->s, 0);
		while (rd >= 0 && ru >= 0) {
			rd = pump_down(h, d);
			ru = rd >= 0 ? pump_up(h, u) : ru;
			if (rd == 0 && ru == 0) {
				libssh2_keepalive_send(h->s, NULL);
				ru = pump_wait(h, d, u);
			}
		}
		libssh2_session_set_blocking(h->s, 1);
	}
	shutdown(h->pump_fd, SHUT_RDWR); /* the next session sees EOF now */
	free(d);
	free(u);
	return NULL;
}

static struct ssh_peer hop_peer(const struct lf_driver_conn *c, const struct ssh_hop_cfg *j)
{
	struct ssh_peer p = { j->address, j->port, j->user ? j->user : c->cfg.user,
			      j->identity ? j->identity : c->cfg.identity, c->cfg.agent,
			      j->known_hosts ? j->known_hosts : c->cfg.known_hosts,
			      c->cfg.accept_new, j->fingerprint, "jump host" };
	return p;
}

/* the tunnel from hop h to address:port, its far end into *next */
static int hop_tunnel(struct ssh_hop *h, const struct ssh_hop_cfg *j, const char *address,
		      long port, int *next, struct lf_err *err)
{
	int sp[2];
	char *msg = NULL;

	h->ch = libssh2_channel_direct_tcpip(h->s, address, (int)port);
	if (!h->ch) {
		libssh2_session_last_error(h->s, &msg, NULL, 0);
		return ssh_host->err_set_retry(err, LF_ERETRY, 0,
					       "ssh: jump host %s port %ld cannot reach %s port %ld (%s)",
					       j->address, j->port, address, port,
					       msg && *msg ? msg : "channel refused");
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) != 0)
		return ssh_host->err_set(err, LF_ERROR, "ssh: socketpair: %s", strerror(errno));
	h->pump_fd = sp[1];
	*next = sp[0];
	fcntl(sp[1], F_SETFL, O_NONBLOCK);
	if (pthread_create(&h->th, NULL, pump_main, h) != 0) {
		close(sp[0]);
		*next = -1;
		return ssh_host->err_set(err, LF_ERROR, "ssh: cannot start a jump host thread");
	}
	h->started = 1;
	return 0;
}

int ssh_jump_open(struct lf_driver_conn *c, struct ssh_machine *m, struct lf_call *call,
		  struct lf_err *err)
{
	const struct ssh_hop_cfg *j = c->cfg.jump;
	size_t i;
	int rc = 0, sock = -1;

	m->hops = calloc(c->cfg.njump, sizeof(*m->hops));
	if (!m->hops)
		return ssh_host->err_set(err, LF_ERROR, "ssh: out of memory");
	rc = ssh_tcp_connect(j[0].address, j[0].port, c->cfg.connect_timeout, &sock, err);
	for (i = 0; rc == 0 && i < c->cfg.njump; i++) {
		struct ssh_hop *h = &m->hops[i];
		struct ssh_peer p = hop_peer(c, &j[i]);
		int last = i + 1 == c->cfg.njump;

		h->sock = sock;
		h->pump_fd = -1;
		m->nhops = i + 1;
		sock = -1;
		rc = ssh_session_start(&h->s, h->sock, &p, c->cfg.connect_timeout, h->fp,
				       sizeof(h->fp), call, err);
		if (rc == 0)
			rc = hop_tunnel(h, &j[i], last ? m->address : j[i + 1].address,
					last ? m->port : j[i + 1].port, &sock, err);
	}
	if (rc == 0)
		m->sock = sock;
	return rc;
}

void ssh_jump_close(struct ssh_machine *m)
{
	size_t i;

	for (i = m->nhops; i-- > 0;) {
		struct ssh_hop *h = &m->hops[i];

		if (h->started)
			pthread_join(h->th, NULL);
		if (h->pump_fd >= 0)
			close(h->pump_fd);
		if (h->ch)
			libssh2_channel_free(h->ch);
		if (h->s) {
			libssh2_session_disconnect(h->s, "bye");
			libssh2_session_free(h->s);
		}
		if (h->sock >= 0)
			close(h->sock);
	}
	free(m->hops);
	m->hops = NULL;
	m->nhops = 0;
}
