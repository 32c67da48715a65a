/*
 * MSP material for channel config: reads a cryptogen-layout msp directory
 * (cacerts, intermediatecerts, admincerts, tlscacerts, tlsintermediatecerts,
 * crls, config.yaml NodeOUs) into Fabric's MSPConfig value, as configtxgen's
 * GetVerifyingMspConfig does: whole PEM files, in file-name order.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "core/fabric/block/blk.h"
#include "core/util/util.h"

struct binlist {
	ProtobufCBinaryData *v;
	size_t n;
};

static void binlist_free(struct binlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].data);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

int lf_blk_read_bin(const char *path, ProtobufCBinaryData *out,
		    struct lf_err *err)
{
	char *data = NULL;
	size_t len = 0;
	int rc = lf_read_file(path, &data, &len, err);

	if (rc)
		return rc;
	out->data = (uint8_t *)data;
	out->len = len;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* every regular file of mspdir/sub, sorted by name; a missing dir is empty */
static int read_dir(const char *mspdir, const char *sub, struct binlist *l,
		    struct lf_err *err)
{
	char *dir = lf_path_join(mspdir, sub), **names = NULL, *p;
	size_t n = 0;
	struct dirent *de;
	DIR *d = opendir(dir);
	int rc = 0;

	while (d && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		names = lf_xrealloc(names, (n + 1) * sizeof(*names));
		names[n++] = lf_xstrdup(de->d_name);
	}
	if (d)
		closedir(d);
	if (n > 1)
		qsort(names, n, sizeof(*names), cmp_str);
	l->v = n ? lf_xcalloc(n, sizeof(*l->v)) : NULL;
	for (size_t i = 0; i < n && rc == 0; i++) {
		p = lf_path_join(dir, names[i]);
		rc = lf_blk_read_bin(p, &l->v[l->n], err);
		if (rc == 0)
			l->n++;
		free(p);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(dir);
	return rc;
}

/* scalar at a/b[/c] of a YAML mapping document; NULL when absent */
static const char *yaml_get(yaml_document_t *doc, const char *a,
			    const char *b, const char *c)
{
	const char *path[3] = { a, b, c };
	yaml_node_t *n = yaml_document_get_root_node(doc);

	for (int i = 0; i < 3 && path[i] && n; i++) {
		yaml_node_t *next = NULL;

		if (n->type != YAML_MAPPING_NODE)
			return NULL;
		for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
		     p < n->data.mapping.pairs.top && !next; p++) {
			yaml_node_t *k = yaml_document_get_node(doc, p->key);

			if (k && k->type == YAML_SCALAR_NODE &&
			    strcmp((char *)k->data.scalar.value, path[i]) == 0)
				next = yaml_document_get_node(doc, p->value);
		}
		n = next;
	}
	if (!n || n->type != YAML_SCALAR_NODE)
		return NULL;
	return (const char *)n->data.scalar.value;
}

struct nodeous {
	bool enable;
	Lfpb__FabricOUIdentifier id[4];
	Lfpb__FabricOUIdentifier *ptr[4];
	char *ou[4];
};

static const char *const ou_keys[4] = {
	"ClientOUIdentifier", "PeerOUIdentifier", "AdminOUIdentifier",
	"OrdererOUIdentifier"
};

static void nodeous_free(struct nodeous *o)
{
	for (int i = 0; i < 4; i++) {
		free(o->id[i].certificate.data);
		free(o->ou[i]);
	}
}

static int nodeous_fill(yaml_document_t *doc, const char *mspdir,
			struct nodeous *o, struct lf_err *err)
{
	const char *en = yaml_get(doc, "NodeOUs", "Enable", NULL);
	int rc = 0;

	o->enable = en && (strcmp(en, "true") == 0 || strcmp(en, "True") == 0);
	for (int i = 0; i < 4 && rc == 0; i++) {
		const char *cert = yaml_get(doc, "NodeOUs", ou_keys[i],
					    "Certificate");
		const char *ou = yaml_get(doc, "NodeOUs", ou_keys[i],
					  "OrganizationalUnitIdentifier");
		char *p;

		if (!cert && !ou)
			continue;
		lfpb__fabric_ouidentifier__init(&o->id[i]);
		o->ptr[i] = &o->id[i];
		if (ou) {
			o->ou[i] = lf_xstrdup(ou);
			o->id[i].organizational_unit_identifier = o->ou[i];
		}
		if (cert && *cert) {
			p = lf_path_join(mspdir, cert);
			rc = lf_blk_read_bin(p, &o->id[i].certificate, err);
			free(p);
		}
	}
	return rc;
}

/* NodeOUs from mspdir/config.yaml; absent file: NodeOUs disabled */
static int read_nodeous(const char *mspdir, struct nodeous *o,
			struct lf_err *err)
{
	char *path = lf_path_join(mspdir, "config.yaml"), *buf = NULL;
	size_t len = 0;
	yaml_parser_t parser;
	yaml_document_t doc;
	int rc = 0;

	memset(o, 0, sizeof(*o));
	if (!lf_path_exists(path))
		goto cleanup;
	rc = lf_read_file(path, &buf, &len, err);
	if (rc)
		goto cleanup;
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (unsigned char *)buf, len);
	if (!yaml_parser_load(&parser, &doc)) {
		rc = lf_err_set(err, LF_EINVALID, "'%s': invalid YAML at line %zu",
				path, parser.problem_mark.line + 1);
		yaml_parser_delete(&parser);
		goto cleanup;
	}
	rc = nodeous_fill(&doc, mspdir, o, err);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
cleanup:
	free(buf);
	free(path);
	return rc;
}

int lf_msp_value(const char *mspdir, const char *mspid,
		 ProtobufCBinaryData *out, struct lf_err *err)
{
	static const char *const dirs[6] = { "cacerts", "intermediatecerts",
		"admincerts", "crls", "tlscacerts", "tlsintermediatecerts" };
	struct binlist l[6] = { { 0 } };
	struct nodeous ous;
	Lfpb__FabricMSPConfig fc = LFPB__FABRIC_MSPCONFIG__INIT;
	Lfpb__FabricCryptoConfig cc = LFPB__FABRIC_CRYPTO_CONFIG__INIT;
	Lfpb__FabricNodeOUs no = LFPB__FABRIC_NODE_OUS__INIT;
	Lfpb__MSPConfig mc = LFPB__MSPCONFIG__INIT;
	int rc = 0;

	memset(&ous, 0, sizeof(ous));
	for (int i = 0; i < 6 && rc == 0; i++)
		rc = read_dir(mspdir, dirs[i], &l[i], err);
	if (rc == 0 && l[0].n == 0)
		rc = lf_err_set(err, LF_ENOTFOUND,
				"MSP '%s': no CA certificate in '%s/cacerts'",
				mspid, mspdir);
	if (rc == 0)
		rc = read_nodeous(mspdir, &ous, err);
	if (rc)
		goto cleanup;
	fc.name = (char *)mspid;
	fc.n_root_certs = l[0].n;
	fc.root_certs = l[0].v;
	fc.n_intermediate_certs = l[1].n;
	fc.intermediate_certs = l[1].v;
	fc.n_admins = l[2].n;
	fc.admins = l[2].v;
	fc.n_revocation_list = l[3].n;
	fc.revocation_list = l[3].v;
	fc.n_tls_root_certs = l[4].n;
	fc.tls_root_certs = l[4].v;
	fc.n_tls_intermediate_certs = l[5].n;
	fc.tls_intermediate_certs = l[5].v;
	cc.signature_hash_family = "SHA2";
	cc.identity_identifier_hash_function = "SHA256";
	fc.crypto_config = &cc;
	if (ous.enable || ous.ptr[0] || ous.ptr[1] || ous.ptr[2] || ous.ptr[3]) {
		no.enable = ous.enable;
		no.client_ou_identifier = ous.ptr[0];
		no.peer_ou_identifier = ous.ptr[1];
		no.admin_ou_identifier = ous.ptr[2];
		no.orderer_ou_identifier = ous.ptr[3];
		fc.fabric_node_ous = &no;
	}
	mc.type = 0;
	mc.config = lf_pb_bin(&fc.base);
	*out = lf_pb_bin(&mc.base);
	free(mc.config.data);
cleanup:
	nodeous_free(&ous);
	for (int i = 0; i < 6; i++)
		binlist_free(&l[i]);
	return rc;
}
