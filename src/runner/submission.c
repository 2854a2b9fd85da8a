/*
 * runner/submission.c - Checkbox's submission artefacts
 * (proctor/submission.h): submission.json after checkbox-ng's
 * exporters/data/checkbox.json template, submission.junit after
 * junit.xml, a standalone submission.html, and the .tar.xz that
 * checkbox-ng's tar exporter writes. docs/checkbox.md.
 */
#include "base/buf.h"
#include "base/common.h"
#include "base/ini.h"
#include "base/str.h"
#include "base/tar.h"
#include "base/utf8.h"
#include "base/vec.h"
#include "os/file.h"

#include <jansson.h>
#include <lzma.h>
#include <proctor/runner.h>
#include <proctor/submission.h>

#define CERT_NS "com.canonical.certification::"

/* ---- text of io logs */

/* Path of a result's io log; NULL when the job has none. */
static const char *log_path(const struct pt_submission *s,
			    const struct pt_result *r, struct pt_buf *b)
{
	if (!r || !r->io_log || !*r->io_log)
		return NULL;
	pt__buf_reset(b);
	if (r->io_log[0] == '/' || !s->session_dir)
		return pt__buf_adds(b, r->io_log) < 0 ? NULL : b->s;
	return pt__buf_addf(b, "%s/%s", s->session_dir, r->io_log) < 0 ? NULL
								       : b->s;
}

/* Removes what PlainBox's CONTROL_CODE_RE_STR removes: C0 controls but
 * \n \r \t \v, and U+007F-U+009F. */
static bool dropped(uint32_t cp)
{
	if (cp < 0x20)
		return cp != '\n' && cp != '\r' && cp != '\t' && cp != '\v';
	return cp >= 0x7f && cp <= 0x9f;
}

/*
 * The text of a job's output: streams in mask, decoded as UTF-8 (bad
 * bytes U+FFFD, or, with strict, no text at all, as
 * io_log_as_text_attachment), control characters removed. "" when none.
 */
static int log_text(const struct pt_submission *s, const struct pt_result *r,
		    unsigned mask, bool strict, struct pt_buf *out)
{
	struct pt_buf p = PT_BUF_INIT;
	const char *path = log_path(s, r, &p);
	char *raw = NULL;
	size_t len = 0;
	int rc = 0;

	pt__buf_reset(out);
	if (path)
		rc = pt_runner_iolog_read(path, mask, PT_SUBMISSION_TEXT_MAX,
					  &raw, &len, NULL);
	pt__buf_release(&p);
	if (rc == -ENOMEM)
		return rc;
	if (rc < 0) /* a missing or damaged log gives no text */
		return 0;
	for (size_t i = 0; i < len && rc == 0;) {
		uint32_t cp;
		size_t k = pt__utf8_len((const unsigned char *)raw + i, len - i,
					&cp);
		if (!k) {
			if (strict) {
				pt__buf_reset(out);
				break;
			}
			cp = 0xfffd;
			k = 1;
		}
		if (!dropped(cp))
			rc = pt__utf8_put(out, cp);
		i += k;
	}
	pt_free(raw);
	return rc;
}

/* ---- the jobs, as job_state_map|dictsort */

struct jobref {
	size_t idx;
	const struct pt_job *job;
	const struct pt_result *res;
};

static int cmp_job(const void *a, const void *b)
{
	return strcmp(((const struct jobref *)a)->job->id,
		      ((const struct jobref *)b)->job->id);
}

static int sorted_jobs(const struct pt_session *ss, struct jobref **ret,
		       size_t *ret_n)
{
	size_t n = pt_session_job_count(ss);
	struct jobref *v = pt__calloc(n + 1, sizeof(*v));

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		v[i].idx = i;
		v[i].job = pt_session_job(ss, i);
		v[i].res = pt_session_result(ss, i);
	}
	qsort(v, n, sizeof(*v), cmp_job);
	*ret = v;
	*ret_n = n;
	return 0;
}

static bool has_outcome(const struct jobref *j)
{
	return j->res && j->res->outcome != PT_OUTCOME_NONE;
}

static const char *plugin_name(enum pt_plugin p)
{
	static const char *const names[] = {
		[PT_PLUGIN_SHELL] = "shell",
		[PT_PLUGIN_RESOURCE] = "resource",
		[PT_PLUGIN_ATTACHMENT] = "attachment",
		[PT_PLUGIN_MANUAL] = "manual",
		[PT_PLUGIN_USER_INTERACT] = "user-interact",
		[PT_PLUGIN_USER_VERIFY] = "user-verify",
		[PT_PLUGIN_USER_INTERACT_VERIFY] = "user-interact-verify",
	};

	return (size_t)p < PT_ARRAY_SIZE(names) && names[p] ? names[p]
							    : "shell";
}

/* Checkbox has no "timeout" outcome: it is a failure there. */
static enum pt_outcome cb_outcome(enum pt_outcome o)
{
	return o == PT_OUTCOME_TIMEOUT ? PT_OUTCOME_FAIL : o;
}

/* tr_summary(): the summary, else the partial id. */
static const char *summary(const struct pt_job *j)
{
	return j->summary ? j->summary : j->partial_id ? j->partial_id : j->id;
}

/* strip_ns: what follows the last "::". */
static const char *strip_ns(const char *id)
{
	const char *p = id, *q;

	while ((q = strstr(p, "::")))
		p = q + 2;
	return p;
}

static const char *category_name(const struct pt_submission *s, const char *id)
{
	const struct pt_unit *u =
		s->units && id ? pt_units_find(s->units, PT_UNIT_CATEGORY, id)
			       : NULL;
	const char *name = u ? pt_unit_value(u, "name") : NULL;

	return name ? name : "";
}

static const char *effective(const struct pt_submission *s,
			     const struct jobref *j, const char *field)
{
	const char *v = pt_session_effective(s->session, j->idx, field);

	if (v)
		return v;
	if (!strcmp(field, "category_id"))
		return j->job->category_id ? j->job->category_id
					   : "com.canonical.plainbox::"
					     "uncategorised";
	return j->job->certification_status ? j->job->certification_status
					    : "non-blocker";
}

/* ---- submission.json */

static int set(json_t *o, const char *k, json_t *v)
{
	return v && json_object_set_new(o, k, v) == 0 ? 0 : -ENOMEM;
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

/* A string that is not valid UTF-8 becomes U+FFFD-repaired text. */
static json_t *text(const char *s)
{
	struct pt_buf b = PT_BUF_INIT;
	json_t *r;
	size_t n = s ? strlen(s) : 0;

	if (!s)
		return json_null();
	r = json_stringn(s, n);
	if (r)
		return r;
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t k =
			pt__utf8_len((const unsigned char *)s + i, n - i, &cp);
		if (!k)
			cp = 0xfffd, k = 1;
		if (pt__utf8_put(&b, cp) < 0)
			break;
		i += k;
	}
	r = json_stringn(b.s, b.len);
	pt__buf_release(&b);
	return r;
}

static int cmp_strp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static json_t *resource_object(const struct pt_resource_record *rec,
			       bool skip_name)
{
	json_t *o = json_object();
	const char **keys;

	if (!o || !rec)
		return o;
	keys = pt__calloc(rec->n + 1, sizeof(*keys));
	if (!keys) {
		json_decref(o);
		return NULL;
	}
	for (size_t i = 0; i < rec->n; i++)
		keys[i] = rec->keys[i];
	qsort(keys, rec->n, sizeof(*keys), cmp_strp);
	for (size_t i = 0; i < rec->n; i++) {
		for (size_t k = 0; k < rec->n; k++) {
			if (rec->keys[k] != keys[i] ||
			    (skip_name && !strcmp(keys[i], "name")))
				continue;
			if (set(o, keys[i], text(rec->values[k])) < 0) {
				json_decref(o);
				o = NULL;
			}
			break;
		}
		if (!o)
			break;
	}
	pt__free(keys);
	return o;
}

static const char *rec_get(const struct pt_resource_record *rec,
			   const char *key)
{
	for (size_t i = 0; rec && i < rec->n; i++)
		if (!strcmp(rec->keys[i], key))
			return rec->values[i];
	return NULL;
}

static const struct pt_resource_record *
first_resource(const struct pt_submission *s, const char *partial)
{
	char id[256];
	size_t n = 0;

	snprintf(id, sizeof(id), CERT_NS "%s", partial);
	if (!pt_session_resources(s->session, id, &n) || !n)
		return NULL;
	return pt_session_resource(s->session, id, 0);
}

/* The io_log of a result: flat text or attachment text. */
static json_t *io_text(const struct pt_submission *s, const struct pt_result *r,
		       bool attachment)
{
	struct pt_buf b = PT_BUF_INIT;
	json_t *v = NULL;

	if (log_text(s, r,
		     attachment ? PT_STREAM_STDOUT
				: PT_STREAM_STDOUT | PT_STREAM_STDERR,
		     attachment, &b) == 0)
		v = json_stringn(b.s, b.len);
	pt__buf_release(&b);
	return v;
}

static json_t *job_entry(const struct pt_submission *s, const struct jobref *j,
			 bool attachment)
{
	json_t *o = json_object();
	const char *cat = effective(s, j, "category_id");
	enum pt_outcome oc = cb_outcome(j->res->outcome);
	int rc = 0;

	if (!o)
		return NULL;
	rc |= set(o, "id", json_string(strip_ns(j->job->id)));
	rc |= set(o, "full_id", json_string(j->job->id));
	rc |= set(o, "name", text(summary(j->job)));
	rc |= set(o, "certification_status",
		  json_string(effective(s, j, "certification_status")));
	rc |= set(o, "category", text(category_name(s, cat)));
	rc |= set(o, "category_id", json_string(cat));
	rc |= set(o, "status", json_string(pt_outcome_class(oc)));
	rc |= set(o, "outcome", json_string(pt_outcome_name(oc)));
	if (!attachment)
		rc |= set(o, "skip_reason", json_null());
	rc |= set(o, "comments", text(j->res->comments));
	rc |= set(o, "io_log", io_text(s, j->res, attachment));
	if (!attachment) {
		rc |= set(o, "type", json_string("test"));
		rc |= set(o, "project", json_string("certification"));
	}
	rc |= set(o, "duration",
		  j->res->duration > 0 ? json_real(j->res->duration)
				       : json_integer(0));
	rc |= set(o, "plugin", json_string(plugin_name(j->job->plugin)));
	rc |= set(o, "template_id", str_or_null(j->job->template_id));
	if (rc) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* The stdout of a passed job, parsed as JSON (the *_json attachments);
 * NULL when it did not pass or is no JSON. from_brace: from the first '{'. */
static json_t *attachment_json(const struct pt_submission *s,
			       const struct jobref *v, size_t n,
			       const char *partial, bool from_brace)
{
	char id[256];
	struct pt_buf b = PT_BUF_INIT;
	json_t *r = NULL;

	snprintf(id, sizeof(id), CERT_NS "%s", partial);
	for (size_t i = 0; i < n; i++) {
		const char *t;
		if (strcmp(v[i].job->id, id) || !has_outcome(&v[i]) ||
		    v[i].res->outcome != PT_OUTCOME_PASS)
			continue;
		if (log_text(s, v[i].res, PT_STREAM_STDOUT, true, &b) < 0)
			break;
		t = from_brace && strchr(b.s, '{') ? strchr(b.s, '{') : b.s;
		r = json_loads(t, JSON_DECODE_ANY, NULL);
		break;
	}
	pt__buf_release(&b);
	return r;
}

static json_t *attachment_text(const struct pt_submission *s,
			       const struct jobref *v, size_t n,
			       const char *partial)
{
	char id[256];
	struct pt_buf b = PT_BUF_INIT;
	json_t *r = NULL;

	snprintf(id, sizeof(id), CERT_NS "%s", partial);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(v[i].job->id, id) || !has_outcome(&v[i]) ||
		    v[i].res->outcome != PT_OUTCOME_PASS)
			continue;
		if (log_text(s, v[i].res, PT_STREAM_STDOUT, true, &b) == 0)
			r = json_stringn(b.s, b.len);
		break;
	}
	pt__buf_release(&b);
	return r;
}

/* launcher: {section: {key: value}} as ConfigParser.to_dict() gives. */
static json_t *launcher_object(const char *launcher)
{
	json_t *o = json_object();
	struct pt__ini *ini = NULL;

	if (!o || !launcher ||
	    pt__ini_parse(launcher, strlen(launcher), NULL, NULL, NULL, &ini) <
		    0)
		return o;
	for (size_t i = 0; i < pt__ini_count(ini) && o; i++) {
		const struct pt__ini_entry *e = pt__ini_get(ini, i);
		json_t *sec;
		if (!strcmp(e->section, "DEFAULT"))
			continue;
		sec = json_object_get(o, e->section);
		if (!sec) {
			sec = json_object();
			if (set(o, e->section, sec) < 0) {
				json_decref(o);
				o = NULL;
				break;
			}
		}
		if (e->key && set(sec, e->key, text(e->value)) < 0) {
			json_decref(o);
			o = NULL;
		}
	}
	pt__ini_free(ini);
	return o;
}

/* A list of resource records (package, snap) with a name. */
static json_t *packages(const struct pt_submission *s, const char *partial,
			bool snap)
{
	char id[256];
	size_t n = 0;
	json_t *a;

	snprintf(id, sizeof(id), CERT_NS "%s", partial);
	if (!pt_session_resources(s->session, id, &n))
		return NULL;
	a = json_array();
	for (size_t i = 0; a && i < n; i++) {
		const struct pt_resource_record *rec =
			pt_session_resource(s->session, id, i);
		const char *name = rec_get(rec, "name");
		json_t *o;
		if (!name || !*name)
			continue;
		if (snap) {
			json_t *rest = resource_object(rec, true);
			o = json_object();
			if (!o || !rest || set(o, "name", text(name)) < 0 ||
			    json_object_update(o, rest) < 0) {
				json_decref(o);
				o = NULL;
			}
			json_decref(rest);
		} else {
			const char *ver = rec_get(rec, "version");
			o = json_object();
			if (o &&
			    (set(o, "name", text(name)) < 0 ||
			     set(o, "version", text(ver ? ver : "")) < 0)) {
				json_decref(o);
				o = NULL;
			}
		}
		if (!o || json_array_append_new(a, o) < 0) {
			json_decref(a);
			a = NULL;
		}
	}
	return a;
}

/* A number as the template writes it (the text of a resource value). */
static json_t *number(const char *v)
{
	json_t *r = v ? json_loads(v, JSON_DECODE_ANY, NULL) : NULL;

	if (r && !json_is_number(r)) {
		json_decref(r);
		r = NULL;
	}
	return r ? r : json_integer(0);
}

static int build_json(const struct pt_submission *s, json_t *root)
{
	struct pt_session_metadata md;
	struct jobref *v = NULL;
	size_t n = 0;
	json_t *results, *attach, *rejected, *cats, *x, *origin, *pkg;
	const struct pt_resource_record *rec;
	int rc;

	pt_session_metadata(s->session, &md);
	rc = sorted_jobs(s->session, &v, &n);
	if (rc < 0)
		return rc;
	origin = json_pack("{s:s, s:s, s:{s:s, s:s}}", "name", "proctor",
			   "version", pt_version(), "packaging", "type",
			   "source", "version", pt_version());
	rc |= set(root, "title",
		  text(s->title	  ? s->title
		       : md.title ? md.title
				  : "session title"));
	rc |= set(root, "origin", origin);
	if (s->testplan_id && *s->testplan_id)
		rc |= set(root, "testplan_id", json_string(s->testplan_id));
	rc |= set(root, "custom_joblist", json_boolean(md.custom_joblist));
	if (s->description && *s->description)
		rc |= set(root, "description", text(s->description));
	if ((pkg = packages(s, "package", false)))
		rc |= set(root, "packages", pkg);
	if ((pkg = packages(s, "snap", true)))
		rc |= set(root, "snap-packages", pkg);
	if ((rec = first_resource(s, "lsb")) && rec->n)
		rc |= set(root, "distribution", resource_object(rec, false));
	results = json_array();
	attach = json_array();
	rc |= set(root, "results", results);
	rc |= set(root, "attachment-results", attach);
	for (size_t i = 0; i < n && !rc; i++) {
		bool att = v[i].job->plugin == PT_PLUGIN_ATTACHMENT;
		json_t *e;
		if (!has_outcome(&v[i]))
			continue;
		e = job_entry(s, &v[i], att);
		if (!e || json_array_append_new(att ? attach : results, e) < 0)
			rc = -ENOMEM;
	}
	rejected = json_array();
	rc |= set(root, "rejected-jobs", rejected);
	for (size_t k = 0; k < md.n_rejected && !rc; k++) {
		size_t idx = pt_session_job_index(s->session, md.rejected[k]);
		const struct pt_job *j = pt_session_job(s->session, idx);
		struct jobref r = { idx, j, NULL };
		const char *cat;
		json_t *e;
		if (!j)
			continue;
		cat = effective(s, &r, "category_id");
		e = json_pack("{s:s, s:s, s:o, s:s, s:s, s:o, s:s, s:o}", "id",
			      strip_ns(j->id), "full_id", j->id, "name",
			      text(summary(j)), "plugin",
			      plugin_name(j->plugin), "certification_status",
			      effective(s, &r, "certification_status"),
			      "category", text(category_name(s, cat)),
			      "category_id", cat, "template_id",
			      str_or_null(j->template_id));
		if (!e || json_array_append_new(rejected, e) < 0)
			rc = -ENOMEM;
	}
	cats = json_object();
	rc |= set(root, "category_map", cats);
	for (size_t i = 0; i < n && !rc; i++) {
		const char *cat;
		const struct pt_unit *u;
		if (!has_outcome(&v[i]))
			continue;
		cat = effective(s, &v[i], "category_id");
		u = s->units ? pt_units_find(s->units, PT_UNIT_CATEGORY, cat)
			     : NULL;
		if (u && pt_unit_value(u, "name"))
			rc |= set(cats, cat, text(pt_unit_value(u, "name")));
	}
	rc |= set(root, "launcher", launcher_object(s->launcher_text));
	rc |= set(root, "system_information", json_object());
	if (!rc && (x = attachment_json(s, v, n, "dkms_info_json", true)))
		rc |= set(root, "dkms_info", x);
	if (!rc && (x = attachment_json(s, v, n, "udev_json", false)))
		rc |= set(root, "devices", x);
	if (!rc &&
	    (x = attachment_json(s, v, n, "raw_devices_dmi_json", false)))
		rc |= set(root, "raw-devices-dmi", x);
	if (!rc && (x = attachment_json(s, v, n, "modprobe_json", false)))
		rc |= set(root, "modprobe-info", x);
	if (!rc &&
	    (x = attachment_json(s, v, n, "lspci_standard_config_json", false)))
		rc |= set(root, "pci_subsystem_id", x);
	if (!rc && (rec = first_resource(s, "uname")) && rec->n)
		rc |= set(root, "kernel",
			  text(rec_get(rec, "release") ? rec_get(rec, "release")
						       : ""));
	if (!rc && (rec = first_resource(s, "dpkg")) && rec->n)
		rc |= set(root, "architecture",
			  text(rec_get(rec, "architecture")
				       ? rec_get(rec, "architecture")
				       : ""));
	if (!rc && (rec = first_resource(s, "meminfo")) && rec->n)
		rc |= set(root, "memory",
			  json_pack("{s:o, s:o}", "swap",
				    number(rec_get(rec, "swap")), "total",
				    number(rec_get(rec, "total"))));
	if (!rc && (rec = first_resource(s, "cpuinfo")) && rec->n)
		rc |= set(root, "processor", resource_object(rec, false));
	if (!rc &&
	    (x = attachment_text(s, v, n, "kernel_cmdline_attachment"))) {
		struct pt_slice t = pt__slice_strip(
			pt__slice(json_string_value(x), json_string_length(x)));
		rc |= set(root, "kernel-cmdline", json_stringn(t.p, t.len));
		json_decref(x);
	}
	if (!rc && (x = attachment_json(s, v, n, "dell_bto_xml_attachment_json",
					false)))
		rc |= set(root, "bto-info", x);
	if (!rc && (x = attachment_json(
			    s, v, n, "recovery_info_attachment_json", false)))
		rc |= set(root, "image-version", x);
	if (!rc && (x = attachment_text(s, v, n, "info/buildstamp"))) {
		/* the last line, "Unknown" when there is none */
		const char *t = json_string_value(x), *last = NULL, *p = t;
		size_t ll = 0;
		while (*p) {
			const char *e = strchr(p, '\n');
			size_t l = e ? (size_t)(e - p) : strlen(p);
			if (l)
				last = p, ll = l;
			p += l + (e ? 1 : 0);
		}
		rc |= set(root, "buildstamp",
			  last ? json_stringn(last, ll)
			       : json_string("Unknown"));
		json_decref(x);
	}
	pt__free(v);
	return rc ? -ENOMEM : 0;
}

static int dump(json_t *root, char **ret, size_t *ret_len)
{
	const size_t flags = JSON_INDENT(4) | JSON_ENSURE_ASCII;
	size_t len = json_dumpb(root, NULL, 0, flags);
	char *r;

	if (!len)
		return -ENOMEM;
	r = pt__malloc(len + 2);
	if (!r)
		return -ENOMEM;
	if (json_dumpb(root, r, len, flags) != len) {
		pt__free(r);
		return -ENOMEM;
	}
	r[len] = '\n';
	r[len + 1] = '\0';
	*ret = r;
	if (ret_len)
		*ret_len = len + 1;
	return 0;
}

int pt_submission_json(const struct pt_submission *s, char **ret,
		       size_t *ret_len)
{
	json_t *root;
	int rc;

	if (!s || !s->session || !ret)
		return -EINVAL;
	root = json_object();
	if (!root)
		return -ENOMEM;
	rc = build_json(s, root);
	if (rc == 0)
		rc = dump(root, ret, ret_len);
	json_decref(root);
	return rc;
}

/* ---- submission.junit */

/* The document in b to the caller, or -ENOMEM (rc: the building's). */
static int hand_over(struct pt_buf *b, int rc, char **ret, size_t *ret_len)
{
	if (rc) {
		pt__buf_release(b);
		return -ENOMEM;
	}
	*ret = pt__buf_detach(b, ret_len);
	return *ret ? 0 : -ENOMEM;
}

static int xml_text(struct pt_buf *b, const char *s)
{
	int rc = 0;

	for (; *s && !rc; s++) {
		switch (*s) {
		case '<':
			rc = pt__buf_adds(b, "&lt;");
			break;
		case '>':
			rc = pt__buf_adds(b, "&gt;");
			break;
		case '&':
			rc = pt__buf_adds(b, "&amp;");
			break;
		case '"':
			rc = pt__buf_adds(b, "&#34;");
			break;
		case '\'':
			rc = pt__buf_adds(b, "&#39;");
			break;
		default:
			/* XML 1.0 has no other C0 controls than \t\n\r */
			rc = ((unsigned char)*s < 0x20 && *s != '\t' &&
			      *s != '\n' && *s != '\r')
				     ? 0
				     : pt__buf_addch(b, *s);
		}
	}
	return rc;
}

int pt_submission_junit(const struct pt_submission *s, char **ret,
			size_t *ret_len)
{
	struct pt_buf b = PT_BUF_INIT, t = PT_BUF_INIT;
	struct jobref *v = NULL;
	size_t n = 0, pass = 0, fail = 0, skip = 0, err = 0;
	int rc;

	if (!s || !s->session || !ret)
		return -EINVAL;
	rc = sorted_jobs(s->session, &v, &n);
	for (size_t i = 0; i < n && !rc; i++) {
		enum pt_outcome o;
		if (!has_outcome(&v[i]) ||
		    v[i].job->plugin == PT_PLUGIN_RESOURCE ||
		    v[i].job->plugin == PT_PLUGIN_ATTACHMENT)
			continue;
		o = cb_outcome(v[i].res->outcome);
		pass += o == PT_OUTCOME_PASS;
		fail += o == PT_OUTCOME_FAIL;
		skip += o == PT_OUTCOME_SKIP || o == PT_OUTCOME_NOT_SUPPORTED;
		err += o == PT_OUTCOME_CRASH;
	}
	rc = rc ? rc
		: pt__buf_addf(&b,
			       "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			       "  <testsuites failures=\"%zu\" name=\"\" "
			       "tests=\"%zu\" skipped=\"%zu\" errors=\"%zu\">",
			       fail, pass + fail + skip + err, skip, err);
	for (size_t i = 0; i < n && !rc; i++) {
		enum pt_outcome o;
		const char *tag = NULL;
		if (!has_outcome(&v[i]) ||
		    v[i].job->plugin == PT_PLUGIN_ATTACHMENT)
			continue;
		o = cb_outcome(v[i].res->outcome);
		rc = pt__buf_adds(&b, "\n    <testcase classname=\"");
		rc = rc ? rc : xml_text(&b, v[i].job->id);
		rc = rc ? rc : pt__buf_adds(&b, "\" name=\"");
		rc = rc ? rc : xml_text(&b, v[i].job->id);
		rc = rc ? rc
			: pt__buf_addf(&b, "\" time=\"%g\">",
				       v[i].res->duration > 0
					       ? v[i].res->duration
					       : 0.0);
		if (o == PT_OUTCOME_SKIP || o == PT_OUTCOME_NOT_SUPPORTED)
			rc = rc ? rc : pt__buf_adds(&b, "<skipped />");
		else if (o == PT_OUTCOME_FAIL)
			tag = "failure";
		else if (o == PT_OUTCOME_CRASH)
			tag = "error";
		if (tag && !rc) {
			rc = log_text(s, v[i].res,
				      PT_STREAM_STDOUT | PT_STREAM_STDERR,
				      false, &t);
			rc = rc ? rc
				: pt__buf_addf(&b, "<%s type=\"\">\n      ",
					       tag);
			rc = rc ? rc : xml_text(&b, t.s);
			rc = rc ? rc : pt__buf_addf(&b, "\n      </%s>", tag);
		}
		rc = rc ? rc : pt__buf_adds(&b, "\n    </testcase>");
	}
	rc = rc ? rc : pt__buf_adds(&b, "\n  </testsuites>\n");
	pt__free(v);
	pt__buf_release(&t);
	return hand_over(&b, rc, ret, ret_len);
}

/* ---- submission.html */

int pt_submission_html(const struct pt_submission *s, char **ret,
		       size_t *ret_len)
{
	struct pt_buf b = PT_BUF_INIT, t = PT_BUF_INIT;
	struct pt_session_metadata md;
	struct jobref *v = NULL;
	size_t n = 0, count[PT_OUTCOME_COUNT_] = { 0 };
	const char *title;
	int rc;

	if (!s || !s->session || !ret)
		return -EINVAL;
	pt_session_metadata(s->session, &md);
	title = s->title ? s->title : md.title ? md.title : "session title";
	rc = sorted_jobs(s->session, &v, &n);
	for (size_t i = 0; i < n && !rc; i++)
		if (has_outcome(&v[i]))
			count[cb_outcome(v[i].res->outcome)]++;
	rc = rc ? rc
		: pt__buf_adds(&b, "<!DOCTYPE html>\n<html>\n<head>\n"
				   "<meta charset=\"utf-8\">\n<title>");
	rc = rc ? rc : xml_text(&b, title);
	rc = rc ? rc
		: pt__buf_adds(&b,
			       "</title>\n<style>body{font-family:sans-serif}"
			       "td,th{border:1px solid #ccc;padding:2px 6px;"
			       "vertical-align:top}table{border-collapse:"
			       "collapse}.pass{color:#060}.fail,.crash{color:"
			       "#a00}pre{white-space:pre-wrap;margin:0}"
			       "</style>\n</head>\n<body>\n<h1>");
	rc = rc ? rc : xml_text(&b, title);
	rc = rc ? rc : pt__buf_adds(&b, "</h1>\n");
	if (!rc && s->testplan_id) {
		rc = pt__buf_adds(&b, "<p>Test plan: ");
		rc = rc ? rc : xml_text(&b, s->testplan_id);
		rc = rc ? rc : pt__buf_adds(&b, "</p>\n");
	}
	rc = rc ? rc : pt__buf_adds(&b, "<h2>Summary</h2>\n<table>\n");
	for (int o = 1; o < PT_OUTCOME_COUNT_ && !rc; o++)
		if (count[o])
			rc = pt__buf_addf(
				&b, "<tr><th>%s</th><td>%zu</td></tr>\n",
				pt_outcome_name((enum pt_outcome)o), count[o]);
	rc = rc ? rc
		: pt__buf_adds(&b, "</table>\n<h2>Results</h2>\n<table>\n"
				   "<tr><th>Job</th><th>Name</th><th>Category"
				   "</th><th>Outcome</th><th>Comments</th>"
				   "<th>Output</th></tr>\n");
	for (size_t i = 0; i < n && !rc; i++) {
		const char *oc;
		if (!has_outcome(&v[i]))
			continue;
		oc = pt_outcome_name(cb_outcome(v[i].res->outcome));
		rc = pt__buf_adds(&b, "<tr><td>");
		rc = rc ? rc : xml_text(&b, v[i].job->id);
		rc = rc ? rc : pt__buf_adds(&b, "</td><td>");
		rc = rc ? rc : xml_text(&b, summary(v[i].job));
		rc = rc ? rc : pt__buf_adds(&b, "</td><td>");
		rc = rc ? rc
			: xml_text(&b,
				   category_name(s, effective(s, &v[i],
							      "category_id")));
		rc = rc ? rc
			: pt__buf_addf(&b, "</td><td class=\"%s\">%s", oc, oc);
		rc = rc ? rc : pt__buf_adds(&b, "</td><td>");
		rc = rc ? rc
			: xml_text(&b, v[i].res->comments ? v[i].res->comments
							  : "");
		rc = rc ? rc : pt__buf_adds(&b, "</td><td><pre>");
		rc = rc ? rc
			: log_text(s, v[i].res,
				   PT_STREAM_STDOUT | PT_STREAM_STDERR, false,
				   &t);
		rc = rc ? rc : xml_text(&b, t.s);
		rc = rc ? rc : pt__buf_adds(&b, "</pre></td></tr>\n");
	}
	rc = rc ? rc : pt__buf_adds(&b, "</table>\n</body>\n</html>\n");
	pt__free(v);
	pt__buf_release(&t);
	return hand_over(&b, rc, ret, ret_len);
}

/* ---- the tarball */

struct xz {
	lzma_stream strm;
	struct pt_buf out;
	int err;
};

static int xz_run(struct xz *x, const void *p, size_t len, lzma_action act)
{
	uint8_t chunk[64 << 10];
	lzma_ret r;

	x->strm.next_in = p;
	x->strm.avail_in = len;
	do {
		x->strm.next_out = chunk;
		x->strm.avail_out = sizeof(chunk);
		r = lzma_code(&x->strm, act);
		if (r != LZMA_OK && r != LZMA_STREAM_END)
			return r == LZMA_MEM_ERROR ? -ENOMEM : -EIO;
		if (pt__buf_add(&x->out, chunk,
				sizeof(chunk) - x->strm.avail_out) < 0)
			return -ENOMEM;
	} while (x->strm.avail_in ||
		 (act == LZMA_FINISH && r != LZMA_STREAM_END));
	return 0;
}

static int xz_sink(void *ctx, const void *p, size_t len)
{
	return xz_run(ctx, p, len, LZMA_RUN);
}

/* PlainBox's slugify: characters outside [-_.A-Za-z0-9] become '_'. */
static int slug(struct pt_buf *b, const char *id)
{
	for (; *id; id++) {
		char c = *id;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '-' || c == '_' ||
			  c == '.';
		if (pt__buf_addch(b, ok ? c : '_') < 0)
			return -ENOMEM;
	}
	return 0;
}

/* One stream of a job's io log as a member (skipped when empty): the
 * log is read twice, for the size and for the bytes, one record at a
 * time. */
static int stream_member(struct xz *x, const char *log, unsigned stream,
			 const char *name, int64_t mtime)
{
	struct pt_runner_iolog *r = NULL;
	struct pt_runner_iolog_rec rec;
	uint64_t size = 0, sent = 0;
	int rc;

	for (int pass = 0; pass < 2; pass++) {
		rc = pt_runner_iolog_open(log, &r);
		if (rc < 0)
			return rc == -ENOENT ? 0 : rc;
		while ((rc = pt_runner_iolog_next(r, &rec)) == 1) {
			if (rec.stream != stream)
				continue;
			if (!pass) {
				size += rec.len;
			} else {
				if (sent + rec.len > size) {
					rc = PT_ECORRUPT; /* changed under us */
					break;
				}
				rc = xz_sink(x, rec.data, rec.len);
				sent += rec.len;
				if (rc < 0)
					break;
			}
		}
		pt_runner_iolog_close(r);
		if (rc < 0)
			return rc;
		if (!pass) {
			if (!size)
				return 0;
			rc = pt__tar_begin(xz_sink, x, name, 0644, mtime, size);
			if (rc < 0)
				return rc;
		}
	}
	return sent == size ? pt__tar_pad(xz_sink, x, size) : PT_ECORRUPT;
}

int pt_submission_write(const struct pt_submission *s, const char *path)
{
	static const char *const kinds[] = { "html", "json", "junit" };
	int (*const render[])(const struct pt_submission *, char **,
			      size_t *) = { pt_submission_html,
					    pt_submission_json,
					    pt_submission_junit };
	struct xz x = { .strm = LZMA_STREAM_INIT, .out = PT_BUF_INIT };
	struct pt_buf name = PT_BUF_INIT, lp = PT_BUF_INIT;
	int rc = 0;

	if (!s || !s->session || !path)
		return -EINVAL;
	if (lzma_easy_encoder(&x.strm, 6, LZMA_CHECK_CRC64) != LZMA_OK)
		return -ENOMEM;
	for (size_t k = 0; k < 3 && !rc; k++) {
		char *doc = NULL;
		size_t len = 0;
		rc = render[k](s, &doc, &len);
		pt__buf_reset(&name);
		rc = rc ? rc : pt__buf_addf(&name, "submission.%s", kinds[k]);
		rc = rc ? rc
			: pt__tar_file(xz_sink, &x, name.s, 0644, s->mtime, doc,
				       len);
		pt_free(doc);
	}
	/* job_state_map order: the session's job order */
	for (size_t i = 0; i < pt_session_job_count(s->session) && !rc; i++) {
		const struct pt_job *j = pt_session_job(s->session, i);
		const struct pt_result *r = pt_session_result(s->session, i);
		const char *log = log_path(s, r, &lp);
		const char *dir = j->plugin == PT_PLUGIN_ATTACHMENT
					  ? "attachment_files/"
					  : "test_output/";
		if (!log)
			continue;
		for (int k = 0; k < 2 && !rc; k++) {
			pt__buf_reset(&name);
			rc = pt__buf_adds(&name, dir);
			rc = rc ? rc : slug(&name, j->id);
			rc = rc ? rc : (k ? pt__buf_adds(&name, ".stderr") : 0);
			rc = rc ? rc
				: stream_member(&x, log,
						k ? PT_STREAM_STDERR
						  : PT_STREAM_STDOUT,
						name.s, s->mtime);
		}
	}
	rc = rc ? rc : pt__tar_end(xz_sink, &x);
	rc = rc ? rc : xz_run(&x, NULL, 0, LZMA_FINISH);
	rc = rc ? rc : pt__write_file_atomic(path, x.out.s, x.out.len, 0644);
	lzma_end(&x.strm);
	pt__buf_release(&x.out);
	pt__buf_release(&name);
	pt__buf_release(&lp);
	return rc;
}
