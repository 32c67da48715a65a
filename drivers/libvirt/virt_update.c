/*
 * Resizing hosts of the libvirt driver, and its plan-time callbacks.
 *
 * vCPUs and memory change live (and in the persistent config) up to the
 * domain's maximums (<vcpu>, <memory>: the config's max_vcpus and
 * max_memory_mb, or the template's values when larger); past them the
 * change needs a restart, which the plan shows ("in place with restart")
 * and host_update then makes with LF_UPDATE_RESTART: stop, raise the
 * maximums, start. A disk grows with a block resize while the domain runs
 * (qemu holds the image's write lock, so the pool could not resize it)
 * followed by a pool refresh, or a volume resize while it is stopped; a
 * smaller disk is refused at plan.
 */
#include "virt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VIRT_GIB (1024ull * 1024ull * 1024ull)

static int set_vcpus(struct virt_hc *hc, unsigned int n, bool live,
		     struct lf_err *err)
{
	unsigned int fl = VIR_DOMAIN_AFFECT_CONFIG | (live ? VIR_DOMAIN_AFFECT_LIVE : 0);

	if (n > hc->f.max_vcpus &&
	    virDomainSetVcpusFlags(hc->dom, n, VIR_DOMAIN_AFFECT_CONFIG |
				   VIR_DOMAIN_VCPU_MAXIMUM) != 0)
		return virt_err(err, "cannot raise the vCPU maximum of", hc->spec->name);
	if (virDomainSetVcpusFlags(hc->dom, n, fl) != 0)
		return virt_err(err, "cannot set the vCPUs of", hc->spec->name);
	return 0;
}

static int set_memory(struct virt_hc *hc, unsigned long long mb, bool live,
		      struct lf_err *err)
{
	unsigned long kib = (unsigned long)(mb * 1024ull);

	if (kib > hc->f.max_memory_kib &&
	    virDomainSetMemoryFlags(hc->dom, kib, VIR_DOMAIN_AFFECT_CONFIG |
				    VIR_DOMAIN_MEM_MAXIMUM) != 0)
		return virt_err(err, "cannot raise the memory maximum of", hc->spec->name);
	/* live and config one at a time: some drivers refuse both at once */
	if ((live && virDomainSetMemoryFlags(hc->dom, kib, VIR_DOMAIN_AFFECT_LIVE) != 0) ||
	    virDomainSetMemoryFlags(hc->dom, kib, VIR_DOMAIN_AFFECT_CONFIG) != 0)
		return virt_err(err, "cannot set the memory of", hc->spec->name);
	return 0;
}

static int grow_disk(struct virt_hc *hc, bool live, struct lf_err *err)
{
	unsigned long long want = hc->spec->disk_gb * VIRT_GIB, have = 0;
	const char *name = hc->f.volume[0] ? hc->f.volume : hc->vol;
	virStorageVolPtr v;
	int rc = virt_hc_disk_bytes(hc, &have, err);

	if (rc != 0 || !hc->spec->disk_gb || want == have)
		return rc;
	if (want < have)
		return virt_host->err_set(err, LF_EINVALID,
					  "libvirt: the disk of '%s' cannot shrink (%llu GB -> %llu GB)",
					  hc->spec->name, have / VIRT_GIB, hc->spec->disk_gb);
	if (live) { /* qemu holds the image: it grows it, then the guest sees it */
		if (virDomainBlockResize(hc->dom, hc->f.disk_target, want,
					 VIR_DOMAIN_BLOCK_RESIZE_BYTES) != 0)
			return virt_err(err, "cannot resize the disk of", hc->spec->name);
		if (virStoragePoolRefresh(hc->pool, 0) != 0)
			return virt_err(err, "cannot refresh storage pool", hc->c->cfg.pool);
		return 0;
	}
	v = virStorageVolLookupByName(hc->pool, name);
	if (!v)
		return virt_err(err, "cannot find volume", name);
	if (virStorageVolResize(v, want, 0) != 0)
		rc = virt_err(err, "cannot resize volume", name);
	virStorageVolFree(v);
	return rc;
}

/* does the change need a restart: past a live maximum */
static bool past_max(const struct virt_hc *hc)
{
	return hc->spec->vcpus > hc->f.max_vcpus ||
	       hc->spec->memory_mb * 1024ull > hc->f.max_memory_kib;
}

static int resize(struct virt_hc *hc, unsigned int flags, struct lf_err *err)
{
	bool restart = past_max(hc), live = virDomainIsActive(hc->dom) == 1;
	bool was_live = live;
	int rc = 0;

	if (restart && live && !(flags & LF_UPDATE_RESTART))
		return virt_host->err_set(err, LF_EINVALID,
					  "libvirt: %u vCPUs / %llu MB is past the live maximum of '%s' (%u vCPUs / %llu MB): needs a restart",
					  hc->spec->vcpus, hc->spec->memory_mb, hc->spec->name,
					  hc->f.max_vcpus, hc->f.max_memory_kib / 1024ull);
	if (restart && live) {
		virt_host->call_progress(hc->call, "restarting %s to raise its maximums",
					 hc->spec->name);
		rc = virt_hc_stop(hc, err);
		live = false;
	}
	if (rc == 0 && hc->spec->vcpus)
		rc = set_vcpus(hc, hc->spec->vcpus, live, err);
	if (rc == 0 && hc->spec->memory_mb)
		rc = set_memory(hc, hc->spec->memory_mb, live, err);
	if (rc == 0)
		rc = grow_disk(hc, live, err);
	if (rc == 0 && was_live && !live && virDomainCreate(hc->dom) != 0)
		rc = virt_err(err, "cannot start domain", hc->spec->name);
	return rc;
}

int virt_host_update(struct lf_driver_conn *c, const struct lf_host_spec *spec,
		     struct lf_call *call, struct lf_kv_builder *out,
		     unsigned int flags, struct lf_err *err)
{
	struct virt_hc hc;
	int rc = virt_hc_begin(&hc, c, spec, call, flags, LF_UPDATE_RESTART,
			       "host_update", err);

	if (rc == 0)
		rc = virt_hc_find(&hc, err);
	if (rc == 0)
		rc = virt_hc_pool(&hc, err);
	if (rc == 0)
		rc = resize(&hc, flags, err);
	if (rc == 0)
		rc = virt_hc_emit(&hc, out, err);
	virt_hc_end(&hc);
	return rc;
}

/* ---- plan time ----------------------------------------------------------- */

static bool parse_ull(const char *s, unsigned long long *out)
{
	char *end = NULL;

	if (!s || !*s || *s == '-')
		return false;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return errno == 0 && *end == '\0';
}

static enum lf_change_kind past(const char *what, unsigned long long n,
				long long max, char *why, size_t why_len)
{
	if (max > 0 && n > (unsigned long long)max) {
		snprintf(why, why_len, "%llu %s is past the live maximum of %lld: the VM restarts",
			 n, what, max);
		return LF_CHANGE_RESTART;
	}
	return LF_CHANGE_INPLACE;
}

enum lf_change_kind virt_change_kind(const struct lf_kv *config,
				     const char *key, const char *old_val,
				     const char *new_val, char *why,
				     size_t why_len)
{
	unsigned long long o = 0, n = 0;
	bool nums = parse_ull(old_val, &o) && parse_ull(new_val, &n);
	long long maxc = virt_host->kv_get_int(config, "max_vcpus", 0);
	long long maxm = virt_host->kv_get_int(config, "max_memory_mb", 0);

	if (nums && strcmp(key, "vcpus") == 0)
		return past("vCPUs", n, maxc > (long long)o ? maxc : (long long)o, why, why_len);
	if (nums && strcmp(key, "memory_mb") == 0)
		return past("MB of memory", n, maxm > (long long)o ? maxm : (long long)o,
			    why, why_len);
	if (nums && strcmp(key, "disk_gb") == 0) {
		if (n >= o)
			return LF_CHANGE_INPLACE;
		snprintf(why, why_len, "a disk cannot shrink (%llu GB -> %llu GB); replace the host to get a smaller one",
			 o, n);
		return LF_CHANGE_REFUSED;
	}
	if (strcmp(key, "image") == 0)
		snprintf(why, why_len, "a new base image means a new VM");
	return LF_CHANGE_REPLACE;
}

struct vctx {
	struct lf_call *call;
	const char *size;
	int bad;
};

static int config_key(const char *key, const char *val, void *payload)
{
	struct vctx *v = payload;
	char path[160];

	(void)val;
	if (virt_config_key_known(key))
		return 0;
	snprintf(path, sizeof(path), "config.%s", key);
	virt_host->call_diag(v->call, path, "libvirt: unknown setting '%s'", key);
	v->bad++;
	return 0;
}

static int size_field(const char *key, const char *val, void *payload)
{
	static const char *const known[] = { "vcpus", "memory_mb", "disk_gb", "image",
					     "cpu_mode", "base_image", NULL };
	struct vctx *v = payload;
	char path[200];
	size_t i;

	(void)val;
	for (i = 0; known[i]; i++)
		if (strcmp(key, known[i]) == 0)
			return 0;
	snprintf(path, sizeof(path), "sizes.%s.%s", v->size, key);
	virt_host->call_diag(v->call, path,
			     "libvirt: unknown size field '%s' (libvirt knows cpu_mode, base_image)", key);
	v->bad++;
	return 0;
}

struct sizes_walk {
	struct vctx *v;
	const struct lf_kv *sizes;
};

static int size_one(const char *key, const char *val, void *payload)
{
	struct sizes_walk *w = payload;
	const struct lf_kv *one = virt_host->kv_get_kv(w->sizes, key);

	(void)val;
	w->v->size = key;
	if (one)
		virt_host->kv_each(one, size_field, w->v);
	return 0;
}

int virt_validate(const struct lf_kv *config, const struct lf_kv *sizes,
		  struct lf_call *call, unsigned int flags, struct lf_err *err)
{
	struct vctx v = { call, NULL, 0 };
	struct sizes_walk w = { &v, sizes };
	struct virt_config cfg;
	struct lf_err perr = LF_ERR_INIT;

	if (flags != 0)
		return virt_host->err_set(err, LF_EINVALID, "libvirt: unsupported flags in validate");
	virt_host->kv_each(config, config_key, &v);
	if (virt_config_parse(&cfg, config, &perr) != 0) {
		virt_host->call_diag(call, "config", "%s", perr.msg);
		v.bad++;
	}
	virt_config_clear(&cfg);
	if (sizes)
		virt_host->kv_each(sizes, size_one, &w);
	if (v.bad)
		return virt_host->err_set(err, LF_EINVALID,
					  "libvirt: %d problem%s in the provider's config or sizes",
					  v.bad, v.bad == 1 ? "" : "s");
	return 0;
}
