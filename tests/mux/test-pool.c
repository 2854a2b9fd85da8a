/*
 * The pool, over real worker processes (the mock renderer): the pool-side
 * checklist of docs/peers.md §1.13 (session_pool_test.exs,
 * multiplexed_test.exs, windowed_test.exs) and issue 5's proof list: isolation
 * across threads, id routing, interact streaming, reset, limits, worker death
 * and restart, per-session mode, both formats, bad frames from the worker.
 */
#define _GNU_SOURCE 1
#include "base/base64.h"
#include "base/buf.h"
#include "base/common.h"
#include "base/sha256.h"
#include "os/clock.h"

#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <proctor/mux.h>

#include "mux-test.h"
#include "tap.h"

/* ---- Pool-wide events, recorded for the test to wait on ---------------- */

struct rec {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct pt_buf log; /* one line per event: "KIND json" */
	int counts[8];
};

static struct rec R = {
	PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PT_BUF_INIT, { 0 }
};

static void on_pool_event(void *ctx, const struct pt_mux_event *ev)
{
	struct rec *r = ctx;

	pthread_mutex_lock(&r->lock);
	r->counts[ev->kind]++;
	pt__buf_addf(&r->log, "%d %s\n", (int)ev->kind,
		     ev->msg ? D(ev->msg) : "-");
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
}

/* Waits until at least n events of kind were seen (10 s at most). */
static void rec_wait(struct rec *r, enum pt_mux_event_kind kind, int n)
{
	struct timespec end;

	clock_gettime(CLOCK_REALTIME, &end);
	end.tv_sec += 10;
	pthread_mutex_lock(&r->lock);
	while (r->counts[kind] < n) {
		if (pthread_cond_timedwait(&r->cond, &r->lock, &end) ==
			    ETIMEDOUT &&
		    r->counts[kind] < n) {
			pthread_mutex_unlock(&r->lock);
			PT_FAIL("waited 10 s for %d events of kind %d; log:\n%s",
				n, (int)kind, r->log.s);
		}
	}
	pthread_mutex_unlock(&r->lock);
}

/* ---- Pools ------------------------------------------------------------- */

static const char *argv_threads[] = { NULL, "--threads", "2", NULL };
static const char *argv_inline[] = { NULL, "--threads", "0", NULL };

/* Options for a pool of mock renderers, pool-wide events recorded. */
static struct pt_mux_pool_opts
mock_opts(enum pt_mux_format f, enum pt_mux_mode mode, bool inline_worker)
{
	struct pt_mux_pool_opts o = { 0 };
	const char **argv = inline_worker ? argv_inline : argv_threads;

	signal(SIGPIPE, SIG_IGN);
	argv[0] = mock_path();
	o.argv = argv;
	o.format = f;
	o.mode = mode;
	o.on_event = on_pool_event;
	o.ctx = &R;
	o.close_grace_ms = 300;
	o.restart_backoff_ms = 10;
	return o;
}

static struct pt_mux_pool *start_pool(enum pt_mux_format f,
				      enum pt_mux_mode mode, unsigned max,
				      bool inline_worker)
{
	struct pt_mux_pool_opts o = mock_opts(f, mode, inline_worker);
	struct pt_mux_pool *p = NULL;

	o.max_sessions = max;
	PT_ASSERT_OK(pt_mux_pool_new(&o, &p));
	return p;
}

static json_t *request(struct pt_mux_pool *p, const char *id, const char *msg)
{
	json_t *m = J(msg), *reply = NULL;

	PT_ASSERT_OK(pt_mux_request(p, id, m, 10000, &reply));
	json_decref(m);
	return reply;
}

static void send_msg(struct pt_mux_pool *p, const char *id, const char *msg)
{
	json_t *m = J(msg);

	PT_ASSERT_OK(pt_mux_send(p, id, m));
	json_decref(m);
}

/* The next polled event of session id, within 10 s. */
static void next_event(struct pt_mux_pool *p, const char *id,
		       struct pt_mux_event *ev)
{
	int r = pt_mux_next_event(p, id, 10000, ev);

	PT_ASSERT_OK(r);
	if (r == 0)
		PT_FAIL("no event for %s within 10 s", id);
}

/* The next event of id must be mock_block's "blocked". */
static void next_blocked(struct pt_mux_pool *p, const char *id)
{
	struct pt_mux_event ev;

	next_event(p, id, &ev);
	PT_ASSERT_INT_EQ(ev.kind, PT_MUX_EV_MESSAGE);
	PT_ASSERT_STR_EQ(S(ev.msg, "family"), "blocked");
	pt_mux_event_release(&ev);
}

static void expect_event(struct pt_mux_pool *p, const char *id,
			 const char *want)
{
	struct pt_mux_event ev;
	json_t *x = J(want);

	next_event(p, id, &ev);
	PT_ASSERT_INT_EQ(ev.kind, PT_MUX_EV_MESSAGE);
	PT_ASSERT_STR_EQ(ev.session, id);
	if (!json_equal(ev.msg, x))
		PT_FAIL("got %s\n  want %s", D(ev.msg), D(x));
	pt_mux_event_release(&ev);
	json_decref(x);
}

/*
 * Makes session id busy until the gate at path opens (mock_block) and
 * waits until it is: with an inline worker (--threads 0), the whole
 * worker stops reading.
 */
static void block_session(struct pt_mux_pool *p, const char *id,
			  const char *path)
{
	char msg[4200];

	snprintf(msg, sizeof(msg),
		 "{\"type\":\"mock_block\",\"path\":\"%s\",\"notify\":"
		 "true}",
		 path);
	send_msg(p, id, msg);
	next_blocked(p, id);
}

static const char tree1[] =
	"{\"type\":\"snapshot\",\"tree\":{\"id\":\"root\","
	"\"type\":\"column\",\"props\":{\"title\":\"one\"}}}";

/* ---- Registration and routing ------------------------------------------ */

static void basics(enum pt_mux_format f)
{
	struct pt_mux_pool *p = start_pool(f, PT_MUX_MULTIPLEXED, 4, false);
	char a[PT_MUX_ID_MAX], b[PT_MUX_ID_MAX];
	json_t *r;

	PT_ASSERT_OK(pt_mux_register(p, NULL, NULL, a));
	PT_ASSERT_OK(pt_mux_register(p, NULL, NULL, b));
	PT_ASSERT_STR_EQ(a, "pool_1");
	PT_ASSERT_STR_EQ(b, "pool_2");
	send_msg(p, a, tree1);
	send_msg(p, b, "{\"type\":\"snapshot\",\"tree\":{\"id\":\"other\"}}");
	r = request(p, a, "{\"type\":\"query\",\"target\":\"tree\"}");
	PT_ASSERT_STR_EQ(D(r), "{\"data\":{\"id\":\"root\",\"props\":"
			       "{\"title\":\"one\"},\"type\":\"column\"},"
			       "\"id\":\"req_1\",\"session\":\"pool_1\","
			       "\"target\":\"tree\",\"type\":"
			       "\"query_response\"}");
	json_decref(r);
	r = request(p, b, "{\"type\":\"query\",\"target\":\"tree\"}");
	PT_ASSERT_STR_EQ(D(r), "{\"data\":{\"id\":\"other\"},\"id\":\"req_2\","
			       "\"session\":\"pool_2\",\"target\":\"tree\","
			       "\"type\":\"query_response\"}");
	json_decref(r);
	/* The reply is matched on (session, id) whatever its type. */
	r = request(p, a, "{\"type\":\"tree_hash\"}");
	PT_ASSERT_STR_EQ(S(r, "type"), "tree_hash_response");
	PT_ASSERT_STR_EQ(S(r, "id"), "req_3");
	json_decref(r);
	PT_ASSERT_OK(pt_mux_unregister(p, a));
	PT_ASSERT_OK(pt_mux_unregister(p, b));
	pt_mux_pool_free(p);
}

PT_TEST(register_send_and_request_in_both_formats)
{
	basics(PT_MUX_JSON);
	basics(PT_MUX_MSGPACK);
}

PT_TEST(full_pool_is_an_error_and_ids_are_never_reused)
{
	struct pt_mux_pool *p =
		start_pool(PT_MUX_JSON, PT_MUX_MULTIPLEXED, 2, false);
	char a[PT_MUX_ID_MAX], b[PT_MUX_ID_MAX], c[PT_MUX_ID_MAX];
	struct pt_mux_pool_stats st;

	PT_ASSERT_OK(pt_mux_register(p, NULL, NULL, a));
	PT_ASSERT_OK(pt_mux_register(p, NULL, NULL, b));
	PT_ASSERT_ERR(pt_mux_register(p, NULL, NULL, c), PT_EFULL);
	send_msg(p, a, tree1);
	PT_ASSERT_OK(pt_mux_unregister(p, a));
	pt_mux_pool_stats(p, &st);
	PT_ASSERT_UINT_EQ(st.live_sessions, 1);
	PT_ASSERT_OK(pt_mux_register(p, NULL, NULL, c));
	PT_ASSERT_STR_EQ(c, "pool_3");
	/* The new session starts fresh on the worker. */
	{
		json_t *r = request(p, c, "{\"type\":\"query\"}");
		PT_ASSERT(json_is_null(json_object_get(r, "data")));
		json_decref(r);
	}
	/* Unknown sessions: nothing is written, a clear error. */
	{
		json_t *m = J("{\"type\":\"query\"}"), *r = NULL;
		char rid[PT_MUX_ID_MAX];
		PT_ASSERT_ERR(pt_mux_send(p, a, m), PT_ENOTFOUND);
		PT_ASSERT_ERR(pt_mux_request(p, "pool_99", m, 1000, &r),
			      PT_ENOTFOUND);
		PT_ASSERT_ERR(pt_mux_interact(p, "nope", m, rid), PT_ENOTFOUND);
		PT_ASSERT_OK(pt_mux_unregister(p, "pool_99"));
		json_decref(m);
	}
	pt_mux_pool_free(p);
}

PT_TEST(unregister_resets_and_swallows_session_closed)
{
	/* An inline worker writes reset_response and session_closed before
	 * it reads the next message, so the order below is fixed. */
	struct pt_mux_pool *p =
		start_pool(PT_MUX_MSGPACK, PT_MUX_MULTIPLEXED, 4, true);
	char a[PT_MUX_ID_MAX], b[PT_MUX_ID_MAX], c[PT_MUX_ID_MAX];
	struct pt_mux_pool_stats st;
	json_t *r;

	pt_mux_pool_stats(p, &st);
	size_t unrouted0 = st.unrouted;
	PT_ASSERT_OK(pt_mux_register(p, NULL, NULL, a));
	PT_ASSERT_OK(pt_mux_register(p, NULL, NULL, b));
	PT_ASSERT_OK(pt_mux_register(p, NULL, NULL, c));
	send_msg(p, a, tree1);
	send_msg(p, b, tree1);
	PT_ASSERT_OK(pt_mux_unregister(p, a));
	PT_ASSERT_OK(pt_mux_unregister_async(p, b));
	pt_mux_pool_stats(p, &st);
	PT_ASSERT_UINT_EQ(st.live_sessions, 1); /* freed at once */
	/* After this round trip, b's reset_response and both
	 * session_closed have been read: all swallowed, none unrouted. */
	r = request(p, c, "{\"type\":\"query\"}");
	json_decref(r);
	pt_mux_pool_stats(p, &st);
	PT_ASSERT_UINT_EQ(st.unrouted, unrouted0);
	PT_ASSERT_UINT_EQ(st.pending_requests, 0);
	/* Polling an unregistered session says so. */
	{
		struct pt_mux_event ev;
		PT_ASSERT_ERR(pt_mux_next_event(p, a, 0, &ev), PT_ENOTFOUND);
	}
	pt_mux_pool_free(p);
}

PT_TEST(session_tagged_messages_reach_the_owner_and_others_are_unrouted)
{
	struct pt_mux_pool *p =
		start_pool(PT_MUX_JSON, PT_MUX_MULTIPLEXED, 4, true);
	char a[PT_MUX_ID_MAX];
	struct pt_mux_pool_stats st;
	json_t *r;

	PT_ASSERT_OK(pt_mux_register(p, NULL, NULL, a));
	/* An unknown type and a session_error: delivered as they are. */
	send_msg(p, a,
		 "{\"type\":\"mock_emit\",\"message\":{\"type\":"
		 "\"mystery\",\"x\":[1,2]}}");
	expect_event(p, a,
		     "{\"type\":\"mystery\",\"x\":[1,2],\"session\":"
		     "\"pool_1\"}");
	send_msg(p, a,
		 "{\"type\":\"mock_emit\",\"message\":{\"type\":"
		 "\"event\",\"family\":\"session_error\",\"id\":\"\","
		 "\"value\":{\"code\":\"boom\"}}}");
	expect_event(p, a,
		     "{\"type\":\"event\",\"family\":\"session_error\","
		     "\"id\":\"\",\"value\":{\"code\":\"boom\"},"
		     "\"session\":\"pool_1\"}");
	/* A reply nobody waits for goes to the owner too. */
	send_msg(p, a,
		 "{\"type\":\"mock_emit\",\"message\":{\"type\":"
		 "\"query_response\",\"id\":\"req_77\"}}");
	expect_event(p, a,
		     "{\"type\":\"query_response\",\"id\":\"req_77\","
		     "\"session\":\"pool_1\"}");
	/* No session, or a session nobody owns: unrouted, pool-wide. */
	send_msg(p, a,
		 "{\"type\":\"mock_raw\",\"hex\":\"7b2274797065223a22"
		 "6d79737465727922\"}");
	send_msg(p, a, "{\"type\":\"mock_raw\",\"hex\":\"7d0a\"}");
	send_msg(p, a,
		 "{\"type\":\"mock_raw\",\"hex\":\"7b2274797065223a22"
		 "78222c2273657373696f6e223a22706f6f6c5f3939227d0a\"}");
	r = request(p, a, "{\"type\":\"query\"}");
	json_decref(r);
	pt_mux_pool_stats(p, &st);
	PT_ASSERT_UINT_EQ(st.unrouted, 2);
	PT_ASSERT(strstr(R.log.s, "3 {\"type\":\"mystery\"}\n"));
	PT_ASSERT(strstr(R.log.s,
			 "3 {\"session\":\"pool_99\",\"type\":\"x\"}\n"));
	pt_mux_pool_free(p);
}

PT_TEST(theme_subscription_event_reaches_the_owner)
{
	struct pt_mux_pool *p =
		start_pool(PT_MUX_JSON, PT_MUX_MULTIPLEXED, 4, false);
	char a[PT_MUX_ID_MAX];

	PT_ASSERT_OK(pt_mux_register(p, NULL, NULL, a));
	send_msg(p, a,
		 "{\"type\":\"subscribe\",\"kind\":"
		 "\"on_theme_change\"}");
	send_msg(p, a,
		 "{\"type\":\"snapshot\",\"tree\":{\"id\":\"w\","
		 "\"type\":\"window\",\"props\":{\"theme\":\"light\"}}}");
	expect_event(p, a,
		     "{\"type\":\"event\",\"family\":"
		     "\"theme_changed\",\"id\":\"\",\"value\":"
		     "{\"theme\":\"light\"},\"session\":\"pool_1\"}");
	pt_mux_pool_free(p);
}

static void bad_frames_from_worker(enum pt_mux_format f)
{
	struct pt_mux_pool_opts o = { 0 };
	struct pt_mux_pool *p = NULL;
	char a[PT_MUX_ID_MAX];
	struct pt_mux_pool_stats st;
	json_t *r;

	argv_inline[0] = mock_path();
	o.argv = argv_inline;
	o.format = f;
	o.max_frame = 1024;
	o.on_event = on_pool_event;
	o.ctx = &R;
	PT_ASSERT_OK(pt_mux_pool_new(&o, &p));
	PT_ASSERT_OK(pt_mux_register(p, NULL, NULL, a));
	if (f == PT_MUX_JSON) {
		send_msg(p, a,
			 "{\"type\":\"mock_raw\",\"hex\":"
			 "\"676172626167650a\"}"); /* "garbage\n" */
	} else {
		send_msg(p, a,
			 "{\"type\":\"mock_raw\",\"hex\":"
			 "\"00000001c1\"}");
	}
	/* Oversized: the worker sends 3000 bytes, the pool takes 1024. */
	send_msg(p, a,
		 "{\"type\":\"mock_emit\",\"pad\":3000,\"message\":"
		 "{\"type\":\"big\"}}");
	r = request(p, a, "{\"type\":\"query\"}");
	PT_ASSERT_STR_EQ(S(r, "type"), "query_response");
	json_decref(r);
	pt_mux_pool_stats(p, &st);
	PT_ASSERT_UINT_EQ(st.decode_errors, 2);
	PT_ASSERT(strstr(R.log.s, f == PT_MUX_JSON
					  ? "malformed JSON: '[' or '{' "
					    "expected near 'garbage'"
					  : "frame is not a msgpack map"));
	PT_ASSERT(strstr(R.log.s, "1024"));
	pt_mux_pool_free(p);
}

PT_TEST(malformed_and_oversized_frames_from_the_worker_are_diagnostics)
{
	bad_frames_from_worker(PT_MUX_JSON);
	pt__buf_reset(&R.log);
	bad_frames_from_worker(PT_MUX_MSGPACK);
}

/* ---- Interact ---------------------------------------------------------- */

static void interact_flow(enum pt_mux_format f)
{
	struct pt_mux_pool *p = start_pool(f, PT_MUX_MULTIPLEXED, 4, false);
	char a[PT_MUX_ID_MAX], rid[PT_MUX_ID_MAX];
	const char *steps[] = { "a", "ab", "abc" };
	json_t *m;

	PT_ASSERT_OK(pt_mux_register(p, NULL, NULL, a));
	send_msg(p, a,
		 "{\"type\":\"snapshot\",\"tree\":{\"id\":\"root\","
		 "\"children\":[{\"id\":\"in\",\"type\":"
		 "\"text_input\"}]}}");
	m = J("{\"type\":\"interact\",\"action\":\"type_text\",\"selector\":"
	      "\"#in\",\"payload\":{\"text\":\"abc\"}}");
	PT_ASSERT_OK(pt_mux_interact(p, a, m, rid));
	json_decref(m);
	for (int i = 0; i < 3; i++) {
		char want[256], patch[256];
		snprintf(want, sizeof(want),
			 "{\"type\":\"interact_step\",\"session\":\"%s\","
			 "\"id\":\"%s\",\"events\":[{\"family\":\"input\","
			 "\"id\":\"in\",\"value\":\"%s\"}]}",
			 a, rid, steps[i]);
		expect_event(p, a, want);
		snprintf(patch, sizeof(patch),
			 "{\"type\":\"patch\",\"ops\":[{\"op\":\"update_props"
			 "\",\"path\":[0],\"props\":{\"value\":\"%s\"}}]}",
			 steps[i]);
		send_msg(p, a, patch);
	}
	{
		char want[160];
		snprintf(want, sizeof(want),
			 "{\"type\":\"interact_response\",\"session\":\"%s\","
			 "\"id\":\"%s\",\"events\":[]}",
			 a, rid);
		expect_event(p, a, want);
	}
	m = request(p, a, "{\"type\":\"query\",\"selector\":\"#in\"}");
	PT_ASSERT_STR_EQ(D(json_object_get(m, "data")),
			 "{\"id\":\"in\",\"props\":{\"value\":\"abc\"},"
			 "\"type\":\"text_input\"}");
	json_decref(m);
	pt_mux_pool_free(p);
}

PT_TEST(interact_streams_steps_and_response_to_the_owner)
{
	interact_flow(PT_MUX_JSON);
	interact_flow(PT_MUX_MSGPACK);
}

/* An owner with a callback: it answers each step from the reader. */
struct cb_owner {
	struct pt_mux_pool *p;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	char id[PT_MUX_ID_MAX];
	int steps;
	bool done;
	int blocking_call;
	struct pt_buf events;
};

static void owner_cb(void *ctx, const struct pt_mux_event *ev)
{
	struct cb_owner *o = ctx;
	const char *type = S(ev->msg, "type");

	if (!strcmp(type, "interact_step")) {
		json_t *patch = J("{\"type\":\"patch\",\"ops\":[]}"), *r = NULL;
		/* Callbacks may send, but not wait for the worker. */
		o->blocking_call = pt_mux_request(o->p, o->id, patch, 10, &r);
		PT_ASSERT_OK(pt_mux_send(o->p, o->id, patch));
		json_decref(patch);
	}
	pthread_mutex_lock(&o->lock);
	pt__buf_addf(&o->events, "%s ", type);
	if (!strcmp(type, "interact_step"))
		o->steps++;
	if (!strcmp(type, "interact_response"))
		o->done = true;
	pthread_cond_broadcast(&o->cond);
	pthread_mutex_unlock(&o->lock);
}

PT_TEST(interact_events_reach_a_callback_owner)
{
	struct cb_owner o = { .lock = PTHREAD_MUTEX_INITIALIZER,
			      .cond = PTHREAD_COND_INITIALIZER,
			      .events = PT_BUF_INIT };
	char rid[PT_MUX_ID_MAX];
	struct pt_mux_event ev;
	json_t *m;

	o.p = start_pool(PT_MUX_MSGPACK, PT_MUX_MULTIPLEXED, 4, false);
	PT_ASSERT_OK(pt_mux_register(o.p, owner_cb, &o, o.id));
	PT_ASSERT_ERR(pt_mux_next_event(o.p, o.id, 0, &ev), PT_ESTATE);
	send_msg(o.p, o.id, "{\"type\":\"snapshot\",\"tree\":{\"id\":\"t\"}}");
	m = J("{\"type\":\"interact\",\"action\":\"type_text\",\"selector\":"
	      "\"#t\",\"payload\":{\"text\":\"hello\"}}");
	PT_ASSERT_OK(pt_mux_interact(o.p, o.id, m, rid));
	json_decref(m);
	pthread_mutex_lock(&o.lock);
	while (!o.done) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 10;
		PT_ASSERT_INT_EQ(pthread_cond_timedwait(&o.cond, &o.lock, &ts),
				 0);
	}
	pthread_mutex_unlock(&o.lock);
	PT_ASSERT_INT_EQ(o.steps, 5);
	PT_ASSERT_STR_EQ(o.events.s,
			 "interact_step interact_step interact_step "
			 "interact_step interact_step interact_response ");
	PT_ASSERT_ERR(o.blocking_call, PT_ESTATE);
	PT_ASSERT_OK(pt_mux_unregister(o.p, o.id));
	pt_mux_pool_free(o.p);
	pt__buf_release(&o.events);
}

/* ---- Timeouts, worker death and restart -------------------------------- */

PT_TEST(request_timeout_removes_the_pending_entry)
{
	struct pt_mux_pool *p =
		start_pool(PT_MUX_JSON, PT_MUX_MULTIPLEXED, 4, false);
	char a[PT_MUX_ID_MAX];
	struct pt_mux_pool_stats st;
	json_t *m = J("{\"type\":\"mock_hold\"}"), *r = NULL;
	int64_t t0 = pt__now_ns();

	PT_ASSERT_OK(pt_mux_register(p, NULL, NULL, a));
	PT_ASSERT_ERR(pt_mux_request(p, a, m, 100, &r), -ETIMEDOUT);
	PT_ASSERT_INT_GE(pt__now_ns() - t0, 100000000LL);
	PT_ASSERT_NULL(r);
	pt_mux_pool_stats(p, &st);
	PT_ASSERT_UINT_EQ(st.pending_requests, 0);
	json_decref(m);
	/* The session still works. */
	r = request(p, a, "{\"type\":\"query\"}");
	PT_ASSERT_STR_EQ(S(r, "id"), "req_2");
	json_decref(r);
	pt_mux_pool_free(p);
}

struct blocked {
	struct pt_mux_pool *p;
	const char *id;
	int result;
	int64_t done_ns;
};

static void *blocked_request(void *arg)
{
	struct blocked *b = arg;
	json_t *m = J("{\"type\":\"mock_hold\"}"), *r = NULL;

	b->result = pt_mux_request(b->p, b->id, m, 20000, &r);
	b->done_ns = pt__now_ns();
	json_decref(m);
	json_decref(r);
	return NULL;
}

static void killed_mid_request(enum pt_mux_format f)
{
	struct pt_mux_pool *p;
	char a[PT_MUX_ID_MAX], b[PT_MUX_ID_MAX];
	struct blocked bl = { 0 };
	struct pt_mux_event ev;
	struct pt_mux_pool_stats st;
	pthread_t th;
	int64_t killed;
	pid_t pid;
	json_t *r;

	memset(R.counts, 0, sizeof(R.counts));
	p = start_pool(f, PT_MUX_MULTIPLEXED, 4, false);
	PT_ASSERT_OK(pt_mux_register(p, NULL, NULL, a));
	bl.p = p;
	bl.id = a;
	PT_ASSERT_INT_EQ(pthread_create(&th, NULL, blocked_request, &bl), 0);
	/* The worker says "held" once it has the request. */
	expect_event(p, a,
		     "{\"type\":\"event\",\"family\":\"held\",\"id\":"
		     "\"\",\"value\":{},\"session\":\"pool_1\"}");
	pid = pt_mux_session_worker_pid(p, a);
	PT_ASSERT_INT_GT(pid, 0);
	killed = pt__now_ns();
	PT_ASSERT_OK(kill(pid, SIGKILL));
	pthread_join(th, NULL);
	PT_ASSERT_ERR(bl.result, PT_EWORKER);
	PT_ASSERT_INT_LT(bl.done_ns - killed, 5000000000LL);
	/* The owner is told, with the wait status. */
	next_event(p, a, &ev);
	PT_ASSERT_INT_EQ(ev.kind, PT_MUX_EV_WORKER_EXITED);
	PT_ASSERT(WIFSIGNALED(ev.status) && WTERMSIG(ev.status) == SIGKILL);
	pt_mux_event_release(&ev);
	/* Its session is gone with the worker. */
	{
		json_t *m = J("{\"type\":\"query\"}");
		PT_ASSERT_ERR(pt_mux_send(p, a, m), PT_EWORKER);
		json_decref(m);
	}
	PT_ASSERT_OK(pt_mux_unregister(p, a));
	/* The pool restarts the worker; new sessions work again. */
	rec_wait(&R, PT_MUX_EV_WORKER_RESTARTED, 1);
	PT_ASSERT_OK(pt_mux_register(p, NULL, NULL, b));
	PT_ASSERT_STR_EQ(b, "pool_2");
	PT_ASSERT_INT_NE(pt_mux_session_worker_pid(p, b), pid);
	send_msg(p, b, tree1);
	r = request(p, b, "{\"type\":\"query\"}");
	PT_ASSERT_STR_EQ(S(json_object_get(r, "data"), "id"), "root");
	json_decref(r);
	pt_mux_pool_stats(p, &st);
	PT_ASSERT_UINT_EQ(st.restarts, 1);
	PT_ASSERT_UINT_EQ(st.live_sessions, 1);
	pt_mux_pool_free(p);
}

PT_TEST(worker_killed_mid_request_answers_waiters_and_restarts)
{
	killed_mid_request(PT_MUX_JSON);
	killed_mid_request(PT_MUX_MSGPACK);
}

PT_TEST(restarts_are_bounded)
{
	struct pt_mux_pool_opts o = { 0 };
	struct pt_mux_pool *p = NULL;
	char a[PT_MUX_ID_MAX];
	json_t *m = J("{\"type\":\"mock_exit\",\"code\":7}");

	memset(R.counts, 0, sizeof(R.counts));
	argv_threads[0] = mock_path();
	o.argv = argv_threads;
	o.format = PT_MUX_JSON;
	o.on_event = on_pool_event;
	o.ctx = &R;
	o.max_restarts = 1;
	o.restart_backoff_ms = 5;
	PT_ASSERT_OK(pt_mux_pool_new(&o, &p));
	PT_ASSERT_OK(pt_mux_register(p, NULL, NULL, a));
	PT_ASSERT_OK(pt_mux_send(p, a, m));
	rec_wait(&R, PT_MUX_EV_WORKER_RESTARTED, 1);
	PT_ASSERT_OK(pt_mux_register(p, NULL, NULL, a));
	PT_ASSERT_OK(pt_mux_send(p, a, m));
	rec_wait(&R, PT_MUX_EV_WORKER_GAVE_UP, 1);
	PT_ASSERT_ERR(pt_mux_register(p, NULL, NULL, a), PT_EWORKER);
	PT_ASSERT_INT_EQ(R.counts[PT_MUX_EV_WORKER_RESTARTED], 1);
	json_decref(m);
	pt_mux_pool_free(p);
}

PT_TEST(bad_handshakes_are_clear_start_errors)
{
	static const char *const exit3[] = { "/bin/sh", "-c", "exit 3", NULL };
	static const char *const v2[] = {
		"/bin/sh", "-c",
		"echo '{\"type\":\"hello\",\"session\":\"\","
		"\"protocol_version\":2}'; cat >/dev/null",
		NULL
	};
	static const char *const err[] = {
		"/bin/sh", "-c",
		"echo '{\"type\":\"error\",\"message\":\"no way\"}'", NULL
	};
	struct pt_mux_pool_opts o = { 0 };
	struct pt_mux_pool *p = NULL;
	struct pt_diags *d;

	PT_ASSERT_OK(pt_diags_new(&d));
	o.format = PT_MUX_JSON;
	o.diags = d;
	o.argv = exit3;
	PT_ASSERT_ERR(pt_mux_pool_new(&o, &p), PT_EWORKER);
	PT_ASSERT_STR_EQ(pt_diags_get(d, 0)->message,
			 "/bin/sh exited before sending hello (exit 3)");
	o.argv = v2;
	PT_ASSERT_ERR(pt_mux_pool_new(&o, &p), PT_EPROTO);
	PT_ASSERT_STR_EQ(pt_diags_get(d, 1)->message,
			 "hello.protocol_version is not 1");
	o.argv = err;
	PT_ASSERT_ERR(pt_mux_pool_new(&o, &p), PT_EPROTO);
	PT_ASSERT_STR_EQ(pt_diags_get(d, 2)->message,
			 "expected hello, got \"error\": no way");
	o.argv = NULL;
	PT_ASSERT_ERR(pt_mux_pool_new(&o, &p), -EINVAL);
	PT_ASSERT_NULL(p);
	pt_diags_free(d);
}

/* ---- Per-session mode -------------------------------------------------- */

PT_TEST(per_session_mode_runs_one_worker_per_session)
{
	struct pt_mux_pool *p =
		start_pool(PT_MUX_JSON, PT_MUX_PER_SESSION, 3, false);
	char a[PT_MUX_ID_MAX], b[PT_MUX_ID_MAX], c[PT_MUX_ID_MAX];
	struct pt_mux_event ev;
	pid_t pa, pb;
	json_t *r;

	PT_ASSERT_OK(pt_mux_register(p, NULL, NULL, a));
	PT_ASSERT_OK(pt_mux_register(p, NULL, NULL, b));
	pa = pt_mux_session_worker_pid(p, a);
	pb = pt_mux_session_worker_pid(p, b);
	PT_ASSERT_INT_GT(pa, 0);
	PT_ASSERT_INT_GT(pb, 0);
	PT_ASSERT_INT_NE(pa, pb);
	send_msg(p, a, tree1);
	r = request(p, a, "{\"type\":\"query\"}");
	PT_ASSERT_STR_EQ(S(r, "session"), a);
	PT_ASSERT_STR_EQ(S(json_object_get(r, "data"), "id"), "root");
	json_decref(r);
	r = request(p, b, "{\"type\":\"query\"}");
	PT_ASSERT(json_is_null(json_object_get(r, "data")));
	json_decref(r);
	/* Unregister ends the process. */
	PT_ASSERT_OK(pt_mux_unregister(p, a));
	PT_ASSERT_INT_EQ(kill(pa, 0), -1);
	PT_ASSERT_INT_EQ(errno, ESRCH);
	/* A session whose worker dies is told; the others go on. */
	PT_ASSERT_OK(pt_mux_register(p, NULL, NULL, c));
	PT_ASSERT_OK(kill(pt_mux_session_worker_pid(p, c), SIGKILL));
	next_event(p, c, &ev);
	PT_ASSERT_INT_EQ(ev.kind, PT_MUX_EV_WORKER_EXITED);
	r = request(p, b, "{\"type\":\"tree_hash\"}");
	PT_ASSERT_STR_EQ(S(r, "type"), "tree_hash_response");
	json_decref(r);
	PT_ASSERT_OK(pt_mux_unregister(p, c));
	PT_ASSERT_OK(pt_mux_unregister_async(p, b));
	pt_mux_pool_free(p);
	/* free() waited for the async close. */
	PT_ASSERT_INT_EQ(kill(pb, 0), -1);
}

PT_TEST(per_session_close_kills_a_stuck_worker_after_the_grace)
{
	struct pt_mux_pool *p =
		start_pool(PT_MUX_MSGPACK, PT_MUX_PER_SESSION, 2, false);
	char a[PT_MUX_ID_MAX], path[4096];
	int gate = gate_new("gate", path, sizeof(path));
	int64_t t0;
	pid_t pa;

	PT_ASSERT_OK(pt_mux_register(p, NULL, NULL, a));
	pa = pt_mux_session_worker_pid(p, a);
	/* Busy until the gate opens (never): the exit request waits. */
	block_session(p, a, path);
	t0 = pt__now_ns();
	PT_ASSERT_OK(pt_mux_unregister(p, a));
	/* Answered after the 300 ms grace, killed. */
	PT_ASSERT_INT_GE(pt__now_ns() - t0, 300000000LL);
	PT_ASSERT_INT_EQ(kill(pa, 0), -1);
	pt_mux_pool_free(p);
	close(gate);
}

/* ---- Many threads, many sessions --------------------------------------- */

struct worker_arg {
	struct pt_mux_pool *p;
	int index, sessions, rounds;
	int failures;
	char msg[256];
};

/* Each thread owns sessions; every reply must carry its own content. */
static void *hammer(void *arg)
{
	struct worker_arg *w = arg;
	char(*ids)[PT_MUX_ID_MAX] =
		pt__calloc((size_t)w->sessions, PT_MUX_ID_MAX);

	for (int s = 0; s < w->sessions; s++) {
		char buf[160];
		json_t *m;
		if (pt_mux_register(w->p, NULL, NULL, ids[s]) < 0) {
			w->failures++;
			snprintf(w->msg, sizeof(w->msg), "register failed");
			continue;
		}
		snprintf(buf, sizeof(buf),
			 "{\"type\":\"snapshot\",\"tree\":{\"id\":\"t%d-%d\"}}",
			 w->index, s);
		m = J(buf);
		if (pt_mux_send(w->p, ids[s], m) < 0)
			w->failures++;
		json_decref(m);
	}
	for (int round = 0; round < w->rounds; round++) {
		for (int s = 0; s < w->sessions; s++) {
			json_t *m = J("{\"type\":\"query\"}"), *r = NULL;
			char want[64];
			snprintf(want, sizeof(want), "t%d-%d", w->index, s);
			if (pt_mux_request(w->p, ids[s], m, 20000, &r) < 0 ||
			    strcmp(S(r, "session"), ids[s]) ||
			    strcmp(S(json_object_get(r, "data"), "id"), want)) {
				w->failures++;
				snprintf(w->msg, sizeof(w->msg),
					 "%s wanted %s, got %s", ids[s], want,
					 D(r));
			}
			json_decref(m);
			json_decref(r);
		}
	}
	/* Pipelined: every session has an interact in flight at once. */
	{
		char(*rids)[PT_MUX_ID_MAX] =
			pt__calloc((size_t)w->sessions, PT_MUX_ID_MAX);
		json_t *m = J("{\"type\":\"interact\",\"action\":\"click\"}");
		for (int s = 0; s < w->sessions; s++) {
			char sel[32];
			snprintf(sel, sizeof(sel), "#t%d-%d", w->index, s);
			json_object_set_new(m, "selector", json_string(sel));
			if (pt_mux_interact(w->p, ids[s], m, rids[s]) < 0)
				w->failures++;
		}
		json_decref(m);
		for (int s = 0; s < w->sessions; s++) {
			struct pt_mux_event ev;
			char want[64];
			snprintf(want, sizeof(want), "t%d-%d", w->index, s);
			if (pt_mux_next_event(w->p, ids[s], 20000, &ev) != 1 ||
			    strcmp(S(ev.msg, "id"), rids[s]) ||
			    strcmp(S(json_array_get(
					     json_object_get(ev.msg, "events"),
					     0),
				     "id"),
				   want)) {
				w->failures++;
				snprintf(w->msg, sizeof(w->msg),
					 "interact %s: %s", ids[s], D(ev.msg));
			}
			pt_mux_event_release(&ev);
		}
		pt__free(rids);
	}
	for (int s = 0; s < w->sessions; s++)
		pt_mux_unregister(w->p, ids[s]);
	pt__free(ids);
	return NULL;
}

static void run_hammer(enum pt_mux_format f, int threads, int sessions,
		       int rounds)
{
	struct pt_mux_pool *p = start_pool(
		f, PT_MUX_MULTIPLEXED, (unsigned)(threads * sessions), false);
	struct worker_arg *args = pt__calloc((size_t)threads, sizeof(*args));
	pthread_t *th = pt__calloc((size_t)threads, sizeof(*th));
	struct pt_mux_pool_stats st;

	for (int i = 0; i < threads; i++) {
		args[i] = (struct worker_arg){ p, i, sessions, rounds, 0, "" };
		PT_ASSERT_INT_EQ(pthread_create(&th[i], NULL, hammer, &args[i]),
				 0);
	}
	for (int i = 0; i < threads; i++) {
		pthread_join(th[i], NULL);
		if (args[i].failures)
			PT_FAIL("thread %d: %d failures, last: %s", i,
				args[i].failures, args[i].msg);
	}
	pt_mux_pool_stats(p, &st);
	PT_ASSERT_UINT_EQ(st.live_sessions, 0);
	PT_ASSERT_UINT_EQ(st.pending_requests, 0);
	PT_ASSERT_UINT_EQ(st.decode_errors, 0);
	pt__free(args);
	pt__free(th);
	pt_mux_pool_free(p);
}

PT_TEST(threads_never_see_each_others_replies)
{
	run_hammer(PT_MUX_JSON, 8, 4, 25);
	run_hammer(PT_MUX_MSGPACK, 8, 4, 25);
}

PT_TEST(a_thousand_sessions_on_one_worker)
{
	run_hammer(PT_MUX_MSGPACK, 10, 100, 2);
}

PT_TEST(polled_queue_is_bounded_and_counts_what_it_drops)
{
	struct pt_mux_pool_opts o = { 0 };
	struct pt_mux_pool *p = NULL;
	struct pt_mux_event ev;
	char a[PT_MUX_ID_MAX];
	json_t *r;

	argv_inline[0] = mock_path();
	o.argv = argv_inline;
	o.format = PT_MUX_MSGPACK;
	o.owner_queue_cap = 2;
	PT_ASSERT_OK(pt_mux_pool_new(&o, &p));
	PT_ASSERT_OK(pt_mux_register(p, NULL, NULL, a));
	for (int i = 1; i <= 5; i++) {
		char buf[128];
		snprintf(buf, sizeof(buf),
			 "{\"type\":\"mock_emit\",\"message\":{\"type\":"
			 "\"tick\",\"n\":%d}}",
			 i);
		send_msg(p, a, buf);
	}
	/* A round trip: all five ticks have been read by now. */
	r = request(p, a, "{\"type\":\"query\"}");
	json_decref(r);
	for (int i = 1; i <= 2; i++) {
		next_event(p, a, &ev);
		PT_ASSERT_INT_EQ(
			json_integer_value(json_object_get(ev.msg, "n")), i);
		PT_ASSERT_UINT_EQ(ev.lost, 0);
		pt_mux_event_release(&ev);
	}
	PT_ASSERT_INT_EQ(pt_mux_next_event(p, a, 0, &ev), 0);
	send_msg(p, a,
		 "{\"type\":\"mock_emit\",\"message\":{\"type\":"
		 "\"tick\",\"n\":6}}");
	next_event(p, a, &ev);
	PT_ASSERT_INT_EQ(json_integer_value(json_object_get(ev.msg, "n")), 6);
	PT_ASSERT_UINT_EQ(ev.lost, 3);
	pt_mux_event_release(&ev);
	pt_mux_pool_free(p);
}

PT_TEST(unregister_times_out_but_frees_the_slot)
{
	struct pt_mux_pool_opts o = { 0 };
	struct pt_mux_pool *p = NULL;
	struct pt_mux_pool_stats st;
	char a[PT_MUX_ID_MAX], b[PT_MUX_ID_MAX], path[4096];
	int gate = gate_new("gate", path, sizeof(path));
	json_t *r;

	argv_threads[0] = mock_path();
	o.argv = argv_threads;
	o.format = PT_MUX_JSON;
	o.max_sessions = 1;
	o.unregister_timeout_ms = 100;
	o.on_event = on_pool_event;
	o.ctx = &R;
	PT_ASSERT_OK(pt_mux_pool_new(&o, &p));
	PT_ASSERT_OK(pt_mux_register(p, NULL, NULL, a));
	block_session(p, a, path);
	PT_ASSERT_ERR(pt_mux_unregister(p, a), -ETIMEDOUT);
	gate_pass(gate); /* the reset is answered late */
	pt_mux_pool_stats(p, &st);
	PT_ASSERT_UINT_EQ(st.live_sessions, 0);
	PT_ASSERT_UINT_EQ(st.pending_requests, 0);
	/* The slot is free; the late reset_response is swallowed. */
	PT_ASSERT_OK(pt_mux_register(p, NULL, NULL, b));
	r = request(p, b, "{\"type\":\"query\"}");
	PT_ASSERT_STR_EQ(S(r, "session"), "pool_2");
	json_decref(r);
	pt_mux_pool_stats(p, &st);
	PT_ASSERT_UINT_EQ(st.unrouted, 0);
	pt_mux_pool_free(p);
	close(gate);
}

/* ---- A worker that stops reading (issue 12) ---------------------------- */

struct pending {
	struct pt_mux_pool *p;
	const char *id;
	char msg[4200];
	int result;
};

static void *pending_main(void *arg)
{
	struct pending *b = arg;
	json_t *m = J(b->msg), *r = NULL;

	b->result = pt_mux_request(b->p, b->id, m, 20000, &r);
	json_decref(m);
	json_decref(r);
	return NULL;
}

/* A query padded to bytes bytes: far more than a pipe holds. */
static json_t *big_message(size_t bytes)
{
	char *pad = pt__malloc(bytes);
	json_t *m = json_pack("{s:s}", "type", "query");

	memset(pad, 'x', bytes);
	json_object_set_new(m, "pad", json_stringn(pad, bytes));
	pt__free(pad);
	return m;
}

static void stops_reading(enum pt_mux_mode mode, enum pt_mux_format f)
{
	struct pt_mux_pool_opts o = mock_opts(f, mode, true);
	struct pt_mux_pool *p = NULL;
	struct pending pr = { 0 };
	struct pt_mux_event ev;
	char a[PT_MUX_ID_MAX], b[PT_MUX_ID_MAX], path[4096], name[32];
	int gate;
	pthread_t th;
	json_t *big, *r;

	snprintf(name, sizeof(name), "gate-%d-%d", (int)mode, (int)f);
	gate = gate_new(name, path, sizeof(path));

	memset(R.counts, 0, sizeof(R.counts));
	pt__buf_reset(&R.log);
	o.write_timeout_ms = 200;
	PT_ASSERT_OK(pt_mux_pool_new(&o, &p));
	PT_ASSERT_OK(pt_mux_register(p, NULL, NULL, a));
	PT_ASSERT_OK(pt_mux_register(p, NULL, NULL, b));
	/* A request that the worker takes and then blocks on: the inline
	 * worker reads nothing more, and the request stays pending. */
	pr.p = p;
	pr.id = a;
	snprintf(pr.msg, sizeof(pr.msg),
		 "{\"type\":\"mock_block\",\"path\":\"%s\",\"notify\":true}",
		 path);
	PT_ASSERT_INT_EQ(pthread_create(&th, NULL, pending_main, &pr), 0);
	next_blocked(p, a);
	/* A frame bigger than the pipe: the write stalls, and the deadline
	 * ends it instead of retrying for ever. */
	big = big_message(1u << 20);
	PT_ASSERT_ERR(pt_mux_send(p, a, big), PT_EWORKER);
	json_decref(big);
	/* The worker was killed: the pending request gets the error... */
	pthread_join(th, NULL);
	PT_ASSERT_ERR(pr.result, PT_EWORKER);
	next_event(p, a, &ev);
	PT_ASSERT_INT_EQ(ev.kind, PT_MUX_EV_WORKER_EXITED);
	PT_ASSERT(WIFSIGNALED(ev.status) && WTERMSIG(ev.status) == SIGKILL);
	pt_mux_event_release(&ev);
	rec_wait(&R, PT_MUX_EV_DIAGNOSTIC, 1);
	PT_ASSERT(strstr(R.log.s, "\"code\":\"worker_write_timeout\"") &&
		  strstr(R.log.s, "read nothing for 200 ms; killed it"));
	/* ...and the pool recovers as from any dead worker. */
	if (mode == PT_MUX_MULTIPLEXED) {
		rec_wait(&R, PT_MUX_EV_WORKER_RESTARTED, 1);
		PT_ASSERT_OK(pt_mux_unregister(p, b));
		PT_ASSERT_OK(pt_mux_register(p, NULL, NULL, b));
	}
	send_msg(p, b, tree1);
	r = request(p, b, "{\"type\":\"query\"}");
	PT_ASSERT_STR_EQ(S(json_object_get(r, "data"), "id"), "root");
	json_decref(r);
	pt_mux_pool_free(p);
	close(gate);
}

PT_TEST(a_worker_that_stops_reading_is_killed_after_the_write_deadline)
{
	stops_reading(PT_MUX_MULTIPLEXED, PT_MUX_JSON);
	stops_reading(PT_MUX_MULTIPLEXED, PT_MUX_MSGPACK);
	stops_reading(PT_MUX_PER_SESSION, PT_MUX_JSON);
}

PT_TEST(an_exited_worker_is_gone_even_while_its_child_holds_the_output)
{
	/* The worker leaves behind a process of another session that keeps
	 * its stdout open until the gate closes. */
	static const char script[] =
		"setsid sh -c 'read x <\"$0\"' \"$0\" </dev/null 2>/dev/null & "
		"exec \"$@\"";
	char path[4096];
	int gate = gate_new("gate", path, sizeof(path));
	const char *argv[] = { "/bin/sh",   "-c",	 script, path,
			       mock_path(), "--threads", "2",	 NULL };
	struct pt_mux_pool_opts o = { 0 };
	struct pt_mux_pool *p = NULL;
	struct pending pr = { 0 };
	struct pt_mux_event ev;
	char a[PT_MUX_ID_MAX], b[PT_MUX_ID_MAX];
	pthread_t th;
	json_t *r;

	memset(R.counts, 0, sizeof(R.counts));
	o.argv = argv;
	o.format = PT_MUX_JSON;
	o.on_event = on_pool_event;
	o.ctx = &R;
	o.restart_backoff_ms = 10;
	PT_ASSERT_OK(pt_mux_pool_new(&o, &p));
	PT_ASSERT_OK(pt_mux_register(p, NULL, NULL, a));
	pr.p = p;
	pr.id = a;
	snprintf(pr.msg, sizeof(pr.msg), "{\"type\":\"mock_hold\"}");
	PT_ASSERT_INT_EQ(pthread_create(&th, NULL, pending_main, &pr), 0);
	expect_event(p, a,
		     "{\"type\":\"event\",\"family\":\"held\",\"id\":"
		     "\"\",\"value\":{},\"session\":\"pool_1\"}");
	send_msg(p, a, "{\"type\":\"mock_exit\",\"code\":5}");
	pthread_join(th, NULL);
	PT_ASSERT_ERR(pr.result, PT_EWORKER);
	next_event(p, a, &ev);
	PT_ASSERT_INT_EQ(ev.kind, PT_MUX_EV_WORKER_EXITED);
	PT_ASSERT(WIFEXITED(ev.status) && WEXITSTATUS(ev.status) == 5);
	pt_mux_event_release(&ev);
	rec_wait(&R, PT_MUX_EV_WORKER_RESTARTED, 1);
	PT_ASSERT_OK(pt_mux_register(p, NULL, NULL, b));
	r = request(p, b, "{\"type\":\"tree_hash\"}");
	PT_ASSERT_STR_EQ(S(r, "type"), "tree_hash_response");
	json_decref(r);
	pt_mux_pool_free(p);
	close(gate); /* the processes left behind end */
}

/* ---- Renderer modes (issue 18) ----------------------------------------- */

static struct pt_mux_pool *start_mode(enum pt_mux_format f,
				      enum pt_mux_renderer_mode rm)
{
	struct pt_mux_pool_opts o = mock_opts(f, PT_MUX_MULTIPLEXED, false);
	struct pt_mux_pool *p = NULL;

	o.renderer_mode = rm;
	PT_ASSERT_OK(pt_mux_pool_new(&o, &p));
	return p;
}

static json_t *screenshot(struct pt_mux_pool *p, const char *id, int w, int h)
{
	char buf[160];
	json_t *m, *r = NULL;

	snprintf(buf, sizeof(buf),
		 "{\"type\":\"screenshot\",\"name\":\"shot\",\"width\":%d,"
		 "\"height\":%d}",
		 w, h);
	m = J(buf);
	PT_ASSERT_OK(pt_mux_request_expect(p, id, m, "screenshot_response",
					   10000, &r));
	json_decref(m);
	return r;
}

/* The RGBA bytes of a headless screenshot; checks size and hash. */
static void check_pixels(const json_t *r, enum pt_mux_format f)
{
	const json_t *rgba = json_object_get(r, "rgba");
	json_int_t w = json_integer_value(json_object_get(r, "width"));
	json_int_t h = json_integer_value(json_object_get(r, "height"));
	struct pt_buf px = PT_BUF_INIT;
	struct pt_sha256 sha;
	char hex[65];

	PT_ASSERT(json_is_string(rgba));
	if (f == PT_MUX_JSON) /* base64 in JSON, bin in msgpack */
		PT_ASSERT_OK(pt__b64_decode(json_string_value(rgba),
					    json_string_length(rgba), &px));
	else
		PT_ASSERT_OK(pt__buf_add(&px, json_string_value(rgba),
					 json_string_length(rgba)));
	PT_ASSERT_UINT_EQ(px.len, (size_t)(w * h * 4));
	pt__sha256_init(&sha);
	pt__sha256_update(&sha, px.s, px.len);
	pt__sha256_final_hex(&sha, hex);
	PT_ASSERT_STR_EQ(S(r, "hash"), hex);
	pt__buf_release(&px);
}

static void screenshots(enum pt_mux_format f)
{
	struct pt_mux_pool *p = start_mode(f, PT_MUX_RENDERER_MOCK);
	char a[PT_MUX_ID_MAX], b[PT_MUX_ID_MAX], c[PT_MUX_ID_MAX];
	json_t *ra, *rb, *rc;

	/* Mock mode: the stub answer of a renderer in mock mode. */
	PT_ASSERT_OK(pt_mux_register(p, NULL, NULL, a));
	send_msg(p, a, tree1);
	ra = screenshot(p, a, 32, 16);
	PT_ASSERT_STR_EQ(D(ra),
			 "{\"hash\":\"\",\"height\":0,\"id\":\"req_1\","
			 "\"name\":\"shot\",\"session\":\"pool_1\","
			 "\"type\":\"screenshot_response\",\"width\":0}");
	json_decref(ra);
	pt_mux_pool_free(p);

	/* Headless: a picture of the session's tree (none yet: the stub). */
	p = start_mode(f, PT_MUX_RENDERER_HEADLESS);
	PT_ASSERT_OK(pt_mux_register(p, NULL, NULL, a));
	PT_ASSERT_OK(pt_mux_register(p, NULL, NULL, b));
	PT_ASSERT_OK(pt_mux_register(p, NULL, NULL, c));
	ra = screenshot(p, a, 32, 16);
	PT_ASSERT_STR_EQ(S(ra, "hash"), "");
	PT_ASSERT_NULL(json_object_get(ra, "rgba"));
	json_decref(ra);
	send_msg(p, a, tree1);
	send_msg(p, b, tree1);
	send_msg(p, c,
		 "{\"type\":\"snapshot\",\"tree\":{\"id\":\"root\","
		 "\"type\":\"column\",\"props\":{\"title\":\"two\"}}}");
	ra = screenshot(p, a, 32, 16);
	rb = screenshot(p, b, 32, 16);
	rc = screenshot(p, c, 32, 16);
	PT_ASSERT_INT_EQ(json_integer_value(json_object_get(ra, "width")), 32);
	PT_ASSERT_INT_EQ(json_integer_value(json_object_get(ra, "height")), 16);
	PT_ASSERT_STR_EQ(S(ra, "name"), "shot");
	PT_ASSERT_UINT_EQ(strlen(S(ra, "hash")), 64);
	check_pixels(ra, f);
	check_pixels(rc, f);
	/* The same tree draws the same picture in any session; another
	 * tree another one. */
	PT_ASSERT_STR_EQ(S(ra, "hash"), S(rb, "hash"));
	PT_ASSERT(strcmp(S(ra, "hash"), S(rc, "hash")) != 0);
	json_decref(ra);
	json_decref(rb);
	json_decref(rc);
	/* A renderer's defaults: 1024 x 768. */
	{
		json_t *m = J("{\"type\":\"screenshot\",\"name\":\"d\"}"), *r;
		PT_ASSERT_OK(pt_mux_request_expect(
			p, a, m, "screenshot_response", 10000, &r));
		PT_ASSERT_INT_EQ(
			json_integer_value(json_object_get(r, "width")), 1024);
		PT_ASSERT_INT_EQ(
			json_integer_value(json_object_get(r, "height")), 768);
		check_pixels(r, f);
		json_decref(r);
		json_decref(m);
	}
	pt_mux_pool_free(p);
}

PT_TEST(screenshots_are_stubs_in_mock_mode_and_pictures_in_headless_mode)
{
	screenshots(PT_MUX_JSON);
	screenshots(PT_MUX_MSGPACK);
}

/* A worker that answers its arguments as a start error. */
static const char *const echo_args[] = {
	"/bin/sh", "-c",
	"printf '{\"type\":\"error\",\"message\":\"%s\"}\\n' \"$*\"", "sh", NULL
};

PT_TEST(the_renderer_mode_reaches_the_worker_as_a_flag)
{
	static const char *const says_mock[] = {
		"/bin/sh", "-c",
		"echo '{\"type\":\"hello\",\"session\":\"\","
		"\"protocol_version\":1,\"mode\":\"mock\"}'; cat >/dev/null",
		NULL
	};
	struct pt_mux_pool_opts o = { 0 };
	struct pt_mux_pool *p = NULL;
	struct pt_diags *d;
	char a[PT_MUX_ID_MAX];

	pt__buf_reset(&R.log);
	PT_ASSERT_OK(pt_diags_new(&d));
	o.format = PT_MUX_JSON;
	o.diags = d;
	o.argv = echo_args;
	PT_ASSERT_ERR(pt_mux_pool_new(&o, &p), PT_EPROTO);
	PT_ASSERT_STR_EQ(pt_diags_get(d, 0)->message,
			 "expected hello, got \"error\": --mock "
			 "--max-sessions 8 --json");
	o.renderer_mode = PT_MUX_RENDERER_HEADLESS;
	o.max_sessions = 3;
	PT_ASSERT_ERR(pt_mux_pool_new(&o, &p), PT_EPROTO);
	PT_ASSERT_STR_EQ(pt_diags_get(d, 1)->message,
			 "expected hello, got \"error\": --headless "
			 "--max-sessions 3 --json");
	/* A worker that is something else than asked for is refused. */
	o.argv = says_mock;
	PT_ASSERT_ERR(pt_mux_pool_new(&o, &p), PT_EPROTO);
	PT_ASSERT_STR_EQ(pt_diags_get(d, 2)->message,
			 "hello.mode is \"mock\", the pool asked for headless "
			 "(--headless)");
	/* Windowed: no flag, one worker per session only. */
	o.renderer_mode = PT_MUX_RENDERER_WINDOWED;
	PT_ASSERT_ERR(pt_mux_pool_new(&o, &p), -EINVAL);
	o.mode = PT_MUX_PER_SESSION;
	o.argv = echo_args;
	o.on_event = on_pool_event;
	o.ctx = &R;
	PT_ASSERT_OK(pt_mux_pool_new(&o, &p));
	PT_ASSERT_ERR(pt_mux_register(p, NULL, NULL, a), PT_EPROTO);
	PT_ASSERT(
		strstr(R.log.s, "expected hello, got \\\"error\\\": --json\""));
	pt_mux_pool_free(p);
	o.renderer_mode = PT_MUX_RENDERER_HEADLESS;
	PT_ASSERT_OK(pt_mux_pool_new(&o, &p));
	PT_ASSERT_ERR(pt_mux_register(p, NULL, NULL, a), PT_EPROTO);
	PT_ASSERT(strstr(R.log.s, "expected hello, got \\\"error\\\": "
				  "--headless --json\""));
	pt_mux_pool_free(p);
	o.renderer_mode = (enum pt_mux_renderer_mode)3;
	PT_ASSERT_ERR(pt_mux_pool_new(&o, &p), -EINVAL);
	pt_diags_free(d);
}

/* ---- Expected reply types (issue 18) ----------------------------------- */

PT_TEST(a_reply_of_another_type_is_an_error_not_a_match)
{
	struct pt_mux_pool *p =
		start_pool(PT_MUX_JSON, PT_MUX_MULTIPLEXED, 4, true);
	struct pt_mux_pool_stats st;
	char a[PT_MUX_ID_MAX];
	json_t *q = J("{\"type\":\"query\"}"), *r = NULL;

	pt__buf_reset(&R.log);
	PT_ASSERT_OK(pt_mux_register(p, NULL, NULL, a));
	send_msg(p, a, tree1);
	PT_ASSERT_OK(
		pt_mux_request_expect(p, a, q, "query_response", 10000, &r));
	PT_ASSERT_STR_EQ(S(r, "id"), "req_1");
	json_decref(r);
	r = NULL;
	/* Same (session, id), another type: an error for the caller... */
	PT_ASSERT_ERR(
		pt_mux_request_expect(p, a, q, "tree_hash_response", 10000, &r),
		PT_EPROTO);
	PT_ASSERT_NULL(r);
	/* ...the message goes to the owner, and the pool says why. */
	expect_event(p, a,
		     "{\"type\":\"query_response\",\"id\":\"req_2\","
		     "\"session\":\"pool_1\",\"target\":\"tree\",\"data\":"
		     "{\"id\":\"root\",\"type\":\"column\",\"props\":"
		     "{\"title\":\"one\"}}}");
	PT_ASSERT(strstr(R.log.s,
			 "\"code\":\"unexpected_reply\",\"level\":\"warn\","
			 "\"message\":\"pool_1 req_2: expected "
			 "tree_hash_response, got query_response\""));
	pt_mux_pool_stats(p, &st);
	PT_ASSERT_UINT_EQ(st.pending_requests, 0);
	/* NULL: any type, as pt_mux_request. */
	PT_ASSERT_OK(pt_mux_request_expect(p, a, q, NULL, 10000, &r));
	PT_ASSERT_STR_EQ(S(r, "type"), "query_response");
	json_decref(r);
	json_decref(q);
	pt_mux_pool_free(p);
}

PT_TEST(a_screenshot_over_the_frame_limit_is_an_error_reply)
{
	const char *argv[] = { mock_path(),   "--threads", "0",
			       "--max-frame", "65536",	   NULL };
	struct pt_mux_pool_opts o = { 0 };
	struct pt_mux_pool *p = NULL;
	struct pt_mux_event ev;
	char a[PT_MUX_ID_MAX];
	json_t *m = J("{\"type\":\"screenshot\",\"name\":\"big\",\"width\":"
		      "200,\"height\":200}"),
	       *r = NULL;

	o.argv = argv;
	o.format = PT_MUX_MSGPACK;
	o.renderer_mode = PT_MUX_RENDERER_HEADLESS;
	PT_ASSERT_OK(pt_mux_pool_new(&o, &p));
	PT_ASSERT_OK(pt_mux_register(p, NULL, NULL, a));
	send_msg(p, a, tree1);
	PT_ASSERT_ERR(pt_mux_request_expect(p, a, m, "screenshot_response",
					    10000, &r),
		      PT_EPROTO);
	next_event(p, a, &ev);
	PT_ASSERT_STR_EQ(D(ev.msg),
			 "{\"code\":\"screenshot_failed\",\"id\":\"req_1\","
			 "\"level\":\"error\",\"message\":\"screenshot of 200 "
			 "x 200: over the frame limit\",\"session\":\"pool_1\","
			 "\"type\":\"diagnostic\"}");
	pt_mux_event_release(&ev);
	json_decref(m);
	pt_mux_pool_free(p);
}

PT_TEST(closing_a_worker_that_reads_nothing_takes_at_most_the_grace)
{
	struct pt_mux_pool_opts o =
		mock_opts(PT_MUX_JSON, PT_MUX_PER_SESSION, true);
	struct pt_mux_pool *p = NULL;
	char a[PT_MUX_ID_MAX], path[4096], proc[64];
	int gate = gate_new("gate", path, sizeof(path)), fd, cap;
	size_t len;
	json_t *m;
	char *enc;
	pid_t pa;

	pt__buf_reset(&R.log);
	o.write_timeout_ms = 600000; /* only the grace may end this */
	PT_ASSERT_OK(pt_mux_pool_new(&o, &p));
	PT_ASSERT_OK(pt_mux_register(p, NULL, NULL, a));
	pa = pt_mux_session_worker_pid(p, a);
	block_session(p, a, path);
	/* Fill the worker's input pipe to the last byte: one frame exactly
	 * as big as the pipe, which the pool writes at once. */
	snprintf(proc, sizeof(proc), "/proc/%d/fd/0", (int)pa);
	fd = open(proc, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	PT_ASSERT_INT_GE(fd, 0);
	cap = fcntl(fd, F_GETPIPE_SZ);
	PT_ASSERT_INT_GT(cap, 1000);
	close(fd);
	m = big_message(10);
	json_object_set_new(m, "session", json_string(a));
	PT_ASSERT_OK(pt_mux_encode(PT_MUX_JSON, m, 0, &enc, &len));
	pt_free(enc);
	json_decref(m);
	m = big_message(10 + (size_t)cap - len);
	PT_ASSERT_OK(pt_mux_send(p, a, m));
	json_decref(m);
	/* The exit request cannot be written: the grace ends the wait. */
	PT_ASSERT_OK(pt_mux_unregister(p, a));
	PT_ASSERT_INT_EQ(kill(pa, 0), -1);
	PT_ASSERT(strstr(R.log.s, "read nothing for 300 ms; killed it"));
	pt_mux_pool_free(p);
	close(gate);
}
