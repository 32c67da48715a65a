/*
 * A process-wide cache of loaded CAs, for the executor's callbacks: each
 * leaf's create loads its org's CA and TLS CA, and OpenSSL 3 takes ~0.5 ms
 * to decode a PEM key and certificate, more than issuing the leaf. Entries
 * are keyed by the two paths and the files' identity (device, inode, size,
 * mtime) taken BEFORE loading, so a replaced or edited file is a miss.
 * One mutex guards the table; a cached struct lfc_ca is immutable and
 * reference-counted, so threads share it read-only. Bounded by the number
 * of distinct CA file pairs a process sees (two per org).
 */
#include "core/fabric/crypto/crypto_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/util/util.h"

struct slot {
	char *cert, *key;
	struct lfc_ca_sig sig;
	struct lfc_ca *ca;
};

static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static struct slot *cache;
static size_t ncache;

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	       a->st_size == b->st_size && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

static bool same_sig(const struct lfc_ca_sig *a, const struct lfc_ca_sig *b)
{
	return a->ok && b->ok && same_file(&a->c, &b->c) && same_file(&a->k, &b->k);
}

static struct slot *find(const char *cert, const char *key)
{
	size_t i;

	for (i = 0; i < ncache; i++)
		if (strcmp(cache[i].cert, cert) == 0 && strcmp(cache[i].key, key) == 0)
			return &cache[i];
	return NULL;
}

struct lfc_ca *lfc_ca_cache_get(const char *cert, const char *key,
				struct lfc_ca_sig *sig)
{
	struct lfc_ca *ca = NULL;
	struct slot *s;

	sig->ok = stat(cert, &sig->c) == 0 && stat(key, &sig->k) == 0;
	if (!sig->ok)
		return NULL;
	pthread_mutex_lock(&cache_mu);
	s = find(cert, key);
	if (s && same_sig(&s->sig, sig)) {
		ca = s->ca;
		atomic_fetch_add(&ca->refs, 1);
	}
	pthread_mutex_unlock(&cache_mu);
	return ca;
}

void lfc_ca_cache_put(const char *cert, const char *key,
		      const struct lfc_ca_sig *sig, struct lfc_ca *ca)
{
	struct lfc_ca *old = NULL;
	struct slot *s;

	if (!sig->ok || !ca)
		return;
	atomic_fetch_add(&ca->refs, 1); /* the cache's reference */
	pthread_mutex_lock(&cache_mu);
	s = find(cert, key);
	if (!s) {
		cache = lf_xrealloc(cache, (ncache + 1) * sizeof(*cache));
		s = &cache[ncache++];
		s->cert = lf_xstrdup(cert);
		s->key = lf_xstrdup(key);
		s->ca = NULL;
	}
	old = s->ca;
	s->ca = ca;
	s->sig = *sig;
	pthread_mutex_unlock(&cache_mu);
	lfc_ca_free(old);
}
