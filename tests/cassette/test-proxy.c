/*
 * The record/replay proxy against a small upstream served by this test
 * (libmicrohttpd on 127.0.0.1), with a libcurl client. Loopback only.
 */
#include "base/buf.h"
#include "common.h"
#include "os/proc.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>

/* ---- the upstream -------------------------------------------------------- */

struct upstream {
	struct MHD_Daemon *d;
	int port;
	atomic_int hits;
	char base[64];
	int release_fd; /* "/slow" waits for it to be readable */
};

struct up_req {
	size_t body_len;
	char first[32];
};

static enum MHD_Result up_handler(void *cls, struct MHD_Connection *con,
				  const char *url, const char *method,
				  const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct upstream *u = cls;
	struct up_req *r = *con_cls;
	struct MHD_Response *resp;
	const char *q;
	char body[512];
	enum MHD_Result ret;
	int n;

	(void)version;
	if (!r) {
		r = pt__calloc(1, sizeof(*r));
		*con_cls = r;
		return r ? MHD_YES : MHD_NO;
	}
	if (*upload_size) {
		if (r->body_len == 0)
			snprintf(r->first, sizeof(r->first), "%.*s",
				 (int)PT_MIN(*upload_size, 31), upload);
		r->body_len += *upload_size;
		*upload_size = 0;
		return MHD_YES;
	}
	if (strcmp(url, "/slow") == 0 && u->release_fd >= 0) {
		/* held until the test releases it (or 10 s) */
		struct pollfd pfd = { .fd = u->release_fd, .events = POLLIN };

		poll(&pfd, 1, 10000);
	}
	n = atomic_fetch_add(&u->hits, 1) + 1;
	if (strcmp(url, "/cookies") == 0) {
		/* two Set-Cookie and JSON that re-encoding would change */
		static const char j[] = "{\"z\": 1, \"a\": 1.50}\n";

		resp = MHD_create_response_from_buffer(strlen(j),
						       (void *)(uintptr_t)j,
						       MHD_RESPMEM_PERSISTENT);
		MHD_add_response_header(resp, "Content-Type",
					"application/json");
		MHD_add_response_header(resp, "Set-Cookie", "a=1; Path=/");
		MHD_add_response_header(resp, "Set-Cookie", "b=2");
		ret = MHD_queue_response(con, 200, resp);
		MHD_destroy_response(resp);
		return ret;
	}
	q = MHD_lookup_connection_value(con, MHD_GET_ARGUMENT_KIND, "id");
	snprintf(body, sizeof(body),
		 "{\"n\":%d,\"method\":\"%s\",\"path\":\"%s\",\"id\":\"%s\","
		 "\"body_len\":%zu}",
		 n, method, url, q ? q : "", r->body_len);
	resp = MHD_create_response_from_buffer(strlen(body), body,
					       MHD_RESPMEM_MUST_COPY);
	MHD_add_response_header(resp, "Content-Type", "application/json");
	MHD_add_response_header(resp, "X-Upstream", "yes");
	ret = MHD_queue_response(con, strcmp(url, "/created") ? 200 : 201,
				 resp);
	MHD_destroy_response(resp);
	return ret;
}

static void up_done(void *cls, struct MHD_Connection *con, void **con_cls,
		    enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)con;
	(void)toe;
	pt__free(*con_cls);
	*con_cls = NULL;
}

static void upstream_start(struct upstream *u)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	atomic_store(&u->hits, 0);
	if (u->release_fd == 0)
		u->release_fd = -1;
	u->d = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION,
		0, NULL, NULL, up_handler, u, MHD_OPTION_SOCK_ADDR, &sa,
		MHD_OPTION_NOTIFY_COMPLETED, up_done, NULL, MHD_OPTION_END);
	PT_ASSERT_NOT_NULL(u->d);
	u->port = MHD_get_daemon_info(u->d, MHD_DAEMON_INFO_BIND_PORT)->port;
	snprintf(u->base, sizeof(u->base), "http://127.0.0.1:%d", u->port);
}

static void upstream_stop(struct upstream *u)
{
	if (u->d)
		MHD_stop_daemon(u->d);
	u->d = NULL;
}

/* ---- the client -------------------------------------------------------------
 */

struct got {
	long status;
	char body[2048];
	size_t len;
	char tag[32];	  /* X-Proctor-Cassette */
	char upstream[8]; /* X-Upstream */
};

static size_t cl_body(char *p, size_t size, size_t n, void *ctx)
{
	struct got *g = ctx;
	size_t len = size * n, k = PT_MIN(len, sizeof(g->body) - 1 - g->len);

	memcpy(g->body + g->len, p, k);
	g->len += k;
	g->body[g->len] = '\0';
	return len;
}

static size_t cl_header(char *p, size_t size, size_t n, void *ctx)
{
	struct got *g = ctx;
	size_t len = size * n;

	if (len > 20 && strncasecmp(p, "X-Proctor-Cassette: ", 20) == 0)
		snprintf(g->tag, sizeof(g->tag), "%.*s",
			 (int)strcspn(p + 20, "\r\n"), p + 20);
	if (len > 12 && strncasecmp(p, "X-Upstream: ", 12) == 0)
		snprintf(g->upstream, sizeof(g->upstream), "%.*s",
			 (int)strcspn(p + 12, "\r\n"), p + 12);
	return len;
}

static void http(int port, const char *method, const char *path,
		 const char *body, struct got *g)
{
	char url[256];
	CURL *h = curl_easy_init();
	struct curl_slist *hl = NULL;
	CURLcode rc;

	memset(g, 0, sizeof(*g));
	PT_ASSERT_NOT_NULL(h);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 20000L);
	hl = curl_slist_append(hl, "User-Agent: proctor-test");
	if (body) {
		hl = curl_slist_append(hl, "Content-Type: application/json");
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, cl_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, g);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, cl_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, g);
	rc = curl_easy_perform(h);
	if (rc != CURLE_OK)
		PT_FAIL("%s %s: %s", method, url, curl_easy_strerror(rc));
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &g->status);
	curl_slist_free_all(hl);
	curl_easy_cleanup(h);
}

static struct pt_cassette_proxy *proxy(struct pt_cassette *c, const char *up)
{
	struct pt_cassette_proxy_opts po = { .upstream = up,
					     .listen = "127.0.0.1:0",
					     .timeout_ms = 10000 };
	struct pt_cassette_proxy *p;

	PT_ASSERT_OK(pt_cassette_proxy_start(c, &po, &p));
	PT_ASSERT_INT_GT(pt_cassette_proxy_port(p), 0);
	return p;
}

static struct pt_cassette *open_mode(const char *path,
				     enum pt_cassette_mode mode, bool seq)
{
	struct pt_cassette_opts o = PT_CASSETTE_OPTS_INIT;
	struct pt_cassette *c;

	o.mode = mode;
	o.sequential = seq;
	PT_ASSERT_OK(pt_cassette_open(path, &o, NULL, &c));
	return c;
}

PT_TEST(record_then_replay_through_the_proxy)
{
	static struct upstream u;
	const char *cp = pt_test_path("proxy.json");
	struct pt_cassette *c;
	struct pt_cassette_proxy *p;
	struct got g, g1, g2;
	char want[256], *text;

	upstream_start(&u);
	c = open_mode(cp, PT_CASSETTE_RECORD, false);
	p = proxy(c, u.base);
	http(pt_cassette_proxy_port(p), "GET", "/items?id=7", NULL, &g1);
	PT_ASSERT_INT_EQ(g1.status, 200);
	PT_ASSERT_STR_EQ(g1.upstream, "yes");
	PT_ASSERT_STR_EQ(g1.body, "{\"n\":1,\"method\":\"GET\",\"path\":"
				  "\"/items\",\"id\":\"7\",\"body_len\":0}");
	http(pt_cassette_proxy_port(p), "POST", "/created", "{\"b\":2,\"a\":1}",
	     &g2);
	PT_ASSERT_INT_EQ(g2.status, 201);
	PT_ASSERT_STR_EQ(g2.body, "{\"n\":2,\"method\":\"POST\",\"path\":"
				  "\"/created\",\"id\":\"\",\"body_len\":13}");
	/* recorded: a repeat is replayed, not forwarded */
	http(pt_cassette_proxy_port(p), "GET", "/items?id=7", NULL, &g);
	PT_ASSERT_INT_EQ(atomic_load(&u.hits), 2);
	PT_ASSERT_STR_EQ(g.body, g1.body);
	pt_cassette_proxy_stop(p);
	pt_cassette_free(c);
	text = slurp(cp);
	snprintf(want, sizeof(want), "\"uri\": \"%s/items\"", u.base);
	PT_ASSERT(strstr(text, want) != NULL);
	PT_ASSERT(strstr(text, "\"query_string\": \"id=7\"") != NULL);
	PT_ASSERT(strstr(text, "\"host\"") == NULL);
	PT_ASSERT(strstr(text, "\"user-agent\"") != NULL);
	pt__free(text);

	/* replay with the upstream gone */
	upstream_stop(&u);
	c = open_mode(cp, PT_CASSETTE_REPLAY, false);
	p = proxy(c, u.base);
	http(pt_cassette_proxy_port(p), "GET", "/items?id=7", NULL, &g);
	PT_ASSERT_INT_EQ(g.status, 200);
	PT_ASSERT_STR_EQ(g.upstream, "yes");
	PT_ASSERT_STR_EQ(g.body, g1.body);
	/* same JSON, other key order: matches */
	http(pt_cassette_proxy_port(p), "POST", "/created",
	     "{\"a\":1, \"b\":2}", &g);
	PT_ASSERT_INT_EQ(g.status, 201);
	PT_ASSERT(strstr(g.body, "\"n\":2") != NULL);
	/* a miss explains itself */
	http(pt_cassette_proxy_port(p), "GET", "/items?id=8", NULL, &g);
	PT_ASSERT_INT_EQ(g.status, 599);
	PT_ASSERT_STR_EQ(g.tag, "no-match");
	PT_ASSERT(strstr(g.body, "closest is interaction #0") != NULL);
	PT_ASSERT(strstr(g.body, "query differs") != NULL);
	pt_cassette_proxy_stop(p);
	pt_cassette_free(c);
}

PT_TEST(sequential_through_the_proxy)
{
	static struct upstream u;
	const char *cp = pt_test_path("seq.json");
	struct pt_cassette *c;
	struct pt_cassette_proxy *p;
	struct got g;
	char want[32];

	upstream_start(&u);
	c = open_mode(cp, PT_CASSETTE_RECORD, true);
	p = proxy(c, u.base);
	for (int i = 1; i <= 3; i++) {
		http(pt_cassette_proxy_port(p), "GET", "/job", NULL, &g);
		snprintf(want, sizeof(want), "\"n\":%d,", i);
		PT_ASSERT(strstr(g.body, want) != NULL);
	}
	pt_cassette_proxy_stop(p);
	pt_cassette_free(c);
	upstream_stop(&u);

	c = open_mode(cp, PT_CASSETTE_REPLAY, true);
	p = proxy(c, u.base);
	for (int i = 1; i <= 3; i++) {
		http(pt_cassette_proxy_port(p), "GET", "/job", NULL, &g);
		PT_ASSERT_INT_EQ(g.status, 200);
		snprintf(want, sizeof(want), "\"n\":%d,", i);
		PT_ASSERT(strstr(g.body, want) != NULL);
	}
	http(pt_cassette_proxy_port(p), "GET", "/job", NULL, &g);
	PT_ASSERT_INT_EQ(g.status, 599);
	PT_ASSERT(strstr(g.body, "past the end") != NULL);
	pt_cassette_proxy_stop(p);
	pt_cassette_free(c);
}

PT_TEST(bypass_through_the_proxy)
{
	static struct upstream u;
	const char *cp = pt_test_path("by.json");
	struct pt_cassette *c;
	struct pt_cassette_proxy *p;
	struct got g;

	upstream_start(&u);
	c = open_mode(cp, PT_CASSETTE_BYPASS, false);
	p = proxy(c, u.base);
	http(pt_cassette_proxy_port(p), "GET", "/a", NULL, &g);
	http(pt_cassette_proxy_port(p), "GET", "/a", NULL, &g);
	PT_ASSERT(strstr(g.body, "\"n\":2,") != NULL);
	PT_ASSERT_INT_EQ(atomic_load(&u.hits), 2);
	pt_cassette_proxy_stop(p);
	pt_cassette_free(c);
	upstream_stop(&u);
	PT_ASSERT_INT_EQ(access(cp, F_OK), -1);
}

PT_TEST(proxy_refuses_non_loopback_and_reports_upstream_errors)
{
	static struct upstream u;
	struct pt_cassette_proxy_opts po = { .upstream = "http://127.0.0.1:1",
					     .listen = "0.0.0.0:0" };
	struct pt_cassette *c;
	struct pt_cassette_proxy *p;
	struct got g;

	c = open_mode(pt_test_path("e.json"), PT_CASSETTE_RECORD, false);
	PT_ASSERT_ERR(pt_cassette_proxy_start(c, &po, &p), -EINVAL);
	po.listen = NULL;
	po.upstream = "ftp://127.0.0.1/";
	PT_ASSERT_ERR(pt_cassette_proxy_start(c, &po, &p), -EINVAL);
	/* an upstream that is not listening: 502, nothing recorded */
	upstream_start(&u);
	char base[64];
	snprintf(base, sizeof(base), "%s", u.base);
	upstream_stop(&u);
	p = proxy(c, base);
	http(pt_cassette_proxy_port(p), "GET", "/x", NULL, &g);
	PT_ASSERT_INT_EQ(g.status, 502);
	PT_ASSERT_STR_EQ(g.tag, "error");
	PT_ASSERT_UINT_EQ(pt_cassette_count(c), 0);
	pt_cassette_proxy_stop(p);
	pt_cassette_free(c);
}

PT_TEST(upstream_timeout_is_reported_and_nothing_recorded)
{
	static struct upstream u;
	struct pt_http_request req = { .method = "GET" };
	struct pt_http_response *resp = NULL;
	struct pt_cassette *c;
	long timeout = 300;
	char url[128];
	int rel[2];

	PT_ASSERT_OK(pipe(rel));
	u.release_fd = rel[0];
	upstream_start(&u);
	snprintf(url, sizeof(url), "%s/slow", u.base);
	req.url = url;
	PT_ASSERT_OK(pt_http_response_new(&resp));
	PT_ASSERT_ERR(pt_cassette_forward_curl(&timeout, &req, resp),
		      -ETIMEDOUT);
	pt_http_response_free(resp);
	resp = NULL;
	c = open_mode(pt_test_path("t.json"), PT_CASSETTE_RECORD, false);
	PT_ASSERT_ERR(pt_cassette_play(c, &req, pt_cassette_forward_curl,
				       &timeout, NULL, &resp),
		      -ETIMEDOUT);
	PT_ASSERT_NULL(resp);
	PT_ASSERT_UINT_EQ(pt_cassette_count(c), 0);
	pt_cassette_free(c);
	/* release the held requests, then stop */
	PT_ASSERT_INT_EQ(write(rel[1], "x", 1), 1);
	upstream_stop(&u);
	close(rel[0]);
	close(rel[1]);
}

/* Sends raw bytes to 127.0.0.1:port and reads the answer until the server
 * closes (10 s deadline); the answer's first line goes to out. */
static void raw_http(int port, const char *text, char *out, size_t outsz)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	char buf[4096];
	size_t len = 0;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	PT_ASSERT_INT_GE(fd, 0);
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	PT_ASSERT_OK(connect(fd, (struct sockaddr *)&sa, sizeof(sa)));
	PT_ASSERT_INT_EQ(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	for (;;) {
		ssize_t n;

		PT_ASSERT(pt_test_wait_fd(fd, POLLIN, 10000));
		n = read(fd, buf + len, sizeof(buf) - 1 - len);
		PT_ASSERT_INT_GE(n, 0);
		if (n == 0 || len + (size_t)n == sizeof(buf) - 1)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	snprintf(out, outsz, "%.*s", (int)strcspn(buf, "\r\n"), buf);
	close(fd);
}

PT_TEST(proxy_refuses_targets_that_are_not_a_path)
{
	static struct upstream u, evil;
	struct pt_cassette *c;
	struct pt_cassette_proxy *p;
	char req[256], line[128];
	const char *targets[] = { "@127.0.0.1:%d/x", "http://127.0.0.1:%d/x",
				  "*", "x" };

	upstream_start(&u);
	upstream_start(&evil);
	c = open_mode(pt_test_path("at.json"), PT_CASSETTE_RECORD, false);
	p = proxy(c, u.base);
	for (size_t i = 0; i < PT_ARRAY_SIZE(targets); i++) {
		char t[64];

		snprintf(t, sizeof(t), targets[i], evil.port);
		snprintf(req, sizeof(req),
			 "GET %s HTTP/1.1\r\nHost: a\r\n"
			 "Connection: close\r\n\r\n",
			 t);
		raw_http(pt_cassette_proxy_port(p), req, line, sizeof(line));
		PT_ASSERT_STR_EQ(line, "HTTP/1.1 400 Bad Request");
	}
	PT_ASSERT_INT_EQ(atomic_load(&evil.hits), 0);
	PT_ASSERT_INT_EQ(atomic_load(&u.hits), 0);
	PT_ASSERT_UINT_EQ(pt_cassette_count(c), 0);
	/* a path is forwarded to the upstream, whatever it looks like */
	raw_http(pt_cassette_proxy_port(p),
		 "GET //127.0.0.1/y?q=1 HTTP/1.1\r\nHost: a\r\n"
		 "Connection: close\r\n\r\n",
		 line, sizeof(line));
	PT_ASSERT_STR_EQ(line, "HTTP/1.1 200 OK");
	PT_ASSERT_INT_EQ(atomic_load(&u.hits), 1);
	PT_ASSERT_INT_EQ(atomic_load(&evil.hits), 0);
	pt_cassette_proxy_stop(p);
	pt_cassette_free(c);
	upstream_stop(&u);
	upstream_stop(&evil);
}

PT_TEST(proxy_upstream_is_parsed_once_with_its_path_prefix)
{
	static struct upstream u;
	struct pt_cassette_proxy_opts po = { .listen = "127.0.0.1:0" };
	const char *bad[] = { "ftp://127.0.0.1/", "http://u:p@127.0.0.1/",
			      "http://127.0.0.1/?q", "http://127.0.0.1/#f",
			      "not a url" };
	struct pt_cassette *c;
	struct pt_cassette_proxy *p;
	char base[128];
	struct got g;

	c = open_mode(pt_test_path("pre.json"), PT_CASSETTE_RECORD, false);
	for (size_t i = 0; i < PT_ARRAY_SIZE(bad); i++) {
		po.upstream = bad[i];
		PT_ASSERT_ERR(pt_cassette_proxy_start(c, &po, &p), -EINVAL);
	}
	upstream_start(&u);
	snprintf(base, sizeof(base), "%s/api/", u.base);
	p = proxy(c, base);
	http(pt_cassette_proxy_port(p), "GET", "/v1?id=3", NULL, &g);
	PT_ASSERT_INT_EQ(g.status, 200);
	PT_ASSERT(strstr(g.body, "\"path\":\"/api/v1\",\"id\":\"3\"") != NULL);
	pt_cassette_proxy_stop(p);
	pt_cassette_free(c);
	upstream_stop(&u);
}

/* Runs a program found in PATH that must succeed; stdout into out. */
static void run_client(const char *const *argv, char *out, size_t outsz)
{
	PT_ASSERT_INT_EQ(run_capture(argv, true, out, outsz), 0);
}

/* What curl and Python see of GET /cookies and HEAD /items, reduced to
 * the lines that must be replayed as recorded. */
static void curl_client(int port, char *out, size_t outsz)
{
	char u1[64], u2[64], a[2048], b[1024];
	const char *get[] = { "curl", "-s", "-i", u1, NULL };
	const char *head[] = { "curl", "-s", "-I", u2, NULL };
	struct pt_buf keep = PT_BUF_INIT;

	snprintf(u1, sizeof(u1), "http://127.0.0.1:%d/cookies", port);
	snprintf(u2, sizeof(u2), "http://127.0.0.1:%d/items", port);
	run_client(get, a, sizeof(a));
	run_client(head, b, sizeof(b));
	/* status line, Content-Length, Set-Cookie (in their order), body,
	 * whatever the order of the header names; not Date */
	static const char *const kinds[] = { "HTTP/", "content-length",
					     "set-cookie", "{" };
	for (size_t k = 0; k < PT_ARRAY_SIZE(kinds); k++)
		for (char *l = a, *e; *l; l = e + (*e != '\0')) {
			e = l + strcspn(l, "\n");
			if (!strncasecmp(l, kinds[k], strlen(kinds[k])))
				pt__buf_addf(&keep, "%.*s\n",
					     (int)strcspn(l, "\r\n"), l);
		}
	for (size_t k = 0; k < 2; k++)
		for (char *l = b, *e; *l; l = e + (*e != '\0')) {
			e = l + strcspn(l, "\n");
			if (!strncasecmp(l, kinds[k], strlen(kinds[k])))
				pt__buf_addf(&keep, "HEAD %.*s\n",
					     (int)strcspn(l, "\r\n"), l);
		}
	snprintf(out, outsz, "%s", keep.s ? keep.s : "");
	pt__buf_release(&keep);
}

static const char py_client_src[] =
	"import http.client, sys, urllib.request\n"
	"port = int(sys.argv[1])\n"
	"r = urllib.request.urlopen('http://127.0.0.1:%d/cookies' % port)\n"
	"print(r.status, r.headers.get_all('Set-Cookie'))\n"
	"print(repr(r.read()))\n"
	"c = http.client.HTTPConnection('127.0.0.1', port)\n"
	"c.request('HEAD', '/items')\n"
	"h = c.getresponse()\n"
	"print('HEAD', h.status, h.getheader('Content-Length'), h.read())\n";

static void py_client(int port, char *out, size_t outsz)
{
	char ps[16];
	const char *argv[] = { "python3", "-c", py_client_src, ps, NULL };

	snprintf(ps, sizeof(ps), "%d", port);
	run_client(argv, out, outsz);
}

/* Clients of other languages record and replay through the proxy: two
 * Set-Cookie stay two, a HEAD keeps its Content-Length, JSON its bytes. */
PT_TEST(curl_and_python_record_and_replay_through_the_proxy)
{
	static const char want_curl[] = "HTTP/1.1 200 OK\n"
					"Content-Length: 20\n"
					"Set-Cookie: a=1; Path=/\n"
					"Set-Cookie: b=2\n"
					"{\"z\": 1, \"a\": 1.50}\n"
					"HEAD HTTP/1.1 200 OK\n"
					"HEAD Content-Length: 60\n";
	static const char want_py[] = "200 ['a=1; Path=/', 'b=2']\n"
				      "b'{\"z\": 1, \"a\": 1.50}\\n'\n"
				      "HEAD 200 60 b''\n";
	void (*clients[])(int, char *, size_t) = { curl_client, py_client };
	const char *wants[] = { want_curl, want_py };

	for (size_t k = 0; k < 2; k++) {
		static struct upstream u;
		const char *cp = pt_test_path(k ? "py.json" : "curl.json");
		struct pt_cassette *c;
		struct pt_cassette_proxy *p;
		char got[2048];

		upstream_start(&u);
		c = open_mode(cp, PT_CASSETTE_RECORD, false);
		p = proxy(c, u.base);
		clients[k](pt_cassette_proxy_port(p), got, sizeof(got));
		PT_ASSERT_STR_EQ(got, wants[k]);
		PT_ASSERT_INT_EQ(atomic_load(&u.hits), 2);
		pt_cassette_proxy_stop(p);
		pt_cassette_free(c);
		upstream_stop(&u);

		c = open_mode(cp, PT_CASSETTE_REPLAY, false);
		p = proxy(c, u.base);
		clients[k](pt_cassette_proxy_port(p), got, sizeof(got));
		PT_ASSERT_STR_EQ(got, wants[k]);
		pt_cassette_proxy_stop(p);
		pt_cassette_free(c);
	}
}

/* With the client headers left out of the match (the CLI's default), a
 * cassette recorded with curl replays for Python; comparing every header,
 * it does not. */
PT_TEST(a_cassette_recorded_with_curl_replays_for_python)
{
	static struct upstream u;
	const char *cp = pt_test_path("cross.json");
	struct pt_cassette_opts o = PT_CASSETTE_OPTS_INIT;
	struct pt_cassette *c;
	struct pt_cassette_proxy *p;
	char got[2048];

	upstream_start(&u);
	o.match_ignore_headers = pt_cassette_client_headers;
	PT_ASSERT_OK(pt_cassette_open(cp, &o, NULL, &c));
	p = proxy(c, u.base);
	curl_client(pt_cassette_proxy_port(p), got, sizeof(got));
	pt_cassette_proxy_stop(p);
	pt_cassette_free(c);
	upstream_stop(&u);
	PT_ASSERT_INT_EQ(atomic_load(&u.hits), 2);

	o.mode = PT_CASSETTE_REPLAY;
	PT_ASSERT_OK(pt_cassette_open(cp, &o, NULL, &c));
	p = proxy(c, u.base);
	py_client(pt_cassette_proxy_port(p), got, sizeof(got));
	PT_ASSERT_STR_EQ(got, "200 ['a=1; Path=/', 'b=2']\n"
			      "b'{\"z\": 1, \"a\": 1.50}\\n'\n"
			      "HEAD 200 60 b''\n");
	pt_cassette_proxy_stop(p);
	pt_cassette_free(c);

	/* every header compared: User-Agent differs */
	o.match_ignore_headers = NULL;
	PT_ASSERT_OK(pt_cassette_open(cp, &o, NULL, &c));
	{
		struct pt_http_header h[] = { { "User-Agent", "Python" } };
		char url[128];

		snprintf(url, sizeof(url), "%s/cookies", u.base);
		PT_ASSERT_ERR(play_req(c, NULL, "GET", url, h, 1, NULL, NULL,
				       NULL, 0),
			      PT_ENOMATCH);
		PT_ASSERT_ERR(play_req(c, NULL, "GET", url, NULL, 0, NULL, NULL,
				       NULL, 0),
			      PT_ENOMATCH);
	}
	pt_cassette_free(c);
}

/* A replay miss answers the configured status (599 by default, never
 * mistaken for a recorded 500); limits answer before the upstream sees
 * the request. */
PT_TEST(proxy_miss_status_and_limits)
{
	static struct upstream u;
	struct pt_cassette_proxy_opts po = { .listen = "127.0.0.1:0" };
	struct pt_cassette_opts o = PT_CASSETTE_OPTS_INIT;
	const char *cp = pt_test_path("lim.json");
	struct pt_cassette *c;
	struct pt_cassette_proxy *p;
	static char req[8192];
	char line[128];
	struct got g;
	size_t n;

	upstream_start(&u);
	po.upstream = u.base;
	o.max_interactions = 1;
	PT_ASSERT_OK(pt_cassette_open(cp, &o, NULL, &c));
	po.max_headers = 4;
	po.max_body = 8;
	PT_ASSERT_OK(pt_cassette_proxy_start(c, &po, &p));
	/* curl sends Host, User-Agent, Content-Type and more: 5 > 4 */
	n = (size_t)snprintf(req, sizeof(req),
			     "GET /h HTTP/1.1\r\nHost: a\r\nConnection: close"
			     "\r\n");
	for (int i = 0; i < 5; i++)
		n += (size_t)snprintf(req + n, sizeof(req) - n, "X-%d: v\r\n",
				      i);
	snprintf(req + n, sizeof(req) - n, "\r\n");
	raw_http(pt_cassette_proxy_port(p), req, line, sizeof(line));
	PT_ASSERT_STR_EQ(line, "HTTP/1.1 431 Request Header Fields Too Large");
	raw_http(pt_cassette_proxy_port(p),
		 "POST /b HTTP/1.1\r\nHost: a\r\nConnection: close\r\n"
		 "Content-Length: 9\r\n\r\n123456789",
		 line, sizeof(line));
	PT_ASSERT_STR_EQ(line, "HTTP/1.1 413 Content Too Large");
	PT_ASSERT_INT_EQ(atomic_load(&u.hits), 0);
	/* the request line and headers over --max-header-bytes */
	pt_cassette_proxy_stop(p);
	po.max_header_bytes = 4096;
	PT_ASSERT_OK(pt_cassette_proxy_start(c, &po, &p));
	n = (size_t)snprintf(req, sizeof(req),
			     "GET /hb HTTP/1.1\r\nHost: a\r\nConnection: "
			     "close\r\nX-Big: ");
	memset(req + n, 'b', 5000);
	snprintf(req + n + 5000, sizeof(req) - n - 5000, "\r\n\r\n");
	raw_http(pt_cassette_proxy_port(p), req, line, sizeof(line));
	PT_ASSERT_STR_EQ(line, "HTTP/1.1 431 Request Header Fields Too Large");
	PT_ASSERT_INT_EQ(atomic_load(&u.hits), 0);
	/* an upstream response over the body limit: 502 */
	http(pt_cassette_proxy_port(p), "GET", "/big", NULL, &g);
	PT_ASSERT_INT_EQ(g.status, 502);
	PT_ASSERT_STR_EQ(g.tag, "limit");
	PT_ASSERT_UINT_EQ(pt_cassette_count(c), 0);
	pt_cassette_proxy_stop(p);
	po.max_body = 0;
	PT_ASSERT_OK(pt_cassette_proxy_start(c, &po, &p));
	/* one interaction recorded, the next would be over the limit */
	http(pt_cassette_proxy_port(p), "GET", "/one", NULL, &g);
	PT_ASSERT_INT_EQ(g.status, 200);
	http(pt_cassette_proxy_port(p), "GET", "/two", NULL, &g);
	PT_ASSERT_INT_EQ(g.status, 507);
	PT_ASSERT_STR_EQ(g.tag, "limit");
	PT_ASSERT(strstr(g.body, "request not sent") != NULL);
	PT_ASSERT_INT_EQ(atomic_load(&u.hits), 2);
	pt_cassette_proxy_stop(p);
	pt_cassette_free(c);
	upstream_stop(&u);

	/* misses: 599 by default, or the status asked for */
	o = (struct pt_cassette_opts)PT_CASSETTE_OPTS_INIT;
	o.mode = PT_CASSETTE_REPLAY;
	PT_ASSERT_OK(pt_cassette_open(cp, &o, NULL, &c));
	po = (struct pt_cassette_proxy_opts){ .upstream = u.base };
	PT_ASSERT_OK(pt_cassette_proxy_start(c, &po, &p));
	http(pt_cassette_proxy_port(p), "GET", "/nope", NULL, &g);
	PT_ASSERT_INT_EQ(g.status, 599);
	PT_ASSERT_STR_EQ(g.tag, "no-match");
	pt_cassette_proxy_stop(p);
	po.miss_status = 404;
	PT_ASSERT_OK(pt_cassette_proxy_start(c, &po, &p));
	http(pt_cassette_proxy_port(p), "GET", "/nope", NULL, &g);
	PT_ASSERT_INT_EQ(g.status, 404);
	PT_ASSERT_STR_EQ(g.tag, "no-match");
	pt_cassette_proxy_stop(p);
	po.miss_status = 1000;
	PT_ASSERT_ERR(pt_cassette_proxy_start(c, &po, &p), -EINVAL);
	/* one connection at a time: a second client waits for the first */
	po.miss_status = 0;
	po.max_connections = 1;
	PT_ASSERT_OK(pt_cassette_proxy_start(c, &po, &p));
	{
		static const char get[] = "GET /nope HTTP/1.1\r\nHost: a\r\n"
					  "Connection: close\r\n\r\n";
		struct sockaddr_in sa = { .sin_family = AF_INET };
		int fd[2];
		char buf[64];

		sa.sin_port = htons((uint16_t)pt_cassette_proxy_port(p));
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		for (int i = 0; i < 2; i++) {
			fd[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
			PT_ASSERT_OK(connect(fd[i], (struct sockaddr *)&sa,
					     sizeof(sa)));
		}
		PT_ASSERT_INT_EQ(write(fd[1], get, strlen(get)),
				 (ssize_t)strlen(get));
		/* not served while the first holds the only connection */
		PT_ASSERT(!pt_test_wait_fd(fd[1], POLLIN, 300));
		close(fd[0]);
		PT_ASSERT(pt_test_wait_fd(fd[1], POLLIN, 10000));
		PT_ASSERT_INT_GT(read(fd[1], buf, sizeof(buf) - 1), 12);
		PT_ASSERT_MEM_EQ(buf, "HTTP/1.1 599", 12);
		close(fd[1]);
	}
	pt_cassette_proxy_stop(p);
	pt_cassette_free(c);
}

struct conc {
	int port;
	int i;
	pthread_barrier_t *go;
	struct got g;
};

static void *conc_main(void *arg)
{
	struct conc *k = arg;
	char path[32];

	snprintf(path, sizeof(path), "/r/%d?id=%d", k->i, k->i);
	pthread_barrier_wait(k->go);
	http(k->port, "GET", path, NULL, &k->g);
	return NULL;
}

/* Recorded one request after the other, replayed by 100 concurrent
 * clients: with per-path streams every request finds its interaction
 * (the order within each stream is kept; between streams it is free). */
PT_TEST(per_path_sequential_replays_100_concurrent_clients)
{
	static struct upstream u;
	static struct conc k[100];
	const char *cp = pt_test_path("conc.json");
	struct pt_cassette_opts o = PT_CASSETTE_OPTS_INIT;
	struct pt_cassette *c;
	struct pt_cassette_proxy *p;
	pthread_barrier_t go;
	pthread_t t[100];
	char path[32], want[64];
	struct got g;

	upstream_start(&u);
	o.per_path = true;
	PT_ASSERT_OK(pt_cassette_open(cp, &o, NULL, &c));
	p = proxy(c, u.base);
	for (int i = 0; i < 100; i++) {
		snprintf(path, sizeof(path), "/r/%d?id=%d", i, i);
		http(pt_cassette_proxy_port(p), "GET", path, NULL, &g);
		PT_ASSERT_INT_EQ(g.status, 200);
	}
	pt_cassette_proxy_stop(p);
	pt_cassette_free(c);
	upstream_stop(&u);

	o.mode = PT_CASSETTE_REPLAY;
	PT_ASSERT_OK(pt_cassette_open(cp, &o, NULL, &c));
	p = proxy(c, u.base);
	/* all at once, started in the reverse order of the recording */
	PT_ASSERT_OK(pthread_barrier_init(&go, NULL, 100));
	for (int i = 0; i < 100; i++) {
		k[i] = (struct conc){ .port = pt_cassette_proxy_port(p),
				      .i = 99 - i,
				      .go = &go };
		PT_ASSERT_OK(pthread_create(&t[i], NULL, conc_main, &k[i]));
	}
	for (int i = 0; i < 100; i++) {
		PT_ASSERT_OK(pthread_join(t[i], NULL));
		PT_ASSERT_INT_EQ(k[i].g.status, 200);
		snprintf(want, sizeof(want), "\"path\":\"/r/%d\",\"id\":\"%d\"",
			 k[i].i, k[i].i);
		PT_ASSERT(strstr(k[i].g.body, want) != NULL);
	}
	pthread_barrier_destroy(&go);
	pt_cassette_proxy_stop(p);
	pt_cassette_free(c);
}

/* The same recording replayed in another interleaving: one global index
 * misses at once; per-path streams replay each path in its order. */
PT_TEST(per_path_streams_keep_their_own_order)
{
	struct pt_cassette_opts o = PT_CASSETTE_OPTS_INIT;
	const char *p = pt_test_path("streams.json");
	struct pt_diags *d;
	struct fake f = { 0 };
	struct pt_cassette *c;
	char b[256];

	o.sequential = true;
	PT_ASSERT_OK(pt_cassette_open(p, &o, NULL, &c));
	/* a1 b2 a3 b4: n is the upstream's call count */
	for (int i = 0; i < 4; i++)
		PT_ASSERT_OK(play_req(c, &f, "GET",
				      i % 2 ? "http://t/b" : "http://t/a", NULL,
				      0, NULL, NULL, NULL, 0));
	pt_cassette_free(c);
	o.mode = PT_CASSETTE_REPLAY;
	PT_ASSERT_OK(pt_cassette_open(p, &o, NULL, &c));
	PT_ASSERT_ERR(play_req(c, NULL, "GET", "http://t/b", NULL, 0, NULL,
			       NULL, NULL, 0),
		      PT_ENOMATCH);
	pt_cassette_free(c);
	o.per_path = true;
	PT_ASSERT_OK(pt_cassette_open(p, &o, NULL, &c));
	static const char *const order[][2] = {
		{ "http://t/b", "\"n\":2," },
		{ "http://t/b", "\"n\":4," },
		{ "http://t/a", "\"n\":1," },
		{ "http://t/a", "\"n\":3," },
	};
	for (size_t i = 0; i < PT_ARRAY_SIZE(order); i++) {
		PT_ASSERT_OK(play_req(c, NULL, "GET", order[i][0], NULL, 0,
				      NULL, NULL, b, sizeof(b)));
		PT_ASSERT(strstr(b, order[i][1]) != NULL);
	}
	PT_ASSERT_OK(pt_diags_new(&d));
	PT_ASSERT_ERR(play_req(c, NULL, "GET", "http://t/a", NULL, 0, NULL, d,
			       NULL, 0),
		      PT_ENOMATCH);
	PT_ASSERT_STR_EQ(last_diag(d)->message,
			 "no matching interaction for GET http://t/a: request "
			 "3 of its (method, uri) stream, which has 2 recorded");
	pt_diags_free(d);
	pt_cassette_free(c);
}
