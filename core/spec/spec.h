/*
 * The chain spec: the validated model of a YAML chain spec.
 *
 * lf_spec_load parses a file with libyaml keeping positions, validates it
 * completely (every error is collected, not just the first), and on success
 * returns a model that the rest of ledgerform reads: expansion into
 * resources (plans/), the Fabric renderers (core/fabric) and the CLI.
 * The model is plain data; it knows no driver, no plan and no state.
 * Counts are already expanded: an org's `peers: {count: 3}` becomes three
 * lf_node entries peer0..peer2.
 */
#ifndef LF_SPEC_H
#define LF_SPEC_H

#include <stdbool.h>
#include <stdio.h>
#include <stddef.h>
#include <jansson.h>

struct lf_pos {
	int line;   /* 1-based; 0 when unknown */
	int col;    /* 1-based */
};

/* One diagnostic: "FILE:LINE:COL: error: MESSAGE" */
struct lf_diag {
	int severity;       /* 0 warning, 1 error */
	struct lf_pos pos;
	char *msg;
};

struct lf_diags {
	char *file;         /* file the positions refer to */
	struct lf_diag *v;
	size_t n, cap;
	size_t nerrors;
};

void lf_diags_add(struct lf_diags *d, int severity, struct lf_pos pos,
		  const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* print every diagnostic as FILE:LINE:COL: error|warning: MSG */
void lf_diags_print(const struct lf_diags *d, FILE *f);
void lf_diags_free(struct lf_diags *d);

enum lf_consensus {
	LF_CONSENSUS_ETCDRAFT = 0,
	LF_CONSENSUS_BFT,
	LF_CONSENSUS_KAFKA,
	LF_CONSENSUS_LAST
};

enum lf_node_kind {
	LF_NODE_PEER = 0,
	LF_NODE_ORDERER,
	LF_NODE_CA,
	LF_NODE_KAFKA,
	LF_NODE_ZOOKEEPER,
	LF_NODE_KIND_LAST
};

struct lf_size {
	char *name;
	unsigned int vcpus;
	unsigned long long memory_mb;
	unsigned long long disk_gb;
	char *image;
	json_t *extra;       /* per-driver fields: driver name -> object
				(sizes.NAME.drivers.aws.instance_type);
				NULL when none */
	json_t *price;       /* provider or driver name -> price per hour
				(real, in lf_spec.currency); NULL: none */
	struct lf_pos pos;
};

struct lf_provider {
	char *name;
	char *driver;        /* plugin name: local, sim, libvirt, ssh, aws */
	json_t *config;      /* object: scalars, nested maps and lists */
	json_t *credentials; /* reference only: {env: VAR} or {file: PATH
				[, profile: NAME]}; never the secret itself */
	char *transport;     /* provider whose driver reaches this one's
				machines; NULL: this provider's own */
	unsigned int parallelism; /* most actions at once on this provider;
				     0: only --parallelism limits */
	struct lf_pos pos;
};

/* the kinds of port a node listens on */
enum lf_port_kind {
	LF_PORT_LISTEN = 0,
	LF_PORT_CHAINCODE,
	LF_PORT_OPERATIONS,
	LF_PORT_ADMIN,
	LF_PORT_KIND_LAST
};

struct lf_node {
	char *name;          /* DNS label, unique within the org: peer0 */
	char *org;           /* owning org name (borrowed from lf_org; the
				literal "kafka" for kafka/zookeeper nodes) */
	enum lf_node_kind kind;
	char *size;          /* size template name */
	char *provider;      /* provider name */
	char *hostname;      /* FQDN: peer0.bank.example.com */
	char *address;       /* where it is reached: explicit host, else
				127.0.0.1 on the local machine, else hostname */
	unsigned int port;   /* main listen port (the gRPC service) */
	/* further ports (0: the node has no such port): chaincode (peers),
	 * operations (peers, orderers), admin (orderers) */
	unsigned int chaincode_port, operations_port, admin_port;
	/* which ports the spec gave (bits 1 << LF_PORT_*); the others were
	 * planned (see lf_spec__plan_ports) */
	unsigned int ports_given;
	struct lf_pos port_pos[LF_PORT_KIND_LAST]; /* where each given
						      port was written */
	/* the machine the node shares ports with: "127.0.0.1" for hosts made
	 * by a local provider (and explicit hosts at 127.0.0.1/localhost),
	 * the address of other explicit hosts, NULL for a machine of its
	 * own (a host another provider makes); borrowed from address or a
	 * literal */
	const char *machine;
	const char *listen_host;     /* literal: "127.0.0.1" on the local
					machine, else "0.0.0.0" */
	char **sans;         /* extra TLS SANs from the spec (DNS or IP),
				plus localhost and 127.0.0.1 on the local
				machine */
	size_t nsans;
	bool explicit_host;  /* placed on an explicit machine (hosts:) */
	struct lf_pos pos;
};

/* the name of an org's CA server node (ca.server: true); "ca" names the
 * crypto tree's CA */
#define LF_CA_SERVER_NODE "fabric-ca"

struct lf_external_ca {
	char *cert;          /* path to PEM cert of the signing CA */
	char *key;           /* path to PEM private key */
	char *tls_cert;      /* optional TLS CA; NULL: generate one */
	char *tls_key;
	bool keyless;        /* cert and tls_cert without keys: the org
				issues its nodes' certificates (`ledgerform
				issue`); key and tls_key are NULL */
	struct lf_pos pos;
};

struct lf_org {
	char *name;          /* DNS label: bank */
	char *mspid;         /* default: Name with first letter upper + "MSP" */
	char *domain;        /* default: NAME.example.com */
	struct lf_external_ca *ca;   /* NULL unless imported */
	struct lf_node *nodes;       /* orderers then peers, in order */
	size_t nnodes;
	size_t norderers, npeers;
	unsigned int users;          /* UserN@domain count (Admin always) */
	bool ca_server;              /* ca.server: a fabric-ca-server node
					(LF_CA_SERVER_NODE, after the peers) */
	struct lf_pos ca_pos;
	char **anchor_peers;         /* node names; default: peer0 if any */
	size_t nanchor_peers;
	bool admin_offline;          /* admin: offline: the org's admin signs
					elsewhere (chaincode approvals are
					written to files for `ledgerform
					sign`); admin: local (default) */
	/* admin: offline: exactly one of admin_csr (the admin's PKCS#10
	 * request: ledgerform issues the certificate, no key here) and
	 * admin_cert (the admin's certificate, issued by the org's CA);
	 * paths as written, relative to the spec's directory */
	char *admin_csr;
	char *admin_cert;
	struct lf_pos admin_file_pos; /* the admin_csr/admin_cert key */
	struct lf_pos pos;
};

struct lf_kafka {
	unsigned int brokers;
	unsigned int zookeepers;
	char *size;
	char *provider;
	struct lf_node *nodes;       /* kafka0.., zookeeper0.. (org = "kafka") */
	size_t nnodes;
	struct lf_pos pos;
};

struct lf_batch {
	unsigned int timeout_ms;          /* default 2000 */
	unsigned int max_message_count;   /* default 10 */
	unsigned int absolute_max_bytes;  /* default 103809024 (99 MB) */
	unsigned int preferred_max_bytes; /* default 524288 (512 KB) */
};

/* Policy override: Fabric policy syntax, e.g. "ANY Readers" (implicit meta)
 * or "OR('Org1MSP.member')" (signature). */
struct lf_policy {
	char *path;          /* e.g. "Application/Endorsement", "Channel/Admins" */
	char *type;          /* "ImplicitMeta" or "Signature" */
	char *rule;
	struct lf_pos pos;
};

struct lf_channel {
	char *name;          /* channel id: lower-case, [a-z][a-z0-9.-]* */
	char **orgs;         /* member (application) org names */
	size_t norgs;
	char **consenters;   /* "ORG.NODE" orderer refs; default all orderers */
	size_t nconsenters;
	struct lf_batch batch;
	struct lf_policy *policies;
	size_t npolicies;
	struct lf_pos pos;
};

/* chaincode package types; language types need a builder on the peers */
enum lf_cc_type {
	LF_CC_CCAAS = 0,     /* chaincode as a service: connection.json */
	LF_CC_EXTERNAL,      /* an external builder's own code layout */
	LF_CC_NODE,          /* Node.js source, under src/ as Fabric's */
	LF_CC_GOLANG,        /* only as a ready package (package.file) */
	LF_CC_JAVA,          /* only as a ready package (package.file) */
	LF_CC_TYPE_LAST
};

/* the endorsement policy of a chaincode definition */
enum lf_cc_policy {
	LF_CC_POLICY_DEFAULT = 0,  /* none given: the channel's
				      /Channel/Application/Endorsement */
	LF_CC_POLICY_SIGNATURE,    /* a Signature rule */
	LF_CC_POLICY_REFERENCE     /* a channel policy path */
};

struct lf_chaincode {
	char *name;          /* Fabric chaincode name */
	char *version;
	unsigned long long sequence;  /* >= 1 */
	char *label;         /* package label: NAME_VERSION */
	enum lf_cc_type type;
	char *path;          /* source dir to package (resolved against the
				spec's dir); NULL when none */
	char *path_given;    /* package.path as written (metadata.json's
				"path", as `peer lifecycle chaincode package
				--path` writes it) */
	char *file;          /* ready package (resolved); NULL when none */
	char *sha256;        /* lower-case hex; set with file */
	char **channels;     /* channels it is deployed to */
	size_t nchannels;
	char **orgs;         /* orgs that install and approve; NULL: each
				channel's member orgs */
	size_t norgs;
	enum lf_cc_policy policy_kind;
	char *policy;        /* rule or channel policy path; NULL: default */
	char *collections;   /* collections JSON (resolved); NULL: none */
	bool init_required;
	/* ccaas: where the chaincode server listens (host:port) */
	char *address;
	unsigned int dial_timeout_ms;   /* default 10 s */
	bool tls_required;
	struct lf_pos pos;
};

struct lf_state_cfg {
	char *backend;       /* "file" (default) or "etcd" */
	json_t *settings;    /* backend settings object (path, endpoints...) */
	struct lf_pos pos;
};

struct lf_spec {
	char *file;          /* path the spec was read from */
	char *dir;           /* directory of the spec (relative paths) */
	char *name;          /* network name, DNS label */
	char *fabric_version;/* "2.5", "3.0", ... */
	int fabric_major, fabric_minor;
	enum lf_consensus consensus;
	struct lf_size *sizes;       /* templates merged with defaults */
	size_t nsizes;
	struct lf_provider *providers; /* always has "local" (driver local) */
	size_t nproviders;
	struct lf_org *orgs;
	size_t norgs;
	struct lf_kafka *kafka;      /* NULL unless kafka: given */
	struct lf_channel *channels;
	size_t nchannels;
	struct lf_chaincode *chaincodes;
	size_t nchaincodes;
	struct lf_state_cfg state;
	char *currency;              /* of the sizes' prices: "USD" default */
	json_t *raw;                 /* whole spec as JSON (for tools) */
	json_t *positions;           /* key path -> [line, col] of provider
					config keys and per-driver size
					fields ("providers.aws.config.region",
					"sizes.large.drivers.aws.instance_type")
					for drivers' diagnostics */
};

/*
 * Parse and validate FILE. Size templates are merged over built-in defaults
 * (small, medium, large; the same values as templates/sizes.yaml). On
 * success returns 0 and *out; otherwise LF_EINVALID (or the read error's
 * code when the file cannot be read) with every problem in diags
 * (diags->file set; diags may be NULL). Warnings may be present on
 * success. diags must be zeroed (or hold earlier diagnostics) before.
 */
int lf_spec_load(struct lf_spec **out, const char *file,
		 struct lf_diags *diags);
/* same; sha256 (when not NULL and the file was read) receives the hex
 * SHA-256 of the bytes parsed: the file is read once */
int lf_spec_load_sha256(struct lf_spec **out, const char *file,
			char sha256[65], struct lf_diags *diags);
/* same, from a buffer; name is used in messages */
int lf_spec_load_buffer(struct lf_spec **out, const char *name,
			const char *buf, size_t len, struct lf_diags *diags);
void lf_spec_free(struct lf_spec *spec);

/* lookups; NULL when absent */
const struct lf_org *lf_spec_org(const struct lf_spec *s, const char *name);
const struct lf_node *lf_spec_node(const struct lf_spec *s, const char *org,
				   const char *node);
const struct lf_size *lf_spec_size(const struct lf_spec *s, const char *name);
const struct lf_provider *lf_spec_provider(const struct lf_spec *s,
					   const char *name);
const struct lf_chaincode *lf_spec_chaincode(const struct lf_spec *s,
					     const char *name);
/* does chaincode cc install and approve as org on channel ch? (orgs: given
 * restricts each channel's member orgs) */
bool lf_chaincode_has_org(const struct lf_chaincode *cc,
			  const struct lf_channel *ch, const char *org);
const char *lf_cc_type_name(enum lf_cc_type t);  /* ccaas|external|node|
						     golang|java */
/* position of a key path (see positions), else of its longest known
 * prefix; {0, 0} when none */
struct lf_pos lf_spec_position(const struct lf_spec *s, const char *path);

const char *lf_consensus_name(enum lf_consensus c);   /* etcdraft|BFT|kafka */
const char *lf_node_kind_name(enum lf_node_kind k);   /* peer|orderer|...  */
const char *lf_port_kind_name(enum lf_port_kind k);   /* listen|chaincode|
							  operations|admin */
/* the node's port of that kind; 0 when it has none */
unsigned int lf_node_port(const struct lf_node *n, enum lf_port_kind k);
/* does a node of this kind listen on a port of that kind? */
bool lf_node_has_port(enum lf_node_kind nk, enum lf_port_kind k);

#endif
