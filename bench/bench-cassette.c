/*
 * bench/bench-cassette.c - cassette lookups and shared-session
 * get-and-advance.
 *
 *  1. first-match lookups per second (pt_cassette_find: URL parsing,
 *     canonical request, indexed lookup) on a 10k-interaction cassette;
 *     target 1M/s;
 *  2. sequential get-and-advance per second with 2 processes sharing one
 *     session file (by key, and through a cassette's slot), against a
 *     bare atomic fetch-add on shared memory measured in the same run;
 *     target 25% of it.
 *
 * Prints "metric NAME VALUE UNIT" lines and the ratios.
 */
#define _DEFAULT_SOURCE 1 /* MAP_ANONYMOUS, mkdtemp */
#include "base/buf.h"
#include "base/common.h"
#include "cassette/internal.h"
#include "os/clock.h"
#include "os/file.h"

#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define N_INTERACTIONS 10000
#define N_LOOKUPS      2000000
#define N_ADVANCE      5000000

static double secs(int64_t ns)
{
	return (double)ns / 1e9;
}

static char *make_cassette(size_t *len)
{
	struct pt_buf b = PT_BUF_INIT;

	pt__buf_adds(&b, "{\"version\": \"2.0\", \"interactions\": [");
	for (int i = 0; i < N_INTERACTIONS; i++)
		pt__buf_addf(
			&b,
			"%s{\"request\": {\"method\": \"GET\", \"uri\": "
			"\"https://api.test/items/%d\", \"query_string\": "
			"\"page=1&sort=asc\", \"headers\": {\"accept\": "
			"[\"application/json\"]}, \"body_type\": \"text\", "
			"\"body\": \"\"}, \"response\": {\"status\": 200, "
			"\"headers\": {}, \"body_type\": \"json\", "
			"\"body_json\": {\"id\": %d}}}",
			i ? ",\n" : "", i, i);
	pt__buf_adds(&b, "]}\n");
	*len = b.len;
	return pt__buf_detach(&b, NULL);
}

/* CPU time of this process: the machine is shared, wall time is noisy. */
static int64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static double bench_lookups(double *ret_cpu)
{
	struct pt_cassette_opts o = PT_CASSETTE_OPTS_INIT;
	static const struct pt_http_header h[] = {
		{ "Accept", "application/json" },
	};
	struct pt_cassette *c;
	size_t len;
	char *text = make_cassette(&len);
	static char urls[1024][80];
	int64_t t0, t1, c0;
	long hits = 0;

	o.mode = PT_CASSETTE_REPLAY;
	if (pt__cassette_from_text("bench", text, len, &o, NULL, &c) < 0) {
		fprintf(stderr, "cannot load the cassette\n");
		exit(1);
	}
	for (int i = 0; i < 1024; i++)
		snprintf(urls[i], sizeof(urls[i]),
			 "https://api.test/items/%d?sort=asc&page=1",
			 (i * 7919) % N_INTERACTIONS);
	t0 = pt__now_ns();
	c0 = cpu_ns();
	for (int i = 0; i < N_LOOKUPS; i++) {
		struct pt_http_request r = { .method = "GET",
					     .url = urls[i & 1023],
					     .headers = h,
					     .n_headers = 1 };

		hits += pt_cassette_find(c, &r) >= 0;
	}
	t1 = pt__now_ns();
	*ret_cpu = N_LOOKUPS / secs(cpu_ns() - c0);
	if (hits != N_LOOKUPS) {
		fprintf(stderr, "lookups missed: %ld of %d\n", hits, N_LOOKUPS);
		exit(1);
	}
	pt_cassette_free(c);
	pt__free(text);
	return N_LOOKUPS / secs(t1 - t0);
}

enum kind { BARE, BY_KEY, BY_SLOT };

/* Two processes, n operations each; returns operations per second. */
static double two_procs(enum kind k, const char *shm_file,
			_Atomic uint64_t *bare)
{
	int go[2], ready[2];
	pid_t pid[2];
	int64_t t0, t1;
	char x;

	if (pipe(go) < 0 || pipe(ready) < 0)
		exit(1);
	for (int i = 0; i < 2; i++) {
		pid[i] = fork();
		if (pid[i] == 0) {
			struct pt_cassette_session *s = NULL;
			struct pt__slot *slot = NULL;

			close(go[1]);
			if (k != BARE) {
				if (pt_cassette_session_open_shared(shm_file,
								    &s) < 0)
					_exit(2);
				if (pt__session_acquire(s, "/bench/key.json",
							&slot) < 0)
					_exit(2);
			}
			if (write(ready[1], "r", 1) != 1)
				_exit(2);
			if (read(go[0], &x, 1) != 0)
				_exit(2);
			for (long n = 0; n < N_ADVANCE; n++) {
				if (k == BARE)
					atomic_fetch_add(bare, 1);
				else if (k == BY_SLOT)
					pt__slot_next(slot);
				else
					pt_cassette_session_next(
						s, "/bench/key.json");
			}
			_exit(0);
		}
	}
	close(go[0]);
	for (int i = 0; i < 2; i++)
		if (read(ready[0], &x, 1) != 1)
			exit(1);
	t0 = pt__now_ns();
	close(go[1]); /* both start now */
	for (int i = 0; i < 2; i++) {
		int st;

		waitpid(pid[i], &st, 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			fprintf(stderr, "child failed\n");
			exit(1);
		}
	}
	t1 = pt__now_ns();
	close(ready[0]);
	close(ready[1]);
	return 2.0 * N_ADVANCE / secs(t1 - t0);
}

/* ---- recording ------------------------------------------------------- */

#define REC_BODY 4000

static int rec_fwd(void *ctx, const struct pt_http_request *req,
		   struct pt_http_response *resp)
{
	static char body[REC_BODY + 1];

	(void)ctx;
	(void)req;
	if (!body[0])
		memset(body, 'x', REC_BODY);
	resp->status = 200;
	pt_http_response_add_header(resp, "content-type", "text/plain");
	return pt_http_response_set_body(resp, body, REC_BODY);
}

/*
 * Milliseconds per recorded interaction (a 4 kB response), best of
 * `count` records, into a cassette that already holds `prior`
 * interactions of the same size (written once beforehand).
 */
static double bench_record(const char *dir, int prior, int count,
			   size_t *ret_size)
{
	struct pt_cassette_opts o = PT_CASSETTE_OPTS_INIT;
	struct pt_http_request req = { .method = "GET" };
	struct pt_http_response *resp;
	struct pt_cassette *c;
	char path[128], url[64];
	double best = 1e30;
	struct stat st;

	snprintf(path, sizeof(path), "%s/rec-%d.json", dir, prior);
	o.max_bytes = (size_t)1 << 30;
	if (prior) {
		struct pt_buf b = PT_BUF_INIT;
		char *body = pt__malloc(REC_BODY + 1);

		memset(body, 'x', REC_BODY);
		body[REC_BODY] = '\0';
		pt__buf_adds(&b, "{\"interactions\": [");
		for (int i = 0; i < prior; i++)
			pt__buf_addf(
				&b,
				"%s{\"recorded_at\": \"x\", \"request\": "
				"{\"body\": \"\", \"body_type\": \"text\", "
				"\"headers\": {}, \"method\": \"GET\", "
				"\"query_string\": \"\", \"uri\": "
				"\"http://old.test/%d\"}, \"response\": "
				"{\"body\": \"%s\", \"body_type\": \"text\", "
				"\"headers\": {}, \"status\": 200}}",
				i ? ", " : "", i, body);
		pt__buf_adds(&b, "], \"version\": \"2.0\"}\n");
		pt__write_file_atomic(path, b.s, b.len, 0644);
		pt__buf_release(&b);
		pt__free(body);
	}
	if (pt_cassette_open(path, &o, NULL, &c) < 0)
		return -1;
	for (int i = 0; i < count; i++) {
		int64_t t0;
		double ms;

		snprintf(url, sizeof(url), "http://new.test/%d", i);
		req.url = url;
		t0 = pt__now_ns();
		if (pt_cassette_play(c, &req, rec_fwd, NULL, NULL, &resp) < 0)
			return -1;
		ms = (double)(pt__now_ns() - t0) / 1e6;
		best = ms < best ? ms : best;
		pt_http_response_free(resp);
	}
	pt_cassette_free(c);
	*ret_size = stat(path, &st) == 0 ? (size_t)st.st_size : 0;
	return best;
}

static int main_record(void)
{
	char dir[] = "/tmp/bench-cassette-XXXXXX";
	size_t small_size, big_size;
	double small, big;

	if (!mkdtemp(dir))
		return 1;
	small = bench_record(dir, 0, 10, &small_size);
	big = bench_record(dir, 10000, 10, &big_size);
	pt__rm_rf(dir);
	if (small < 0 || big < 0)
		return 1;
	printf("metric record_ms_small_cassette %.3f ms (%zu bytes)\n", small,
	       small_size);
	printf("metric record_ms_big_cassette %.3f ms (%zu bytes)\n", big,
	       big_size);
	printf("metric record_big_vs_small %.2f ratio\n", big / small);
	return 0;
}

int main(int argc, char **argv)
{
	char dir[] = "/tmp/bench-cassette-XXXXXX", file[64];
	_Atomic uint64_t *bare;
	struct pt_cassette_session *s;
	double lk, lkc, b, key, slot;

	if (argc > 1 && strcmp(argv[1], "--record") == 0)
		return main_record();
	/* best of three rounds */
	lk = lkc = 0;
	for (int round = 0; round < 3; round++) {
		double w, cpu;

		w = bench_lookups(&cpu);
		lk = w > lk ? w : lk;
		lkc = cpu > lkc ? cpu : lkc;
	}
	printf("metric cassette_lookup_10k_per_s %.0f ops/s\n", lk);
	printf("metric cassette_lookup_10k_per_cpu_s %.0f ops/s\n", lkc);
	printf("metric cassette_lookup_vs_target_1M %.2f ratio\n", lk / 1e6);
	printf("metric cassette_lookup_cpu_vs_target_1M %.2f ratio\n",
	       lkc / 1e6);
	if (argc > 1 && strcmp(argv[1], "--lookups") == 0)
		return 0;

	if (!mkdtemp(dir))
		return 1;
	snprintf(file, sizeof(file), "%s/session", dir);
	bare = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (bare == MAP_FAILED)
		return 1;
	/* the test holds the outermost use so the index never resets */
	if (pt_cassette_session_open_shared(file, &s) < 0 ||
	    pt_cassette_session_start(s, "/bench/key.json") < 0)
		return 1;
	b = two_procs(BARE, NULL, bare);
	slot = two_procs(BY_SLOT, file, NULL);
	key = two_procs(BY_KEY, file, NULL);
	if (pt_cassette_session_current(s, "/bench/key.json") !=
	    4 * N_ADVANCE) {
		fprintf(stderr, "lost increments\n");
		return 1;
	}
	printf("metric shm_fetch_add_2proc_per_s %.0f ops/s\n", b);
	printf("metric session_slot_next_2proc_per_s %.0f ops/s\n", slot);
	printf("metric session_next_by_key_2proc_per_s %.0f ops/s\n", key);
	printf("metric session_slot_vs_fetch_add %.2f ratio\n", slot / b);
	printf("metric session_key_vs_fetch_add %.2f ratio\n", key / b);
	pt_cassette_session_free(s);
	munmap(bare, 4096);
	pt__rm_rf(dir);
	return 0;
}
