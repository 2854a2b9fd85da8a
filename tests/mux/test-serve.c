/*
 * The serve side, through the mock renderer, spoken to in raw frames: the
 * renderer-side checklist of docs/peers.md §1.13 (session_multiplexing.rs) and
 * the session errors of §1.11.
 */
#include "base/buf.h"
#include "base/common.h"
#include "os/fd.h"
#include "os/file.h"
#include "os/proc.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <proctor/mux.h>

#include "mux-test.h"
#include "tap.h"

struct w {
	pid_t pid;
	int pidfd, to, from;
	enum pt_mux_format f;
	struct pt_mux_decoder *dec;
};

/* The mock renderer's stderr: -2 inherits ours, or a test's pipe. */
static int w_stderr = -2;

/* Starts the mock renderer with a format flag (or none) and args. */
static void w_start(struct w *w, enum pt_mux_format f, const char *a1,
		    const char *a2, const char *a3, const char *a4)
{
	const char *argv[8] = { mock_path() };
	int in[2], out[2], n = 1;
	struct pt_spawn sp = { 0 };

	signal(SIGPIPE, SIG_IGN);
	if (f == PT_MUX_JSON)
		argv[n++] = "--json";
	else if (f == PT_MUX_MSGPACK)
		argv[n++] = "--msgpack";
	argv[n++] = a1;
	argv[n++] = a1 ? a2 : NULL;
	argv[n++] = a1 && a2 ? a3 : NULL;
	argv[n++] = a1 && a2 && a3 ? a4 : NULL;
	PT_ASSERT_OK(pt__pipe(in, 0));
	PT_ASSERT_OK(pt__pipe(out, 0));
	sp.argv = argv;
	sp.fd_in = in[0];
	sp.fd_out = out[1];
	sp.fd_err = w_stderr;
	PT_ASSERT_OK(pt__spawn(&sp, &w->pid, &w->pidfd));
	close(in[0]);
	close(out[1]);
	w->to = in[1];
	w->from = out[0];
	w->f = f == PT_MUX_AUTO ? PT_MUX_MSGPACK : f;
	PT_ASSERT_OK(pt_mux_decoder_new(w->f, 0, &w->dec));
}

static void w_raw(struct w *w, const void *data, size_t len)
{
	PT_ASSERT_OK(pt__write_all(w->to, data, len));
}

static void w_send_in(struct w *w, enum pt_mux_format f, const char *json)
{
	json_t *m = J(json);
	char *enc;
	size_t len;

	PT_ASSERT_OK(pt_mux_encode(f, m, 0, &enc, &len));
	w_raw(w, enc, len);
	pt_free(enc);
	json_decref(m);
}

static void w_send(struct w *w, const char *json)
{
	w_send_in(w, w->f, json);
}

/* The next message, within 10 s (the test fails otherwise). */
static json_t *w_recv(struct w *w)
{
	for (;;) {
		json_t *m = NULL;
		char chunk[4096];
		ssize_t n;
		int r = pt_mux_decoder_next(w->dec, &m);

		if (r == 1)
			return m;
		if (r < 0)
			PT_FAIL("bad frame from the renderer: %s",
				pt_mux_decoder_error(w->dec));
		if (!pt_test_wait_fd(w->from, POLLIN, 10000))
			PT_FAIL("no message from the renderer within 10 s");
		n = read(w->from, chunk, sizeof(chunk));
		if (n <= 0)
			PT_FAIL("renderer output ended");
		PT_ASSERT_OK(pt_mux_decoder_feed(w->dec, chunk, (size_t)n));
	}
}

static void w_settings(struct w *w)
{
	json_t *hello = w_recv(w);

	PT_ASSERT_STR_EQ(S(hello, "type"), "hello");
	json_decref(hello);
	w_send(w, "{\"type\":\"settings\",\"session\":\"\","
		  "\"settings\":{\"protocol_version\":1}}");
}

/* Closes the input, drains the output and returns the wait status. */
static int w_end(struct w *w)
{
	char chunk[4096];
	int status = 0;

	close(w->to);
	while (pt_test_wait_fd(w->from, POLLIN, 10000) &&
	       read(w->from, chunk, sizeof(chunk)) > 0)
		;
	PT_ASSERT_OK(pt__proc_wait(w->pid, w->pidfd, 10000, &status));
	close(w->from);
	close(w->pidfd);
	pt_mux_decoder_free(w->dec);
	return status;
}

/* The next message must equal want (sorted-key compact JSON). */
static void expect(struct w *w, const char *want)
{
	json_t *m = w_recv(w), *x = J(want);

	if (!json_equal(m, x))
		PT_FAIL("got %s\n  want %s", D(m), D(x));
	json_decref(m);
	json_decref(x);
}

static void hello_fields(enum pt_mux_format f)
{
	struct w w;
	json_t *h;

	w_start(&w, f, NULL, NULL, NULL, NULL);
	h = w_recv(&w);
	json_object_del(h, "version");
	PT_ASSERT_STR_EQ(
		D(h), f == PT_MUX_JSON
			      ? "{\"backend\":\"mock\",\"codec\":\"json\","
				"\"mode\":\"mock\",\"name\":\"proctor-mock-"
				"renderer\",\"native_widgets\":[],"
				"\"protocol\":1,\"protocol_version\":1,"
				"\"session\":\"\",\"transport\":\"stdio\","
				"\"type\":\"hello\",\"widget_sets\":[],"
				"\"widgets\":[]}"
			      : "{\"backend\":\"mock\",\"codec\":\"msgpack\","
				"\"mode\":\"mock\",\"name\":\"proctor-mock-"
				"renderer\",\"native_widgets\":[],"
				"\"protocol\":1,\"protocol_version\":1,"
				"\"session\":\"\",\"transport\":\"stdio\","
				"\"type\":\"hello\",\"widget_sets\":[],"
				"\"widgets\":[]}");
	json_decref(h);
	/* Input ended before settings: a startup failure. */
	close(w.to);
	w.to = open("/dev/null", O_RDONLY);
	expect(&w, "{\"type\":\"error\",\"session\":\"\",\"message\":"
		   "\"input ended before settings\"}");
	PT_ASSERT_INT_EQ(WEXITSTATUS(w_end(&w)), 3);
}

PT_TEST(hello_has_the_fields_and_an_empty_session)
{
	hello_fields(PT_MUX_JSON);
	hello_fields(PT_MUX_MSGPACK);
}

PT_TEST(hello_names_the_mode_and_mock_wins_over_headless)
{
	static const char *const cases[][4] = {
		{ NULL, NULL, "mock", "mock" },
		{ "--mock", NULL, "mock", "mock" },
		{ "--headless", NULL, "headless", "mock-raster" },
		{ "--headless", "--mock", "mock", "mock" },
	};

	for (size_t i = 0; i < PT_ARRAY_SIZE(cases); i++) {
		struct w w;
		json_t *h;

		w_start(&w, PT_MUX_JSON, cases[i][0], cases[i][1], NULL, NULL);
		h = w_recv(&w);
		PT_ASSERT_STR_EQ(S(h, "mode"), cases[i][2]);
		PT_ASSERT_STR_EQ(S(h, "backend"), cases[i][3]);
		json_decref(h);
		w_send(&w, "{\"type\":\"settings\",\"session\":\"\","
			   "\"settings\":{\"protocol_version\":1}}");
		PT_ASSERT_INT_EQ(w_end(&w), 0);
	}
}

PT_TEST(codec_is_detected_from_the_first_byte)
{
	struct w w;
	json_t *h;

	/* No flag: '{' means JSON. */
	w_start(&w, PT_MUX_AUTO, NULL, NULL, NULL, NULL);
	w.f = PT_MUX_JSON;
	pt_mux_decoder_free(w.dec);
	PT_ASSERT_OK(pt_mux_decoder_new(PT_MUX_JSON, 0, &w.dec));
	w_send(&w, "{\"type\":\"settings\",\"settings\":"
		   "{\"protocol_version\":1}}");
	h = w_recv(&w);
	PT_ASSERT_STR_EQ(S(h, "codec"), "json");
	json_decref(h);
	PT_ASSERT_INT_EQ(w_end(&w), 0);

	/* Anything else means msgpack. */
	w_start(&w, PT_MUX_AUTO, NULL, NULL, NULL, NULL);
	w_send(&w, "{\"type\":\"settings\",\"settings\":"
		   "{\"protocol_version\":1}}");
	h = w_recv(&w);
	PT_ASSERT_STR_EQ(S(h, "codec"), "msgpack");
	json_decref(h);
	w_send(&w, "{\"type\":\"query\",\"session\":\"s\",\"id\":\"q\"}");
	expect(&w, "{\"type\":\"query_response\",\"session\":\"s\","
		   "\"id\":\"q\",\"target\":\"tree\",\"data\":null}");
	PT_ASSERT_INT_EQ(w_end(&w), 0);
}

PT_TEST(bad_settings_give_hello_then_error_and_exit)
{
	struct w w;
	int st;

	w_start(&w, PT_MUX_JSON, NULL, NULL, NULL, NULL);
	json_decref(w_recv(&w)); /* the hello */
	w_send(&w, "{\"type\":\"settings\",\"session\":\"\","
		   "\"settings\":{\"protocol_version\":999999}}");
	expect(&w, "{\"type\":\"error\",\"session\":\"\",\"message\":"
		   "\"settings.protocol_version must be the integer 1\"}");
	st = w_end(&w);
	PT_ASSERT(WIFEXITED(st));
	PT_ASSERT_INT_EQ(WEXITSTATUS(st), 3);

	w_start(&w, PT_MUX_MSGPACK, NULL, NULL, NULL, NULL);
	json_decref(w_recv(&w)); /* the hello */
	w_send(&w, "{\"type\":\"query\",\"session\":\"\"}");
	expect(&w, "{\"type\":\"error\",\"session\":\"\",\"message\":"
		   "\"first message must be settings\"}");
	PT_ASSERT_INT_EQ(WEXITSTATUS(w_end(&w)), 3);

	w_start(&w, PT_MUX_JSON, NULL, NULL, NULL, NULL);
	json_decref(w_recv(&w)); /* the hello */
	w_send(&w, "{\"type\":\"settings\",\"settings\":"
		   "{\"protocol_version\":1,\"token\":\"x\"}}");
	expect(&w, "{\"type\":\"error\",\"session\":\"\",\"message\":"
		   "\"plaintext token refused; send token_sha256\"}");
	PT_ASSERT_INT_EQ(WEXITSTATUS(w_end(&w)), 3);
}

static void max_sessions(enum pt_mux_format f)
{
	struct w w;
	json_t *m;

	w_start(&w, f, "--max-sessions", "2", NULL, NULL);
	w_settings(&w);
	w_send(&w, "{\"type\":\"query\",\"session\":\"a\",\"id\":\"1\"}");
	expect(&w, "{\"type\":\"query_response\",\"session\":\"a\","
		   "\"id\":\"1\",\"target\":\"tree\",\"data\":null}");
	w_send(&w, "{\"type\":\"query\",\"session\":\"b\",\"id\":\"2\"}");
	expect(&w, "{\"type\":\"query_response\",\"session\":\"b\","
		   "\"id\":\"2\",\"target\":\"tree\",\"data\":null}");
	w_send(&w, "{\"type\":\"query\",\"session\":\"c\",\"id\":\"3\"}");
	m = w_recv(&w);
	/* The value payload, and no "data" key (docs/peers.md §1.11). */
	PT_ASSERT_STR_EQ(D(m), "{\"family\":\"session_error\",\"id\":\"\","
			       "\"session\":\"c\",\"type\":\"event\","
			       "\"value\":{\"code\":\"max_sessions_reached\","
			       "\"error\":\"max_sessions_reached: query "
			       "message for session \\\"c\\\" dropped\"}}");
	json_decref(m);
	PT_ASSERT_INT_EQ(w_end(&w), 0);
}

PT_TEST(third_session_gets_max_sessions_reached)
{
	max_sessions(PT_MUX_JSON);
	max_sessions(PT_MUX_MSGPACK);
}

/* Reads two messages and checks they are {a, b} in either order. */
static void expect_pair(struct w *w, const char *a, const char *b)
{
	json_t *m1 = w_recv(w), *m2 = w_recv(w), *x = J(a), *y = J(b);

	if (!((json_equal(m1, x) && json_equal(m2, y)) ||
	      (json_equal(m1, y) && json_equal(m2, x))))
		PT_FAIL("got %s and %s\n  want %s and %s", D(m1), D(m2), D(x),
			D(y));
	json_decref(m1);
	json_decref(m2);
	json_decref(x);
	json_decref(y);
}

static const char closed_a[] =
	"{\"type\":\"event\",\"session\":\"a\",\"family\":\"session_closed\","
	"\"id\":\"\",\"value\":{}}";

static void reset_reuse(enum pt_mux_format f)
{
	struct w w;

	w_start(&w, f, "--max-sessions", "4", NULL, NULL);
	w_settings(&w);
	w_send(&w, "{\"type\":\"snapshot\",\"session\":\"a\",\"tree\":"
		   "{\"id\":\"root\",\"type\":\"column\"}}");
	w_send(&w, "{\"type\":\"query\",\"session\":\"a\",\"id\":\"q1\"}");
	expect(&w, "{\"type\":\"query_response\",\"session\":\"a\","
		   "\"id\":\"q1\",\"target\":\"tree\",\"data\":"
		   "{\"id\":\"root\",\"type\":\"column\"}}");
	w_send(&w, "{\"type\":\"reset\",\"session\":\"a\",\"id\":\"r1\"}");
	expect_pair(&w,
		    "{\"type\":\"reset_response\",\"session\":\"a\","
		    "\"id\":\"r1\",\"status\":\"ok\"}",
		    closed_a);
	/* The id is reusable at once and names a fresh session. */
	w_send(&w, "{\"type\":\"query\",\"session\":\"a\",\"id\":\"q2\"}");
	expect(&w, "{\"type\":\"query_response\",\"session\":\"a\","
		   "\"id\":\"q2\",\"target\":\"tree\",\"data\":null}");
	PT_ASSERT_INT_EQ(w_end(&w), 0);
}

PT_TEST(reset_tears_down_the_session_and_the_id_is_reused_fresh)
{
	reset_reuse(PT_MUX_JSON);
	reset_reuse(PT_MUX_MSGPACK);
}

PT_TEST(messages_during_a_reset_get_session_reset_in_progress)
{
	char path[4096], msg[4200];
	int gate = gate_new("gate", path, sizeof(path));
	struct w w;

	w_start(&w, PT_MUX_JSON, "--max-sessions", "4", "--threads", "1");
	w_settings(&w);
	/* The session is busy until the gate opens, so the reset waits in
	 * its queue. */
	snprintf(msg, sizeof(msg),
		 "{\"type\":\"mock_block\",\"session\":\"a\",\"path\":"
		 "\"%s\"}",
		 path);
	w_send(&w, msg);
	w_send(&w, "{\"type\":\"reset\",\"session\":\"a\",\"id\":\"r\"}");
	w_send(&w, "{\"type\":\"query\",\"session\":\"a\",\"id\":\"q\"}");
	expect(&w, "{\"type\":\"event\",\"session\":\"a\",\"family\":"
		   "\"session_error\",\"id\":\"\",\"value\":{\"code\":"
		   "\"session_reset_in_progress\",\"error\":"
		   "\"session_reset_in_progress: query message for session "
		   "\\\"a\\\" dropped\"}}");
	gate_pass(gate);
	expect_pair(&w,
		    "{\"type\":\"reset_response\",\"session\":\"a\","
		    "\"id\":\"r\",\"status\":\"ok\"}",
		    closed_a);
	PT_ASSERT_INT_EQ(w_end(&w), 0);
	close(gate);
}

PT_TEST(queue_overflow_ejects_the_session)
{
	char path[4096], msg[4200];
	int gate = gate_new("gate", path, sizeof(path));
	struct w w;
	int overflow = 0, in_progress = 0;

	w_start(&w, PT_MUX_MSGPACK, "--max-sessions", "4", "--threads", "1");
	w_settings(&w);
	snprintf(msg, sizeof(msg),
		 "{\"type\":\"mock_block\",\"session\":\"a\",\"path\":"
		 "\"%s\",\"notify\":true}",
		 path);
	w_send(&w, msg);
	expect(&w, "{\"type\":\"event\",\"session\":\"a\",\"family\":"
		   "\"blocked\",\"id\":\"\",\"value\":{}}");
	/* The handler is busy: 1024 fit in the queue (the default cap). */
	for (int i = 0; i < 1030; i++)
		w_send(&w,
		       "{\"type\":\"query\",\"session\":\"a\",\"id\":\"q\"}");
	/* 1 running + 1024 queued; the 1025th overflows, 5 more refused
	 * (the reader says so as it routes them)... */
	for (int i = 0; i < 6; i++) {
		json_t *m = w_recv(&w);
		const char *code = S(json_object_get(m, "value"), "code");

		if (!strcmp(code, "session_backpressure_overflow"))
			overflow++;
		else if (!strcmp(code, "session_reset_in_progress"))
			in_progress++;
		else
			PT_FAIL("unexpected %s", D(m));
		json_decref(m);
	}
	PT_ASSERT_INT_EQ(overflow, 1);
	PT_ASSERT_INT_EQ(in_progress, 5);
	/* ...and once the handler goes on, the queued ones are dropped with
	 * the session: nothing but session_closed. */
	gate_pass(gate);
	expect(&w, closed_a);
	close(gate);
	w_send(&w, "{\"type\":\"query\",\"session\":\"a\",\"id\":\"fresh\"}");
	expect(&w, "{\"type\":\"query_response\",\"session\":\"a\","
		   "\"id\":\"fresh\",\"target\":\"tree\",\"data\":null}");
	PT_ASSERT_INT_EQ(w_end(&w), 0);
}

PT_TEST(malformed_frames_become_diagnostics)
{
	static const unsigned char c1[] = { 0, 0, 0, 1, 0xc1 };
	static const unsigned char empty[] = { 0, 0, 0, 0 };
	struct w w;

	w_start(&w, PT_MUX_JSON, "--max-sessions", "4", NULL, NULL);
	w_settings(&w);
	w_raw(&w, "garbage\n", 8);
	expect(&w, "{\"type\":\"diagnostic\",\"session\":\"\",\"level\":"
		   "\"warn\",\"code\":\"wire_input_error\",\"message\":"
		   "\"byte 74 (line at 67): malformed JSON: '[' or '{' "
		   "expected near 'garbage'\"}");
	w_raw(&w, "{\"session\":\"a\"}\n", 16);
	expect(&w, "{\"type\":\"diagnostic\",\"session\":\"\",\"level\":"
		   "\"warn\",\"code\":\"wire_input_error\",\"message\":"
		   "\"message has no \\\"type\\\" string\"}");
	w_send(&w, "{\"type\":\"query\",\"session\":\"a\",\"id\":\"ok\"}");
	expect(&w, "{\"type\":\"query_response\",\"session\":\"a\","
		   "\"id\":\"ok\",\"target\":\"tree\",\"data\":null}");
	PT_ASSERT_INT_EQ(w_end(&w), 0);

	w_start(&w, PT_MUX_MSGPACK, "--max-sessions", "4", NULL, NULL);
	w_settings(&w);
	w_raw(&w, c1, sizeof(c1));
	expect(&w, "{\"type\":\"diagnostic\",\"session\":\"\",\"level\":"
		   "\"warn\",\"code\":\"wire_input_error\",\"message\":"
		   "\"byte 60 (frame at 56): frame is not a msgpack map\"}");
	w_raw(&w, empty, sizeof(empty));
	expect(&w, "{\"type\":\"diagnostic\",\"session\":\"\",\"level\":"
		   "\"warn\",\"code\":\"wire_input_error\",\"message\":"
		   "\"byte 61: empty frame\"}");
	w_send(&w, "{\"type\":\"query\",\"session\":\"a\",\"id\":\"ok\"}");
	expect(&w, "{\"type\":\"query_response\",\"session\":\"a\","
		   "\"id\":\"ok\",\"target\":\"tree\",\"data\":null}");
	PT_ASSERT_INT_EQ(w_end(&w), 0);
}

PT_TEST(oversized_frames_are_refused_and_skipped)
{
	struct pt_buf line = PT_BUF_INIT;
	char *big = pt__calloc(1, 5004);
	json_t *m;
	struct w w;

	w_start(&w, PT_MUX_JSON, "--max-sessions", "4", "--max-frame", "1024");
	w_settings(&w);
	pt__buf_adds(&line, "{\"type\":\"query\",\"pad\":\"");
	for (int i = 0; i < 2000; i++)
		pt__buf_addch(&line, 'x');
	pt__buf_adds(&line, "\"}\n");
	w_raw(&w, line.s, line.len);
	m = w_recv(&w);
	PT_ASSERT_STR_EQ(S(m, "type"), "diagnostic");
	PT_ASSERT_STR_EQ(S(m, "code"), "wire_input_error");
	/* Refused as soon as 1024 bytes pass without a newline, or whole. */
	PT_ASSERT(strstr(S(m, "message"), "1024") != NULL);
	json_decref(m);
	w_send(&w, "{\"type\":\"query\",\"session\":\"a\",\"id\":\"ok\"}");
	expect(&w, "{\"type\":\"query_response\",\"session\":\"a\","
		   "\"id\":\"ok\",\"target\":\"tree\",\"data\":null}");
	PT_ASSERT_INT_EQ(w_end(&w), 0);
	pt__buf_release(&line);

	w_start(&w, PT_MUX_MSGPACK, "--max-sessions", "4", "--max-frame",
		"1024");
	w_settings(&w);
	big[2] = 0x13;
	big[3] = (char)0x88; /* 5000 bytes declared, and sent */
	w_raw(&w, big, 5004);
	expect(&w, "{\"type\":\"diagnostic\",\"session\":\"\",\"level\":"
		   "\"warn\",\"code\":\"wire_input_error\",\"message\":"
		   "\"byte 56: frame of 5000 bytes exceeds the 1024-byte "
		   "limit\"}");
	w_send(&w, "{\"type\":\"query\",\"session\":\"a\",\"id\":\"ok\"}");
	expect(&w, "{\"type\":\"query_response\",\"session\":\"a\","
		   "\"id\":\"ok\",\"target\":\"tree\",\"data\":null}");
	PT_ASSERT_INT_EQ(w_end(&w), 0);
	pt__free(big);
}

PT_TEST(input_cut_inside_a_frame_is_reported_at_exit)
{
	static const unsigned char part[] = { 0, 0, 0, 100, 0x81, 0xa1 };
	struct w w;
	int st;

	w_start(&w, PT_MUX_MSGPACK, "--max-sessions", "4", NULL, NULL);
	w_settings(&w);
	w_raw(&w, part, sizeof(part));
	close(w.to);
	expect(&w, "{\"type\":\"diagnostic\",\"session\":\"\",\"level\":"
		   "\"warn\",\"code\":\"wire_input_error\",\"message\":"
		   "\"byte 56: input ends inside a frame (6 bytes of it)\"}");
	w.to = open("/dev/null", 0);
	st = w_end(&w);
	PT_ASSERT(WIFEXITED(st));
	PT_ASSERT_INT_EQ(WEXITSTATUS(st), 1);
}

PT_TEST(single_session_mode_echoes_the_session_and_sends_no_closed)
{
	struct w w;

	w_start(&w, PT_MUX_JSON, NULL, NULL, NULL, NULL);
	w_settings(&w);
	w_send(&w, "{\"type\":\"snapshot\",\"session\":\"x\",\"tree\":"
		   "{\"id\":\"r\"}}");
	w_send(&w, "{\"type\":\"query\",\"session\":\"y\",\"id\":\"q1\"}");
	expect(&w,
	       "{\"type\":\"query_response\",\"session\":\"y\","
	       "\"id\":\"q1\",\"target\":\"tree\",\"data\":{\"id\":\"r\"}}");
	w_send(&w, "{\"type\":\"reset\",\"session\":\"z\",\"id\":\"r1\"}");
	expect(&w, "{\"type\":\"reset_response\",\"session\":\"z\","
		   "\"id\":\"r1\",\"status\":\"ok\"}");
	/* No session_closed: the next message answers the next query. */
	w_send(&w, "{\"type\":\"query\",\"session\":\"z\",\"id\":\"q2\"}");
	expect(&w, "{\"type\":\"query_response\",\"session\":\"z\","
		   "\"id\":\"q2\",\"target\":\"tree\",\"data\":null}");
	PT_ASSERT_INT_EQ(w_end(&w), 0);
}

static void interact_steps(enum pt_mux_format f)
{
	struct w w;

	w_start(&w, f, "--max-sessions", "4", NULL, NULL);
	w_settings(&w);
	w_send(&w, "{\"type\":\"snapshot\",\"session\":\"s\",\"tree\":"
		   "{\"id\":\"root\",\"children\":[{\"id\":\"name\","
		   "\"type\":\"text_input\"},{\"id\":\"ok\",\"type\":"
		   "\"button\"}]}}");
	w_send(&w, "{\"type\":\"interact\",\"session\":\"s\",\"id\":\"i1\","
		   "\"action\":\"type_text\",\"selector\":\"#name\","
		   "\"payload\":{\"text\":\"ab\"}}");
	expect(&w, "{\"type\":\"interact_step\",\"session\":\"s\",\"id\":"
		   "\"i1\",\"events\":[{\"family\":\"input\",\"id\":\"name\","
		   "\"value\":\"a\"}]}");
	/* Each step waits for the host's tree update. */
	w_send(&w, "{\"type\":\"patch\",\"session\":\"s\",\"ops\":[{\"op\":"
		   "\"update_props\",\"path\":[0],\"props\":{\"value\":"
		   "\"a\"}}]}");
	expect(&w, "{\"type\":\"interact_step\",\"session\":\"s\",\"id\":"
		   "\"i1\",\"events\":[{\"family\":\"input\",\"id\":\"name\","
		   "\"value\":\"ab\"}]}");
	w_send(&w, "{\"type\":\"patch\",\"session\":\"s\",\"ops\":[{\"op\":"
		   "\"update_props\",\"path\":[0],\"props\":{\"value\":"
		   "\"ab\"}}]}");
	expect(&w, "{\"type\":\"interact_response\",\"session\":\"s\","
		   "\"id\":\"i1\",\"events\":[]}");
	w_send(&w, "{\"type\":\"query\",\"session\":\"s\",\"id\":\"q\","
		   "\"selector\":\"#name\"}");
	expect(&w, "{\"type\":\"query_response\",\"session\":\"s\",\"id\":"
		   "\"q\",\"target\":\"tree\",\"data\":{\"id\":\"name\","
		   "\"type\":\"text_input\",\"props\":{\"value\":\"ab\"}}}");
	/* click is synthetic: one response carrying the event. */
	w_send(&w, "{\"type\":\"interact\",\"session\":\"s\",\"id\":\"i2\","
		   "\"action\":\"click\",\"selector\":\"#ok\"}");
	expect(&w, "{\"type\":\"interact_response\",\"session\":\"s\","
		   "\"id\":\"i2\",\"events\":[{\"family\":\"click\",\"id\":"
		   "\"ok\"}]}");
	PT_ASSERT_INT_EQ(w_end(&w), 0);
}

PT_TEST(interact_streams_steps_that_wait_for_the_host)
{
	interact_steps(PT_MUX_JSON);
	interact_steps(PT_MUX_MSGPACK);
}

PT_TEST(concurrent_sessions_interleaved)
{
	const char *ids[] = { "s1", "s2", "s3", "s4" };
	bool seen[4] = { false };
	struct w w;
	char buf[256];

	w_start(&w, PT_MUX_JSON, "--max-sessions", "4", "--threads", "2");
	w_settings(&w);
	for (int i = 0; i < 4; i++) {
		snprintf(buf, sizeof(buf),
			 "{\"type\":\"snapshot\",\"session\":\"%s\",\"tree\":"
			 "{\"id\":\"root-%s\"}}",
			 ids[i], ids[i]);
		w_send(&w, buf);
	}
	for (int i = 0; i < 4; i++) {
		snprintf(buf, sizeof(buf),
			 "{\"type\":\"query\",\"session\":\"%s\",\"id\":"
			 "\"q-%s\"}",
			 ids[i], ids[i]);
		w_send(&w, buf);
	}
	for (int i = 0; i < 4; i++) {
		json_t *m = w_recv(&w);
		int k = S(m, "session")[1] - '1';
		PT_ASSERT(k >= 0 && k < 4 && !seen[k]);
		seen[k] = true;
		snprintf(buf, sizeof(buf),
			 "{\"data\":{\"id\":\"root-%s\"},\"id\":\"q-%s\","
			 "\"session\":\"%s\",\"target\":\"tree\",\"type\":"
			 "\"query_response\"}",
			 ids[k], ids[k], ids[k]);
		PT_ASSERT_STR_EQ(D(m), buf);
		json_decref(m);
	}
	PT_ASSERT_INT_EQ(w_end(&w), 0);
}

PT_TEST(tree_hash_depends_on_the_tree_only)
{
	json_t *a, *b, *c;
	struct w w;

	w_start(&w, PT_MUX_JSON, "--max-sessions", "4", NULL, NULL);
	w_settings(&w);
	w_send(&w, "{\"type\":\"snapshot\",\"session\":\"a\",\"tree\":"
		   "{\"id\":\"r\",\"props\":{\"x\":1,\"y\":2}}}");
	w_send(&w, "{\"type\":\"snapshot\",\"session\":\"b\",\"tree\":"
		   "{\"props\":{\"y\":2,\"x\":1},\"id\":\"r\"}}");
	w_send(&w, "{\"type\":\"snapshot\",\"session\":\"c\",\"tree\":"
		   "{\"id\":\"r\",\"props\":{\"x\":1,\"y\":3}}}");
	w_send(&w, "{\"type\":\"tree_hash\",\"session\":\"a\",\"id\":\"h\"}");
	a = w_recv(&w);
	w_send(&w, "{\"type\":\"tree_hash\",\"session\":\"b\",\"id\":\"h\"}");
	b = w_recv(&w);
	w_send(&w, "{\"type\":\"tree_hash\",\"session\":\"c\",\"id\":\"h\"}");
	c = w_recv(&w);
	PT_ASSERT_STR_EQ(S(a, "type"), "tree_hash_response");
	PT_ASSERT_UINT_EQ(strlen(S(a, "hash")), 16);
	PT_ASSERT_STR_EQ(S(a, "hash"), S(b, "hash"));
	PT_ASSERT(strcmp(S(a, "hash"), S(c, "hash")) != 0);
	json_decref(a);
	json_decref(b);
	json_decref(c);
	w_send(&w, "{\"type\":\"frobnicate\",\"session\":\"a\"}");
	expect(&w, "{\"type\":\"diagnostic\",\"session\":\"a\",\"level\":"
		   "\"warn\",\"code\":\"unknown_message_type\",\"message\":"
		   "\"unknown message type \\\"frobnicate\\\"\"}");
	PT_ASSERT_INT_EQ(w_end(&w), 0);
}

PT_TEST(each_session_gets_the_startup_settings)
{
	struct w w;

	w_start(&w, PT_MUX_MSGPACK, "--max-sessions", "4", NULL, NULL);
	json_decref(w_recv(&w)); /* the hello */
	w_send(&w, "{\"type\":\"settings\",\"session\":\"\",\"settings\":"
		   "{\"protocol_version\":1,\"default_text_size\":14}}");
	w_send(&w, "{\"type\":\"query\",\"session\":\"a\",\"id\":\"1\","
		   "\"target\":\"settings\"}");
	expect(&w, "{\"type\":\"query_response\",\"session\":\"a\",\"id\":"
		   "\"1\",\"target\":\"settings\",\"data\":"
		   "{\"protocol_version\":1,\"default_text_size\":14}}");
	w_send(&w, "{\"type\":\"query\",\"session\":\"b\",\"id\":\"2\","
		   "\"target\":\"settings\"}");
	expect(&w, "{\"type\":\"query_response\",\"session\":\"b\",\"id\":"
		   "\"2\",\"target\":\"settings\",\"data\":"
		   "{\"protocol_version\":1,\"default_text_size\":14}}");
	PT_ASSERT_INT_EQ(w_end(&w), 0);
}

PT_TEST(a_host_that_stops_reading_ends_the_worker_at_its_write_deadline)
{
	char err[256];
	int efd[2], st;
	ssize_t n;
	struct w w;

	PT_ASSERT_OK(pt__pipe(efd, 0));
	w_stderr = efd[1];
	w_start(&w, PT_MUX_JSON, "--write-timeout", "200", "--threads", "0");
	w_stderr = -2;
	close(efd[1]);
	w_settings(&w);
	/* 1 MiB of output that the test does not read. */
	w_send(&w, "{\"type\":\"mock_emit\",\"session\":\"\",\"pad\":1048576,"
		   "\"message\":{\"type\":\"big\"}}");
	if (!pt_test_wait_fd(w.pidfd, POLLIN, 10000))
		PT_FAIL("the worker still waits for its host after 10 s");
	st = w_end(&w);
	PT_ASSERT(WIFEXITED(st));
	PT_ASSERT_INT_EQ(WEXITSTATUS(st), 1);
	n = pt__read_full(efd[0], err, sizeof(err) - 1);
	PT_ASSERT_INT_GE(n, 0);
	err[n] = '\0';
	PT_ASSERT_STR_EQ(err, "proctor-mock-renderer: the host accepted no "
			      "output for 200 ms\n");
	close(efd[0]);
}

/* Runs the mock with args and no input; its output and exit status. */
static int run_mock(const char *a1, const char *a2, char **ret_out,
		    char **ret_err)
{
	const char *argv[] = { mock_path(), a1, a2, NULL };
	struct pt_spawn sp = { 0 };
	int out[2], err[2], pidfd, st;
	size_t len;
	pid_t pid;

	PT_ASSERT_OK(pt__pipe(out, 0));
	PT_ASSERT_OK(pt__pipe(err, 0));
	sp.argv = argv;
	sp.fd_out = out[1];
	sp.fd_err = err[1];
	PT_ASSERT_OK(pt__spawn(&sp, &pid, &pidfd));
	close(out[1]);
	close(err[1]);
	PT_ASSERT_OK(pt__read_fd(out[0], 65536, ret_out, &len));
	PT_ASSERT_OK(pt__read_fd(err[0], 65536, ret_err, &len));
	PT_ASSERT_OK(pt__proc_wait(pid, pidfd, 10000, &st));
	close(out[0]);
	close(err[0]);
	close(pidfd);
	return st;
}

PT_TEST(bad_option_values_are_usage_errors)
{
	char *out, *err;
	int st = run_mock("--threads", "many", &out, &err);

	PT_ASSERT(WIFEXITED(st));
	PT_ASSERT_INT_EQ(WEXITSTATUS(st), 2);
	PT_ASSERT_STR_EQ(out, "");
	PT_ASSERT_STR_EQ(err, "proctor-mock-renderer: --threads: bad number "
			      "\"many\"\n");
	pt__free(out);
	pt__free(err);
	st = run_mock("--write-timeout", "-5", &out, &err);
	PT_ASSERT_INT_EQ(WEXITSTATUS(st), 2);
	PT_ASSERT_STR_EQ(err, "proctor-mock-renderer: --write-timeout: bad "
			      "number \"-5\"\n");
	pt__free(out);
	pt__free(err);
}

PT_TEST(help_and_manual_name_every_option)
{
	static const char *const opts[] = {
		"--mock",	   "--headless", "--json",	"--msgpack",
		"--max-sessions",  "--threads",	 "--queue-cap", "--max-frame",
		"--write-timeout", "--help",
	};
	char path[4096], *man = NULL, *help = NULL, *err = NULL;
	size_t manlen;
	int st = run_mock("--help", NULL, &help, &err);

	PT_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	PT_ASSERT_STR_EQ(err, "");
	snprintf(path, sizeof(path), "%s/docs/man/proctor-mock-renderer.1",
		 pt_test_srcdir());
	PT_ASSERT_OK(pt__read_file(path, 1 << 20, &man, &manlen));
	for (size_t i = 0; i < PT_ARRAY_SIZE(opts); i++) {
		char roff[64];
		size_t k = 0;
		/* The manual writes dashes as \-. */
		for (const char *c = opts[i]; *c; c++) {
			if (*c == '-')
				roff[k++] = '\\';
			roff[k++] = *c;
		}
		roff[k] = '\0';
		if (!strstr(help, opts[i]))
			PT_FAIL("--help does not name %s", opts[i]);
		if (!strstr(man, roff))
			PT_FAIL("%s does not name %s", path, opts[i]);
	}
	pt__free(help);
	pt__free(err);
	pt__free(man);
}
