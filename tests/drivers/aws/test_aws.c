/*
 * The aws driver (ABI 2, provider) through the real plugin loader against
 * tests/node/ec2-fake.js: a fake EC2 Query API on 127.0.0.1 (ports
 * 22400-22499) over TLS with a CA made here, which checks every request's
 * SigV4 signature on its own. Create (tags, ClientToken, user data),
 * adopt, read and drift, resize with stop/modify/start, delete, throttled
 * calls retried, Retry-After, NextToken pagination, a resumed create that
 * makes one instance, bad and expired credentials, TLS verification, and
 * no secret in any message or log line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <curl/curl.h>

#include "core/plugin/call.h"
#include "core/plugin/plugin.h"
#include "core/util/util.h"
#include "ec2fake.h"

#define PORT_FIRST 22400
#define PORT_LAST 22449   /* the CLI test takes 22450.. */
#define LIN "aaaa1111-0000-4000-8000-0000000000aa"
#define SECRET "wJalrXUtnFEMItestSECRETdoNOTlogMEplease0"
#define SECRET2 "s3cr3tTWOforTHEsessionPROFILEdoNOTlogME1"
#define TOKEN1 "FwoGZXIvYXdzEXAMPLEsessionTOKENoneONE"
#define TOKEN2 "FwoGZXIvYXdzEXAMPLEsessionTOKENtwoTWO"

static char tmpdir[] = "/tmp/lf-aws-XXXXXX";
static struct ec2fake fake = { -1, 0, "" };
static char *skip_reason;
static struct lf_registry *reg;
static const struct lf_driver *aws;
static json_t *creds_ref;       /* {file, profile} of the test's INI file */
static const json_t *creds_cur; /* what calls carry; creds_ref unless a
				   test changes it */
static int saved_stderr = -1;

/* ---- fixtures --------------------------------------------------------------- */

static char *tpath(const char *name)
{
	return lf_path_join(tmpdir, name);
}

static void write_file(const char *name, const char *text, unsigned int mode)
{
	char *p = tpath(name);
	FILE *f = fopen(p, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	chmod(p, mode);
	free(p);
}

/* the fake's own key table: what it accepts */
static const char *KEYS_JSON =
	"{\"AKIDTEST\": {\"secret\": \"" SECRET "\", \"token\": null},"
	" \"AKIDSESSION\": {\"secret\": \"" SECRET2 "\", \"token\": \"" TOKEN1 "\"}}";

static void creds_ini(const char *profile_body)
{
	write_file("credentials", profile_body, 0600);
}

static int group_setup(void **state)
{
	struct lf_err err = LF_ERR_INIT;
	char *log, *ini;
	int fd;

	(void)state;
	if (!mkdtemp(tmpdir))
		return -1;
	setenv("LEDGERFORM_LOG", "debug", 1); /* debug lines are grepped too */
	if (lf_registry_new(&reg) != 0 || lf_registry_get(reg, "aws", &aws, &err) != 0) {
		print_message("cannot load aws: %s\n", err.msg);
		return -1;
	}
	if (system("command -v node >/dev/null 2>&1") != 0)
		skip_reason = "node is not installed (bash .ci/bootstrap.sh --with-tests)";
	else if (ec2fake_certs(tmpdir) != 0)
		skip_reason = "the openssl CLI cannot make the test CA";
	write_file("keys.json", KEYS_JSON, 0600);
	if (!skip_reason && ec2fake_start(&fake, tmpdir, PORT_FIRST, PORT_LAST) != 0)
		skip_reason = "cannot start tests/node/ec2-fake.js on 127.0.0.1:22400-22449";
	creds_ini("[test]\naws_access_key_id = AKIDTEST\naws_secret_access_key = " SECRET "\n");
	ini = tpath("credentials");
	creds_ref = json_pack("{s:s,s:s}", "file", ini, "profile", "test");
	free(ini);
	/* every log line of the run goes to a file the last test greps */
	log = tpath("stderr.log");
	fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	free(log);
	saved_stderr = dup(STDERR_FILENO);
	if (fd >= 0) {
		dup2(fd, STDERR_FILENO);
		close(fd);
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	return 0;
}

static int group_teardown(void **state)
{
	struct lf_err err = LF_ERR_INIT;

	(void)state;
	ec2fake_stop(&fake);
	if (saved_stderr >= 0) { /* replay the run's log lines and failures */
		char *p = tpath("stderr.log"), *log = NULL;
		size_t n = 0;

		fflush(stderr);
		dup2(saved_stderr, STDERR_FILENO);
		close(saved_stderr);
		if (lf_read_file(p, &log, &n, &err) == 0 && n)
			fwrite(log, 1, n, stderr);
		free(log);
		free(p);
	}
	json_decref(creds_ref);
	lf_registry_free(reg);
	return lf_rmtree(tmpdir, &err);
}

static void need_server(void)
{
	if (skip_reason) {
		print_message("skipped: %s\n", skip_reason);
		skip();
	}
}

/* ---- the driver ----------------------------------------------------------------- */

static void call_of(struct lf_call *call, const char *resource)
{
	lf_call_init(call, "aws", "cloud", resource);
	call->credentials = creds_cur ? creds_cur : creds_ref;
}

static json_t *open_extra; /* more config keys for the next open */

static int open_with(const char *ca, int retry_max, struct lf_driver_conn **c, struct lf_err *err)
{
	char ep[64];
	char *cap = tpath(ca);
	json_t *cfg;
	struct lf_kv *kv;
	struct lf_call call;
	int rc;

	snprintf(ep, sizeof(ep), "https://127.0.0.1:%d/", fake.port);
	cfg = json_pack("{s:s,s:s,s:s,s:{s:s},s:s,s:[s,s],s:s,s:s,s:i,s:i,s:i,s:i}",
			"region", "us-east-1", "endpoint", ep, "ca_bundle", cap,
			"images", "debian-12", "ami-0fake0debian12", "subnet_id", "subnet-1",
			"security_group_ids", "sg-1", "sg-2", "key_name", "ops",
			"ssh_authorized_key", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAItest ops",
			"poll_ms", 5, "retry_base_ms", 5, "retry_max", retry_max, "wait_timeout_s", 30);
	if (open_extra)
		json_object_update(cfg, open_extra);
	kv = lf_kv_wrap(cfg);
	call_of(&call, NULL);
	rc = aws->open(c, kv, &call, 0, err);
	lf_kv_unwrap(kv);
	json_decref(cfg);
	free(cap);
	return rc;
}

static struct lf_driver_conn *must_open(void)
{
	struct lf_driver_conn *c = NULL;
	struct lf_err err = LF_ERR_INIT;

	if (open_with("ca.pem", 6, &c, &err) != 0)
		print_message("open: %s\n", err.msg);
	assert_non_null(c);
	return c;
}

struct host {
	struct lf_host_spec s;
	char res[128];
	json_t *size, *prior, *attrs;
	struct lf_kv *size_kv, *prior_kv, *attrs_kv;
};

static void host_size(struct host *h, const char *type, unsigned int vcpus)
{
	lf_kv_unwrap(h->size_kv);
	json_decref(h->size);
	h->size = json_pack("{s:i,s:i,s:i,s:s,s:s}", "vcpus", vcpus, "memory_mb", 4096,
			    "disk_gb", 50, "image", "debian-12", "instance_type", type);
	h->size_kv = lf_kv_wrap(h->size);
	h->s.size = h->size_kv;
	h->s.vcpus = vcpus;
}

static void host_init(struct host *h, const char *name)
{
	memset(h, 0, sizeof(*h));
	snprintf(h->res, sizeof(h->res), "host.bank.%s", name);
	h->s.resource = h->res;
	h->s.lineage = LIN;
	h->s.name = name;
	h->s.hostname = name;
	h->s.memory_mb = 4096;
	h->s.disk_gb = 50;
	h->s.image = "debian-12";
	host_size(h, "t3.small", 2);
}

/* outputs become the prior of the next call (as the state keeps them) */
static void host_prior(struct host *h, json_t *outputs)
{
	lf_kv_unwrap(h->prior_kv);
	json_decref(h->prior);
	h->prior = json_incref(outputs);
	h->prior_kv = h->prior ? lf_kv_wrap(h->prior) : NULL;
	h->s.prior = h->prior_kv;
}

static void host_done(struct host *h)
{
	lf_kv_unwrap(h->attrs_kv);
	json_decref(h->attrs);
	host_prior(h, NULL);
	lf_kv_unwrap(h->size_kv);
	json_decref(h->size);
}

static int op_flags(struct lf_driver_conn *c, int which, struct host *h, unsigned int flags,
		    json_t **out, struct lf_err *err)
{
	struct lf_kv_builder *b = lf_kv_builder_new();
	struct lf_call call;
	json_t *o;
	int rc;

	call_of(&call, h->s.resource);
	memset(err, 0, sizeof(*err)); /* one lf_err per call, as the executor */
	if (which == 'c')
		rc = aws->host_create(c, &h->s, &call, b, flags, err);
	else if (which == 'r')
		rc = aws->host_read(c, &h->s, &call, b, flags, err);
	else if (which == 'u')
		rc = aws->host_update(c, &h->s, &call, b, flags, err);
	else
		rc = aws->host_delete(c, &h->s, &call, flags, err);
	o = lf_kv_builder_finish(b);
	if (rc == 0 && json_object_size(o))
		host_prior(h, o);
	if (out)
		*out = o;
	else
		json_decref(o);
	return rc;
}

static int op(struct lf_driver_conn *c, int which, struct host *h, json_t **out,
	      struct lf_err *err)
{
	return op_flags(c, which, h, 0, out, err);
}

static const char *attr(const json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));

	return v ? v : "(none)";
}

static void must(int rc, const struct lf_err *err)
{
	if (rc != 0)
		print_message("driver: %s\n", err->msg);
	assert_int_equal(rc, 0);
}

/* ---- cases ------------------------------------------------------------------------ */

/* create: one instance with our tags, type, image, subnet, groups, key,
 * user data and a 64-character ClientToken; running; a second create
 * adopts it without RunInstances */
static void test_aws_create_and_adopt(void **state)
{
	struct lf_driver_conn *c;
	struct lf_err err = LF_ERR_INIT;
	struct host h;
	json_t *o = NULL, *rec;
	long long runs;
	char *ud;

	(void)state;
	need_server();
	c = must_open();
	host_init(&h, "peer0-create");
	must(op(c, 'c', &h, &o, &err), &err);
	assert_string_equal(attr(o, "power"), "running");
	assert_string_equal(attr(o, "instance_type"), "t3.small");
	assert_true(strncmp(attr(o, "machine_address"), "10.0.", 5) == 0);
	rec = ec2fake_instance(&fake, attr(o, "id"));
	assert_non_null(rec);
	assert_string_equal(attr(rec, "state"), "running");
	assert_string_equal(attr(rec, "image"), "ami-0fake0debian12");
	assert_string_equal(attr(rec, "subnet"), "subnet-1");
	assert_string_equal(attr(rec, "key_name"), "ops");
	assert_int_equal(json_array_size(json_object_get(rec, "groups")), 2);
	assert_int_equal(strlen(attr(rec, "token")), 64);
	assert_string_equal(attr(json_object_get(rec, "tags"), "ledgerform:lineage"), LIN);
	assert_string_equal(attr(json_object_get(rec, "tags"), "ledgerform:resource"), h.res);
	assert_string_equal(attr(json_object_get(rec, "tags"), "Name"), "peer0-create");
	ud = lf_xasprintf("echo %s | base64 -d | grep -q 'hostname: peer0-create' && "
			  "echo %s | base64 -d | grep -q 'ssh-ed25519 AAAAC3'",
			  attr(rec, "user_data"), attr(rec, "user_data"));
	assert_int_equal(system(ud), 0);
	free(ud);
	json_decref(rec);

	runs = ec2fake_calls(&fake, "RunInstances");
	host_prior(&h, NULL); /* as after a crash before the state commit */
	json_decref(o);
	must(op(c, 'c', &h, &o, &err), &err);
	assert_int_equal(ec2fake_calls(&fake, "RunInstances"), runs);
	assert_int_equal(ec2fake_live(&fake, h.res), 1);
	json_decref(o);
	host_done(&h);
	aws->close(c);
}

/* read: outputs; drift when the instance type is changed, the instance
 * stopped or terminated behind ledgerform's back */
static void test_aws_read_drift(void **state)
{
	struct lf_driver_conn *c;
	struct lf_err err = LF_ERR_INIT;
	struct host h;
	json_t *o = NULL;
	char id[32];

	(void)state;
	need_server();
	c = must_open();
	host_init(&h, "peer0-drift");
	must(op(c, 'c', &h, &o, &err), &err);
	snprintf(id, sizeof(id), "%s", attr(o, "id"));
	json_decref(o);
	must(op(c, 'r', &h, &o, &err), &err);
	assert_string_equal(attr(o, "id"), id);
	assert_int_equal(json_integer_value(json_object_get(o, "vcpus")), 2);
	json_decref(o);

	json_decref(ec2fake_control(&fake, "{\"op\":\"set\",\"id\":\"%s\",\"type\":\"m5.2xlarge\"}", id));
	must(op(c, 'r', &h, &o, &err), &err);
	assert_string_equal(attr(o, "instance_type"), "m5.2xlarge");
	assert_int_equal(json_integer_value(json_object_get(o, "vcpus")), 8);
	json_decref(o);

	json_decref(ec2fake_control(&fake, "{\"op\":\"set\",\"id\":\"%s\",\"type\":\"t3.small\",\"state\":\"stopped\"}", id));
	must(op(c, 'r', &h, &o, &err), &err);
	assert_string_equal(attr(o, "power"), "stopped");
	assert_int_equal(json_integer_value(json_object_get(o, "vcpus")), 0);
	json_decref(o);

	json_decref(ec2fake_control(&fake, "{\"op\":\"set\",\"id\":\"%s\",\"state\":\"terminated\"}", id));
	assert_int_equal(op(c, 'r', &h, NULL, &err), LF_ENOTFOUND);
	host_done(&h);
	aws->close(c);
}

/* resize: change_kind says restart; update without the flag refuses;
 * with it: stop, modify, start, running with the new type */
static void test_aws_resize(void **state)
{
	struct lf_driver_conn *c;
	struct lf_err err = LF_ERR_INIT;
	struct host h;
	json_t *o = NULL, *rec;
	char why[256] = "";
	long long stops, mods, starts;

	(void)state;
	assert_int_equal(aws->change_kind(NULL, "vcpus", "2", "8", why, sizeof(why)), LF_CHANGE_RESTART);
	assert_non_null(strstr(why, "stop"));
	assert_int_equal(aws->change_kind(NULL, "disk_gb", "50", "20", why, sizeof(why)), LF_CHANGE_REFUSED);
	assert_int_equal(aws->change_kind(NULL, "image", "a", "b", why, sizeof(why)), LF_CHANGE_REPLACE);
	need_server();
	c = must_open();
	host_init(&h, "peer0-resize");
	must(op(c, 'c', &h, &o, &err), &err);
	json_decref(o);
	stops = ec2fake_calls(&fake, "StopInstances");
	mods = ec2fake_calls(&fake, "ModifyInstanceAttribute");
	starts = ec2fake_calls(&fake, "StartInstances");
	host_size(&h, "m5.2xlarge", 8);
	assert_int_equal(op(c, 'u', &h, NULL, &err), LF_EINVALID);
	assert_int_equal(ec2fake_calls(&fake, "StopInstances"), stops);
	must(op_flags(c, 'u', &h, LF_UPDATE_RESTART, &o, &err), &err);
	assert_string_equal(attr(o, "instance_type"), "m5.2xlarge");
	assert_string_equal(attr(o, "power"), "running");
	assert_int_equal(ec2fake_calls(&fake, "StopInstances"), stops + 1);
	assert_int_equal(ec2fake_calls(&fake, "ModifyInstanceAttribute"), mods + 1);
	assert_int_equal(ec2fake_calls(&fake, "StartInstances"), starts + 1);
	rec = ec2fake_instance(&fake, attr(o, "id"));
	assert_string_equal(attr(rec, "type"), "m5.2xlarge");
	assert_string_equal(attr(rec, "state"), "running");
	json_decref(rec);
	json_decref(o);
	host_done(&h);
	aws->close(c);
}

/* delete: terminated; again: success; an instance of another lineage at
 * the recorded id is never touched */
static void test_aws_delete(void **state)
{
	struct lf_driver_conn *c;
	struct lf_err err = LF_ERR_INIT;
	struct host h, other;
	json_t *o = NULL, *rec;
	char id[32];

	(void)state;
	need_server();
	c = must_open();
	host_init(&h, "peer0-delete");
	must(op(c, 'c', &h, &o, &err), &err);
	snprintf(id, sizeof(id), "%s", attr(o, "id"));
	host_init(&other, "peer0-delete");
	other.s.lineage = "bbbb2222-0000-4000-8000-0000000000bb";
	host_prior(&other, o);
	assert_int_equal(op(c, 'd', &other, NULL, &err), LF_ECONFLICT);
	rec = ec2fake_instance(&fake, id);
	assert_string_equal(attr(rec, "state"), "running");
	json_decref(rec);
	json_decref(o);
	must(op(c, 'd', &h, NULL, &err), &err);
	rec = ec2fake_instance(&fake, id);
	assert_string_equal(attr(rec, "state"), "terminated");
	json_decref(rec);
	must(op(c, 'd', &h, NULL, &err), &err);
	/* a new create of the same address after a destroy: a new instance
	 * (the old ClientToken's instance is terminated: next generation) */
	host_prior(&h, NULL);
	must(op(c, 'c', &h, &o, &err), &err);
	assert_string_not_equal(attr(o, "id"), id);
	assert_int_equal(json_integer_value(json_object_get(o, "generation")), 1);
	json_decref(o);
	must(op(c, 'd', &h, NULL, &err), &err);
	host_done(&h);
	host_done(&other);
	aws->close(c);
}

/* RequestLimitExceeded and 503 Unavailable are retried with backoff
 * within the call: the create succeeds, one instance */
static void test_aws_throttled_create(void **state)
{
	struct lf_driver_conn *c;
	struct lf_err err = LF_ERR_INIT;
	struct host h;
	json_t *o = NULL;
	long long thr;

	(void)state;
	need_server();
	c = must_open();
	host_init(&h, "peer0-throttled");
	thr = ec2fake_calls(&fake, "throttled");
	json_decref(ec2fake_control(&fake, "{\"op\":\"throttle\",\"count\":4,\"status503\":1}"));
	must(op(c, 'c', &h, &o, &err), &err);
	assert_int_equal(ec2fake_calls(&fake, "throttled"), thr + 4);
	assert_int_equal(ec2fake_live(&fake, h.res), 1);
	json_decref(o);
	host_done(&h);
	aws->close(c);
}

/* throttled past the call's attempts: LF_ERETRY for the executor, with
 * the API's Retry-After in retry_after_ms */
static void test_aws_throttle_retry_after(void **state)
{
	struct lf_driver_conn *c = NULL;
	struct lf_err err = LF_ERR_INIT;
	struct host h;

	(void)state;
	need_server();
	assert_int_equal(open_with("ca.pem", 2, &c, &err), 0);
	host_init(&h, "peer0-retry-after");
	json_decref(ec2fake_control(&fake, "{\"op\":\"throttle\",\"count\":2,\"retry_after\":3}"));
	assert_int_equal(op(c, 'r', &h, NULL, &err), LF_ERETRY);
	assert_int_equal(err.retry_after_ms, 3000);
	assert_non_null(strstr(err.msg, "RequestLimitExceeded"));
	json_decref(ec2fake_control(&fake, "{\"op\":\"throttle\",\"count\":0}"));
	host_done(&h);
	aws->close(c);
}

/* DescribeInstances pages (NextToken) until the host is found */
static void test_aws_pagination(void **state)
{
	struct lf_driver_conn *c;
	struct lf_err err = LF_ERR_INIT;
	struct host h[5];
	json_t *o = NULL;
	char name[32], id[32];
	long long before;
	int i;

	(void)state;
	need_server();
	c = must_open();
	for (i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "peer%d-page", i);
		host_init(&h[i], name);
		must(op(c, 'c', &h[i], &o, &err), &err);
		json_decref(o);
	}
	snprintf(id, sizeof(id), "%s", attr(h[4].prior, "id"));
	host_prior(&h[4], NULL); /* found by tags, not by id */
	json_decref(ec2fake_control(&fake, "{\"op\":\"page_size\",\"size\":1}"));
	json_decref(ec2fake_control(&fake, "{\"op\":\"lag\",\"count\":0}"));
	before = ec2fake_calls(&fake, "DescribeInstances");
	must(op(c, 'r', &h[4], &o, &err), &err);
	assert_string_equal(attr(o, "id"), id);
	json_decref(o);
	/* one instance a page, the host among the last: NextToken followed */
	assert_true(ec2fake_calls(&fake, "DescribeInstances") - before >= 5);
	json_decref(ec2fake_control(&fake, "{\"op\":\"page_size\",\"size\":1000}"));
	for (i = 0; i < 5; i++) {
		must(op(c, 'd', &h[i], NULL, &err), &err);
		host_done(&h[i]);
	}
	aws->close(c);
}

/* a create resumed (another process: a new connection) when
 * DescribeInstances does not show the instance yet (EC2's eventual
 * consistency): the ClientToken gives back the same one */
static void test_aws_client_token_resume(void **state)
{
	struct lf_driver_conn *c;
	struct lf_err err = LF_ERR_INIT;
	struct host h;
	json_t *o = NULL;
	char id[32];
	long long runs;

	(void)state;
	need_server();
	c = must_open();
	host_init(&h, "peer0-resume");
	must(op(c, 'c', &h, &o, &err), &err);
	snprintf(id, sizeof(id), "%s", attr(o, "id"));
	json_decref(o);
	host_prior(&h, NULL);
	aws->close(c);
	c = must_open();
	json_decref(ec2fake_control(&fake, "{\"op\":\"hide\",\"id\":\"%s\",\"count\":1}", id));
	runs = ec2fake_calls(&fake, "RunInstances");
	must(op(c, 'c', &h, &o, &err), &err);
	assert_int_equal(ec2fake_calls(&fake, "RunInstances"), runs + 1); /* asked again ... */
	assert_string_equal(attr(o, "id"), id);                           /* ... got the same */
	assert_int_equal(ec2fake_live(&fake, h.res), 1);
	json_decref(o);
	must(op(c, 'd', &h, NULL, &err), &err);
	host_done(&h);
	aws->close(c);
}

struct par_arg {
	struct lf_driver_conn *c;
	struct host h;
	int which, rc;
	struct lf_err err;
};

static void *par_run(void *p)
{
	struct par_arg *a = p;

	a->rc = op(a->c, a->which, &a->h, NULL, &a->err);
	return NULL;
}

static void par_all(struct par_arg *a, size_t n, int which)
{
	pthread_t th[8];
	size_t i;

	for (i = 0; i < n; i++) {
		a[i].which = which;
		assert_int_equal(pthread_create(&th[i], NULL, par_run, &a[i]), 0);
	}
	for (i = 0; i < n; i++) {
		pthread_join(th[i], NULL);
		must(a[i].rc, &a[i].err);
	}
}

/* 8 hosts created and deleted at once on one connection (each API call
 * 300 ms): the address check is one snapshot and the waits share their
 * DescribeInstances; one each would be 16 for the creates */
static void test_aws_parallel_batched(void **state)
{
	struct par_arg a[8];
	char name[32];
	long long d0, d1, d2;
	size_t i;

	(void)state;
	need_server();
	memset(a, 0, sizeof(a));
	for (i = 0; i < 8; i++) {
		snprintf(name, sizeof(name), "peer%zu-par", i);
		a[i].c = i ? a[0].c : must_open();
		host_init(&a[i].h, name);
	}
	json_decref(ec2fake_control(&fake, "{\"op\":\"latency\",\"ms\":300}"));
	d0 = ec2fake_calls(&fake, "DescribeInstances");
	par_all(a, 8, 'c');
	d1 = ec2fake_calls(&fake, "DescribeInstances");
	par_all(a, 8, 'd');
	d2 = ec2fake_calls(&fake, "DescribeInstances");
	json_decref(ec2fake_control(&fake, "{\"op\":\"latency\",\"ms\":0}"));
	print_message("DescribeInstances: %lld for 8 creates, %lld for 8 deletes\n", d1 - d0, d2 - d1);
	assert_true(d1 - d0 <= 8);
	assert_true(d2 - d1 <= 8);
	for (i = 0; i < 8; i++) {
		assert_int_equal(ec2fake_live(&fake, a[i].h.res), 0);
		host_done(&a[i].h);
	}
	aws->close(a[0].c);
}

/* a wrong secret: LF_EAUTH with the API's code and message, no secret */
static void test_aws_bad_credentials(void **state)
{
	struct lf_driver_conn *c;
	struct lf_err err = LF_ERR_INIT;
	struct host h;

	(void)state;
	need_server();
	c = must_open();
	host_init(&h, "peer0-badcreds");
	creds_ini("[test]\naws_access_key_id = AKIDTEST\naws_secret_access_key = notTheRightSecretAtAll0123\n");
	assert_int_equal(op(c, 'c', &h, NULL, &err), LF_EAUTH);
	print_message("auth error: %s\n", err.msg);
	assert_non_null(strstr(err.msg, "AuthFailure"));
	assert_non_null(strstr(err.msg, "signature we calculated does not match"));
	assert_null(strstr(err.msg, "notTheRightSecret"));
	creds_ini("[test]\naws_access_key_id = AKIDNOBODY\naws_secret_access_key = " SECRET "\n");
	assert_int_equal(op(c, 'c', &h, NULL, &err), LF_EAUTH);
	print_message("auth error: %s\n", err.msg);
	assert_non_null(strstr(err.msg, "not able to validate the provided access credentials"));
	assert_null(strstr(err.msg, SECRET));
	creds_ini("[test]\naws_access_key_id = AKIDTEST\naws_secret_access_key = " SECRET "\n");
	assert_int_equal(ec2fake_live(&fake, h.res), 0);
	host_done(&h);
	aws->close(c);
}

/* session credentials: signed with the token; when it expires the next
 * call reads the rotated file without reopening the connection */
static void test_aws_session_expired_reread(void **state)
{
	struct lf_driver_conn *c;
	struct lf_err err = LF_ERR_INIT;
	struct host h;
	json_t *o = NULL;

	(void)state;
	need_server();
	c = must_open();
	host_init(&h, "peer0-session");
	creds_ini("[test]\naws_access_key_id = AKIDSESSION\naws_secret_access_key = " SECRET2
		  "\naws_session_token = " TOKEN1 "\n");
	must(op(c, 'c', &h, &o, &err), &err);
	json_decref(o);
	json_decref(ec2fake_control(&fake, "{\"op\":\"expire\",\"token\":\"" TOKEN1 "\"}"));
	assert_int_equal(op(c, 'r', &h, NULL, &err), LF_EAUTH);
	print_message("expired: %s\n", err.msg);
	assert_non_null(strstr(err.msg, "RequestExpired"));
	assert_null(strstr(err.msg, TOKEN1));
	/* the credentials process writes new ones; the fake knows them */
	json_decref(ec2fake_control(&fake, "{\"op\":\"keys\",\"keys\":{\"AKIDTEST\":{\"secret\":\"" SECRET
			    "\",\"token\":null},\"AKIDSESSION\":{\"secret\":\"" SECRET2
			    "\",\"token\":\"" TOKEN2 "\"}}}"));
	creds_ini("[test]\naws_access_key_id = AKIDSESSION\naws_secret_access_key = " SECRET2
		  "\naws_session_token = " TOKEN2 "\n");
	must(op(c, 'r', &h, &o, &err), &err);
	json_decref(o);
	must(op(c, 'd', &h, NULL, &err), &err);
	creds_ini("[test]\naws_access_key_id = AKIDTEST\naws_secret_access_key = " SECRET "\n");
	host_done(&h);
	aws->close(c);
}

/* TLS is verified: a CA that did not sign the server's certificate fails */
static void test_aws_tls_verified(void **state)
{
	struct lf_driver_conn *c = NULL;
	struct lf_err err = LF_ERR_INIT;
	struct host h;

	(void)state;
	need_server();
	assert_int_equal(open_with("other.pem", 2, &c, &err), 0);
	host_init(&h, "peer0-tls");
	assert_int_equal(op(c, 'r', &h, NULL, &err), LF_EAUTH);
	assert_non_null(strstr(err.msg, "TLS"));
	host_done(&h);
	aws->close(c);
}

/* validate: unknown keys, a size without instance_type, an image not mapped */
static void test_aws_validate(void **state)
{
	json_t *cfg = json_pack("{s:s,s:s,s:{s:s}}", "region", "eu-west-1", "colour", "blue",
				"images", "debian-12", "ami-1");
	json_t *sizes = json_pack("{s:{s:i,s:s},s:{s:i,s:s,s:s},s:{s:s,s:[]}}", "small", "vcpus", 2,
				  "image", "debian-12", "big", "vcpus", 8, "image", "ubuntu",
				  "instance_type", "m5.2xlarge", "odd", "image", "debian-12",
				  "instance_type");
	struct lf_kv *kc = lf_kv_wrap(cfg), *ks = lf_kv_wrap(sizes);
	struct lf_err err = LF_ERR_INIT;
	struct lf_call call;
	char *d;

	(void)state;
	call_of(&call, NULL);
	call.diags = json_array();
	assert_int_equal(aws->validate(kc, ks, &call, 0, &err), LF_EINVALID);
	d = json_dumps(call.diags, JSON_COMPACT);
	print_message("diags: %s\n", d);
	assert_non_null(strstr(d, "config.colour"));
	assert_null(strstr(d, "sizes.small")); /* no aws fields: not this provider's */
	assert_non_null(strstr(d, "sizes.big.image"));
	assert_non_null(strstr(d, "sizes.odd.instance_type"));
	assert_null(strstr(d, "sizes.odd.image"));
	free(d);
	json_decref(call.diags);
	lf_kv_unwrap(kc);
	lf_kv_unwrap(ks);
	json_decref(cfg);
	json_decref(sizes);
}

/* expect rc from reading a host that does not exist: LF_ENOTFOUND means
 * the credentials were accepted */
static int read_missing(struct lf_driver_conn *c, struct lf_err *err)
{
	struct host h;
	int rc;

	host_init(&h, "peer9-nobody");
	rc = op(c, 'r', &h, NULL, err);
	host_done(&h);
	return rc;
}

/* without credentials: in the spec: the standard variables, then the
 * shared file with AWS_PROFILE (readable by others: a warning); {env}
 * gives the secret; nothing anywhere: a clear auth error */
static void test_aws_credentials_chain(void **state)
{
	struct lf_driver_conn *c;
	struct lf_err err = LF_ERR_INIT;
	json_t *none = json_object(), *env = json_pack("{s:s}", "env", "LF_TEST_AWS_SECRET");
	char *shared = tpath("shared-credentials"), *log = NULL, *logp = tpath("stderr.log");
	size_t n = 0;

	(void)state;
	need_server();
	c = must_open();
	creds_cur = none;
	setenv("AWS_ACCESS_KEY_ID", "AKIDTEST", 1);
	setenv("AWS_SECRET_ACCESS_KEY", SECRET, 1);
	assert_int_equal(read_missing(c, &err), LF_ENOTFOUND);
	unsetenv("AWS_SECRET_ACCESS_KEY");
	creds_cur = env; /* {env: VAR}: the secret; the key id from the standard one */
	setenv("LF_TEST_AWS_SECRET", SECRET, 1);
	assert_int_equal(read_missing(c, &err), LF_ENOTFOUND);
	unsetenv("LF_TEST_AWS_SECRET");
	unsetenv("AWS_ACCESS_KEY_ID");
	creds_cur = none;
	write_file("shared-credentials", "[default]\naws_access_key_id = AKIDNOBODY\n"
		   "aws_secret_access_key = x\n[fab]\naws_access_key_id = AKIDTEST\n"
		   "aws_secret_access_key = " SECRET "\n", 0644);
	setenv("AWS_SHARED_CREDENTIALS_FILE", shared, 1);
	setenv("AWS_PROFILE", "fab", 1);
	assert_int_equal(read_missing(c, &err), LF_ENOTFOUND);
	fflush(stderr);
	assert_int_equal(lf_read_file(logp, &log, &n, &err), 0);
	assert_non_null(strstr(log, "shared-credentials' is readable by others"));
	unsetenv("AWS_PROFILE");
	assert_int_equal(read_missing(c, &err), LF_EAUTH); /* [default] is unknown */
	unlink(shared);
	setenv("HOME", tmpdir, 1);
	unsetenv("AWS_SHARED_CREDENTIALS_FILE");
	assert_int_equal(read_missing(c, &err), LF_EAUTH);
	assert_non_null(strstr(err.msg, "no credentials"));
	creds_cur = NULL;
	json_decref(none);
	json_decref(env);
	free(shared);
	free(logp);
	free(log);
	aws->close(c);
}

/* last: no secret, session token or signature key anywhere in the log */
static void test_aws_no_secret_in_logs(void **state)
{
	char *p = tpath("stderr.log"), *log = NULL;
	size_t n = 0;
	struct lf_err err = LF_ERR_INIT;

	(void)state;
	need_server();
	fflush(stderr);
	assert_int_equal(lf_read_file(p, &log, &n, &err), 0);
	assert_true(n > 0); /* debug lines were written (retries, adoption) */
	assert_null(strstr(log, SECRET));
	assert_null(strstr(log, SECRET2));
	assert_null(strstr(log, TOKEN1));
	assert_null(strstr(log, TOKEN2));
	assert_null(strstr(log, "notTheRightSecret"));
	free(log);
	free(p);
}

/* ---- the network's security group from the nodes' ports ---------------------- */

#define CTRL "198.51.100.7/32"
#define NETS "192.0.2.0/24"

/* attrs with node_ports as the host puts them in the view: a peer (listen
 * 7051 from the network, operations 9443 from the controller, chaincode
 * 7052 on its machine) and, with orderer, an orderer (7050, admin 7053,
 * operations 8443) */
static void host_ports(struct host *h, bool orderer)
{
	json_t *ports = json_pack("[{s:s,s:s,s:s,s:s,s:i,s:s},{s:s,s:s,s:s,s:s,s:i,s:s},"
				  "{s:s,s:s,s:s,s:s,s:i,s:s}]",
				  "node", "node.bank.peer0", "host", "host.bank.p0", "kind", "peer",
				  "name", "listen", "port", 7051, "from", "network",
				  "node", "node.bank.peer0", "host", "host.bank.p0", "kind", "peer",
				  "name", "operations", "port", 9443, "from", "controller",
				  "node", "node.bank.peer0", "host", "host.bank.p0", "kind", "peer",
				  "name", "chaincode", "port", 7052, "from", "machine");

	json_t *ord = json_pack("[{s:s,s:i,s:s},{s:s,s:i,s:s},{s:s,s:i,s:s}]",
				"name", "listen", "port", 7050, "from", "network",
				"name", "admin", "port", 7053, "from", "controller",
				"name", "operations", "port", 8443, "from", "controller");

	if (orderer)
		json_array_extend(ports, ord);
	json_decref(ord);
	lf_kv_unwrap(h->attrs_kv);
	json_decref(h->attrs);
	h->attrs = json_pack("{s:s,s:o}", "name", h->s.name, "node_ports", ports);
	h->attrs_kv = lf_kv_wrap(h->attrs);
	h->s.attrs = h->attrs_kv;
}

/* the fake's one group tagged with LIN: its id and sorted rules */
static json_t *the_group(char id[32])
{
	json_t *s = ec2fake_control(&fake, "{\"op\":\"stats\"}"), *g, *hit = NULL;
	size_t i, n = 0;

	json_array_foreach(json_object_get(s, "groups"), i, g)
		if (strcmp(attr(json_object_get(g, "tags"), "ledgerform:lineage"), LIN) == 0) {
			hit = json_incref(json_object_get(g, "rules"));
			snprintf(id, 32, "%s", attr(g, "id"));
			assert_string_equal(attr(g, "name"), "ledgerform-" LIN);
			n++;
		}
	json_decref(s);
	assert_int_equal(n, 1); /* exactly one group for the network */
	return hit;
}

/* the rules as one text, "tcp/22/22/198.51.100.7/32 ..." with sg-self as
 * "SELF" */
static char *rules_text(const json_t *rules, const char *self)
{
	struct lf_buf b = LF_BUF_INIT;
	const char *r;
	json_t *v;
	size_t i;

	json_array_foreach(rules, i, v) {
		r = json_string_value(v);
		if (strstr(r, self))
			lf_buf_printf(&b, "%s%.*sSELF", b.len ? " " : "", (int)(strstr(r, self) - r), r);
		else
			lf_buf_printf(&b, "%s%s", b.len ? " " : "", r);
	}
	return b.data ? b.data : lf_xstrdup("");
}

static void assert_rules(const char *want)
{
	char id[32];
	json_t *rules = the_group(id);
	char *text = rules_text(rules, id);

	print_message("  rules: %s\n", text);
	assert_string_equal(text, want);
	free(text);
	json_decref(rules);
}

#define RULES_PEER "tcp/22/22/" CTRL " tcp/7051/7051/" NETS " tcp/7051/7051/SELF tcp/9443/9443/" CTRL
#define RULES_BOTH "tcp/22/22/" CTRL " tcp/7050/7050/" NETS " tcp/7050/7050/SELF " \
	"tcp/7051/7051/" NETS " tcp/7051/7051/SELF tcp/7053/7053/" CTRL " tcp/8443/8443/" CTRL \
	" tcp/9443/9443/" CTRL

static struct lf_driver_conn *open_sg(void)
{
	struct lf_driver_conn *c;

	open_extra = json_pack("{s:b,s:s,s:[s]}", "manage_security_group", 1, "controller_cidr",
			       CTRL, "network_cidrs", NETS);
	c = must_open();
	json_decref(open_extra);
	open_extra = NULL;
	return c;
}

/* create makes the group (tagged, named by the lineage) with exactly the
 * rules the ports need, launches the instance into it; a second host of
 * the same connection costs no group call; another connection finds the
 * group by its tag instead of making a second */
static void test_aws_security_group_from_ports(void **state)
{
	struct lf_driver_conn *c;
	struct lf_err err = LF_ERR_INIT;
	struct host h1, h2, h3;
	json_t *o = NULL, *rec;
	long long desc, auth;
	char id[32];

	(void)state;
	need_server();
	c = open_sg();
	host_init(&h1, "sg-p0");
	host_ports(&h1, true);
	must(op(c, 'c', &h1, &o, &err), &err);
	assert_rules(RULES_BOTH);
	json_decref(the_group(id));
	rec = ec2fake_instance(&fake, attr(o, "id"));
	assert_int_equal(json_array_size(json_object_get(rec, "groups")), 3);
	assert_string_equal(json_string_value(json_array_get(json_object_get(rec, "groups"), 2)), id);
	json_decref(rec);
	json_decref(o);
	assert_int_equal(ec2fake_calls(&fake, "CreateSecurityGroup"), 1);
	assert_int_equal(ec2fake_calls(&fake, "AuthorizeSecurityGroupIngress"), 1);
	/* the same network's next host: nothing to do, nothing asked */
	desc = ec2fake_calls(&fake, "DescribeSecurityGroups");
	host_init(&h2, "sg-p1");
	host_ports(&h2, true);
	must(op(c, 'c', &h2, NULL, &err), &err);
	assert_int_equal(ec2fake_calls(&fake, "DescribeSecurityGroups"), desc);
	aws->close(c);
	/* a new connection (the next apply) finds the group by its tag */
	c = open_sg();
	host_init(&h3, "sg-p2");
	host_ports(&h3, true);
	auth = ec2fake_calls(&fake, "AuthorizeSecurityGroupIngress");
	must(op(c, 'c', &h3, NULL, &err), &err);
	assert_int_equal(ec2fake_calls(&fake, "CreateSecurityGroup"), 1);
	assert_int_equal(ec2fake_calls(&fake, "AuthorizeSecurityGroupIngress"), auth);
	assert_rules(RULES_BOTH);
	aws->close(c);
	host_done(&h1);
	host_done(&h2);
	host_done(&h3);
}

/* a host of the network made by its own connection (the group with it);
 * the group's id */
static void sg_host_made(struct host *h, const char *name, bool orderer, char id[32])
{
	struct lf_driver_conn *c = open_sg();
	struct lf_err err = LF_ERR_INIT;

	host_init(h, name);
	host_ports(h, orderer);
	must(op(c, 'c', h, NULL, &err), &err);
	aws->close(c);
	json_decref(the_group(id));
}

/* read reports rules changed behind ledgerform's back and changes
 * nothing; update repairs them; ports no longer used are revoked */
static void test_aws_security_group_drift(void **state)
{
	struct lf_driver_conn *c;
	struct lf_err err = LF_ERR_INIT;
	struct host h;
	json_t *o = NULL, *r;
	char id[32];

	(void)state;
	need_server();
	sg_host_made(&h, "sg-drift", true, id);
	r = ec2fake_control(&fake, "{\"op\":\"sg_revoke\",\"group\":\"%s\",\"rule\":"
			    "{\"proto\":\"tcp\",\"from\":7051,\"to\":7051,\"src\":\"%s\"}}", id, id);
	json_decref(r);
	r = ec2fake_control(&fake, "{\"op\":\"sg_add\",\"group\":\"%s\",\"rule\":"
			    "{\"proto\":\"tcp\",\"from\":3306,\"to\":3306,\"src\":\"0.0.0.0/0\"}}", id);
	json_decref(r);
	c = open_sg();
	must(op(c, 'r', &h, &o, &err), &err);
	print_message("  drift: %s\n", attr(o, "security_group_drift"));
	assert_string_equal(attr(o, "security_group"), id);
	assert_non_null(strstr(attr(o, "security_group_drift"), "missing tcp/7051 from sg-"));
	assert_non_null(strstr(attr(o, "security_group_drift"), "extra tcp/3306-3306 from 0.0.0.0/0"));
	json_decref(o);
	/* read changed nothing */
	assert_rules("tcp/22/22/" CTRL " tcp/3306/3306/0.0.0.0/0 tcp/7050/7050/" NETS
		     " tcp/7050/7050/SELF tcp/7051/7051/" NETS " tcp/7053/7053/" CTRL
		     " tcp/8443/8443/" CTRL " tcp/9443/9443/" CTRL);
	must(op(c, 'u', &h, NULL, &err), &err);
	assert_rules(RULES_BOTH);
	must(op(c, 'r', &h, &o, &err), &err);
	assert_string_equal(attr(o, "security_group_drift"), "");
	json_decref(o);
	aws->close(c);
	/* the orderer is gone from the network: its ports close */
	c = open_sg();
	host_ports(&h, false);
	must(op(c, 'u', &h, NULL, &err), &err);
	assert_rules(RULES_PEER);
	aws->close(c);
	host_done(&h);
}

/* another process changes the group between the driver's describe and
 * its change: an authorize holding a rule just added fails whole with
 * InvalidPermission.Duplicate, a revoke of a rule just removed with
 * InvalidPermission.NotFound; each is settled by one more describe and
 * pass, and the rules end exact */
static void test_aws_security_group_race(void **state)
{
	struct lf_driver_conn *c;
	struct lf_err err = LF_ERR_INIT;
	struct host h;
	long long auth, rev, desc;
	char id[32];

	(void)state;
	need_server();
	sg_host_made(&h, "sg-race", false, id);
	assert_rules(RULES_PEER);
	/* the orderer joins; right after the describe that precedes our
	 * authorize (a new connection first finds the group by its tag:
	 * skip that one) another writer adds one of the rules it needs */
	json_decref(ec2fake_control(&fake, "{\"op\":\"sg_race\",\"group\":\"%s\",\"skip\":1,\"add\":"
				    "{\"proto\":\"tcp\",\"from\":7050,\"to\":7050,\"src\":\"%s\"}}", id, id));
	auth = ec2fake_calls(&fake, "AuthorizeSecurityGroupIngress");
	desc = ec2fake_calls(&fake, "DescribeSecurityGroups");
	c = open_sg();
	host_ports(&h, true);
	must(op(c, 'u', &h, NULL, &err), &err);
	assert_int_equal(ec2fake_calls(&fake, "AuthorizeSecurityGroupIngress"), auth + 2);
	assert_int_equal(ec2fake_calls(&fake, "DescribeSecurityGroups"), desc + 3);
	aws->close(c);
	assert_rules(RULES_BOTH);
	/* an extra rule to revoke, which another writer revokes first */
	json_decref(ec2fake_control(&fake, "{\"op\":\"sg_add\",\"group\":\"%s\",\"rule\":"
				    "{\"proto\":\"tcp\",\"from\":3306,\"to\":3306,\"src\":\"0.0.0.0/0\"}}", id));
	json_decref(ec2fake_control(&fake, "{\"op\":\"sg_race\",\"group\":\"%s\",\"skip\":1,\"revoke\":"
				    "{\"proto\":\"tcp\",\"from\":3306,\"to\":3306,\"src\":\"0.0.0.0/0\"}}", id));
	rev = ec2fake_calls(&fake, "RevokeSecurityGroupIngress");
	c = open_sg();
	must(op(c, 'u', &h, NULL, &err), &err);
	assert_int_equal(ec2fake_calls(&fake, "RevokeSecurityGroupIngress"), rev + 1);
	aws->close(c);
	assert_rules(RULES_BOTH);
	host_done(&h);
}

/* how many of the fake's groups carry lineage */
static size_t groups_of(const char *lineage)
{
	json_t *s = ec2fake_control(&fake, "{\"op\":\"stats\"}"), *g;
	size_t i, n = 0;

	json_array_foreach(json_object_get(s, "groups"), i, g)
		n += strcmp(attr(json_object_get(g, "tags"), "ledgerform:lineage"), lineage) == 0;
	json_decref(s);
	return n;
}

#define LIN2 "bbbb2222-0000-4000-8000-0000000000bb"

/* the group goes with the network's last host (DependencyViolation while
 * EC2 still holds it waited out), not before; another network's group
 * stays */
static void test_aws_security_group_release(void **state)
{
	struct lf_driver_conn *c;
	struct lf_err err = LF_ERR_INIT;
	struct host h1, h2;
	long long dels;
	char id[32];

	(void)state;
	need_server();
	json_decref(the_group(id)); /* LIN's, from the tests before */
	c = open_sg();
	host_init(&h1, "rel-0");
	host_init(&h2, "rel-1");
	h1.s.lineage = h2.s.lineage = LIN2;
	host_ports(&h1, false);
	host_ports(&h2, false);
	must(op(c, 'c', &h1, NULL, &err), &err);
	must(op(c, 'c', &h2, NULL, &err), &err);
	assert_int_equal(groups_of(LIN2), 1);
	dels = ec2fake_calls(&fake, "DeleteSecurityGroup");
	must(op(c, 'd', &h1, NULL, &err), &err);
	assert_int_equal(groups_of(LIN2), 1); /* rel-1 still uses it */
	assert_int_equal(ec2fake_calls(&fake, "DeleteSecurityGroup"), dels);
	json_decref(ec2fake_control(&fake, "{\"op\":\"sg_busy\",\"count\":2}"));
	must(op(c, 'd', &h2, NULL, &err), &err);
	assert_int_equal(ec2fake_calls(&fake, "DeleteSecurityGroup"), dels + 3);
	assert_int_equal(groups_of(LIN2), 0);
	assert_int_equal(groups_of(LIN), 1);
	/* deleting again (already gone) asks nothing more of the group */
	must(op(c, 'd', &h2, NULL, &err), &err);
	assert_int_equal(ec2fake_calls(&fake, "DeleteSecurityGroup"), dels + 3);
	aws->close(c);
	host_done(&h1);
	host_done(&h2);
}

/* manage_security_group without controller_cidr is refused at open */
static void test_aws_security_group_config(void **state)
{
	struct lf_driver_conn *c = NULL;
	struct lf_err err = LF_ERR_INIT;

	(void)state;
	need_server();
	open_extra = json_pack("{s:b}", "manage_security_group", 1);
	assert_int_equal(open_with("ca.pem", 6, &c, &err), LF_EINVALID);
	assert_non_null(strstr(err.msg, "controller_cidr"));
	json_decref(open_extra);
	open_extra = NULL;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_aws_validate),
		cmocka_unit_test(test_aws_create_and_adopt),
		cmocka_unit_test(test_aws_read_drift),
		cmocka_unit_test(test_aws_resize),
		cmocka_unit_test(test_aws_delete),
		cmocka_unit_test(test_aws_throttled_create),
		cmocka_unit_test(test_aws_throttle_retry_after),
		cmocka_unit_test(test_aws_pagination),
		cmocka_unit_test(test_aws_client_token_resume),
		cmocka_unit_test(test_aws_parallel_batched),
		cmocka_unit_test(test_aws_bad_credentials),
		cmocka_unit_test(test_aws_session_expired_reread),
		cmocka_unit_test(test_aws_tls_verified),
		cmocka_unit_test(test_aws_credentials_chain),
		cmocka_unit_test(test_aws_security_group_from_ports),
		cmocka_unit_test(test_aws_security_group_drift),
		cmocka_unit_test(test_aws_security_group_config),
		cmocka_unit_test(test_aws_security_group_race),
		cmocka_unit_test(test_aws_security_group_release),
		cmocka_unit_test(test_aws_no_secret_in_logs),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
