/*
 * bench/bench-store.c - cost of durable session bookkeeping.
 *
 *	bench-store [--dir DIR] [--commits N] [--full N] [--resume N]
 *		    [--no-peer]
 *
 * 1. Records N results (default 10k) the way the runner does per job:
 *    set the running job, then commit the result; at PT_SYNC_NORMAL, at
 *    PT_SYNC_FULL (fsync each), and FULL with group commit of 64.
 * 2. Resumes sessions of 10k and 100k jobs (open + load of metadata,
 *    snapshot, desired list, results, resources) and peeks them.
 * 3. The peer: PlainBox itself, in the same run (bench/plainbox-store.py
 *    through bench/plainbox-peer.h; PROCTOR_PLAINBOX_SRC etc., see
 *    bench/README.md): per job, the three checkpoints and the result
 *    update SessionAssistant does around a job, at the same N with N/2
 *    results; resume and peek of a 10k-job session. Without PlainBox (or
 *    with --no-peer) the peer is reported skipped; no figure is copied.
 * Bytes written are the bytes SQLite passes to write(2) (counted by the
 * store's VFS shim). DIR must be on a real disk for FULL to mean anything
 * (default: ./bench-store.tmp, removed afterwards).
 */
#include "base/buf.h"
#include "base/common.h"
#include "os/clock.h"
#include "os/file.h"
#include "plainbox-peer.h"
#include "store/store-internal.h"

#include <sys/stat.h>

static uint64_t bytes_written;
static uint64_t n_fsync;

static int count_write(void *ctx, int fd, size_t len)
{
	(void)ctx;
	(void)fd;
	bytes_written += len;
	return 0;
}

static int count_fsync(void *ctx, int fd)
{
	(void)ctx;
	(void)fd;
	n_fsync++;
	return 0;
}

static void die(const char *what, int r)
{
	fprintf(stderr, "bench-store: %s: %s\n", what, pt_strerror(r));
	exit(1);
}

#define CHECK(what, expr) \
 do {                     \
  int r_ = (expr);        \
  if (r_ < 0)             \
   die(what, r_);         \
 } while (0)

static char **make_ids(size_t n)
{
	char **ids = pt__calloc(n, sizeof(*ids));
	char buf[64];

	for (size_t i = 0; i < n; i++) {
		snprintf(buf, sizeof(buf),
			 "com.canonical.certification::job-%06zu", i);
		ids[i] = pt__strdup(buf);
	}
	return ids;
}

static void free_ids(char **ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		pt__free(ids[i]);
	pt__free(ids);
}

/* A new session with a snapshot and desired list of n jobs. */
static struct pt_store *setup(const char *repo, char **ids, size_t n)
{
	struct pt_store_job *jobs = pt__calloc(n, sizeof(*jobs));
	const char *flags[] = { "incomplete" };
	struct pt_store_meta m = { .title = "bench",
				   .flags = flags,
				   .n_flags = 1 };
	static const char sum[] = "3f2a9c1e5b7d4f6a8c0e2b4d6f8a0c2e"
				  "4b6d8f0a2c4e6b8d0f2a4c6e8b0d2f4a";
	struct pt_store *s = NULL;

	for (size_t i = 0; i < n; i++) {
		jobs[i].id = ids[i];
		jobs[i].checksum = sum;
		jobs[i].origin = "units/jobs.pxu:123";
	}
	CHECK("create", pt_store_create(repo, &m, NULL, &s));
	CHECK("begin", pt_store_begin(s));
	CHECK("jobs", pt_store_put_jobs(s, jobs, n));
	CHECK("desired", pt_store_set_desired(s, (const char *const *)ids, n));
	CHECK("commit", pt_store_commit(s, PT_SYNC_FULL));
	pt__free(jobs);
	return s;
}

static struct pt_result result_for(size_t i)
{
	struct pt_result r = { .outcome = i % 10 ? PT_OUTCOME_PASS
						 : PT_OUTCOME_FAIL,
			       .return_code = i % 10 ? 0 : 1,
			       .duration = 0.01 * (double)(i % 100),
			       .io_log = "io-logs/job.00000000.1.log",
			       .attempt = 1,
			       .started_ns = 1700000000000000000 + (int64_t)i };
	return r;
}

struct run {
	double us_per_job;    /* set_running + commit_result */
	double us_per_commit; /* commit_result alone */
	double bytes_per_job;
	double fsync_per_job;
};

static struct run record(const char *repo, size_t n, enum pt_sync sync,
			 size_t group)
{
	char **ids = make_ids(n);
	struct pt_store *s = setup(repo, ids, n);
	struct pt_io_faults f = { .before_write = count_write,
				  .before_fsync = count_fsync };
	int64_t t0, t_commit = 0;
	struct run out;

	bytes_written = 0;
	n_fsync = 0;
	pt__store_set_faults(&f);
	t0 = pt__now_ns();
	for (size_t i = 0; i < n; i++) {
		struct pt_result r = result_for(i);
		int64_t c0;

		if (group > 1 && i % group == 0)
			CHECK("begin", pt_store_begin(s));
		CHECK("running",
		      pt_store_set_running(s, ids[i], 1, r.started_ns));
		c0 = pt__now_ns();
		CHECK("commit", pt_store_commit_result(s, ids[i], &r, sync));
		if (group > 1 && (i % group == group - 1 || i == n - 1))
			CHECK("group", pt_store_commit(s, sync));
		t_commit += pt__now_ns() - c0;
	}
	out.us_per_job = (double)(pt__now_ns() - t0) / 1e3 / (double)n;
	out.us_per_commit = (double)t_commit / 1e3 / (double)n;
	out.bytes_per_job = (double)bytes_written / (double)n;
	out.fsync_per_job = (double)n_fsync / (double)n;
	pt__store_set_faults(NULL);
	pt_store_free(s);
	free_ids(ids, n);
	return out;
}

/* A finished-looking session of n jobs for the resume measurement. */
static char *make_resume_session(const char *repo, size_t n)
{
	char **ids = make_ids(n);
	struct pt_store *s = setup(repo, ids, n);
	const struct pt_store_kv kv[] = { { "name", "eth0" },
					  { "driver", "e1000e" },
					  { "state", "up" },
					  { "speed", "1000" } };
	const struct pt_store_record recs[] = { { 4, kv },
						{ 4, kv },
						{ 4, kv } };
	char *id;

	CHECK("begin", pt_store_begin(s));
	for (size_t i = 0; i < n; i++) {
		struct pt_result r = result_for(i);
		CHECK("result",
		      pt_store_commit_result(s, ids[i], &r, PT_SYNC_NORMAL));
		if (i % 100 == 0)
			CHECK("resource",
			      pt_store_put_resource(s, ids[i], recs, 3));
	}
	CHECK("running", pt_store_set_running(s, ids[n / 2], 2, 1));
	CHECK("commit", pt_store_commit(s, PT_SYNC_FULL));
	id = pt__strdup(pt_store_id(s));
	pt_store_free(s);
	free_ids(ids, n);
	return id;
}

static double resume_ms(const char *repo, const char *id, size_t n,
			double *peek_ms)
{
	struct pt_store *s = NULL;
	struct pt_store_state *st = NULL;
	struct pt_store_info *info = NULL;
	struct pt_result cr;
	const char *job;
	double best = 1e30, bestp = 1e30;

	for (int k = 0; k < 3; k++) {
		int64_t t0 = pt__now_ns(), t1;

		CHECK("open",
		      pt_store_open(repo, id, PT_STORE_WRITE, NULL, &s));
		CHECK("load", pt_store_load(s, &st));
		CHECK("rule", pt_store_running_rule(st, -1, &job, &cr));
		t1 = pt__now_ns();
		if (st->n_results != n || st->n_jobs != n || st->n_desired != n)
			die("resume: wrong counts", PT_ECORRUPT);
		best = PT_MIN(best, (double)(t1 - t0) / 1e6);
		pt_store_state_free(st);
		pt_store_free(s);
		t0 = pt__now_ns();
		CHECK("peek", pt_store_peek(repo, id, NULL, &info));
		bestp = PT_MIN(bestp, (double)(pt__now_ns() - t0) / 1e6);
		pt_store_info_free(info);
	}
	*peek_ms = bestp;
	return best;
}

static off_t dir_bytes(const char *repo, const char *id)
{
	const char *names[] = { "session.db", "session.db-wal" };
	off_t total = 0;

	for (size_t i = 0; i < 2; i++) {
		struct pt_buf p = PT_BUF_INIT;
		struct stat st;
		pt__buf_addf(&p, "%s/%s/%s", repo, id, names[i]);
		if (stat(p.s, &st) == 0)
			total += st.st_size;
		pt__buf_release(&p);
	}
	return total;
}

/*
 * PlainBox on the same N, in this run; the figures side by side in the
 * same units.
 */
static void peer_side_by_side(const char *pdir, size_t n,
			      const struct run *normal, const struct run *full,
			      const struct run *group, double r10k, double p10k,
			      off_t bytes10k)
{
	char nbuf[32];
	const char *args[] = { pdir, nbuf, "10" };
	struct peer_figures f;
	double job, ckpt, susp, upd, res, peek;

	snprintf(nbuf, sizeof(nbuf), "%zu", n);
	if (!peer_run("plainbox-store.py", args, 3, &f)) {
		printf("# PlainBox peer skipped: %s\n", f.why);
		return;
	}
	job = peer_get(&f, "job_ms") * 1e3;
	ckpt = peer_get(&f, "checkpoint_ms") * 1e3;
	susp = peer_get(&f, "suspend_ms") * 1e3;
	upd = peer_get(&f, "result_update_ms") * 1e3;
	res = peer_get(&f, "resume_ms");
	peek = peer_get(&f, "peek_ms");
	if (job <= 0 || ckpt <= 0 || susp <= 0 || upd <= 0 || res <= 0 ||
	    peek <= 0) {
		printf("# PlainBox peer skipped: plainbox-store.py printed "
		       "no figures\n");
		return;
	}
	printf("metric plainbox_us_per_job %.0f us (%zu jobs, %zu results; "
	       "3 checkpoints + update_job_result)\n",
	       job, n, n / 2);
	printf("metric plainbox_checkpoint_us %.0f us\n", ckpt);
	printf("metric plainbox_suspend_us %.0f us\n", susp);
	printf("metric plainbox_result_update_us %.0f us\n", upd);
	printf("metric plainbox_checkpoint_bytes %.0f bytes\n",
	       peer_get(&f, "checkpoint_bytes"));
	printf("metric plainbox_resume_10k_ms %.1f ms\n", res);
	printf("metric plainbox_peek_10k_ms %.2f ms\n", peek);
	printf("metric plainbox_session_10k_bytes %.0f bytes\n",
	       peer_get(&f, "resume_bytes"));
	printf("metric ratio_normal_vs_plainbox %.0f x\n",
	       job / normal->us_per_job);
	printf("metric ratio_full_vs_plainbox %.0f x\n",
	       job / full->us_per_job);
	printf("metric ratio_full_group64_vs_plainbox %.0f x\n",
	       job / group->us_per_job);
	printf("metric ratio_resume_10k_vs_plainbox %.0f x\n", res / r10k);
	printf("metric ratio_peek_10k_vs_plainbox %.0f x\n", peek / p10k);
	printf("# same run, N = %zu jobs      proctor NORMAL  proctor FULL  "
	       "FULL+group64  PlainBox\n",
	       n);
	printf("#   per job (us)            %14.1f %13.1f %13.1f %9.0f\n",
	       normal->us_per_job, full->us_per_job, group->us_per_job, job);
	printf("#   resume 10k (ms)         %14.1f %13s %13s %9.0f\n", r10k, "",
	       "", res);
	printf("#   peek 10k (ms)           %14.2f %13s %13s %9.1f\n", p10k, "",
	       "", peek);
	printf("#   10k session (bytes)     %14lld %13s %13s %9.0f\n",
	       (long long)bytes10k, "", "", peer_get(&f, "resume_bytes"));
}

int main(int argc, char **argv)
{
	const char *dir = "bench-store.tmp";
	size_t n_commit = 10000, n_full = 10000, n_resume = 100000;
	bool peer = true;
	struct pt_buf repo = PT_BUF_INIT, pdir = PT_BUF_INIT;
	struct run normal, full, group;
	double r10k, r100k, p10k, p100k;
	char *id10k, *id100k;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--dir") && i + 1 < argc)
			dir = argv[++i];
		else if (!strcmp(argv[i], "--commits") && i + 1 < argc)
			n_commit = strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--full") && i + 1 < argc)
			n_full = strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--resume") && i + 1 < argc)
			n_resume = strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--no-peer"))
			peer = false;
		else {
			fprintf(stderr, "usage: bench-store [--dir DIR] "
					"[--commits N] [--full N] [--resume N] "
					"[--no-peer]\n");
			return 2;
		}
	}
	if (!n_commit || !n_full || n_resume < 10000) {
		fprintf(stderr, "bench-store: counts too small\n");
		return 2;
	}
	pt__buf_addf(&repo, "%s/repo", dir);
	pt__buf_addf(&pdir, "%s/plainbox", dir);
	(void)!pt__rm_rf(dir);
	CHECK("mkdir", pt__mkdir_p(pdir.s, 0700));

	normal = record(repo.s, n_commit, PT_SYNC_NORMAL, 1);
	full = record(repo.s, n_full, PT_SYNC_FULL, 1);
	group = record(repo.s, n_full, PT_SYNC_FULL, 64);
	printf("metric commit_normal_us_per_job %.1f us\n", normal.us_per_job);
	printf("metric commit_normal_us_per_result %.1f us\n",
	       normal.us_per_commit);
	printf("metric commit_normal_bytes_per_job %.0f bytes\n",
	       normal.bytes_per_job);
	printf("metric commit_normal_fsyncs_per_job %.3f count\n",
	       normal.fsync_per_job);
	printf("metric commit_full_us_per_job %.1f us\n", full.us_per_job);
	printf("metric commit_full_us_per_result %.1f us\n",
	       full.us_per_commit);
	printf("metric commit_full_bytes_per_job %.0f bytes\n",
	       full.bytes_per_job);
	printf("metric commit_full_group64_us_per_job %.1f us\n",
	       group.us_per_job);

	id10k = make_resume_session(repo.s, 10000);
	id100k = make_resume_session(repo.s, n_resume);
	r10k = resume_ms(repo.s, id10k, 10000, &p10k);
	r100k = resume_ms(repo.s, id100k, n_resume, &p100k);
	printf("metric resume_10k_ms %.1f ms\n", r10k);
	printf("metric peek_10k_ms %.2f ms\n", p10k);
	printf("metric resume_%zuk_ms %.1f ms\n", n_resume / 1000, r100k);
	printf("metric peek_%zuk_ms %.2f ms\n", n_resume / 1000, p100k);
	printf("metric session_10k_bytes %lld bytes\n",
	       (long long)dir_bytes(repo.s, id10k));
	printf("metric session_%zuk_bytes %lld bytes\n", n_resume / 1000,
	       (long long)dir_bytes(repo.s, id100k));

	if (peer)
		peer_side_by_side(pdir.s, n_commit, &normal, &full, &group,
				  r10k, p10k, dir_bytes(repo.s, id10k));
	else
		printf("# PlainBox peer skipped (--no-peer)\n");
	pt__free(id10k);
	pt__free(id100k);
	(void)!pt__rm_rf(dir);
	pt__buf_release(&repo);
	pt__buf_release(&pdir);
	return 0;
}
