/* Cassette files: layout, canonical output, migration, corrupt input. */
#define PT_ALLOC_IMPLEMENTATION 1 /* the failing allocator calls malloc */
#include "common.h"

static const char v2_doc[] =
	"{\"version\": \"2.0\", \"interactions\": [\n"
	" {\"request\": {\"method\": \"GET\", \"uri\": \"http://api.test/a\","
	"  \"query_string\": \"\", \"headers\": {}, \"body_type\": \"text\","
	"  \"body\": \"\"},\n"
	"  \"response\": {\"status\": 200, \"headers\": {\"content-type\":"
	"  [\"application/json\"], \"set-cookie\": [\"a=1\", \"b=2\"]},"
	"  \"body_type\": \"json\", \"body_json\": {\"z\": 1, \"a\": [1, 2]}},"
	"  \"recorded_at\": \"2025-10-16T14:23:45.123456Z\", \"note\": \"kept\"},\n"
	" {\"request\": {\"method\": \"GET\", \"uri\": \"http://api.test/img\","
	"  \"query_string\": \"\", \"headers\": {}, \"body_type\": \"text\","
	"  \"body\": \"\"},\n"
	"  \"response\": {\"status\": 201, \"headers\": {},"
	"  \"body_type\": \"blob\", \"body_blob\": \"AAEC/w==\"},"
	"  \"recorded_at\": \"x\"},\n"
	" {\"request\": {\"method\": \"GET\", \"uri\": \"http://api.test/t\","
	"  \"query_string\": \"\", \"headers\": {}, \"body_type\": \"text\","
	"  \"body\": \"\"},\n"
	"  \"response\": {\"status\": 404, \"headers\": {},"
	"  \"body_type\": \"text\", \"body\": \"not  here\\n\"},"
	"  \"recorded_at\": \"x\"}]}\n";

PT_TEST(replays_json_blob_and_text_bodies)
{
	struct pt_cassette_opts o = PT_CASSETTE_OPTS_INIT;
	struct pt_http_request req = { .method = "get",
				       .url = "http://API.test:80/a" };
	struct pt_http_response *resp;
	struct pt_cassette *c;
	const char *p = pt_test_path("c.json");

	spit(p, v2_doc);
	o.mode = PT_CASSETTE_REPLAY;
	PT_ASSERT_OK(pt_cassette_open(p, &o, NULL, &c));
	PT_ASSERT_UINT_EQ(pt_cassette_count(c), 3);
	PT_ASSERT_OK(pt_cassette_play(c, &req, NULL, NULL, NULL, &resp));
	PT_ASSERT_INT_EQ(resp->status, 200);
	/* JSON is re-encoded compactly, in the stored key order */
	PT_ASSERT_STR_EQ((char *)resp->body, "{\"z\":1,\"a\":[1,2]}");
	/* a repeated header comes out once per value, in order */
	PT_ASSERT_UINT_EQ(resp->n_headers, 3);
	PT_ASSERT_STR_EQ(resp->headers[1].name, "set-cookie");
	PT_ASSERT_STR_EQ(resp->headers[1].value, "a=1");
	PT_ASSERT_STR_EQ(resp->headers[2].name, "set-cookie");
	PT_ASSERT_STR_EQ(resp->headers[2].value, "b=2");
	pt_http_response_free(resp);

	req.url = "http://api.test/img";
	PT_ASSERT_OK(pt_cassette_play(c, &req, NULL, NULL, NULL, &resp));
	PT_ASSERT_INT_EQ(resp->status, 201);
	PT_ASSERT_UINT_EQ(resp->body_len, 4);
	PT_ASSERT_MEM_EQ(resp->body, "\x00\x01\x02\xff", 4);
	pt_http_response_free(resp);

	req.url = "http://api.test/t";
	PT_ASSERT_OK(pt_cassette_play(c, &req, NULL, NULL, NULL, &resp));
	PT_ASSERT_INT_EQ(resp->status, 404);
	PT_ASSERT_STR_EQ((char *)resp->body, "not  here\n");
	pt_http_response_free(resp);
	pt_cassette_free(c);
}

PT_TEST(info_summarises_interactions)
{
	struct pt_cassette_opts o = PT_CASSETTE_OPTS_INIT;
	struct pt_cassette_info in;
	struct pt_cassette *c;
	const char *p = pt_test_path("c.json");

	spit(p, v2_doc);
	o.mode = PT_CASSETTE_REPLAY;
	PT_ASSERT_OK(pt_cassette_open(p, &o, NULL, &c));
	PT_ASSERT_OK(pt_cassette_info(c, 1, &in));
	PT_ASSERT_STR_EQ(in.method, "GET");
	PT_ASSERT_STR_EQ(in.uri, "http://api.test/img");
	PT_ASSERT_INT_EQ(in.status, 201);
	PT_ASSERT_STR_EQ(in.response_body_type, "blob");
	PT_ASSERT_UINT_EQ(in.response_body_len, 4);
	PT_ASSERT_ERR(pt_cassette_info(c, 3, &in), -ERANGE);
	pt_cassette_free(c);
}

/* The exact canonical text: sorted keys, 2-space indent, sorted query. */
static const char expected_record[] =
	"{\n"
	"  \"interactions\": [\n"
	"    {\n"
	"      \"recorded_at\": \"2023-11-14T22:13:20.123456Z\",\n"
	"      \"request\": {\n"
	"        \"body\": \"\",\n"
	"        \"body_type\": \"text\",\n"
	"        \"headers\": {\n"
	"          \"accept\": [\n"
	"            \"application/json\"\n"
	"          ]\n"
	"        },\n"
	"        \"method\": \"GET\",\n"
	"        \"query_string\": \"a=1&b=2\",\n"
	"        \"uri\": \"http://api.test/users\"\n"
	"      },\n"
	"      \"response\": {\n"
	"        \"body_json\": {\n"
	"          \"method\": \"GET\",\n"
	"          \"n\": 1,\n"
	"          \"url\": \"http://api.test/users?b=2&a=1\"\n"
	"        },\n"
	"        \"body_type\": \"json\",\n"
	"        \"headers\": {\n"
	"          \"content-type\": [\n"
	"            \"application/json\"\n"
	"          ]\n"
	"        },\n"
	"        \"status\": 200\n"
	"      }\n"
	"    }\n"
	"  ],\n"
	"  \"version\": \"2.0\"\n"
	"}\n";

PT_TEST(record_writes_canonical_stable_text)
{
	struct pt_cassette_opts o = PT_CASSETTE_OPTS_INIT;
	struct pt_http_header h[] = { { "Accept", "application/json" } };
	/* compact with sorted keys: the form body_json replays exactly */
	struct fake f = { .body = "{\"method\":\"GET\",\"n\":1,\"url\":"
				  "\"http://api.test/users?b=2&a=1\"}" };
	struct pt_cassette *c;
	const char *p = pt_test_path("sub/dir/rec.json");
	char *text, body[256];

	pt__clock_set_fake(fixed_clock, NULL);
	PT_ASSERT_OK(pt_cassette_open(p, &o, NULL, &c));
	PT_ASSERT_OK(play_req(c, &f, "GET", "http://api.test/users?b=2&a=1", h,
			      1, NULL, NULL, body, sizeof(body)));
	pt__clock_set_fake(NULL, NULL);
	PT_ASSERT_INT_EQ(f.calls, 1);
	text = slurp(p);
	PT_ASSERT_NOT_NULL(text);
	PT_ASSERT_STR_EQ(text, expected_record);
	pt__free(text);
	/* saving again gives the same bytes */
	PT_ASSERT_OK(pt_cassette_save_as(c, pt_test_path("again.json")));
	text = slurp(pt_test_path("again.json"));
	PT_ASSERT_STR_EQ(text, expected_record);
	pt__free(text);
	pt_cassette_free(c);
}

/* JSON that body_json cannot give back byte for byte is kept as text. */
PT_TEST(json_responses_replay_the_recorded_bytes)
{
	static const char *const bodies[] = {
		"{\"z\":1,\"a\":2}",	     /* key order */
		"{\"a\":1.50,\"b\":1e3}",    /* number text */
		"{\"a\":1,\"a\":2}",	     /* duplicate keys */
		"{\"a\":1}\n",		     /* trailing newline */
		"{\n  \"a\": [1, 2]\n}",     /* white space */
		"{\"a\":\"\\u00e9\"}",	     /* escapes */
		"{\"a\":[1,2],\"b\":\"x\"}", /* canonical: body_json */
	};
	struct pt_cassette_opts o = PT_CASSETTE_OPTS_INIT;
	struct pt_cassette *c;
	const char *p = pt_test_path("raw.json");
	char url[64], b[256], *text;

	for (size_t i = 0; i < PT_ARRAY_SIZE(bodies); i++) {
		struct fake f = { .body = bodies[i] };

		o.mode = PT_CASSETTE_RECORD;
		PT_ASSERT_OK(pt_cassette_open(p, &o, NULL, &c));
		snprintf(url, sizeof(url), "http://a.test/%zu", i);
		PT_ASSERT_OK(play_req(c, &f, "GET", url, NULL, 0, NULL, NULL, b,
				      sizeof(b)));
		PT_ASSERT_STR_EQ(b, bodies[i]);
		pt_cassette_free(c);
	}
	text = slurp(p);
	PT_ASSERT(strstr(text, "\"body\": \"{\\\"z\\\":1,\\\"a\\\":2}\"") !=
		  NULL);
	PT_ASSERT(strstr(text, "\"body_json\": {\n          \"a\": [") != NULL);
	pt__free(text);
	o.mode = PT_CASSETTE_REPLAY;
	PT_ASSERT_OK(pt_cassette_open(p, &o, NULL, &c));
	for (size_t i = 0; i < PT_ARRAY_SIZE(bodies); i++) {
		snprintf(url, sizeof(url), "http://a.test/%zu", i);
		PT_ASSERT_OK(play_req(c, NULL, "GET", url, NULL, 0, NULL, NULL,
				      b, sizeof(b)));
		PT_ASSERT_STR_EQ(b, bodies[i]);
	}
	pt_cassette_free(c);
}

PT_TEST(unknown_keys_survive_a_save)
{
	struct pt_cassette_opts o = PT_CASSETTE_OPTS_INIT;
	struct pt_cassette *c;
	const char *p = pt_test_path("c.json");
	char *text;

	spit(p, v2_doc);
	PT_ASSERT_OK(pt_cassette_open(p, &o, NULL, &c));
	PT_ASSERT_OK(pt_cassette_save_as(c, pt_test_path("out.json")));
	text = slurp(pt_test_path("out.json"));
	PT_ASSERT(strstr(text, "\"note\": \"kept\"") != NULL);
	PT_ASSERT(strstr(text, "\"body_blob\": \"AAEC/w==\"") != NULL);
	pt__free(text);
	pt_cassette_free(c);
}

PT_TEST(migrates_version_1_0)
{
	struct pt_cassette_opts o = PT_CASSETTE_OPTS_INIT;
	struct pt_cassette *c;
	const char *p = pt_test_path("v1.json");
	char *text, buf[128];

	spit(p, "{\"version\": \"1.0\", \"interactions\": [{\"request\": "
		"{\"method\": \"POST\", \"uri\": \"https://x.test/p\", "
		"\"query_string\": \"b=2&a=1\", \"headers\": {}, "
		"\"body_type\": \"json\", \"body_json\": {\"k\": 1}}, "
		"\"response\": {\"status\": 200, \"headers\": {}, "
		"\"body_type\": \"text\", \"body\": \"ok\"}, "
		"\"recorded_at\": \"2025-10-16T14:23:45.123456Z\"}]}");
	o.mode = PT_CASSETTE_REPLAY;
	PT_ASSERT_OK(pt_cassette_open(p, &o, NULL, &c));
	PT_ASSERT_OK(play_req(c, NULL, "POST", "https://x.test:443/p?a=1&b=2",
			      NULL, 0, "{ \"k\" : 1 }", NULL, buf,
			      sizeof(buf)));
	PT_ASSERT_STR_EQ(buf, "ok");
	PT_ASSERT_OK(pt_cassette_save_as(c, pt_test_path("v2.json")));
	text = slurp(pt_test_path("v2.json"));
	PT_ASSERT(strstr(text, "\"version\": \"2.0\"") != NULL);
	PT_ASSERT(strstr(text, "\"query_string\": \"a=1&b=2\"") != NULL);
	pt__free(text);
	pt_cassette_free(c);
}

PT_TEST(migrates_v0_1_single_response)
{
	struct pt_cassette_opts o = PT_CASSETTE_OPTS_INIT;
	struct pt_cassette_info in;
	struct pt_cassette *c;
	const char *p = pt_test_path("v01.json");

	spit(p, "{\"status\": 202, \"headers\": {\"x\": \"y\"}, "
		"\"body\": \"{\\\"a\\\": 1}\"}");
	o.mode = PT_CASSETTE_REPLAY;
	o.match = PT_MATCH_METHOD;
	PT_ASSERT_OK(pt_cassette_open(p, &o, NULL, &c));
	PT_ASSERT_UINT_EQ(pt_cassette_count(c), 1);
	PT_ASSERT_OK(pt_cassette_info(c, 0, &in));
	PT_ASSERT_STR_EQ(in.method, "UNKNOWN");
	PT_ASSERT_STR_EQ(in.uri, "UNKNOWN");
	PT_ASSERT_STR_EQ(in.recorded_at, "MIGRATED_FROM_V0.1");
	PT_ASSERT_INT_EQ(in.status, 202);
	PT_ASSERT_STR_EQ(in.response_body_type, "json");
	pt_cassette_free(c);
}

PT_TEST(corrupt_json_reports_line_and_column)
{
	struct pt_cassette_opts o = PT_CASSETTE_OPTS_INIT;
	struct pt_diags *d;
	struct pt_cassette *c = NULL;
	const struct pt_diag *x;
	const char *p = pt_test_path("bad.json");

	spit(p, "{\n  \"version\": \"2.0\",\n  \"interactions\": [\n    }\n");
	PT_ASSERT_OK(pt_diags_new(&d));
	PT_ASSERT_ERR(pt_cassette_open(p, &o, d, &c), PT_EPARSE);
	PT_ASSERT_NULL(c);
	x = last_diag(d);
	PT_ASSERT_NOT_NULL(x);
	PT_ASSERT_STR_EQ(x->file, p);
	PT_ASSERT_INT_EQ(x->line, 4);
	PT_ASSERT(strstr(x->message, "line 4, column 5") != NULL);
	/* record mode does not overwrite a broken file */
	char *text = slurp(p);
	PT_ASSERT(strstr(text, "interactions") != NULL);
	pt__free(text);
	pt_diags_free(d);
}

PT_TEST(bad_structure_names_the_field)
{
	struct pt_cassette_opts o = PT_CASSETTE_OPTS_INIT;
	struct pt_diags *d;
	struct pt_cassette *c = NULL;
	const char *p = pt_test_path("bad.json");

	spit(p, "{\"version\": \"2.0\", \"interactions\": [{\"request\": "
		"{\"method\": \"GET\", \"uri\": \"http://a/\"}, \"response\": "
		"{\"status\": 200}}, {\"request\": {\"method\": 5, \"uri\": "
		"\"u\"}, \"response\": {\"status\": 200}}]}");
	PT_ASSERT_OK(pt_diags_new(&d));
	PT_ASSERT_ERR(pt_cassette_open(p, &o, d, &c), PT_EPARSE);
	PT_ASSERT_STR_EQ(last_diag(d)->field, "interactions[1].request");
	PT_ASSERT_STR_EQ(last_diag(d)->message,
			 "interactions[1].request.method: expected a string");
	pt_diags_free(d);

	spit(p, "{\"version\": \"2.0\", \"interactions\": [{\"request\": "
		"{\"method\": \"GET\", \"uri\": \"http://a/\"}, \"response\": "
		"{\"status\": 200, \"body_type\": \"blob\", \"body_blob\": "
		"\"@@@\"}}]}");
	PT_ASSERT_OK(pt_diags_new(&d));
	PT_ASSERT_ERR(pt_cassette_open(p, &o, d, &c), PT_EPARSE);
	PT_ASSERT_STR_EQ(last_diag(d)->message,
			 "interactions[0].response.body_blob: invalid base64");
	pt_diags_free(d);

	spit(p, "[1, 2]");
	PT_ASSERT_ERR(pt_cassette_open(p, &o, NULL, &c), PT_EPARSE);
	spit(p, "{\"version\": \"2.0\", \"interactions\": {}}");
	PT_ASSERT_ERR(pt_cassette_open(p, &o, NULL, &c), PT_EPARSE);
}

/* Loading is strict where the format is: a "json" body without body_json
 * and an unknown major version are errors naming the field. */
PT_TEST(strict_loading_names_json_body_and_version)
{
	struct pt_cassette_opts o = PT_CASSETTE_OPTS_INIT;
	struct pt_diags *d;
	struct pt_cassette *c = NULL;
	const char *p = pt_test_path("strict.json");

	spit(p, "{\"version\": \"2.0\", \"interactions\": [{\"request\": "
		"{\"method\": \"GET\", \"uri\": \"http://a/\"}, \"response\": "
		"{\"status\": 200, \"body_type\": \"json\", \"body\": "
		"\"{}\"}}]}");
	PT_ASSERT_OK(pt_diags_new(&d));
	PT_ASSERT_ERR(pt_cassette_open(p, &o, d, &c), PT_EPARSE);
	PT_ASSERT_STR_EQ(last_diag(d)->field, "interactions[0].response");
	PT_ASSERT_STR_EQ(last_diag(d)->message,
			 "interactions[0].response.body_json: missing "
			 "(body_type is \"json\")");
	pt_diags_free(d);

	spit(p, "{\"version\": \"3.0\", \"interactions\": []}");
	PT_ASSERT_OK(pt_diags_new(&d));
	PT_ASSERT_ERR(pt_cassette_open(p, &o, d, &c), PT_EPARSE);
	PT_ASSERT_STR_EQ(last_diag(d)->field, "version");
	PT_ASSERT_STR_EQ(
		last_diag(d)->message,
		"version: \"3.0\" is not a known version (1.x or 2.x)");
	pt_diags_free(d);

	/* minor versions of the known majors load */
	spit(p, "{\"version\": \"2.1\", \"interactions\": []}");
	PT_ASSERT_OK(pt_cassette_open(p, &o, NULL, &c));
	pt_cassette_free(c);
	spit(p, "{\"version\": \"1\", \"interactions\": []}");
	PT_ASSERT_OK(pt_cassette_open(p, &o, NULL, &c));
	pt_cassette_free(c);
}

PT_TEST(limits_on_size_and_count)
{
	struct pt_cassette_opts o = PT_CASSETTE_OPTS_INIT;
	struct pt_diags *d;
	struct pt_cassette *c = NULL;
	const char *p = pt_test_path("c.json");
	struct fake f = { 0 };

	spit(p, v2_doc);
	PT_ASSERT_OK(pt_diags_new(&d));
	o.max_bytes = 100;
	PT_ASSERT_ERR(pt_cassette_open(p, &o, d, &c), PT_ETOOBIG);
	PT_ASSERT(strstr(last_diag(d)->message, "limit of 100 bytes") != NULL);
	o.max_bytes = 0;
	o.max_interactions = 2;
	PT_ASSERT_ERR(pt_cassette_open(p, &o, d, &c), PT_ETOOBIG);
	PT_ASSERT_STR_EQ(last_diag(d)->field, "interactions");
	/* recording stops at the limit, and keeps the file intact */
	o.max_interactions = 3;
	PT_ASSERT_OK(pt_cassette_open(p, &o, d, &c));
	PT_ASSERT_ERR(play_req(c, &f, "GET", "http://api.test/new", NULL, 0,
			       NULL, d, NULL, 0),
		      PT_ETOOBIG);
	/* known before forwarding: the upstream never saw the request */
	PT_ASSERT_INT_EQ(f.calls, 0);
	PT_ASSERT_STR_EQ(last_diag(d)->message,
			 "recording would exceed the limit of 3 interactions "
			 "(request not sent)");
	pt_cassette_free(c);
	/* a request body that alone exceeds the file limit: not sent */
	o.max_interactions = 0;
	o.max_bytes = strlen(v2_doc) + 10;
	PT_ASSERT_OK(pt_cassette_open(p, &o, d, &c));
	PT_ASSERT_ERR(play_req(c, &f, "POST", "http://api.test/new", NULL, 0,
			       "0123456789abcdef", d, NULL, 0),
		      PT_ETOOBIG);
	PT_ASSERT_INT_EQ(f.calls, 0);
	/* a response that makes the file too big is only known after */
	f.body = "0123456789abcdef";
	PT_ASSERT_ERR(play_req(c, &f, "GET", "http://api.test/new", NULL, 0,
			       NULL, d, NULL, 0),
		      PT_ETOOBIG);
	PT_ASSERT_INT_EQ(f.calls, 1);
	pt_cassette_free(c);
	o.max_bytes = 0;
	o.mode = PT_CASSETTE_REPLAY;
	PT_ASSERT_OK(pt_cassette_open(p, &o, d, &c));
	PT_ASSERT_UINT_EQ(pt_cassette_count(c), 3);
	pt_cassette_free(c);
	pt_diags_free(d);
}

PT_TEST(replay_of_missing_cassette_is_not_found)
{
	struct pt_cassette_opts o = PT_CASSETTE_OPTS_INIT;
	struct pt_cassette *c = NULL;
	struct pt_diags *d;

	PT_ASSERT_OK(pt_diags_new(&d));
	o.mode = PT_CASSETTE_REPLAY;
	PT_ASSERT_ERR(pt_cassette_open(pt_test_path("none.json"), &o, d, &c),
		      PT_ENOTFOUND);
	PT_ASSERT(strstr(last_diag(d)->message, "not found") != NULL);
	pt_diags_free(d);
}

PT_TEST(body_kinds_detected_when_recording)
{
	struct pt_cassette_opts o = PT_CASSETTE_OPTS_INIT;
	struct fake f = { .ctype = "image/png", .body = "\x89PNG\x01" };
	struct pt_cassette *c;
	const char *p = pt_test_path("k.json");
	char *text;

	PT_ASSERT_OK(pt_cassette_open(p, &o, NULL, &c));
	PT_ASSERT_OK(play_req(c, &f, "POST", "http://a.test/x", NULL, 0,
			      "plain words", NULL, NULL, 0));
	f.ctype = "text/plain";
	f.body = "[1,2]";
	PT_ASSERT_OK(play_req(c, &f, "POST", "http://a.test/y", NULL, 0,
			      "{\"j\":true}", NULL, NULL, 0));
	pt_cassette_free(c);
	text = slurp(p);
	PT_ASSERT(strstr(text, "\"body_blob\": \"iVBORwE=\"") != NULL);
	PT_ASSERT(strstr(text, "\"body\": \"plain words\"") != NULL);
	PT_ASSERT(strstr(text, "\"body\": \"[1,2]\"") != NULL);
	PT_ASSERT(strstr(text, "\"body_json\": {\n") != NULL);
	pt__free(text);
}

/* ---- allocation failures ------------------------------------------------ */

static long fail_at, n_alloc;

static void *f_malloc(void *ctx, size_t n)
{
	(void)ctx;
	return ++n_alloc == fail_at ? NULL : malloc(n);
}

static void *f_realloc(void *ctx, void *p, size_t n)
{
	(void)ctx;
	return ++n_alloc == fail_at ? NULL : realloc(p, n);
}

static void f_free(void *ctx, void *p)
{
	(void)ctx;
	free(p);
}

/* Every allocation of open + replay + record fails once in turn: each
 * failure is -ENOMEM, nothing crashes or leaks (ASan, valgrind). */
PT_TEST(allocation_failures_are_clean)
{
	struct pt_allocator a = { f_malloc, f_realloc, f_free, NULL };
	char p[4096];
	struct pt_http_header h[] = { { "X-A", "1" }, { "x-b", "2" } };
	int r1, r2, r3, last = 0;

	snprintf(p, sizeof(p), "%s", pt_test_path("c.json"));
	spit(p, v2_doc);
	for (fail_at = 1; fail_at < 20000; fail_at++) {
		struct pt_cassette_opts o = PT_CASSETTE_OPTS_INIT;
		struct pt_cassette *c = NULL;
		struct fake f = { 0 };
		struct pt_diags *d = NULL;
		char rec[64];

		snprintf(rec, sizeof(rec), "rec-%ld.json", fail_at);
		n_alloc = 0;
		pt_set_allocator(&a);
		r1 = pt_diags_new(&d);
		o.mode = PT_CASSETTE_REPLAY;
		o.sequential = true;
		if (r1 == 0)
			r1 = pt_cassette_open(p, &o, d, &c);
		r2 = r1 == 0 ? play_req(c, NULL, "GET", "http://api.test/a?x=1",
					h, 2, "{\"k\":1}", d, NULL, 0)
			     : 0;
		pt_cassette_free(c);
		c = NULL;
		o.mode = PT_CASSETTE_RECORD;
		o.sequential = false;
		r3 = pt_cassette_open(pt_test_path(rec), &o, d, &c);
		if (r3 == 0)
			r3 = play_req(c, &f, "POST",
				      "http://api.test/r?b=2&a=1", h, 2,
				      "{\"k\":[1,2]}", d, NULL, 0);
		pt_cassette_free(c);
		pt_diags_free(d);
		pt_set_allocator(NULL);
		if (n_alloc < fail_at) { /* nothing failed: the normal run */
			/* the replay misses (a different uri), as it should */
			PT_ASSERT_INT_EQ(r1, 0);
			PT_ASSERT_ERR(r2, PT_ENOMATCH);
			PT_ASSERT_INT_EQ(r3, 0);
			last = 1;
			break;
		}
		/* a failed allocation is -ENOMEM, or is in a best-effort
		 * part (the text of a diagnostic) and changes nothing */
		if (!(r1 == -ENOMEM || r2 == -ENOMEM || r3 == -ENOMEM ||
		      (r1 == 0 && r2 == PT_ENOMATCH && r3 == 0)))
			PT_FAIL("allocation %ld: %d %d %d", fail_at, r1, r2,
				r3);
	}
	PT_ASSERT_INT_EQ(last, 1);
	PT_ASSERT_INT_GT(fail_at, 50);
}

PT_TEST(file_names_are_sanitised_like_reqcassette)
{
	static const char *const cases[][2] = {
		{ "test/with:special*chars", "test_with_special_chars.json" },
		{ "my cassette", "my_cassette.json" },
		{ "a  \t b", "a_b.json" },
		{ "keep-dash_and_1", "keep-dash_and_1.json" },
		{ "", ".json" },
	};

	for (size_t i = 0; i < PT_ARRAY_SIZE(cases); i++) {
		char *s = NULL;

		PT_ASSERT_OK(pt_cassette_file_name(cases[i][0], &s));
		PT_ASSERT_STR_EQ(s, cases[i][1]);
		pt_free(s);
	}
}
