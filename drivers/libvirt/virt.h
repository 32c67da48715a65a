/*
 * The `libvirt` driver: VMs from size templates on a libvirt host.
 * Internal header shared by the driver's files only.
 */
#ifndef LF_DRIVER_VIRT_H
#define LF_DRIVER_VIRT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <libvirt/libvirt.h>
#include "ledgerform/driver.h"

/* The XML namespace of ledgerform's element in a domain's <metadata>. */
#define VIRT_NS_URI "https://ledgerform.dev/xmlns/libvirt/host/1"
#define VIRT_NS_PREFIX "ledgerform"

extern const struct lf_host_api *virt_host;

struct virt_config {
	char *uri;          /* connection URI */
	char *pool;         /* storage pool of the disks and seeds */
	char *network;      /* libvirt network, or */
	char *bridge;       /* a host bridge */
	char *base_image;   /* volume in the pool, or an absolute path */
	char *cpu_mode;     /* host-passthrough | host-model | maximum | "" */
	char *domain_type;  /* kvm (default) | qemu (TCG) */
	char *disk_bus;     /* virtio (default) | sata | scsi */
	char *disk_cache;   /* none | writeback | ... ; NULL: libvirt's */
	char *user;         /* cloud-init user */
	char *ssh_key;      /* the user's authorized public key */
	long max_vcpus;     /* live vCPU ceiling (0: the template's) */
	long max_memory_mb; /* live memory ceiling (0: the template's) */
	long ip_wait_s;     /* bounded wait for an IP address (0: none) */
	long shutdown_wait_s; /* graceful shutdown before a forced stop */
	bool seed;          /* write a cloud-init NoCloud seed */
};

struct lf_driver_conn {
	struct virt_config cfg;
	pthread_mutex_t mu;  /* guards reopening vc */
	virConnectPtr vc;
};

/* config */
int virt_config_parse(struct virt_config *cfg, const struct lf_kv *kv,
		      struct lf_err *err);
void virt_config_clear(struct virt_config *cfg);
bool virt_config_key_known(const char *key);

/* errors: libvirt's last error (thread-local) into err, mapped */
int virt_err(struct lf_err *err, const char *what, const char *name);
int virt_code_map(int vir_code, int vir_domain);

/* the live connection (reopened when it was lost); NULL with err set */
virConnectPtr virt_conn(struct lf_driver_conn *c, struct lf_err *err);

/* domain XML (libxml2) */
struct virt_dom_spec {
	const char *name, *lineage, *resource;
	unsigned int vcpus, max_vcpus;
	unsigned long long memory_mb, max_memory_mb;
	const char *cpu_mode, *domain_type, *disk_bus, *disk_cache;
	const char *disk_path, *seed_path; /* seed_path NULL: none */
	const char *volume, *seed_volume;  /* names recorded in metadata */
	const char *network, *bridge;
};

/* live facts parsed from a domain's XML */
struct virt_dom_facts {
	char lineage[128], resource[256];
	char volume[256], seed_volume[256];
	char mac[32];
	char disk_target[16];
	unsigned int max_vcpus;
	unsigned long long max_memory_kib;
	unsigned long long cur_memory_kib; /* <currentMemory> */
};

int virt_xml_domain(const struct virt_dom_spec *s, char **out,
		    struct lf_err *err);
int virt_xml_facts(const char *domxml, struct virt_dom_facts *out,
		   struct lf_err *err);
int virt_xml_volume(const char *name, unsigned long long capacity,
		    const char *format, const char *backing,
		    const char *backing_format, char **out, struct lf_err *err);

/* cloud-init NoCloud seed */
int virt_seed_userdata(const char *user, const char *ssh_key,
		       const char *hostname, char **out, struct lf_err *err);
int virt_seed_metadata(const char *instance_id, const char *hostname,
		       char **out, struct lf_err *err);
/* build the ISO (genisoimage) into a malloc'd buffer */
int virt_seed_iso(const char *userdata, const char *metadata, char **out,
		  size_t *len, struct lf_err *err);

/* One host call: the connection, the domain when found, its facts. */
struct virt_hc {
	struct lf_driver_conn *c;
	const struct lf_host_spec *spec;
	struct lf_call *call;
	virConnectPtr vc;
	virDomainPtr dom;             /* NULL until found */
	virStoragePoolPtr pool;       /* NULL until needed */
	struct virt_dom_facts f;
	char vol[256], seed[256];     /* the names this host's volumes get */
};

int virt_hc_begin(struct virt_hc *hc, struct lf_driver_conn *c,
		  const struct lf_host_spec *spec, struct lf_call *call,
		  unsigned int flags, unsigned int known, const char *fn,
		  struct lf_err *err);
void virt_hc_end(struct virt_hc *hc);
/* the domain named spec->name, ours: LF_ENOTFOUND, LF_ECONFLICT (another
 * or no lineage: never touched) */
int virt_hc_find(struct virt_hc *hc, struct lf_err *err);
int virt_hc_pool(struct virt_hc *hc, struct lf_err *err);
/* outputs and live attributes to out (NULL: none) */
int virt_hc_emit(struct virt_hc *hc, struct lf_kv_builder *out,
		 struct lf_err *err);
/* disk volume capacity in bytes */
int virt_hc_disk_bytes(struct virt_hc *hc, unsigned long long *out,
		       struct lf_err *err);
/* stop the domain: graceful within shutdown_wait_s, then forced */
int virt_hc_stop(struct virt_hc *hc, struct lf_err *err);

/* provider callbacks */
int virt_validate(const struct lf_kv *config, const struct lf_kv *sizes,
		  struct lf_call *call, unsigned int flags, struct lf_err *err);
enum lf_change_kind virt_change_kind(const struct lf_kv *config,
				     const char *key, const char *old_val,
				     const char *new_val, char *why,
				     size_t why_len);
int virt_host_create(struct lf_driver_conn *c, const struct lf_host_spec *spec,
		     struct lf_call *call, struct lf_kv_builder *out,
		     unsigned int flags, struct lf_err *err);
int virt_host_read(struct lf_driver_conn *c, const struct lf_host_spec *spec,
		   struct lf_call *call, struct lf_kv_builder *out,
		   unsigned int flags, struct lf_err *err);
int virt_host_update(struct lf_driver_conn *c, const struct lf_host_spec *spec,
		     struct lf_call *call, struct lf_kv_builder *out,
		     unsigned int flags, struct lf_err *err);
int virt_host_delete(struct lf_driver_conn *c, const struct lf_host_spec *spec,
		     struct lf_call *call, unsigned int flags,
		     struct lf_err *err);

#endif
