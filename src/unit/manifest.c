/*
 * unit/manifest.c - manifest answers and the `manifest` resource.
 *
 * Upstream keeps the answers in a JSON file (checkbox-cli writes
 * `{"ns::has_usb": true, "ns::gpu_count": 2}` with sort_keys and indent 2)
 * and the job com.canonical.plainbox::manifest runs
 * plainbox-manifest-resource, which prints, for every provider, a record
 * "ns: NS" / "name: NAME" and one "resource-key: value" per manifest
 * entry of that provider: the answer, else the entry's default ("False"
 * for bool, "0" for natural). Expressions such as
 * `manifest.has_usb == 'True'` read those records. proctor makes the same
 * records itself (no Python needed).
 */
#include "base/buf.h"
#include "base/common.h"
#include "base/diag.h"
#include "base/map.h"
#include "base/str.h"
#include "os/file.h"
#include "unit/internal.h"

#include <ctype.h>
#include <jansson.h>
#include <strings.h>

#define MAX_MANIFEST_FILE ((size_t)4 << 20)
#define MAX_ENTRIES	  100000

struct pt_manifest {
	struct pt_map v; /* id -> value text ("True", "False", "12") */
	size_t n;
};

int pt_manifest_new(struct pt_manifest **ret)
{
	struct pt_manifest *m = pt__calloc(1, sizeof(*m));

	if (!m)
		return -ENOMEM;
	m->v = (struct pt_map)PT_MAP_INIT;
	*ret = m;
	return 0;
}

struct pt_manifest *pt_manifest_free(struct pt_manifest *m)
{
	if (!m)
		return NULL;
	pt_map_foreach(&m->v, slot)
	{
		pt__free((void *)(uintptr_t)slot->key);
		pt__free(slot->value);
	}
	pt__map_release(&m->v);
	pt__free(m);
	return NULL;
}

static int put(struct pt_manifest *m, const char *id, const char *value)
{
	char *k, *v;
	void *old = NULL;
	int r;

	if (pt__map_find(&m->v, id, strlen(id), &old)) {
		v = pt__strdup(value);
		if (!v)
			return -ENOMEM;
		pt__map_put(&m->v, id, strlen(id), v, &old);
		pt__free(old);
		return 0;
	}
	if (m->n >= MAX_ENTRIES)
		return PT_ETOOBIG;
	k = pt__strdup(id);
	v = pt__strdup(value);
	if (!k || !v || (r = pt__map_put(&m->v, k, strlen(k), v, NULL)) < 0) {
		pt__free(k);
		pt__free(v);
		return -ENOMEM;
	}
	m->n++;
	return 0;
}

/* "true"/"yes"/"on" -> True ... (any case); digits -> the number. */
static const char *normalise(const char *text, char num[24])
{
	static const char *const t[] = { "true", "yes", "on" };
	static const char *const f[] = { "false", "no", "off" };
	size_t n = strlen(text);
	unsigned long long x = 0;

	for (size_t i = 0; i < 3; i++) {
		if (!strcasecmp(text, t[i]))
			return "True";
		if (!strcasecmp(text, f[i]))
			return "False";
	}
	if (!n || n > 18)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)text[i]))
			return NULL;
		x = x * 10 + (unsigned)(text[i] - '0');
	}
	snprintf(num, 24, "%llu", x);
	return num;
}

int pt_manifest_set(struct pt_manifest *m, const char *id, const char *text)
{
	char num[24];
	const char *v;

	if (!m || !id || !text || !*id)
		return -EINVAL;
	v = normalise(text, num);
	if (!v)
		return PT_EPARSE;
	return put(m, id, v);
}

const char *pt_manifest_get(const struct pt_manifest *m, const char *id)
{
	return m && id ? pt__map_gets(&m->v, id) : NULL;
}

size_t pt_manifest_count(const struct pt_manifest *m)
{
	return m ? m->n : 0;
}

int pt_manifest_load(struct pt_manifest *m, const char *path,
		     struct pt_diags *d)
{
	char *text = NULL;
	size_t len = 0;
	json_error_t err;
	json_t *root = NULL, *v;
	const char *k;
	int r;

	if (!m || !path)
		return -EINVAL;
	r = pt__read_file(path, MAX_MANIFEST_FILE, &text, &len);
	if (r < 0) {
		if (r != -ENOMEM && d &&
		    pt__diags_add(d, PT_SEV_ERROR, r, path, 0, NULL,
				  "cannot read the manifest: %s",
				  pt_strerror(r)) < 0)
			r = -ENOMEM;
		return r;
	}
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
	pt__free(text);
	if (!root || !json_is_object(root)) {
		r = PT_EPARSE;
		if (d &&
		    pt__diags_add(
			    d, PT_SEV_ERROR, r, path,
			    root ? 1 : (unsigned)(err.line > 0 ? err.line : 0),
			    NULL, "manifest: %s",
			    root ? "expected a JSON object of "
				   "entry ids"
				 : err.text) < 0)
			r = -ENOMEM;
		json_decref(root);
		return r;
	}
	json_object_foreach(root, k, v)
	{
		char num[24];
		const char *val = NULL;

		if (json_is_boolean(v))
			val = json_is_true(v) ? "True" : "False";
		else if (json_is_integer(v) && json_integer_value(v) >= 0) {
			snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
				 json_integer_value(v));
			val = num;
		}
		if (!val) {
			r = PT_EPARSE;
			if (d && pt__diags_add(d, PT_SEV_ERROR, r, path, 0, k,
					       "manifest: the value of '%s' is "
					       "neither true/false nor a "
					       "natural number",
					       k) < 0)
				r = -ENOMEM;
			break;
		}
		r = put(m, k, val);
		if (r < 0) {
			if (r == PT_ETOOBIG && d &&
			    pt__diags_add(d, PT_SEV_ERROR, r, path, 0, NULL,
					  "manifest: more than %d entries",
					  MAX_ENTRIES) < 0)
				r = -ENOMEM;
			break;
		}
	}
	json_decref(root);
	return r;
}

/* The value an entry shows: the answer, else its type's default. */
static const char *entry_value(const struct pt_unit *e,
			       const struct pt_manifest *m)
{
	const char *type = pt_unit_value(e, "value-type");
	const char *v = pt_manifest_get(m, e->id);
	bool is_bool = type && !strcmp(type, "bool");

	if (v) {
		if (is_bool && !strcmp(v, "1"))
			return "True";
		if (is_bool && !strcmp(v, "0"))
			return "False";
		return v;
	}
	if (is_bool)
		return "False";
	if (type && !strcmp(type, "natural"))
		return "0";
	return "";
}

int pt_manifest_resource(const struct pt_units *u, const struct pt_manifest *m,
			 char **ret, size_t *ret_len)
{
	struct pt_buf b = PT_BUF_INIT;
	PT_VEC(const char *) nss = PT_VEC_INIT;
	int r = 0;

	if (!u || !ret)
		return -EINVAL;
	/* the namespaces with manifest entries, in load order */
	for (size_t i = 0; i < pt_units_count(u) && r == 0; i++) {
		const struct pt_unit *e = pt_units_get(u, i);
		bool seen = false;

		if (e->type != PT_UNIT_MANIFEST_ENTRY || !e->id)
			continue;
		for (size_t k = 0; k < nss.n && !seen; k++)
			seen = !strcmp(nss.v[k], e->ns);
		if (!seen && pt_vec_push(&nss, e->ns) < 0)
			r = -ENOMEM;
	}
	for (size_t k = 0; k < nss.n && r == 0; k++) {
		r = pt__buf_addf(&b, "%sns: %s\n", k ? "\n" : "", nss.v[k]);
		for (size_t i = 0; i < pt_units_count(u) && r == 0; i++) {
			const struct pt_unit *e = pt_units_get(u, i);
			const char *key;

			if (e->type != PT_UNIT_MANIFEST_ENTRY || !e->id ||
			    strcmp(e->ns, nss.v[k]))
				continue;
			key = pt_unit_value(e, "resource-key");
			r = pt__buf_addf(&b, "%s: %s\n",
					 key ? key : e->partial_id,
					 entry_value(e, m));
		}
	}
	pt_vec_release(&nss);
	if (r < 0) {
		pt__buf_release(&b);
		return -ENOMEM;
	}
	if (ret_len)
		*ret_len = b.len;
	*ret = pt__buf_detach(&b, NULL);
	return *ret ? 0 : -ENOMEM;
}
