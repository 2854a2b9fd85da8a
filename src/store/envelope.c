/*
 * store/envelope.c - the portable export of a session: a gzip stream of
 * two lines of compact JSON (docs/store.md "Envelope"):
 *
 *   {"format":"proctor-session","version":1,"id":...,"meta":{...},
 *    "n_done":N,"n_total":N}
 *   {"jobs":[...],"desired":[...],"results":[...],"resources":[...],
 *    "io_logs":[...],"attachments":[...]}
 *
 * The header line comes first so that peek decompresses only that line.
 * Bytes (app_blob, io-log records, attachments) are base64. The reader
 * checks every field and size and reports the first problem as PT_ECORRUPT
 * (or PT_EINCOMPAT for another version) naming the byte offset or the
 * field path ("results[3].outcome"); it never trusts a length it read.
 */
#include "base/arena.h"
#include "base/buf.h"
#include "base/common.h"
#include "base/diag.h"
#include "base/map.h"
#include "base/vec.h"
#include "os/file.h"
#include "os/path.h"
#include "store/store-internal.h"

#include <jansson.h>
#include <zlib.h>

#define ENVELOPE_FORMAT	    "proctor-session"
#define ENVELOPE_HEADER_MAX (4u << 20)

struct env_record {
	int64_t offset_ns;
	enum pt_stream stream;
	const void *data;
	size_t len;
};

struct env_iolog {
	const char *path;
	size_t n;
	struct env_record *recs;
};

struct env_attachment {
	const char *path;
	const void *data;
	size_t len;
};

struct pt_envelope {
	json_t *hdr;
	json_t *body;
	struct pt_arena a;
	const char *id;
	struct pt_store_meta meta;
	size_t n_done, n_total;
	struct pt_store_job *jobs;
	size_t n_jobs;
	const char *const *desired;
	size_t n_desired;
	struct pt_store_result *results;
	size_t n_results;
	struct pt_store_resource *res;
	size_t n_res;
	struct pt_store_handle *handles;
	size_t n_handles;
	struct env_iolog *iologs;
	size_t n_iologs;
	struct env_attachment *atts;
	size_t n_atts;
};

/* ---- base64 ------------------------------------------------------------- */

static const char b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64_encode(struct pt_buf *out, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t i;
	int r = pt__buf_grow(out, (len + 2) / 3 * 4);

	for (i = 0; r == 0 && i + 2 < len; i += 3) {
		char q[4] = { b64[p[i] >> 2],
			      b64[((p[i] & 3) << 4) | (p[i + 1] >> 4)],
			      b64[((p[i + 1] & 15) << 2) | (p[i + 2] >> 6)],
			      b64[p[i + 2] & 63] };
		r = pt__buf_add(out, q, 4);
	}
	if (r == 0 && len - i == 1) {
		char q[4] = { b64[p[i] >> 2], b64[(p[i] & 3) << 4], '=', '=' };
		r = pt__buf_add(out, q, 4);
	} else if (r == 0 && len - i == 2) {
		char q[4] = { b64[p[i] >> 2],
			      b64[((p[i] & 3) << 4) | (p[i + 1] >> 4)],
			      b64[(p[i + 1] & 15) << 2], '=' };
		r = pt__buf_add(out, q, 4);
	}
	return r;
}

static int b64_val(char c)
{
	const char *p = c ? strchr(b64, c) : NULL;

	return p ? (int)(p - b64) : -1;
}

/* Strict: length a multiple of 4, padding only at the end. */
static int b64_decode(struct pt_arena *a, const char *s, size_t n, void **ret,
		      size_t *ret_len)
{
	unsigned char *out;
	size_t o = 0, pad = 0;

	if (n % 4)
		return -EINVAL;
	if (n && s[n - 1] == '=')
		pad = n >= 2 && s[n - 2] == '=' ? 2 : 1;
	out = pt__arena_alloc(a, n / 4 * 3 + 1);
	if (!out)
		return -ENOMEM;
	for (size_t i = 0; i < n; i += 4) {
		int v[4];
		bool last = i + 4 == n;

		for (int k = 0; k < 4; k++) {
			if (last && k >= 4 - (int)pad) {
				if (s[i + k] != '=')
					return -EINVAL;
				v[k] = 0;
			} else if ((v[k] = b64_val(s[i + k])) < 0) {
				return -EINVAL;
			}
		}
		out[o++] = (unsigned char)(v[0] << 2 | v[1] >> 4);
		if (!(last && pad == 2))
			out[o++] =
				(unsigned char)((v[1] & 15) << 4 | v[2] >> 2);
		if (!(last && pad >= 1))
			out[o++] = (unsigned char)((v[2] & 3) << 6 | v[3]);
	}
	out[o] = 0;
	*ret = out;
	*ret_len = o;
	return 0;
}

/* ---- reading ------------------------------------------------------------ */

struct ctx {
	struct pt_envelope *e;
	struct pt_diags *d;
	char path[256]; /* the field being read, for messages */
};

PT_PRINTF(3, 4)
static int bad(struct ctx *c, int code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pt__store_diag(c->d, PT_SEV_ERROR, code, "<envelope>", 0, c->path,
		       "%s: %s", c->path[0] ? c->path : "envelope", msg);
	return code;
}

PT_PRINTF(2, 3)
static void at(struct ctx *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->path, sizeof(c->path), fmt, ap);
	va_end(ap);
}

/* A string field: required (NULL not allowed) unless nullable. */
static int get_str(struct ctx *c, json_t *obj, const char *key, bool nullable,
		   size_t max, const char **ret)
{
	json_t *v = json_object_get(obj, key);
	size_t n;

	if (!v || json_is_null(v)) {
		if (nullable) {
			*ret = NULL;
			return 0;
		}
		return bad(c, PT_ECORRUPT, "missing string '%s'", key);
	}
	if (!json_is_string(v))
		return bad(c, PT_ECORRUPT, "'%s' is not a string", key);
	n = json_string_length(v);
	if (n > max || strlen(json_string_value(v)) != n)
		return bad(c, PT_ECORRUPT, "'%s' is too long or holds NUL",
			   key);
	*ret = json_string_value(v);
	return 0;
}

static int get_id(struct ctx *c, json_t *obj, const char *key, bool nullable,
		  const char **ret)
{
	int r = get_str(c, obj, key, nullable, PT_STORE_MAX_JOB_ID, ret);

	if (r == 0 && *ret && !**ret)
		return bad(c, PT_ECORRUPT, "'%s' is empty", key);
	return r;
}

static int get_int(struct ctx *c, json_t *obj, const char *key, int64_t lo,
		   int64_t hi, int64_t *ret)
{
	json_t *v = json_object_get(obj, key);

	if (!v || !json_is_integer(v))
		return bad(c, PT_ECORRUPT, "'%s' is not an integer", key);
	if (json_integer_value(v) < lo || json_integer_value(v) > hi)
		return bad(c, PT_ECORRUPT, "'%s' out of range", key);
	*ret = json_integer_value(v);
	return 0;
}

static int get_array(struct ctx *c, json_t *obj, const char *key, json_t **ret)
{
	json_t *v = json_object_get(obj, key);

	if (!v || !json_is_array(v))
		return bad(c, PT_ECORRUPT, "'%s' is not an array", key);
	*ret = v;
	return 0;
}

static void *alloc_n(struct ctx *c, size_t n, size_t size)
{
	size_t total;

	if (!pt__mul_ok(n ? n : 1, size, &total))
		return NULL;
	return pt__arena_zalloc(&c->e->a, total);
}

/* An array of strings (ids). */
static int get_strv(struct ctx *c, json_t *obj, const char *key,
		    const char *const **ret, size_t *ret_n)
{
	json_t *arr = NULL;
	const char **v;
	size_t n;
	int r = get_array(c, obj, key, &arr);

	if (r < 0)
		return r;
	n = json_array_size(arr);
	v = alloc_n(c, n, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		json_t *x = json_array_get(arr, i);
		if (!json_is_string(x) || !json_string_length(x) ||
		    json_string_length(x) > PT_STORE_MAX_JOB_ID ||
		    strlen(json_string_value(x)) != json_string_length(x))
			return bad(c, PT_ECORRUPT,
				   "'%s[%zu]' is not a job id or flag", key, i);
		v[i] = json_string_value(x);
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

/* [[key, value], ...] */
static int get_kvs(struct ctx *c, json_t *arr, const char *what,
		   struct pt_store_kv **ret, size_t *ret_n)
{
	struct pt_store_kv *kv;
	size_t n;

	if (!json_is_array(arr))
		return bad(c, PT_ECORRUPT, "%s is not an array", what);
	n = json_array_size(arr);
	kv = alloc_n(c, n, sizeof(*kv));
	if (!kv)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		json_t *p = json_array_get(arr, i);
		json_t *k = json_array_get(p, 0), *v = json_array_get(p, 1);

		if (!json_is_array(p) || json_array_size(p) != 2 ||
		    !json_is_string(k) || !json_is_string(v) ||
		    strlen(json_string_value(k)) != json_string_length(k) ||
		    strlen(json_string_value(v)) != json_string_length(v))
			return bad(c, PT_ECORRUPT,
				   "%s[%zu] is not a [key, value] pair", what,
				   i);
		kv[i].key = json_string_value(k);
		kv[i].value = json_string_value(v);
	}
	*ret = kv;
	*ret_n = n;
	return 0;
}

static int get_b64(struct ctx *c, json_t *v, const char *what, void **ret,
		   size_t *ret_len)
{
	int r;

	if (!json_is_string(v))
		return bad(c, PT_ECORRUPT, "%s is not a base64 string", what);
	r = b64_decode(&c->e->a, json_string_value(v), json_string_length(v),
		       ret, ret_len);
	if (r == -EINVAL)
		return bad(c, PT_ECORRUPT, "%s is not valid base64", what);
	return r;
}

static int read_meta(struct ctx *c, json_t *m)
{
	struct pt_store_meta *x = &c->e->meta;
	struct pt_store_kv *plan = NULL;
	json_t *v;
	int64_t i;
	int r;

	at(c, "meta");
	if (!json_is_object(m))
		return bad(c, PT_ECORRUPT, "not an object");
	if ((r = get_str(c, m, "title", true, PT_STORE_MAX_STR, &x->title)) ||
	    (r = get_id(c, m, "running_job", true, &x->running_job)) ||
	    (r = get_str(c, m, "app_id", true, PT_STORE_MAX_STR, &x->app_id)))
		return r;
	if ((r = get_int(c, m, "running_attempt", 0, UINT_MAX, &i)))
		return r;
	x->running_attempt = (unsigned)i;
	if ((r = get_int(c, m, "last_job_start_ns", INT64_MIN, INT64_MAX,
			 &x->last_job_start_ns)) ||
	    (r = get_int(c, m, "started_ns", INT64_MIN, INT64_MAX,
			 &x->started_ns)) ||
	    (r = get_int(c, m, "total_jobs", 0, INT64_MAX, &i)))
		return r;
	x->total_jobs = (size_t)i;
	v = json_object_get(m, "custom_joblist");
	if (!json_is_boolean(v))
		return bad(c, PT_ECORRUPT, "'custom_joblist' is not a boolean");
	x->custom_joblist = json_is_true(v);
	v = json_object_get(m, "app_blob");
	if (v && !json_is_null(v)) {
		void *blob;
		r = get_b64(c, v, "'app_blob'", &blob, &x->app_blob_len);
		if (r < 0)
			return r;
		x->app_blob = blob;
	}
	if ((r = get_strv(c, m, "flags", &x->flags, &x->n_flags)) ||
	    (r = get_strv(c, m, "rejected", &x->rejected, &x->n_rejected)))
		return r;
	r = get_kvs(c, json_object_get(m, "plan"), "'plan'", &plan, &x->n_plan);
	x->plan = plan;
	return r;
}

static int read_header(struct ctx *c, json_t *h)
{
	json_t *v;
	int64_t n;
	int r;

	c->path[0] = 0;
	if (!json_is_object(h))
		return bad(c, PT_ECORRUPT, "the header is not an object");
	at(c, "format");
	v = json_object_get(h, "format");
	if (!json_is_string(v) || strcmp(json_string_value(v), ENVELOPE_FORMAT))
		return bad(c, PT_ECORRUPT, "not a proctor session envelope");
	at(c, "version");
	v = json_object_get(h, "version");
	if (!json_is_integer(v))
		return bad(c, PT_ECORRUPT, "missing format version");
	if (json_integer_value(v) != PT_STORE_ENVELOPE_VERSION)
		return bad(c, PT_EINCOMPAT,
			   "unsupported envelope version %" JSON_INTEGER_FORMAT
			   " (this proctor reads %d)",
			   json_integer_value(v), PT_STORE_ENVELOPE_VERSION);
	c->path[0] = 0;
	r = get_str(c, h, "id", false, 64, &c->e->id);
	if (r == 0 && !pt__store_id_valid(c->e->id))
		return bad(c, PT_ECORRUPT, "'id' is not a session id");
	if (r == 0)
		r = get_int(c, h, "n_done", 0, INT64_MAX, &n);
	if (r == 0) {
		c->e->n_done = (size_t)n;
		r = get_int(c, h, "n_total", 0, INT64_MAX, &n);
	}
	if (r == 0) {
		c->e->n_total = (size_t)n;
		r = read_meta(c, json_object_get(h, "meta"));
	}
	return r;
}

static int read_jobs(struct ctx *c, json_t *arr)
{
	struct pt_envelope *e = c->e;

	e->n_jobs = json_array_size(arr);
	e->jobs = alloc_n(c, e->n_jobs, sizeof(*e->jobs));
	if (!e->jobs)
		return -ENOMEM;
	for (size_t i = 0; i < e->n_jobs; i++) {
		json_t *j = json_array_get(arr, i);
		struct pt_store_job *x = &e->jobs[i];
		int64_t f = 0;
		int r;

		at(c, "jobs[%zu]", i);
		if (!json_is_object(j))
			return bad(c, PT_ECORRUPT, "not an object");
		if ((r = get_id(c, j, "id", false, &x->id)) ||
		    (r = get_str(c, j, "checksum", false, 256, &x->checksum)) ||
		    (r = get_int(c, j, "flags", 0, UINT_MAX, &f)) ||
		    (r = get_str(c, j, "origin", true, PT_STORE_MAX_STR,
				 &x->origin)) ||
		    (r = get_str(c, j, "text", true, PT_STORE_MAX_STR,
				 &x->text)))
			return r;
		x->flags = (unsigned)f;
	}
	return 0;
}

static int read_results(struct ctx *c, json_t *arr)
{
	struct pt_envelope *e = c->e;

	e->n_results = json_array_size(arr);
	e->results = alloc_n(c, e->n_results, sizeof(*e->results));
	if (!e->results)
		return -ENOMEM;
	for (size_t i = 0; i < e->n_results; i++) {
		json_t *j = json_array_get(arr, i), *dur;
		struct pt_store_result *x = &e->results[i];
		const char *o;
		int64_t v = 0;
		int r;

		at(c, "results[%zu]", i);
		if (!json_is_object(j))
			return bad(c, PT_ECORRUPT, "not an object");
		if ((r = get_id(c, j, "job", false, &x->job_id)) ||
		    (r = get_str(c, j, "outcome", false, 64, &o)))
			return r;
		if (pt_outcome_parse(o, &x->r.outcome) < 0) {
			at(c, "results[%zu].outcome", i);
			return bad(c, PT_ECORRUPT, "unknown outcome '%s'", o);
		}
		if ((r = get_int(c, j, "return_code", INT_MIN, INT_MAX, &v)))
			return r;
		x->r.return_code = (int)v;
		if ((r = get_int(c, j, "attempt", 0, UINT_MAX, &v)))
			return r;
		x->r.attempt = (unsigned)v;
		if ((r = get_int(c, j, "started_ns", INT64_MIN, INT64_MAX,
				 &x->r.started_ns)) ||
		    (r = get_str(c, j, "comments", true, PT_STORE_MAX_STR,
				 &x->r.comments)) ||
		    (r = get_str(c, j, "io_log", true, 2048, &x->r.io_log)))
			return r;
		if (x->r.io_log &&
		    !pt__store_rel_path_ok(x->r.io_log, "io-logs"))
			return bad(c, PT_ECORRUPT,
				   "'io_log' is not an io-log "
				   "path");
		dur = json_object_get(j, "duration");
		if (!json_is_number(dur))
			return bad(c, PT_ECORRUPT,
				   "'duration' is not a number");
		x->r.duration = json_number_value(dur);
		/* Optional (sessions of schema 2): lane, flaky. */
		if (json_object_get(j, "lane")) {
			if ((r = get_int(c, j, "lane", 0, 65535, &v)))
				return r;
			x->r.lane = (unsigned)v;
		}
		dur = json_object_get(j, "flaky");
		if (dur && !json_is_boolean(dur))
			return bad(c, PT_ECORRUPT, "'flaky' is not a boolean");
		x->r.flaky = dur && json_is_true(dur);
	}
	return 0;
}

/* Optional: the executors' handles of a session of schema 2. */
static int read_handles(struct ctx *c, json_t *arr)
{
	struct pt_envelope *e = c->e;

	if (!arr)
		return 0;
	if (!json_is_array(arr))
		return bad(c, PT_ECORRUPT, "'handles' is not an array");
	e->n_handles = json_array_size(arr);
	e->handles = alloc_n(c, e->n_handles, sizeof(*e->handles));
	if (!e->handles)
		return -ENOMEM;
	for (size_t i = 0; i < e->n_handles; i++) {
		json_t *j = json_array_get(arr, i);
		struct pt_store_handle *x = &e->handles[i];
		int64_t v = 0;
		int r;

		at(c, "handles[%zu]", i);
		if (!json_is_object(j))
			return bad(c, PT_ECORRUPT, "not an object");
		if ((r = get_id(c, j, "job", false, &x->job_id)) ||
		    (r = get_int(c, j, "attempt", 0, UINT_MAX, &v)) ||
		    (r = get_str(c, j, "handle", false, 4096, &x->handle)))
			return r;
		x->attempt = (unsigned)v;
	}
	return 0;
}

static int read_resources(struct ctx *c, json_t *arr)
{
	struct pt_envelope *e = c->e;

	e->n_res = json_array_size(arr);
	e->res = alloc_n(c, e->n_res, sizeof(*e->res));
	if (!e->res)
		return -ENOMEM;
	for (size_t i = 0; i < e->n_res; i++) {
		json_t *j = json_array_get(arr, i), *recs = NULL;
		struct pt_store_resource *x = &e->res[i];
		struct pt_store_record *rv;
		int r;

		at(c, "resources[%zu]", i);
		if (!json_is_object(j))
			return bad(c, PT_ECORRUPT, "not an object");
		if ((r = get_id(c, j, "job", false, &x->job_id)) ||
		    (r = get_array(c, j, "records", &recs)))
			return r;
		x->n_records = json_array_size(recs);
		rv = alloc_n(c, x->n_records, sizeof(*rv));
		if (!rv)
			return -ENOMEM;
		for (size_t k = 0; k < x->n_records; k++) {
			struct pt_store_kv *kv;
			char what[64];

			snprintf(what, sizeof(what), "records[%zu]", k);
			r = get_kvs(c, json_array_get(recs, k), what, &kv,
				    &rv[k].n);
			if (r < 0)
				return r;
			rv[k].kv = kv;
		}
		x->records = rv;
	}
	return 0;
}

static int read_iologs(struct ctx *c, json_t *arr)
{
	struct pt_envelope *e = c->e;

	e->n_iologs = json_array_size(arr);
	e->iologs = alloc_n(c, e->n_iologs, sizeof(*e->iologs));
	if (!e->iologs)
		return -ENOMEM;
	for (size_t i = 0; i < e->n_iologs; i++) {
		json_t *j = json_array_get(arr, i), *recs = NULL;
		struct env_iolog *x = &e->iologs[i];
		int r;

		at(c, "io_logs[%zu]", i);
		if (!json_is_object(j))
			return bad(c, PT_ECORRUPT, "not an object");
		if ((r = get_str(c, j, "path", false, 2048, &x->path)) ||
		    (r = get_array(c, j, "records", &recs)))
			return r;
		if (!pt__store_rel_path_ok(x->path, "io-logs"))
			return bad(c, PT_ECORRUPT,
				   "'path' is not an io-log path");
		x->n = json_array_size(recs);
		x->recs = alloc_n(c, x->n, sizeof(*x->recs));
		if (!x->recs)
			return -ENOMEM;
		for (size_t k = 0; k < x->n; k++) {
			json_t *rec = json_array_get(recs, k);
			json_t *off = json_array_get(rec, 0);
			json_t *stream = json_array_get(rec, 1);
			const char *sn;
			void *data;

			at(c, "io_logs[%zu].records[%zu]", i, k);
			if (!json_is_array(rec) || json_array_size(rec) != 3 ||
			    !json_is_integer(off) || !json_is_string(stream))
				return bad(c, PT_ECORRUPT,
					   "not [offset_ns, stream, base64]");
			sn = json_string_value(stream);
			if (!strcmp(sn, "stdout"))
				x->recs[k].stream = PT_STREAM_STDOUT;
			else if (!strcmp(sn, "stderr"))
				x->recs[k].stream = PT_STREAM_STDERR;
			else
				return bad(c, PT_ECORRUPT, "unknown stream");
			x->recs[k].offset_ns = json_integer_value(off);
			r = get_b64(c, json_array_get(rec, 2), "data", &data,
				    &x->recs[k].len);
			if (r < 0)
				return r;
			if (x->recs[k].len > (16u << 20))
				return bad(c, PT_ETOOBIG,
					   "record larger than 16 MiB");
			x->recs[k].data = data;
		}
	}
	return 0;
}

static int read_attachments(struct ctx *c, json_t *arr)
{
	struct pt_envelope *e = c->e;

	e->n_atts = json_array_size(arr);
	e->atts = alloc_n(c, e->n_atts, sizeof(*e->atts));
	if (!e->atts)
		return -ENOMEM;
	for (size_t i = 0; i < e->n_atts; i++) {
		json_t *j = json_array_get(arr, i);
		struct env_attachment *x = &e->atts[i];
		void *data;
		int r;

		at(c, "attachments[%zu]", i);
		if (!json_is_object(j))
			return bad(c, PT_ECORRUPT, "not an object");
		r = get_str(c, j, "path", false, 2048, &x->path);
		if (r < 0)
			return r;
		if (!pt__store_rel_path_ok(x->path, "attachments"))
			return bad(c, PT_ECORRUPT,
				   "'path' is not an attachment path");
		r = get_b64(c, json_object_get(j, "data"), "'data'", &data,
			    &x->len);
		if (r < 0)
			return r;
		x->data = data;
	}
	return 0;
}

static int read_body(struct ctx *c, json_t *b)
{
	json_t *arr = NULL;
	int r;

	c->path[0] = 0;
	if (!json_is_object(b))
		return bad(c, PT_ECORRUPT, "the body is not an object");
	if ((r = get_array(c, b, "jobs", &arr)) || (r = read_jobs(c, arr)))
		return r;
	c->path[0] = 0;
	if ((r = get_strv(c, b, "desired", &c->e->desired, &c->e->n_desired)))
		return r;
	if ((r = get_array(c, b, "results", &arr)) ||
	    (r = read_results(c, arr)))
		return r;
	c->path[0] = 0;
	if ((r = get_array(c, b, "resources", &arr)) ||
	    (r = read_resources(c, arr)))
		return r;
	c->path[0] = 0;
	if ((r = read_handles(c, json_object_get(b, "handles"))))
		return r;
	c->path[0] = 0;
	if ((r = get_array(c, b, "io_logs", &arr)) || (r = read_iologs(c, arr)))
		return r;
	c->path[0] = 0;
	if ((r = get_array(c, b, "attachments", &arr)) ||
	    (r = read_attachments(c, arr)))
		return r;
	return 0;
}

/*
 * The gzip stream, inflated a chunk at a time. Damage is reported at the
 * byte offset of the compressed input.
 */
struct gz {
	struct ctx *c;
	z_stream z;
	bool init, end;
	int err;		/* sticky: an error was reported */
	size_t out_total;	/* bytes inflated so far */
	size_t limit;		/* on out_total */
	const char *limit_note; /* why that limit, for the message */
	unsigned char chunk[65536];
};

static int gz_open(struct gz *g, struct ctx *c, const void *in, size_t len,
		   size_t limit)
{
	memset(&g->z, 0, sizeof(g->z));
	g->c = c;
	g->end = false;
	g->err = 0;
	g->out_total = 0;
	g->limit = limit;
	if (inflateInit2(&g->z, 15 + 16) != Z_OK)
		return -ENOMEM;
	g->init = true;
	g->z.next_in = (Bytef *)(uintptr_t)in;
	g->z.avail_in = (uInt)len;
	return 0;
}

static void gz_close(struct gz *g)
{
	if (g->init)
		inflateEnd(&g->z);
	g->init = false;
}

/* The next inflated bytes into g->chunk: their count, 0 at the end of
 * the stream, or an error (reported). */
static ssize_t gz_next(struct gz *g)
{
	size_t n;
	int zr;

	if (g->err)
		return g->err;
	if (g->end)
		return 0;
	for (;;) {
		g->z.next_out = g->chunk;
		g->z.avail_out = sizeof(g->chunk);
		zr = inflate(&g->z, Z_NO_FLUSH);
		if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR)
			return g->err = bad(g->c, PT_ECORRUPT,
					    "byte %lu of the compressed "
					    "input: %s",
					    (unsigned long)g->z.total_in,
					    g->z.msg ? g->z.msg
						     : "not gzip data");
		n = sizeof(g->chunk) - g->z.avail_out;
		if (g->out_total + n > g->limit)
			return g->err = bad(g->c, PT_ETOOBIG,
					    "decompresses to more than %zu "
					    "bytes%s",
					    g->limit,
					    g->limit_note ? g->limit_note : "");
		g->out_total += n;
		if (zr == Z_STREAM_END) {
			g->end = true;
			if (g->z.avail_in)
				return g->err = bad(
					       g->c, PT_ECORRUPT,
					       "byte %lu: data after the end "
					       "of the gzip stream",
					       (unsigned long)g->z.total_in);
		} else if (zr == Z_BUF_ERROR ||
			   (g->z.avail_in == 0 && g->z.avail_out != 0)) {
			return g->err = bad(g->c, PT_ECORRUPT,
					    "truncated: the gzip stream ends "
					    "early at byte %lu",
					    (unsigned long)g->z.total_in);
		}
		if (n || g->end)
			return (ssize_t)n;
	}
}

/*
 * The body line goes to jansson through a callback, a chunk at a time, so
 * its text is never held whole; a scanner in front of jansson bounds the
 * memory of the tree it builds. jansson's tree costs far more than the
 * text for small values (measured: 40 bytes per integer, 88 per string,
 * 136 per array, 232 per object; "{}," is 3 bytes of text), so a gzip
 * bomb of tiny values would reach gigabytes. The scanner charges every
 * byte 1, and every '{' ENV_COST_OBJECT, '[' ENV_COST_ARRAY, ',' and ':'
 * ENV_COST_VALUE (the next value or member), upper bounds of what jansson
 * allocates for them, and stops the parse when the charge passes the
 * budget: ENV_BUDGET_UNIT per started ENV_BUDGET_INPUT bytes of
 * compressed input. jansson only ever holds what the scanner has already
 * charged (it reads behind the scanner).
 */
#define ENV_COST_OBJECT	 352
#define ENV_COST_ARRAY	 256
#define ENV_COST_VALUE	 96
#define ENV_BUDGET_UNIT	 ((size_t)144 << 20)
#define ENV_BUDGET_INPUT ((size_t)10 << 20)
/* Inflated bytes per started ENV_BUDGET_INPUT: bounds the time (jansson
 * lexes 35-70 MB/s on the test machine, inflate is ten times faster). */
#define ENV_TEXT_UNIT ((size_t)64 << 20)
/* The longest string text (jansson doubles its buffer, then copies): the
 * base64 of the largest field read (PT_STORE_MAX_STR / a 16 MiB record). */
#define ENV_MAX_STRING ((size_t)24 << 20)

struct body_src {
	struct gz *g;
	const unsigned char *pending; /* bytes before the first chunk */
	size_t npending;
	size_t budget, charged, offset; /* offset: body bytes scanned */
	size_t str_len;			/* of the string being scanned */
	bool long_str;			/* over: a string too long */
	unsigned depth;
	bool in_str, esc, done, nl, over;
	bool trailing; /* bytes after the value's '\n', or a '\n' inside */
};

/* Charges p[0..n), and notes whether the body is one value, then "\n". */
static void body_scan(struct body_src *b, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n && !b->over; i++) {
		unsigned char ch = p[i];

		b->charged++;
		b->offset++;
		if (b->done) {
			/* After the value: exactly one '\n', the end. */
			if (ch == '\n' && !b->nl)
				b->nl = true;
			else
				b->trailing = true;
			continue;
		}
		if (b->in_str) {
			if (++b->str_len > ENV_MAX_STRING)
				b->over = b->long_str = true;
			if (b->esc)
				b->esc = false;
			else if (ch == '\\')
				b->esc = true;
			else if (ch == '"')
				b->in_str = false;
			continue;
		}
		switch (ch) {
		case '"':
			b->in_str = true;
			b->str_len = 0;
			break;
		case '{':
			b->depth++;
			b->charged += ENV_COST_OBJECT;
			break;
		case '[':
			b->depth++;
			b->charged += ENV_COST_ARRAY;
			break;
		case ',':
		case ':':
			b->charged += ENV_COST_VALUE;
			break;
		case '}':
		case ']':
			if (b->depth && !--b->depth)
				b->done = true;
			break;
		case '\n':
			b->trailing = true; /* the line ends inside the value */
			break;
		default:
			break;
		}
		if (b->charged > b->budget)
			b->over = true;
	}
}

static size_t body_read(void *buf, size_t len, void *data)
{
	struct body_src *b = data;
	const unsigned char *p;
	ssize_t n;

	if (b->over)
		return (size_t)-1;
	if (b->npending) {
		p = b->pending;
		n = (ssize_t)PT_MIN(b->npending, len);
		b->pending += n;
		b->npending -= (size_t)n;
	} else {
		n = gz_next(b->g);
		if (n <= 0)
			return n < 0 ? (size_t)-1 : 0;
		p = b->g->chunk;
		if ((size_t)n > len) {
			/* Keep the rest for the next calls. */
			b->pending = p + len;
			b->npending = (size_t)n - len;
			n = (ssize_t)len;
		}
	}
	body_scan(b, p, (size_t)n);
	if (b->over)
		return (size_t)-1;
	memcpy(buf, p, (size_t)n);
	return (size_t)n;
}

static int parse_line(struct ctx *c, const char *s, size_t n, const char *which,
		      json_t **ret)
{
	json_error_t err;
	json_t *j = json_loadb(s, n, JSON_REJECT_DUPLICATES, &err);

	if (!j) {
		c->path[0] = 0;
		return bad(c, PT_ECORRUPT, "%s line, byte %d: %s", which,
			   err.position, err.text);
	}
	*ret = j;
	return 0;
}

void pt__envelope_free(struct pt_envelope *e)
{
	if (!e)
		return;
	if (e->hdr)
		json_decref(e->hdr);
	if (e->body)
		json_decref(e->body);
	pt__arena_release(&e->a);
	pt__free(e);
}

/* The memory budget of the JSON trees for a compressed input of len. */
static size_t budget_for(size_t len)
{
	return ENV_BUDGET_UNIT * (len / ENV_BUDGET_INPUT + 1);
}

static int over_budget(struct ctx *c, const struct body_src *b,
		       const char *which, size_t len)
{
	c->path[0] = 0;
	if (b->long_str)
		return bad(c, PT_ETOOBIG,
			   "%s line, byte %zu: a string longer than %zu MiB",
			   which, b->offset, ENV_MAX_STRING >> 20);
	return bad(c, PT_ETOOBIG,
		   "%s line, byte %zu: the JSON needs more than %zu MiB of "
		   "memory, the limit for a %zu-byte input (%zu MiB per "
		   "started %zu MiB)",
		   which, b->offset, budget_for(len) >> 20, len,
		   ENV_BUDGET_UNIT >> 20, ENV_BUDGET_INPUT >> 20);
}

int pt__envelope_parse(const void *data, size_t len, bool header_only,
		       struct pt_diags *d, struct pt_envelope **ret)
{
	struct pt_buf hdr = PT_BUF_INIT;
	struct ctx c = { .d = d };
	struct body_src b = { .budget = budget_for(len) };
	struct body_src hs = { .budget = budget_for(len) };
	struct gz *g = NULL;
	json_error_t err;
	const char *nl = NULL;
	size_t hlen;
	int r;

	if (len > PT_STORE_ENVELOPE_MAX_IN) {
		pt__store_diag(d, PT_SEV_ERROR, PT_ETOOBIG, "<envelope>", 0,
			       NULL, "envelope larger than %u bytes",
			       PT_STORE_ENVELOPE_MAX_IN);
		return PT_ETOOBIG;
	}
	c.e = pt__calloc(1, sizeof(*c.e));
	g = pt__calloc(1, sizeof(*g));
	if (!c.e || !g) {
		r = -ENOMEM;
		goto out;
	}
	r = gz_open(g, &c, data, len,
		    header_only ? ENVELOPE_HEADER_MAX
				: PT_MIN(PT_STORE_ENVELOPE_MAX_OUT,
					 ENV_TEXT_UNIT *
						 (len / ENV_BUDGET_INPUT + 1)));
	if (r < 0)
		goto out;
	if (!header_only)
		g->limit_note = " (64 MiB per started 10 MiB of input)";
	/* The header line: inflated until its '\n' (at most 4 MiB). */
	while (!nl) {
		ssize_t n = gz_next(g);
		size_t before = hdr.len;

		if (n < 0) {
			r = (int)n;
			goto out;
		}
		if (n == 0 ||
		    hdr.len + (size_t)n > ENVELOPE_HEADER_MAX + 65536) {
			c.path[0] = 0;
			r = bad(&c, PT_ECORRUPT, "no header line");
			goto out;
		}
		r = pt__buf_add(&hdr, g->chunk, (size_t)n);
		if (r < 0)
			goto out;
		nl = memchr(hdr.s + before, '\n', hdr.len - before);
	}
	hlen = (size_t)(nl - hdr.s);
	body_scan(&hs, (const unsigned char *)hdr.s, hlen);
	if (hs.over) {
		r = over_budget(&c, &hs, "header", len);
		goto out;
	}
	r = parse_line(&c, hdr.s, hlen, "header", &c.e->hdr);
	if (r == 0)
		r = read_header(&c, c.e->hdr);
	if (r < 0 || header_only)
		goto out;
	/* The body line, streamed into jansson behind the scanner. */
	b.g = g;
	b.budget -= hs.charged; /* one budget for both trees */
	b.pending = (const unsigned char *)nl + 1;
	b.npending = hdr.len - hlen - 1;
	c.e->body =
		json_load_callback(body_read, &b, JSON_REJECT_DUPLICATES, &err);
	if (g->err) {
		r = g->err; /* reported */
	} else if (b.over) {
		r = over_budget(&c, &b, "body", len);
	} else if (c.e->body ? b.trailing || !b.nl : b.done) {
		/* Anything but one '\n' after the value (or inside it). */
		c.path[0] = 0;
		r = bad(&c, PT_ECORRUPT,
			"byte %zu: expected one body line ending the data",
			hlen + 1);
	} else if (!c.e->body) {
		c.path[0] = 0;
		r = bad(&c, PT_ECORRUPT, "body line, byte %d: %s", err.position,
			err.text);
	} else {
		r = read_body(&c, c.e->body);
	}
out:
	gz_close(g);
	pt__free(g);
	pt__buf_release(&hdr);
	if (r < 0) {
		pt__envelope_free(c.e);
		return r;
	}
	*ret = c.e;
	return 0;
}

/* ---- writing ------------------------------------------------------------ */

/* JSON has no NaN or infinity: an unknown duration is -1. */
static double finite_or(double x, double dflt)
{
	return x == x && x <= 1e300 && x >= -1e300 ? x : dflt;
}

static json_t *jstr(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *jb64(const void *p, size_t n)
{
	struct pt_buf b = PT_BUF_INIT;
	json_t *j = NULL;

	if (b64_encode(&b, p, n) == 0)
		j = json_stringn(b.s, b.len);
	pt__buf_release(&b);
	return j;
}

/* json_object_set_new that remembers a failure (NULL value or OOM). */
static void put(json_t *o, const char *k, json_t *v, bool *oom)
{
	if (!v || json_object_set_new(o, k, v) < 0)
		*oom = true;
}

static void push(json_t *a, json_t *v, bool *oom)
{
	if (!v || json_array_append_new(a, v) < 0)
		*oom = true;
}

static json_t *jstrv(const char *const *v, size_t n, bool *oom)
{
	json_t *a = json_array();

	if (!a) {
		*oom = true;
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		push(a, json_string(v[i]), oom);
	return a;
}

static json_t *jkvs(const struct pt_store_kv *kv, size_t n, bool *oom)
{
	json_t *a = json_array();

	if (!a) {
		*oom = true;
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		push(a, json_pack("[ss]", kv[i].key, kv[i].value), oom);
	return a;
}

static json_t *meta_json(const struct pt_store_meta *m, bool *oom)
{
	json_t *o = json_object();

	if (!o) {
		*oom = true;
		return NULL;
	}
	put(o, "title", jstr(m->title), oom);
	put(o, "flags", jstrv(m->flags, m->n_flags, oom), oom);
	put(o, "running_job", jstr(m->running_job), oom);
	put(o, "running_attempt", json_integer(m->running_attempt), oom);
	put(o, "app_id", jstr(m->app_id), oom);
	put(o, "app_blob",
	    m->app_blob ? jb64(m->app_blob, m->app_blob_len) : json_null(),
	    oom);
	put(o, "custom_joblist", json_boolean(m->custom_joblist), oom);
	put(o, "rejected", jstrv(m->rejected, m->n_rejected, oom), oom);
	put(o, "last_job_start_ns", json_integer(m->last_job_start_ns), oom);
	put(o, "started_ns", json_integer(m->started_ns), oom);
	put(o, "total_jobs", json_integer((json_int_t)m->total_jobs), oom);
	put(o, "plan", jkvs(m->plan, m->n_plan, oom), oom);
	return o;
}

struct iolog_json {
	json_t *recs;
	bool oom;
};

static int iolog_rec_json(void *ctx, const struct pt_iolog_record *rec)
{
	struct iolog_json *x = ctx;
	json_t *r = json_array();

	if (!r) {
		x->oom = true;
		return -ENOMEM;
	}
	push(r, json_integer(rec->offset_ns), &x->oom);
	push(r,
	     json_string(rec->stream == PT_STREAM_STDOUT ? "stdout" : "stderr"),
	     &x->oom);
	push(r, jb64(rec->data, rec->len), &x->oom);
	push(x->recs, r, &x->oom);
	return x->oom ? -ENOMEM : 0;
}

/* Sorted names of the regular files of dir (for a stable export). */
struct names {
	PT_VEC(const char *) v;
	struct pt_arena *a;
};

static int add_name(void *ctx, const char *name)
{
	struct names *x = ctx;
	const char *n;

	if (strstr(name, ".next"))
		return 0;
	n = pt__arena_strdup(x->a, name);
	return n && pt_vec_push(&x->v, n) == 0 ? 0 : -ENOMEM;
}

static int list_dir(const char *dir, struct pt_arena *a, const char ***ret,
		    size_t *ret_n)
{
	struct names x = { PT_VEC_INIT, a };
	int r = pt__dir_each(dir, add_name, &x);

	if (r == -ENOENT)
		r = 0;
	if (r == 0 && x.v.n) {
		const char **c = pt__arena_alloc(a, x.v.n * sizeof(*c));
		if (!c) {
			r = -ENOMEM;
		} else {
			for (size_t i = 0; i < x.v.n; i++)
				c[i] = x.v.v[i];
			for (size_t i = 1; i < x.v.n; i++)
				for (size_t k = i;
				     k > 0 && strcmp(c[k - 1], c[k]) > 0; k--) {
					const char *t = c[k];
					c[k] = c[k - 1];
					c[k - 1] = t;
				}
			*ret = c;
			*ret_n = x.v.n;
		}
	}
	pt_vec_release(&x.v);
	return r;
}

static int dump_cb(const char *buf, size_t size, void *data)
{
	return pt__buf_add(data, buf, size) < 0 ? -1 : 0;
}

static int gzip_buf(const struct pt_buf *in, struct pt_buf *out)
{
	z_stream z;
	int zr, r = 0;

	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
	    Z_OK)
		return -ENOMEM;
	z.next_in = (Bytef *)in->s;
	z.avail_in = (uInt)in->len;
	do {
		unsigned char chunk[65536];
		z.next_out = chunk;
		z.avail_out = sizeof(chunk);
		zr = deflate(&z, Z_FINISH);
		if (zr == Z_STREAM_ERROR) {
			r = -EIO;
			break;
		}
		r = pt__buf_add(out, chunk, sizeof(chunk) - z.avail_out);
	} while (r == 0 && zr != Z_STREAM_END);
	deflateEnd(&z);
	return r;
}

static int body_json(struct pt_store *s, const struct pt_store_state *st,
		     struct pt_diags *d, json_t **ret)
{
	struct pt_arena a = PT_ARENA_INIT;
	struct pt_buf p = PT_BUF_INIT;
	json_t *b = json_object(), *arr;
	const char **names = NULL;
	size_t n = 0;
	bool oom = !b;
	int r = 0;

	arr = json_array();
	for (size_t i = 0; arr && i < st->n_jobs; i++) {
		const struct pt_store_job *j = &st->jobs[i];
		char *text = NULL;
		int tr = pt_store_job_text(s, j->id, &text);

		if (tr < 0 && tr != PT_ENOTFOUND) {
			r = tr;
			break;
		}
		push(arr,
		     json_pack("{ss ss sI so* so*}", "id", j->id, "checksum",
			       j->checksum, "flags", (json_int_t)j->flags,
			       "origin", jstr(j->origin), "text", jstr(text)),
		     &oom);
		pt__free(text);
	}
	put(b, "jobs", arr, &oom);
	put(b, "desired", jstrv(st->desired, st->n_desired, &oom), &oom);
	arr = json_array();
	for (size_t i = 0; arr && i < st->n_results; i++) {
		const struct pt_store_result *x = &st->results[i];
		json_t *o = json_pack(
			"{ss ss si sf so* so* sI sI}", "job", x->job_id,
			"outcome", pt_outcome_name(x->r.outcome), "return_code",
			x->r.return_code, "duration",
			finite_or(x->r.duration, -1), "comments",
			jstr(x->r.comments), "io_log", jstr(x->r.io_log),
			"attempt", (json_int_t)x->r.attempt, "started_ns",
			(json_int_t)x->r.started_ns);

		/* Written only when set: older readers take the rest. */
		if (o && x->r.lane)
			put(o, "lane", json_integer(x->r.lane), &oom);
		if (o && x->r.flaky)
			put(o, "flaky", json_true(), &oom);
		push(arr, o, &oom);
	}
	put(b, "results", arr, &oom);
	if (st->n_handles) {
		arr = json_array();
		for (size_t i = 0; arr && i < st->n_handles; i++) {
			const struct pt_store_handle *h = &st->handles[i];
			push(arr,
			     json_pack("{ss sI ss}", "job", h->job_id,
				       "attempt", (json_int_t)h->attempt,
				       "handle", h->handle),
			     &oom);
		}
		put(b, "handles", arr, &oom);
	}
	arr = json_array();
	for (size_t i = 0; arr && i < st->n_resources; i++) {
		const struct pt_store_resource *x = &st->resources[i];
		json_t *recs = json_array();
		for (size_t k = 0; recs && k < x->n_records; k++)
			push(recs,
			     jkvs(x->records[k].kv, x->records[k].n, &oom),
			     &oom);
		push(arr,
		     json_pack("{ss so*}", "job", x->job_id, "records", recs),
		     &oom);
	}
	put(b, "resources", arr, &oom);

	/* io logs: every file of io-logs/, re-encoded as JSON records. */
	arr = json_array();
	r = r < 0 ? r : pt__buf_addf(&p, "%s/io-logs", s->dir);
	if (r == 0)
		r = list_dir(p.s, &a, &names, &n);
	for (size_t i = 0; r == 0 && arr && i < n; i++) {
		struct iolog_json x = { json_array(), false };
		char rel[1100];

		snprintf(rel, sizeof(rel), "io-logs/%s", names[i]);
		if (!x.recs) {
			oom = true;
			break;
		}
		r = pt_store_iolog_read(s, rel, iolog_rec_json, &x, d);
		if (r < 0 || x.oom) {
			json_decref(x.recs);
			break;
		}
		push(arr, json_pack("{ss so}", "path", rel, "records", x.recs),
		     &oom);
	}
	put(b, "io_logs", arr, &oom);
	arr = json_array();
	pt__buf_reset(&p);
	n = 0;
	r = r < 0 ? r : pt__buf_addf(&p, "%s/attachments", s->dir);
	if (r == 0)
		r = list_dir(p.s, &a, &names, &n);
	for (size_t i = 0; r == 0 && arr && i < n; i++) {
		struct pt_buf f = PT_BUF_INIT;
		char *data = NULL, rel[1100];
		size_t len = 0;

		snprintf(rel, sizeof(rel), "attachments/%s", names[i]);
		r = pt__buf_addf(&f, "%s/%s", s->dir, rel);
		if (r == 0)
			r = pt__read_file(f.s, PT_STORE_ENVELOPE_MAX_IN, &data,
					  &len);
		if (r == 0)
			push(arr,
			     json_pack("{ss so*}", "path", rel, "data",
				       jb64(data, len)),
			     &oom);
		pt__free(data);
		pt__buf_release(&f);
	}
	put(b, "attachments", arr, &oom);
	pt__buf_release(&p);
	pt__arena_release(&a);
	if (r == 0 && oom)
		r = -ENOMEM;
	if (r < 0) {
		json_decref(b);
		return r;
	}
	*ret = b;
	return 0;
}

int pt_store_export(struct pt_store *s, const char *path, struct pt_diags *d)
{
	struct pt_store_state *st = NULL;
	struct pt_buf text = PT_BUF_INIT, gz = PT_BUF_INIT;
	json_t *hdr = NULL, *body = NULL;
	size_t done = 0;
	bool oom = false;
	int r;

	if (!s || !path)
		return -EINVAL;
	r = pt_store_load(s, &st);
	if (r < 0)
		goto out;
	{
		/* n_done as peek computes it: distinct jobs with results. */
		struct pt_map seen = PT_MAP_INIT;
		for (size_t i = 0; r == 0 && i < st->n_results; i++) {
			const char *j = st->results[i].job_id;
			r = pt__map_put(&seen, j, strlen(j), NULL, NULL);
			if (r > 0)
				done++;
			r = r < 0 ? r : 0;
		}
		pt__map_release(&seen);
		if (r < 0)
			goto out;
	}
	hdr = json_object();
	oom = !hdr;
	if (hdr) {
		put(hdr, "format", json_string(ENVELOPE_FORMAT), &oom);
		put(hdr, "version", json_integer(PT_STORE_ENVELOPE_VERSION),
		    &oom);
		put(hdr, "id", json_string(s->id), &oom);
		put(hdr, "meta", meta_json(&st->meta, &oom), &oom);
		put(hdr, "n_done", json_integer((json_int_t)done), &oom);
		put(hdr, "n_total",
		    json_integer((json_int_t)(st->meta.total_jobs
						      ? st->meta.total_jobs
						      : st->n_desired)),
		    &oom);
	}
	if (oom) {
		r = -ENOMEM;
		goto out;
	}
	r = body_json(s, st, d, &body);
	if (r < 0)
		goto out;
	if (json_dump_callback(hdr, dump_cb, &text, JSON_COMPACT) < 0 ||
	    pt__buf_addch(&text, '\n') < 0 ||
	    json_dump_callback(body, dump_cb, &text, JSON_COMPACT) < 0 ||
	    pt__buf_addch(&text, '\n') < 0) {
		r = -ENOMEM;
		goto out;
	}
	r = gzip_buf(&text, &gz);
	if (r == 0)
		r = pt__write_file_atomic(path, gz.s, gz.len, 0600);
	if (r < 0)
		pt__store_diag(d, PT_SEV_ERROR, r, path, 0, NULL,
			       "cannot write the envelope: %s", pt_strerror(r));
out:
	if (hdr)
		json_decref(hdr);
	if (body)
		json_decref(body);
	pt__buf_release(&text);
	pt__buf_release(&gz);
	pt_store_state_free(st);
	return r;
}

static int read_envelope_file(const char *path, struct pt_diags *d, char **ret,
			      size_t *ret_len)
{
	int r = pt__read_file(path, PT_STORE_ENVELOPE_MAX_IN, ret, ret_len);

	if (r < 0)
		pt__store_diag(d, PT_SEV_ERROR, r, path, 0, NULL,
			       "cannot read the envelope: %s", pt_strerror(r));
	return r;
}

int pt_store_envelope_peek(const char *path, struct pt_diags *d,
			   struct pt_store_info **ret)
{
	struct pt_envelope *e = NULL;
	char *data = NULL;
	size_t len = 0;
	int r;

	if (!path || !ret)
		return -EINVAL;
	r = read_envelope_file(path, d, &data, &len);
	if (r == 0)
		r = pt__envelope_parse(data, len, true, d, &e);
	if (r == 0)
		r = pt__store_info_new(e->id, &e->meta, e->n_done, e->n_total,
				       ret);
	pt__envelope_free(e);
	pt__free(data);
	return r;
}

static int import_into(struct pt_store *s, const struct pt_envelope *e)
{
	int r;

	r = pt_store_begin(s);
	if (r == 0)
		r = pt_store_put_jobs(s, e->jobs, e->n_jobs);
	if (r == 0)
		r = pt_store_set_desired(s, e->desired, e->n_desired);
	for (size_t i = 0; r == 0 && i < e->n_results; i++)
		r = pt_store_commit_result(s, e->results[i].job_id,
					   &e->results[i].r, PT_SYNC_NORMAL);
	for (size_t i = 0; r == 0 && i < e->n_res; i++)
		r = pt_store_put_resource(s, e->res[i].job_id,
					  e->res[i].records,
					  e->res[i].n_records);
	for (size_t i = 0; r == 0 && i < e->n_handles; i++)
		r = pt_store_set_handle(s, e->handles[i].job_id,
					e->handles[i].attempt,
					e->handles[i].handle, PT_SYNC_NORMAL);
	/* Last: committing results clears the running mark. */
	if (r == 0)
		r = pt_store_set_meta(s, &e->meta);
	for (size_t i = 0; r == 0 && i < e->n_iologs; i++) {
		struct pt_iolog *w = NULL;
		r = pt__store_iolog_create_at(s, e->iologs[i].path, &w);
		for (size_t k = 0; r == 0 && k < e->iologs[i].n; k++) {
			const struct env_record *x = &e->iologs[i].recs[k];
			r = pt_iolog_append(w, x->offset_ns, x->stream, x->data,
					    x->len);
		}
		if (r == 0)
			r = pt_iolog_sync(w, PT_SYNC_FULL);
		pt_iolog_free(w);
	}
	for (size_t i = 0; r == 0 && i < e->n_atts; i++) {
		struct pt_buf p = PT_BUF_INIT;
		r = pt__buf_addf(&p, "%s/%s", s->dir, e->atts[i].path);
		if (r == 0)
			r = pt__write_file_atomic(p.s, e->atts[i].data,
						  e->atts[i].len, 0600);
		pt__buf_release(&p);
	}
	if (r == 0)
		r = pt_store_commit(s, PT_SYNC_FULL);
	else
		(void)!pt_store_rollback(s);
	return r;
}

int pt_store_import(const char *repo, const char *path, struct pt_diags *d,
		    char **ret_id)
{
	static const struct pt_store_meta empty;
	struct pt_envelope *e = NULL;
	struct pt_store *s = NULL;
	char *data = NULL, *id = NULL;
	size_t len = 0;
	int r;

	if (!path)
		return -EINVAL;
	r = read_envelope_file(path, d, &data, &len);
	if (r == 0)
		r = pt__envelope_parse(data, len, false, d, &e);
	if (r < 0)
		goto out;
	r = pt__store_create_id(repo, e->id, &empty, d, &s);
	if (r == -EEXIST)
		pt__store_diag(d, PT_SEV_ERROR, r, path, 0, "id",
			       "session %s already exists", e->id);
	if (r < 0)
		goto out;
	r = import_into(s, e);
	if (r == 0 && ret_id) {
		id = pt__strdup(e->id);
		r = id ? 0 : -ENOMEM;
	}
	if (r < 0) {
		pt__store_diag(d, PT_SEV_ERROR, r, path, 0, NULL,
			       "cannot import: %s", pt_strerror(r));
		s = pt_store_free(s);
		(void)!pt_store_remove(repo, e->id, NULL);
		goto out;
	}
	if (ret_id)
		*ret_id = id;
out:
	pt_store_free(s);
	pt__envelope_free(e);
	pt__free(data);
	return r;
}
