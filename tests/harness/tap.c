/*
 * tests/harness/tap.c - the test runner behind tap.h.
 *
 * The parent never runs test code: it forks a child per test, waits on
 * the child's pidfd with the test's deadline, kills the child's process
 * group on timeout, and prints one TAP line per test.
 */
#define _GNU_SOURCE 1
#include "tap.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <proctor/common.h>

#define DEFAULT_TIMEOUT_S 30
#define EXIT_SKIP	  77

static struct pt_test *tests;
static size_t ntests;
static uint64_t run_seed;
static uint64_t cur_seed;
static char cur_tmpdir[4096];
static bool no_fork;

void pt_test_register(struct pt_test *t)
{
	t->next = tests;
	tests = t;
	ntests++;
}

const char *pt_test_errname(int err)
{
	return pt_error_name(err);
}

const char *pt_test_errmsg(int err)
{
	return pt_strerror(err);
}

uint64_t pt_test_seed(void)
{
	return cur_seed;
}

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

const char *pt_test_tmpdir(void)
{
	if (!cur_tmpdir[0]) {
		const char *base = getenv("TMPDIR");
		snprintf(cur_tmpdir, sizeof(cur_tmpdir), "%s/pt-test-XXXXXX",
			 base && *base ? base : "/tmp");
		if (!mkdtemp(cur_tmpdir))
			pt_test_fail(__FILE__, __LINE__, "mkdtemp: %s",
				     strerror(errno));
	}
	return cur_tmpdir;
}

const char *pt_test_path(const char *name)
{
	static char bufs[8][4096];
	static unsigned next;
	char *b = bufs[next++ % 8];

	snprintf(b, sizeof(bufs[0]), "%s/%s", pt_test_tmpdir(), name);
	return b;
}

const char *pt_test_srcdir(void)
{
	const char *s = getenv("PT_SRCDIR");
#ifdef PT_TEST_SRCDIR
	if (!s || !*s)
		s = PT_TEST_SRCDIR;
#endif
	return s && *s ? s : ".";
}

bool pt_test_wait_fd(int fd, short events, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = events };
	struct timespec t0, t1;
	int left = timeout_ms;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		int r = poll(&p, 1, left);
		if (r > 0)
			return true;
		if (r == 0)
			return false;
		if (errno != EINTR)
			return false;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		left = timeout_ms - (int)((t1.tv_sec - t0.tv_sec) * 1000 +
					  (t1.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0)
			return false;
	}
}

int pt_test_scaled_ms(int ms)
{
	const char *env = getenv("PT_TEST_TIMEOUT");
	long k = env ? strtol(env, NULL, 10) : 0;

	if (k <= 1 || ms <= 0)
		return ms;
	return k > INT_MAX / ms ? INT_MAX : (int)(k * ms);
}

void pt_test_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "%s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	fflush(stderr);
	_exit(1);
}

void pt_test_skip(const char *why)
{
	char path[4200];
	FILE *f;

	fflush(stdout);
	fprintf(stderr, "skip: %s\n", why);
	fflush(stderr);
	/* the reason for the TAP line, read by the parent (run_one) */
	snprintf(path, sizeof(path), "%s/.skip-reason", cur_tmpdir);
	if (cur_tmpdir[0] && (f = fopen(path, "w"))) {
		fputs(why, f);
		fclose(f);
	}
	_exit(EXIT_SKIP);
}

static int rm_tree(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return 0;
	if (S_ISDIR(st.st_mode)) {
		DIR *d = opendir(path);
		struct dirent *e;
		if (d) {
			while ((e = readdir(d))) {
				char sub[4096];
				if (!strcmp(e->d_name, ".") ||
				    !strcmp(e->d_name, ".."))
					continue;
				snprintf(sub, sizeof(sub), "%s/%s", path,
					 e->d_name);
				rm_tree(sub);
			}
			closedir(d);
		}
		return rmdir(path);
	}
	return unlink(path);
}

/* Without pidfd_open (valgrind), a thread turns the exit into a pipe EOF. */
struct exit_watch {
	pid_t pid;
	int wfd;
};

static void *exit_watch_main(void *arg)
{
	struct exit_watch *w = arg;
	siginfo_t si;

	while (waitid(P_PID, (id_t)w->pid, &si, WEXITED | WNOWAIT) < 0 &&
	       errno == EINTR)
		;
	close(w->wfd);
	free(w);
	return NULL;
}

static int watch_exit(pid_t pid)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	struct exit_watch *w;
	pthread_t th;
	int fds[2];

	if (fd >= 0 || errno != ENOSYS)
		return fd;
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -1;
	w = malloc(sizeof(*w));
	if (!w)
		return -1;
	w->pid = pid;
	w->wfd = fds[1];
	if (pthread_create(&th, NULL, exit_watch_main, w) != 0) {
		free(w);
		close(fds[1]);
		close(fds[0]);
		return -1;
	}
	pthread_detach(th);
	return fds[0];
}

/* Runs one test in a child; returns 0 pass, 1 fail, 2 skip. */
static int run_one(struct pt_test *t, char *why, size_t whysize)
{
	int timeout_s = t->timeout_s > 0 ? t->timeout_s : DEFAULT_TIMEOUT_S;
	const char *env_to = getenv("PT_TEST_TIMEOUT");
	char tmpl[4096];
	const char *base = getenv("TMPDIR");
	int status, pidfd;
	pid_t pid;

	if (env_to && atoi(env_to) > 0)
		timeout_s =
			atoi(env_to) * (t->timeout_s > 0 ? t->timeout_s : 1);
	/* The parent makes the directory so it can remove it afterwards. */
	snprintf(tmpl, sizeof(tmpl), "%s/pt-test-XXXXXX",
		 base && *base ? base : "/tmp");
	if (!mkdtemp(tmpl)) {
		snprintf(why, whysize, "mkdtemp: %s", strerror(errno));
		return 1;
	}
	fflush(stdout);
	fflush(stderr);
	if (no_fork) {
		snprintf(cur_tmpdir, sizeof(cur_tmpdir), "%s", tmpl);
		t->fn();
		rm_tree(tmpl);
		cur_tmpdir[0] = 0;
		return 0;
	}
	pid = fork();
	if (pid < 0) {
		snprintf(why, whysize, "fork: %s", strerror(errno));
		return 1;
	}
	if (pid == 0) {
		setpgid(0, 0);
		dup2(2, 1); /* keep stdout for TAP alone */
		snprintf(cur_tmpdir, sizeof(cur_tmpdir), "%s", tmpl);
		t->fn();
		fflush(NULL);
		_exit(0);
	}
	setpgid(pid, pid);
	pidfd = watch_exit(pid);
	if (pidfd >= 0) {
		if (!pt_test_wait_fd(pidfd, POLLIN, timeout_s * 1000)) {
			kill(-pid, SIGKILL);
			waitpid(pid, &status, 0);
			close(pidfd);
			rm_tree(tmpl);
			snprintf(why, whysize, "timed out after %d s",
				 timeout_s);
			return 1;
		}
		close(pidfd);
	}
	waitpid(pid, &status, 0);
	/* Whatever the test left running in its group goes too. */
	kill(-pid, SIGKILL);
	if (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_SKIP) {
		char path[4200];
		FILE *f;

		snprintf(path, sizeof(path), "%s/.skip-reason", tmpl);
		if ((f = fopen(path, "r"))) {
			if (!fgets(why, (int)whysize, f))
				why[0] = 0;
			fclose(f);
		}
	}
	rm_tree(tmpl);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_SKIP)
		return 2;
	if (WIFEXITED(status))
		snprintf(why, whysize, "exit status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(why, whysize, "killed by signal %d (%s)",
			 WTERMSIG(status), strsignal(WTERMSIG(status)));
	return 1;
}

static int cmp_name(const void *a, const void *b)
{
	const struct pt_test *x = *(struct pt_test *const *)a;
	const struct pt_test *y = *(struct pt_test *const *)b;
	return strcmp(x->name, y->name);
}

static void usage(const char *argv0)
{
	printf("usage: %s [--list] [--run=GLOB] [--shard=I/N] [--seed=N]\n"
	       "          [--repeat=N] [--timeout=SECONDS] [--no-fork]\n",
	       argv0);
}

/*
 * "I/N" (0 <= I < N <= 1000): this program runs the tests whose index in
 * the name-sorted list (after --run) is I modulo N, so that N processes
 * run every test exactly once. Returns false on a malformed value.
 */
static bool parse_shard(const char *s, unsigned *i, unsigned *n)
{
	char *end;
	unsigned long a, b;

	if (*s < '0' || *s > '9')
		return false;
	a = strtoul(s, &end, 10);
	if (*end != '/' || end[1] < '0' || end[1] > '9')
		return false;
	b = strtoul(end + 1, &end, 10);
	if (*end || b < 1 || b > 1000 || a >= b)
		return false;
	*i = (unsigned)a;
	*n = (unsigned)b;
	return true;
}

int main(int argc, char **argv)
{
	const char *glob = NULL, *shard = getenv("PT_TEST_SHARD"), *s;
	unsigned shard_i = 0, shard_n = 1;
	bool list = false, have_seed = false;
	long repeat = 1;
	size_t n = 0, passed = 0, failed = 0, idx = 0;
	struct pt_test **v;
	uint64_t sm;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--list"))
			list = true;
		else if (!strncmp(argv[i], "--run=", 6))
			glob = argv[i] + 6;
		else if (!strncmp(argv[i], "--shard=", 8))
			shard = argv[i] + 8;
		else if (!strncmp(argv[i], "--seed=", 7)) {
			run_seed = strtoull(argv[i] + 7, NULL, 0);
			have_seed = true;
		} else if (!strncmp(argv[i], "--repeat=", 9))
			repeat = strtol(argv[i] + 9, NULL, 10);
		else if (!strncmp(argv[i], "--timeout=", 10))
			setenv("PT_TEST_TIMEOUT", argv[i] + 10, 1);
		else if (!strcmp(argv[i], "--no-fork"))
			no_fork = true;
		else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(argv[0]);
			return 0;
		} else {
			fprintf(stderr, "%s: unknown option '%s'\n", argv[0],
				argv[i]);
			usage(argv[0]);
			return 2;
		}
	}
	if (repeat < 1)
		repeat = 1;
	if (shard && *shard && !parse_shard(shard, &shard_i, &shard_n)) {
		fprintf(stderr,
			"%s: bad shard '%s' (expected I/N, 0 <= I < N)\n",
			argv[0], shard);
		return 2;
	}
	if (!have_seed && (s = getenv("PT_TEST_SEED")) && *s) {
		run_seed = strtoull(s, NULL, 0);
		have_seed = true;
	}
	if (!have_seed) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		run_seed = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^
			   (uint64_t)getpid();
	}

	v = calloc(ntests ? ntests : 1, sizeof(*v));
	if (!v)
		return 99;
	for (struct pt_test *t = tests; t; t = t->next) {
		if (!glob || fnmatch(glob, t->name, 0) == 0)
			v[n++] = t;
	}
	qsort(v, n, sizeof(*v), cmp_name);
	if (shard_n > 1) {
		size_t k = 0;

		for (size_t i = 0; i < n; i++)
			if (i % shard_n == shard_i)
				v[k++] = v[i];
		n = k;
	}
	if (list) {
		for (size_t i = 0; i < n; i++)
			printf("%s\n", v[i]->name);
		free(v);
		return 0;
	}

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("TAP version 14\n1..%zu\n", n * (size_t)repeat);
	if (shard_n > 1)
		printf("# seed %" PRIu64
		       ", shard %u/%u (rerun: %s --shard=%u/%u"
		       " --seed=%" PRIu64 ")\n",
		       run_seed, shard_i, shard_n, argv[0], shard_i, shard_n,
		       run_seed);
	else
		printf("# seed %" PRIu64 " (rerun: %s --seed=%" PRIu64 ")\n",
		       run_seed, argv[0], run_seed);
	sm = run_seed;
	for (long r = 0; r < repeat; r++) {
		/* A new random order on each repetition, from the seed. */
		for (size_t i = n; i > 1; i--) {
			size_t j = (size_t)(splitmix(&sm) % i);
			struct pt_test *tmp = v[i - 1];
			v[i - 1] = v[j];
			v[j] = tmp;
		}
		for (size_t i = 0; i < n; i++) {
			char why[256] = "";
			int res;

			cur_seed = splitmix(&sm);
			res = run_one(v[i], why, sizeof(why));
			idx++;
			if (res == 0) {
				passed++;
				printf("ok %zu - %s\n", idx, v[i]->name);
			} else if (res == 2) {
				passed++;
				printf("ok %zu - %s # SKIP%s%s\n", idx,
				       v[i]->name, why[0] ? " " : "", why);
			} else {
				failed++;
				printf("not ok %zu - %s\n", idx, v[i]->name);
				printf("# %s (%s:%d), seed %" PRIu64 "%s%s\n",
				       why, v[i]->file, v[i]->line, run_seed,
				       shard_n > 1 ? ", shard " : "",
				       shard_n > 1 ? shard : "");
			}
		}
	}
	printf("# %zu passed, %zu failed\n", passed, failed);
	if ((s = getenv("PT_TALLY")) && *s) {
		FILE *f = fopen(s, "a");
		if (f) {
			fprintf(f, "%zu %zu\n", passed, failed);
			fclose(f);
		}
	}
	free(v);
	return failed ? 1 : 0;
}
