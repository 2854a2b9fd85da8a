/*
 * cassette/match.c - canonical requests, the matchers of ReqCassette
 * (method, uri, query, headers, body) plus a JSON body matcher, regex
 * filters, and the accessors that filter callbacks use.
 */
#include "base/common.h"
#include "base/str.h"
#include "cassette/internal.h"

#include <ctype.h>
#include <strings.h>

void pt__json_free(void *p)
{
	json_malloc_t m;
	json_free_t f;

	json_get_alloc_funcs(&m, &f);
	if (p)
		f(p);
}

void pt__canon_clear(struct canon *c)
{
	pt__free(c->method);
	pt__free(c->uri);
	pt__free(c->query);
	pt__buf_release(&c->keys);
	pt__buf_release(&c->bkey);
	pt__buf_release(&c->jkey);
	memset(c, 0, sizeof(*c));
}

struct kv {
	const char *k, *v;
	size_t kl, vl, pos;
};

static int kv_cmp(const void *a, const void *b)
{
	const struct kv *x = a, *y = b;
	size_t n = PT_MIN(x->kl, y->kl);
	int r = memcmp(x->k, y->k, n);

	if (r)
		return r;
	if (x->kl != y->kl)
		return x->kl < y->kl ? -1 : 1;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* application/x-www-form-urlencoded decoding, in place; returns length. */
static size_t url_decode(char *s, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '+') {
			s[o++] = ' ';
		} else if (s[i] == '%' && i + 2 < n &&
			   hexval((unsigned char)s[i + 1]) >= 0 &&
			   hexval((unsigned char)s[i + 2]) >= 0) {
			s[o++] = (char)(hexval((unsigned char)s[i + 1]) * 16 +
					hexval((unsigned char)s[i + 2]));
			i += 2;
		} else {
			s[o++] = s[i];
		}
	}
	return o;
}

/* Decoded key -> value map (last duplicate wins), sorted by key. */
static int query_key(const char *q, struct pt_buf *out)
{
	char scratch[512], *copy;
	struct kv small[16], *kv = small;
	size_t n = 1, k = 0, ql = strlen(q);
	int r = -ENOMEM;

	if (!*q)
		return 0;
	/* decoded in place in a copy: on the stack when it fits */
	copy = ql < sizeof(scratch) ? scratch : pt__malloc(ql + 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, q, ql + 1);
	for (const char *p = q; *p; p++)
		n += *p == '&';
	if (n > PT_ARRAY_SIZE(small)) {
		kv = pt__malloc_array(n, sizeof(*kv));
		if (!kv)
			goto out;
	}
	for (char *p = copy, *e;; p = e + 1) {
		char *eq, *end;

		e = strchr(p, '&');
		end = e ? e : p + strlen(p);
		if (end > p) {
			eq = memchr(p, '=', (size_t)(end - p));
			kv[k].k = p;
			kv[k].kl = url_decode(p, (size_t)((eq ? eq : end) - p));
			kv[k].v = eq ? eq + 1 : "";
			kv[k].vl =
				eq ? url_decode(eq + 1, (size_t)(end - eq - 1))
				   : 0;
			kv[k].pos = k;
			k++;
		}
		if (!e)
			break;
	}
	qsort(kv, k, sizeof(*kv), kv_cmp);
	for (size_t i = 0; i < k; i++) {
		if (i + 1 < k && kv[i].kl == kv[i + 1].kl &&
		    memcmp(kv[i].k, kv[i + 1].k, kv[i].kl) == 0)
			continue; /* the later one wins */
		if (pt__buf_add(out, kv[i].k, kv[i].kl) < 0 ||
		    pt__buf_addch(out, '\0') < 0 ||
		    pt__buf_add(out, kv[i].v, kv[i].vl) < 0 ||
		    pt__buf_addch(out, '\0') < 0)
			goto out;
	}
	r = 0;
out:
	if (kv != small)
		pt__free(kv);
	if (copy != scratch)
		pt__free(copy);
	return r;
}

struct hv {
	const char *name, *value;
};

static int hv_cmp(const void *a, const void *b)
{
	const struct hv *x = a, *y = b;
	int r = strcasecmp(x->name, y->name);

	return r ? r : strcmp(x->value, y->value);
}

const char *const pt_cassette_client_headers[] = {
	"user-agent",	  "accept", "accept-encoding", "connection", "host",
	"content-length", NULL,
};

static bool ignored(const char *const *names, const char *name)
{
	for (; names && *names; names++)
		if (strcasecmp(*names, name) == 0)
			return true;
	return false;
}

/* Names lowercased, each name's values sorted; the ignored names left
 * out. */
static int headers_key(const struct pt_cassette_msg *m,
		       const char *const *ignore, struct pt_buf *out)
{
	struct hv small[16], *hv = small;
	size_t n = 0;

	if (m->headers.n > PT_ARRAY_SIZE(small)) {
		hv = pt__malloc_array(m->headers.n, sizeof(*hv));
		if (!hv)
			return -ENOMEM;
	}
	pt_vec_foreach(&m->headers, i) {
		if (ignored(ignore, m->headers.v[i].name))
			continue;
		hv[n].name = m->headers.v[i].name;
		hv[n].value = m->headers.v[i].value;
		n++;
	}
	qsort(hv, n, sizeof(*hv), hv_cmp);
	for (size_t i = 0; i < n; i++) {
		size_t at = out->len;

		if (pt__buf_adds(out, hv[i].name) < 0 ||
		    pt__buf_addch(out, '\0') < 0 ||
		    pt__buf_adds(out, hv[i].value) < 0 ||
		    pt__buf_addch(out, '\0') < 0) {
			if (hv != small)
				pt__free(hv);
			return -ENOMEM;
		}
		for (char *p = out->s + at; *p; p++)
			*p = (char)tolower((unsigned char)*p);
	}
	if (hv != small)
		pt__free(hv);
	return 0;
}

static int json_key(json_t *j, struct pt_buf *out)
{
	char *s =
		json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	int r;

	if (!s)
		return -ENOMEM;
	r = pt__buf_adds(out, s);
	pt__json_free(s);
	return r;
}

int pt__canon_build(struct canon *c, struct pt_cassette_msg *m, unsigned match,
		    const char *const *ignore_headers, bool steal)
{
	size_t need;
	int r = -ENOMEM;

	memset(c, 0, sizeof(*c));
	pt__buf_init(&c->keys);
	pt__buf_init(&c->bkey);
	pt__buf_init(&c->jkey);
	if (steal) {
		/* the message's strings move here (incoming requests) */
		c->method = m->method;
		c->uri = m->uri;
		c->query = m->query;
		m->method = m->uri = m->query = NULL;
	} else {
		c->method = pt__strdup(m->method);
		c->uri = pt__strdup(m->uri);
		c->query = pt__strdup(m->query);
	}
	if (!c->method || !c->uri || !c->query)
		goto fail;
	for (char *p = c->method; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	/* one allocation for the keys in the common case */
	need = strlen(c->method) + strlen(c->uri) + strlen(c->query) + 8;
	pt_vec_foreach(&m->headers, i)
		need += strlen(m->headers.v[i].name) +
			strlen(m->headers.v[i].value) + 2;
	if (pt__buf_grow(&c->keys, need) < 0 ||
	    pt__buf_adds(&c->keys, (match & PT_MATCH_METHOD) ? c->method : "") <
		    0 ||
	    pt__buf_addch(&c->keys, ' ') < 0 ||
	    pt__buf_adds(&c->keys, (match & PT_MATCH_URI) ? c->uri : "") < 0)
		goto fail;
	c->key_len = c->keys.len;
	if (pt__buf_addch(&c->keys, '\0') < 0)
		goto fail;
	c->q_off = c->keys.len;
	if ((match & PT_MATCH_QUERY) && query_key(c->query, &c->keys) < 0)
		goto fail;
	c->q_len = c->keys.len - c->q_off;
	c->h_off = c->keys.len;
	if ((match & PT_MATCH_HEADERS) &&
	    headers_key(m, ignore_headers, &c->keys) < 0)
		goto fail;
	c->h_len = c->keys.len - c->h_off;
	c->kind = m->kind;
	if ((match & (PT_MATCH_BODY | PT_MATCH_BODY_JSON)) && m->body_len) {
		if (m->kind == BODY_JSON
			    ? json_key(m->json, &c->bkey) < 0
			    : pt__buf_add(&c->bkey, m->body, m->body_len) < 0)
			goto fail;
	}
	if (match & PT_MATCH_BODY_JSON) {
		if (m->kind == BODY_JSON) {
			if (pt__buf_add(&c->jkey, c->bkey.s, c->bkey.len) < 0)
				goto fail;
			c->jvalid = true;
		} else if (m->kind == BODY_TEXT && m->body_len) {
			json_error_t e;
			json_t *j = json_loadb(m->body, m->body_len,
					       JSON_DECODE_ANY, &e);

			if (j) {
				r = json_key(j, &c->jkey);
				json_decref(j);
				if (r < 0)
					goto fail;
				c->jvalid = true;
			}
		}
	}
	return 0;
fail:
	pt__canon_clear(c);
	return -ENOMEM;
}

static bool buf_eq(const struct pt_buf *a, const struct pt_buf *b)
{
	return a->len == b->len && memcmp(a->s, b->s, a->len) == 0;
}

unsigned pt__canon_diff(const struct canon *a, const struct canon *b,
			unsigned match)
{
	unsigned d = 0;

	if ((match & PT_MATCH_METHOD) && strcmp(a->method, b->method) != 0)
		d |= PT_MATCH_METHOD;
	if ((match & PT_MATCH_URI) && strcmp(a->uri, b->uri) != 0)
		d |= PT_MATCH_URI;
	if ((match & PT_MATCH_QUERY) &&
	    (a->q_len != b->q_len ||
	     memcmp(a->keys.s + a->q_off, b->keys.s + b->q_off, a->q_len) != 0))
		d |= PT_MATCH_QUERY;
	if ((match & PT_MATCH_HEADERS) &&
	    (a->h_len != b->h_len ||
	     memcmp(a->keys.s + a->h_off, b->keys.s + b->h_off, a->h_len) != 0))
		d |= PT_MATCH_HEADERS;
	if (match & PT_MATCH_BODY_JSON) {
		bool eq = a->jvalid && b->jvalid
				  ? buf_eq(&a->jkey, &b->jkey)
				  : a->kind == b->kind &&
					    buf_eq(&a->bkey, &b->bkey);
		if (!eq)
			d |= PT_MATCH_BODY_JSON;
	} else if ((match & PT_MATCH_BODY) &&
		   (a->kind != b->kind || !buf_eq(&a->bkey, &b->bkey))) {
		d |= PT_MATCH_BODY;
	}
	return d;
}

/* ---- regex filters ------------------------------------------------------ */

int pt__apply_regex(struct pt_cassette *c, char **s, size_t *len)
{
	for (size_t i = 0; i < c->o.n_filters; i++) {
		const char *rep = c->o.filters[i].replacement;
		pcre2_match_data *md;
		PCRE2_SIZE outlen = *len + 64;
		char *out = NULL;
		int rc;

		md = pcre2_match_data_create_from_pattern(c->re[i], NULL);
		if (!md)
			return -ENOMEM;
		for (int attempt = 0; attempt < 2; attempt++) {
			pt__free(out);
			out = pt__malloc(outlen + 1);
			if (!out) {
				pcre2_match_data_free(md);
				return -ENOMEM;
			}
			rc = pcre2_substitute(
				c->re[i], (PCRE2_SPTR)*s, *len, 0,
				PCRE2_SUBSTITUTE_GLOBAL |
					PCRE2_SUBSTITUTE_OVERFLOW_LENGTH,
				md, NULL, (PCRE2_SPTR)(rep ? rep : ""),
				PCRE2_ZERO_TERMINATED, (PCRE2_UCHAR *)out,
				&outlen);
			if (rc != PCRE2_ERROR_NOMEMORY)
				break;
		}
		pcre2_match_data_free(md);
		if (rc < 0) {
			pt__free(out);
			return PT_EPARSE;
		}
		out[outlen] = '\0';
		pt__free(*s);
		*s = out;
		*len = outlen;
	}
	return 0;
}

/* ---- accessors for callbacks ----------------------------------------------
 */

const char *pt_cassette_msg_get(const struct pt_cassette_msg *m,
				const char *field)
{
	if (!m || !field)
		return NULL;
	if (strcmp(field, "body") == 0)
		return m->body ? m->body : "";
	if (m->response)
		return strcmp(field, "status") == 0 ? m->status_text : NULL;
	if (strcmp(field, "method") == 0)
		return m->method;
	if (strcmp(field, "uri") == 0)
		return m->uri;
	if (strcmp(field, "query_string") == 0)
		return m->query;
	return NULL;
}

int pt_cassette_msg_set(struct pt_cassette_msg *m, const char *field,
			const char *value)
{
	char **slot = NULL, *copy;

	if (!m || !field || !value)
		return -EINVAL;
	if (strcmp(field, "body") == 0)
		return pt__msg_set_body(m, value, strlen(value), m->kind);
	if (m->response) {
		int64_t v;

		if (strcmp(field, "status") != 0)
			return -EINVAL;
		if (pt__parse_i64(value, &v) < 0 || v < 100 || v > 999)
			return -EINVAL;
		m->status = (int)v;
		snprintf(m->status_text, sizeof(m->status_text), "%d",
			 m->status);
		return 0;
	}
	if (strcmp(field, "method") == 0)
		slot = &m->method;
	else if (strcmp(field, "uri") == 0)
		slot = &m->uri;
	else if (strcmp(field, "query_string") == 0)
		slot = &m->query;
	if (!slot)
		return -EINVAL;
	copy = pt__strdup(value);
	if (!copy)
		return -ENOMEM;
	pt__free(*slot);
	*slot = copy;
	return 0;
}

const char *pt_cassette_msg_header(const struct pt_cassette_msg *m,
				   const char *name)
{
	if (!m || !name)
		return NULL;
	pt_vec_foreach(&m->headers, i) {
		if (strcasecmp(m->headers.v[i].name, name) == 0)
			return m->headers.v[i].value;
	}
	return NULL;
}

int pt_cassette_msg_set_header(struct pt_cassette_msg *m, const char *name,
			       const char *value)
{
	size_t o = 0;

	if (!m || !name)
		return -EINVAL;
	pt_vec_foreach(&m->headers, i) {
		struct msg_hdr h = m->headers.v[i];

		if (strcasecmp(h.name, name) == 0) {
			pt__free(h.name); /* and the value */
		} else {
			m->headers.v[o++] = h;
		}
	}
	m->headers.n = o;
	return value ? pt__msg_add_header(m, name, value, !m->response) : 0;
}
