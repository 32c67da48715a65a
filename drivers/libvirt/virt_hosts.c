/*
 * Hosts of the libvirt driver: create, read, delete, and the helpers
 * update shares. A domain is named after the host (readable); it is ours
 * only when its <metadata> carries this state's lineage and the host's
 * resource address. Its disk and seed volumes are named
 * "<name>-<lineage prefix>.qcow2" and "<name>-<lineage prefix>-seed.iso",
 * so a create cut short before the domain was defined leaves volumes the
 * next create reuses and a delete still finds.
 */
#include "virt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <libvirt/virterror.h>

#define VIRT_GIB (1024ull * 1024ull * 1024ull)
#define VIRT_POLL_MS 500

/* an error handled here (a missing domain is made): err is empty again */
static void err_clear(struct lf_err *err)
{
	err->code = 0;
	err->msg[0] = '\0';
	err->retry_after_ms = 0;
}

static void lineage_prefix(const char *lineage, char *buf, size_t cap)
{
	size_t i, n = 0;

	for (i = 0; lineage && lineage[i] && n < 8 && n + 1 < cap; i++)
		if ((lineage[i] >= '0' && lineage[i] <= '9') ||
		    (lineage[i] >= 'a' && lineage[i] <= 'z'))
			buf[n++] = lineage[i];
	buf[n] = '\0';
}

int virt_hc_begin(struct virt_hc *hc, struct lf_driver_conn *c,
		  const struct lf_host_spec *spec, struct lf_call *call,
		  unsigned int flags, unsigned int known, const char *fn,
		  struct lf_err *err)
{
	char lin[16];

	memset(hc, 0, sizeof(*hc));
	if (flags & ~known)
		return virt_host->err_set(err, LF_EINVALID,
					  "libvirt: unsupported flags (0x%x) in %s",
					  flags & ~known, fn);
	if (!spec || !spec->name || !spec->name[0] || !spec->resource ||
	    !spec->lineage || !spec->lineage[0])
		return virt_host->err_set(err, LF_EINVALID,
					  "libvirt: host spec without a name, resource address or lineage");
	hc->c = c;
	hc->spec = spec;
	hc->call = call;
	lineage_prefix(spec->lineage, lin, sizeof(lin));
	snprintf(hc->vol, sizeof(hc->vol), "%s-%s.qcow2", spec->name, lin);
	snprintf(hc->seed, sizeof(hc->seed), "%s-%s-seed.iso", spec->name, lin);
	hc->vc = virt_conn(c, err);
	return hc->vc ? 0 : err->code;
}

void virt_hc_end(struct virt_hc *hc)
{
	if (hc->dom)
		virDomainFree(hc->dom);
	if (hc->pool)
		virStoragePoolFree(hc->pool);
	if (hc->vc)
		virConnectClose(hc->vc);
	hc->dom = NULL;
	hc->pool = NULL;
	hc->vc = NULL;
}

static int facts_of(struct virt_hc *hc, struct lf_err *err)
{
	char *xml = virDomainGetXMLDesc(hc->dom, 0);
	int rc;

	if (!xml)
		return virt_err(err, "cannot read domain", hc->spec->name);
	rc = virt_xml_facts(xml, &hc->f, err);
	free(xml);
	return rc;
}

int virt_hc_find(struct virt_hc *hc, struct lf_err *err)
{
	const char *name = hc->spec->name;
	int rc;

	hc->dom = virDomainLookupByName(hc->vc, name);
	if (!hc->dom)
		return virt_err(err, "cannot find domain", name);
	if ((rc = facts_of(hc, err)) != 0)
		return rc;
	if (strcmp(hc->f.lineage, hc->spec->lineage) != 0 ||
	    strcmp(hc->f.resource, hc->spec->resource) != 0)
		return virt_host->err_set(err, LF_ECONFLICT,
					  "libvirt: domain '%s' exists but is not %s of this state (lineage '%s'); not touching it",
					  name, hc->spec->resource,
					  hc->f.lineage[0] ? hc->f.lineage : "none");
	return 0;
}

int virt_hc_pool(struct virt_hc *hc, struct lf_err *err)
{
	if (hc->pool)
		return 0;
	hc->pool = virStoragePoolLookupByName(hc->vc, hc->c->cfg.pool);
	if (!hc->pool)
		return virt_err(err, "cannot find storage pool", hc->c->cfg.pool);
	return 0;
}

int virt_hc_disk_bytes(struct virt_hc *hc, unsigned long long *out,
		       struct lf_err *err)
{
	const char *name = hc->f.volume[0] ? hc->f.volume : hc->vol;
	virStorageVolPtr v;
	virStorageVolInfo info;
	int rc = 0;

	if ((rc = virt_hc_pool(hc, err)) != 0)
		return rc;
	v = virStorageVolLookupByName(hc->pool, name);
	if (!v)
		return virt_err(err, "cannot find volume", name);
	if (virStorageVolGetInfo(v, &info) != 0)
		rc = virt_err(err, "cannot read volume", name);
	else
		*out = info.capacity;
	virStorageVolFree(v);
	return rc;
}

/* the first IPv4 (else any) address the DHCP leases or the agent know */
static int hc_address(struct virt_hc *hc, char *buf, size_t cap)
{
	static const unsigned int srcs[] = { VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE,
					     VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT };
	virDomainInterfacePtr *ifs = NULL;
	size_t s;
	int n, i, found = 0;

	buf[0] = '\0';
	for (s = 0; s < 2 && !found; s++) {
		n = virDomainInterfaceAddresses(hc->dom, &ifs, srcs[s], 0);
		for (i = 0; i < n; i++) {
			if (!found && ifs[i]->naddrs > 0 && ifs[i]->addrs[0].addr) {
				snprintf(buf, cap, "%s", ifs[i]->addrs[0].addr);
				found = ifs[i]->addrs[0].type == VIR_IP_ADDR_TYPE_IPV4;
			}
			virDomainInterfaceFree(ifs[i]);
		}
		free(ifs);
		ifs = NULL;
		if (buf[0])
			found = 1;
	}
	virResetLastError();
	return found;
}

/* The memory a domain is given: its configured <currentMemory> (the
 * balloon target). The live "used" figure is what the guest's balloon
 * driver gave back, which is the maximum for a guest without one. */
static int config_memory_kib(struct virt_hc *hc, unsigned long long *out,
			     struct lf_err *err)
{
	char *xml = virDomainGetXMLDesc(hc->dom, VIR_DOMAIN_XML_INACTIVE);
	struct virt_dom_facts f;
	int rc;

	if (!xml)
		return virt_err(err, "cannot read domain", hc->spec->name);
	rc = virt_xml_facts(xml, &f, err);
	free(xml);
	*out = f.cur_memory_kib;
	return rc;
}

int virt_hc_emit(struct virt_hc *hc, struct lf_kv_builder *out,
		 struct lf_err *err)
{
	char uuid[VIR_UUID_STRING_BUFLEN], addr[64];
	unsigned long long disk = 0, mem = 0;
	virDomainInfo info;
	int rc;

	if (virDomainGetUUIDString(hc->dom, uuid) != 0 ||
	    virDomainGetInfo(hc->dom, &info) != 0)
		return virt_err(err, "cannot read domain", hc->spec->name);
	if ((rc = virt_hc_disk_bytes(hc, &disk, err)) != 0 ||
	    (rc = config_memory_kib(hc, &mem, err)) != 0)
		return rc;
	if (!out)
		return 0;
	virt_host->kv_set(out, "id", uuid);
	virt_host->kv_set(out, "uuid", uuid);
	if (hc->f.mac[0])
		virt_host->kv_set(out, "mac", hc->f.mac);
	virt_host->kv_set(out, "volume", hc->f.volume[0] ? hc->f.volume : hc->vol);
	virt_host->kv_set_int(out, "vcpus", info.nrVirtCpu);
	virt_host->kv_set_int(out, "memory_mb", (long long)(mem / 1024));
	virt_host->kv_set_int(out, "disk_gb", (long long)((disk + VIRT_GIB - 1) / VIRT_GIB));
	virt_host->kv_set(out, "power", info.state == VIR_DOMAIN_RUNNING ||
			  info.state == VIR_DOMAIN_BLOCKED ? "running" : "stopped");
	if (info.state == VIR_DOMAIN_RUNNING && hc_address(hc, addr, sizeof(addr)))
		virt_host->kv_set(out, "machine_address", addr);
	return 0;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* poll the leases and the agent until an address shows, within ip_wait_s
 * and the call's deadline, one progress line per poll */
static int wait_address(struct virt_hc *hc, struct lf_kv_builder *out,
			struct lf_err *err)
{
	uint64_t start = virt_host->now_ms(), now = start;
	uint64_t end = start + (uint64_t)hc->c->cfg.ip_wait_s * 1000u;
	uint64_t dl = virt_host->call_deadline(hc->call);
	char addr[64];

	if (dl && dl < end)
		end = dl;
	while (!hc_address(hc, addr, sizeof(addr))) {
		if (virt_host->call_cancelled(hc->call))
			return virt_host->err_set(err, LF_ECANCELED,
						  "libvirt: cancelled waiting for '%s' to report an IP address",
						  hc->spec->name);
		now = virt_host->now_ms();
		if (now >= end)
			return virt_host->err_set(err, LF_ETIMEOUT,
						  "libvirt: '%s' reported no IP address within %llu s (DHCP leases, guest agent)",
						  hc->spec->name, (unsigned long long)(now - start) / 1000u);
		virt_host->call_progress(hc->call, "waiting for %s to report an IP address (%llu s)",
					 hc->spec->name, (unsigned long long)(now - start) / 1000u);
		sleep_ms(end - now < VIRT_POLL_MS ? (long)(end - now) : VIRT_POLL_MS);
	}
	virt_host->kv_set(out, "machine_address", addr);
	return 0;
}

int virt_hc_stop(struct virt_hc *hc, struct lf_err *err)
{
	uint64_t end = virt_host->now_ms() + (uint64_t)hc->c->cfg.shutdown_wait_s * 1000u;
	virErrorPtr e;

	if (virDomainIsActive(hc->dom) != 1)
		return 0;
	if (hc->c->cfg.shutdown_wait_s > 0 && virDomainShutdown(hc->dom) == 0) {
		while (virDomainIsActive(hc->dom) == 1 && virt_host->now_ms() < end &&
		       !virt_host->call_cancelled(hc->call)) {
			virt_host->call_progress(hc->call, "waiting for %s to shut down",
						 hc->spec->name);
			sleep_ms(VIRT_POLL_MS);
		}
	}
	virResetLastError();
	if (virDomainIsActive(hc->dom) != 1 || virDomainDestroy(hc->dom) == 0)
		return 0;
	e = virGetLastError();
	if (e && e->code == VIR_ERR_OPERATION_INVALID) /* stopped meanwhile */
		return 0;
	return virt_err(err, "cannot stop domain", hc->spec->name);
}

/* ---- create --------------------------------------------------------- */

/* the backing path and format of the base image: the size's or config's
 * base_image, else the spec's image, as a pool volume ("debian-12" or
 * "debian-12.qcow2") or an absolute path */
static int base_image(struct virt_hc *hc, char **path, char **fmt,
		      struct lf_err *err)
{
	const char *sz = hc->spec->size ?
		virt_host->kv_get_str(hc->spec->size, "base_image") : NULL;
	const char *img = sz ? sz : hc->c->cfg.base_image ? hc->c->cfg.base_image : hc->spec->image;
	char alt[300];
	virStorageVolPtr v = NULL;
	char *xml = NULL;
	int rc = 0;

	*path = *fmt = NULL;
	if (!img || !img[0])
		return virt_host->err_set(err, LF_EINVALID, "libvirt: no base image for '%s'",
					  hc->spec->name);
	snprintf(alt, sizeof(alt), "%s.qcow2", img);
	if (img[0] == '/')
		v = virStorageVolLookupByPath(hc->vc, img);
	else if (!(v = virStorageVolLookupByName(hc->pool, img)))
		v = virStorageVolLookupByName(hc->pool, alt);
	virResetLastError();
	if (!v && img[0] != '/')
		return virt_host->err_set(err, LF_ENOTFOUND,
					  "libvirt: base image '%s' is not a volume of pool '%s'",
					  img, hc->c->cfg.pool);
	*path = v ? virStorageVolGetPath(v) : strdup(img);
	xml = v ? virStorageVolGetXMLDesc(v, 0) : NULL;
	*fmt = strdup(xml && strstr(xml, "<format type='raw'/>") ? "raw" : "qcow2");
	if (!*path || !*fmt)
		rc = virt_err(err, "cannot read base image", img);
	free(xml);
	if (v)
		virStorageVolFree(v);
	return rc;
}

static int make_disk(struct virt_hc *hc, struct lf_err *err)
{
	char *path = NULL, *fmt = NULL, *xml = NULL;
	virStorageVolPtr v = virStorageVolLookupByName(hc->pool, hc->vol);
	int rc;

	virResetLastError();
	if (v) { /* made by a create that was cut short: ours by name */
		virStorageVolFree(v);
		return 0;
	}
	rc = base_image(hc, &path, &fmt, err);
	if (rc == 0)
		rc = virt_xml_volume(hc->vol, hc->spec->disk_gb * VIRT_GIB, "qcow2",
				     path, fmt, &xml, err);
	if (rc == 0 && !(v = virStorageVolCreateXML(hc->pool, xml, 0)))
		rc = virt_err(err, "cannot create volume", hc->vol);
	if (v)
		virStorageVolFree(v);
	free(path);
	free(fmt);
	free(xml);
	return rc;
}

static int upload(struct virt_hc *hc, virStorageVolPtr v, const char *data,
		  size_t len, struct lf_err *err)
{
	virStreamPtr st = virStreamNew(hc->vc, 0);
	size_t off = 0;
	int n, rc = 0;

	if (!st || virStorageVolUpload(v, st, 0, len, 0) != 0) {
		rc = virt_err(err, "cannot upload the seed to", hc->seed);
		goto cleanup;
	}
	while (off < len && rc == 0) {
		n = virStreamSend(st, data + off, len - off);
		if (n < 0)
			rc = virt_err(err, "cannot upload the seed to", hc->seed);
		else
			off += (size_t)n;
	}
	if (rc == 0 && virStreamFinish(st) != 0)
		rc = virt_err(err, "cannot upload the seed to", hc->seed);
	if (rc != 0)
		virStreamAbort(st);
cleanup:
	if (st)
		virStreamFree(st);
	return rc;
}

static int seed_build(struct virt_hc *hc, char **iso, size_t *len,
		      struct lf_err *err)
{
	const struct lf_host_spec *s = hc->spec;
	const char *hn = s->hostname && s->hostname[0] ? s->hostname : s->name;
	char *ud = NULL, *md = NULL, id[300];
	int rc;

	snprintf(id, sizeof(id), "%s", hc->vol);
	rc = virt_seed_userdata(hc->c->cfg.user, hc->c->cfg.ssh_key, hn, &ud, err);
	if (rc == 0)
		rc = virt_seed_metadata(id, hn, &md, err);
	if (rc == 0)
		rc = virt_seed_iso(ud, md, iso, len, err);
	free(ud);
	free(md);
	return rc;
}

static int make_seed(struct virt_hc *hc, struct lf_err *err)
{
	virStorageVolPtr v = virStorageVolLookupByName(hc->pool, hc->seed);
	char *iso = NULL, *xml = NULL;
	size_t len = 0;
	int rc;

	virResetLastError();
	rc = seed_build(hc, &iso, &len, err);
	if (rc == 0 && !v && (rc = virt_xml_volume(hc->seed, len, "raw", NULL, NULL,
						     &xml, err)) == 0 &&
	    !(v = virStorageVolCreateXML(hc->pool, xml, 0)))
		rc = virt_err(err, "cannot create volume", hc->seed);
	if (rc == 0)
		rc = upload(hc, v, iso, len, err);
	if (v)
		virStorageVolFree(v);
	free(iso);
	free(xml);
	return rc;
}

static int define_domain(struct virt_hc *hc, struct lf_err *err)
{
	const struct virt_config *cfg = &hc->c->cfg;
	const struct lf_host_spec *s = hc->spec;
	const char *mode = s->size ? virt_host->kv_get_str(s->size, "cpu_mode") : NULL;
	struct virt_dom_spec d = {
		.name = s->name, .lineage = s->lineage, .resource = s->resource,
		.vcpus = s->vcpus, .memory_mb = s->memory_mb,
		.max_vcpus = s->vcpus > (unsigned long)cfg->max_vcpus ? s->vcpus : (unsigned)cfg->max_vcpus,
		.max_memory_mb = s->memory_mb > (unsigned long long)cfg->max_memory_mb ?
			s->memory_mb : (unsigned long long)cfg->max_memory_mb,
		.cpu_mode = mode ? mode : cfg->cpu_mode, .domain_type = cfg->domain_type,
		.disk_bus = cfg->disk_bus, .disk_cache = cfg->disk_cache,
		.disk_path = cfg->pool, .volume = hc->vol,
		.seed_volume = cfg->seed ? hc->seed : NULL,
		.network = cfg->network, .bridge = cfg->bridge,
	};
	char *xml = NULL;
	int rc = virt_xml_domain(&d, &xml, err);

	if (rc == 0 && !(hc->dom = virDomainDefineXML(hc->vc, xml)))
		rc = virt_err(err, "cannot define domain", s->name);
	free(xml);
	return rc;
}

/* make the volumes and the domain (the domain last: while it is absent,
 * nothing names the volumes but their lineage-prefixed names) */
static int create_new(struct virt_hc *hc, struct lf_err *err)
{
	int rc = virt_hc_pool(hc, err);

	if (rc == 0)
		rc = make_disk(hc, err);
	if (rc == 0 && hc->c->cfg.seed)
		rc = make_seed(hc, err);
	if (rc == 0)
		rc = define_domain(hc, err);
	if (rc == 0)
		rc = facts_of(hc, err);
	return rc;
}

int virt_host_create(struct lf_driver_conn *c, const struct lf_host_spec *spec,
		     struct lf_call *call, struct lf_kv_builder *out,
		     unsigned int flags, struct lf_err *err)
{
	struct virt_hc hc;
	int rc = virt_hc_begin(&hc, c, spec, call, flags, 0, "host_create", err);

	if (rc == 0 && spec->vcpus == 0)
		rc = virt_host->err_set(err, LF_EINVALID, "libvirt: '%s' needs vcpus, memory and disk",
					spec->name);
	if (rc == 0)
		rc = virt_hc_find(&hc, err); /* ours: adopt; another's: refuse */
	if (rc == LF_ENOTFOUND) {
		err_clear(err);
		rc = create_new(&hc, err);
	}
	if (rc == 0 && virDomainIsActive(hc.dom) != 1 && virDomainCreate(hc.dom) != 0)
		rc = virt_err(err, "cannot start domain", spec->name);
	if (rc == 0)
		rc = virt_hc_emit(&hc, out, err); /* UUID, MAC: kept if the wait fails */
	if (rc == 0 && c->cfg.ip_wait_s > 0)
		rc = wait_address(&hc, out, err);
	virt_hc_end(&hc);
	return rc;
}

/* ---- read, delete ------------------------------------------------------ */

int virt_host_read(struct lf_driver_conn *c, const struct lf_host_spec *spec,
		   struct lf_call *call, struct lf_kv_builder *out,
		   unsigned int flags, struct lf_err *err)
{
	const char *was = spec && spec->prior ? virt_host->kv_get_str(spec->prior, "id") : NULL;
	char uuid[VIR_UUID_STRING_BUFLEN];
	struct virt_hc hc;
	int rc = virt_hc_begin(&hc, c, spec, call, flags, 0, "host_read", err);

	if (rc == 0)
		rc = virt_hc_find(&hc, err);
	if (rc == LF_ECONFLICT) /* not ours (any more): gone, as far as we know */
		rc = virt_host->err_set(err, LF_ENOTFOUND, "libvirt: not ours"); /* keeps the message */
	if (rc == 0 && was && virDomainGetUUIDString(hc.dom, uuid) == 0 &&
	    strcmp(uuid, was) != 0)
		rc = virt_host->err_set(err, LF_ENOTFOUND,
					"libvirt: domain '%s' is now %s, not %s (replaced outside ledgerform)",
					spec->name, uuid, was);
	if (rc == 0)
		rc = virt_hc_emit(&hc, out, err);
	virt_hc_end(&hc);
	return rc;
}

/* delete volume name from the pool; a missing one is fine */
static int delete_volume(struct virt_hc *hc, const char *name,
			 struct lf_err *err)
{
	virStorageVolPtr v;
	int rc = 0;

	if (!name[0])
		return 0;
	v = virStorageVolLookupByName(hc->pool, name);
	if (!v) {
		virErrorPtr e = virGetLastError();

		if (e && e->code == VIR_ERR_NO_STORAGE_VOL)
			return 0;
		return virt_err(err, "cannot find volume", name);
	}
	if (virStorageVolDelete(v, 0) != 0)
		rc = virt_err(err, "cannot delete volume", name);
	virStorageVolFree(v);
	return rc;
}

static int undefine(struct virt_hc *hc, struct lf_err *err)
{
	unsigned int fl = VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | VIR_DOMAIN_UNDEFINE_NVRAM |
		VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA |
		VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA;
	virErrorPtr e;

	if (virDomainUndefineFlags(hc->dom, fl) == 0)
		return 0;
	e = virGetLastError();
	if (!e || (e->code != VIR_ERR_NO_SUPPORT && e->code != VIR_ERR_INVALID_ARG &&
		   e->code != VIR_ERR_ARGUMENT_UNSUPPORTED))
		return virt_err(err, "cannot undefine domain", hc->spec->name);
	if (virDomainUndefine(hc->dom) != 0) /* a driver without those flags */
		return virt_err(err, "cannot undefine domain", hc->spec->name);
	return 0;
}

int virt_host_delete(struct lf_driver_conn *c, const struct lf_host_spec *spec,
		     struct lf_call *call, unsigned int flags,
		     struct lf_err *err)
{
	struct virt_hc hc;
	int rc = virt_hc_begin(&hc, c, spec, call, flags, 0, "host_delete", err);

	if (rc == 0 && (rc = virt_hc_find(&hc, err)) == 0) {
		rc = virt_hc_stop(&hc, err);
		if (rc == 0)
			rc = undefine(&hc, err);
	} else if (rc == LF_ENOTFOUND) {
		err_clear(err); /* gone: still remove volumes a cut-short create left */
		rc = 0;
	}
	if (rc == 0 && (rc = virt_hc_pool(&hc, err)) == LF_ENOTFOUND) {
		err_clear(err); /* no pool: no volumes left to remove */
		rc = 0;
	} else if (rc == 0) {
		rc = delete_volume(&hc, hc.f.volume[0] ? hc.f.volume : hc.vol, err);
		if (rc == 0)
			rc = delete_volume(&hc, hc.f.seed_volume[0] ? hc.f.seed_volume : hc.seed,
					   err);
	}
	virt_hc_end(&hc);
	return rc;
}
