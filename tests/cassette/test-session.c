/* Sessions: local and shared (threads, processes), nesting, and
 * concurrent recording from several processes. */
#include "common.h"
#include "os/fd.h"
#include "os/lock.h"

#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

PT_TEST(local_session_index_sequence)
{
	struct pt_cassette_session *s;

	PT_ASSERT_OK(pt_cassette_session_new(&s));
	PT_ASSERT_INT_EQ(pt_cassette_session_current(s, "k"), 0);
	PT_ASSERT_INT_EQ(pt_cassette_session_next(s, "k"), 0);
	PT_ASSERT_INT_EQ(pt_cassette_session_current(s, "k"), 1);
	PT_ASSERT_INT_EQ(pt_cassette_session_next(s, "k"), 1);
	PT_ASSERT_INT_EQ(pt_cassette_session_current(s, "k"), 2);
	PT_ASSERT_INT_EQ(pt_cassette_session_next(s, "other"), 0);
	/* start of an outermost use resets; nested start keeps */
	PT_ASSERT_OK(pt_cassette_session_start(s, "k"));
	PT_ASSERT_INT_EQ(pt_cassette_session_next(s, "k"), 0);
	PT_ASSERT_OK(pt_cassette_session_start(s, "k"));
	PT_ASSERT_INT_EQ(pt_cassette_session_next(s, "k"), 1);
	PT_ASSERT_OK(pt_cassette_session_end(s, "k"));
	PT_ASSERT_INT_EQ(pt_cassette_session_next(s, "k"), 2);
	PT_ASSERT_OK(pt_cassette_session_end(s, "k"));
	PT_ASSERT_OK(pt_cassette_session_end(s, "k")); /* extra end: no-op */
	PT_ASSERT_OK(pt_cassette_session_end(s, "never"));
	PT_ASSERT_OK(pt_cassette_session_start(s, "k"));
	PT_ASSERT_INT_EQ(pt_cassette_session_next(s, "k"), 0);
	pt_cassette_session_free(s);
}

/* n interactions "GET http://a.test/job" answering "i" (text). */
static const char *write_numbered(const char *name, int n)
{
	const char *p = pt_test_path(name);
	size_t cap = (size_t)n * 256 + 64, len = 0;
	char *t = pt__malloc(cap);

	PT_ASSERT_NOT_NULL(t);
	len += (size_t)snprintf(t + len, cap - len,
				"{\"version\": \"2.0\", \"interactions\": [");
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(
			t + len, cap - len,
			"%s{\"request\": {\"method\": \"GET\", \"uri\": "
			"\"http://a.test/job\", \"query_string\": \"\", "
			"\"headers\": {}, \"body_type\": \"text\", \"body\": "
			"\"\"}, \"response\": {\"status\": 200, \"headers\": "
			"{}, \"body_type\": \"text\", \"body\": \"%d\"}}",
			i ? ",\n" : "", i);
	len += (size_t)snprintf(t + len, cap - len, "]}\n");
	PT_ASSERT_OK(pt__write_file_atomic(p, t, len, 0644));
	pt__free(t);
	return p;
}

static struct pt_cassette *open_seq(const char *p,
				    struct pt_cassette_session *s)
{
	struct pt_cassette_opts o = PT_CASSETTE_OPTS_INIT;
	struct pt_cassette *c;

	o.mode = PT_CASSETTE_REPLAY;
	o.sequential = true;
	o.session = s;
	PT_ASSERT_OK(pt_cassette_open(p, &o, NULL, &c));
	return c;
}

static int next_body(struct pt_cassette *c)
{
	char b[64];
	int r = play_req(c, NULL, "GET", "http://a.test/job", NULL, 0, NULL,
			 NULL, b, sizeof(b));

	return r < 0 ? r : (int)strtol(b, NULL, 10);
}

PT_TEST(nested_cassette_keeps_counter_monotonic)
{
	const char *p = write_numbered("n.json", 10);
	struct pt_cassette_session *s;
	struct pt_cassette *outer, *inner;

	PT_ASSERT_OK(pt_cassette_session_new(&s));
	outer = open_seq(p, s);
	PT_ASSERT_INT_EQ(next_body(outer), 0);
	inner = open_seq(p, s);
	PT_ASSERT_INT_EQ(next_body(inner), 1);
	PT_ASSERT_INT_EQ(next_body(inner), 2);
	pt_cassette_free(inner);
	/* the parent index is not restored */
	PT_ASSERT_INT_EQ(next_body(outer), 3);
	pt_cassette_free(outer);
	/* a new top-level use of the same cassette starts again */
	outer = open_seq(p, s);
	PT_ASSERT_INT_EQ(next_body(outer), 0);
	pt_cassette_free(outer);
	pt_cassette_session_free(s);
}

/* Without a session, nested uses of one path in one process share the
 * process's default index (ReqCassette's local mode); another path has
 * its own, and the next outermost use starts again at 0. */
PT_TEST(without_session_nested_uses_share_the_process_index)
{
	const char *p = write_numbered("n.json", 4);
	const char *q = write_numbered("m.json", 2);
	struct pt_cassette *a = open_seq(p, NULL), *b = open_seq(p, NULL);
	struct pt_cassette *other = open_seq(q, NULL);

	PT_ASSERT_INT_EQ(next_body(a), 0);
	PT_ASSERT_INT_EQ(next_body(b), 1);
	PT_ASSERT_INT_EQ(next_body(other), 0);
	PT_ASSERT_INT_EQ(next_body(a), 2);
	pt_cassette_free(b);
	PT_ASSERT_INT_EQ(next_body(a), 3);
	pt_cassette_free(a);
	a = open_seq(p, NULL);
	PT_ASSERT_INT_EQ(next_body(a), 0);
	pt_cassette_free(a);
	pt_cassette_free(other);
}

struct thr {
	struct pt_cassette *c;
	int got[500];
};

static void *thread_main(void *arg)
{
	struct thr *t = arg;

	for (int i = 0; i < 500; i++)
		t->got[i] = next_body(t->c);
	return NULL;
}

PT_TEST(shared_cassette_across_threads_no_duplicates)
{
	const char *p = write_numbered("t.json", 2000);
	struct pt_cassette_session *s;
	struct pt_cassette *c;
	static struct thr t[4];
	pthread_t th[4];
	static unsigned char seen[2000];

	PT_ASSERT_OK(pt_cassette_session_new(&s));
	c = open_seq(p, s);
	for (int i = 0; i < 4; i++) {
		t[i].c = c;
		PT_ASSERT_INT_EQ(
			pthread_create(&th[i], NULL, thread_main, &t[i]), 0);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	memset(seen, 0, sizeof(seen));
	for (int i = 0; i < 4; i++)
		for (int k = 0; k < 500; k++) {
			PT_ASSERT_INT_GE(t[i].got[k], 0);
			PT_ASSERT_INT_LT(t[i].got[k], 2000);
			PT_ASSERT_INT_EQ(seen[t[i].got[k]], 0);
			seen[t[i].got[k]] = 1;
		}
	pt_cassette_free(c);
	pt_cassette_session_free(s);
}

/* ---- processes ---------------------------------------------------------- */

#define NPROC 8
#define PER   1000

/* Reads exactly n bytes from fd, waiting at most deadline_ms overall. */
static void read_all(int fd, void *buf, size_t n, int deadline_ms)
{
	int64_t end = pt__now_ns() + (int64_t)deadline_ms * 1000000;
	size_t got = 0;

	while (got < n) {
		int left = (int)((end - pt__now_ns()) / 1000000);
		ssize_t k;

		PT_ASSERT(left > 0);
		PT_ASSERT(pt_test_wait_fd(fd, POLLIN, left));
		k = read(fd, (char *)buf + got, n - got);
		PT_ASSERT_INT_GT(k, 0);
		got += (size_t)k;
	}
}

static void wait_children(pid_t *pid, int *pidfd, int n)
{
	for (int i = 0; i < n; i++) {
		int st = 0;

		/* without a pidfd (valgrind), the harness deadline bounds it */
		PT_ASSERT_OK(pt__proc_wait(pid[i], pidfd[i],
					   pidfd[i] >= 0 ? 20000 : -1, &st));
		PT_ASSERT(WIFEXITED(st));
		PT_ASSERT_INT_EQ(WEXITSTATUS(st), 0);
		if (pidfd[i] >= 0)
			close(pidfd[i]);
	}
}

PT_TEST_TIMEOUT(shared_session_8_processes_x_1000_no_dup_no_skip, 60)
{
	const char *p = write_numbered("big.json", NPROC * PER);
	const char *sf = pt_test_path("session.shm");
	struct pt_cassette_session *s;
	struct pt_cassette *c;
	static int32_t got[NPROC * PER];
	static unsigned char seen[NPROC * PER];
	pid_t pid[NPROC];
	int pidfd[NPROC], fds[2], go[2];
	char x;

	/* children first (they own nothing of the parent's), held on a
	 * pipe until the parent holds the top-level use of the cassette */
	PT_ASSERT_OK(pipe(fds));
	PT_ASSERT_OK(pipe(go));
	for (int i = 0; i < NPROC; i++) {
		pid[i] = fork();
		PT_ASSERT_INT_GE(pid[i], 0);
		if (pid[i] == 0) {
			/* each child maps the session file itself */
			struct pt_cassette_session *cs;
			struct pt_cassette *cc;
			int32_t v[PER];

			close(fds[0]);
			close(go[1]);
			if (read(go[0], &x, 1) != 0)
				_exit(5);
			if (pt_cassette_session_open_shared(sf, &cs) < 0)
				_exit(2);
			cc = open_seq(p, cs);
			for (int k = 0; k < PER; k++)
				v[k] = next_body(cc);
			if (write(fds[1], v, sizeof(v)) != (ssize_t)sizeof(v))
				_exit(3);
			pt_cassette_free(cc);
			pt_cassette_session_free(cs);
			_exit(0);
		}
	}
	/* pidfds after every fork: a child inherits nothing to free */
	for (int i = 0; i < NPROC; i++)
		pidfd[i] = pt__pidfd_open(pid[i]);
	PT_ASSERT_OK(pt_cassette_session_open_shared(sf, &s));
	c = open_seq(p, s); /* the test holds the top-level use */
	close(go[0]);
	close(go[1]); /* go */
	close(fds[1]);
	read_all(fds[0], got, sizeof(got), pt_test_scaled_ms(40000));
	close(fds[0]);
	wait_children(pid, pidfd, NPROC);
	memset(seen, 0, sizeof(seen));
	for (int i = 0; i < NPROC * PER; i++) {
		PT_ASSERT_INT_GE(got[i], 0);
		PT_ASSERT_INT_LT(got[i], NPROC * PER);
		if (seen[got[i]])
			PT_FAIL("index %d served twice", got[i]);
		seen[got[i]] = 1;
	}
	/* every index once, none skipped; the next one is past the end */
	PT_ASSERT_INT_EQ(pt_cassette_session_current(s, c->key), NPROC * PER);
	PT_ASSERT_ERR(next_body(c), PT_ENOMATCH);
	pt_cassette_free(c);
	pt_cassette_session_free(s);
}

PT_TEST(shared_session_file_checks)
{
	const char *sf = pt_test_path("x.shm");
	struct pt_cassette_session *s, *s2;

	spit(sf, "not a session file");
	PT_ASSERT_ERR(pt_cassette_session_open_shared(sf, &s), PT_EINCOMPAT);
	unlink(sf);
	PT_ASSERT_OK(pt_cassette_session_open_shared(sf, &s));
	PT_ASSERT_OK(pt_cassette_session_open_shared(sf, &s2));
	PT_ASSERT_INT_EQ(pt_cassette_session_next(s, "a"), 0);
	PT_ASSERT_INT_EQ(pt_cassette_session_next(s2, "a"), 1);
	PT_ASSERT_INT_EQ(pt_cassette_session_current(s, "a"), 2);
	pt_cassette_session_free(s);
	pt_cassette_session_free(s2);
	/* the state is in the file */
	PT_ASSERT_OK(pt_cassette_session_open_shared(sf, &s));
	PT_ASSERT_INT_EQ(pt_cassette_session_next(s, "a"), 2);
	pt_cassette_session_free(s);
}

PT_TEST(session_table_full_is_reported)
{
	struct pt_cassette_session *s;
	char key[32];
	int r = 0, i;

	PT_ASSERT_OK(pt_cassette_session_new(&s));
	for (i = 0; i < 1000 && r >= 0; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		r = (int)pt_cassette_session_next(s, key);
	}
	PT_ASSERT_ERR(r, PT_EFULL);
	PT_ASSERT_INT_EQ(i, 257);
	pt_cassette_session_free(s);
}

#define RPROC 4
#define RPER  25

PT_TEST_TIMEOUT(concurrent_recording_from_processes_loses_nothing, 60)
{
	const char *p = pt_test_path("shared/rec.json");
	struct pt_cassette_opts o = PT_CASSETTE_OPTS_INIT;
	struct pt_cassette *c;
	struct pt_http_request req = { .method = "GET" };
	pid_t pid[RPROC];
	int pidfd[RPROC], go[2];
	char url[64], one;

	/* the children start together: they block on a pipe until it closes */
	PT_ASSERT_OK(pipe(go));
	for (int i = 0; i < RPROC; i++) {
		pid[i] = fork();
		PT_ASSERT_INT_GE(pid[i], 0);
		if (pid[i] == 0) {
			struct fake f = { 0 };
			struct pt_cassette *cc;

			close(go[1]);
			if (read(go[0], &one, 1) != 0)
				_exit(4);
			if (pt_cassette_open(p, &o, NULL, &cc) < 0)
				_exit(2);
			for (int k = 0; k < RPER; k++) {
				snprintf(url, sizeof(url),
					 "http://a.test/p%d/%d", i, k);
				if (play_req(cc, &f, "GET", url, NULL, 0, NULL,
					     NULL, NULL, 0) < 0)
					_exit(3);
			}
			pt_cassette_free(cc);
			_exit(f.calls == RPER ? 0 : 5);
		}
	}
	for (int i = 0; i < RPROC; i++)
		pidfd[i] = pt__pidfd_open(pid[i]);
	close(go[0]);
	close(go[1]);
	/* readers meanwhile never see an append in progress */
	o.mode = PT_CASSETTE_REPLAY;
	for (size_t k = 0, last = 0; k < 200; k++) {
		struct pt_diags *d;
		int r;

		PT_ASSERT_OK(pt_diags_new(&d));
		r = pt_cassette_open(p, &o, d, &c);
		if (r == 0) {
			PT_ASSERT(pt_cassette_count(c) >= last);
			last = pt_cassette_count(c);
			pt_cassette_free(c);
		} else {
			PT_ASSERT_ERR(r, PT_ENOTFOUND); /* not yet created */
		}
		pt_diags_free(d);
	}
	wait_children(pid, pidfd, RPROC);
	PT_ASSERT_OK(pt_cassette_open(p, &o, NULL, &c));
	PT_ASSERT_UINT_EQ(pt_cassette_count(c), RPROC * RPER);
	/* appended in place, the file is still the canonical text */
	PT_ASSERT_OK(pt_cassette_save_as(c, pt_test_path("canon.json")));
	char *t1 = slurp(p), *t2 = slurp(pt_test_path("canon.json"));
	PT_ASSERT_STR_EQ(t1, t2);
	pt__free(t1);
	pt__free(t2);
	for (int i = 0; i < RPROC; i++)
		for (int k = 0; k < RPER; k++) {
			snprintf(url, sizeof(url), "http://a.test/p%d/%d", i,
				 k);
			req.url = url;
			PT_ASSERT_INT_GE(pt_cassette_find(c, &req), 0);
		}
	pt_cassette_free(c);
}

PT_TEST(nested_use_in_a_shared_session_is_monotonic)
{
	const char *p = write_numbered("ns.json", 10);
	struct pt_cassette_session *s;
	struct pt_cassette *outer, *inner;

	PT_ASSERT_OK(
		pt_cassette_session_open_shared(pt_test_path("s.shm"), &s));
	outer = open_seq(p, s);
	PT_ASSERT_INT_EQ(next_body(outer), 0);
	inner = open_seq(p, s);
	PT_ASSERT_INT_EQ(next_body(inner), 1);
	pt_cassette_free(inner);
	PT_ASSERT_INT_EQ(next_body(outer), 2);
	pt_cassette_free(outer);
	/* the same cassette used again in the same session starts at 0 */
	outer = open_seq(p, s);
	PT_ASSERT_INT_EQ(next_body(outer), 0);
	pt_cassette_free(outer);
	pt_cassette_session_free(s);
}

/* Parent and child take turns (a pipe each way): 0 parent, 1 child,
 * 2 parent, 3 child. */
PT_TEST(interleaved_parent_and_child_share_the_order)
{
	const char *p = write_numbered("il.json", 4);
	const char *sf = pt_test_path("il.shm");
	struct pt_cassette_session *s;
	struct pt_cassette *c;
	int to_child[2], to_parent[2], pidfd, st;
	int32_t v = 0;
	pid_t pid;

	PT_ASSERT_OK(pipe(to_child));
	PT_ASSERT_OK(pipe(to_parent));
	pid = fork(); /* before the parent opens anything */
	PT_ASSERT_INT_GE(pid, 0);
	if (pid == 0) {
		struct pt_cassette_session *cs = NULL;
		struct pt_cassette *cc = NULL;

		for (int k = 0; k < 2; k++) {
			if (read(to_child[0], &v, sizeof(v)) != sizeof(v))
				_exit(3);
			if (!cc) {
				if (pt_cassette_session_open_shared(sf, &cs) <
				    0)
					_exit(2);
				cc = open_seq(p, cs);
			}
			v = next_body(cc);
			if (write(to_parent[1], &v, sizeof(v)) != sizeof(v))
				_exit(4);
		}
		pt_cassette_free(cc);
		pt_cassette_session_free(cs);
		_exit(0);
	}
	pidfd = pt__pidfd_open(pid);
	PT_ASSERT_OK(pt_cassette_session_open_shared(sf, &s));
	c = open_seq(p, s);
	for (int k = 0; k < 2; k++) {
		PT_ASSERT_INT_EQ(next_body(c), 2 * k);
		PT_ASSERT_INT_EQ(write(to_child[1], &v, sizeof(v)), sizeof(v));
		read_all(to_parent[0], &v, sizeof(v), 10000);
		PT_ASSERT_INT_EQ(v, 2 * k + 1);
	}
	PT_ASSERT_OK(pt__proc_wait(pid, pidfd, pidfd >= 0 ? 10000 : -1, &st));
	PT_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	if (pidfd >= 0)
		close(pidfd);
	pt_cassette_free(c);
	pt_cassette_session_free(s);
}

/* Two recorders share a session and a cassette: each sees what the other
 * appended (a sequential index past the end re-reads the file). */
PT_TEST(sequential_recorders_sharing_a_session)
{
	struct pt_cassette_opts o = PT_CASSETTE_OPTS_INIT;
	const char *p = pt_test_path("sr.json");
	struct pt_cassette_session *s;
	struct pt_cassette *a, *b;
	struct fake fa = { 0 }, fb = { 0 };
	char out[256];

	PT_ASSERT_OK(pt_cassette_session_new(&s));
	o.sequential = true;
	o.session = s;
	PT_ASSERT_OK(pt_cassette_open(p, &o, NULL, &a));
	PT_ASSERT_OK(pt_cassette_open(p, &o, NULL, &b));
	PT_ASSERT_OK(play_req(a, &fa, "GET", "http://a.test/1", NULL, 0, NULL,
			      NULL, NULL, 0));
	PT_ASSERT_OK(play_req(b, &fb, "GET", "http://a.test/2", NULL, 0, NULL,
			      NULL, NULL, 0));
	PT_ASSERT_OK(play_req(a, &fa, "GET", "http://a.test/3", NULL, 0, NULL,
			      NULL, NULL, 0));
	PT_ASSERT_INT_EQ(fa.calls + fb.calls, 3);
	pt_cassette_free(a);
	pt_cassette_free(b);
	pt_cassette_session_free(s);

	o.mode = PT_CASSETTE_REPLAY;
	o.session = NULL;
	PT_ASSERT_OK(pt_cassette_open(p, &o, NULL, &a));
	PT_ASSERT_UINT_EQ(pt_cassette_count(a), 3);
	for (int i = 1; i <= 3; i++) {
		char url[64];

		snprintf(url, sizeof(url), "http://a.test/%d", i);
		PT_ASSERT_OK(play_req(a, NULL, "GET", url, NULL, 0, NULL, NULL,
				      out, sizeof(out)));
		PT_ASSERT(strstr(out, url) != NULL);
	}
	pt_cassette_free(a);
}

/* Open-file-description locks: two opens of one file in one process
 * exclude each other, and closing a third fd of the file does not drop
 * the holder's lock (both were wrong with fcntl's process locks). A wait
 * ends at its deadline. */
PT_TEST(file_locks_exclude_opens_of_one_process_with_a_deadline)
{
	const char *p = pt_test_path("lk");
	int a = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	int b = open(p, O_RDWR | O_CLOEXEC);
	int c = open(p, O_RDWR | O_CLOEXEC);
	int64_t t0;

	PT_ASSERT_INT_GE(a, 0);
	PT_ASSERT_OK(pt__lock_wait(a, PT_LOCK_EX, 1000));
	t0 = pt__now_ns();
	PT_ASSERT_ERR(pt__lock_wait(b, PT_LOCK_EX, 50), PT_ELOCKED);
	PT_ASSERT_INT_GE(pt__now_ns() - t0, 50 * 1000000);
	close(c);
	PT_ASSERT_ERR(pt__lock_wait(b, PT_LOCK_SH, 10), PT_ELOCKED);
	PT_ASSERT_OK(pt__lock_wait(a, PT_LOCK_UN, 10));
	PT_ASSERT_OK(pt__lock_wait(b, PT_LOCK_EX, 10));
	close(a);
	close(b);
}

/* A shared session whose lock another open holds: start gives up at the
 * deadline with PT_ELOCKED instead of waiting forever. */
PT_TEST(shared_session_lock_wait_has_a_deadline)
{
	const char *f = pt_test_path("s.session");
	struct pt_cassette_session *s;
	int fd;

	PT_ASSERT_OK(pt_cassette_session_open_shared(f, &s));
	fd = open(f, O_RDWR | O_CLOEXEC);
	PT_ASSERT_OK(pt__lock_wait(fd, PT_LOCK_EX, 1000));
	pt__session_set_lock_timeout(50);
	PT_ASSERT_ERR(pt_cassette_session_start(s, "/k"), PT_ELOCKED);
	close(fd);
	PT_ASSERT_INT_GT(pt_cassette_session_start(s, "/k"), 0);
	pt__session_set_lock_timeout(0);
	pt_cassette_session_free(s);
}

/* Slots are freed when the outermost use ends: far more keys than slots
 * come and go; 256 held at once is the limit. */
PT_TEST(session_slots_are_freed_and_reused)
{
	struct pt_cassette_session *s;
	char key[64];

	PT_ASSERT_OK(pt_cassette_session_new(&s));
	for (int i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "/c/%d.json", i);
		PT_ASSERT_INT_GT(pt_cassette_session_start(s, key), 0);
		PT_ASSERT_INT_EQ(pt_cassette_session_next(s, key), 0);
		PT_ASSERT_OK(pt_cassette_session_end(s, key));
		PT_ASSERT_INT_EQ(pt_cassette_session_current(s, key), 0);
	}
	for (int i = 0; i < 256; i++) {
		snprintf(key, sizeof(key), "/held/%d", i);
		PT_ASSERT_INT_GT(pt_cassette_session_start(s, key), 0);
	}
	PT_ASSERT_ERR(pt_cassette_session_start(s, "/one-more"), PT_EFULL);
	PT_ASSERT_OK(pt_cassette_session_end(s, "/held/7"));
	PT_ASSERT_INT_GT(pt_cassette_session_start(s, "/one-more"), 0);
	pt_cassette_session_free(s);
	/* keys are stored and compared in full: up to 3967 bytes */
	PT_ASSERT_OK(pt_cassette_session_new(&s));
	char *lk = pt__malloc(5000);
	PT_ASSERT_NOT_NULL(lk);
	memset(lk, 'x', 4999);
	lk[4999] = '\0';
	PT_ASSERT_ERR(pt_cassette_session_start(s, lk), -ENAMETOOLONG);
	lk[3968] = '\0';
	PT_ASSERT_ERR(pt_cassette_session_start(s, lk), -ENAMETOOLONG);
	lk[3967] = '\0';
	PT_ASSERT_INT_GT(pt_cassette_session_start(s, lk), 0);
	PT_ASSERT_INT_EQ(pt_cassette_session_next(s, lk), 0);
	lk[3966] = '\0'; /* a prefix is another key */
	PT_ASSERT_INT_EQ(pt_cassette_session_next(s, lk), 0);
	pt__free(lk);
	pt_cassette_session_free(s);
}

/* start returns the session's id (the same through every open of a
 * shared file); advance moves the index without reading it. */
PT_TEST(start_returns_the_session_id_and_advance_skips)
{
	const char *f = pt_test_path("id.session");
	struct pt_cassette_session *a, *b, *l;
	int64_t id;

	PT_ASSERT_OK(pt_cassette_session_open_shared(f, &a));
	PT_ASSERT_OK(pt_cassette_session_open_shared(f, &b));
	PT_ASSERT_OK(pt_cassette_session_new(&l));
	id = pt_cassette_session_start(a, "/k");
	PT_ASSERT_INT_GT(id, 0);
	PT_ASSERT_UINT_EQ((uint64_t)id, pt_cassette_session_id(a));
	PT_ASSERT_UINT_EQ(pt_cassette_session_id(b), pt_cassette_session_id(a));
	PT_ASSERT(pt_cassette_session_id(l) != pt_cassette_session_id(a));
	PT_ASSERT_INT_EQ(pt_cassette_session_start(b, "/k"), id);
	PT_ASSERT_OK(pt_cassette_session_advance(a, "/k"));
	PT_ASSERT_OK(pt_cassette_session_advance(b, "/k"));
	PT_ASSERT_INT_EQ(pt_cassette_session_current(a, "/k"), 2);
	PT_ASSERT_INT_EQ(pt_cassette_session_next(b, "/k"), 2);
	/* advance on an unknown key creates it: index 1, as ReqCassette */
	PT_ASSERT_OK(pt_cassette_session_advance(l, "/new"));
	PT_ASSERT_INT_EQ(pt_cassette_session_current(l, "/new"), 1);
	PT_ASSERT_ERR(pt_cassette_session_advance(NULL, "/k"), -EINVAL);
	pt_cassette_session_free(a);
	pt_cassette_session_free(b);
	pt_cassette_session_free(l);
}

struct churn {
	struct pt_cassette_session *s;
	int id;
	int bad;
};

static void *churn_main(void *arg)
{
	struct churn *c = arg;
	char key[64];

	for (int j = 0; j < 3000; j++) {
		snprintf(key, sizeof(key), "/t%d/%d", c->id, j % 8);
		if (pt_cassette_session_start(c->s, key) <= 0 ||
		    pt_cassette_session_next(c->s, key) != 0 ||
		    pt_cassette_session_next(c->s, key) != 1 ||
		    pt_cassette_session_end(c->s, key) != 0)
			c->bad++;
	}
	return NULL;
}

/* Two objects for one shared file in one process, used by 4 threads:
 * every key's start, advances and end stay its own. */
PT_TEST(one_shared_file_opened_twice_in_one_process)
{
	const char *f = pt_test_path("twice.session");
	struct pt_cassette_session *s[2];
	struct churn c[4];
	pthread_t t[4];

	PT_ASSERT_OK(pt_cassette_session_open_shared(f, &s[0]));
	PT_ASSERT_OK(pt_cassette_session_open_shared(f, &s[1]));
	for (int i = 0; i < 4; i++) {
		c[i] = (struct churn){ .s = s[i % 2], .id = i };
		PT_ASSERT_OK(pthread_create(&t[i], NULL, churn_main, &c[i]));
	}
	for (int i = 0; i < 4; i++) {
		PT_ASSERT_OK(pthread_join(t[i], NULL));
		PT_ASSERT_INT_EQ(c[i].bad, 0);
	}
	/* every slot was freed */
	PT_ASSERT_INT_EQ(pt_cassette_session_current(s[0], "/t0/0"), 0);
	pt_cassette_session_free(s[0]);
	pt_cassette_session_free(s[1]);
}

/* A record appends in place (the file keeps its inode: nothing is
 * rewritten) and the text stays what a full save writes; two cassette
 * objects recording alternately each pick up what the other added. */
PT_TEST(records_append_in_place_and_catch_up)
{
	const char *p = pt_test_path("app/a.json");
	struct pt_cassette_opts o = PT_CASSETTE_OPTS_INIT;
	struct pt_cassette *a, *b;
	struct fake fa = { 0 }, fb = { 0 };
	struct stat s1, s2;
	char url[64], *t1, *t2;

	PT_ASSERT_OK(pt_cassette_open(p, &o, NULL, &a));
	PT_ASSERT_OK(pt_cassette_open(p, &o, NULL, &b));
	PT_ASSERT_OK(play_req(a, &fa, "GET", "http://t/first", NULL, 0, NULL,
			      NULL, NULL, 0));
	PT_ASSERT_OK(stat(p, &s1));
	for (int i = 0; i < 10; i++) {
		snprintf(url, sizeof(url), "http://t/%d", i);
		PT_ASSERT_OK(play_req(i % 2 ? a : b, i % 2 ? &fa : &fb, "POST",
				      url, NULL, 0, "{\"k\": [1, 2]}", NULL,
				      NULL, 0));
	}
	PT_ASSERT_OK(stat(p, &s2));
	PT_ASSERT_UINT_EQ(s2.st_ino, s1.st_ino);
	/* the next record into a catches up with b's five */
	PT_ASSERT_OK(play_req(a, &fa, "GET", "http://t/last", NULL, 0, NULL,
			      NULL, NULL, 0));
	PT_ASSERT_UINT_EQ(pt_cassette_count(a), 12);
	/* ...and replays them without forwarding */
	PT_ASSERT_OK(play_req(a, &fa, "POST", "http://t/0", NULL, 0,
			      "{\"k\": [1, 2]}", NULL, NULL, 0));
	PT_ASSERT_INT_EQ(fa.calls, 7);
	PT_ASSERT_INT_EQ(fb.calls, 5);
	PT_ASSERT_OK(pt_cassette_save_as(a, pt_test_path("app/full.json")));
	t1 = slurp(p);
	t2 = slurp(pt_test_path("app/full.json"));
	PT_ASSERT_STR_EQ(t1, t2);
	pt__free(t1);
	pt__free(t2);
	pt_cassette_free(a);
	pt_cassette_free(b);
}

/* A file written by another tool (not our canonical text) is rewritten
 * once in canonical form, then appended to. */
PT_TEST(a_foreign_file_is_rewritten_once_then_appended)
{
	const char *p = pt_test_path("foreign.json");
	struct pt_cassette_opts o = PT_CASSETTE_OPTS_INIT;
	struct pt_cassette *c;
	struct fake f = { 0 };
	struct stat s1, s2, s3;
	char *t1, *t2;

	spit(p, "{\"version\":\"1.0\",\"interactions\":[{\"request\":{"
		"\"method\":\"GET\",\"uri\":\"http://t/x\"},\"response\":{"
		"\"status\":204}}],\"zz\":[1]}");
	PT_ASSERT_OK(stat(p, &s1));
	PT_ASSERT_OK(pt_cassette_open(p, &o, NULL, &c));
	PT_ASSERT_OK(play_req(c, &f, "GET", "http://t/1", NULL, 0, NULL, NULL,
			      NULL, 0));
	PT_ASSERT_OK(stat(p, &s2));
	PT_ASSERT(s2.st_ino != s1.st_ino);
	PT_ASSERT_OK(play_req(c, &f, "GET", "http://t/2", NULL, 0, NULL, NULL,
			      NULL, 0));
	PT_ASSERT_OK(stat(p, &s3));
	PT_ASSERT_UINT_EQ(s3.st_ino, s2.st_ino);
	PT_ASSERT_OK(pt_cassette_save_as(c, pt_test_path("f2.json")));
	t1 = slurp(p);
	t2 = slurp(pt_test_path("f2.json"));
	PT_ASSERT_STR_EQ(t1, t2);
	PT_ASSERT(strstr(t1, "\"zz\": [\n    1\n  ]") != NULL);
	pt__free(t1);
	pt__free(t2);
	pt_cassette_free(c);
}

/* A recorder that died in the middle of an append left its undo record
 * in the lock file and a torn file: readers see the file as before the
 * append, and the next recorder puts it back before appending. */
PT_TEST(a_torn_append_is_undone)
{
	const char *p = pt_test_path("torn.json");
	struct pt_cassette_opts o = PT_CASSETTE_OPTS_INIT;
	struct pt_cassette *c;
	struct fake f = { 0 };
	char lock[4096], rec[256], *before, *after;
	size_t nb, na, tail;
	int fd;

	snprintf(lock, sizeof(lock), "%s.lock", p);
	PT_ASSERT_OK(pt_cassette_open(p, &o, NULL, &c));
	PT_ASSERT_OK(play_req(c, &f, "GET", "http://t/1", NULL, 0, NULL, NULL,
			      NULL, 0));
	before = slurp(p);
	PT_ASSERT_OK(play_req(c, &f, "GET", "http://t/2", NULL, 0, NULL, NULL,
			      NULL, 0));
	pt_cassette_free(c);
	after = slurp(p);
	nb = strlen(before);
	na = strlen(after);
	tail = strlen(strstr(before, "\n  ],\n  \"version\""));
	PT_ASSERT_UINT_EQ(tail, strlen("\n  ],\n  \"version\": \"2.0\"\n}\n"));
	/* the state after a crash half-way through the second append */
	fd = open(lock, O_WRONLY | O_TRUNC | O_CLOEXEC);
	PT_ASSERT_INT_GE(fd, 0);
	snprintf(rec, sizeof(rec), "PTUNDO1 %zu %zu %" PRIx64 " %zu\n",
		 nb - tail, na,
		 pt__hash_bytes(after + nb - tail, na - (nb - tail)), tail);
	PT_ASSERT_OK(pt__write_all(fd, rec, strlen(rec)));
	PT_ASSERT_OK(pt__write_all(fd, before + nb - tail, tail));
	close(fd);
	fd = open(p, O_WRONLY | O_TRUNC | O_CLOEXEC);
	PT_ASSERT_OK(pt__write_all(fd, after, nb + 40)); /* torn */
	close(fd);
	o.mode = PT_CASSETTE_REPLAY;
	PT_ASSERT_OK(pt_cassette_open(p, &o, NULL, &c));
	PT_ASSERT_UINT_EQ(pt_cassette_count(c), 1);
	pt_cassette_free(c);
	o.mode = PT_CASSETTE_RECORD;
	PT_ASSERT_OK(pt_cassette_open(p, &o, NULL, &c));
	PT_ASSERT_OK(play_req(c, &f, "GET", "http://t/3", NULL, 0, NULL, NULL,
			      NULL, 0));
	PT_ASSERT_UINT_EQ(pt_cassette_count(c), 2);
	pt_cassette_free(c);
	pt__free(after);
	after = slurp(p);
	PT_ASSERT(strncmp(after, before, nb - tail) == 0);
	PT_ASSERT(strstr(after, "http://t/3") != NULL);
	PT_ASSERT(strstr(after, "http://t/2") == NULL);
	struct stat ls;
	PT_ASSERT_OK(stat(lock, &ls));
	PT_ASSERT_INT_EQ(ls.st_size, 0);
	pt__free(before);
	pt__free(after);
}

static int n_writes, fail_write;

static int fail_nth_write(void *ctx, int fd, size_t len)
{
	(void)ctx;
	(void)fd;
	(void)len;
	return ++n_writes == fail_write ? -ENOSPC : 0;
}

/* A write that fails in the middle of an append (a full disk) leaves the
 * file as it was, and the next record works. */
PT_TEST(a_failed_append_leaves_the_file_intact)
{
	const char *p = pt_test_path("nospc.json");
	struct pt_io_faults fl = { .before_write = fail_nth_write };
	struct pt_cassette_opts o = PT_CASSETTE_OPTS_INIT;
	struct pt_cassette *c;
	struct fake f = { 0 };
	char *before, *after;

	PT_ASSERT_OK(pt_cassette_open(p, &o, NULL, &c));
	PT_ASSERT_OK(play_req(c, &f, "GET", "http://t/1", NULL, 0, NULL, NULL,
			      NULL, 0));
	before = slurp(p);
	for (fail_write = 1; fail_write <= 2; fail_write++) {
		n_writes = 0;
		pt__io_set_faults(&fl);
		/* 1: the undo record, 2: the interaction and tail */
		PT_ASSERT_ERR(play_req(c, &f, "GET", "http://t/2", NULL, 0,
				       NULL, NULL, NULL, 0),
			      -ENOSPC);
		pt__io_set_faults(NULL);
		after = slurp(p);
		PT_ASSERT_STR_EQ(after, before);
		pt__free(after);
		PT_ASSERT_UINT_EQ(pt_cassette_count(c), 1);
	}
	PT_ASSERT_OK(play_req(c, &f, "GET", "http://t/3", NULL, 0, NULL, NULL,
			      NULL, 0));
	PT_ASSERT_UINT_EQ(pt_cassette_count(c), 2);
	pt_cassette_free(c);
	o.mode = PT_CASSETTE_REPLAY;
	PT_ASSERT_OK(pt_cassette_open(p, &o, NULL, &c));
	PT_ASSERT_UINT_EQ(pt_cassette_count(c), 2);
	pt_cassette_free(c);
	pt__free(before);
}
