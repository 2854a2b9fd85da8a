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
 * 3. The peer: PlainBox. Figures from docs/plainbox.md §0/§6/§8.2 (353 ms
 *    per result of bookkeeping at 10k, a 67 ms suspend of which a job does
 *    three, 14.0 s resume at 10k), and, measured in this run unless
 *    --no-peer, a Python model of its checkpoint write (§6.2/§6.4: the
 *    whole session as sorted compact JSON, gzip, session.next, fsync,
 *    rename, fsync dir) at the same size.
 * Bytes written are the bytes SQLite passes to write(2) (counted by the
 * store's VFS shim). DIR must be on a real disk for FULL to mean anything
 * (default: ./bench-store.tmp, removed afterwards).
 */
#include "base/buf.h"
#include "base/common.h"
#include "os/clock.h"
#include "os/file.h"
#include "store/store-internal.h"

#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

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
 * The Python model of PlainBox's checkpoint (§6.2, §6.4): prints the
 * median ms of one save at n jobs with n/2 results.
 */
static const char peer_py[] =
	"import gzip,json,os,sys,time\n"
	"n=int(sys.argv[1]);d=sys.argv[2]\n"
	"jobs={'com.canonical.certification::job-%06d'%i:'3f2a9c1e5b7d4f6a8c0e"
	"2b4d6f8a0c2e4b6d8f0a2c4e6b8d0f2a4c6e8b0d2f4a' for i in range(n)}\n"
	"res={k:[{'outcome':'pass','comments':None,'return_code':0,"
	"'execution_duration':0.5,'io_log_filename':'io-logs/x.record.gz'}]"
	" for i,k in enumerate(jobs) if i%2==0}\n"
	"meta={'title':'bench','flags':['incomplete'],'running_job_name':"
	"'x','app_blob':None,'app_id':None,'custom_joblist':False,"
	"'rejected_jobs':[],'last_job_start_time':1.0,"
	"'remaining_todo_jobs':True}\n"
	"obj={'version':11,'session':{'jobs':jobs,'results':res,"
	"'desired_job_list':list(jobs),'mandatory_job_list':[],"
	"'metadata':meta,'system_information':{}}}\n"
	"def save():\n"
	" data=gzip.compress(json.dumps(obj,ensure_ascii=False,sort_keys=True,"
	"indent=None,separators=(',',':')).encode('UTF-8'))\n"
	" dfd=os.open(d,os.O_DIRECTORY)\n"
	" fd=os.open('session.next',os.O_WRONLY|os.O_CREAT|os.O_EXCL,0o644,"
	"dir_fd=dfd)\n"
	" os.write(fd,data);os.fsync(fd);os.close(fd)\n"
	" os.rename('session.next','session',src_dir_fd=dfd,dst_dir_fd=dfd)\n"
	" os.fsync(dfd);os.close(dfd)\n"
	" return len(data)\n"
	"t=[]\n"
	"for k in range(7):\n"
	" t0=time.perf_counter();sz=save();t.append(time.perf_counter()-t0)\n"
	"t.sort();print('%.3f %d'%(t[3]*1000,sz))\n";

static int run_peer(size_t n, const char *dir, double *ms, long *size)
{
	char nbuf[32];
	char *argv[] = {
		(char *)(uintptr_t) "python3", (char *)(uintptr_t) "-c",
		(char *)(uintptr_t)peer_py,    nbuf,
		(char *)(uintptr_t)dir,	       NULL
	};
	int fds[2], status;
	char out[128] = { 0 };
	posix_spawn_file_actions_t fa;
	pid_t pid;
	ssize_t got;

	snprintf(nbuf, sizeof(nbuf), "%zu", n);
	if (pipe(fds) < 0)
		return -errno;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
	posix_spawn_file_actions_addclose(&fa, fds[0]);
	if (posix_spawnp(&pid, "python3", &fa, NULL, argv, environ) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		close(fds[0]);
		close(fds[1]);
		return -ENOENT;
	}
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	got = 0;
	for (;;) {
		ssize_t k =
			read(fds[0], out + got, sizeof(out) - 1 - (size_t)got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		got += k;
		if ((size_t)got == sizeof(out) - 1)
			break;
	}
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (got <= 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
	    sscanf(out, "%lf %ld", ms, size) != 2)
		return -EIO;
	return 0;
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
	printf("metric resume_%zuk_ms %.1f ms\n", n_resume / 1000, r100k);
	printf("metric peek_%zuk_ms %.2f ms\n", n_resume / 1000, p100k);
	printf("metric session_10k_bytes %lld bytes\n",
	       (long long)dir_bytes(repo.s, id10k));
	printf("metric session_%zuk_bytes %lld bytes\n", n_resume / 1000,
	       (long long)dir_bytes(repo.s, id100k));

	/* The peer. Figures from docs/plainbox.md, then measured ratios. */
	printf("metric plainbox_result_bookkeeping_10k_ms 353 ms "
	       "(docs/plainbox.md §0)\n");
	printf("metric plainbox_checkpoints_per_job_10k_ms 201 ms "
	       "(docs/plainbox.md §6.6: "
	       "3 x 67 ms suspend)\n");
	printf("metric plainbox_resume_10k_ms 14000 ms "
	       "(docs/plainbox.md §6.5)\n");
	printf("metric ratio_result_vs_plainbox_bookkeeping %.0f x\n",
	       353e3 / normal.us_per_job);
	printf("metric ratio_result_vs_plainbox_checkpoints %.0f x\n",
	       201e3 / normal.us_per_job);
	printf("metric ratio_full_vs_plainbox_checkpoints %.0f x\n",
	       201e3 / full.us_per_job);
	printf("metric ratio_resume_10k_vs_plainbox %.0f x\n", 14000 / r10k);
	printf("metric ratio_resume_%zuk_vs_plainbox_10k %.0f x\n",
	       n_resume / 1000, 14000 / r100k);
	if (peer) {
		double ms = 0;
		long size = 0;
		int r = run_peer(10000, pdir.s, &ms, &size);

		if (r < 0) {
			printf("# peer model not run: %s\n", pt_strerror(r));
		} else {
			printf("metric plainbox_model_checkpoint_10k_ms %.1f ms "
			       "(measured, %ld bytes gz)\n",
			       ms, size);
			printf("metric ratio_result_vs_plainbox_model %.0f x "
			       "(3 checkpoints per job)\n",
			       3 * ms * 1e3 / normal.us_per_job);
			printf("metric ratio_full_vs_plainbox_model %.0f x\n",
			       3 * ms * 1e3 / full.us_per_job);
		}
	}
	pt__free(id10k);
	pt__free(id100k);
	(void)!pt__rm_rf(dir);
	pt__buf_release(&repo);
	pt__buf_release(&pdir);
	return 0;
}
