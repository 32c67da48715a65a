/* The tests' handle on tests/node/ec2-fake.js: a CA and server certificate
 * made with the openssl CLI, the server started on the first free port of
 * a range and stopped by PID, and its unsigned /_control endpoint. */
#ifndef LF_TEST_EC2FAKE_H
#define LF_TEST_EC2FAKE_H

#include <stddef.h>
#include <sys/types.h>
#include <jansson.h>

struct ec2fake {
	pid_t pid;
	int port;
	char dir[256];   /* holds ca.pem, srv.pem, srv.key, other.pem, keys.json */
};

/* ca.pem + srv.pem/srv.key (127.0.0.1) signed by it, other.pem (another
 * self-signed CA); 0 or the shell's status */
int ec2fake_certs(const char *dir);
/* start with dir/keys.json on the first free port of first..last; 0 or -1 */
int ec2fake_start(struct ec2fake *f, const char *dir, int first, int last);
void ec2fake_stop(struct ec2fake *f);
/* POST /_control with a JSON op (printf format); its JSON answer */
json_t *ec2fake_control(const struct ec2fake *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* calls of action (or "throttled", "total") so far */
long long ec2fake_calls(const struct ec2fake *f, const char *action);
/* the fake's record of instance id (new reference) or NULL */
json_t *ec2fake_instance(const struct ec2fake *f, const char *id);
/* instances not terminated tagged with this resource address */
size_t ec2fake_live(const struct ec2fake *f, const char *resource);

#endif
