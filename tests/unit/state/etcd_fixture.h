/*
 * Real etcd servers for the etcd backend tests: started from PATH on
 * 127.0.0.1 (ports 22300-22399), each in its own data dir under a temp
 * dir, stopped by PID. Tests skip() when no etcd binary is installed.
 */
#ifndef LF_TEST_ETCD_FIXTURE_H
#define LF_TEST_ETCD_FIXTURE_H

#include <stdbool.h>
#include <sys/types.h>
#include <jansson.h>

#define ETCD_MAX_PROCS 8

struct etcd_proc {
	pid_t pid;
	int cport, pport;
	char name[16];
	char url[64];      /* client URL */
};

struct etcd_fx {
	char dir[512];
	struct etcd_proc p[ETCD_MAX_PROCS];
	int n;
};

bool etcd_available(void);
/* a temp dir for this fixture */
int etcd_fx_init(struct etcd_fx *fx, const char *tag);
/* start one member; cluster: "n1=http://...,n2=..." (NULL: itself alone);
 * extra: NULL-terminated extra flags; https: client URLs are https */
int etcd_start(struct etcd_fx *fx, const char *name, int cport, int pport,
	       const char *cluster, bool https, const char *const *extra);
/* wait until the member answers through settings (bounded) */
int etcd_wait_ready(const json_t *settings, const char *base_dir);
/* a temp dir and one member alone (0 when etcd is not installed: the
 * tests skip through etcd_need) */
int etcd_fx_start_one(struct etcd_fx *fx, const char *name, int cport, int pport);
/* skip() the calling test when etcd is not installed; else wait until the
 * first member answers */
void etcd_need(const struct etcd_fx *fx);
/* SIGKILL one member by PID and reap it */
void etcd_kill(struct etcd_fx *fx, int i);
/* stop every member by PID and remove the temp dir */
void etcd_fx_stop(struct etcd_fx *fx);
/* {"endpoints": [url...], "prefix": prefix} */
json_t *etcd_settings(const struct etcd_fx *fx, const char *prefix);

#endif
