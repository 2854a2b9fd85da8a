/*
 * mux/frame.c - wire framing: JSON lines and length-prefixed msgpack, to
 * and from jansson values.
 *
 * The msgpack decoder is our own: before anything is allocated, an
 * iterative pre-scan walks the whole frame, checking every declared
 * length and element count against the bytes that remain and the nesting
 * against PT_MUX_MAX_DEPTH; only a frame that passes is decoded (the
 * decoding recursion is therefore bounded). JSON goes through jansson
 * after a similar depth scan. Every error names the stream byte offset of
 * the frame and, inside a msgpack frame, the offset of the bad byte.
 */
#include "mux/frame.h"
#include "base/common.h"

/* ---- UTF-8 and envelope ------------------------------------------------ */

bool pt__mux_utf8_ok(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < len) {
		unsigned c = s[i];
		size_t n;
		uint32_t cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (len - i - 1 < n)
			return false;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		/* Overlong forms, surrogates, beyond U+10FFFF. */
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return false;
		i += n + 1;
	}
	return true;
}

const char *pt__mux_check_envelope(const json_t *msg)
{
	json_t *v;

	if (!json_is_object(msg))
		return "message is not an object";
	if (!json_is_string(json_object_get(msg, "type")))
		return "message has no \"type\" string";
	v = json_object_get(msg, "session");
	if (v && !json_is_string(v))
		return "\"session\" is not a string";
	v = json_object_get(msg, "id");
	if (v && !json_is_string(v))
		return "\"id\" is not a string";
	return NULL;
}

/* ---- Encoding ---------------------------------------------------------- */

/*
 * Depth of the deepest container (1 for a flat object); stops past max.
 * *nul_key is set when an object key holds a NUL byte: jansson refuses
 * those when reading JSON and cannot compare them, so neither format
 * carries them.
 */
static int value_depth(const json_t *v, int depth, int max, bool *nul_key)
{
	int d = depth, r;

	if ((json_is_object(v) || json_is_array(v)) && depth > max)
		return depth;
	if (json_is_object(v)) {
		const char *k;
		json_t *x;
		void *it;

		for (it = json_object_iter((json_t *)(uintptr_t)v); it;
		     it = json_object_iter_next((json_t *)(uintptr_t)v, it)) {
			k = json_object_iter_key(it);
			x = json_object_iter_value(it);
			if (memchr(k, 0, json_object_iter_key_len(it)))
				*nul_key = true;
			r = value_depth(x, depth + 1, max, nul_key);
			if (r > d)
				d = r;
			if (d > max)
				return d;
		}
		return d;
	}
	if (json_is_array(v)) {
		for (size_t i = 0; i < json_array_size(v); i++) {
			r = value_depth(json_array_get(v, i), depth + 1, max,
					nul_key);
			if (r > d)
				d = r;
			if (d > max)
				return d;
		}
		return d;
	}
	return depth - 1;
}

static int json_dump_cb(const char *data, size_t len, void *ctx)
{
	return pt__buf_add(ctx, data, len) < 0 ? -1 : 0;
}

static int put_be(struct pt_buf *b, int tag, uint64_t v, int bytes)
{
	unsigned char t[9];
	int n = 0;

	if (tag >= 0)
		t[n++] = (unsigned char)tag;
	for (int i = bytes - 1; i >= 0; i--)
		t[n++] = (unsigned char)(v >> (8 * i));
	return pt__buf_add(b, t, (size_t)n);
}

static int mp_put_str(struct pt_buf *b, const char *s, size_t len)
{
	int r;

	if (pt__mux_utf8_ok(s, len)) {
		if (len < 32)
			r = put_be(b, (int)(0xa0 | len), 0, 0);
		else if (len <= 0xff)
			r = put_be(b, 0xd9, len, 1);
		else if (len <= 0xffff)
			r = put_be(b, 0xda, len, 2);
		else
			r = put_be(b, 0xdb, len, 4);
	} else {
		/* Bytes that are not text travel as bin (docs/mux.md). */
		if (len <= 0xff)
			r = put_be(b, 0xc4, len, 1);
		else if (len <= 0xffff)
			r = put_be(b, 0xc5, len, 2);
		else
			r = put_be(b, 0xc6, len, 4);
	}
	return r < 0 ? r : pt__buf_add(b, s, len);
}

static int mp_put_count(struct pt_buf *b, size_t n, int fix, int t16, int t32)
{
	if (n < 16)
		return put_be(b, fix | (int)n, 0, 0);
	if (n <= 0xffff)
		return put_be(b, t16, n, 2);
	return put_be(b, t32, n, 4);
}

static int mp_put(struct pt_buf *b, const json_t *v)
{
	int r = 0;

	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		void *it = json_object_iter((json_t *)(uintptr_t)v);

		r = mp_put_count(b, json_object_size(v), 0x80, 0xde, 0xdf);
		for (; it && r == 0;
		     it = json_object_iter_next((json_t *)(uintptr_t)v, it)) {
			const char *k = json_object_iter_key(it);
			r = mp_put_str(b, k, json_object_iter_key_len(it));
			if (r == 0)
				r = mp_put(b, json_object_iter_value(it));
		}
		return r;
	}
	case JSON_ARRAY:
		r = mp_put_count(b, json_array_size(v), 0x90, 0xdc, 0xdd);
		for (size_t i = 0; i < json_array_size(v) && r == 0; i++)
			r = mp_put(b, json_array_get(v, i));
		return r;
	case JSON_STRING:
		return mp_put_str(b, json_string_value(v),
				  json_string_length(v));
	case JSON_INTEGER: {
		json_int_t i = json_integer_value(v);

		if (i >= 0 && i < 128)
			return put_be(b, (int)i, 0, 0);
		if (i < 0 && i >= -32)
			return put_be(b, (int)(i & 0xff), 0, 0);
		if (i >= 0) {
			if (i <= 0xff)
				return put_be(b, 0xcc, (uint64_t)i, 1);
			if (i <= 0xffff)
				return put_be(b, 0xcd, (uint64_t)i, 2);
			if (i <= 0xffffffffLL)
				return put_be(b, 0xce, (uint64_t)i, 4);
			return put_be(b, 0xcf, (uint64_t)i, 8);
		}
		if (i >= INT8_MIN)
			return put_be(b, 0xd0, (uint64_t)i, 1);
		if (i >= INT16_MIN)
			return put_be(b, 0xd1, (uint64_t)i, 2);
		if (i >= INT32_MIN)
			return put_be(b, 0xd2, (uint64_t)i, 4);
		return put_be(b, 0xd3, (uint64_t)i, 8);
	}
	case JSON_REAL: {
		double d = json_real_value(v);
		uint64_t u;

		memcpy(&u, &d, sizeof(u));
		return put_be(b, 0xcb, u, 8);
	}
	case JSON_TRUE:
		return put_be(b, 0xc3, 0, 0);
	case JSON_FALSE:
		return put_be(b, 0xc2, 0, 0);
	case JSON_NULL:
		return put_be(b, 0xc0, 0, 0);
	}
	return PT_EPARSE;
}

/* Appends s as a JSON string literal (s is UTF-8; controls escaped). */
static int json_put_str(struct pt_buf *b, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	int r = pt__buf_addch(b, '"');
	size_t run = 0;

	for (size_t i = 0; r == 0 && i <= len; i++) {
		unsigned char c = i < len ? (unsigned char)s[i] : 0;
		char esc[7];

		if (i < len && c >= 0x20 && c != '"' && c != '\\') {
			run++;
			continue;
		}
		r = pt__buf_add(b, s + i - run, run);
		run = 0;
		if (r < 0 || i == len)
			break;
		esc[0] = '\\';
		if (c == '"' || c == '\\') {
			esc[1] = (char)c;
			r = pt__buf_add(b, esc, 2);
		} else {
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			r = pt__buf_add(b, esc, 6);
		}
	}
	return r < 0 ? r : pt__buf_addch(b, '"');
}

/* The keys set by the caller of an encode, and how many msg lacks. */
struct stamp {
	const char *key[2];
	const char *val[2];
	int n;
};

static bool stamped(const struct stamp *st, const char *k, size_t klen)
{
	for (int i = 0; i < st->n; i++) {
		if (strlen(st->key[i]) == klen && !memcmp(st->key[i], k, klen))
			return true;
	}
	return false;
}

/* The JSON text of msg with the stamp's keys first (replacing msg's). */
static int json_put_stamped(struct pt_buf *b, const json_t *msg,
			    const struct stamp *st)
{
	void *it = json_object_iter((json_t *)(uintptr_t)msg);
	bool first = true;
	int r = pt__buf_addch(b, '{');

	for (int i = 0; r == 0 && i < st->n; i++) {
		if (!first)
			r = pt__buf_addch(b, ',');
		first = false;
		if (r == 0)
			r = json_put_str(b, st->key[i], strlen(st->key[i]));
		if (r == 0)
			r = pt__buf_addch(b, ':');
		if (r == 0)
			r = json_put_str(b, st->val[i], strlen(st->val[i]));
	}
	for (; r == 0 && it;
	     it = json_object_iter_next((json_t *)(uintptr_t)msg, it)) {
		const char *k = json_object_iter_key(it);
		size_t klen = json_object_iter_key_len(it);

		if (stamped(st, k, klen))
			continue;
		if (!pt__mux_utf8_ok(k, klen))
			return PT_EPARSE;
		if (!first)
			r = pt__buf_addch(b, ',');
		first = false;
		if (r == 0)
			r = json_put_str(b, k, klen);
		if (r == 0)
			r = pt__buf_addch(b, ':');
		/* jansson fails on strings that are not UTF-8. */
		if (r == 0 &&
		    json_dump_callback(json_object_iter_value(it), json_dump_cb,
				       b, JSON_COMPACT | JSON_ENCODE_ANY))
			r = errno == ENOMEM ? -ENOMEM : PT_EPARSE;
	}
	return r < 0 ? r : pt__buf_addch(b, '}');
}

/* The msgpack map of msg with the stamp's keys first (replacing msg's). */
static int mp_put_stamped(struct pt_buf *b, const json_t *msg,
			  const struct stamp *st)
{
	void *it = json_object_iter((json_t *)(uintptr_t)msg);
	size_t n = json_object_size(msg) + (size_t)st->n;
	int r = 0;

	for (int i = 0; i < st->n; i++) {
		if (json_object_get(msg, st->key[i]))
			n--;
	}
	r = mp_put_count(b, n, 0x80, 0xde, 0xdf);
	for (int i = 0; r == 0 && i < st->n; i++) {
		r = mp_put_str(b, st->key[i], strlen(st->key[i]));
		if (r == 0)
			r = mp_put_str(b, st->val[i], strlen(st->val[i]));
	}
	for (; r == 0 && it;
	     it = json_object_iter_next((json_t *)(uintptr_t)msg, it)) {
		const char *k = json_object_iter_key(it);
		size_t klen = json_object_iter_key_len(it);

		if (stamped(st, k, klen))
			continue;
		r = mp_put_str(b, k, klen);
		if (r == 0)
			r = mp_put(b, json_object_iter_value(it));
	}
	return r;
}

int pt__mux_encode_stamped(enum pt_mux_format f, const json_t *msg,
			   const char *session, const char *id,
			   size_t max_frame, struct pt_buf *out)
{
	struct stamp st = { { NULL, NULL }, { NULL, NULL }, 0 };
	size_t start = out->len, payload;
	bool nul_key = false;
	int r;

	max_frame = pt__mux_limit(max_frame);
	if (!json_is_object(msg))
		return PT_EPARSE;
	if (session) {
		st.key[st.n] = "session";
		st.val[st.n++] = session;
	}
	if (id) {
		st.key[st.n] = "id";
		st.val[st.n++] = id;
	}
	/* Most messages are small: one allocation instead of several. */
	if (pt__buf_grow(out, 512) < 0)
		return -ENOMEM;
	if (value_depth(msg, 1, PT_MUX_MAX_DEPTH, &nul_key) >
		    PT_MUX_MAX_DEPTH ||
	    nul_key)
		return PT_EPARSE;
	if (f == PT_MUX_JSON) {
		r = json_put_stamped(out, msg, &st);
		payload = out->len - start;
		if (r == 0)
			r = pt__buf_addch(out, '\n');
	} else {
		r = put_be(out, -1, 0, 4); /* the length, filled in below */
		if (r == 0)
			r = mp_put_stamped(out, msg, &st);
		payload = out->len - start - 4;
		if (r == 0) {
			unsigned char *p = (unsigned char *)out->s + start;
			p[0] = (unsigned char)(payload >> 24);
			p[1] = (unsigned char)(payload >> 16);
			p[2] = (unsigned char)(payload >> 8);
			p[3] = (unsigned char)payload;
		}
	}
	if (r == 0 && payload > max_frame)
		r = PT_ETOOBIG;
	if (r < 0)
		pt__buf_truncate(out, start);
	return r;
}

int pt__mux_encode_buf(enum pt_mux_format f, const json_t *msg,
		       size_t max_frame, struct pt_buf *out)
{
	return pt__mux_encode_stamped(f, msg, NULL, NULL, max_frame, out);
}

int pt_mux_encode(enum pt_mux_format f, const json_t *msg, size_t max_frame,
		  char **ret_data, size_t *ret_len)
{
	struct pt_buf b = PT_BUF_INIT;
	size_t len;
	char *s;
	int r;

	if (!msg || !ret_data || !ret_len ||
	    (f != PT_MUX_JSON && f != PT_MUX_MSGPACK))
		return -EINVAL;
	r = pt__mux_encode_buf(f, msg, max_frame, &b);
	if (r < 0) {
		pt__buf_release(&b);
		return r;
	}
	s = pt__buf_detach(&b, &len);
	if (!s)
		return -ENOMEM;
	*ret_data = s;
	*ret_len = len;
	return 0;
}

/* ---- msgpack decoding -------------------------------------------------- */

/*
 * What a msgpack header byte announces: a scalar with "len" payload bytes
 * after "hdr" header bytes (the type byte included), or a container of
 * "count" elements.
 */
struct mp_head {
	int kind; /* 0 scalar, 1 array, 2 map, 3 str, 4 bin, 5 ext, -1 bad */
	size_t hdr;
	uint64_t len; /* scalar payload bytes (str/bin/ext data included) */
	uint64_t count;
};

static uint64_t be(const unsigned char *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

/*
 * Reads the header at p[0..avail). Returns 0, or -1 when the header itself
 * does not fit (truncated).
 */
static int mp_head(const unsigned char *p, size_t avail, struct mp_head *h)
{
	unsigned c = p[0];
	static const unsigned char fixed[] = {
		/* 0xc0..0xdf: payload bytes for fixed-size types */
		0, 0, 0, 0, 0, 0, 0, 0, 0,  0, 4, 8, 1, 2, 4, 8,
		1, 2, 4, 8, 2, 3, 5, 9, 17, 0, 0, 0, 0, 0, 0, 0,
	};
	int n;

	h->kind = 0;
	h->hdr = 1;
	h->len = 0;
	h->count = 0;
	if (c <= 0x7f || c >= 0xe0)
		return 0;
	if (c <= 0x8f) {
		h->kind = 2;
		h->count = c & 0x0f;
		return 0;
	}
	if (c <= 0x9f) {
		h->kind = 1;
		h->count = c & 0x0f;
		return 0;
	}
	if (c <= 0xbf) {
		h->kind = 3;
		h->len = c & 0x1f;
		return 0;
	}
	switch (c) {
	case 0xc0:
	case 0xc2:
	case 0xc3:
		return 0;
	case 0xc1:
		h->kind = -1;
		return 0;
	case 0xc4:
	case 0xc5:
	case 0xc6:
		n = 1 << (c - 0xc4);
		if (avail < 1 + (size_t)n)
			return -1;
		h->kind = 4;
		h->hdr = 1 + (size_t)n;
		h->len = be(p + 1, n);
		return 0;
	case 0xc7:
	case 0xc8:
	case 0xc9:
		n = 1 << (c - 0xc7);
		if (avail < 2 + (size_t)n)
			return -1;
		h->kind = 5;
		h->hdr = 2 + (size_t)n;
		h->len = be(p + 1, n);
		return 0;
	case 0xd9:
	case 0xda:
	case 0xdb:
		n = 1 << (c - 0xd9);
		if (avail < 1 + (size_t)n)
			return -1;
		h->kind = 3;
		h->hdr = 1 + (size_t)n;
		h->len = be(p + 1, n);
		return 0;
	case 0xdc:
	case 0xdd:
	case 0xde:
	case 0xdf:
		n = (c == 0xdc || c == 0xde) ? 2 : 4;
		if (avail < 1 + (size_t)n)
			return -1;
		h->kind = c <= 0xdd ? 1 : 2;
		h->hdr = 1 + (size_t)n;
		h->count = be(p + 1, n);
		return 0;
	default:
		break;
	}
	/* Fixed-size scalars and fixext (0xd4..0xd8, one type byte first). */
	h->len = fixed[c - 0xc0];
	if (c >= 0xd4 && c <= 0xd8)
		h->kind = 5;
	return 0;
}

struct mp_err {
	size_t at;
	const char *why;
};

/*
 * The pre-scan: walks the frame iteratively. Every declared length must
 * fit in what remains, every container's element count too (each element
 * takes at least one byte; a map entry two), nesting stays within
 * PT_MUX_MAX_DEPTH and the top-level map ends exactly at the frame end.
 */
static int mp_scan(const unsigned char *p, size_t n, struct mp_err *e)
{
	uint64_t left[PT_MUX_MAX_DEPTH + 1];
	int d = 0;
	size_t i = 0;

	if (n == 0 ||
	    !((p[0] >= 0x80 && p[0] <= 0x8f) || p[0] == 0xde || p[0] == 0xdf)) {
		e->at = 0;
		e->why = "frame is not a msgpack map";
		return -1;
	}
	left[0] = 1;
	while (d >= 0) {
		struct mp_head h;

		if (left[d] == 0) {
			d--;
			continue;
		}
		left[d]--;
		if (i >= n) {
			e->at = i;
			e->why = "frame ends inside a value";
			return -1;
		}
		if (mp_head(p + i, n - i, &h) < 0) {
			e->at = i;
			e->why = "frame ends inside a value header";
			return -1;
		}
		if (h.kind == -1) {
			e->at = i;
			e->why = "invalid msgpack type byte 0xc1";
			return -1;
		}
		if (h.hdr > n - i || h.len > n - i - h.hdr) {
			e->at = i;
			e->why = "declared length exceeds the remaining bytes";
			return -1;
		}
		if (h.kind == 1 || h.kind == 2) {
			uint64_t elems = h.kind == 2 ? h.count * 2 : h.count;

			if (elems > n - i - h.hdr) {
				e->at = i;
				e->why = "declared count exceeds the remaining "
					 "bytes";
				return -1;
			}
			if (d + 1 > PT_MUX_MAX_DEPTH) {
				e->at = i;
				e->why = "nesting deeper than 128";
				return -1;
			}
			left[++d] = elems;
		}
		i += h.hdr + (size_t)h.len;
	}
	if (i != n) {
		e->at = i;
		e->why = "trailing bytes after the message";
		return -1;
	}
	return 0;
}

/* Decodes one value of a frame that passed mp_scan. NULL on error. */
static json_t *mp_value(const unsigned char *p, size_t n, size_t *pos,
			struct mp_err *e);

static json_t *mp_key_value(const unsigned char *p, size_t n, size_t *pos,
			    json_t *obj, struct mp_err *e)
{
	size_t at = *pos;
	struct mp_head h;
	char num[32];
	const char *k = num;
	size_t klen;
	json_t *v;
	unsigned c = p[at];

	(void)mp_head(p + at, n - at, &h);
	if (h.kind == 3 || h.kind == 4) {
		k = (const char *)p + at + h.hdr;
		klen = (size_t)h.len;
		if (!pt__mux_utf8_ok(k, klen)) {
			e->at = at;
			e->why = "map key is not UTF-8";
			return NULL;
		}
		if (memchr(k, 0, klen)) {
			e->at = at;
			e->why = "map key holds a NUL byte";
			return NULL;
		}
		*pos = at + h.hdr + klen;
	} else if (c <= 0x7f || c >= 0xe0 || (c >= 0xcc && c <= 0xd3)) {
		/* Integer keys are stringified, as upstream does. */
		json_t *iv = mp_value(p, n, pos, e);

		if (!iv)
			return NULL;
		klen = (size_t)snprintf(num, sizeof(num),
					"%" JSON_INTEGER_FORMAT,
					json_integer_value(iv));
		json_decref(iv);
	} else {
		e->at = at;
		e->why = "map key is neither a string nor an integer";
		return NULL;
	}
	v = mp_value(p, n, pos, e);
	if (!v)
		return NULL;
	if (json_object_setn_new_nocheck(obj, k, klen, v)) {
		e->at = at;
		e->why = "out of memory";
		return NULL;
	}
	return obj;
}

static json_t *mp_value(const unsigned char *p, size_t n, size_t *pos,
			struct mp_err *e)
{
	size_t at = *pos;
	unsigned c = p[at];
	struct mp_head h;
	json_t *v = NULL;

	(void)mp_head(p + at, n - at, &h);
	*pos = at + h.hdr + (size_t)h.len;
	if (h.kind == 1 || h.kind == 2) {
		*pos = at + h.hdr;
		v = h.kind == 1 ? json_array() : json_object();
		for (uint64_t i = 0; v && i < h.count; i++) {
			if (h.kind == 1) {
				json_t *x = mp_value(p, n, pos, e);
				if (!x || json_array_append_new(v, x)) {
					json_decref(v);
					return NULL;
				}
			} else if (!mp_key_value(p, n, pos, v, e)) {
				json_decref(v);
				return NULL;
			}
		}
		if (!v) {
			e->at = at;
			e->why = "out of memory";
		}
		return v;
	}
	if (h.kind == 3) {
		const char *s = (const char *)p + at + h.hdr;
		if (!pt__mux_utf8_ok(s, (size_t)h.len)) {
			e->at = at;
			e->why = "str is not UTF-8";
			return NULL;
		}
		v = json_stringn_nocheck(s, (size_t)h.len);
	} else if (h.kind == 4) {
		/* bin: the bytes as a string (docs/mux.md). */
		v = json_stringn_nocheck((const char *)p + at + h.hdr,
					 (size_t)h.len);
	} else if (h.kind == 5) {
		e->at = at;
		e->why = "msgpack ext types are not supported";
		return NULL;
	} else if (c <= 0x7f) {
		v = json_integer(c);
	} else if (c >= 0xe0) {
		v = json_integer((json_int_t)c - 256);
	} else if (c == 0xc0) {
		v = json_null();
	} else if (c == 0xc2 || c == 0xc3) {
		v = json_boolean(c == 0xc3);
	} else if (c == 0xca) {
		uint32_t u = (uint32_t)be(p + at + 1, 4);
		float f;
		memcpy(&f, &u, sizeof(f));
		v = json_real((double)f);
	} else if (c == 0xcb) {
		uint64_t u = be(p + at + 1, 8);
		double d;
		memcpy(&d, &u, sizeof(d));
		v = json_real(d);
	} else if (c >= 0xcc && c <= 0xcf) {
		uint64_t u = be(p + at + 1, 1 << (c - 0xcc));
		if (u > INT64_MAX) {
			e->at = at;
			e->why = "integer above the signed 64-bit range";
			return NULL;
		}
		v = json_integer((json_int_t)u);
	} else if (c >= 0xd0 && c <= 0xd3) {
		int nb = 1 << (c - 0xd0);
		uint64_t u = be(p + at + 1, nb);
		int64_t s;
		if (nb < 8 && (u >> (8 * nb - 1)))
			u |= ~(uint64_t)0 << (8 * nb); /* sign-extend */
		memcpy(&s, &u, sizeof(s));
		v = json_integer((json_int_t)s);
	}
	if (!v && !e->why) {
		/* json_real rejects NaN and infinities. */
		e->at = at;
		e->why = (c == 0xca || c == 0xcb) ? "float is NaN or infinite"
						  : "out of memory";
	}
	return v;
}

/* ---- The decoder ------------------------------------------------------- */

struct pt_mux_decoder {
	enum pt_mux_format fmt;
	size_t max_frame;
	char *buf;
	size_t off, len, cap; /* pending bytes are buf[off..len) */
	size_t scanned;	      /* JSON: bytes after off known to hold no \n */
	uint64_t pos;	      /* stream offset of buf[off] */
	uint64_t skip;	      /* msgpack: bytes of a refused frame to drop */
	bool skip_line;	      /* JSON: dropping through the next newline */
	struct pt_buf err;
};

int pt_mux_decoder_new(enum pt_mux_format f, size_t max_frame,
		       struct pt_mux_decoder **ret)
{
	struct pt_mux_decoder *d;

	if (!ret || (f != PT_MUX_JSON && f != PT_MUX_MSGPACK))
		return -EINVAL;
	d = pt__calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->fmt = f;
	d->max_frame = pt__mux_limit(max_frame);
	pt__buf_init(&d->err);
	*ret = d;
	return 0;
}

struct pt_mux_decoder *pt_mux_decoder_free(struct pt_mux_decoder *d)
{
	if (d) {
		pt__free(d->buf);
		pt__buf_release(&d->err);
		pt__free(d);
	}
	return NULL;
}

const char *pt_mux_decoder_error(const struct pt_mux_decoder *d)
{
	return d ? d->err.s : "";
}

PT_PRINTF(3, 4)
static int fail(struct pt_mux_decoder *d, int code, const char *fmt, ...)
{
	va_list ap;

	pt__buf_reset(&d->err);
	va_start(ap, fmt);
	(void)pt__buf_vaddf(&d->err, fmt, ap);
	va_end(ap);
	return code;
}

static void consume(struct pt_mux_decoder *d, size_t n)
{
	d->off += n;
	d->pos += n;
	d->scanned = 0;
	if (d->off == d->len)
		d->off = d->len = 0;
}

/* Drops bytes owed to a refused frame or line from the pending input. */
static void apply_skip(struct pt_mux_decoder *d)
{
	if (d->skip) {
		size_t n = d->len - d->off;
		if ((uint64_t)n > d->skip)
			n = (size_t)d->skip;
		d->skip -= n;
		consume(d, n);
	}
	if (d->skip_line && d->len > d->off) {
		char *nl = memchr(d->buf + d->off, '\n', d->len - d->off);
		if (!nl) {
			consume(d, d->len - d->off);
			return;
		}
		consume(d, (size_t)(nl - (d->buf + d->off)) + 1);
		d->skip_line = false;
	}
}

int pt_mux_decoder_feed(struct pt_mux_decoder *d, const void *data, size_t len)
{
	size_t need;

	if (!d || (!data && len))
		return -EINVAL;
	/* Drop what a refused frame still owes before buffering anything. */
	if (d->skip && d->off == d->len) {
		size_t n = (uint64_t)len > d->skip ? (size_t)d->skip : len;
		d->skip -= n;
		d->pos += n;
		data = (const char *)data + n;
		len -= n;
	}
	if (!len)
		return 0;
	if (d->off > 0 && d->off == d->len)
		d->off = d->len = 0;
	if (d->len + len > d->cap && d->off > 0) {
		memmove(d->buf, d->buf + d->off, d->len - d->off);
		d->len -= d->off;
		d->off = 0;
	}
	if (!pt__add_ok(d->len, len, &need))
		return -ENOMEM;
	if (need > d->cap) {
		size_t cap = d->cap ? d->cap : 4096;
		char *b;
		while (cap < need) {
			if (!pt__mul_ok(cap, 2, &cap))
				return -ENOMEM;
		}
		b = pt__realloc(d->buf, cap);
		if (!b)
			return -ENOMEM;
		d->buf = b;
		d->cap = cap;
	}
	memcpy(d->buf + d->len, data, len);
	d->len += len;
	apply_skip(d);
	return 0;
}

/*
 * A fast path for the JSON that messages are usually made of: objects,
 * arrays, strings without escapes, integers, true, false, null. Anything
 * else (escapes, reals, big integers, any syntax error) makes it give up
 * (NULL), and the line goes to jansson, which decides; so the result is
 * always what jansson would give (fuzz/fuzz-json-frame.c checks that).
 * The caller has bounded the nesting, which bounds the recursion.
 */
static void fj_space(const char *s, size_t n, size_t *i)
{
	while (*i < n && (s[*i] == ' ' || s[*i] == '\t' || s[*i] == '\n' ||
			  s[*i] == '\r'))
		(*i)++;
}

/* A string without escapes or control bytes: its span, or false. */
static bool fj_str(const char *s, size_t n, size_t *i, const char **ret,
		   size_t *ret_len)
{
	size_t k = *i + 1;

	if (*i >= n || s[*i] != '"')
		return false;
	while (k < n && s[k] != '"') {
		if (s[k] == '\\' || (unsigned char)s[k] < 0x20)
			return false;
		k++;
	}
	if (k >= n || !pt__mux_utf8_ok(s + *i + 1, k - *i - 1))
		return false;
	*ret = s + *i + 1;
	*ret_len = k - *i - 1;
	*i = k + 1;
	return true;
}

static json_t *fj_value(const char *s, size_t n, size_t *i)
{
	const char *str;
	size_t len;
	json_t *v;

	fj_space(s, n, i);
	if (*i >= n)
		return NULL;
	switch (s[*i]) {
	case '{':
		v = json_object();
		(*i)++;
		fj_space(s, n, i);
		if (*i < n && s[*i] == '}') {
			(*i)++;
			return v;
		}
		while (v) {
			json_t *x;
			fj_space(s, n, i);
			if (!fj_str(s, n, i, &str, &len))
				break;
			fj_space(s, n, i);
			if (*i >= n || s[*i] != ':')
				break;
			(*i)++;
			x = fj_value(s, n, i);
			if (!x || json_object_setn_new_nocheck(v, str, len, x))
				break;
			fj_space(s, n, i);
			if (*i < n && s[*i] == ',') {
				(*i)++;
				continue;
			}
			if (*i < n && s[*i] == '}') {
				(*i)++;
				return v;
			}
			break;
		}
		json_decref(v);
		return NULL;
	case '[':
		v = json_array();
		(*i)++;
		fj_space(s, n, i);
		if (*i < n && s[*i] == ']') {
			(*i)++;
			return v;
		}
		while (v) {
			json_t *x = fj_value(s, n, i);
			if (!x || json_array_append_new(v, x))
				break;
			fj_space(s, n, i);
			if (*i < n && s[*i] == ',') {
				(*i)++;
				continue;
			}
			if (*i < n && s[*i] == ']') {
				(*i)++;
				return v;
			}
			break;
		}
		json_decref(v);
		return NULL;
	case '"':
		if (!fj_str(s, n, i, &str, &len))
			return NULL;
		return json_stringn_nocheck(str, len);
	case 't':
		if (n - *i >= 4 && !memcmp(s + *i, "true", 4)) {
			*i += 4;
			return json_true();
		}
		return NULL;
	case 'f':
		if (n - *i >= 5 && !memcmp(s + *i, "false", 5)) {
			*i += 5;
			return json_false();
		}
		return NULL;
	case 'n':
		if (n - *i >= 4 && !memcmp(s + *i, "null", 4)) {
			*i += 4;
			return json_null();
		}
		return NULL;
	default: {
		/* Integers only: -?(0|[1-9][0-9]*), at most 18 digits. */
		size_t k = *i, digits = 0;
		bool neg = s[k] == '-';
		int64_t x = 0;

		if (neg)
			k++;
		if (k >= n || s[k] < '0' || s[k] > '9')
			return NULL;
		if (s[k] == '0' && k + 1 < n && s[k + 1] >= '0' &&
		    s[k + 1] <= '9')
			return NULL;
		while (k < n && s[k] >= '0' && s[k] <= '9') {
			if (++digits > 18)
				return NULL;
			x = x * 10 + (s[k++] - '0');
		}
		if (k < n && (s[k] == '.' || s[k] == 'e' || s[k] == 'E'))
			return NULL;
		*i = k;
		return json_integer(neg ? -x : x);
	}
	}
}

json_t *pt__mux_json_fast(const char *s, size_t n)
{
	size_t i = 0;
	json_t *v;

	/* Messages are objects; jansson words every other case. */
	fj_space(s, n, &i);
	if (i >= n || s[i] != '{')
		return NULL;
	v = fj_value(s, n, &i);

	fj_space(s, n, &i);
	if (v && i != n) {
		json_decref(v);
		return NULL;
	}
	return v;
}

/* Deepest bracket nesting of a JSON text, stopping past the limit. */
static int json_depth(const char *s, size_t n)
{
	int depth = 0, max = 0;
	bool in_str = false;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = false;
		} else if (c == '"') {
			in_str = true;
		} else if (c == '{' || c == '[') {
			if (++depth > max) {
				max = depth;
				if (max > PT_MUX_MAX_DEPTH)
					return max;
			}
		} else if (c == '}' || c == ']') {
			depth--;
		}
	}
	return max;
}

static int next_json(struct pt_mux_decoder *d, json_t **ret)
{
	for (;;) {
		char *start = d->buf + d->off, *nl;
		size_t avail = d->len - d->off, linelen;
		uint64_t at = d->pos;
		json_error_t je;
		json_t *v;
		const char *s;
		size_t n;

		nl = avail > d->scanned ? memchr(start + d->scanned, '\n',
						 avail - d->scanned)
					: NULL;
		if (!nl) {
			d->scanned = avail;
			if (avail > d->max_frame) {
				consume(d, avail);
				d->skip_line = true;
				return fail(d, PT_ETOOBIG,
					    "byte %" PRIu64 ": line longer "
					    "than %zu bytes (no newline)",
					    at, d->max_frame);
			}
			return 0;
		}
		linelen = (size_t)(nl - start);
		consume(d, linelen + 1);
		if (linelen > d->max_frame)
			return fail(d, PT_ETOOBIG,
				    "byte %" PRIu64 ": line of %zu bytes "
				    "exceeds the %zu-byte limit",
				    at, linelen, d->max_frame);
		/* Surrounding white space is trimmed, empty lines skipped. */
		s = start;
		n = linelen;
		while (n && (*s == ' ' || *s == '\t' || *s == '\r')) {
			s++;
			n--;
		}
		while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' ||
			     s[n - 1] == '\r'))
			n--;
		if (!n)
			continue;
		if (json_depth(s, n) > PT_MUX_MAX_DEPTH)
			return fail(d, PT_EPARSE,
				    "byte %" PRIu64 ": nesting deeper "
				    "than %d",
				    at, PT_MUX_MAX_DEPTH);
		v = pt__mux_json_fast(s, n);
		if (!v)
			v = json_loadb(s, n, JSON_ALLOW_NUL, &je);
		if (!v)
			return fail(d, PT_EPARSE,
				    "byte %" PRIu64 " (line at %" PRIu64
				    "): malformed JSON: %s",
				    at + (uint64_t)(s - start) +
					    (uint64_t)je.position,
				    at, je.text);
		if (!json_is_object(v)) {
			json_decref(v);
			return fail(d, PT_EPARSE,
				    "byte %" PRIu64 ": message is not a "
				    "JSON object",
				    at);
		}
		*ret = v;
		return 1;
	}
}

static int next_msgpack(struct pt_mux_decoder *d, json_t **ret)
{
	const unsigned char *p = (const unsigned char *)d->buf + d->off;
	size_t avail = d->len - d->off, pos = 0;
	uint64_t at = d->pos, n;
	struct mp_err e = { 0, NULL };
	json_t *v;

	if (avail < 4)
		return 0;
	n = be(p, 4);
	if (n == 0) {
		consume(d, 4);
		return fail(d, PT_EPARSE, "byte %" PRIu64 ": empty frame", at);
	}
	if (n > d->max_frame) {
		consume(d, 4);
		d->skip = n;
		apply_skip(d);
		return fail(d, PT_ETOOBIG,
			    "byte %" PRIu64 ": frame of %" PRIu64
			    " bytes exceeds the %zu-byte limit",
			    at, n, d->max_frame);
	}
	if (avail - 4 < n)
		return 0;
	consume(d, 4 + (size_t)n);
	if (mp_scan(p + 4, (size_t)n, &e) < 0)
		return fail(d, PT_EPARSE,
			    "byte %" PRIu64 " (frame at %" PRIu64 "): %s",
			    at + 4 + e.at, at, e.why);
	v = mp_value(p + 4, (size_t)n, &pos, &e);
	if (!v)
		return fail(d,
			    e.why && !strcmp(e.why, "out of memory")
				    ? -ENOMEM
				    : PT_EPARSE,
			    "byte %" PRIu64 " (frame at %" PRIu64 "): %s",
			    at + 4 + e.at, at, e.why ? e.why : "invalid");
	*ret = v;
	return 1;
}

int pt_mux_decoder_next(struct pt_mux_decoder *d, json_t **ret_msg)
{
	if (!d || !ret_msg)
		return -EINVAL;
	pt__buf_reset(&d->err);
	apply_skip(d);
	/* Nothing fed yet: no frame (and no arithmetic on a NULL buffer). */
	if (!d->buf)
		return 0;
	if (d->fmt == PT_MUX_JSON)
		return next_json(d, ret_msg);
	return next_msgpack(d, ret_msg);
}

int pt_mux_decoder_finish(struct pt_mux_decoder *d)
{
	size_t avail;

	if (!d)
		return -EINVAL;
	pt__buf_reset(&d->err);
	avail = d->len - d->off;
	if (d->fmt == PT_MUX_MSGPACK) {
		if (d->skip)
			return fail(d, PT_EPARSE,
				    "byte %" PRIu64 ": input ends %" PRIu64
				    " bytes short of a refused frame",
				    d->pos, d->skip);
		if (avail)
			return fail(d, PT_EPARSE,
				    "byte %" PRIu64 ": input ends inside a "
				    "frame (%zu bytes of it)",
				    d->pos, avail);
		return 0;
	}
	for (size_t i = 0; i < avail; i++) {
		char c = d->buf[d->off + i];
		if (c != ' ' && c != '\t' && c != '\r')
			return fail(d, PT_EPARSE,
				    "byte %" PRIu64 ": input ends inside a "
				    "line (no newline)",
				    d->pos);
	}
	return 0;
}
