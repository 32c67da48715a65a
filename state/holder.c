/*
 * Holder records: who holds a state lock (pid, user, host, operation,
 * since when). One format for every backend: the file backend writes it
 * into its lock file, a remote backend stores it next to its lease, and a
 * refused caller is told about it in the same words.
 */
#include "state/state.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void user_name(char *out, size_t n)
{
	struct passwd pw, *res = NULL;
	char buf[1024];
	const char *env = getenv("USER");

	if (getpwuid_r(geteuid(), &pw, buf, sizeof(buf), &res) == 0 && res)
		snprintf(out, n, "%s", res->pw_name);
	else if (env && env[0])
		snprintf(out, n, "%s", env);
	else
		snprintf(out, n, "uid%u", (unsigned)geteuid());
}

void lf_state_holder_self(struct lf_state_holder *out, const char *operation)
{
	time_t t = time(NULL);
	struct tm tm;

	memset(out, 0, sizeof(*out));
	out->pid = (long long)getpid();
	user_name(out->who, sizeof(out->who));
	if (gethostname(out->where, sizeof(out->where)) != 0)
		snprintf(out->where, sizeof(out->where), "unknown");
	out->where[sizeof(out->where) - 1] = '\0';
	snprintf(out->operation, sizeof(out->operation), "%s",
		 operation ? operation : "unknown");
	gmtime_r(&t, &tm);
	strftime(out->since, sizeof(out->since), "%Y-%m-%dT%H:%M:%SZ", &tm);
}

json_t *lf_state_holder_to_json(const struct lf_state_holder *h)
{
	return json_pack("{s:I, s:s, s:s, s:s, s:s}", "pid", (json_int_t)h->pid,
			 "user", h->who, "host", h->where, "operation", h->operation,
			 "started", h->since);
}

int lf_state_holder_from_json(struct lf_state_holder *out, const json_t *o)
{
	json_int_t pid = 0;
	const char *user = "?", *host = "?", *op = "?", *since = "?";

	memset(out, 0, sizeof(*out));
	if (!o || json_unpack((json_t *)o, "{s:I, s?s, s?s, s?s, s?s}", "pid", &pid,
			      "user", &user, "host", &host, "operation", &op,
			      "started", &since) != 0)
		return LF_EINVALID;
	out->pid = (long long)pid;
	snprintf(out->who, sizeof(out->who), "%s", user);
	snprintf(out->where, sizeof(out->where), "%s", host);
	snprintf(out->operation, sizeof(out->operation), "%s", op);
	snprintf(out->since, sizeof(out->since), "%s", since);
	return 0;
}

void lf_state_holder_format(const struct lf_state_holder *h, char *out, size_t n)
{
	if (h->pid <= 0) {
		snprintf(out, n, "another process (it has not recorded itself yet)");
		return;
	}
	snprintf(out, n, "pid %lld (%s@%s, %s, since %s)", h->pid, h->who, h->where,
		 h->operation, h->since);
}
