/* Helpers shared by the cassette tests. */
#ifndef PT_TESTS_CASSETTE_COMMON_H
#define PT_TESTS_CASSETTE_COMMON_H

#include "base/common.h"
#include "base/diag.h"
#include "cassette/internal.h"
#include "os/clock.h"
#include "os/file.h"
#include "os/proc.h"

#include <proctor/cassette.h>

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"

/* A fake upstream: counts calls, answers JSON {"method","n","url"}. */
struct fake {
	int calls;
	int status;
	const char *ctype; /* default application/json */
	const char *body;  /* fixed body instead of the JSON */
};

static inline int fake_fwd(void *ctx, const struct pt_http_request *req,
			   struct pt_http_response *resp)
{
	struct fake *f = ctx;
	char body[512];
	int r;

	f->calls++;
	resp->status = f->status ? f->status : 200;
	r = pt_http_response_add_header(
		resp, "content-type", f->ctype ? f->ctype : "application/json");
	if (r < 0)
		return r;
	if (f->body)
		return pt_http_response_set_body(resp, f->body,
						 strlen(f->body));
	snprintf(body, sizeof(body),
		 "{\"url\":\"%s\",\"n\":%d,\"method\":\"%s\"}", req->url,
		 f->calls, req->method);
	return pt_http_response_set_body(resp, body, strlen(body));
}

/* Plays one request; returns the result, body copied into out. */
static inline int play_req(struct pt_cassette *c, struct fake *f,
			   const char *method, const char *url,
			   const struct pt_http_header *h, size_t nh,
			   const char *body, struct pt_diags *d, char *out,
			   size_t outsz)
{
	struct pt_http_request req = { .method = method,
				       .url = url,
				       .headers = h,
				       .n_headers = nh,
				       .body = body,
				       .body_len = body ? strlen(body) : 0 };
	struct pt_http_response *resp = NULL;
	int r = pt_cassette_play(c, &req, f ? fake_fwd : NULL, f, d, &resp);

	if (r == 0 && out)
		snprintf(out, outsz, "%.*s", (int)resp->body_len,
			 (const char *)resp->body);
	pt_http_response_free(resp);
	return r;
}

static inline int64_t fixed_clock(void *ctx, int which)
{
	(void)ctx;
	(void)which;
	return INT64_C(1700000000123456789);
}

static inline char *slurp(const char *path)
{
	char *s = NULL;
	size_t n;

	if (pt__read_file(path, 1 << 26, &s, &n) < 0)
		return NULL;
	return s;
}

static inline void spit(const char *path, const char *text)
{
	PT_ASSERT_OK(pt__write_file_atomic(path, text, strlen(text), 0644));
}

static inline const struct pt_diag *last_diag(struct pt_diags *d)
{
	size_t n = pt_diags_count(d);

	return n ? pt_diags_get(d, n - 1) : NULL;
}

/* Runs a program (search: found in PATH); returns its exit status
 * (128 + signal), its stdout into out. 10 s deadlines. */
static inline int run_capture(const char *const *argv, bool search, char *out,
			      size_t outsz)
{
	struct pt_spawn s = {
		.argv = argv, .fd_in = -1, .fd_err = -2, .search = search
	};
	int p[2], pidfd, st = -1;
	pid_t pid;
	size_t n = 0;

	PT_ASSERT_OK(pipe(p));
	s.fd_out = p[1];
	PT_ASSERT_OK(pt__spawn(&s, &pid, &pidfd));
	close(p[1]);
	for (;;) {
		ssize_t k;

		PT_ASSERT(pt_test_wait_fd(p[0], POLLIN, 10000));
		k = read(p[0], out + n, outsz - 1 - n);
		PT_ASSERT_INT_GE(k, 0);
		if (k == 0)
			break;
		n += (size_t)k;
	}
	out[n] = '\0';
	close(p[0]);
	PT_ASSERT_OK(pt__proc_wait(pid, pidfd, 10000, &st));
	close(pidfd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

#endif
