/*
 * Deliberately broken driver plugins for the ABI tests. One source, built
 * several times with FAKE_MODE selecting the defect:
 *   1 ok (a valid minimal provider)    2 ABI version 1 (an old plugin)
 *   3 no entry symbol                  4 host_read NULL
 *   5 name differs from the file name  6 entry returns NULL
 *   7 struct_size too small            8 declares no role
 *   9 a transport without exec        10 unknown role bits
 *  11 LF_CAP_IMPORT without host_import
 * FAKE_NAME is the name the table carries.
 */
#include <stddef.h>
#include "ledgerform/driver.h"

static int fake_open(struct lf_driver_conn **out, const struct lf_kv *config,
		     struct lf_call *call, unsigned int flags, struct lf_err *err)
{
	(void)config; (void)call; (void)flags; (void)err;
	*out = NULL;
	return 0;
}

static void fake_close(struct lf_driver_conn *conn)
{
	(void)conn;
}

static int fake_host(struct lf_driver_conn *conn, const struct lf_host_spec *spec,
		     struct lf_call *call, struct lf_kv_builder *out,
		     unsigned int flags, struct lf_err *err)
{
	(void)conn; (void)spec; (void)call; (void)out; (void)flags; (void)err;
	return 0;
}

static int fake_delete(struct lf_driver_conn *conn,
		       const struct lf_host_spec *spec, struct lf_call *call,
		       unsigned int flags, struct lf_err *err)
{
	(void)conn; (void)spec; (void)call; (void)flags; (void)err;
	return 0;
}

static int fake_machine(struct lf_driver_conn *conn, const struct lf_target *t,
			struct lf_call *call, struct lf_kv_builder *out,
			unsigned int flags, struct lf_err *err)
{
	(void)conn; (void)t; (void)call; (void)out; (void)flags; (void)err;
	return 0;
}

static int fake_release(struct lf_driver_conn *conn, const struct lf_target *t,
			struct lf_call *call, unsigned int flags, struct lf_err *err)
{
	(void)conn; (void)t; (void)call; (void)flags; (void)err;
	return 0;
}

static int fake_put(struct lf_driver_conn *conn, const struct lf_target *t,
		    const struct lf_file *files, size_t n, struct lf_call *call,
		    unsigned int flags, struct lf_err *err)
{
	(void)conn; (void)t; (void)files; (void)n; (void)call; (void)flags; (void)err;
	return 0;
}

static int fake_get(struct lf_driver_conn *conn, const struct lf_target *t,
		    const char *path, size_t max, struct lf_blob *out,
		    struct lf_call *call, unsigned int flags, struct lf_err *err)
{
	(void)conn; (void)t; (void)path; (void)max; (void)out; (void)call; (void)flags;
	(void)err;
	return 0;
}

static int fake_mkdir(struct lf_driver_conn *conn, const struct lf_target *t,
		      const char *path, unsigned int mode, struct lf_call *call,
		      unsigned int flags, struct lf_err *err)
{
	(void)conn; (void)t; (void)path; (void)mode; (void)call; (void)flags; (void)err;
	return 0;
}

static int fake_remove(struct lf_driver_conn *conn, const struct lf_target *t,
		       const char *path, struct lf_call *call, unsigned int flags,
		       struct lf_err *err)
{
	(void)conn; (void)t; (void)path; (void)call; (void)flags; (void)err;
	return 0;
}

static const struct lf_driver fake_driver = {
	.abi_version = FAKE_MODE == 2 ? 1u : LF_DRIVER_ABI_VERSION,
	.struct_size = FAKE_MODE == 7 ? 16u : (uint32_t)sizeof(struct lf_driver),
	.name = FAKE_NAME,
	.version = "0.0.1",
	.roles = FAKE_MODE == 8 ? 0u :
		 FAKE_MODE == 9 ? LF_ROLE_TRANSPORT :
		 FAKE_MODE == 10 ? (LF_ROLE_PROVIDER | 0x100u) : LF_ROLE_PROVIDER,
	.caps = FAKE_MODE == 11 ? LF_CAP_IMPORT : 0u,
	.open = fake_open,
	.close = fake_close,
	.host_create = fake_host,
	.host_read = FAKE_MODE == 4 ? NULL : fake_host,
	.host_delete = fake_delete,
	.machine_prepare = FAKE_MODE == 9 ? fake_machine : NULL,
	.machine_release = FAKE_MODE == 9 ? fake_release : NULL,
	.machine_read = FAKE_MODE == 9 ? fake_machine : NULL,
	.put = FAKE_MODE == 9 ? fake_put : NULL,
	.get = FAKE_MODE == 9 ? fake_get : NULL,
	.mkdir = FAKE_MODE == 9 ? fake_mkdir : NULL,
	.remove = FAKE_MODE == 9 ? fake_remove : NULL,
	.exec = NULL, /* mode 9: a transport must run commands */
};

#if FAKE_MODE == 3
/* exported, but not the entry symbol */
LF_DRIVER_EXPORT const struct lf_driver *lf_driver_entry_v0(const struct lf_host_api *host);
LF_DRIVER_EXPORT const struct lf_driver *lf_driver_entry_v0(const struct lf_host_api *host)
#else
LF_DRIVER_EXPORT const struct lf_driver *lf_driver_entry(const struct lf_host_api *host);
LF_DRIVER_EXPORT const struct lf_driver *lf_driver_entry(const struct lf_host_api *host)
#endif
{
	(void)host;
	return FAKE_MODE == 6 ? NULL : &fake_driver;
}
