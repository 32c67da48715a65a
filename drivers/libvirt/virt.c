/*
 * The `libvirt` driver (ABI 2, provider): VMs from size templates on a
 * libvirt host (qemu:///system, qemu+ssh://host/system, test:///default).
 *
 * libvirt's own error callback is silenced once, when the plugin is
 * entered: its messages never reach stderr, they are carried in ours
 * (virt_err reads the thread's last libvirt error). A connection that was
 * lost is reopened on the next call; the call that saw it fail gets
 * LF_ERETRY. SIGPIPE (a write to a daemon that went away) is ignored when
 * the process left it at its default, which would end the process.
 */
#include "virt.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libvirt/virterror.h>

const struct lf_host_api *virt_host;

static void virt_silent(void *payload, virErrorPtr e)
{
	(void)payload;
	(void)e;
}

/* libvirt error code and domain -> ledgerform code */
int virt_code_map(int code, int domain)
{
	switch (code) {
	case VIR_ERR_NO_DOMAIN: case VIR_ERR_NO_STORAGE_VOL:
	case VIR_ERR_NO_STORAGE_POOL: case VIR_ERR_NO_NETWORK:
	case VIR_ERR_NO_DOMAIN_METADATA:
		return LF_ENOTFOUND;
	case VIR_ERR_AUTH_FAILED: case VIR_ERR_AUTH_CANCELLED:
	case VIR_ERR_AUTH_UNAVAILABLE: case VIR_ERR_ACCESS_DENIED:
		return LF_EAUTH;
	case VIR_ERR_NO_SUPPORT: case VIR_ERR_ARGUMENT_UNSUPPORTED:
		return LF_EUNSUPPORTED;
	case VIR_ERR_INVALID_ARG: case VIR_ERR_XML_ERROR:
	case VIR_ERR_XML_DETAIL: case VIR_ERR_CONFIG_UNSUPPORTED:
		return LF_EINVALID;
	case VIR_ERR_DOM_EXIST: case VIR_ERR_STORAGE_VOL_EXIST:
		return LF_EXISTS;
	case VIR_ERR_RPC:
	case VIR_ERR_OPERATION_TIMEOUT: case VIR_ERR_AGENT_UNRESPONSIVE:
	case VIR_ERR_RESOURCE_BUSY: case VIR_ERR_STORAGE_POOL_BUILT:
		return LF_ERETRY;
	default:
		break;
	}
	if (domain == VIR_FROM_RPC || domain == VIR_FROM_REMOTE ||
	    domain == VIR_FROM_SSH)
		return LF_ERETRY; /* the connection went away */
	if (code == VIR_ERR_OPERATION_FAILED && domain == VIR_FROM_STORAGE)
		return LF_ERETRY; /* a busy pool (jobs running, refresh) */
	return LF_ERROR;
}

int virt_err(struct lf_err *err, const char *what, const char *name)
{
	virErrorPtr e = virGetLastError();
	int code = e ? virt_code_map(e->code, e->domain) : LF_ERROR;
	char msg[LF_ERR_MSG_MAX];
	char *p;

	snprintf(msg, sizeof(msg), "%s", e && e->message ? e->message : "unknown libvirt error");
	for (p = msg; (p = strpbrk(p, "\r\n")); ) /* one line */
		*p = ' ';

	if (code == LF_ERETRY)
		return virt_host->err_set_retry(err, code, 0, "libvirt: %s '%s': %s",
						what, name ? name : "", msg);
	return virt_host->err_set(err, code, "libvirt: %s '%s': %s", what,
				  name ? name : "", msg);
}

static int conn_open(struct lf_driver_conn *c, struct lf_err *err)
{
	virConnectPtr vc = virConnectOpen(c->cfg.uri);

	if (!vc)
		return virt_err(err, "cannot connect to", c->cfg.uri);
	virConnSetErrorFunc(vc, NULL, virt_silent);
	c->vc = vc;
	return 0;
}

virConnectPtr virt_conn(struct lf_driver_conn *c, struct lf_err *err)
{
	virConnectPtr vc = NULL;

	pthread_mutex_lock(&c->mu);
	if (c->vc && virConnectIsAlive(c->vc) != 1) {
		virConnectClose(c->vc);
		c->vc = NULL;
	}
	if (c->vc || conn_open(c, err) == 0) {
		vc = c->vc;
		virConnectRef(vc);
	}
	pthread_mutex_unlock(&c->mu);
	return vc;
}

static int virt_open(struct lf_driver_conn **out, const struct lf_kv *config,
		     struct lf_call *call, unsigned int flags,
		     struct lf_err *err)
{
	struct lf_driver_conn *c;
	int rc;

	(void)call;
	*out = NULL;
	if (flags != 0)
		return virt_host->err_set(err, LF_EINVALID,
					  "libvirt: unsupported flags (0x%x) in open", flags);
	c = calloc(1, sizeof(*c));
	if (!c)
		return virt_host->err_set(err, LF_ERROR, "libvirt: out of memory");
	pthread_mutex_init(&c->mu, NULL);
	rc = virt_config_parse(&c->cfg, config, err);
	if (rc == 0)
		rc = conn_open(c, err);
	if (rc != 0) {
		virt_config_clear(&c->cfg);
		pthread_mutex_destroy(&c->mu);
		free(c);
		return rc;
	}
	*out = c;
	return 0;
}

static void virt_close(struct lf_driver_conn *c)
{
	if (!c)
		return;
	if (c->vc)
		virConnectClose(c->vc);
	virt_config_clear(&c->cfg);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

/* A write to a libvirtd that went away raises SIGPIPE in the writing
 * thread, whose default action ends the whole process; libvirt asks its
 * applications to ignore it. Done only when nobody chose a handler. */
static void virt_sigpipe_ignore(void)
{
	struct sigaction old, ign;

	if (sigaction(SIGPIPE, NULL, &old) != 0 || old.sa_handler != SIG_DFL ||
	    (old.sa_flags & SA_SIGINFO))
		return;
	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	sigemptyset(&ign.sa_mask);
	sigaction(SIGPIPE, &ign, NULL);
}

static const struct lf_driver virt_driver = {
	.abi_version = LF_DRIVER_ABI_VERSION,
	.struct_size = sizeof(struct lf_driver),
	.name = "libvirt",
	.version = "0.1.0",
	.roles = LF_ROLE_PROVIDER,
	.caps = LF_CAP_CONN_SHARED, /* virConnectPtr is thread-safe */
	.open = virt_open,
	.close = virt_close,
	.validate = virt_validate,
	.change_kind = virt_change_kind,
	.host_create = virt_host_create,
	.host_read = virt_host_read,
	.host_update = virt_host_update,
	.host_delete = virt_host_delete,
};

LF_DRIVER_EXPORT const struct lf_driver *lf_driver_entry(const struct lf_host_api *host);
LF_DRIVER_EXPORT const struct lf_driver *lf_driver_entry(const struct lf_host_api *host)
{
	if (!host || host->abi_version != LF_DRIVER_ABI_VERSION)
		return NULL;
	virt_host = host;
	virSetErrorFunc(NULL, virt_silent);
	virt_sigpipe_ignore();
	return &virt_driver;
}
