/*
 * proctor-mock-renderer - a worker for the session pool, built on the
 * serve API (pt_mux_serve). Each session holds a small widget tree:
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
 * the serve library); widget_op {op: "exit"}. Test helpers, never sent by
 * a real host: mock_hold (emits event "held", never replies), mock_sleep
 * {ms, notify} (emits event "sleeping" first when notify is true),
 * mock_emit {message, pad} (pad: add that many bytes), mock_raw {hex}
 * (raw output bytes), mock_exit {code}.
 *
 * Usage: proctor-mock-renderer [--json|--msgpack] [--max-sessions N]
 *        [--threads N] [--queue-cap N] [--max-frame N] [--mock|--headless]
 */
#include "base/common.h"
#include "base/str.h"

#include <getopt.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <proctor/mux.h>

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

static uint64_t fnv1a(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h;
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
	struct mstate *st = state;
	const char *type = json_string_value(json_object_get(m, "type"));
	bool tree_update = false;

	(void)ctx;
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
		/* jansson allocated it with its own allocator. */
		json_free_t jfree;
		json_get_alloc_funcs(NULL, &jfree);
		if (dump)
			jfree(dump);
		pt_mux_sctx_reply(s, m,
				  json_pack("{s:s, s:s}", "type",
					    "tree_hash_response", "hash", hex));
	} else if (!strcmp(type, "interact")) {
		interact(s, st, m);
	} else if (!strcmp(type, "widget_op")) {
		const char *op = json_string_value(json_object_get(m, "op"));
		if (op && !strcmp(op, "exit"))
			pt_mux_sctx_stop(s);
	} else if (!strcmp(type, "mock_hold")) {
		pt_mux_sctx_emit(s, json_pack("{s:s, s:s, s:s, s:{}}", "type",
					      "event", "family", "held", "id",
					      "", "value"));
	} else if (!strcmp(type, "mock_sleep")) {
		json_int_t ms = json_integer_value(json_object_get(m, "ms"));
		/* "notify": say when the session is busy (tests wait on it). */
		if (json_is_true(json_object_get(m, "notify")))
			pt_mux_sctx_emit(s, json_pack("{s:s, s:s, s:s, s:{}}",
						      "type", "event", "family",
						      "sleeping", "id", "",
						      "value"));
		struct timespec ts = { (time_t)(ms / 1000),
				       (long)(ms % 1000) * 1000000 };
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
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
		_exit((int)json_integer_value(json_object_get(m, "code")));
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

static unsigned long num_arg(const char *s, const char *name)
{
	uint64_t v;

	if (pt__parse_u64(s, &v) < 0 || v > UINT32_MAX) {
		fprintf(stderr,
			"proctor-mock-renderer: %s: bad number \"%s\"\n", name,
			s);
		exit(2);
	}
	return (unsigned long)v;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "msgpack", no_argument, NULL, 'm' },
		{ "max-sessions", required_argument, NULL, 's' },
		{ "threads", required_argument, NULL, 't' },
		{ "queue-cap", required_argument, NULL, 'q' },
		{ "max-frame", required_argument, NULL, 'f' },
		{ "mock", no_argument, NULL, 'M' },
		{ "headless", no_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct pt_mux_serve_opts o = {
		.in_fd = 0,
		.out_fd = 1,
		.format = PT_MUX_AUTO,
		.max_sessions = 1,
		.threads = 2,
		.name = "proctor-mock-renderer",
		.mode = "mock",
		.ops = &ops,
	};
	int c, r;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'j':
			o.format = PT_MUX_JSON;
			break;
		case 'm':
			o.format = PT_MUX_MSGPACK;
			break;
		case 's':
			o.max_sessions =
				(unsigned)num_arg(optarg, "--max-sessions");
			break;
		case 't':
			o.threads = (unsigned)num_arg(optarg, "--threads");
			break;
		case 'q':
			o.queue_cap = num_arg(optarg, "--queue-cap");
			break;
		case 'f':
			o.max_frame = num_arg(optarg, "--max-frame");
			break;
		case 'M':
			o.mode = "mock";
			break;
		case 'H':
			o.mode = "headless";
			break;
		case 'h':
			printf("usage: proctor-mock-renderer [--json|--msgpack] "
			       "[--max-sessions N] [--threads N] "
			       "[--queue-cap N] [--max-frame N] "
			       "[--mock|--headless]\n");
			return 0;
		default:
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
	/* A host that goes away must not kill us with SIGPIPE mid-write. */
	signal(SIGPIPE, SIG_IGN);
	r = pt_mux_serve(&o);
	if (r < 0 && r != PT_EPROTO && r != PT_EPARSE)
		fprintf(stderr, "proctor-mock-renderer: %s\n", pt_strerror(r));
	return r == 0 ? 0 : r == PT_EPROTO ? 3 : 1;
}
