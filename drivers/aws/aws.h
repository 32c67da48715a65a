/*
 * The `aws` driver: hosts as EC2 instances through the EC2 Query API
 * (2016-11-15), signed with Signature Version 4. Internal header shared by
 * the driver's files only (and by tests/drivers/aws for the signer).
 */
#ifndef LF_DRIVER_AWS_H
#define LF_DRIVER_AWS_H

#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <libxml/tree.h>
#include "ledgerform/driver.h"

/* ---- a small growable string (the driver links no core code) ---------- */

struct aws_buf {
	char *data;   /* NUL-terminated, NULL while empty */
	size_t len, cap;
	int oom;      /* an append failed: the content is incomplete */
};

void aws_buf_add(struct aws_buf *b, const char *s, size_t n);
void aws_buf_printf(struct aws_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* wipe (the buffer may hold a signature or a credential) and free */
void aws_buf_free(struct aws_buf *b);

/* ---- Signature Version 4 (aws_sigv4.c) --------------------------------- */

struct aws_pair {
	const char *name;
	const char *value;
};

struct aws_sig_in {
	const char *method;          /* "POST" */
	const char *path;            /* canonical URI, "/" */
	const struct aws_pair *query; /* raw names and values (encoded here) */
	size_t nquery;
	const struct aws_pair *headers; /* names any case; all are signed */
	size_t nheaders;
	const char *payload_sha256;  /* hex */
	const char *access_key_id;
	const char *secret_key;
	const char *region;
	const char *service;
	const char *amz_date;        /* YYYYMMDDTHHMMSSZ */
};

struct aws_sig_out {
	struct aws_buf creq;          /* canonical request */
	struct aws_buf sts;           /* string to sign */
	struct aws_buf authorization; /* the Authorization header value */
};

/* URI-encode (RFC 3986 unreserved kept, %XX upper case) and sort the
 * pairs by name then value, joined "a=1&b=2": the canonical query string
 * and the form body of a Query API request */
int aws_query_string(struct aws_buf *out, const struct aws_pair *p, size_t n);
void aws_sha256_hex(const void *data, size_t len, char hex[65]);
/* 0, or -1 when out of memory; out is freed with aws_sig_out_free */
int aws_sigv4_sign(const struct aws_sig_in *in, struct aws_sig_out *out);
void aws_sig_out_free(struct aws_sig_out *out);


/* ---- the connection (aws.c) ---------------------------------------------- */

#define AWS_MAX_GROUPS 16
#define AWS_MAX_IMAGES 32
#define AWS_POOL_MAX 64

struct lf_driver_conn {
	char *region;
	char *endpoint;        /* https://ec2.REGION.amazonaws.com[/] */
	char *host_header;     /* host[:port] of the endpoint, as signed */
	char *ca_bundle;       /* CA file; NULL: the system's */
	char *subnet_id, *key_name, *ssh_authorized_key;
	char *groups[AWS_MAX_GROUPS];
	size_t ngroups;
	char *image_names[AWS_MAX_IMAGES], *image_ids[AWS_MAX_IMAGES];
	size_t nimages;
	long wait_timeout_ms;  /* bound on waiting for a state */
	long poll_ms;          /* DescribeInstances interval while waiting */
	long retry_max;        /* throttled or 5xx attempts within one call */
	long retry_base_ms;    /* first backoff ceiling */
	long http_timeout_ms;
	/* the network's security group (aws_sg.c) */
	int sg_manage;             /* manage_security_group: true */
	char *controller_cidr;     /* who reaches controller ports and SSH */
	char *network_cidrs[AWS_MAX_GROUPS]; /* more sources of network ports */
	size_t nnet;
	char *vpc_id;
	long ssh_port;
	pthread_mutex_t sg_mu;
	char sg_id[32];            /* found or made; "" not yet */
	size_t sg_synced;          /* rules of the last sync, and their hash */
	char sg_synced_hash[65];
	/* idle libcurl handles: each keeps its TLS connection to the
	 * endpoint, so a request skips the TCP and TLS handshakes */
	pthread_mutex_t pool_mu;
	void *pool[AWS_POOL_MAX];
	size_t npool;
	/* the lineage's instances as one paginated DescribeInstances saw
	 * them (aws_snap.c): creates look there, not one call each */
	pthread_mutex_t snap_mu;
	char *snap_lineage;        /* NULL: not loaded */
	struct aws_snap_entry *snap;
	size_t nsnap, capsnap;
	/* waits observe their instances together (aws_ec2.c): one caller
	 * leads a DescribeInstances for every id waiting, the rest wait */
	pthread_mutex_t obs_mu;
	pthread_cond_t obs_cv;
	struct aws_obs *obs;
	int obs_leading;
};

struct aws_obs;

struct aws_snap_entry {
	char resource[256];
	char id[32];
};

extern const struct lf_host_api *aws_host;

/* forget an error the driver handled (the host's err_set keeps the first
 * message of a call, so a recovered one must not linger) */
static inline void aws_err_clear(struct lf_err *err)
{
	err->code = 0;
	err->msg[0] = '\0';
	err->retry_after_ms = 0;
}

/* ---- credentials (aws_creds.c) ------------------------------------------ */

struct aws_creds {
	char akid[128];
	char secret[256];
	char token[4096];      /* "" without a session token */
};

/* resolve now (see docs/aws.md for the order); LF_EAUTH when none */
int aws_creds_get(struct lf_call *call, struct aws_creds *out, struct lf_err *err);
void aws_creds_wipe(struct aws_creds *c);

/* ---- requests (aws_http.c) ----------------------------------------------- */

/* a parsed XML response */
struct aws_resp {
	xmlDocPtr doc;
};

/* One signed Query API call, Action=action with params: throttling and
 * 5xx retried with backoff and jitter within retry_max and the call's
 * deadline (Retry-After honoured; left over as err->retry_after_ms),
 * expired session credentials re-read once, auth errors LF_EAUTH with the
 * API's message, other API errors LF_ERROR ("...NotFound" LF_ENOTFOUND).
 * *out is freed with aws_resp_free. */
int aws_request(struct lf_driver_conn *c, struct lf_call *call, const char *action,
		const struct aws_pair *params, size_t nparams, struct aws_resp **out,
		struct lf_err *err);
void aws_resp_free(struct aws_resp *r);
/* the connection's idle curl handles: freed with the connection */
void aws_pool_free(struct lf_driver_conn *c);
/* sleep ms in slices, LF_ECANCELED when the call is cancelled */
int aws_sleep(struct lf_call *call, long ms, struct lf_err *err);

/* ---- EC2 (aws_ec2.c) ------------------------------------------------------ */

struct aws_instance {
	char id[32];
	char state[24];        /* pending running stopping stopped ... */
	char type[32];
	char image[64];
	char private_ip[64], public_ip[64];
	char lineage[80];      /* tag ledgerform:lineage */
	char resource[256];    /* tag ledgerform:resource */
	unsigned int vcpus;    /* cpuOptions coreCount x threadsPerCore */
	char groups[16][32];   /* groupSet: its security groups' ids */
	unsigned int ngroups;
};

#define AWS_TAG_LINEAGE  "ledgerform:lineage"
#define AWS_TAG_RESOURCE "ledgerform:resource"

/* the first child element of n named name, or NULL (n may be NULL) */
xmlNodePtr aws_xml_child(xmlNodePtr n, const char *name);
/* n's text into buf ("" when n is NULL) */
void aws_xml_text(xmlNodePtr n, char *buf, size_t cap);

/* instances of resp (RunInstances, DescribeInstances): cb per instance */
typedef int (*aws_inst_fn)(const struct aws_instance *in, void *payload);
int aws_resp_instances(struct aws_resp *r, aws_inst_fn cb, void *payload);
/* the text of the first element named name ("nextToken"), or NULL */
char *aws_resp_text(struct aws_resp *r, const char *name);

/* DescribeInstances over every page (NextToken), cb per instance until it
 * returns non-zero: by id when id is set, else by the lineage tag and,
 * when not NULL, the resource tag */
int aws_describe(struct lf_driver_conn *c, struct lf_call *call, const char *id,
		 const char *lineage, const char *resource, aws_inst_fn cb, void *payload,
		 struct lf_err *err);
/* DescribeInstances over every page (NextToken): by id when id is set,
 * else by the lineage and resource tags; terminated ones skipped */
int aws_find(struct lf_driver_conn *c, struct lf_call *call, const char *id,
	     const char *lineage, const char *resource, struct aws_instance *out,
	     struct lf_err *err);
/* the instance's description now, batched with the other threads
 * asking (terminated ones included); LF_ENOTFOUND when EC2 has none */
int aws_observe(struct lf_driver_conn *c, struct lf_call *call, const char *id,
		struct aws_instance *inst, struct lf_err *err);
/* poll until the instance is in state want (bounded, cancellable, with
 * progress); inst gets its last description */
int aws_wait_state(struct lf_driver_conn *c, struct lf_call *call, const char *id,
		   const char *want, struct aws_instance *inst, struct lf_err *err);
/* StopInstances / StartInstances / TerminateInstances of one id */
int aws_instance_action(struct lf_driver_conn *c, struct lf_call *call,
			const char *action, const char *id, struct lf_err *err);

/* ---- the lineage's instances (aws_snap.c) -------------------------------- */

/* the id of resource's live instance: loaded once per connection and
 * lineage with one paginated DescribeInstances; LF_ENOTFOUND */
int aws_snap_lookup(struct lf_driver_conn *c, struct lf_call *call, const char *lineage,
		    const char *resource, char id[32], struct lf_err *err);
/* how many of the lineage's instances the snapshot holds live (not
 * shutting down), loading it when not loaded */
int aws_snap_live(struct lf_driver_conn *c, struct lf_call *call, const char *lineage,
		  size_t *n, struct lf_err *err);
/* this connection made (id given) or terminated (id NULL) resource's
 * instance */
void aws_snap_note(struct lf_driver_conn *c, const char *resource, const char *id);
void aws_snap_free(struct lf_driver_conn *c);

/* ---- hosts (aws_hosts.c) and plan-time helpers (aws.c) ------------------- */

/* an image name the provider maps (config images:) or an AMI id; NULL */
const char *aws_image_id(const struct lf_kv *config, const char *image);
int aws_host_create(struct lf_driver_conn *c, const struct lf_host_spec *spec,
		    struct lf_call *call, struct lf_kv_builder *out,
		    unsigned int flags, struct lf_err *err);
int aws_host_read(struct lf_driver_conn *c, const struct lf_host_spec *spec,
		  struct lf_call *call, struct lf_kv_builder *out,
		  unsigned int flags, struct lf_err *err);
int aws_host_update(struct lf_driver_conn *c, const struct lf_host_spec *spec,
		    struct lf_call *call, struct lf_kv_builder *out,
		    unsigned int flags, struct lf_err *err);
int aws_host_delete(struct lf_driver_conn *c, const struct lf_host_spec *spec,
		    struct lf_call *call, unsigned int flags, struct lf_err *err);
int aws_host_import(struct lf_driver_conn *c, const char *id,
		    const struct lf_host_spec *spec, struct lf_call *call,
		    struct lf_kv_builder *out, unsigned int flags,
		    struct lf_err *err);

/* ---- the network's security group (aws_sg.c) ---------------------------- */

/* with manage_security_group: find or make the group and make its
 * ingress rules exactly what spec's node_ports need (c->sg_id set) */
int aws_sg_sync(struct lf_driver_conn *c, const struct lf_host_spec *spec,
		struct lf_call *call, struct lf_err *err);
/* read: the group and how its rules differ, as outputs security_group
 * and security_group_drift ("" when none); changes nothing */
/* an instance adopted or imported: the network's group added to its
 * groups (ModifyInstanceAttribute GroupId.N), keeping the ones it has */
int aws_sg_join(struct lf_driver_conn *c, const struct lf_host_spec *spec,
		struct lf_call *call, const struct aws_instance *inst, struct lf_err *err);
/* after a delete: when no instance of the lineage is left (terminated
 * ones aside), DeleteSecurityGroup of the lineage's group
 * (DependencyViolation retried, bounded); another lineage's never */
int aws_sg_release(struct lf_driver_conn *c, const struct lf_host_spec *spec,
		   struct lf_call *call, struct lf_err *err);
int aws_sg_check(struct lf_driver_conn *c, const struct lf_host_spec *spec,
		 struct lf_call *call, struct lf_kv_builder *out, struct lf_err *err);

#endif
