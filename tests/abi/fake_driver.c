/*
 * Deliberately broken driver plugins for the ABI tests. One source, built
 * several times with FAKE_MODE selecting the defect:
 *   1 ok (a valid minimal driver)      2 ABI version 2
 *   3 no entry symbol                  4 host_read NULL
 *   5 name differs from the file name  6 entry returns NULL
 *   7 struct_size too small
 * FAKE_NAME is the name the table carries.
 */
#include <stddef.h>
#include "ledgerform/driver.h"

static int fake_open(struct lf_driver_conn **out, const struct lf_kv *config,
		     const struct lf_kv *creds, unsigned int flags,
		     struct lf_err *err)
{
	(void)config; (void)creds; (void)flags; (void)err;
	*out = NULL;
	return 0;
}

static void fake_close(struct lf_driver_conn *conn)
{
	(void)conn;
}

static int fake_host(struct lf_driver_conn *conn, const struct lf_host_spec *spec,
		     struct lf_kv_builder *out, unsigned int flags,
		     struct lf_err *err)
{
	(void)conn; (void)spec; (void)out; (void)flags; (void)err;
	return 0;
}

static int fake_delete(struct lf_driver_conn *conn,
		       const struct lf_host_spec *spec, unsigned int flags,
		       struct lf_err *err)
{
	(void)conn; (void)spec; (void)flags; (void)err;
	return 0;
}

static const struct lf_driver fake_driver = {
	.abi_version = FAKE_MODE == 2 ? 2u : LF_DRIVER_ABI_VERSION,
	.struct_size = FAKE_MODE == 7 ? 16u : (uint32_t)sizeof(struct lf_driver),
	.name = FAKE_NAME,
	.version = "0.0.1",
	.caps = 0,
	.open = fake_open,
	.close = fake_close,
	.host_create = fake_host,
	.host_read = FAKE_MODE == 4 ? NULL : fake_host,
	.host_delete = fake_delete,
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
