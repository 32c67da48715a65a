/*
 * The cloud-init NoCloud seed of a VM: user-data (the user, its SSH
 * authorized key, hostname) and meta-data (instance-id, local-hostname),
 * written as an ISO 9660 image labelled "cidata" by Debian's genisoimage
 * in a private temporary directory. Both files are JSON documents, which
 * are YAML, so jansson does all quoting; user-data starts with the
 * "#cloud-config" line cloud-init requires.
 */
#include "virt.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <jansson.h>

#define VIRT_SEED_MAX (4u << 20)

extern char **environ;

static int dumps(json_t *doc, const char *head, char **out, struct lf_err *err)
{
	char *body = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
	size_t n = body ? strlen(head) + strlen(body) + 2 : 0;

	json_decref(doc);
	*out = body ? malloc(n) : NULL;
	if (*out)
		snprintf(*out, n, "%s%s\n", head, body);
	free(body);
	if (!*out)
		return virt_host->err_set(err, LF_ERROR, "libvirt: cannot format the cloud-init seed");
	return 0;
}

int virt_seed_userdata(const char *user, const char *ssh_key,
		       const char *hostname, char **out, struct lf_err *err)
{
	json_t *u = json_pack("{s:s,s:s,s:s}", "name", user, "shell", "/bin/bash",
			      "sudo", "ALL=(ALL) NOPASSWD:ALL");
	const char *dot = strchr(hostname, '.');
	json_t *doc;

	if (u && ssh_key)
		json_object_set_new(u, "ssh_authorized_keys", json_pack("[s]", ssh_key));
	doc = u ? json_pack("{s:s%,s:s,s:[o],s:b}", "hostname", hostname,
			    dot ? (size_t)(dot - hostname) : strlen(hostname),
			    "fqdn", hostname, "users", u, "ssh_pwauth", 0) : NULL;
	return dumps(doc, "#cloud-config\n", out, err);
}

int virt_seed_metadata(const char *instance_id, const char *hostname,
		       char **out, struct lf_err *err)
{
	const char *dot = strchr(hostname, '.');
	json_t *doc = json_pack("{s:s,s:s%}", "instance-id", instance_id,
				"local-hostname", hostname,
				dot ? (size_t)(dot - hostname) : strlen(hostname));

	return dumps(doc, "", out, err);
}

static int write_file(const char *dir, const char *name, const char *data)
{
	char path[512];
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f)
		return -1;
	ok = fputs(data, f) >= 0;
	return (fclose(f) == 0 && ok) ? 0 : -1;
}

static int read_file(const char *path, char **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	int rc = -1;

	*out = NULL;
	if (f && fstat(fileno(f), &st) == 0 && st.st_size > 0 &&
	    (size_t)st.st_size <= VIRT_SEED_MAX && (*out = malloc((size_t)st.st_size))) {
		*len = fread(*out, 1, (size_t)st.st_size, f);
		rc = *len == (size_t)st.st_size ? 0 : -1;
	}
	if (f)
		fclose(f);
	return rc;
}

/* genisoimage -output DIR/seed.iso -volid cidata -joliet -rock user-data meta-data */
static int run_genisoimage(const char *dir, struct lf_err *err)
{
	char iso[512], ud[512], md[512];
	char *argv[] = { "genisoimage", "-quiet", "-output", iso, "-volid", "cidata",
			 "-joliet", "-rock", ud, md, NULL };
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int st = 0, rc;

	snprintf(iso, sizeof(iso), "%s/seed.iso", dir);
	snprintf(ud, sizeof(ud), "%s/user-data", dir);
	snprintf(md, sizeof(md), "%s/meta-data", dir);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	rc = posix_spawnp(&pid, "genisoimage", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0)
		return virt_host->err_set(err, LF_EUNSUPPORTED,
					  "libvirt: cannot run genisoimage for the cloud-init seed: %s (install Debian's genisoimage)",
					  strerror(rc));
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return virt_host->err_set(err, LF_ERROR,
					  "libvirt: genisoimage failed (status %d) writing the cloud-init seed",
					  WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	return 0;
}

static void rm_dir(const char *dir)
{
	static const char *const names[] = { "user-data", "meta-data", "seed.iso", NULL };
	char path[512];
	size_t i;

	for (i = 0; names[i]; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
}

int virt_seed_iso(const char *userdata, const char *metadata, char **out,
		  size_t *len, struct lf_err *err)
{
	const char *tmp = getenv("TMPDIR");
	char dir[400], iso[512];
	int rc;

	*out = NULL;
	snprintf(dir, sizeof(dir), "%s/lf-seed-XXXXXX", tmp && tmp[0] == '/' ? tmp : "/tmp");
	if (!mkdtemp(dir))
		return virt_host->err_set(err, LF_ERROR, "libvirt: cannot make a temporary directory: %s",
					  strerror(errno));
	if (write_file(dir, "user-data", userdata) != 0 ||
	    write_file(dir, "meta-data", metadata) != 0)
		rc = virt_host->err_set(err, LF_ERROR, "libvirt: cannot write the cloud-init seed files");
	else
		rc = run_genisoimage(dir, err);
	snprintf(iso, sizeof(iso), "%s/seed.iso", dir);
	if (rc == 0 && read_file(iso, out, len) != 0) {
		free(*out);
		*out = NULL;
		rc = virt_host->err_set(err, LF_ERROR, "libvirt: cannot read the seed ISO genisoimage wrote");
	}
	rm_dir(dir);
	return rc;
}
