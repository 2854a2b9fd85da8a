/*
 * proctor-mock-renderer - a worker for the session pool, built on the
 * serve API (pt_mux_serve). docs/man/proctor-mock-renderer.1 is its
 * manual. Each session holds a small widget tree:
 *
 *   {"id":"root","type":"column","props":{...},"children":[...]}
 *
 * Host messages: settings, snapshot {tree}, patch {ops}, query {target:
 * "tree" | "settings" | selector "#id"} -> query_response {data},
 * subscribe/unsubscribe {kind: "on_theme_change"} (a snapshot whose root
 * has a new props.theme then emits event theme_changed), tree_hash ->
 * tree_hash_response {hash}, interact {action, selector, payload} ->
 * interact_response (click/toggle/select: one synthetic event) or, for
 * type_text, one interact_step per character, each waiting for the
 * host's snapshot/patch, then interact_response {events: []}; reset (by
 * the serve library); widget_op {op: "exit"}; screenshot {name, width,
 * height} -> screenshot_response {name, hash, width, height[, rgba]}:
 * with --headless a picture drawn from the tree (hash: SHA-256 of the
 * RGBA bytes, sent as msgpack bin or base64 in JSON, as a renderer does),
 * with --mock the stub a real renderer answers in mock mode (hash "",
 * 0 x 0, no rgba). Test helpers, never sent by a real host: mock_hold
 * (emits event "held", never replies), mock_block {path, notify} (emits
 * event "blocked" when notify is true, then reads one byte from the FIFO
 * at path, so a test decides when the session, or with --threads 0 the
 * whole worker, goes on), mock_emit {message, pad} (pad: add that many
 * bytes), mock_raw {hex} (raw output bytes), mock_exit {code}.
 */
#include "base/base64.h"
#include "base/buf.h"
#include "base/common.h"
#include "base/sha256.h"
#include "base/str.h"
#include "os/fd.h"
#include "os/muxos.h"

#include <getopt.h>

#include <proctor/mux.h>

/* What the worker was started as (--mock or --headless). */
struct mock {
	bool headless;
	size_t max_frame; /* the output frame limit */
};

struct mstate {
	json_t *tree;
	json_t *settings; /* what this session was given */
	char *theme;	  /* the root's props.theme, "dark" at first */
	bool theme_sub;	  /* subscribed to on_theme_change */
	/* A type_text interaction waiting for the host between steps. */
	json_t *ia_id;
	char *ia_target;
	char *ia_text;
	size_t ia_pos;
};

static int m_open(void *ctx, struct pt_mux_sctx *s, void **ret)
{
	struct mstate *st = pt__calloc(1, sizeof(*st));

	(void)ctx;
	(void)s;
	if (!st)
		return -1;
	*ret = st;
	return 0;
}

static void ia_end(struct mstate *st)
{
	json_decref(st->ia_id);
	st->ia_id = NULL;
	pt__freep(&st->ia_target);
	pt__freep(&st->ia_text);
	st->ia_pos = 0;
}

static void m_close(void *ctx, struct pt_mux_sctx *s, void *state)
{
	struct mstate *st = state;

	(void)ctx;
	(void)s;
	if (!st)
		return;
	ia_end(st);
	json_decref(st->tree);
	json_decref(st->settings);
	pt__free(st->theme);
	pt__free(st);
}

static void diag(struct pt_mux_sctx *s, const char *code, const char *text)
{
	pt_mux_sctx_emit(s, json_pack("{s:s, s:s, s:s, s:s}", "type",
				      "diagnostic", "level", "warn", "code",
				      code, "message", text));
}

static json_t *find_node(json_t *node, const char *id)
{
	json_t *kids, *k;
	size_t i;

	if (!json_is_object(node))
		return NULL;
	if (json_is_string(json_object_get(node, "id")) &&
	    !strcmp(json_string_value(json_object_get(node, "id")), id))
		return node;
	kids = json_object_get(node, "children");
	json_array_foreach(kids, i, k)
	{
		json_t *f = find_node(k, id);
		if (f)
			return f;
	}
	return NULL;
}

static json_t *by_selector(json_t *tree, const char *sel)
{
	if (!sel || sel[0] != '#')
		return NULL;
	return find_node(tree, sel + 1);
}

/* Follows a path of child indices from the root. */
static json_t *at_path(json_t *tree, json_t *path)
{
	json_t *n = tree, *ix;
	size_t i;

	if (!json_is_array(path))
		return NULL;
	json_array_foreach(path, i, ix)
	{
		json_t *kids = json_object_get(n, "children");
		if (!json_is_integer(ix) || !json_is_array(kids))
			return NULL;
		n = json_array_get(kids, (size_t)json_integer_value(ix));
		if (!n)
			return NULL;
	}
	return n;
}

/* Applies one patch op; NULL or the reason it failed. */
static const char *patch_op(struct mstate *st, json_t *op)
{
	const char *kind = json_string_value(json_object_get(op, "op"));
	json_t *n = at_path(st->tree, json_object_get(op, "path"));
	json_t *kids, *node = json_object_get(op, "node");
	json_int_t index = json_integer_value(json_object_get(op, "index"));

	if (!kind)
		return "op has no \"op\"";
	if (!n)
		return "path does not name a node";
	if (!strcmp(kind, "update_props")) {
		json_t *props = json_object_get(n, "props");
		if (!json_is_object(props)) {
			props = json_object();
			json_object_set_new(n, "props", props);
		}
		if (json_object_update(props, json_object_get(op, "props")))
			return "props must be an object";
		return NULL;
	}
	if (!strcmp(kind, "replace_node")) {
		if (!json_is_object(node))
			return "node must be an object";
		if (n == st->tree) {
			json_decref(st->tree);
			st->tree = json_deep_copy(node);
			return NULL;
		}
		json_object_clear(n);
		json_object_update(n, node);
		return NULL;
	}
	kids = json_object_get(n, "children");
	if (!json_is_array(kids)) {
		kids = json_array();
		json_object_set_new(n, "children", kids);
	}
	if (!strcmp(kind, "insert_child")) {
		if (!json_is_object(node) || index < 0 ||
		    (size_t)index > json_array_size(kids))
			return "insert_child needs a node and an index in range";
		json_array_insert_new(kids, (size_t)index,
				      json_deep_copy(node));
		return NULL;
	}
	if (!strcmp(kind, "remove_child")) {
		if (index < 0 || (size_t)index >= json_array_size(kids))
			return "remove_child index out of range";
		json_array_remove(kids, (size_t)index);
		return NULL;
	}
	return "unknown patch op";
}

static void apply_patch(struct pt_mux_sctx *s, struct mstate *st, json_t *m)
{
	json_t *ops = json_object_get(m, "ops"), *op;
	size_t i;

	if (!st->tree) {
		diag(s, "patch_error", "patch before any snapshot");
		return;
	}
	json_array_foreach(ops, i, op)
	{
		const char *why = patch_op(st, op);
		if (why) {
			char text[160];
			snprintf(text, sizeof(text), "patch op %zu: %s", i,
				 why);
			diag(s, "patch_error", text);
			return;
		}
	}
}

/* A new theme on the root emits theme_changed to a subscriber. */
static void theme_check(struct pt_mux_sctx *s, struct mstate *st)
{
	const char *theme = json_string_value(
		json_object_get(json_object_get(st->tree, "props"), "theme"));

	if (!theme || !strcmp(theme, st->theme ? st->theme : "dark"))
		return;
	pt__free(st->theme);
	st->theme = pt__strdup(theme);
	if (st->theme_sub)
		pt_mux_sctx_emit(s,
				 json_pack("{s:s, s:s, s:s, s:{s:s}}", "type",
					   "event", "family", "theme_changed",
					   "id", "", "value", "theme", theme));
}

/* Emits the next type_text step, or the final response. */
static void ia_continue(struct pt_mux_sctx *s, struct mstate *st)
{
	size_t len = strlen(st->ia_text);
	json_t *m;

	if (st->ia_pos >= len) {
		m = json_pack("{s:s, s:O, s:[]}", "type", "interact_response",
			      "id", st->ia_id, "events");
		pt_mux_sctx_emit(s, m);
		ia_end(st);
		return;
	}
	st->ia_pos++;
	m = json_pack("{s:s, s:O, s:[{s:s, s:s, s:s%}]}", "type",
		      "interact_step", "id", st->ia_id, "events", "family",
		      "input", "id", st->ia_target, "value", st->ia_text,
		      st->ia_pos);
	pt_mux_sctx_emit(s, m);
}

static void interact(struct pt_mux_sctx *s, struct mstate *st, json_t *m)
{
	const char *action = json_string_value(json_object_get(m, "action"));
	const char *sel = json_string_value(json_object_get(m, "selector"));
	json_t *payload = json_object_get(m, "payload");
	json_t *node = by_selector(st->tree, sel), *ev = NULL;
	const char *id = sel && sel[0] == '#' ? sel + 1 : "";

	if (node && action && !strcmp(action, "type_text")) {
		const char *text =
			json_string_value(json_object_get(payload, "text"));
		ia_end(st);
		st->ia_id = json_incref(json_object_get(m, "id"));
		st->ia_target = pt__strdup(id);
		st->ia_text = pt__strdup(text ? text : "");
		if (!st->ia_target || !st->ia_text) {
			ia_end(st);
			return;
		}
		ia_continue(s, st);
		return;
	}
	if (node && action && !strcmp(action, "click")) {
		ev = json_pack("{s:s, s:s}", "family", "click", "id", id);
	} else if (node && action && !strcmp(action, "toggle")) {
		json_t *props = json_object_get(node, "props");
		ev = json_pack(
			"{s:s, s:s, s:b}", "family", "toggle", "id", id,
			"value",
			!json_is_true(json_object_get(props, "checked")));
	} else if (node && action && !strcmp(action, "select")) {
		json_t *v = json_object_get(payload, "value");
		ev = json_pack("{s:s, s:s, s:O}", "family", "select", "id", id,
			       "value", v ? v : json_null());
	}
	pt_mux_sctx_reply(s, m,
			  json_pack("{s:s, s:o}", "type", "interact_response",
				    "events",
				    ev ? json_pack("[o]", ev) : json_array()));
}

/* Frees a string that jansson allocated (json_dumps). */
static void json_free_str(char *str)
{
	json_free_t jfree;

	json_get_alloc_funcs(NULL, &jfree);
	if (str)
		jfree(str);
}

static uint64_t fnv1a(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

/* ---- Screenshots ------------------------------------------------------ */

/* A renderer's defaults and bound for the picture's size. */
#define SHOT_DEFAULT_W 1024
#define SHOT_DEFAULT_H 768
#define SHOT_MAX_DIM   16384

static uint32_t shot_dim(const json_t *v, uint32_t dflt)
{
	json_int_t n;

	if (!json_is_integer(v))
		return dflt;
	n = json_integer_value(v);
	return n < 1 ? 1 : n > SHOT_MAX_DIM ? SHOT_MAX_DIM : (uint32_t)n;
}

/* The nodes of the tree in pre-order, each with the hash of its JSON. */
static void node_hashes(const json_t *node, struct pt_buf *out)
{
	char *dump;
	json_t *kids, *k;
	size_t i;
	uint64_t h;

	if (!json_is_object(node))
		return;
	dump = json_dumps(node, JSON_COMPACT | JSON_SORT_KEYS);
	h = dump ? fnv1a(dump, strlen(dump)) : 0;
	json_free_str(dump);
	pt__buf_add(out, &h, sizeof(h));
	kids = json_object_get(node, "children");
	json_array_foreach(kids, i, k) node_hashes(k, out);
}

/*
 * Draws the session: the theme's background, and one band per node of the
 * tree (pre-order, top to bottom) in a colour taken from the node's
 * content, so that any change of the tree or theme changes the picture.
 * Not a renderer: a stand-in whose pixels depend on what a renderer's
 * would.
 */
static int draw(const struct mstate *st, uint32_t w, uint32_t h,
		struct pt_buf *rgba)
{
	bool light = st->theme && !strcmp(st->theme, "light");
	unsigned char bg = light ? 0xf5 : 0x1e;
	struct pt_buf nodes = PT_BUF_INIT;
	size_t n, bytes = (size_t)w * h * 4;
	int r;

	node_hashes(st->tree, &nodes);
	n = nodes.len / sizeof(uint64_t);
	r = pt__buf_grow(rgba, bytes);
	for (uint32_t y = 0; r == 0 && y < h; y++) {
		size_t band = (size_t)y * (n + 1) / h;
		unsigned char px[4] = { bg, bg, bg, 0xff };
		if (band < n) {
			uint64_t c;
			memcpy(&c, nodes.s + band * sizeof(c), sizeof(c));
			px[0] = (unsigned char)c;
			px[1] = (unsigned char)(c >> 8);
			px[2] = (unsigned char)(c >> 16);
		}
		for (uint32_t x = 0; x < w; x++)
			memcpy(rgba->s + rgba->len + ((size_t)y * w + x) * 4,
			       px, 4);
	}
	if (r == 0)
		rgba->len += bytes;
	pt__buf_release(&nodes);
	return r;
}

static void screenshot(struct pt_mux_sctx *s, const struct mock *mk,
		       struct mstate *st, json_t *m)
{
	const char *name = json_string_value(json_object_get(m, "name"));
	uint32_t w = shot_dim(json_object_get(m, "width"), SHOT_DEFAULT_W);
	uint32_t h = shot_dim(json_object_get(m, "height"), SHOT_DEFAULT_H);
	struct pt_buf rgba = PT_BUF_INIT, b64 = PT_BUF_INIT;
	struct pt_sha256 sha;
	char hex[65];
	json_t *r;
	int e;

	if (!mk->headless || !st->tree) {
		/* A mock renderer draws nothing: the stub answer (also a
		 * headless one before any tree, as a renderer). */
		pt_mux_sctx_reply(s, m,
				  json_pack("{s:s, s:s, s:s, s:i, s:i}", "type",
					    "screenshot_response", "name",
					    name ? name : "", "hash", "",
					    "width", 0, "height", 0));
		return;
	}
	if ((size_t)w * h * 4 > mk->max_frame) {
		e = PT_ETOOBIG;
		goto refuse;
	}
	e = draw(st, w, h, &rgba);
	if (e < 0)
		goto refuse;
	pt__sha256_init(&sha);
	pt__sha256_update(&sha, rgba.s, rgba.len);
	pt__sha256_final_hex(&sha, hex);
	if (pt_mux_sctx_format(s) == PT_MUX_JSON) {
		e = pt__b64_encode(rgba.s, rgba.len, &b64);
		if (e < 0)
			goto refuse;
	}
	r = json_pack("{s:s, s:s, s:s, s:i, s:i}", "type",
		      "screenshot_response", "name", name ? name : "", "hash",
		      hex, "width", (int)w, "height", (int)h);
	/* Binary data: msgpack bin (a string that is not UTF-8, since every
	 * alpha byte is 0xff), base64 in JSON. */
	if (r)
		json_object_set_new(
			r, "rgba",
			b64.len ? json_stringn(b64.s, b64.len)
				: json_stringn_nocheck(rgba.s, rgba.len));
	e = pt_mux_sctx_reply(s, m, r);
refuse:
	if (e < 0) {
		char text[160];
		snprintf(text, sizeof(text),
			 "screenshot of %" PRIu32 " x %" PRIu32 ": %s", w, h,
			 e == PT_ETOOBIG ? "over the frame limit"
					 : pt_strerror(e));
		/* Answers the request, so that its caller is not left
		 * waiting (a renderer ends the session instead). */
		pt_mux_sctx_reply(s, m,
				  json_pack("{s:s, s:s, s:s, s:s}", "type",
					    "diagnostic", "level", "error",
					    "code", "screenshot_failed",
					    "message", text));
	}
	pt__buf_release(&rgba);
	pt__buf_release(&b64);
}

/* mock_block: holds the session until a test writes to (or closes) a FIFO. */
static void block(struct pt_mux_sctx *s, json_t *m)
{
	const char *path = json_string_value(json_object_get(m, "path"));
	char byte;
	int fd;

	if (json_is_true(json_object_get(m, "notify")))
		pt_mux_sctx_emit(s, json_pack("{s:s, s:s, s:s, s:{}}", "type",
					      "event", "family", "blocked",
					      "id", "", "value"));
	fd = path ? pt__open_read(path) : -EINVAL;
	if (fd < 0) {
		diag(s, "mock_block_failed", pt_strerror(fd));
		return;
	}
	(void)pt__read_once(fd, &byte, 1);
	pt__close(fd);
}

static int unhex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static void m_message(void *ctx, struct pt_mux_sctx *s, void *state, json_t *m)
{
	const struct mock *mk = ctx;
	struct mstate *st = state;
	const char *type = json_string_value(json_object_get(m, "type"));
	bool tree_update = false;

	if (!strcmp(type, "settings")) {
		json_decref(st->settings);
		st->settings = json_deep_copy(json_object_get(m, "settings"));
	} else if (!strcmp(type, "subscribe") || !strcmp(type, "unsubscribe")) {
		const char *kind =
			json_string_value(json_object_get(m, "kind"));
		if (kind && !strcmp(kind, "on_theme_change"))
			st->theme_sub = !strcmp(type, "subscribe");
	} else if (!strcmp(type, "snapshot")) {
		json_t *tree = json_object_get(m, "tree");
		json_decref(st->tree);
		st->tree = json_is_object(tree) ? json_deep_copy(tree) : NULL;
		tree_update = true;
		theme_check(s, st);
	} else if (!strcmp(type, "patch")) {
		apply_patch(s, st, m);
		tree_update = true;
	} else if (!strcmp(type, "query")) {
		const char *target =
			json_string_value(json_object_get(m, "target"));
		const char *sel =
			json_string_value(json_object_get(m, "selector"));
		json_t *data = sel ? by_selector(st->tree, sel) : st->tree;
		json_t *r = json_object();
		if (target && !strcmp(target, "settings"))
			data = st->settings;
		/* Built by hand: the hot path of bench-mux. */
		json_object_set_new(r, "type", json_string("query_response"));
		json_object_set_new(r, "target",
				    json_string(target ? target : "tree"));
		json_object_set(r, "data", data ? data : json_null());
		pt_mux_sctx_reply(s, m, r);
	} else if (!strcmp(type, "tree_hash")) {
		char *dump = st->tree
				     ? json_dumps(st->tree,
						  JSON_COMPACT | JSON_SORT_KEYS)
				     : NULL;
		char hex[24];
		snprintf(hex, sizeof(hex), "%016" PRIx64,
			 dump ? fnv1a(dump, strlen(dump)) : 0);
		json_free_str(dump);
		pt_mux_sctx_reply(s, m,
				  json_pack("{s:s, s:s}", "type",
					    "tree_hash_response", "hash", hex));
	} else if (!strcmp(type, "interact")) {
		interact(s, st, m);
	} else if (!strcmp(type, "screenshot")) {
		screenshot(s, mk, st, m);
	} else if (!strcmp(type, "widget_op")) {
		const char *op = json_string_value(json_object_get(m, "op"));
		if (op && !strcmp(op, "exit"))
			pt_mux_sctx_stop(s);
	} else if (!strcmp(type, "mock_hold")) {
		pt_mux_sctx_emit(s, json_pack("{s:s, s:s, s:s, s:{}}", "type",
					      "event", "family", "held", "id",
					      "", "value"));
	} else if (!strcmp(type, "mock_block")) {
		block(s, m);
	} else if (!strcmp(type, "mock_emit")) {
		json_t *msg = json_object_get(m, "message");
		json_int_t pad = json_integer_value(json_object_get(m, "pad"));
		if (json_is_object(msg)) {
			msg = json_deep_copy(msg);
			/* "pad": N adds N bytes, for oversized replies. */
			if (pad > 0 && pad < (1 << 28)) {
				char *x = pt__malloc((size_t)pad);
				if (x) {
					memset(x, 'x', (size_t)pad);
					json_object_set_new(
						msg, "pad",
						json_stringn(x, (size_t)pad));
					pt__free(x);
				}
			}
			pt_mux_sctx_emit(s, msg);
		}
	} else if (!strcmp(type, "mock_raw")) {
		const char *hex = json_string_value(json_object_get(m, "hex"));
		size_t n = hex ? strlen(hex) / 2 : 0;
		char *raw = pt__malloc(n + 1);
		for (size_t i = 0; raw && i < n; i++)
			raw[i] = (char)(unhex(hex[2 * i]) * 16 +
					unhex(hex[2 * i + 1]));
		if (raw)
			pt_mux_sctx_write_raw(s, raw, n);
		pt__free(raw);
	} else if (!strcmp(type, "mock_exit")) {
		pt__exit_now(
			(int)json_integer_value(json_object_get(m, "code")));
	} else {
		char text[128];
		snprintf(text, sizeof(text), "unknown message type \"%.60s\"",
			 type);
		diag(s, "unknown_message_type", text);
	}
	/* A type_text interaction goes on after any host message. */
	if (st->ia_id && strcmp(type, "interact") != 0) {
		if (!tree_update)
			diag(s, "interact_unexpected_message",
			     "expected snapshot or patch between steps");
		ia_continue(s, st);
	}
}

static const struct pt_mux_serve_ops ops = {
	.open = m_open,
	.message = m_message,
	.close = m_close,
};

/* The number in s (at most UINT32_MAX) into *ret; false after saying why. */
static bool num_arg(const char *s, const char *name, unsigned long *ret)
{
	uint64_t v;

	if (pt__parse_u64(s, &v) < 0 || v > UINT32_MAX) {
		fprintf(stderr,
			"proctor-mock-renderer: --%s: bad number \"%s\"\n",
			name, s);
		return false;
	}
	*ret = (unsigned long)v;
	return true;
}

static const char usage[] =
	"usage: proctor-mock-renderer [OPTION]...\n"
	"A worker for proctor's session pool: speaks the renderer wire protocol\n"
	"on stdin and stdout and keeps a small widget tree per session.\n"
	"\n"
	"  --mock               protocol only; a screenshot gets the stub answer\n"
	"                       of a renderer in mock mode (hash \"\", 0 x 0)\n"
	"                       (the default)\n"
	"  --headless           draw: a screenshot carries a picture of the\n"
	"                       tree (RGBA, SHA-256 hash); --mock wins when\n"
	"                       both are given\n"
	"  --json, --msgpack    the codec (default: detected from the first\n"
	"                       input byte)\n"
	"  --max-sessions N     host up to N sessions (default 1: single-session\n"
	"                       mode, replies echo the incoming session)\n"
	"  --threads N          handler threads; 0 runs the handlers on the\n"
	"                       reading thread (default 2)\n"
	"  --queue-cap N        messages queued per session before it is\n"
	"                       ejected (default 1024)\n"
	"  --max-frame N        largest frame in bytes (default and cap 64 MiB)\n"
	"  --write-timeout MS   exit when the host accepts no output for MS\n"
	"                       milliseconds (default 0: wait for it)\n"
	"  -h, --help           this text\n"
	"\n"
	"Exit status: 0 at the end of input, 1 on an I/O error, a write\n"
	"timeout or input cut mid-frame, 2 on bad usage, 3 when the host's\n"
	"settings are refused.\n";

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "msgpack", no_argument, NULL, 'm' },
		{ "max-sessions", required_argument, NULL, 's' },
		{ "threads", required_argument, NULL, 't' },
		{ "queue-cap", required_argument, NULL, 'q' },
		{ "max-frame", required_argument, NULL, 'f' },
		{ "write-timeout", required_argument, NULL, 'w' },
		{ "mock", no_argument, NULL, 'M' },
		{ "headless", no_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct mock mk = { 0 };
	struct pt_mux_serve_opts o = {
		.in_fd = 0,
		.out_fd = 1,
		.format = PT_MUX_AUTO,
		.max_sessions = 1,
		.threads = 2,
		.name = "proctor-mock-renderer",
		.ops = &ops,
		.ctx = &mk,
	};
	bool mock = false, headless = false;
	unsigned long n = 0;
	int c, r, li = 0;

	while ((c = getopt_long(argc, argv, "h", lo, &li)) != -1) {
		/* Every option with an argument takes a number. */
		if (optarg && !num_arg(optarg, lo[li].name, &n))
			return 2;
		switch (c) {
		case 'j':
			o.format = PT_MUX_JSON;
			break;
		case 'm':
			o.format = PT_MUX_MSGPACK;
			break;
		case 's':
			o.max_sessions = (unsigned)n;
			break;
		case 't':
			o.threads = (unsigned)n;
			break;
		case 'q':
			o.queue_cap = n;
			break;
		case 'f':
			o.max_frame = n;
			break;
		case 'w':
			o.write_timeout_ms = (int)PT_MIN(n, INT32_MAX);
			break;
		case 'M':
			mock = true;
			break;
		case 'H':
			headless = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fprintf(stderr,
				"Try 'proctor-mock-renderer --help'.\n");
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr,
			"proctor-mock-renderer: unexpected argument "
			"\"%s\"\n",
			argv[optind]);
		return 2;
	}
	/* As a renderer: --mock wins over --headless. */
	mk.headless = headless && !mock;
	mk.max_frame = o.max_frame && o.max_frame < PT_MUX_MAX_FRAME
			       ? o.max_frame
			       : PT_MUX_MAX_FRAME;
	o.mode = mk.headless ? "headless" : "mock";
	o.backend = mk.headless ? "mock-raster" : "mock";
	/* A host that goes away must not kill us with SIGPIPE mid-write. */
	pt__ignore_sigpipe();
	r = pt_mux_serve(&o);
	if (r == -ETIMEDOUT)
		fprintf(stderr,
			"proctor-mock-renderer: the host accepted no output "
			"for %d ms\n",
			o.write_timeout_ms);
	else if (r < 0 && r != PT_EPROTO && r != PT_EPARSE)
		fprintf(stderr, "proctor-mock-renderer: %s\n", pt_strerror(r));
	return r == 0 ? 0 : r == PT_EPROTO ? 3 : 1;
}
