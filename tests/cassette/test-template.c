/* Templates: extraction, markers, escaping, replay with other values. */
#include "common.h"

/* Upstream that echoes the request: {"echo": BODY, "id": "msg_NEW"} for a
 * JSON request, "got BODY {{x}}" for text. */
static int echo_fwd(void *ctx, const struct pt_http_request *req,
		    struct pt_http_response *resp)
{
	char body[1024];
	bool json = req->body_len && ((const char *)req->body)[0] == '{';

	(void)ctx;
	resp->status = 200;
	if (json) {
		snprintf(body, sizeof(body),
			 "{\"echo\":%.*s,\"id\":\"msg_NEW\"}",
			 (int)req->body_len, (const char *)req->body);
		pt_http_response_add_header(resp, "content-type",
					    "application/json");
	} else {
		snprintf(body, sizeof(body), "got %.*s {{x}} from %s",
			 (int)req->body_len, (const char *)req->body, req->url);
		pt_http_response_add_header(resp, "content-type", "text/plain");
	}
	return pt_http_response_set_body(resp, body, strlen(body));
}

static int send(struct pt_cassette *c, const char *method, const char *url,
		const char *body, char *out, size_t outsz, struct pt_diags *d)
{
	struct pt_http_header h[] = {
		{ "content-type",
		  body && body[0] == '{' ? "application/json" : "text/plain" }
	};
	struct pt_http_request req = { .method = method,
				       .url = url,
				       .headers = h,
				       .n_headers = 1,
				       .body = body,
				       .body_len = body ? strlen(body) : 0 };
	struct pt_http_response *resp = NULL;
	int r = pt_cassette_play(c, &req, echo_fwd, NULL, d, &resp);

	if (r == 0 && out)
		snprintf(out, outsz, "%.*s", (int)resp->body_len,
			 (const char *)resp->body);
	pt_http_response_free(resp);
	return r;
}

static struct pt_cassette *open_t(const char *p, enum pt_cassette_mode mode,
				  const struct pt_cassette_template *t)
{
	struct pt_cassette_opts o = PT_CASSETTE_OPTS_INIT;
	struct pt_cassette *c;

	o.mode = mode;
	o.tmpl = t;
	PT_ASSERT_OK(pt_cassette_open(p, &o, NULL, &c));
	return c;
}

PT_TEST(anthropic_preset_replays_with_new_ids)
{
	struct pt_cassette_template t = { .preset = "anthropic" };
	const char *p = pt_test_path("llm.json");
	struct pt_cassette *c;
	char out[512], *text;

	c = open_t(p, PT_CASSETTE_RECORD, &t);
	PT_ASSERT_OK(send(c, "POST", "https://api.test/v1/messages",
			  "{\"prev\":\"msg_A1\",\"n\":1}", out, sizeof(out),
			  NULL));
	PT_ASSERT_STR_EQ(out, "{\"echo\":{\"prev\":\"msg_A1\",\"n\":1},"
			      "\"id\":\"msg_NEW\"}");
	pt_cassette_free(c);
	text = slurp(p);
	/* the value is a marker in the request and where it occurs in the
	 * response; msg_NEW is only in the response and stays literal */
	PT_ASSERT(strstr(text, "\"prev\": \"{{msg_id.0}}\"") != NULL);
	PT_ASSERT(strstr(text,
			 "{\\\"prev\\\":\\\"{{msg_id.0}}\\\",\\\"n\\\":1},"
			 "\\\"id\\\":\\\"msg_NEW\\\"}") != NULL);
	PT_ASSERT(strstr(text, "\"msg_A1\"") != NULL); /* recorded_values */
	PT_ASSERT(strstr(text, "\"recorded_values\": {\n") != NULL);
	PT_ASSERT(strstr(text, "\"source\": \"msg_[a-zA-Z0-9]+\"") != NULL);
	PT_ASSERT(strstr(text, "\"enabled\": true") != NULL);
	pt__free(text);

	c = open_t(p, PT_CASSETTE_REPLAY, NULL);
	PT_ASSERT_OK(send(c, "POST", "https://api.test/v1/messages",
			  "{\"n\":1,\"prev\":\"msg_B2\"}", out, sizeof(out),
			  NULL));
	/* the recorded bytes, with the new value */
	PT_ASSERT_STR_EQ(out, "{\"echo\":{\"prev\":\"msg_B2\",\"n\":1},"
			      "\"id\":\"msg_NEW\"}");
	/* other structure: no match */
	PT_ASSERT_ERR(send(c, "POST", "https://api.test/v1/messages",
			   "{\"n\":2,\"prev\":\"msg_B2\"}", NULL, 0, NULL),
		      PT_ENOMATCH);
	pt_cassette_free(c);
}

PT_TEST(text_bodies_are_escaped_and_uri_query_templated)
{
	static const struct pt_cassette_pattern pats[] = {
		{ "sku", "SKU-[0-9]+" },
	};
	struct pt_cassette_template t = { .patterns = pats, .n_patterns = 1 };
	const char *p = pt_test_path("text.json");
	struct pt_cassette *c;
	char out[512], *text;

	c = open_t(p, PT_CASSETTE_RECORD, &t);
	PT_ASSERT_OK(send(c, "POST", "http://a.test/items/SKU-1?z=SKU-2&a=1",
			  "a {{lit}} \\ SKU-1", out, sizeof(out), NULL));
	PT_ASSERT_STR_EQ(out, "got a {{lit}} \\ SKU-1 {{x}} from "
			      "http://a.test/items/SKU-1?z=SKU-2&a=1");
	pt_cassette_free(c);
	text = slurp(p);
	PT_ASSERT(strstr(text, "\"uri\": \"http://a.test/items/{{sku.0}}\"") !=
		  NULL);
	PT_ASSERT(strstr(text, "\"query_string\": \"a=1&z={{sku.1}}\"") !=
		  NULL);
	/* literal braces and backslashes escaped, markers not */
	PT_ASSERT(strstr(text, "\"body\": \"a \\\\{\\\\{lit\\\\}\\\\} "
			       "\\\\\\\\ {{sku.0}}\"") != NULL);
	PT_ASSERT(strstr(text,
			 "\"body\": \"got a \\\\{\\\\{lit\\\\}\\\\} "
			 "\\\\\\\\ {{sku.0}} \\\\{\\\\{x\\\\}\\\\} from "
			 "http://a.test/items/{{sku.0}}?z={{sku.1}}&a=1\"") !=
		  NULL);
	pt__free(text);

	c = open_t(p, PT_CASSETTE_REPLAY, &t);
	PT_ASSERT_OK(send(c, "POST", "http://a.test/items/SKU-77?a=1&z=SKU-88",
			  "a {{lit}} \\ SKU-77", out, sizeof(out), NULL));
	PT_ASSERT_STR_EQ(out, "got a {{lit}} \\ SKU-77 {{x}} from "
			      "http://a.test/items/SKU-77?z=SKU-88&a=1");
	pt_cassette_free(c);
}

PT_TEST(template_implies_sequential)
{
	static const struct pt_cassette_pattern pats[] = {
		{ "n", "N[0-9]+" },
	};
	struct pt_cassette_template t = { .patterns = pats, .n_patterns = 1 };
	const char *p = pt_test_path("seq.json");
	struct pt_cassette *c;
	char out[512];

	c = open_t(p, PT_CASSETTE_RECORD, &t);
	PT_ASSERT_OK(send(c, "POST", "http://a.test/x", "first N1", out,
			  sizeof(out), NULL));
	PT_ASSERT_OK(send(c, "POST", "http://a.test/x", "first N2", out,
			  sizeof(out), NULL));
	PT_ASSERT_UINT_EQ(pt_cassette_count(c), 2);
	pt_cassette_free(c);
	c = open_t(p, PT_CASSETTE_REPLAY, &t);
	PT_ASSERT_OK(send(c, "POST", "http://a.test/x", "first N7", out,
			  sizeof(out), NULL));
	PT_ASSERT_STR_EQ(out, "got first N7 {{x}} from http://a.test/x");
	PT_ASSERT_OK(send(c, "POST", "http://a.test/x", "first N8", out,
			  sizeof(out), NULL));
	PT_ASSERT_STR_EQ(out, "got first N8 {{x}} from http://a.test/x");
	PT_ASSERT_ERR(
		send(c, "POST", "http://a.test/x", "first N9", NULL, 0, NULL),
		PT_ENOMATCH);
	pt_cassette_free(c);
}

PT_TEST(overlaps_longest_wins_and_duplicates_share_a_marker)
{
	static const struct pt_cassette_pattern pats[] = {
		{ "id", "[0-9]+" },
		{ "sku", "SKU-[0-9]{4}" },
		{ "p", "[AB][0-9]" },
	};
	struct pt_cassette_template t = { .patterns = pats, .n_patterns = 3 };
	const char *p = pt_test_path("ov.json");
	struct pt_cassette *c;
	char *text;

	c = open_t(p, PT_CASSETTE_RECORD, &t);
	PT_ASSERT_OK(send(c, "POST", "http://a.test/o",
			  "Item SKU-1234 A1 A1 B2", NULL, 0, NULL));
	pt_cassette_free(c);
	text = slurp(p);
	/* SKU-1234 beats 1234, A1 beats 1 (longer); the duplicate A1 keeps
	 * marker 0 and B2 is index 2 (indices count duplicates) */
	PT_ASSERT(strstr(text, "\"body\": \"Item {{sku.0}} {{p.0}} {{p.0}} "
			       "{{p.2}}\"") != NULL);
	PT_ASSERT(strstr(text, "\"p\": [\n") != NULL);
	pt__free(text);
}

PT_TEST(a_value_never_matches_inside_an_earlier_marker)
{
	static const struct pt_cassette_pattern pats[] = {
		{ "n", "[0-9]" },
	};
	struct pt_cassette_template t = { .patterns = pats, .n_patterns = 1 };
	const char *p = pt_test_path("inner.json");
	struct pt_cassette *c;
	char *text;

	c = open_t(p, PT_CASSETTE_RECORD, &t);
	PT_ASSERT_OK(send(c, "POST", "http://a.test/o", "1 0", NULL, 0, NULL));
	pt_cassette_free(c);
	text = slurp(p);
	/* "1" becomes {{n.0}} first; the value "0" must not rewrite the
	 * ".0" of that marker ({{n.{{n.1}}}} before the fix) */
	PT_ASSERT(strstr(text, "\"body\": \"{{n.0}} {{n.1}}\"") != NULL);
	pt__free(text);
}

PT_TEST(template_configuration_errors)
{
	struct pt_cassette_template t = { 0 };
	struct pt_cassette_opts o = PT_CASSETTE_OPTS_INIT;
	struct pt_cassette *c = NULL;
	struct pt_diags *d;

	PT_ASSERT_OK(pt_diags_new(&d));
	o.tmpl = &t;
	PT_ASSERT_ERR(pt_cassette_open(pt_test_path("x.json"), &o, d, &c),
		      -EINVAL);
	PT_ASSERT_STR_EQ(last_diag(d)->message,
			 "template: a template needs a preset or patterns");
	t.preset = "gpt";
	PT_ASSERT_ERR(pt_cassette_open(pt_test_path("x.json"), &o, d, &c),
		      -EINVAL);
	PT_ASSERT_STR_EQ(last_diag(d)->message,
			 "template: unknown preset \"gpt\" (available: "
			 "anthropic, common, llm, openai)");
	PT_ASSERT_STR_EQ(last_diag(d)->field, "template");
	pt_diags_free(d);
}

PT_TEST(loads_reqcassette_templated_cassette)
{
	const char *p = pt_test_path("rc.json");
	struct pt_cassette *c;
	char out[512];

	/* legacy pattern form (a plain string) and the common preset's
	 * caseless uuid */
	spit(p,
	     "{\"version\": \"2.0\", \"interactions\": [{\"request\": {"
	     "\"method\": \"GET\", \"uri\": \"https://x.test/u/{{uuid.0}}\", "
	     "\"query_string\": \"\", \"headers\": {\"x-ignored\": [\"1\"]}, "
	     "\"body_type\": \"text\", \"body\": \"\"}, \"response\": {"
	     "\"status\": 200, \"headers\": {}, \"body_type\": \"json\", "
	     "\"body_json\": {\"id\": \"{{uuid.0}}\", \"k\": \"\\\\{\\\\{v\\\\}\\\\}\"}}, "
	     "\"template\": {\"enabled\": true, \"patterns\": {\"uuid\": {"
	     "\"source\": \"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-"
	     "[0-9a-f]{12}\", \"opts\": [\"caseless\"]}, \"old\": \"zz+\"}, "
	     "\"recorded_values\": {}, \"config\": {}}}]}");
	c = open_t(p, PT_CASSETTE_REPLAY, NULL);
	PT_ASSERT_OK(
		send(c, "GET",
		     "https://x.test/u/ABCDEF01-2345-6789-abcd-ef0123456789",
		     NULL, out, sizeof(out), NULL));
	PT_ASSERT_STR_EQ(out,
			 "{\"id\":\"ABCDEF01-2345-6789-abcd-ef0123456789\","
			 "\"k\":\"{{v}}\"}");
	pt_cassette_free(c);

	spit(p,
	     "{\"version\": \"2.0\", \"interactions\": [{\"request\": {"
	     "\"method\": \"GET\", \"uri\": \"u\"}, \"response\": {\"status\": "
	     "200}, \"template\": {\"enabled\": true, \"patterns\": 3}}]}");
	{
		struct pt_cassette_opts o = PT_CASSETTE_OPTS_INIT;
		struct pt_diags *d;

		PT_ASSERT_OK(pt_diags_new(&d));
		o.mode = PT_CASSETTE_REPLAY;
		PT_ASSERT_ERR(pt_cassette_open(p, &o, d, &c), PT_EPARSE);
		PT_ASSERT_STR_EQ(last_diag(d)->message,
				 "interactions[0].template.patterns: expected "
				 "an object");
		pt_diags_free(d);
	}
}
