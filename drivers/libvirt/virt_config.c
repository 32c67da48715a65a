/*
 * Configuration of the libvirt driver: every key optional, every value
 * checked. Defaults: uri qemu:///system, pool "default", network
 * "default", domain_type kvm, disk_bus virtio, user fabric, seed true,
 * ip_wait_s 120, shutdown_wait_s 60.
 */
#include "virt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const virt_known_keys[] = {
	"uri", "pool", "network", "bridge", "base_image", "cpu_mode",
	"domain_type", "disk_bus", "disk_cache", "user", "ssh_authorized_key",
	"max_vcpus", "max_memory_mb", "ip_wait_s", "shutdown_wait_s", "seed",
	NULL,
};

struct str_key {
	const char *key;
	size_t off;
	const char *dflt;
	const char *const *allowed; /* NULL: any non-empty string */
};

static const char *const cpu_modes[] = { "host-passthrough", "host-model",
					 "maximum", "none", NULL };
static const char *const dom_types[] = { "kvm", "qemu", "test", NULL };
static const char *const buses[] = { "virtio", "sata", "scsi", "ide", NULL };
static const char *const caches[] = { "none", "writeback", "writethrough",
				      "directsync", "unsafe", "default", NULL };

static const struct str_key str_keys[] = {
	{ "uri", offsetof(struct virt_config, uri), "qemu:///system", NULL },
	{ "pool", offsetof(struct virt_config, pool), "default", NULL },
	{ "network", offsetof(struct virt_config, network), NULL, NULL },
	{ "bridge", offsetof(struct virt_config, bridge), NULL, NULL },
	{ "base_image", offsetof(struct virt_config, base_image), NULL, NULL },
	{ "cpu_mode", offsetof(struct virt_config, cpu_mode), "none", cpu_modes },
	{ "domain_type", offsetof(struct virt_config, domain_type), "kvm", dom_types },
	{ "disk_bus", offsetof(struct virt_config, disk_bus), "virtio", buses },
	{ "disk_cache", offsetof(struct virt_config, disk_cache), NULL, caches },
	{ "user", offsetof(struct virt_config, user), "fabric", NULL },
	{ "ssh_authorized_key", offsetof(struct virt_config, ssh_key), NULL, NULL },
	{ NULL, 0, NULL, NULL },
};

bool virt_config_key_known(const char *key)
{
	size_t i;

	for (i = 0; virt_known_keys[i]; i++)
		if (strcmp(key, virt_known_keys[i]) == 0)
			return true;
	return false;
}

static bool one_of(const char *v, const char *const *allowed)
{
	for (; *allowed; allowed++)
		if (strcmp(v, *allowed) == 0)
			return true;
	return false;
}

static int cfg_str(struct virt_config *cfg, const struct lf_kv *kv,
		   const struct str_key *k, struct lf_err *err)
{
	const char *v = virt_host->kv_get_str(kv, k->key);
	char **dst = (char **)((char *)cfg + k->off);

	if (!v)
		v = k->dflt;
	if (!v)
		return 0;
	if (!v[0] || v[0] == '{' || v[0] == '[')
		return virt_host->err_set(err, LF_EINVALID,
					  "libvirt: config %s must be a non-empty string", k->key);
	if (k->allowed && !one_of(v, k->allowed))
		return virt_host->err_set(err, LF_EINVALID,
					  "libvirt: config %s '%s' is not one of the known values",
					  k->key, v);
	*dst = strdup(v);
	if (!*dst)
		return virt_host->err_set(err, LF_ERROR, "libvirt: out of memory");
	return 0;
}

static int cfg_long(const struct lf_kv *kv, const char *key, long lo, long hi,
		    long *out, struct lf_err *err)
{
	const char *s = virt_host->kv_get_str(kv, key);
	char *end = NULL;
	long long v;

	if (!s)
		return 0;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		return virt_host->err_set(err, LF_EINVALID,
					  "libvirt: config %s '%s' is not an integer in %ld..%ld",
					  key, s, lo, hi);
	*out = (long)v;
	return 0;
}

static int cfg_checks(struct virt_config *cfg, const struct lf_kv *kv,
		      struct lf_err *err)
{
	const char *seed = virt_host->kv_get_str(kv, "seed");

	if (seed && strcmp(seed, "true") && strcmp(seed, "false"))
		return virt_host->err_set(err, LF_EINVALID, "libvirt: config seed must be true or false");
	cfg->seed = !seed || strcmp(seed, "true") == 0;
	if (cfg->network && cfg->bridge)
		return virt_host->err_set(err, LF_EINVALID,
					  "libvirt: config gives both network and bridge; give one");
	if (!cfg->network && !cfg->bridge && !(cfg->network = strdup("default")))
		return virt_host->err_set(err, LF_ERROR, "libvirt: out of memory");
	if (cfg->seed && cfg->ssh_key && strpbrk(cfg->ssh_key, "\n\r"))
		return virt_host->err_set(err, LF_EINVALID,
					  "libvirt: config ssh_authorized_key must be one line (a public key)");
	return 0;
}

int virt_config_parse(struct virt_config *cfg, const struct lf_kv *kv,
		      struct lf_err *err)
{
	size_t i;
	int rc = 0;

	memset(cfg, 0, sizeof(*cfg));
	cfg->ip_wait_s = 120;
	cfg->shutdown_wait_s = 60;
	for (i = 0; str_keys[i].key && rc == 0; i++)
		rc = cfg_str(cfg, kv, &str_keys[i], err);
	if (rc == 0)
		rc = cfg_long(kv, "max_vcpus", 1, 4096, &cfg->max_vcpus, err);
	if (rc == 0)
		rc = cfg_long(kv, "max_memory_mb", 16, 16L * 1024 * 1024,
			      &cfg->max_memory_mb, err);
	if (rc == 0)
		rc = cfg_long(kv, "ip_wait_s", 0, 3600, &cfg->ip_wait_s, err);
	if (rc == 0)
		rc = cfg_long(kv, "shutdown_wait_s", 0, 3600, &cfg->shutdown_wait_s, err);
	if (rc == 0)
		rc = cfg_checks(cfg, kv, err);
	return rc;
}

void virt_config_clear(struct virt_config *cfg)
{
	size_t i;

	for (i = 0; str_keys[i].key; i++) {
		char **p = (char **)((char *)cfg + str_keys[i].off);

		free(*p);
		*p = NULL;
	}
}
