/*
 * Domain and volume XML of the libvirt driver, built and read with
 * libxml2. A domain carries ledgerform's element in its <metadata>, in
 * its own namespace:
 *
 *   <ledgerform:host xmlns:ledgerform="VIRT_NS_URI"
 *                    lineage="..." resource="host.bank.peer0">
 *     <ledgerform:volume>peer0-bank-1a2b3c4d.qcow2</ledgerform:volume>
 *     <ledgerform:seed>peer0-bank-1a2b3c4d-seed.iso</ledgerform:seed>
 *   </ledgerform:host>
 *
 * so the volumes it made are known on delete, and a domain without this
 * element (or with another lineage) is never ours.
 */
#include "virt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#define X(s) ((const xmlChar *)(s))

static xmlNodePtr child(xmlNodePtr parent, const char *name, const char *text)
{
	return xmlNewTextChild(parent, NULL, X(name), text ? X(text) : NULL);
}

static void attr(xmlNodePtr n, const char *name, const char *val)
{
	if (n && val)
		xmlNewProp(n, X(name), X(val));
}

static void add_metadata(xmlNodePtr dom, const struct virt_dom_spec *s)
{
	xmlNodePtr md = child(dom, "metadata", NULL);
	xmlNodePtr h = xmlNewChild(md, NULL, X("host"), NULL);
	xmlNsPtr ns = xmlNewNs(h, X(VIRT_NS_URI), X(VIRT_NS_PREFIX));

	xmlSetNs(h, ns);
	attr(h, "lineage", s->lineage);
	attr(h, "resource", s->resource);
	xmlNewTextChild(h, ns, X("volume"), X(s->volume));
	if (s->seed_volume)
		xmlNewTextChild(h, ns, X("seed"), X(s->seed_volume));
}

static void add_sizes(xmlNodePtr dom, const struct virt_dom_spec *s)
{
	char buf[32];
	xmlNodePtr n;

	snprintf(buf, sizeof(buf), "%llu", s->max_memory_mb * 1024ull);
	attr(child(dom, "memory", buf), "unit", "KiB");
	snprintf(buf, sizeof(buf), "%llu", s->memory_mb * 1024ull);
	attr(child(dom, "currentMemory", buf), "unit", "KiB");
	snprintf(buf, sizeof(buf), "%u", s->max_vcpus);
	n = child(dom, "vcpu", buf);
	attr(n, "placement", "static");
	snprintf(buf, sizeof(buf), "%u", s->vcpus);
	attr(n, "current", buf);
	n = child(dom, "os", NULL);
	child(n, "type", "hvm");
	attr(child(n, "boot", NULL), "dev", "hd");
	n = child(dom, "features", NULL);
	child(n, "acpi", NULL);
	child(n, "apic", NULL);
	if (s->cpu_mode && strcmp(s->cpu_mode, "none") != 0)
		attr(child(dom, "cpu", NULL), "mode", s->cpu_mode);
}

static void add_disk(xmlNodePtr devs, const char *device, const char *pool,
		     const char *vol, const char *fmt, const char *dev,
		     const char *bus, const char *cache)
{
	xmlNodePtr d = child(devs, "disk", NULL), n;

	attr(d, "type", "volume");
	attr(d, "device", device);
	n = child(d, "driver", NULL);
	attr(n, "name", "qemu");
	attr(n, "type", fmt);
	attr(n, "cache", cache);
	n = child(d, "source", NULL);
	attr(n, "pool", pool);
	attr(n, "volume", vol);
	n = child(d, "target", NULL);
	attr(n, "dev", dev);
	attr(n, "bus", bus);
	if (strcmp(device, "cdrom") == 0)
		child(d, "readonly", NULL);
}

static void add_devices(xmlNodePtr dom, const struct virt_dom_spec *s)
{
	xmlNodePtr devs = child(dom, "devices", NULL), n;
	bool virtio = strcmp(s->disk_bus, "virtio") == 0;

	add_disk(devs, "disk", s->disk_path, s->volume, "qcow2",
		 virtio ? "vda" : "sda", s->disk_bus, s->disk_cache);
	if (s->seed_volume)
		add_disk(devs, "cdrom", s->disk_path, s->seed_volume, "raw",
			 virtio ? "sda" : "sdb", "sata", NULL);
	n = child(devs, "interface", NULL);
	attr(n, "type", s->bridge ? "bridge" : "network");
	if (s->bridge)
		attr(child(n, "source", NULL), "bridge", s->bridge);
	else
		attr(child(n, "source", NULL), "network", s->network);
	attr(child(n, "model", NULL), "type", "virtio");
	if (strcmp(s->domain_type, "test") == 0)
		return;
	n = child(devs, "channel", NULL);
	attr(n, "type", "unix");
	n = child(n, "target", NULL);
	attr(n, "type", "virtio");
	attr(n, "name", "org.qemu.guest_agent.0");
	attr(child(devs, "memballoon", NULL), "model", "virtio");
}

static int doc_dump(xmlDocPtr doc, char **out, struct lf_err *err)
{
	xmlChar *buf = NULL;
	int len = 0;

	xmlDocDumpMemory(doc, &buf, &len);
	*out = buf ? strdup((const char *)buf) : NULL;
	xmlFree(buf);
	if (!*out)
		return virt_host->err_set(err, LF_ERROR, "libvirt: cannot format XML");
	return 0;
}

/* s->disk_path is the pool name: disks are pool volumes */
int virt_xml_domain(const struct virt_dom_spec *s, char **out,
		    struct lf_err *err)
{
	xmlDocPtr doc = xmlNewDoc(X("1.0"));
	xmlNodePtr dom = xmlNewNode(NULL, X("domain"));
	int rc;

	xmlDocSetRootElement(doc, dom);
	attr(dom, "type", s->domain_type);
	child(dom, "name", s->name);
	add_metadata(dom, s);
	add_sizes(dom, s);
	add_devices(dom, s);
	rc = doc_dump(doc, out, err);
	xmlFreeDoc(doc);
	return rc;
}

int virt_xml_volume(const char *name, unsigned long long capacity,
		    const char *format, const char *backing,
		    const char *backing_format, char **out, struct lf_err *err)
{
	xmlDocPtr doc = xmlNewDoc(X("1.0"));
	xmlNodePtr vol = xmlNewNode(NULL, X("volume")), n;
	char buf[32];
	int rc;

	xmlDocSetRootElement(doc, vol);
	child(vol, "name", name);
	snprintf(buf, sizeof(buf), "%llu", capacity);
	attr(child(vol, "capacity", buf), "unit", "bytes");
	n = child(vol, "target", NULL);
	attr(child(n, "format", NULL), "type", format);
	if (backing) {
		n = child(vol, "backingStore", NULL);
		child(n, "path", backing);
		attr(child(n, "format", NULL), "type", backing_format);
	}
	rc = doc_dump(doc, out, err);
	xmlFreeDoc(doc);
	return rc;
}

/* the string value of an XPath expression into buf ("" when absent) */
static void xp_str(xmlXPathContextPtr xc, const char *expr, char *buf,
		   size_t cap)
{
	xmlXPathObjectPtr o = xmlXPathEvalExpression(X(expr), xc);

	buf[0] = '\0';
	if (o && o->type == XPATH_STRING && o->stringval)
		snprintf(buf, cap, "%s", (const char *)o->stringval);
	xmlXPathFreeObject(o);
}

int virt_xml_facts(const char *domxml, struct virt_dom_facts *f,
		   struct lf_err *err)
{
	xmlDocPtr doc = xmlReadMemory(domxml, (int)strlen(domxml), "domain.xml",
				      NULL, XML_PARSE_NONET | XML_PARSE_NOERROR |
				      XML_PARSE_NOWARNING);
	xmlXPathContextPtr xc = doc ? xmlXPathNewContext(doc) : NULL;
	char num[32];
	int rc = 0;

	memset(f, 0, sizeof(*f));
	if (!xc) {
		rc = virt_host->err_set(err, LF_ERROR, "libvirt: cannot parse a domain's XML");
		goto cleanup;
	}
	xmlXPathRegisterNs(xc, X("lf"), X(VIRT_NS_URI));
	xp_str(xc, "string(/domain/metadata/lf:host/@lineage)", f->lineage, sizeof(f->lineage));
	xp_str(xc, "string(/domain/metadata/lf:host/@resource)", f->resource, sizeof(f->resource));
	xp_str(xc, "string(/domain/metadata/lf:host/lf:volume)", f->volume, sizeof(f->volume));
	xp_str(xc, "string(/domain/metadata/lf:host/lf:seed)", f->seed_volume, sizeof(f->seed_volume));
	xp_str(xc, "string(/domain/devices/interface[1]/mac/@address)", f->mac, sizeof(f->mac));
	xp_str(xc, "string(/domain/devices/disk[@device='disk'][1]/target/@dev)",
	       f->disk_target, sizeof(f->disk_target));
	xp_str(xc, "string(/domain/vcpu)", num, sizeof(num));
	f->max_vcpus = (unsigned int)strtoul(num, NULL, 10);
	xp_str(xc, "string(/domain/memory)", num, sizeof(num));
	f->max_memory_kib = strtoull(num, NULL, 10);
	xp_str(xc, "string(/domain/currentMemory)", num, sizeof(num));
	f->cur_memory_kib = strtoull(num, NULL, 10);
cleanup:
	xmlXPathFreeContext(xc);
	xmlFreeDoc(doc);
	return rc;
}
