/*
 * Benchmark helper for bench/ssh.sh (not a test).
 *
 *   ssh_bench proxy LISTEN_PORT TARGET_PORT STATS
 *     a TCP relay on 127.0.0.1 that counts bytes each way; after every
 *     connection it rewrites STATS with "SENT RECEIVED CONNECTIONS" (client
 *     to server, server to client, totals so far). Runs until killed.
 *
 *   ssh_bench deliver PORT USER KEY KNOWN_HOSTS SRC ROOT BIN_ROOT FABRIC_BIN [again]
 *     through ledgerform's ssh driver (the real plugin), one connection
 *     to 127.0.0.1:PORT: 20 nodes, LF_BENCH_WORKERS (default 20) at once
 *     on that connection, each a machine root
 *     (prepare), its bundle SRC/bNN/ (every file, modes kept) put, then a
 *     command run with FABRIC_BIN set, which delivers the binaries once.
 *     With "again": what an unchanged apply asks of the transport: each
 *     root read and the command run (the binaries checked by SHA-256 on
 *     the machine, not sent); the core puts no unchanged bundle.
 *     Prints the wall time.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "core/plugin/call.h"
#include "core/plugin/plugin.h"
#include "core/util/util.h"

#define NODES 20

/* ---- proxy ------------------------------------------------------------- */

#define MAXC 64

struct pair {
	int fd[2];      /* client, server */
};

static int listen_on(int port)
{
	struct sockaddr_in a;
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((unsigned short)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 16) != 0)
		return -1;
	return fd;
}

static int connect_to(int port)
{
	struct sockaddr_in a;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((unsigned short)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int proxy(int lport, int tport, const char *stats)
{
	struct pair p[MAXC];
	struct pollfd pf[1 + 2 * MAXC];
	unsigned long long bytes[2] = { 0, 0 }, conns = 0;
	char buf[65536];
	int l = listen_on(lport), n = 0, polled, i, k;

	if (l < 0) {
		fprintf(stderr, "proxy: cannot listen on %d: %s\n", lport, strerror(errno));
		return 1;
	}
	for (;;) {
		pf[0].fd = l;
		pf[0].events = POLLIN;
		for (i = 0; i < n; i++)
			for (k = 0; k < 2; k++) {
				pf[1 + 2 * i + k].fd = p[i].fd[k];
				pf[1 + 2 * i + k].events = POLLIN;
			}
		if (poll(pf, (nfds_t)(1 + 2 * n), -1) < 0)
			continue;
		polled = n; /* pairs accepted now are polled next round */
		if ((pf[0].revents & POLLIN) && n < MAXC) {
			int c = accept(l, NULL, NULL), s = c >= 0 ? connect_to(tport) : -1;

			if (s >= 0) {
				p[n].fd[0] = c;
				p[n].fd[1] = s;
				n++;
			} else if (c >= 0) {
				close(c);
			}
		}
		for (i = 0; i < polled; i++) {
			int done = 0;

			for (k = 0; k < 2 && !done; k++) {
				ssize_t r, w, off = 0;

				if (!(pf[1 + 2 * i + k].revents & (POLLIN | POLLHUP | POLLERR)))
					continue;
				r = read(p[i].fd[k], buf, sizeof(buf));
				if (r <= 0) {
					done = 1;
					break;
				}
				bytes[k] += (unsigned long long)r;
				while (off < r && (w = write(p[i].fd[1 - k], buf + off, (size_t)(r - off))) > 0)
					off += w;
				if (off < r)
					done = 1;
			}
			if (done) {
				FILE *f = fopen(stats, "w");

				close(p[i].fd[0]);
				close(p[i].fd[1]);
				p[i] = p[--n];
				conns++;
				if (f) {
					fprintf(f, "%llu %llu %llu\n", bytes[0], bytes[1], conns);
					fclose(f);
				}
				break; /* the poll set changed */
			}
		}
	}
}

/* ---- delivery through the driver -------------------------------------- */

static const struct lf_driver *g_drv;
static struct lf_driver_conn *g_c;
static const char *g_src, *g_bin;
static int g_again;

struct files {
	struct lf_file *f;
	size_t n;
	size_t base;
};

static struct files *g_walk;

static int walk_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	struct files *fs = g_walk;
	struct lf_file *f;
	char *data = NULL;
	size_t len = 0;

	(void)ftw;
	if (type != FTW_F)
		return 0;
	if (lf_read_file(path, &data, &len, NULL) != 0)
		return -1;
	fs->f = lf_xrealloc(fs->f, (fs->n + 1) * sizeof(*fs->f));
	f = &fs->f[fs->n++];
	memset(f, 0, sizeof(*f));
	f->path = lf_xstrdup(path + fs->base);
	f->data = data;
	f->len = len;
	f->mode = st->st_mode & 0777;
	return 0;
}

static pthread_mutex_t g_walk_mu = PTHREAD_MUTEX_INITIALIZER;

static int bundle_read(const char *dir, struct files *fs)
{
	int rc;

	memset(fs, 0, sizeof(*fs));
	fs->base = strlen(dir) + 1;
	pthread_mutex_lock(&g_walk_mu); /* nftw has no payload */
	g_walk = fs;
	rc = nftw(dir, walk_one, 16, FTW_PHYS);
	pthread_mutex_unlock(&g_walk_mu);
	return rc;
}

static void bundle_free(struct files *fs)
{
	size_t i;

	for (i = 0; i < fs->n; i++) {
		free((char *)fs->f[i].path);
		free((void *)fs->f[i].data);
	}
	free(fs->f);
}

struct node {
	int i, rc;
	char msg[300];
};

static void node_one(struct node *nd)
{
	struct lf_err err = LF_ERR_INIT;
	struct lf_target t;
	struct lf_call call;
	struct lf_kv_builder *b = lf_kv_builder_new();
	struct lf_blob out, eout;
	struct lf_exec_result res = { -1, &out, &eout };
	char name[16], res_name[64], dir[4200], env[4200];
	const char *argv[] = { "true", NULL };
	const char *envp[] = { env, NULL };
	struct lf_exec_spec es = { argv, envp, NULL, 0, 0, 0 };
	struct files fs = { 0 };

	snprintf(name, sizeof(name), "b%02d", nd->i);
	snprintf(res_name, sizeof(res_name), "host.bench.%s", name);
	memset(&t, 0, sizeof(t));
	t.resource = res_name;
	t.lineage = "e5e5e5e5-0000-4000-8000-00000000000e";
	t.name = name;
	t.machine_address = "127.0.0.1";
	lf_call_init(&call, "ssh", "bench", t.resource);
	if (g_again) {
		nd->rc = g_drv->machine_read(g_c, &t, &call, b, 0, &err);
	} else {
		nd->rc = g_drv->machine_prepare(g_c, &t, &call, b, 0, &err);
		snprintf(dir, sizeof(dir), "%s/%s", g_src, name);
		if (nd->rc == 0 && bundle_read(dir, &fs) != 0)
			nd->rc = lf_err_set(&err, LF_ERROR, "cannot read %s", dir);
		if (nd->rc == 0)
			nd->rc = g_drv->put(g_c, &t, fs.f, fs.n, &call, 0, &err);
		bundle_free(&fs);
	}
	json_decref(lf_kv_builder_finish(b));
	snprintf(env, sizeof(env), "FABRIC_BIN=%s", g_bin);
	lf_blob_init(&out, 0);
	lf_blob_init(&eout, 0);
	if (nd->rc == 0)
		nd->rc = g_drv->exec(g_c, &t, &es, &res, &call, 0, &err);
	if (nd->rc == 0 && res.exit_status != 0)
		nd->rc = lf_err_set(&err, LF_ERROR, "exit status %d", res.exit_status);
	lf_blob_free(&out);
	lf_blob_free(&eout);
	snprintf(nd->msg, sizeof(nd->msg), "%.290s", err.msg);
}

static struct node g_nodes[NODES];
static int g_next;
static pthread_mutex_t g_next_mu = PTHREAD_MUTEX_INITIALIZER;

/* a worker: the next node not taken, until none is left */
static void *worker(void *arg)
{
	int i;

	(void)arg;
	for (;;) {
		pthread_mutex_lock(&g_next_mu);
		i = g_next < NODES ? g_next++ : -1;
		pthread_mutex_unlock(&g_next_mu);
		if (i < 0)
			return NULL;
		g_nodes[i].i = i;
		node_one(&g_nodes[i]);
	}
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int deliver(char **a, int again)
{
	struct lf_registry *reg = NULL;
	struct lf_err err = LF_ERR_INIT;
	struct lf_call call;
	struct node *nd = g_nodes;
	pthread_t th[NODES];
	int workers = getenv("LF_BENCH_WORKERS") ? atoi(getenv("LF_BENCH_WORKERS")) : NODES;
	json_t *cfg = json_pack("{s:s, s:i, s:s, s:s, s:s, s:s}", "user", a[1], "port",
				atoi(a[0]), "identity", a[2], "known_hosts", a[3], "root", a[5],
				"bin_root", a[6]);
	struct lf_kv *kv = lf_kv_wrap(cfg);
	double t0, t1;
	int i, rc = 0;

	g_src = a[4];
	g_bin = a[7];
	g_again = again;
	if (lf_registry_new(&reg) != 0 || lf_registry_get(reg, "ssh", &g_drv, &err) != 0) {
		fprintf(stderr, "ssh_bench: cannot load the ssh driver: %s\n", err.msg);
		return 1;
	}
	t0 = now_s();
	lf_call_init(&call, "ssh", "bench", NULL);
	if (g_drv->open(&g_c, kv, &call, 0, &err) != 0) {
		fprintf(stderr, "ssh_bench: open: %s\n", err.msg);
		return 1;
	}
	if (workers < 1 || workers > NODES)
		workers = NODES;
	for (i = 0; i < workers; i++)
		pthread_create(&th[i], NULL, worker, NULL);
	for (i = 0; i < workers; i++)
		pthread_join(th[i], NULL);
	g_drv->close(g_c);
	t1 = now_s();
	for (i = 0; i < NODES; i++)
		if (nd[i].rc != 0) {
			fprintf(stderr, "ssh_bench: node %d: %s\n", i, nd[i].msg);
			rc = 1;
		}
	printf("%.2f\n", t1 - t0);
	lf_kv_unwrap(kv);
	json_decref(cfg);
	lf_registry_free(reg);
	return rc;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc == 5 && strcmp(argv[1], "proxy") == 0)
		return proxy(atoi(argv[2]), atoi(argv[3]), argv[4]);
	if ((argc == 10 || argc == 11) && strcmp(argv[1], "deliver") == 0)
		return deliver(argv + 2, argc == 11 && strcmp(argv[10], "again") == 0);
	fprintf(stderr, "usage: ssh_bench proxy LISTEN_PORT TARGET_PORT STATS\n"
		"       ssh_bench deliver PORT USER KEY KNOWN_HOSTS SRC ROOT BIN_ROOT FABRIC_BIN [again]\n");
	return 2;
}
