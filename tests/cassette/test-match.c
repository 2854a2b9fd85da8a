/* Matching rules, modes, filters, sequential matching, diagnostics. */
#include "common.h"

/* Records one request into a fresh cassette; returns the path. */
static const char *record_one(const char *name, const char *method,
			      const char *url, const struct pt_http_header *h,
			      size_t nh, const char *body)
{
	struct pt_cassette_opts o = PT_CASSETTE_OPTS_INIT;
	struct fake f = { 0 };
	struct pt_cassette *c;
	const char *p = pt_test_path(name);

	PT_ASSERT_OK(pt_cassette_open(p, &o, NULL, &c));
	PT_ASSERT_OK(play_req(c, &f, method, url, h, nh, body, NULL, NULL, 0));
	PT_ASSERT_INT_EQ(f.calls, 1);
	pt_cassette_free(c);
	return p;
}

static struct pt_cassette *open_replay(const char *p, unsigned match)
{
	struct pt_cassette_opts o = PT_CASSETTE_OPTS_INIT;
	struct pt_cassette *c;

	o.mode = PT_CASSETTE_REPLAY;
	o.match = match;
	PT_ASSERT_OK(pt_cassette_open(p, &o, NULL, &c));
	return c;
}

static int try(struct pt_cassette *c, const char *method, const char *url,
	       const struct pt_http_header *h, size_t nh, const char *body)
{
	return play_req(c, NULL, method, url, h, nh, body, NULL, NULL, 0);
}

PT_TEST(method_is_case_insensitive_and_uri_exact)
{
	const char *p =
		record_one("m.json", "GET", "http://a.test/x", NULL, 0, NULL);
	struct pt_cassette *c = open_replay(p, 0);

	PT_ASSERT_OK(try(c, "get", "http://a.test/x", NULL, 0, NULL));
	PT_ASSERT_OK(try(c, "GET", "HTTP://A.TEST:80/x#frag", NULL, 0, NULL));
	PT_ASSERT_ERR(try(c, "POST", "http://a.test/x", NULL, 0, NULL),
		      PT_ENOMATCH);
	PT_ASSERT_ERR(try(c, "GET", "http://a.test/X", NULL, 0, NULL),
		      PT_ENOMATCH);
	PT_ASSERT_ERR(try(c, "GET", "http://b.test/x", NULL, 0, NULL),
		      PT_ENOMATCH);
	PT_ASSERT_ERR(try(c, "GET", "https://a.test/x", NULL, 0, NULL),
		      PT_ENOMATCH);
	PT_ASSERT_ERR(try(c, "GET", "http://a.test:8080/x", NULL, 0, NULL),
		      PT_ENOMATCH);
	pt_cassette_free(c);
}

PT_TEST(query_is_order_independent_and_decoded)
{
	const char *p = record_one("q.json", "GET",
				   "http://a.test/s?b=2&a=hello%20world", NULL,
				   0, NULL);
	struct pt_cassette *c = open_replay(p, 0);

	PT_ASSERT_OK(try(c, "GET", "http://a.test/s?a=hello+world&b=2", NULL, 0,
			 NULL));
	/* duplicate keys collapse, the last wins (ReqCassette) */
	PT_ASSERT_OK(try(c, "GET", "http://a.test/s?b=1&a=hello+world&b=2",
			 NULL, 0, NULL));
	PT_ASSERT_ERR(
		try(c, "GET", "http://a.test/s?a=hello&b=2", NULL, 0, NULL),
		PT_ENOMATCH);
	PT_ASSERT_ERR(try(c, "GET", "http://a.test/s", NULL, 0, NULL),
		      PT_ENOMATCH);
	pt_cassette_free(c);
	/* without the query matcher any query matches */
	c = open_replay(p, PT_MATCH_METHOD | PT_MATCH_URI);
	PT_ASSERT_OK(try(c, "GET", "http://a.test/s?zzz=1", NULL, 0, NULL));
	pt_cassette_free(c);
	/* empty query strings */
	p = record_one("q2.json", "GET", "http://a.test/e", NULL, 0, NULL);
	c = open_replay(p, 0);
	PT_ASSERT_OK(try(c, "GET", "http://a.test/e?", NULL, 0, NULL));
	pt_cassette_free(c);
}

PT_TEST(headers_compare_names_case_insensitively_any_order)
{
	struct pt_http_header h1[] = { { "Accept", "text/plain" },
				       { "X-Multi", "b" },
				       { "X-Multi", "a" } };
	struct pt_http_header h2[] = { { "x-multi", "a" },
				       { "ACCEPT", "text/plain" },
				       { "x-MULTI", "b" } };
	struct pt_http_header h3[] = { { "accept", "text/html" },
				       { "x-multi", "a" },
				       { "x-multi", "b" } };
	const char *p =
		record_one("h.json", "GET", "http://a.test/h", h1, 3, NULL);
	struct pt_cassette *c = open_replay(p, 0);

	PT_ASSERT_OK(try(c, "GET", "http://a.test/h", h2, 3, NULL));
	PT_ASSERT_ERR(try(c, "GET", "http://a.test/h", h3, 3, NULL),
		      PT_ENOMATCH);
	PT_ASSERT_ERR(try(c, "GET", "http://a.test/h", h2, 2, NULL),
		      PT_ENOMATCH);
	pt_cassette_free(c);
	{
		struct pt_diags *d;

		c = open_replay(p, 0);
		PT_ASSERT_OK(pt_diags_new(&d));
		PT_ASSERT_ERR(play_req(c, NULL, "GET", "http://a.test/h", h3, 3,
				       NULL, d, NULL, 0),
			      PT_ENOMATCH);
		PT_ASSERT(
			strstr(last_diag(d)->message,
			       "    stored: \"accept: text/plain; x-multi: a; "
			       "x-multi: b\"\n"
			       "    value:  \"accept: text/html; x-multi: a; "
			       "x-multi: b\"") != NULL);
		pt_diags_free(d);
		pt_cassette_free(c);
	}
	c = open_replay(p, PT_MATCH_DEFAULT & ~PT_MATCH_HEADERS);
	PT_ASSERT_OK(try(c, "GET", "http://a.test/h", h3, 1, NULL));
	pt_cassette_free(c);
}

PT_TEST(bodies_json_deep_text_exact_kinds_never_mix)
{
	struct pt_http_header js[] = { { "content-type", "application/json" } };
	struct pt_http_header tx[] = { { "content-type", "text/plain" } };
	const char *p = record_one("b.json", "POST", "http://a.test/b", js, 1,
				   "{\"a\":1,\"b\":{\"c\":[1,2]}}");
	struct pt_cassette *c = open_replay(p, 0);

	PT_ASSERT_OK(try(c, "POST", "http://a.test/b", js, 1,
			 "{ \"b\": {\"c\": [1, 2]}, \"a\": 1 }"));
	PT_ASSERT_ERR(try(c, "POST", "http://a.test/b", js, 1,
			  "{\"a\":1,\"b\":{\"c\":[2,1]}}"),
		      PT_ENOMATCH);
	pt_cassette_free(c);

	/* a text body equal to the JSON text is a different kind */
	c = open_replay(p, PT_MATCH_METHOD | PT_MATCH_URI | PT_MATCH_BODY);
	PT_ASSERT_ERR(try(c, "POST", "http://a.test/b", tx, 1,
			  "{\"a\":1,\"b\":{\"c\":[1,2]}}"),
		      PT_ENOMATCH);
	pt_cassette_free(c);
	/* ... but the JSON body matcher compares it as JSON */
	c = open_replay(p, PT_MATCH_METHOD | PT_MATCH_URI | PT_MATCH_BODY_JSON);
	PT_ASSERT_OK(try(c, "POST", "http://a.test/b", tx, 1,
			 "{\"b\":{\"c\":[1,2]},\"a\":1}"));
	PT_ASSERT_ERR(try(c, "POST", "http://a.test/b", tx, 1, "{\"a\":2}"),
		      PT_ENOMATCH);
	pt_cassette_free(c);

	p = record_one("t.json", "POST", "http://a.test/t", tx, 1, "abc");
	c = open_replay(p, 0);
	PT_ASSERT_OK(try(c, "POST", "http://a.test/t", tx, 1, "abc"));
	PT_ASSERT_ERR(try(c, "POST", "http://a.test/t", tx, 1, "abd"),
		      PT_ENOMATCH);
	PT_ASSERT_ERR(try(c, "POST", "http://a.test/t", tx, 1, ""),
		      PT_ENOMATCH);
	pt_cassette_free(c);
	c = open_replay(p, PT_MATCH_METHOD | PT_MATCH_URI);
	PT_ASSERT_OK(try(c, "POST", "http://a.test/t", tx, 1, "other"));
	pt_cassette_free(c);
}

PT_TEST(miss_names_closest_interaction_and_fields)
{
	struct pt_cassette_opts o = PT_CASSETTE_OPTS_INIT;
	struct fake f = { 0 };
	struct pt_cassette *c;
	struct pt_diags *d;
	const struct pt_diag *x;
	const char *p = pt_test_path("d.json");

	PT_ASSERT_OK(pt_cassette_open(p, &o, NULL, &c));
	PT_ASSERT_OK(play_req(c, &f, "GET", "http://a.test/one?k=1", NULL, 0,
			      NULL, NULL, NULL, 0));
	PT_ASSERT_OK(play_req(c, &f, "GET", "http://a.test/two?k=1", NULL, 0,
			      NULL, NULL, NULL, 0));
	pt_cassette_free(c);
	o.mode = PT_CASSETTE_REPLAY;
	PT_ASSERT_OK(pt_cassette_open(p, &o, NULL, &c));
	PT_ASSERT_OK(pt_diags_new(&d));
	PT_ASSERT_ERR(play_req(c, NULL, "GET", "http://a.test/two?k=2", NULL, 0,
			       NULL, d, NULL, 0),
		      PT_ENOMATCH);
	x = last_diag(d);
	PT_ASSERT_INT_EQ(x->code, PT_ENOMATCH);
	PT_ASSERT_STR_EQ(x->file, p);
	PT_ASSERT_STR_EQ(x->field, "query");
	PT_ASSERT_STR_EQ(
		x->message,
		"no matching interaction for GET http://a.test/two?k=2\n"
		"  method: match\n"
		"  uri: match\n"
		"  query: NO match\n"
		"  headers: match\n"
		"  body: match\n"
		"closest is interaction #1 (GET http://a.test/two?k=1)\n"
		"  query differs:\n"
		"    stored: \"k=1\"\n"
		"    value:  \"k=2\"");
	/* two fields differ from both: the first is closest */
	PT_ASSERT_ERR(play_req(c, NULL, "POST", "http://a.test/three", NULL, 0,
			       NULL, d, NULL, 0),
		      PT_ENOMATCH);
	PT_ASSERT_STR_EQ(last_diag(d)->field, "method,uri,query");
	PT_ASSERT(strstr(last_diag(d)->message, "closest is interaction #0") !=
		  NULL);
	pt_diags_free(d);
	pt_cassette_free(c);
}

PT_TEST(record_replays_hits_and_appends_misses)
{
	struct pt_cassette_opts o = PT_CASSETTE_OPTS_INIT;
	struct fake f = { 0 };
	struct pt_cassette *c;
	const char *p = pt_test_path("r.json");
	char b1[256], b2[256];

	PT_ASSERT_OK(pt_cassette_open(p, &o, NULL, &c));
	PT_ASSERT_OK(play_req(c, &f, "GET", "http://a.test/1", NULL, 0, NULL,
			      NULL, b1, sizeof(b1)));
	PT_ASSERT_OK(play_req(c, &f, "GET", "http://a.test/1", NULL, 0, NULL,
			      NULL, b2, sizeof(b2)));
	PT_ASSERT_INT_EQ(f.calls, 1);
	/* replayed: the bytes the upstream sent (key order kept) */
	PT_ASSERT_STR_EQ(
		b1, "{\"url\":\"http://a.test/1\",\"n\":1,\"method\":\"GET\"}");
	PT_ASSERT_STR_EQ(b2, b1);
	pt_cassette_free(c);

	/* a second run appends what is missing, keeps what is there */
	PT_ASSERT_OK(pt_cassette_open(p, &o, NULL, &c));
	PT_ASSERT_OK(play_req(c, &f, "GET", "http://a.test/1", NULL, 0, NULL,
			      NULL, NULL, 0));
	PT_ASSERT_OK(play_req(c, &f, "GET", "http://a.test/2", NULL, 0, NULL,
			      NULL, NULL, 0));
	PT_ASSERT_INT_EQ(f.calls, 2);
	PT_ASSERT_UINT_EQ(pt_cassette_count(c), 2);
	pt_cassette_free(c);

	/* forwarding errors come back, nothing is recorded */
	PT_ASSERT_OK(pt_cassette_open(p, &o, NULL, &c));
	PT_ASSERT_ERR(play_req(c, NULL, "GET", "http://a.test/3", NULL, 0, NULL,
			       NULL, NULL, 0),
		      -ENOTCONN);
	PT_ASSERT_UINT_EQ(pt_cassette_count(c), 2);
	pt_cassette_free(c);
}

PT_TEST(bypass_always_forwards_and_never_writes)
{
	struct pt_cassette_opts o = PT_CASSETTE_OPTS_INIT;
	struct fake f = { 0 };
	struct pt_cassette *c;
	const char *p = pt_test_path("by.json");

	o.mode = PT_CASSETTE_BYPASS;
	PT_ASSERT_OK(pt_cassette_open(p, &o, NULL, &c));
	for (int i = 0; i < 3; i++)
		PT_ASSERT_OK(play_req(c, &f, "GET", "http://a.test/1", NULL, 0,
				      NULL, NULL, NULL, 0));
	PT_ASSERT_INT_EQ(f.calls, 3);
	pt_cassette_free(c);
	PT_ASSERT_INT_EQ(access(p, F_OK), -1);
}

/* ---- filters ---------------------------------------------------------- */

static int strip_ts(void *ctx, struct pt_cassette_msg *m)
{
	(void)ctx;
	/* non-idempotent on purpose: appends a marker each time */
	const char *q = pt_cassette_msg_get(m, "query_string");
	char buf[256];

	snprintf(buf, sizeof(buf), "%s%sfiltered=1", q, *q ? "&" : "");
	if (strstr(q, "ts="))
		snprintf(buf, sizeof(buf), "filtered=1");
	return pt_cassette_msg_set(m, "query_string", buf);
}

static int resp_cb(void *ctx, struct pt_cassette_msg *m)
{
	int *n = ctx;

	(*n)++;
	PT_ASSERT_STR_EQ(pt_cassette_msg_get(m, "status"), "200");
	return pt_cassette_msg_set_header(m, "x-recorded", "yes");
}

static int before_rec(void *ctx, struct pt_cassette_msg *req,
		      struct pt_cassette_msg *resp)
{
	(void)ctx;
	(void)req;
	return pt_cassette_msg_set(resp, "status", "299");
}

PT_TEST(filters_keep_secrets_off_disk_and_still_match)
{
	static const struct pt_cassette_filter re[] = {
		{ "api_key=[A-Za-z0-9]+", "api_key=<REDACTED>" },
		{ "/users/[0-9]+", "/users/ID" },
		{ "\"token\":\"[^\"]*\"", "\"token\":\"<T>\"" },
	};
	static const char *const drop_req[] = { "Authorization", NULL };
	static const char *const drop_resp[] = { "content-type", NULL };
	struct pt_cassette_opts o = PT_CASSETTE_OPTS_INIT;
	struct pt_http_header h[] = { { "authorization", "Bearer s3cr3t" },
				      { "content-type", "application/json" } };
	struct pt_http_header h2[] = { { "Authorization", "Bearer other" },
				       { "content-type", "application/json" } };
	struct fake f = { .body = "{\"token\":\"abc\",\"ok\":true}" };
	struct pt_cassette *c;
	const char *p = pt_test_path("f.json");
	char *text, b[256];
	int nresp = 0;

	o.filters = re;
	o.n_filters = 3;
	o.filter_request_headers = drop_req;
	o.filter_response_headers = drop_resp;
	o.filter_response = resp_cb;
	o.filter_ctx = &nresp;
	PT_ASSERT_OK(pt_cassette_open(p, &o, NULL, &c));
	PT_ASSERT_OK(play_req(
		c, &f, "POST", "http://a.test/users/42?api_key=SECRET1", h, 2,
		"{\"token\":\"tok-1\",\"n\":1}", NULL, b, sizeof(b)));
	/* the client got the real response */
	PT_ASSERT_STR_EQ(b, "{\"token\":\"abc\",\"ok\":true}");
	pt_cassette_free(c);
	PT_ASSERT_INT_EQ(nresp, 1);
	text = slurp(p);
	PT_ASSERT(strstr(text, "SECRET1") == NULL);
	PT_ASSERT(strstr(text, "s3cr3t") == NULL);
	PT_ASSERT(strstr(text, "tok-1") == NULL);
	PT_ASSERT(strstr(text, "\"abc\"") == NULL);
	PT_ASSERT(strstr(text, "\"uri\": \"http://a.test/users/ID\"") != NULL);
	PT_ASSERT(strstr(text, "api_key=<REDACTED>") != NULL);
	PT_ASSERT(strstr(text, "\"body\": \"{\\\"token\\\":\\\"<T>\\\",") !=
		  NULL);
	PT_ASSERT(strstr(text, "authorization") == NULL);
	PT_ASSERT(strstr(text, "\"x-recorded\"") != NULL);
	pt__free(text);

	/* other secrets, other ids: the filtered request still matches and
	 * the response filter is not applied again on replay */
	o.mode = PT_CASSETTE_REPLAY;
	PT_ASSERT_OK(pt_cassette_open(p, &o, NULL, &c));
	PT_ASSERT_OK(play_req(
		c, NULL, "POST", "http://a.test/users/7?api_key=OTHER", h2, 2,
		"{\"n\":1,\"token\":\"tok-2\"}", NULL, b, sizeof(b)));
	PT_ASSERT_STR_EQ(b, "{\"token\":\"<T>\",\"ok\":true}");
	PT_ASSERT_INT_EQ(nresp, 1);
	PT_ASSERT_ERR(play_req(c, NULL, "POST",
			       "http://a.test/users/7?api_key=OTHER", h2, 2,
			       "{\"n\":2,\"token\":\"tok-2\"}", NULL, NULL, 0),
		      PT_ENOMATCH);
	pt_cassette_free(c);
}

PT_TEST(request_callback_runs_once_and_before_record_applies)
{
	struct pt_cassette_opts o = PT_CASSETTE_OPTS_INIT;
	struct fake f = { 0 };
	struct pt_cassette *c;
	const char *p = pt_test_path("cb.json");
	struct pt_cassette_info in;

	o.filter_request = strip_ts;
	o.before_record = before_rec;
	PT_ASSERT_OK(pt_cassette_open(p, &o, NULL, &c));
	PT_ASSERT_OK(play_req(c, &f, "GET", "http://a.test/x?ts=1", NULL, 0,
			      NULL, NULL, NULL, 0));
	PT_ASSERT_OK(pt_cassette_info(c, 0, &in));
	PT_ASSERT_STR_EQ(in.query_string, "filtered=1");
	PT_ASSERT_INT_EQ(in.status, 299);
	/* a later request with another timestamp matches */
	PT_ASSERT_OK(play_req(c, &f, "GET", "http://a.test/x?ts=2", NULL, 0,
			      NULL, NULL, NULL, 0));
	PT_ASSERT_INT_EQ(f.calls, 1);
	pt_cassette_free(c);
}

PT_TEST(bad_filter_pattern_is_reported)
{
	static const struct pt_cassette_filter re[] = { { "a(b", "x" } };
	struct pt_cassette_opts o = PT_CASSETTE_OPTS_INIT;
	struct pt_cassette *c = NULL;
	struct pt_diags *d;

	PT_ASSERT_OK(pt_diags_new(&d));
	o.filters = re;
	o.n_filters = 1;
	PT_ASSERT_ERR(pt_cassette_open(pt_test_path("x.json"), &o, d, &c),
		      PT_EPARSE);
	PT_ASSERT_STR_EQ(last_diag(d)->field, "filters[0]");
	PT_ASSERT(strstr(last_diag(d)->message, "offset 3") != NULL);
	pt_diags_free(d);
}

/* ---- sequential --------------------------------------------------------- */

static void record_statuses(const char *p, int n)
{
	struct pt_cassette_opts o = PT_CASSETTE_OPTS_INIT;
	struct fake f = { 0 };
	struct pt_cassette *c;

	o.sequential = true;
	PT_ASSERT_OK(pt_cassette_open(p, &o, NULL, &c));
	for (int i = 0; i < n; i++)
		PT_ASSERT_OK(play_req(c, &f, "GET", "http://a.test/job", NULL,
				      0, NULL, NULL, NULL, 0));
	PT_ASSERT_INT_EQ(f.calls, n);
	pt_cassette_free(c);
}

PT_TEST(sequential_identical_requests_get_different_responses)
{
	struct pt_cassette_opts o = PT_CASSETTE_OPTS_INIT;
	const char *p = pt_test_path("seq.json");
	struct pt_cassette *c;
	struct pt_diags *d;
	char b[256], want[256];

	record_statuses(p, 3);
	o.mode = PT_CASSETTE_REPLAY;
	o.sequential = true;
	PT_ASSERT_OK(pt_cassette_open(p, &o, NULL, &c));
	for (int i = 1; i <= 3; i++) {
		PT_ASSERT_OK(play_req(c, NULL, "GET", "http://a.test/job", NULL,
				      0, NULL, NULL, b, sizeof(b)));
		snprintf(
			want, sizeof(want),
			"{\"url\":\"http://a.test/job\",\"n\":%d,\"method\":\"GET\"}",
			i);
		PT_ASSERT_STR_EQ(b, want);
	}
	PT_ASSERT_OK(pt_diags_new(&d));
	PT_ASSERT_ERR(play_req(c, NULL, "GET", "http://a.test/job", NULL, 0,
			       NULL, d, NULL, 0),
		      PT_ENOMATCH);
	PT_ASSERT(strstr(last_diag(d)->message,
			 "at sequential index 3: past the end (3 "
			 "interactions)") != NULL);
	pt_diags_free(d);
	pt_cassette_free(c);

	/* first-match on the same cassette: always interaction 0 */
	o.sequential = false;
	PT_ASSERT_OK(pt_cassette_open(p, &o, NULL, &c));
	for (int i = 0; i < 3; i++) {
		PT_ASSERT_OK(play_req(c, NULL, "GET", "http://a.test/job", NULL,
				      0, NULL, NULL, b, sizeof(b)));
		PT_ASSERT(strstr(b, "\"n\":1,") != NULL);
	}
	pt_cassette_free(c);
}

PT_TEST(sequential_is_strict_per_index)
{
	struct pt_cassette_opts o = PT_CASSETTE_OPTS_INIT;
	struct fake f = { 0 };
	const char *p = pt_test_path("mix.json");
	struct pt_cassette *c;
	struct pt_diags *d;

	o.sequential = true;
	PT_ASSERT_OK(pt_cassette_open(p, &o, NULL, &c));
	PT_ASSERT_OK(play_req(c, &f, "GET", "http://a.test/a", NULL, 0, NULL,
			      NULL, NULL, 0));
	PT_ASSERT_OK(play_req(c, &f, "POST", "http://a.test/b", NULL, 0, "x",
			      NULL, NULL, 0));
	pt_cassette_free(c);
	o.mode = PT_CASSETTE_REPLAY;
	PT_ASSERT_OK(pt_cassette_open(p, &o, NULL, &c));
	PT_ASSERT_OK(pt_diags_new(&d));
	/* index 0 holds GET /a: asking for POST /b first fails ... */
	PT_ASSERT_ERR(play_req(c, NULL, "POST", "http://a.test/b", NULL, 0, "x",
			       d, NULL, 0),
		      PT_ENOMATCH);
	PT_ASSERT_STR_EQ(last_diag(d)->field, "method,uri,body");
	/* ... and the index has advanced anyway (ReqCassette) */
	PT_ASSERT_OK(play_req(c, NULL, "POST", "http://a.test/b", NULL, 0, "x",
			      NULL, NULL, 0));
	pt_diags_free(d);
	pt_cassette_free(c);

	/* match on method+uri only: bodies ignored, order kept */
	o.match = PT_MATCH_METHOD | PT_MATCH_URI;
	PT_ASSERT_OK(pt_cassette_open(p, &o, NULL, &c));
	PT_ASSERT_OK(play_req(c, NULL, "GET", "http://a.test/a", NULL, 0,
			      "ignored", NULL, NULL, 0));
	PT_ASSERT_OK(play_req(c, NULL, "POST", "http://a.test/b", NULL, 0, "y",
			      NULL, NULL, 0));
	pt_cassette_free(c);
}

PT_TEST(sequential_empty_cassette_fails)
{
	struct pt_cassette_opts o = PT_CASSETTE_OPTS_INIT;
	const char *p = pt_test_path("empty.json");
	struct pt_cassette *c;

	spit(p, "{\"version\": \"2.0\", \"interactions\": []}");
	o.mode = PT_CASSETTE_REPLAY;
	o.sequential = true;
	PT_ASSERT_OK(pt_cassette_open(p, &o, NULL, &c));
	PT_ASSERT_ERR(play_req(c, NULL, "GET", "http://a.test/", NULL, 0, NULL,
			       NULL, NULL, 0),
		      PT_ENOMATCH);
	pt_cassette_free(c);
}

PT_TEST(find_uses_first_match)
{
	struct pt_cassette_opts o = PT_CASSETTE_OPTS_INIT;
	struct pt_http_request r = { .method = "GET",
				     .url = "http://a.test/job" };
	const char *p = pt_test_path("seq.json");
	struct pt_cassette *c;

	record_statuses(p, 3);
	PT_ASSERT_OK(pt_cassette_open(p, &o, NULL, &c));
	PT_ASSERT_INT_EQ(pt_cassette_find(c, &r), 0);
	r.url = "http://a.test/other";
	PT_ASSERT_ERR(pt_cassette_find(c, &r), PT_ENOMATCH);
	pt_cassette_free(c);
}

/* ---- diagnostics, from ReqCassette's diagnostics_test ------------------ */

PT_TEST(diagnostics_truncate_long_values_and_handle_empty)
{
	struct pt_cassette_opts o = PT_CASSETTE_OPTS_INIT;
	struct pt_cassette *c;
	struct pt_diags *d;
	const char *p = pt_test_path("long.json");
	char url[600], *msg;

	memset(url, 0, sizeof(url));
	snprintf(url, sizeof(url), "http://a.test/x?q=");
	memset(url + strlen(url), 'a', 300);
	record_one("long.json", "GET", url, NULL, 0, NULL);
	o.mode = PT_CASSETTE_REPLAY;
	PT_ASSERT_OK(pt_cassette_open(p, &o, NULL, &c));
	PT_ASSERT_OK(pt_diags_new(&d));
	url[strlen(url) - 1] = 'b';
	PT_ASSERT_ERR(play_req(c, NULL, "GET", url, NULL, 0, NULL, d, NULL, 0),
		      PT_ENOMATCH);
	msg = strstr(last_diag(d)->message, "    stored: \"q=aaa");
	PT_ASSERT_NOT_NULL(msg);
	/* 200 bytes of value, then ... */
	PT_ASSERT_INT_EQ(strcspn(msg + 13, "\""), 200);
	PT_ASSERT(strncmp(msg + 13 + 200, "\"...\n", 5) == 0);
	pt_cassette_free(c);

	spit(p, "{\"version\": \"2.0\", \"interactions\": []}");
	PT_ASSERT_OK(pt_cassette_open(p, &o, NULL, &c));
	PT_ASSERT_ERR(play_req(c, NULL, "GET", "http://a.test/", NULL, 0, NULL,
			       d, NULL, 0),
		      PT_ENOMATCH);
	PT_ASSERT_STR_EQ(last_diag(d)->message,
			 "no matching interaction for GET http://a.test/: the "
			 "cassette is empty");
	PT_ASSERT_NULL(last_diag(d)->field);
	pt_cassette_free(c);
	pt_diags_free(d);
}

PT_TEST(blob_bodies_match_on_bytes)
{
	struct pt_http_header h[] = { { "content-type",
					"application/octet-stream" } };
	const char *p = record_one("blob.json", "PUT", "http://a.test/b", h, 1,
				   "\x01\x02\x03");
	struct pt_cassette *c = open_replay(p, 0);
	struct pt_diags *d;

	PT_ASSERT_OK(try(c, "PUT", "http://a.test/b", h, 1, "\x01\x02\x03"));
	PT_ASSERT_OK(pt_diags_new(&d));
	PT_ASSERT_ERR(play_req(c, NULL, "PUT", "http://a.test/b", h, 1,
			       "\x01\x02\x04", d, NULL, 0),
		      PT_ENOMATCH);
	PT_ASSERT_STR_EQ(last_diag(d)->field, "body");
	PT_ASSERT(strstr(last_diag(d)->message,
			 "stored: \"\\x01\\x02\\x03\"\n    value:  "
			 "\"\\x01\\x02\\x04\"") != NULL);
	pt_diags_free(d);
	pt_cassette_free(c);
}

/* ---- body kinds, from ReqCassette's body_type_test ---------------------- */

PT_TEST(body_kind_detection)
{
	static const struct {
		const char *ctype, *body;
		enum body_kind want;
	} cases[] = {
		{ NULL, "", BODY_TEXT },
		{ "application/json", "{\"a\":1}", BODY_JSON },
		{ "application/json; charset=utf-8", "[1]", BODY_JSON },
		{ "application/vnd.api+json", "{}", BODY_JSON },
		{ "application/json", "not json", BODY_TEXT },
		{ "image/png", "abc", BODY_BLOB },
		{ "application/octet-stream", "abc", BODY_BLOB },
		{ "application/pdf", "abc", BODY_BLOB },
		{ "application/protobuf", "abc", BODY_BLOB },
		{ "application/x-protobuf", "abc", BODY_TEXT }, /* sniffed */
		{ "application/msgpack", "abc", BODY_BLOB },
		{ "text/html", "<p>hi</p>", BODY_TEXT },
		{ "text/plain", "{\"a\":1}", BODY_TEXT },
		{ "application/xml", "<a/>", BODY_TEXT },
		{ "application/x-www-form-urlencoded", "a=1&b=2", BODY_TEXT },
		{ "TEXT/PLAIN", "\xff\xfe", BODY_BLOB }, /* not UTF-8 */
		{ NULL, "{\"sniffed\":true}", BODY_JSON },
		{ NULL, "caf\xc3\xa9 ok\n", BODY_TEXT },
		{ NULL, "\x00\x01", BODY_TEXT }, /* strlen 0: empty */
		{ NULL, "a\x01z", BODY_BLOB },
		{ NULL, "\xed\xa0\x80", BODY_BLOB }, /* a surrogate */
	};

	for (size_t i = 0; i < PT_ARRAY_SIZE(cases); i++) {
		struct pt_cassette_msg m;

		memset(&m, 0, sizeof(m));
		if (cases[i].ctype)
			PT_ASSERT_OK(pt__msg_add_header(&m, "Content-Type",
							cases[i].ctype, false));
		m.body = (char *)(uintptr_t)cases[i].body;
		m.body_len = strlen(cases[i].body);
		if (pt__body_detect(&m) != cases[i].want)
			PT_FAIL("case %zu (%s): got %d, want %d", i,
				cases[i].ctype ? cases[i].ctype : "-",
				(int)pt__body_detect(&m), (int)cases[i].want);
		m.body = NULL;
		pt__msg_clear(&m);
	}
}
