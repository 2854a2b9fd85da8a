/*
 * cassette/format.c - the cassette file format: messages to and from the
 * JSON layout of ReqCassette 2.0, body kinds, base64, migration of older
 * versions, canonical output.
 */
#include "base/common.h"
#include "base/diag.h"
#include "base/str.h"
#include "cassette/internal.h"

#include <ctype.h>
#include <strings.h>

const char *const pt__body_kind_names[3] = { "text", "json", "blob" };

void pt__msg_clear(struct pt_cassette_msg *m)
{
	pt__free(m->method);
	pt__free(m->uri);
	pt__free(m->query);
	pt_vec_foreach(&m->headers, i) {
		pt__free(m->headers.v[i].name); /* value is in the same block */
	}
	pt_vec_release(&m->headers);
	pt__free(m->body);
	if (m->json)
		json_decref(m->json);
	memset(m, 0, sizeof(*m));
}

/* ---- bodies ---------------------------------------------------------- */

/* Valid UTF-8 without control characters other than tab, CR, LF. */
static bool printable(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned c = s[i];
		size_t k;

		if (c < 0x80) {
			if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
				return false;
			if (c == 0x7f)
				return false;
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			k = 1;
		else if (c >= 0xe0 && c <= 0xef)
			k = 2;
		else if (c >= 0xf0 && c <= 0xf4)
			k = 3;
		else
			return false;
		if (i + k >= n)
			return false;
		for (size_t j = 1; j <= k; j++)
			if ((s[i + j] & 0xc0) != 0x80)
				return false;
		/* overlongs and surrogates */
		if (c == 0xe0 && s[i + 1] < 0xa0)
			return false;
		if (c == 0xed && s[i + 1] > 0x9f)
			return false;
		if (c == 0xf0 && s[i + 1] < 0x90)
			return false;
		if (c == 0xf4 && s[i + 1] > 0x8f)
			return false;
		i += k + 1;
	}
	return true;
}

bool pt__utf8_valid(const char *p, size_t n)
{
	const unsigned char *s = (const unsigned char *)p;
	size_t i = 0;

	while (i < n) {
		unsigned c = s[i];
		size_t k;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			k = 1;
		else if (c >= 0xe0 && c <= 0xef)
			k = 2;
		else if (c >= 0xf0 && c <= 0xf4)
			k = 3;
		else
			return false;
		if (i + k >= n)
			return false;
		for (size_t j = 1; j <= k; j++)
			if ((s[i + j] & 0xc0) != 0x80)
				return false;
		if ((c == 0xe0 && s[i + 1] < 0xa0) ||
		    (c == 0xed && s[i + 1] > 0x9f) ||
		    (c == 0xf0 && s[i + 1] < 0x90) ||
		    (c == 0xf4 && s[i + 1] > 0x8f))
			return false;
		i += k + 1;
	}
	return true;
}

static const char *content_type(const struct pt_cassette_msg *m)
{
	pt_vec_foreach(&m->headers, i) {
		if (strcasecmp(m->headers.v[i].name, "content-type") == 0)
			return m->headers.v[i].value;
	}
	return NULL;
}

static json_t *parse_json_body(const char *p, size_t n)
{
	json_error_t e;

	if (n == 0)
		return NULL;
	return json_loadb(p, n, JSON_DECODE_ANY, &e);
}

static bool ct_has(const char *ct, const char *what)
{
	return strstr(ct, what) != NULL;
}

enum body_kind pt__body_detect(const struct pt_cassette_msg *m)
{
	const char *ct0 = content_type(m);
	const unsigned char *b = (const unsigned char *)m->body;
	char ct[128];
	json_t *j;

	if (m->body_len == 0)
		return BODY_TEXT;
	if (ct0) {
		size_t k = 0;

		for (; ct0[k] && k < sizeof(ct) - 1; k++)
			ct[k] = (char)tolower((unsigned char)ct0[k]);
		ct[k] = '\0';
		if (ct_has(ct, "json")) {
			j = parse_json_body(m->body, m->body_len);
			if (j) {
				json_decref(j);
				return BODY_JSON;
			}
			return printable(b, m->body_len) ? BODY_TEXT
							 : BODY_BLOB;
		}
		if (pt__starts_with(ct, "image/") ||
		    pt__starts_with(ct, "video/") ||
		    pt__starts_with(ct, "audio/") ||
		    pt__starts_with(ct, "application/octet-stream") ||
		    ct_has(ct, "/pdf") || ct_has(ct, "/zip") ||
		    ct_has(ct, "/gzip") || ct_has(ct, "/x-tar") ||
		    ct_has(ct, "/protobuf") || ct_has(ct, "/msgpack"))
			return BODY_BLOB;
		if (pt__starts_with(ct, "text/") || ct_has(ct, "xml") ||
		    ct_has(ct, "x-www-form-urlencoded"))
			return printable(b, m->body_len) ? BODY_TEXT
							 : BODY_BLOB;
	}
	j = parse_json_body(m->body, m->body_len);
	if (j) {
		json_decref(j);
		return BODY_JSON;
	}
	return printable(b, m->body_len) ? BODY_TEXT : BODY_BLOB;
}

bool pt__json_canonical(const char *p, size_t n)
{
	json_t *j = parse_json_body(p, n);
	char *s;
	bool same;

	if (!j)
		return false;
	s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	json_decref(j);
	same = s && strlen(s) == n && memcmp(s, p, n) == 0;
	pt__json_free(s);
	return same;
}

int pt__msg_set_body(struct pt_cassette_msg *m, const void *p, size_t n,
		     enum body_kind kind)
{
	char *copy = NULL;
	json_t *j = NULL;

	if (kind == BODY_JSON) {
		j = parse_json_body(p, n);
		if (!j)
			kind = printable(p, n) ? BODY_TEXT : BODY_BLOB;
	}
	if (kind == BODY_TEXT && !printable(p, n))
		kind = BODY_BLOB;
	if (j) {
		copy = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
		if (!copy) {
			json_decref(j);
			return -ENOMEM;
		}
		/* jansson's string is from its own allocator: copy it. */
		char *c2 = pt__strdup(copy);
		n = strlen(copy);
		pt__json_free(copy);
		copy = c2;
	} else {
		copy = pt__malloc(n + 1);
		if (copy) {
			if (n)
				memcpy(copy, p, n);
			copy[n] = '\0';
		}
	}
	if (!copy) {
		if (j)
			json_decref(j);
		return -ENOMEM;
	}
	pt__free(m->body);
	if (m->json)
		json_decref(m->json);
	m->body = copy;
	m->body_len = n;
	m->json = j;
	m->kind = kind;
	return 0;
}

int pt__msg_add_header(struct pt_cassette_msg *m, const char *name,
		       const char *value, bool lower)
{
	size_t nl = strlen(name), vl = strlen(value);
	struct msg_hdr h;

	/* one block: name, NUL, value, NUL (freed through name) */
	h.name = pt__malloc(nl + vl + 2);
	if (!h.name)
		return -ENOMEM;
	memcpy(h.name, name, nl + 1);
	h.value = h.name + nl + 1;
	memcpy(h.value, value, vl + 1);
	if (pt_vec_push(&m->headers, h) < 0) {
		pt__free(h.name);
		return -ENOMEM;
	}
	if (lower)
		for (char *p = h.name; *p; p++)
			*p = (char)tolower((unsigned char)*p);
	return 0;
}

/* ---- JSON <-> message ------------------------------------------------- */

static int fail(struct pt_buf *err, const char *field, const char *what)
{
	pt__buf_reset(err);
	pt__buf_addf(err, "%s: %s", field, what);
	return PT_EPARSE;
}

static int headers_from_json(struct pt_cassette_msg *m, json_t *h,
			     struct pt_buf *err)
{
	const char *name;
	json_t *v;

	if (!h || json_is_null(h))
		return 0;
	if (!json_is_object(h))
		return fail(err, "headers", "expected an object");
	json_object_foreach(h, name, v)
	{
		size_t i;
		json_t *x;

		if (json_is_string(v)) {
			if (pt__msg_add_header(m, name, json_string_value(v),
					       false) < 0)
				return -ENOMEM;
			continue;
		}
		if (!json_is_array(v))
			return fail(err, "headers",
				    "values must be strings or lists");
		json_array_foreach(v, i, x)
		{
			if (!json_is_string(x))
				return fail(err, "headers",
					    "list values must be strings");
			if (pt__msg_add_header(m, name, json_string_value(x),
					       false) < 0)
				return -ENOMEM;
		}
	}
	return 0;
}

static int body_from_json(struct pt_cassette_msg *m, json_t *o,
			  struct pt_buf *err)
{
	json_t *t = json_object_get(o, "body_type");
	json_t *bj = json_object_get(o, "body_json");
	json_t *bb = json_object_get(o, "body_blob");
	json_t *bt = json_object_get(o, "body");
	const char *type = json_is_string(t) ? json_string_value(t) : NULL;
	int r;

	if (t && !json_is_string(t))
		return fail(err, "body_type", "expected a string");
	if (!type)
		type = bj ? "json" : bb ? "blob" : "text";
	if (strcmp(type, "json") == 0 && bj) {
		char *s = json_dumps(bj, JSON_COMPACT | JSON_ENCODE_ANY);

		if (!s)
			return -ENOMEM;
		pt__free(m->body);
		m->body = pt__strdup(s);
		m->body_len = strlen(s);
		pt__json_free(s);
		if (!m->body)
			return -ENOMEM;
		if (m->json)
			json_decref(m->json);
		m->json = json_incref(bj);
		m->kind = BODY_JSON;
		return 0;
	}
	if (strcmp(type, "blob") == 0) {
		struct pt_buf b = PT_BUF_INIT;

		if (!json_is_string(bb))
			return fail(err, "body_blob", "expected a string");
		r = pt__b64_decode(json_string_value(bb),
				   json_string_length(bb), &b);
		if (r < 0) {
			pt__buf_release(&b);
			return r == -ENOMEM ? r
					    : fail(err, "body_blob",
						   "invalid base64");
		}
		pt__free(m->body);
		m->body_len = b.len;
		m->body = pt__buf_detach(&b, NULL);
		m->kind = BODY_BLOB;
		return m->body ? 0 : -ENOMEM;
	}
	if (strcmp(type, "json") == 0)
		return fail(err, "body_json",
			    "missing (body_type is \"json\")");
	if (strcmp(type, "text") == 0) {
		if (bt && !json_is_string(bt))
			return fail(err, "body", "expected a string");
		pt__free(m->body);
		m->body_len = bt ? json_string_length(bt) : 0;
		m->body = pt__memdup(bt ? json_string_value(bt) : "",
				     m->body_len + 1);
		m->kind = BODY_TEXT;
		return m->body ? 0 : -ENOMEM;
	}
	return fail(err, "body_type", "must be \"json\", \"text\" or \"blob\"");
}

static char *dup_str(json_t *v)
{
	return pt__strdup(json_string_value(v));
}

int pt__msg_from_json(struct pt_cassette_msg *m, json_t *o, bool response,
		      struct pt_buf *err)
{
	int r;

	memset(m, 0, sizeof(*m));
	m->response = response;
	if (!json_is_object(o))
		return fail(err, response ? "response" : "request",
			    "expected an object");
	if (response) {
		json_t *s = json_object_get(o, "status");

		if (!json_is_integer(s) || json_integer_value(s) < 100 ||
		    json_integer_value(s) > 999)
			return fail(err, "status",
				    "expected an integer 100..999");
		m->status = (int)json_integer_value(s);
		snprintf(m->status_text, sizeof(m->status_text), "%d",
			 m->status);
	} else {
		json_t *me = json_object_get(o, "method");
		json_t *u = json_object_get(o, "uri");
		json_t *q = json_object_get(o, "query_string");

		if (!json_is_string(me))
			return fail(err, "method", "expected a string");
		if (!json_is_string(u))
			return fail(err, "uri", "expected a string");
		if (q && !json_is_string(q) && !json_is_null(q))
			return fail(err, "query_string", "expected a string");
		m->method = dup_str(me);
		m->uri = dup_str(u);
		m->query = pt__strdup(json_is_string(q) ? json_string_value(q)
							: "");
		if (!m->method || !m->uri || !m->query)
			return -ENOMEM;
	}
	r = headers_from_json(m, json_object_get(o, "headers"), err);
	if (r < 0)
		return r;
	return body_from_json(m, o, err);
}

static int set_new(json_t *o, const char *k, json_t *v)
{
	return v ? json_object_set_new(o, k, v) : -1;
}

json_t *pt__msg_to_json(const struct pt_cassette_msg *m)
{
	json_t *o = json_object(), *h = json_object();
	int bad = !o || !h;

	if (bad)
		goto fail;
	if (m->response) {
		bad |= set_new(o, "status", json_integer(m->status));
	} else {
		bad |= set_new(o, "method", json_string(m->method));
		bad |= set_new(o, "uri", json_string(m->uri));
		bad |= set_new(o, "query_string", json_string(m->query));
	}
	pt_vec_foreach(&m->headers, i) {
		const struct msg_hdr *x = &m->headers.v[i];
		json_t *l = json_object_get(h, x->name);

		if (!l) {
			l = json_array();
			bad |= set_new(h, x->name, l);
		}
		/* Strings must be UTF-8 for jansson: else keep it escaped. */
		json_t *s = json_string(x->value);
		if (!s)
			s = json_string("<invalid utf-8>");
		bad |= l ? json_array_append_new(l, s) : -1;
	}
	bad |= json_object_set(o, "headers", h);
	bad |= set_new(o, "body_type",
		       json_string(pt__body_kind_names[m->kind]));
	if (m->kind == BODY_JSON) {
		bad |= json_object_set(o, "body_json", m->json);
	} else if (m->kind == BODY_TEXT) {
		bad |= set_new(o, "body", json_stringn(m->body, m->body_len));
	} else {
		struct pt_buf b = PT_BUF_INIT;

		bad |= pt__b64_encode(m->body, m->body_len, &b) < 0;
		bad |= set_new(o, "body_blob", json_stringn(b.s, b.len));
		pt__buf_release(&b);
	}
	if (bad)
		goto fail;
	json_decref(h);
	return o;
fail:
	json_decref(h);
	json_decref(o);
	return NULL;
}

/* ---- URLs -------------------------------------------------------------- */

/*
 * scheme://host[:port]/path?query#fragment -> uri (no query, default
 * port dropped, scheme and host lower case) and query.
 */
int pt__msg_from_request(struct pt_cassette_msg *m,
			 const struct pt_http_request *req)
{
	const char *u = req->url ? req->url : "/";
	const char *p, *auth, *path, *q, *frag;
	const char *scheme = NULL, *host = "localhost";
	size_t scheme_len = 0, host_len = 9;
	struct pt_buf b = PT_BUF_INIT;
	const char *port = NULL;
	size_t port_len = 0;
	int r = -ENOMEM;

	memset(m, 0, sizeof(*m));
	if (!req->method)
		return -EINVAL;
	p = strstr(u, "://");
	if (p && p > u && strcspn(u, "/?#") > (size_t)(p - u)) {
		scheme = u;
		scheme_len = (size_t)(p - u);
		auth = p + 3;
	} else if (u[0] == '/' && u[1] == '/') {
		auth = u + 2;
	} else {
		auth = NULL;
	}
	path = auth ? auth + strcspn(auth, "/?#") : u;
	if (auth) {
		const char *h = auth, *he = path, *c;

		/* userinfo is not part of the uri */
		for (c = he; c > h; c--)
			if (c[-1] == '@') {
				h = c;
				break;
			}
		if (*h == '[') {
			c = memchr(h, ']', (size_t)(he - h));
			c = c ? c + 1 : he;
		} else {
			c = memchr(h, ':', (size_t)(he - h));
			c = c ? c : he;
		}
		if (c < he && *c == ':') {
			port = c + 1;
			port_len = (size_t)(he - port);
		}
		if (c > h) {
			host = h;
			host_len = (size_t)(c - h);
		}
	}
	if (!scheme) {
		bool tls = port && port_len == 3 && memcmp(port, "443", 3) == 0;

		scheme = tls ? "https" : "http";
		scheme_len = strlen(scheme);
	}
	if (port && ((scheme_len == 4 && strncasecmp(scheme, "http", 4) == 0 &&
		      port_len == 2 && memcmp(port, "80", 2) == 0) ||
		     (scheme_len == 5 && strncasecmp(scheme, "https", 5) == 0 &&
		      port_len == 3 && memcmp(port, "443", 3) == 0) ||
		     port_len == 0))
		port = NULL;
	q = path + strcspn(path, "?#");
	if (pt__buf_grow(&b, scheme_len + host_len + port_len +
				     (size_t)(q - path) + 8) < 0 ||
	    pt__buf_add(&b, scheme, scheme_len) < 0 ||
	    pt__buf_adds(&b, "://") < 0 || pt__buf_add(&b, host, host_len) < 0)
		goto out;
	/* scheme and host are case-insensitive: lower case */
	for (size_t i = 0; i < b.len; i++)
		b.s[i] = (char)tolower((unsigned char)b.s[i]);
	if (port &&
	    (pt__buf_addch(&b, ':') < 0 || pt__buf_add(&b, port, port_len) < 0))
		goto out;
	if (q == path ? pt__buf_addch(&b, '/') < 0
		      : pt__buf_add(&b, path, (size_t)(q - path)) < 0)
		goto out;
	m->uri = pt__buf_detach(&b, NULL);
	if (*q == '?') {
		q++;
		frag = q + strcspn(q, "#");
		m->query = pt__strndup(q, (size_t)(frag - q));
	} else {
		m->query = pt__strdup("");
	}
	m->method = pt__strdup(req->method);
	if (!m->uri || !m->query || !m->method)
		goto out;
	for (size_t i = 0; i < req->n_headers; i++) {
		if (!req->headers[i].name || !req->headers[i].value) {
			r = -EINVAL;
			goto out;
		}
		if (pt__msg_add_header(m, req->headers[i].name,
				       req->headers[i].value, true) < 0)
			goto out;
	}
	if (req->body_len && !req->body) {
		r = -EINVAL;
		goto out;
	}
	if (req->body_len == 0) {
		/* the common case: no body, a text body "" */
		m->body = pt__strdup("");
		if (!m->body)
			goto out;
		m->kind = BODY_TEXT;
	} else {
		m->body = pt__memdup(req->body, req->body_len);
		m->body_len = req->body_len;
		if (!m->body)
			goto out;
		r = pt__msg_set_body(m, req->body, req->body_len,
				     pt__body_detect(m));
		if (r < 0)
			goto out;
	}
	r = 0;
out:
	pt__buf_release(&b);
	if (r < 0)
		pt__msg_clear(m);
	return r;
}

/* ---- documents --------------------------------------------------------- */

static int diag(struct pt_diags *d, int code, const char *path, unsigned line,
		const char *field, const char *fmt, ...) PT_PRINTF(6, 7);

static int diag(struct pt_diags *d, int code, const char *path, unsigned line,
		const char *field, const char *fmt, ...)
{
	va_list ap;

	if (d) {
		va_start(ap, fmt);
		pt__diags_vadd(d, PT_SEV_ERROR, code, path, line, field, fmt,
			       ap);
		va_end(ap);
	}
	return code;
}

/* v0.1: a single response object {status, headers, body}. */
static json_t *migrate_v01(json_t *old)
{
	json_t *doc = json_object(), *list = json_array(), *ia = json_object();
	json_t *req = json_object(), *resp = json_object();
	json_t *h = json_object_get(old, "headers");
	json_t *b = json_object_get(old, "body");
	int bad = !doc || !list || !ia || !req || !resp;

	if (bad)
		goto fail;
	bad |= json_object_set_new(req, "method", json_string("UNKNOWN"));
	bad |= json_object_set_new(req, "uri", json_string("UNKNOWN"));
	bad |= json_object_set_new(req, "query_string", json_string(""));
	bad |= json_object_set_new(req, "headers", json_object());
	bad |= json_object_set_new(req, "body_type", json_string("text"));
	bad |= json_object_set_new(req, "body", json_string(""));
	bad |= json_object_set(resp, "status", json_object_get(old, "status"));
	bad |= json_object_set_new(resp, "headers",
				   json_is_object(h) ? json_deep_copy(h)
						     : json_object());
	if (json_is_string(b)) {
		json_error_t e;
		json_t *j =
			json_loadb(json_string_value(b), json_string_length(b),
				   JSON_DECODE_ANY, &e);

		if (j && (json_is_object(j) || json_is_array(j))) {
			bad |= json_object_set_new(resp, "body_type",
						   json_string("json"));
			bad |= json_object_set_new(resp, "body_json", j);
		} else {
			if (j)
				json_decref(j);
			bad |= json_object_set_new(resp, "body_type",
						   json_string("text"));
			bad |= json_object_set(resp, "body", b);
		}
	} else if (b && !json_is_null(b)) {
		bad |= json_object_set_new(resp, "body_type",
					   json_string("json"));
		bad |= json_object_set(resp, "body_json", b);
	} else {
		bad |= json_object_set_new(resp, "body_type",
					   json_string("text"));
		bad |= json_object_set_new(resp, "body", json_string(""));
	}
	bad |= json_object_set_new(ia, "request", req);
	req = NULL;
	bad |= json_object_set_new(ia, "response", resp);
	resp = NULL;
	bad |= json_object_set_new(ia, "recorded_at",
				   json_string("MIGRATED_FROM_V0.1"));
	bad |= json_array_append_new(list, ia);
	ia = NULL;
	bad |= json_object_set_new(doc, "version", json_string("2.0"));
	bad |= json_object_set_new(doc, "interactions", list);
	list = NULL;
	if (bad)
		goto fail;
	return doc;
fail:
	json_decref(req);
	json_decref(resp);
	json_decref(ia);
	json_decref(list);
	json_decref(doc);
	return NULL;
}

/* Major versions 1 and 2 share the layout; another major is a format
 * this reader does not know. */
static bool known_version(const char *v)
{
	return (v[0] == '1' || v[0] == '2') && (v[1] == '\0' || v[1] == '.');
}

int pt__cassette_parse(const char *path, const char *text, size_t len,
		       size_t max_interactions, struct pt_diags *diags,
		       json_t **ret)
{
	json_error_t e;
	json_t *doc, *v, *list;

	doc = json_loadb(text, len, 0, &e);
	if (!doc)
		return diag(diags, PT_EPARSE, path, (unsigned)PT_MAX(e.line, 0),
			    NULL,
			    "invalid JSON at line %d, column %d (byte %d): %s",
			    e.line, e.column, e.position, e.text);
	if (!json_is_object(doc)) {
		json_decref(doc);
		return diag(diags, PT_EPARSE, path, 1, NULL,
			    "a cassette is a JSON object");
	}
	v = json_object_get(doc, "version");
	list = json_object_get(doc, "interactions");
	if (!list && json_object_get(doc, "status")) {
		json_t *m = migrate_v01(doc);

		json_decref(doc);
		if (!m)
			return -ENOMEM;
		*ret = m;
		return 0;
	}
	if (v && !json_is_string(v)) {
		json_decref(doc);
		return diag(diags, PT_EPARSE, path, 0, "version",
			    "version: expected a string such as \"2.0\"");
	}
	if (v && !known_version(json_string_value(v))) {
		diag(diags, PT_EPARSE, path, 0, "version",
		     "version: \"%s\" is not a known version (1.x or 2.x)",
		     json_string_value(v));
		json_decref(doc);
		return PT_EPARSE;
	}
	if (!json_is_array(list)) {
		json_decref(doc);
		return diag(diags, PT_EPARSE, path, 0, "interactions",
			    "expected an array of interactions");
	}
	if (json_array_size(list) > max_interactions) {
		size_t n = json_array_size(list);

		json_decref(doc);
		return diag(diags, PT_ETOOBIG, path, 0, "interactions",
			    "%zu interactions, more than the limit of %zu", n,
			    max_interactions);
	}
	/* "1.x" and "2.x" share the layout */
	if (json_object_set_new(doc, "version", json_string("2.0")) < 0) {
		json_decref(doc);
		return -ENOMEM;
	}
	*ret = doc;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Raw segments of a query string sorted and rejoined (ReqCassette). */
int pt__sort_query(json_t *req)
{
	json_t *q = json_object_get(req, "query_string");
	const char *s;
	char *copy, **seg = NULL;
	size_t n = 1, k = 0;
	struct pt_buf b = PT_BUF_INIT;
	int r = -ENOMEM;

	if (!json_is_string(q) || !strchr(json_string_value(q), '&'))
		return 0;
	s = json_string_value(q);
	for (const char *p = s; *p; p++)
		n += *p == '&';
	copy = pt__strdup(s);
	seg = pt__malloc_array(n, sizeof(*seg));
	if (!copy || !seg)
		goto out;
	for (char *p = copy, *e;; p = e + 1) {
		e = strchr(p, '&');
		seg[k++] = p;
		if (!e)
			break;
		*e = '\0';
	}
	qsort(seg, k, sizeof(*seg), cmp_str);
	for (size_t i = 0; i < k; i++)
		if ((i && pt__buf_addch(&b, '&') < 0) ||
		    pt__buf_adds(&b, seg[i]) < 0)
			goto out;
	r = json_object_set_new(req, "query_string", json_string(b.s)) < 0
		    ? -ENOMEM
		    : 0;
out:
	pt__buf_release(&b);
	pt__free(seg);
	pt__free(copy);
	return r;
}

int pt__ia_normalize(json_t *ia)
{
	json_t *t = json_object_get(ia, "template");

	if (pt__sort_query(json_object_get(ia, "request")) < 0)
		return -ENOMEM;
	if (json_is_object(t))
		json_object_del(t, "compiled_patterns");
	return 0;
}

char *pt__cassette_dump(json_t *doc)
{
	json_t *list = json_object_get(doc, "interactions"), *ia;
	size_t i;
	char *s, *out;
	size_t n;

	json_object_set_new(doc, "version", json_string("2.0"));
	json_array_foreach(list, i, ia)
	{
		if (pt__ia_normalize(ia) < 0)
			return NULL;
	}
	s = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
	if (!s)
		return NULL;
	n = strlen(s);
	out = pt__malloc(n + 2);
	if (out) {
		memcpy(out, s, n);
		out[n] = '\n';
		out[n + 1] = '\0';
	}
	pt__json_free(s);
	return out;
}

int pt_cassette_file_name(const char *name, char **ret)
{
	struct pt_buf b = PT_BUF_INIT;
	int r = 0;

	if (!name || !ret)
		return -EINVAL;
	for (const char *p = name; *p && r == 0; p++) {
		unsigned char ch = (unsigned char)*p;

		if (isspace(ch)) {
			while (isspace((unsigned char)p[1]))
				p++;
			r = pt__buf_addch(&b, '_');
		} else {
			r = pt__buf_addch(&b,
					  isalnum(ch) || ch == '_' || ch == '-'
						  ? ch
						  : '_');
		}
	}
	if (r == 0)
		r = pt__buf_adds(&b, ".json");
	if (r < 0) {
		pt__buf_release(&b);
		return r;
	}
	*ret = pt__buf_detach(&b, NULL);
	return *ret ? 0 : -ENOMEM;
}
