/* `proctor cassette show|serve` as subprocesses (the built tool). */
#include "common.h"

#include <curl/curl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>

static const char cassette_doc[] =
	"{\"version\": \"2.0\", \"interactions\": [\n"
	" {\"request\": {\"method\": \"GET\", \"uri\": \"http://127.0.0.1:9/a\","
	"  \"query_string\": \"x=1\", \"headers\": {}, \"body_type\": \"text\","
	"  \"body\": \"\"},\n"
	"  \"response\": {\"status\": 200, \"headers\": {\"content-type\":"
	"  [\"text/plain\"]}, \"body_type\": \"text\", \"body\": \"first\"},"
	"  \"recorded_at\": \"2025-10-16T14:23:45.123456Z\"},\n"
	" {\"request\": {\"method\": \"GET\", \"uri\": \"http://127.0.0.1:9/a\","
	"  \"query_string\": \"x=1\", \"headers\": {}, \"body_type\": \"text\","
	"  \"body\": \"\"},\n"
	"  \"response\": {\"status\": 202, \"headers\": {}, \"body_type\": "
	"\"blob\", \"body_blob\": \"AAE=\"}}]}\n";

static const char *tool(void)
{
	static char path[4096];
	const char *b = getenv("PT_BUILDDIR");

	if (!b)
		pt_test_skip("PT_BUILDDIR is not set");
	snprintf(path, sizeof(path), "%s/src/tool/proctor", b);
	return path;
}

/* Runs the tool; returns its exit status, stdout into out. */
static int run(const char *const *argv, char *out, size_t outsz)
{
	return run_capture(argv, false, out, outsz);
}

PT_TEST(show_lists_interactions)
{
	const char *cp = pt_test_path("c.json");
	const char *argv[] = { tool(), "cassette", "show", cp, NULL };
	char out[4096], want[1024];

	spit(cp, cassette_doc);
	PT_ASSERT_INT_EQ(run(argv, out, sizeof(out)), 0);
	snprintf(want, sizeof(want),
		 "%s: 2 interactions\n"
		 "#0 GET http://127.0.0.1:9/a?x=1 -> 200 text 5 bytes at "
		 "2025-10-16T14:23:45.123456Z\n"
		 "#1 GET http://127.0.0.1:9/a?x=1 -> 202 blob 2 bytes\n",
		 cp);
	PT_ASSERT_STR_EQ(out, want);
	spit(cp, "{\"version\": 2");
	PT_ASSERT_INT_EQ(run(argv, out, sizeof(out)), 4);
	argv[3] = pt_test_path("missing.json");
	PT_ASSERT_INT_EQ(run(argv, out, sizeof(out)), 1);
}

PT_TEST(usage_errors_exit_2)
{
	const char *a1[] = { tool(),   "cassette", "serve",
			     "--mode", "record",   NULL };
	const char *a2[] = { tool(), "cassette", "nope", NULL };
	const char *a3[] = { tool(), "cassette", "serve", "--help", NULL };
	const char *a4[] = { tool(),
			     "cassette",
			     "serve",
			     "--cassette",
			     pt_test_path("t.json"),
			     "--mode",
			     "record",
			     "--upstream",
			     "http://127.0.0.1:9",
			     "--template-preset",
			     "bogus",
			     NULL };
	const char *a5[] = { tool(),
			     "cassette",
			     "serve",
			     "--cassette",
			     pt_test_path("t.json"),
			     "--mode",
			     "record",
			     "--upstream",
			     "http://127.0.0.1:9",
			     "--filter",
			     "a(b=x",
			     NULL };
	const char *a6[] = { tool(),
			     "cassette",
			     "serve",
			     "--cassette",
			     pt_test_path("t.json"),
			     "--mode",
			     "record",
			     "--upstream",
			     "http://127.0.0.1:9",
			     "--miss-status",
			     "99",
			     NULL };
	char out[4096];

	PT_ASSERT_INT_EQ(run(a6, out, sizeof(out)), 2);
	a6[9] = "--max-body";
	a6[10] = "0";
	PT_ASSERT_INT_EQ(run(a6, out, sizeof(out)), 2);
	a6[9] = "--max-headers";
	a6[10] = "12x";
	PT_ASSERT_INT_EQ(run(a6, out, sizeof(out)), 2);
	PT_ASSERT_INT_EQ(run(a4, out, sizeof(out)), 2);
	PT_ASSERT_INT_EQ(run(a5, out, sizeof(out)), 2);

	PT_ASSERT_INT_EQ(run(a1, out, sizeof(out)), 2);
	PT_ASSERT_INT_EQ(run(a2, out, sizeof(out)), 2);
	PT_ASSERT_INT_EQ(run(a3, out, sizeof(out)), 0);
	PT_ASSERT(strstr(out, "--upstream URL") != NULL);
}

static size_t sink(char *p, size_t size, size_t n, void *ctx)
{
	char *b = ctx;
	size_t len = strlen(b), k = size * n;

	snprintf(b + len, 256 - len, "%.*s", (int)k, p);
	return k;
}

static long get(int port, const char *path, char *body)
{
	char url[128];
	long status = 0;
	CURL *h = curl_easy_init();

	body[0] = '\0';
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, body);
	/* the default Accept and User-Agent are not in the cassette */
	curl_easy_setopt(h, CURLOPT_USERAGENT, NULL);
	struct curl_slist *hl = curl_slist_append(NULL, "Accept:");
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
	if (curl_easy_perform(h) != CURLE_OK)
		PT_FAIL("GET %s failed", url);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(hl);
	curl_easy_cleanup(h);
	return status;
}

/* The defaults, then --per-path with --miss-status 404: the same
 * sequence, a miss answering the status asked for. */
PT_TEST(serve_replays_sequentially_and_stops_on_sigterm)
{
	const char *cp = pt_test_path("c.json");
	const char *argv[] = { tool(),
			       "cassette",
			       "serve",
			       "--cassette",
			       cp,
			       "--mode",
			       "replay",
			       "--upstream",
			       "http://127.0.0.1:9",
			       "--listen",
			       "127.0.0.1:0",
			       NULL,
			       NULL,
			       NULL,
			       NULL };
	static const int miss[] = { 599, 404 };

	spit(cp, cassette_doc);
	for (int round = 0; round < 2; round++) {
		struct pt_spawn s = { .argv = argv, .fd_in = -1, .fd_err = -2 };
		char line[256] = "", body[256];
		int p[2], pidfd, st, port = 0;
		size_t n = 0;
		pid_t pid;

		if (round == 1) {
			argv[11] = "--per-path";
			argv[12] = "--miss-status";
			argv[13] = "404";
		}
		PT_ASSERT_OK(pipe(p));
		s.fd_out = p[1];
		PT_ASSERT_OK(pt__spawn(&s, &pid, &pidfd));
		close(p[1]);
		while (!strchr(line, '\n')) {
			ssize_t k;

			PT_ASSERT(pt_test_wait_fd(p[0], POLLIN, 10000));
			k = read(p[0], line + n, sizeof(line) - 1 - n);
			PT_ASSERT_INT_GT(k, 0);
			n += (size_t)k;
			line[n] = '\0';
		}
		PT_ASSERT_INT_EQ(
			sscanf(line, "listening on http://127.0.0.1:%d", &port),
			1);
		PT_ASSERT_INT_EQ(get(port, "/a?x=1", body), 200);
		PT_ASSERT_STR_EQ(body, "first");
		PT_ASSERT_INT_EQ(get(port, "/a?x=1", body), 202);
		PT_ASSERT_INT_EQ(get(port, "/a?x=1", body), miss[round]);
		PT_ASSERT(strstr(body, round ? "request 3 of its (method, "
					       "uri) stream, which has 2"
					     : "past the end") != NULL);
		PT_ASSERT_OK(kill(pid, SIGTERM));
		PT_ASSERT_OK(pt__proc_wait(pid, pidfd, 10000, &st));
		PT_ASSERT(WIFEXITED(st));
		PT_ASSERT_INT_EQ(WEXITSTATUS(st), 0);
		close(pidfd);
		close(p[0]);
	}
}
