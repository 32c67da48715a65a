/*
 * The `aws` driver (ABI 2, provider role): each host an EC2 instance made
 * through the EC2 Query API with the customer's own credentials. This file:
 * the provider's config, open/close, plan-time validate and change_kind,
 * and the driver table. Hosts: aws_hosts.c; requests: aws_http.c;
 * responses and waits: aws_ec2.c; signing: aws_sigv4.c.
 */
#include "aws.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include <libxml/parser.h>

const struct lf_host_api *aws_host;

static const char *const aws_keys[] = {
	"region", "endpoint", "ca_bundle", "subnet_id", "security_group_ids", "key_name",
	"ssh_authorized_key", "images", "wait_timeout_s", "poll_ms", "retry_max",
	"retry_base_ms", "http_timeout_s", "manage_security_group", "controller_cidr",
	"network_cidrs", "vpc_id", "ssh_port", NULL,
};

struct num_key {
	const char *key;
	long dflt, min, max, scale;
	size_t off;
};

static const struct num_key aws_nums[] = {
	{ "wait_timeout_s", 600, 1, 86400, 1000, offsetof(struct lf_driver_conn, wait_timeout_ms) },
	{ "poll_ms", 2000, 1, 600000, 1, offsetof(struct lf_driver_conn, poll_ms) },
	{ "retry_max", 8, 1, 100, 1, offsetof(struct lf_driver_conn, retry_max) },
	{ "retry_base_ms", 200, 1, 60000, 1, offsetof(struct lf_driver_conn, retry_base_ms) },
	{ "http_timeout_s", 60, 1, 3600, 1000, offsetof(struct lf_driver_conn, http_timeout_ms) },
};

/* ---- config -------------------------------------------------------------- */

static char *dup_opt(const struct lf_kv *kv, const char *key)
{
	const char *v = aws_host->kv_get_str(kv, key);

	return v && v[0] ? strdup(v) : NULL;
}

static int parse_nums(struct lf_driver_conn *c, const struct lf_kv *kv, struct lf_err *err)
{
	size_t i;

	for (i = 0; i < sizeof(aws_nums) / sizeof(aws_nums[0]); i++) {
		const struct num_key *k = &aws_nums[i];
		long long v = aws_host->kv_get_int(kv, k->key, k->dflt);

		if (v < k->min || v > k->max)
			return aws_host->err_set(err, LF_EINVALID, "aws: %s must be %ld..%ld",
						 k->key, k->min, k->max);
		*(long *)((char *)c + k->off) = (long)v * k->scale;
	}
	return 0;
}

/* "https://host[:port][/]" -> host[:port] for the signed Host header */
static int endpoint_host(struct lf_driver_conn *c, struct lf_err *err)
{
	const char *h = c->endpoint + 8;
	size_t n = strcspn(h, "/");

	if (strncmp(c->endpoint, "https://", 8) != 0 || n == 0)
		return aws_host->err_set(err, LF_EINVALID,
					 "aws: endpoint must be an https:// URL (TLS is always verified)");
	c->host_header = strndup(h, n);
	return c->host_header ? 0 : aws_host->err_set(err, LF_ERROR, "aws: out of memory");
}

static int list_cb(const char *key, const char *val, void *payload)
{
	struct lf_driver_conn *c = payload;

	(void)key;
	if (c->ngroups < AWS_MAX_GROUPS && val && val[0])
		c->groups[c->ngroups++] = strdup(val);
	return 0;
}

static int cidr_cb(const char *key, const char *val, void *payload)
{
	struct lf_driver_conn *c = payload;

	(void)key;
	if (c->nnet < AWS_MAX_GROUPS && val && val[0])
		c->network_cidrs[c->nnet++] = strdup(val);
	return 0;
}

/* manage_security_group and its settings */
static int sg_config(struct lf_driver_conn *c, const struct lf_kv *kv, struct lf_err *err)
{
	const struct lf_kv *nets = aws_host->kv_get_kv(kv, "network_cidrs");
	const char *m = aws_host->kv_get_str(kv, "manage_security_group");

	c->sg_manage = m && strcmp(m, "true") == 0;
	c->controller_cidr = dup_opt(kv, "controller_cidr");
	c->vpc_id = dup_opt(kv, "vpc_id");
	c->ssh_port = (long)aws_host->kv_get_int(kv, "ssh_port", 22);
	if (nets)
		aws_host->kv_each(nets, cidr_cb, c);
	if (c->sg_manage && !c->controller_cidr)
		return aws_host->err_set(err, LF_EINVALID,
					 "aws: manage_security_group needs controller_cidr (where ledgerform runs, e.g. 203.0.113.4/32)");
	if (c->ssh_port < 1 || c->ssh_port > 65535)
		return aws_host->err_set(err, LF_EINVALID, "aws: ssh_port must be 1..65535");
	return 0;
}

static int images_cb(const char *key, const char *val, void *payload)
{
	struct lf_driver_conn *c = payload;

	if (c->nimages < AWS_MAX_IMAGES && val && val[0]) {
		c->image_names[c->nimages] = strdup(key);
		c->image_ids[c->nimages++] = strdup(val);
	}
	return 0;
}

static int config_parse(struct lf_driver_conn *c, const struct lf_kv *kv, struct lf_err *err)
{
	const struct lf_kv *groups = aws_host->kv_get_kv(kv, "security_group_ids");
	const struct lf_kv *images = aws_host->kv_get_kv(kv, "images");
	struct aws_buf ep = { 0 };

	c->region = dup_opt(kv, "region");
	if (!c->region)
		return aws_host->err_set(err, LF_EINVALID, "aws: 'region' is required");
	c->endpoint = dup_opt(kv, "endpoint");
	if (!c->endpoint) {
		aws_buf_printf(&ep, "https://ec2.%s.amazonaws.com/", c->region);
		c->endpoint = ep.data;
	}
	c->ca_bundle = dup_opt(kv, "ca_bundle");
	c->subnet_id = dup_opt(kv, "subnet_id");
	c->key_name = dup_opt(kv, "key_name");
	c->ssh_authorized_key = dup_opt(kv, "ssh_authorized_key");
	if (groups)
		aws_host->kv_each(groups, list_cb, c);
	if (images)
		aws_host->kv_each(images, images_cb, c);
	if (!c->endpoint)
		return aws_host->err_set(err, LF_ERROR, "aws: out of memory");
	if (parse_nums(c, kv, err) != 0 || sg_config(c, kv, err) != 0)
		return err->code;
	return endpoint_host(c, err);
}

static void conn_free(struct lf_driver_conn *c)
{
	size_t i;

	if (!c)
		return;
	aws_pool_free(c);
	aws_snap_free(c);
	pthread_mutex_destroy(&c->pool_mu);
	pthread_mutex_destroy(&c->snap_mu);
	pthread_mutex_destroy(&c->obs_mu);
	pthread_mutex_destroy(&c->sg_mu);
	pthread_cond_destroy(&c->obs_cv);
	free(c->controller_cidr);
	free(c->vpc_id);
	for (i = 0; i < c->nnet; i++)
		free(c->network_cidrs[i]);
	free(c->region);
	free(c->endpoint);
	free(c->host_header);
	free(c->ca_bundle);
	free(c->subnet_id);
	free(c->key_name);
	free(c->ssh_authorized_key);
	for (i = 0; i < c->ngroups; i++)
		free(c->groups[i]);
	for (i = 0; i < c->nimages; i++) {
		free(c->image_names[i]);
		free(c->image_ids[i]);
	}
	free(c);
}

static int aws_open(struct lf_driver_conn **out, const struct lf_kv *config,
		    struct lf_call *call, unsigned int flags, struct lf_err *err)
{
	struct lf_driver_conn *c;
	int rc;

	(void)call;
	*out = NULL;
	if (flags != 0)
		return aws_host->err_set(err, LF_EINVALID, "aws: unsupported flags (0x%x) in open", flags);
	c = calloc(1, sizeof(*c));
	if (!c)
		return aws_host->err_set(err, LF_ERROR, "aws: out of memory");
	pthread_mutex_init(&c->pool_mu, NULL);
	pthread_mutex_init(&c->snap_mu, NULL);
	pthread_mutex_init(&c->obs_mu, NULL);
	pthread_mutex_init(&c->sg_mu, NULL);
	pthread_cond_init(&c->obs_cv, NULL);
	rc = config_parse(c, config, err);
	if (rc != 0) {
		conn_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

static void aws_close(struct lf_driver_conn *c)
{
	conn_free(c);
}

/* ---- plan time ------------------------------------------------------------ */

struct vctx {
	struct lf_call *call;
	const struct lf_kv *config;
	const char *size;
	int bad;
};

static int config_key(const char *key, const char *val, void *payload)
{
	struct vctx *v = payload;
	char path[160];
	size_t i;

	(void)val;
	for (i = 0; aws_keys[i]; i++)
		if (strcmp(key, aws_keys[i]) == 0)
			return 0;
	snprintf(path, sizeof(path), "config.%s", key);
	aws_host->call_diag(v->call, path, "aws: unknown setting '%s'", key);
	v->bad++;
	return 0;
}

/* an image name the provider maps (config images:) or an AMI id; NULL */
const char *aws_image_id(const struct lf_kv *config, const char *image)
{
	const struct lf_kv *images = aws_host->kv_get_kv(config, "images");
	const char *id = images && image ? aws_host->kv_get_str(images, image) : NULL;

	if (id && id[0])
		return id;
	return image && strncmp(image, "ami-", 4) == 0 ? image : NULL;
}

struct sizes_walk {
	struct vctx *v;
	const struct lf_kv *sizes;
};

/* a size as this provider sees it: an instance type, an image it maps.
 * The host passes every template, also those no host of this provider
 * uses, so only templates with aws fields are checked here; a host whose
 * size has none fails its create with that reason. */
static int size_one(const char *key, const char *val, void *payload)
{
	struct sizes_walk *w = payload;
	const struct lf_kv *one = aws_host->kv_get_kv(w->sizes, key);
	const char *type = one ? aws_host->kv_get_str(one, "instance_type") : NULL;
	const char *image = one ? aws_host->kv_get_str(one, "image") : NULL;
	char path[200];

	(void)val;
	if (!type)
		return 0;
	if (!type[0] || type[0] == '{' || type[0] == '[') {
		snprintf(path, sizeof(path), "sizes.%s.instance_type", key);
		aws_host->call_diag(w->v->call, path, "aws: instance_type must be a name (m5.large)");
		w->v->bad++;
	}
	if (!aws_image_id(w->v->config, image)) {
		snprintf(path, sizeof(path), "sizes.%s.image", key);
		aws_host->call_diag(w->v->call, path,
				    "aws: image '%s' is neither an AMI id nor in the provider's images:",
				    image ? image : "");
		w->v->bad++;
	}
	return 0;
}

static int aws_validate(const struct lf_kv *config, const struct lf_kv *sizes,
			struct lf_call *call, unsigned int flags, struct lf_err *err)
{
	struct vctx v = { call, config, NULL, 0 };
	struct sizes_walk w = { &v, sizes };
	struct lf_driver_conn *c = NULL;
	struct lf_err perr = LF_ERR_INIT;

	if (flags != 0)
		return aws_host->err_set(err, LF_EINVALID, "aws: unsupported flags in validate");
	aws_host->kv_each(config, config_key, &v);
	if (aws_open(&c, config, call, 0, &perr) != 0) {
		aws_host->call_diag(call, "config", "%s", perr.msg);
		v.bad++;
	}
	aws_close(c);
	if (sizes)
		aws_host->kv_each(sizes, size_one, &w);
	if (v.bad)
		return aws_host->err_set(err, LF_EINVALID, "aws: %d problem%s in the provider's config or sizes",
					 v.bad, v.bad == 1 ? "" : "s");
	return 0;
}

static int parse_ull(const char *s, unsigned long long *out)
{
	char *end = NULL;

	if (!s || !*s)
		return 0;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return errno == 0 && *end == '\0';
}

/* vCPUs and memory: a new instance type, which EC2 sets on a stopped
 * instance (stop, modify, start); the root volume is made at launch */
static enum lf_change_kind aws_change_kind(const struct lf_kv *config, const char *key,
					   const char *old_val, const char *new_val,
					   char *why, size_t why_len)
{
	unsigned long long o = 0, n = 0;

	(void)config;
	if (strcmp(key, "vcpus") == 0 || strcmp(key, "memory_mb") == 0) {
		snprintf(why, why_len, "EC2 changes the instance type of a stopped instance: stop, modify, start");
		return LF_CHANGE_RESTART;
	}
	if (strcmp(key, "disk_gb") == 0 && parse_ull(old_val, &o) && parse_ull(new_val, &n) && n < o) {
		snprintf(why, why_len, "a disk cannot shrink (%llu GB -> %llu GB); replace the host to get a smaller one",
			 o, n);
		return LF_CHANGE_REFUSED;
	}
	if (strcmp(key, "disk_gb") == 0)
		snprintf(why, why_len, "the root volume is made at launch: a new instance");
	else if (strcmp(key, "image") == 0)
		snprintf(why, why_len, "a new image means a new instance");
	return LF_CHANGE_REPLACE;
}

/* ---- the table ------------------------------------------------------------ */

static const struct lf_driver aws_driver = {
	.abi_version = LF_DRIVER_ABI_VERSION,
	.struct_size = sizeof(struct lf_driver),
	.name = "aws",
	.version = "0.1.0",
	.roles = LF_ROLE_PROVIDER,
	.caps = LF_CAP_CONN_SHARED | LF_CAP_IMPORT, /* reads are API calls */
	.open = aws_open,
	.close = aws_close,
	.validate = aws_validate,
	.change_kind = aws_change_kind,
	.host_create = aws_host_create,
	.host_read = aws_host_read,
	.host_update = aws_host_update,
	.host_delete = aws_host_delete,
	.host_import = aws_host_import,
};

static pthread_once_t aws_once = PTHREAD_ONCE_INIT;

static void aws_global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	xmlInitParser();
}

LF_DRIVER_EXPORT const struct lf_driver *lf_driver_entry(const struct lf_host_api *host);
LF_DRIVER_EXPORT const struct lf_driver *lf_driver_entry(const struct lf_host_api *host)
{
	if (!host || host->abi_version != LF_DRIVER_ABI_VERSION)
		return NULL;
	aws_host = host;
	pthread_once(&aws_once, aws_global_init);
	return &aws_driver;
}
