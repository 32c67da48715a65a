/* The files a node needs on its host: identity (msp/, tls/ from the crypto
 * tree), its own rendered core.yaml/orderer.yaml, a file of facts for
 * scripts and a start script. */
#ifndef LF_NODE_FILES_H
#define LF_NODE_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include "ledgerform/error.h"
#include "plans/provider.h"

struct lf_node_file {
	char *path;          /* relative to the host root */
	char *data;
	size_t len;
	unsigned int mode;   /* 0600 for a secret whatever its mode on disk */
	bool secret;         /* a private key: wiped when freed */
};

struct lf_node_files {
	struct lf_node_file *v;
	size_t n, cap;
};

/* host_outputs: what the node's host's drivers returned (this apply's or
 * the state's; NULL when none): its machine address reaches node.env */
int lf_node_files_collect(const struct lf_apply_env *env,
			  const struct lf_resource *node,
			  const json_t *host_outputs,
			  struct lf_node_files *out, struct lf_err *err);
void lf_node_files_free(struct lf_node_files *f);

/* where the bootstrap admin password of ORG's CA server is kept on the
 * controller (0600, made at the CA node's first delivery); malloc'd */
char *lf_ca_admin_password_path(const char *workdir, const char *org);

#endif
