/*
 * cassette/cassette.c - opening, matching, replaying and recording.
 *
 * Requests go through the filters (callback, regex, header removal) once,
 * and the filtered request is both what is stored and what is compared.
 * First-match lookups use an index keyed by the method and uri (the parts
 * of the key the match set includes), then check the full match set on
 * the interactions of one bucket, in file order.
 *
 * Recording forwards, then appends the interaction to the file in place
 * (disk.c): several processes recording into one cassette lose nothing,
 * which ReqCassette's load-modify-save does not guarantee.
 */
#include "base/common.h"
#include "base/diag.h"
#include "cassette/internal.h"
#include "os/clock.h"
#include "os/fd.h"
#include "os/file.h"
#include "os/path.h"

#include <fcntl.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct bucket {
	char *key;
	PT_VEC(uint32_t) ix;
};

/* One (method, uri) stream of per-path sequential matching. */
struct stream {
	char *key;
	PT_VEC(uint32_t) ix; /* its interactions, in file order */
	size_t next;	     /* the next request's position in ix */
};

/* ---- responses ---------------------------------------------------------- */

int pt_http_response_new(struct pt_http_response **ret)
{
	struct pt_http_response *r;

	if (!ret)
		return -EINVAL;
	r = pt__calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	*ret = r;
	return 0;
}

struct pt_http_response *pt_http_response_free(struct pt_http_response *r)
{
	if (!r)
		return NULL;
	for (size_t i = 0; i < r->n_headers; i++) {
		pt__free((void *)(uintptr_t)r->headers[i].name);
		pt__free((void *)(uintptr_t)r->headers[i].value);
	}
	pt__free(r->headers);
	pt__free(r->body);
	pt__free(r);
	return NULL;
}

int pt_http_response_add_header(struct pt_http_response *r, const char *name,
				const char *value)
{
	struct pt_http_header *h;
	char *n, *v;

	if (!r || !name || !value)
		return -EINVAL;
	h = pt__realloc_array(r->headers, r->n_headers + 1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	r->headers = h;
	n = pt__strdup(name);
	v = pt__strdup(value);
	if (!n || !v) {
		pt__free(n);
		pt__free(v);
		return -ENOMEM;
	}
	h[r->n_headers].name = n;
	h[r->n_headers].value = v;
	r->n_headers++;
	return 0;
}

int pt_http_response_set_body(struct pt_http_response *r, const void *body,
			      size_t len)
{
	char *b;

	if (!r || (len && !body))
		return -EINVAL;
	b = pt__malloc(len + 1);
	if (!b)
		return -ENOMEM;
	if (len)
		memcpy(b, body, len);
	b[len] = '\0';
	pt__free(r->body);
	r->body = b;
	r->body_len = len;
	return 0;
}

/* The response the client gets from a stored one: JSON compact, text as
 * is, blob decoded; a header with several values comes out once per value,
 * in the recorded order (two Set-Cookie stay two). */
static int response_from_msg(const struct pt_cassette_msg *m,
			     struct pt_http_response **ret)
{
	struct pt_http_response *r;
	int e;

	e = pt_http_response_new(&r);
	if (e < 0)
		return e;
	r->status = m->status;
	for (size_t i = 0; i < m->headers.n; i++)
		if (pt_http_response_add_header(r, m->headers.v[i].name,
						m->headers.v[i].value) < 0)
			goto nomem;
	if (pt_http_response_set_body(r, m->body, m->body_len) < 0)
		goto nomem;
	*ret = r;
	return 0;
nomem:
	pt_http_response_free(r);
	return -ENOMEM;
}

static int replay_entry(struct entry *e, const struct pt__tpl_match *mm,
			struct pt_http_response **ret)
{
	struct pt_cassette_msg m;
	struct pt_buf err = PT_BUF_INIT;
	int r;

	r = pt__msg_from_json(&m, json_object_get(e->ia, "response"), true,
			      &err);
	if (r == 0 && mm)
		r = pt__tpl_apply(mm, &m);
	if (r == 0)
		r = response_from_msg(&m, ret);
	pt__msg_clear(&m);
	pt__buf_release(&err);
	return r;
}

/* ---- the interaction table ------------------------------------------- */

static void entries_clear(struct pt_cassette *c)
{
	pt_vec_foreach(&c->e, i) {
		pt__canon_clear(&c->e.v[i].c);
		pt__tpl_free(c->e.v[i].tpl);
	}
	pt_vec_release(&c->e);
	pt_vec_release(&c->tpl_ix);
	pt_map_foreach(&c->index, slot)
	{
		struct bucket *b = slot->value;

		pt__free(b->key);
		pt_vec_release(&b->ix);
		pt__free(b);
	}
	pt__map_release(&c->index);
	pt_map_foreach(&c->streams, slot)
	{
		struct stream *st = slot->value;

		st->ix.n = 0;
	}
}

static void streams_free(struct pt_cassette *c)
{
	pt_map_foreach(&c->streams, slot)
	{
		struct stream *st = slot->value;

		pt__free(st->key);
		pt_vec_release(&st->ix);
		pt__free(st);
	}
	pt__map_release(&c->streams);
}

/* The stream of method and uri (canonical), created when missing. */
static struct stream *stream_get(struct pt_cassette *c, const char *method,
				 const char *uri)
{
	struct pt_buf k = PT_BUF_INIT;
	struct stream *st;

	if (pt__buf_addf(&k, "%s %s", method, uri) < 0)
		return NULL;
	st = pt__map_gets(&c->streams, k.s);
	if (!st) {
		st = pt__calloc(1, sizeof(*st));
		if (!st || pt__map_put(&c->streams, k.s, k.len, st, NULL) < 0) {
			pt__free(st);
			pt__buf_release(&k);
			return NULL;
		}
		st->key = pt__buf_detach(&k, NULL);
	}
	pt__buf_release(&k);
	return st;
}

static int index_add(struct pt_map *index, const char *key, uint32_t i)
{
	struct bucket *b = pt__map_gets(index, key);

	if (!b) {
		b = pt__calloc(1, sizeof(*b));
		if (!b)
			return -ENOMEM;
		b->key = pt__strdup(key);
		if (!b->key ||
		    pt__map_put(index, b->key, strlen(b->key), b, NULL) < 0) {
			pt__free(b->key);
			pt__free(b);
			return -ENOMEM;
		}
	}
	return pt_vec_push(&b->ix, i);
}

/* Validates interaction ia (number i) and adds its entry to the table
 * (c->e must have room). */
int pt__entry_add(struct pt_cassette *c, json_t *ia, size_t i,
		  struct pt_diags *diags)
{
	struct pt_buf err = PT_BUF_INIT;
	struct pt_cassette_msg req, resp;
	struct entry e = { .ia = ia };
	const char *part = "request";
	int r;

	if (!json_is_object(ia)) {
		r = PT_EPARSE;
		pt__buf_adds(&err, ": expected an object");
		part = "";
		goto bad;
	}
	r = pt__msg_from_json(&req, json_object_get(ia, "request"), false,
			      &err);
	if (r == 0)
		r = pt__canon_build(&e.c, &req, c->match,
				    c->o.match_ignore_headers, true);
	pt__msg_clear(&req);
	if (r < 0)
		goto bad;
	part = "response";
	r = pt__msg_from_json(&resp, json_object_get(ia, "response"), true,
			      &err);
	pt__msg_clear(&resp);
	if (r == 0) {
		part = "";
		r = pt__tpl_from_json(json_object_get(ia, "template"), &err,
				      &e.tpl);
		if (r == PT_EPARSE) {
			struct pt_buf m2 = PT_BUF_INIT;

			pt__buf_addf(&m2, ".%s", err.s);
			pt__buf_reset(&err);
			pt__buf_add(&err, m2.s, m2.len);
			pt__buf_release(&m2);
		}
	}
	if (r < 0) {
		pt__canon_clear(&e.c);
		goto bad;
	}
	c->e.v[c->e.n++] = e;
	/* templated requests are compared after templating the incoming
	 * one: they cannot be indexed by their uri */
	r = e.tpl ? pt_vec_push(&c->tpl_ix, (uint32_t)i)
		  : index_add(&c->index, e.c.keys.s, (uint32_t)i);
	if (r == 0 && c->o.per_path && !e.tpl) {
		struct stream *st = stream_get(c, e.c.method, e.c.uri);

		r = st ? pt_vec_push(&st->ix, (uint32_t)i) : -ENOMEM;
	}
	pt__buf_release(&err);
	return r;
bad:
	if (r == PT_EPARSE && diags) {
		char field[64];

		snprintf(field, sizeof(field), "interactions[%zu]%s%s", i,
			 *part ? "." : "", part);
		pt__diags_add(diags, PT_SEV_ERROR, PT_EPARSE, c->path, 0, field,
			      "%s%s%s", field, *part ? "." : "", err.s);
	}
	pt__buf_release(&err);
	return r;
}

/* Validates every interaction of doc and builds entries + index. */
int pt__entries_build(struct pt_cassette *c, json_t *doc,
		      struct pt_diags *diags)
{
	json_t *list = json_object_get(doc, "interactions"), *ia;
	size_t i;
	int r = 0;

	entries_clear(c);
	r = pt_vec_reserve(&c->e, json_array_size(list));
	if (r < 0)
		return r;
	if (pt__map_reserve(&c->index, json_array_size(list)) < 0)
		return -ENOMEM;
	json_array_foreach(list, i, ia)
	{
		r = pt__entry_add(c, ia, i, diags);
		if (r < 0)
			break;
	}
	if (r < 0)
		entries_clear(c);
	return r;
}

/* ---- open / free -------------------------------------------------------- */

static int new_doc(json_t **ret)
{
	json_t *d = json_object();

	if (!d || json_object_set_new(d, "version", json_string("2.0")) < 0 ||
	    json_object_set_new(d, "interactions", json_array()) < 0) {
		json_decref(d);
		return -ENOMEM;
	}
	*ret = d;
	return 0;
}

/* Reads and parses the file (between appends) and learns where an
 * append goes. -ENOENT when missing. */
static int load_doc(struct pt_cassette *c, struct pt_diags *diags, json_t **ret)
{
	char *text = NULL;
	size_t len = 0;
	struct stat st;
	int r;

	r = pt__disk_read(c, &text, &len, &st);
	if (r == PT_ETOOBIG) {
		if (diags)
			pt__diags_add(diags, PT_SEV_ERROR, r, c->path, 0, NULL,
				      "cassette is larger than the limit of "
				      "%zu bytes",
				      c->o.max_bytes);
		return r;
	}
	if (r < 0) {
		if (r != -ENOENT && diags)
			pt__diags_add(diags, PT_SEV_ERROR, r, c->path, 0, NULL,
				      "cannot read the cassette: %s",
				      pt_strerror(r));
		return r;
	}
	r = pt__cassette_parse(c->path, text, len, c->o.max_interactions, diags,
			       ret);
	if (r == 0 && c->o.mode == PT_CASSETTE_RECORD) {
		r = pt__disk_know(c, *ret, text, len, &st);
		if (r < 0)
			json_decref(*ret);
	}
	pt__free(text);
	return r;
}

static char *abs_path(const char *p)
{
	struct pt_buf b = PT_BUF_INIT;
	char cwd[4096];

	if (p[0] != '/') {
		if (pt__getcwd(cwd, sizeof(cwd)) < 0)
			return NULL;
		if (pt__buf_adds(&b, cwd) < 0 || pt__buf_addch(&b, '/') < 0)
			goto fail;
	}
	if (pt__buf_adds(&b, p) < 0)
		goto fail;
	return pt__buf_detach(&b, NULL);
fail:
	pt__buf_release(&b);
	return NULL;
}

int pt_cassette_open(const char *path, const struct pt_cassette_opts *opts,
		     struct pt_diags *diags, struct pt_cassette **ret)
{
	struct pt_cassette_opts def = PT_CASSETTE_OPTS_INIT;
	struct pt_cassette *c;
	struct pt_buf lp = PT_BUF_INIT;
	int r = -ENOMEM;

	if (!path || !*path || !ret)
		return -EINVAL;
	if (!opts)
		opts = &def;
	if (opts->mode > PT_CASSETTE_BYPASS ||
	    (opts->n_filters && !opts->filters))
		return -EINVAL;
	c = pt__calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	pthread_mutex_init(&c->mu, NULL);
	c->o = *opts;
	if (!c->o.max_bytes)
		c->o.max_bytes = PT_CASSETTE_MAX_BYTES;
	if (!c->o.max_interactions)
		c->o.max_interactions = PT_CASSETTE_MAX_INTERACTIONS;
	c->match = opts->match ? opts->match : PT_MATCH_DEFAULT;
	c->path = pt__strdup(path);
	c->key = abs_path(path);
	if (pt__buf_addf(&lp, "%s.lock", path) < 0)
		goto fail;
	c->lockpath = pt__buf_detach(&lp, NULL);
	if (!c->path || !c->key || !c->lockpath)
		goto fail;
	if (c->o.n_filters) {
		c->re = pt__calloc(c->o.n_filters, sizeof(*c->re));
		if (!c->re)
			goto fail;
	}
	for (size_t i = 0; i < c->o.n_filters; i++) {
		int ec;
		PCRE2_SIZE off;

		if (!c->o.filters[i].pattern) {
			r = -EINVAL;
			goto fail;
		}
		c->re[i] = pcre2_compile((PCRE2_SPTR)c->o.filters[i].pattern,
					 PCRE2_ZERO_TERMINATED, 0, &ec, &off,
					 NULL);
		if (!c->re[i]) {
			PCRE2_UCHAR msg[256];
			char field[32];

			pcre2_get_error_message(ec, msg, sizeof(msg));
			snprintf(field, sizeof(field), "filters[%zu]", i);
			if (diags)
				pt__diags_add(
					diags, PT_SEV_ERROR, PT_EPARSE, NULL, 0,
					field,
					"%s: bad pattern at offset %zu: %s",
					field, (size_t)off, (char *)msg);
			r = PT_EPARSE;
			goto fail;
		}
	}
	if (c->o.tmpl) {
		struct pt_buf err = PT_BUF_INIT;

		r = pt__tpl_from_opts(c->o.tmpl, &err, &c->tpl);
		if (r < 0 && diags)
			pt__diags_add(diags, PT_SEV_ERROR, r, NULL, 0,
				      "template", "template: %s", err.s);
		pt__buf_release(&err);
		if (r < 0)
			goto fail;
		c->o.sequential = true; /* a template implies it */
	}
	if (c->o.mode == PT_CASSETTE_BYPASS) {
		r = new_doc(&c->doc);
	} else {
		r = load_doc(c, diags, &c->doc);
		if (r == -ENOENT && c->o.mode == PT_CASSETTE_RECORD) {
			r = new_doc(&c->doc);
		} else if (r == -ENOENT) {
			if (diags)
				pt__diags_add(diags, PT_SEV_ERROR, PT_ENOTFOUND,
					      c->path, 0, NULL,
					      "cassette not found (mode is "
					      "replay: record it first)");
			r = PT_ENOTFOUND;
		}
	}
	if (r < 0)
		goto fail;
	r = pt__entries_build(c, c->doc, diags);
	if (r < 0)
		goto fail;
	if (c->o.per_path)
		c->o.sequential = true;
	if (c->o.sequential && !c->o.per_path) {
		c->session = c->o.session;
		if (!c->session) {
			r = pt__session_default(&c->session);
			if (r < 0)
				goto fail;
		}
		r = pt__session_acquire(c->session, c->key, &c->slot);
		if (r < 0)
			goto fail;
	}
	*ret = c;
	return 0;
fail:
	pt__buf_release(&lp);
	pt_cassette_free(c);
	return r;
}

struct pt_cassette *pt_cassette_free(struct pt_cassette *c)
{
	if (!c)
		return NULL;
	if (c->slot)
		pt__session_release(c->session, c->slot);
	pt__tpl_free(c->tpl);
	entries_clear(c);
	streams_free(c);
	if (c->doc)
		json_decref(c->doc);
	for (size_t i = 0; c->re && i < c->o.n_filters; i++)
		pcre2_code_free(c->re[i]);
	pt__free(c->re);
	pt__free(c->path);
	pt__free(c->key);
	pt__free(c->lockpath);
	pt__disk_clear(&c->disk);
	pthread_mutex_destroy(&c->mu);
	pt__free(c);
	return NULL;
}

size_t pt_cassette_count(struct pt_cassette *c)
{
	size_t n;

	if (!c)
		return 0;
	pthread_mutex_lock(&c->mu);
	n = c->e.n;
	pthread_mutex_unlock(&c->mu);
	return n;
}

/* ---- filters --------------------------------------------------------------
 */

static bool listed(const char *const *names, const char *name)
{
	for (; names && *names; names++)
		if (strcasecmp(*names, name) == 0)
			return true;
	return false;
}

static void drop_headers(struct pt_cassette_msg *m, const char *const *names)
{
	size_t o = 0;

	if (!names)
		return;
	pt_vec_foreach(&m->headers, i) {
		struct msg_hdr h = m->headers.v[i];

		if (listed(names, h.name)) {
			pt__free(h.name); /* and the value */
		} else {
			m->headers.v[o++] = h;
		}
	}
	m->headers.n = o;
}

/* Regex filters on a body: JSON through its text, kept if it stays
 * valid JSON; blobs on their bytes. */
static int regex_body(struct pt_cassette *c, struct pt_cassette_msg *m)
{
	char *s;
	size_t n = m->body_len;
	int r;

	if (!c->o.n_filters || !m->body_len)
		return 0;
	s = pt__memdup(m->body, m->body_len + 1);
	if (!s)
		return -ENOMEM;
	r = pt__apply_regex(c, &s, &n);
	if (r == 0 && (n != m->body_len || memcmp(s, m->body, n) != 0)) {
		enum body_kind k = m->kind;
		json_t *old = m->json ? json_incref(m->json) : NULL;
		char *oldb = pt__memdup(m->body, m->body_len + 1);
		size_t oldn = m->body_len;

		r = oldb ? pt__msg_set_body(m, s, n, k) : -ENOMEM;
		if (r == 0 && m->kind != k && oldb) {
			/* no longer valid JSON: keep the original */
			r = pt__msg_set_body(m, oldb, oldn, k);
		}
		pt__free(oldb);
		if (old)
			json_decref(old);
	}
	pt__free(s);
	return r;
}

static int regex_field(struct pt_cassette *c, char **f)
{
	size_t n = strlen(*f);

	return c->o.n_filters ? pt__apply_regex(c, f, &n) : 0;
}

static int filter_request(struct pt_cassette *c, struct pt_cassette_msg *m)
{
	int r = 0;

	if (c->o.filter_request)
		r = c->o.filter_request(c->o.filter_ctx, m);
	if (r == 0)
		r = regex_body(c, m);
	if (r == 0)
		r = regex_field(c, &m->uri);
	if (r == 0)
		r = regex_field(c, &m->query);
	if (r == 0)
		drop_headers(m, c->o.filter_request_headers);
	return r;
}

static int filter_response(struct pt_cassette *c, struct pt_cassette_msg *req,
			   struct pt_cassette_msg *resp)
{
	int r = regex_body(c, resp);

	if (r == 0)
		drop_headers(resp, c->o.filter_response_headers);
	if (r == 0 && c->o.filter_response)
		r = c->o.filter_response(c->o.filter_ctx, resp);
	if (r == 0 && c->o.before_record)
		r = c->o.before_record(c->o.filter_ctx, req, resp);
	return r;
}

/* ---- diagnostics ----------------------------------------------------------
 */

static const struct {
	unsigned bit;
	const char *name;
} fields[] = {
	{ PT_MATCH_METHOD, "method" }, { PT_MATCH_URI, "uri" },
	{ PT_MATCH_QUERY, "query" },   { PT_MATCH_HEADERS, "headers" },
	{ PT_MATCH_BODY, "body" },     { PT_MATCH_BODY_JSON, "body_json" },
};

/* A value in quotes, escaped, cut at 200 bytes. Header keys (name NUL
 * value NUL ...) print as "name: value; ...". */
static void add_value(struct pt_buf *b, const char *s, size_t n, bool pairs)
{
	pt__buf_addch(b, '"');
	for (size_t i = 0, k = 0; i < n && i < 200; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '\0' && pairs)
			pt__buf_adds(b,
				     k++ % 2 ? (i + 1 < n ? "; " : "") : ": ");
		else if (ch == '\0')
			pt__buf_adds(b, "\\0");
		else if (ch == '"' || ch == '\\')
			pt__buf_addf(b, "\\%c", ch);
		else if (ch < 0x20)
			pt__buf_addf(b, "\\x%02x", ch);
		else
			pt__buf_addch(b, ch);
	}
	pt__buf_addch(b, '"');
	if (n > 200)
		pt__buf_adds(b, "...");
}

static void field_values(const struct canon *x, unsigned bit, const char **s,
			 size_t *n)
{
	switch (bit) {
	case PT_MATCH_METHOD:
		*s = x->method, *n = strlen(x->method);
		break;
	case PT_MATCH_URI:
		*s = x->uri, *n = strlen(x->uri);
		break;
	case PT_MATCH_QUERY:
		*s = x->query, *n = strlen(x->query);
		break;
	case PT_MATCH_HEADERS:
		*s = x->keys.s + x->h_off, *n = x->h_len;
		break;
	case PT_MATCH_BODY_JSON:
		if (x->jvalid) {
			*s = x->jkey.s, *n = x->jkey.len;
			break;
		}
		*s = x->bkey.s, *n = x->bkey.len;
		break;
	default:
		*s = x->bkey.s, *n = x->bkey.len;
		break;
	}
}

/*
 * "no matching interaction" with the matcher summary (a field matches if
 * any interaction matches it) and the closest interaction (fewest
 * differing fields, the first of equals) with stored and incoming values.
 */
static int explain(struct pt_cassette *c, const struct canon *in,
		   long seq_index, struct pt_diags *diags)
{
	struct pt_buf b = PT_BUF_INIT, fl = PT_BUF_INIT;
	unsigned any_match = 0, best_d = 0;
	size_t best = SIZE_MAX, lo = 0, hi = c->e.n;

	if (!diags)
		return PT_ENOMATCH;
	pt__buf_addf(&b, "no matching interaction for %s %s%s%s", in->method,
		     in->uri, *in->query ? "?" : "", in->query);
	if (seq_index >= 0) {
		pt__buf_addf(&b, " at sequential index %ld", seq_index);
		if ((size_t)seq_index >= c->e.n) {
			pt__buf_addf(&b, ": past the end (%zu interactions)",
				     c->e.n);
			lo = hi = 0;
		} else {
			lo = (size_t)seq_index;
			hi = lo + 1;
		}
	}
	for (size_t i = lo; i < hi; i++) {
		unsigned d = pt__canon_diff(&c->e.v[i].c, in, c->match);

		any_match |= c->match & ~d;
		if (best == SIZE_MAX ||
		    __builtin_popcount(d) < __builtin_popcount(best_d)) {
			best = i;
			best_d = d;
		}
	}
	if (c->e.n == 0)
		pt__buf_adds(&b, ": the cassette is empty");
	for (size_t f = 0; f < PT_ARRAY_SIZE(fields) && best != SIZE_MAX; f++)
		if (c->match & fields[f].bit)
			pt__buf_addf(&b, "\n  %s: %s", fields[f].name,
				     any_match & fields[f].bit ? "match"
							       : "NO match");
	if (best != SIZE_MAX) {
		const struct canon *s = &c->e.v[best].c;

		pt__buf_addf(&b, "\nclosest is interaction #%zu (%s %s%s%s)",
			     best, s->method, s->uri, *s->query ? "?" : "",
			     s->query);
		for (size_t f = 0; f < PT_ARRAY_SIZE(fields); f++) {
			const char *sv, *iv;
			size_t sn, inn;

			if (!(best_d & fields[f].bit))
				continue;
			pt__buf_addf(&fl, "%s%s", fl.len ? "," : "",
				     fields[f].name);
			field_values(s, fields[f].bit, &sv, &sn);
			field_values(in, fields[f].bit, &iv, &inn);
			pt__buf_addf(&b, "\n  %s differs:\n    stored: ",
				     fields[f].name);
			add_value(&b, sv, sn,
				  fields[f].bit == PT_MATCH_HEADERS);
			pt__buf_adds(&b, "\n    value:  ");
			add_value(&b, iv, inn,
				  fields[f].bit == PT_MATCH_HEADERS);
		}
	}
	pt__diags_add(diags, PT_SEV_ERROR, PT_ENOMATCH, c->path, 0,
		      fl.len ? fl.s : NULL, "%s", b.s);
	pt__buf_release(&b);
	pt__buf_release(&fl);
	return PT_ENOMATCH;
}

/* ---- lookup ----------------------------------------------------------------
 */

/* 1 when entry e matches (*mm set for a templated one), 0 when not. */
static int entry_match(struct pt_cassette *c, struct entry *e,
		       const struct canon *in, const struct pt_cassette_msg *m,
		       struct pt__tpl_match **mm)
{
	*mm = NULL;
	if (!e->tpl)
		return pt__canon_diff(&e->c, in, c->match) == 0;
	return pt__tpl_compare(e->tpl, c->match, &e->c, in->method, in->uri,
			       in->query, m, mm) == 1;
}

/* First match in file order: the index bucket, and templated entries. */
static long find_locked(struct pt_cassette *c, const struct canon *in,
			const struct pt_cassette_msg *m,
			struct pt__tpl_match **mm)
{
	struct bucket *b = pt__map_get(&c->index, in->keys.s, in->key_len);
	long best = -1;

	*mm = NULL;
	if (b) {
		pt_vec_foreach(&b->ix, k) {
			uint32_t i = b->ix.v[k];

			if (pt__canon_diff(&c->e.v[i].c, in, c->match) == 0) {
				best = (long)i;
				break;
			}
		}
	}
	pt_vec_foreach(&c->tpl_ix, k) {
		uint32_t i = c->tpl_ix.v[k];

		if (best >= 0 && (long)i > best)
			break;
		if (entry_match(c, &c->e.v[i], in, m, mm))
			return (long)i;
	}
	return best;
}

static int incoming(struct pt_cassette *c, const struct pt_http_request *req,
		    struct pt_cassette_msg *m, struct canon *in, bool steal)
{
	int r;

	if (!req || !req->method)
		return -EINVAL;
	r = pt__msg_from_request(m, req);
	if (r < 0)
		return r;
	r = filter_request(c, m);
	if (r == 0)
		r = pt__canon_build(in, m, c->match, c->o.match_ignore_headers,
				    steal);
	if (r < 0)
		pt__msg_clear(m);
	return r;
}

int pt_cassette_find(struct pt_cassette *c, const struct pt_http_request *req)
{
	struct pt__tpl_match *mm = NULL;
	struct pt_cassette_msg m;
	struct canon in;
	long i;
	int r;

	if (!c)
		return -EINVAL;
	r = incoming(c, req, &m, &in, true);
	if (r < 0)
		return r;
	pthread_mutex_lock(&c->mu);
	i = find_locked(c, &in, &m, &mm);
	pthread_mutex_unlock(&c->mu);
	pt__tpl_match_free(mm);
	pt__canon_clear(&in);
	pt__msg_clear(&m);
	return i < 0 ? PT_ENOMATCH : (int)i;
}

/* ---- recording --------------------------------------------------------------
 */

static int timestamp(char *buf, size_t size)
{
	int64_t ns = pt__wall_ns();
	time_t t = (time_t)(ns / 1000000000);
	struct tm tm;

	if (!gmtime_r(&t, &tm))
		return -EINVAL;
	snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, (long)(ns % 1000000000 / 1000));
	return 0;
}

static int msg_from_response(struct pt_cassette_msg *m,
			     const struct pt_http_response *resp)
{
	int r = 0;

	memset(m, 0, sizeof(*m));
	m->response = true;
	m->status = resp->status;
	snprintf(m->status_text, sizeof(m->status_text), "%d", resp->status);
	for (size_t i = 0; i < resp->n_headers && r == 0; i++)
		r = pt__msg_add_header(m, resp->headers[i].name,
				       resp->headers[i].value, false);
	if (r == 0)
		r = pt__msg_set_body(m, resp->body ? resp->body : "",
				     resp->body_len, BODY_TEXT);
	/* A JSON response is stored as body_json only when replaying it
	 * gives the same bytes; else its bytes are kept as text (or a blob):
	 * key order, number text, duplicate keys and white space survive. */
	if (r == 0 && pt__body_detect(m) == BODY_JSON &&
	    pt__json_canonical(m->body, m->body_len))
		r = pt__msg_set_body(m, m->body, m->body_len, BODY_JSON);
	if (r < 0)
		pt__msg_clear(m);
	return r;
}

static int record(struct pt_cassette *c, struct pt_cassette_msg *req,
		  const struct pt_http_response *resp, struct pt_diags *diags)
{
	struct pt_cassette_msg rm;
	json_t *ia = NULL, *jq = NULL, *jr = NULL, *block = NULL;
	char ts[96];
	int r;

	if (resp->status < 100 || resp->status > 999)
		return PT_EPROTO;
	r = msg_from_response(&rm, resp);
	if (r < 0)
		return r;
	r = filter_response(c, req, &rm);
	if (r == 0 && c->tpl)
		r = pt__tpl_record(c->tpl, req, &rm, &block);
	if (r < 0)
		goto out;
	jq = pt__msg_to_json(req);
	jr = pt__msg_to_json(&rm);
	ia = json_object();
	timestamp(ts, sizeof(ts));
	if (!jq || !jr || !ia || json_object_set(ia, "request", jq) < 0 ||
	    json_object_set(ia, "response", jr) < 0 ||
	    json_object_set_new(ia, "recorded_at", json_string(ts)) < 0 ||
	    (block && json_object_set(ia, "template", block) < 0)) {
		json_decref(ia);
		r = -ENOMEM;
		goto out;
	}
	r = pt__disk_append(c, ia, diags);
out:
	json_decref(block);
	json_decref(jq);
	json_decref(jr);
	pt__msg_clear(&rm);
	return r;
}

static int forward(pt_cassette_forward_fn fwd, void *ctx,
		   const struct pt_http_request *req,
		   struct pt_http_response **ret)
{
	struct pt_http_response *resp;
	int r;

	if (!fwd)
		return -ENOTCONN;
	r = pt_http_response_new(&resp);
	if (r < 0)
		return r;
	r = fwd(ctx, req, resp);
	if (r < 0) {
		pt_http_response_free(resp);
		return r;
	}
	*ret = resp;
	return 0;
}

/*
 * The limits a record can be known to break before the request reaches
 * the upstream (which may act on it): the interaction count, and the file
 * size with the request's body alone. What the response adds is only
 * known after; see append_locked_file.
 */
static int check_limits(struct pt_cassette *c,
			const struct pt_http_request *req,
			struct pt_diags *diags)
{
	struct stat st;
	size_t n, size = 0;

	pthread_mutex_lock(&c->mu);
	n = c->e.n;
	pthread_mutex_unlock(&c->mu);
	if (n >= c->o.max_interactions) {
		if (diags)
			pt__diags_add(diags, PT_SEV_ERROR, PT_ETOOBIG, c->path,
				      0, "interactions",
				      "recording would exceed the limit of "
				      "%zu interactions (request not sent)",
				      c->o.max_interactions);
		return PT_ETOOBIG;
	}
	if (pt__stat(c->path, &st) == 0)
		size = (size_t)st.st_size;
	if (size + req->body_len > c->o.max_bytes) {
		if (diags)
			pt__diags_add(diags, PT_SEV_ERROR, PT_ETOOBIG, c->path,
				      0, NULL,
				      "recording would exceed the limit of "
				      "%zu bytes (request not sent)",
				      c->o.max_bytes);
		return PT_ETOOBIG;
	}
	return 0;
}

int pt_cassette_play(struct pt_cassette *c, const struct pt_http_request *req,
		     pt_cassette_forward_fn fwd, void *fwd_ctx,
		     struct pt_diags *diags, struct pt_http_response **ret_resp)
{
	struct pt_cassette_msg m;
	struct pt_http_response *resp = NULL;
	struct pt__tpl_match *mm = NULL;
	struct canon in;
	long hit = -1, seq = -1;
	size_t sk = SIZE_MAX, sn = 0; /* per-path: position, stream length */
	int r;

	if (!c || !req || !ret_resp)
		return -EINVAL;
	if (c->o.mode == PT_CASSETTE_BYPASS)
		return forward(fwd, fwd_ctx, req, ret_resp);
	r = incoming(c, req, &m, &in, false);
	if (r < 0)
		return r;
	pthread_mutex_lock(&c->mu);
	if (!c->o.sequential) {
		hit = find_locked(c, &in, &m, &mm);
	} else if (c->o.per_path) {
		struct stream *st = stream_get(c, in.method, in.uri);

		if (!st) {
			pthread_mutex_unlock(&c->mu);
			r = -ENOMEM;
			goto out;
		}
		size_t k = st->next++;

		if (k >= st->ix.n && c->o.mode == PT_CASSETTE_RECORD) {
			/* another process may have recorded it */
			pthread_mutex_unlock(&c->mu);
			pt__disk_refresh(c, NULL);
			pthread_mutex_lock(&c->mu);
		}
		seq = k < st->ix.n ? (long)st->ix.v[k] : (long)c->e.n;
		sk = k;
		sn = st->ix.n;
		if ((size_t)seq < c->e.n &&
		    entry_match(c, &c->e.v[seq], &in, &m, &mm))
			hit = seq;
	} else {
		int64_t i = pt__slot_next(c->slot);

		seq = i > LONG_MAX ? LONG_MAX : (long)i;
		if ((size_t)seq >= c->e.n && c->o.mode == PT_CASSETTE_RECORD) {
			pthread_mutex_unlock(&c->mu);
			pt__disk_refresh(c, NULL);
			pthread_mutex_lock(&c->mu);
		}
		if ((size_t)seq < c->e.n &&
		    entry_match(c, &c->e.v[seq], &in, &m, &mm))
			hit = seq;
	}
	if (hit >= 0) {
		r = replay_entry(&c->e.v[hit], mm, ret_resp);
		pthread_mutex_unlock(&c->mu);
		goto out;
	}
	if (c->o.mode == PT_CASSETTE_REPLAY) {
		if (sk != SIZE_MAX && sk >= sn) {
			r = PT_ENOMATCH;
			if (diags)
				pt__diags_add(diags, PT_SEV_ERROR, r, c->path,
					      0, NULL,
					      "no matching interaction for %s "
					      "%s%s%s: request %zu of its "
					      "(method, uri) stream, which has "
					      "%zu recorded",
					      in.method, in.uri,
					      *in.query ? "?" : "", in.query,
					      sk + 1, sn);
		} else {
			r = explain(c, &in, seq, diags);
		}
		pthread_mutex_unlock(&c->mu);
		goto out;
	}
	pthread_mutex_unlock(&c->mu);
	r = check_limits(c, req, diags);
	if (r < 0)
		goto out;
	r = forward(fwd, fwd_ctx, req, &resp);
	if (r < 0)
		goto out;
	r = record(c, &m, resp, diags);
	if (r < 0) {
		pt_http_response_free(resp);
		goto out;
	}
	*ret_resp = resp;
out:
	pt__tpl_match_free(mm);
	pt__canon_clear(&in);
	pt__msg_clear(&m);
	return r;
}

/* ---- inspection and saving
 * ---------------------------------------------------- */

static const char *str_at(json_t *o, const char *k, const char *def)
{
	json_t *v = json_object_get(o, k);

	return json_is_string(v) ? json_string_value(v) : def;
}

int pt_cassette_info(struct pt_cassette *c, size_t i,
		     struct pt_cassette_info *ret)
{
	struct pt_cassette_msg rm;
	struct pt_buf err = PT_BUF_INIT;
	struct pt_cassette_info x;
	json_t *ia, *rq, *rs;
	int r;

	if (!c || !ret)
		return -EINVAL;
	pthread_mutex_lock(&c->mu);
	if (i >= c->e.n) {
		pthread_mutex_unlock(&c->mu);
		return -ERANGE;
	}
	ia = c->e.v[i].ia;
	rq = json_object_get(ia, "request");
	rs = json_object_get(ia, "response");
	r = pt__msg_from_json(&rm, rs, true, &err);
	if (r == 0) {
		x.method = str_at(rq, "method", "");
		x.uri = str_at(rq, "uri", "");
		x.query_string = str_at(rq, "query_string", "");
		x.request_body_type = str_at(rq, "body_type", "text");
		x.status = rm.status;
		x.response_body_type = pt__body_kind_names[rm.kind];
		x.response_body_len = rm.body_len;
		x.recorded_at = str_at(ia, "recorded_at", "");
		*ret = x;
	}
	pt__msg_clear(&rm);
	pt__buf_release(&err);
	pthread_mutex_unlock(&c->mu);
	return r;
}

int pt_cassette_save_as(struct pt_cassette *c, const char *path)
{
	char *text;
	int r;

	if (!c || !path)
		return -EINVAL;
	pthread_mutex_lock(&c->mu);
	text = pt__cassette_dump(c->doc);
	pthread_mutex_unlock(&c->mu);
	if (!text)
		return -ENOMEM;
	r = pt__write_file_atomic(path, text, strlen(text), 0644);
	pt__free(text);
	return r;
}

int pt__cassette_from_text(const char *name, const char *text, size_t len,
			   const struct pt_cassette_opts *opts,
			   struct pt_diags *diags, struct pt_cassette **ret)
{
	struct pt_cassette_opts o = *opts;
	struct pt_cassette *c;
	json_t *doc;
	int r;

	o.mode = PT_CASSETTE_BYPASS;
	o.sequential = false;
	r = pt_cassette_open(name, &o, diags, &c);
	if (r < 0)
		return r;
	c->o.mode = opts->mode;
	if (len > c->o.max_bytes) {
		pt_cassette_free(c);
		return PT_ETOOBIG;
	}
	r = pt__cassette_parse(name, text, len, c->o.max_interactions, diags,
			       &doc);
	if (r == 0) {
		json_decref(c->doc);
		c->doc = doc;
		r = pt__entries_build(c, doc, diags);
	}
	if (r < 0) {
		pt_cassette_free(c);
		return r;
	}
	*ret = c;
	return 0;
}
