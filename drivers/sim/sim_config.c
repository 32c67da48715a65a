/*
 * Configuration of the sim driver: every key optional, every value
 * checked (numbers may be given as JSON numbers or strings).
 */
#include "sim.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const sim_op_keys[SIM_OP_LAST] = {
	"fail_rate_create", "fail_rate_read", "fail_rate_update",
	"fail_rate_delete", NULL, NULL,
};

static const char *const sim_known_keys[] = {
	"latency_ms", "jitter_ms", "fail_rate", "fail_rate_create",
	"fail_rate_read", "fail_rate_update", "fail_rate_delete",
	"transient_ratio", "quota", "seed", "db", "fail_after", "fail_match",
	"files_dir", "max_vcpus",
	NULL,
};

bool sim_config_key_known(const char *key)
{
	size_t i;

	for (i = 0; sim_known_keys[i]; i++)
		if (strcmp(key, sim_known_keys[i]) == 0)
			return true;
	return false;
}

/* integer in [lo, hi]; *out untouched when absent */
static int cfg_long(const struct lf_kv *kv, const char *key, long lo, long hi,
		    long *out, struct lf_err *err)
{
	const char *s = sim_host->kv_get_str(kv, key);
	char *end = NULL;
	long long v;

	if (!s)
		return 0;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		return sim_host->err_set(err, LF_EINVALID,
					 "sim: config %s '%s' is not an integer in %ld..%ld",
					 key, s, lo, hi);
	*out = (long)v;
	return 0;
}

/* rate in [0, 1]; *out untouched when absent */
static int cfg_rate(const struct lf_kv *kv, const char *key, double *out,
		    struct lf_err *err)
{
	const char *s = sim_host->kv_get_str(kv, key);
	char *end = NULL;
	double v;

	if (!s)
		return 0;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !isfinite(v) || v < 0.0 ||
	    v > 1.0)
		return sim_host->err_set(err, LF_EINVALID,
					 "sim: config %s '%s' is not a number in 0..1",
					 key, s);
	*out = v;
	return 0;
}

static int cfg_seed(struct sim_config *cfg, const struct lf_kv *kv,
		    struct lf_err *err)
{
	const char *s = sim_host->kv_get_str(kv, "seed");
	char *end = NULL;

	if (!s)
		return 0;
	errno = 0;
	cfg->seed = strtoull(s, &end, 0);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-')
		return sim_host->err_set(err, LF_EINVALID,
					 "sim: config seed '%s' is not an unsigned integer", s);
	cfg->seeded = 1;
	return 0;
}

static int cfg_strings(struct sim_config *cfg, const struct lf_kv *kv,
		       struct lf_err *err)
{
	const char *db = sim_host->kv_get_str(kv, "db");
	const char *match = sim_host->kv_get_str(kv, "fail_match");
	const char *files = sim_host->kv_get_str(kv, "files_dir");

	if (files && files[0] != '/')
		return sim_host->err_set(err, LF_EINVALID, "sim: config files_dir must be an absolute path");
	cfg->files_dir = files ? strdup(files) : NULL;
	if (files && !cfg->files_dir)
		return sim_host->err_set(err, LF_ERROR, "sim: out of memory");

	if (db && db[0] == '\0')
		return sim_host->err_set(err, LF_EINVALID, "sim: config db is empty");
	if (match && match[0] == '\0')
		return sim_host->err_set(err, LF_EINVALID, "sim: config fail_match is empty");
	cfg->db = db ? strdup(db) : NULL;
	cfg->fail_match = match ? strdup(match) : NULL;
	if ((db && !cfg->db) || (match && !cfg->fail_match))
		return sim_host->err_set(err, LF_ERROR, "sim: out of memory");
	return 0;
}

int sim_config_parse(struct sim_config *cfg, const struct lf_kv *kv,
		     struct lf_err *err)
{
	double all = 0.0;
	int i, rc = 0;

	memset(cfg, 0, sizeof(*cfg));
	cfg->quota = -1;
	cfg->fail_after = -1;
	cfg->max_vcpus = 0;
	if (rc == 0)
		rc = cfg_long(kv, "max_vcpus", 1, 1024, &cfg->max_vcpus, err);
	if (rc == 0)
		rc = cfg_long(kv, "latency_ms", 0, 3600000, &cfg->latency_ms, err);
	if (rc == 0)
		rc = cfg_long(kv, "jitter_ms", 0, 3600000, &cfg->jitter_ms, err);
	if (rc == 0)
		rc = cfg_long(kv, "quota", 0, 1000000000, &cfg->quota, err);
	if (rc == 0)
		rc = cfg_long(kv, "fail_after", 0, 2000000000, &cfg->fail_after, err);
	if (rc == 0)
		rc = cfg_rate(kv, "fail_rate", &all, err);
	if (rc == 0)
		rc = cfg_rate(kv, "transient_ratio", &cfg->transient_ratio, err);
	for (i = 0; i < SIM_OP_LAST && rc == 0; i++) {
		cfg->fail_rate[i] = all;
		if (sim_op_keys[i])
			rc = cfg_rate(kv, sim_op_keys[i], &cfg->fail_rate[i], err);
	}
	if (rc == 0)
		rc = cfg_seed(cfg, kv, err);
	if (rc == 0)
		rc = cfg_strings(cfg, kv, err);
	return rc;
}

void sim_config_clear(struct sim_config *cfg)
{
	free(cfg->db);
	free(cfg->fail_match);
	free(cfg->files_dir);
	cfg->db = NULL;
	cfg->fail_match = NULL;
	cfg->files_dir = NULL;
}
