/*
 * store/history.c - every attempt of every job across a repository's
 * sessions (docs/store.md, "Job history"), for flake rates and "slower
 * than its history".
 *
 * One text file per repository, <repo>/history, newest entries first:
 *
 *	proctor-history 1
 *	<ended_ns> <outcome> <attempt> <duration_ns> <maxrss_kib> <seed>
 *	<session id|-> <job id>
 *
 * (one line per entry). Integers only, as in the durations file (same
 * durability: atomic rewrite under an flock of <repo>/history.lock); the
 * job id is the rest of the line. Bounded per job and in total; the
 * oldest entries go first.
 */
#include "base/common.h"
#include "base/map.h"
#include "base/str.h"
#include "base/vec.h"
#include "os/clock.h"
#include "os/file.h"
#include "store/store-internal.h"

#include <stdlib.h>

#define HIST_FILE    "history"
#define HIST_LOCK    "history.lock"
#define HIST_MAGIC   "proctor-history 1\n"
#define HIST_SID_MAX 64

struct hent {
	struct pt_store_hist pub; /* strings point into s */
	int64_t dur_ns;
	char s[]; /* session id, NUL, job id, NUL */
};

struct pt_store_history {
	PT_VEC(struct hent *) v;
	bool sorted;
};

static void hist_release(struct pt_store_history *h)
{
	pt_vec_foreach(&h->v, i)
		pt__free(h->v.v[i]);
	pt_vec_release(&h->v);
}

struct pt_store_history *pt_store_history_free(struct pt_store_history *h)
{
	if (h) {
		hist_release(h);
		pt__free(h);
	}
	return NULL;
}

size_t pt_store_history_count(const struct pt_store_history *h)
{
	return h ? h->v.n : 0;
}

const struct pt_store_hist *
pt_store_history_get(const struct pt_store_history *h, size_t i)
{
	return h && i < h->v.n ? &h->v.v[i]->pub : NULL;
}

static int64_t to_ns(double s)
{
	if (!(s > 0))
		return 0;
	if (s > 9.2e9)
		return INT64_MAX;
	return (int64_t)(s * 1e9 + 0.5);
}

static bool sid_ok(const char *s, size_t n)
{
	if (n > HIST_SID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] == 0x7f)
			return false;
	return true;
}

static int cmp_job(const void *a, const void *b);

static int add(struct pt_store_history *h, const struct pt_store_hist *x,
	       size_t sidlen, size_t idlen, int64_t dur_ns, bool keep_sorted)
{
	struct hent *e;
	size_t at;

	if (pt_vec_reserve(&h->v, h->v.n + 1) < 0)
		return -ENOMEM;
	e = pt__malloc(sizeof(*e) + sidlen + idlen + 2);
	if (!e)
		return -ENOMEM;
	e->pub = *x;
	e->dur_ns = dur_ns;
	memcpy(e->s, x->session_id, sidlen);
	e->s[sidlen] = 0;
	memcpy(e->s + sidlen + 1, x->job_id, idlen);
	e->s[sidlen + 1 + idlen] = 0;
	e->pub.session_id = e->s;
	e->pub.job_id = e->s + sidlen + 1;
	e->pub.duration = (double)dur_ns / 1e9;
	if (!keep_sorted) {
		h->v.v[h->v.n++] = e;
		h->sorted = false;
		return 0;
	}
	/* After the last entry not greater: the order of the API. */
	at = h->v.n;
	while (at > 0 && cmp_job(&h->v.v[at - 1], &e) > 0)
		at--;
	memmove(h->v.v + at + 1, h->v.v + at,
		(h->v.n - at) * sizeof(h->v.v[0]));
	h->v.v[at] = e;
	h->v.n++;
	return 0;
}

/* A space-terminated word of at most max bytes: 0 or -EINVAL. */
static int word(const char **p, const char *end, size_t max, const char **w,
		size_t *n)
{
	const char *sp = memchr(*p, ' ', (size_t)(end - *p));

	if (!sp || sp == *p || (size_t)(sp - *p) > max)
		return -EINVAL;
	*w = *p;
	*n = (size_t)(sp - *p);
	*p = sp + 1;
	return 0;
}

static int parse_line(const char *p, const char *nl, struct pt_store_history *h)
{
	int64_t ended, att, dur, rss, seed;
	const char *w, *sid;
	size_t n, sidlen, idlen;
	char name[16];
	struct pt_store_hist x = { 0 };

	if (pt__store_field_i64(&p, nl, &ended) < 0 ||
	    word(&p, nl, sizeof(name) - 1, &w, &n) < 0)
		return -EINVAL;
	memcpy(name, w, n);
	name[n] = 0;
	if (pt_outcome_parse(name, &x.outcome) < 0 ||
	    x.outcome == PT_OUTCOME_NONE ||
	    pt__store_field_i64(&p, nl, &att) < 0 || att < 1 ||
	    att > UINT32_MAX || pt__store_field_i64(&p, nl, &dur) < 0 ||
	    pt__store_field_i64(&p, nl, &rss) < 0 ||
	    pt__store_field_i64(&p, nl, &seed) < 0 ||
	    word(&p, nl, HIST_SID_MAX, &sid, &sidlen) < 0 ||
	    !sid_ok(sid, sidlen))
		return -EINVAL;
	if (sidlen == 1 && sid[0] == '-')
		sidlen = 0;
	idlen = (size_t)(nl - p);
	if (!idlen || idlen > PT_STORE_MAX_JOB_ID || memchr(p, 0, idlen))
		return -EINVAL;
	x.ended_ns = ended;
	x.attempt = (unsigned)att;
	x.maxrss_kib = (uint64_t)rss;
	x.seed = (uint64_t)seed;
	x.session_id = sid;
	x.job_id = p;
	return add(h, &x, sidlen, idlen, dur, false);
}

/* Job id, then oldest first, then attempt: the order of the API. */
static int cmp_job(const void *a, const void *b)
{
	const struct hent *x = *(const struct hent *const *)a;
	const struct hent *y = *(const struct hent *const *)b;
	int c = strcmp(x->pub.job_id, y->pub.job_id);

	if (c)
		return c;
	if (x->pub.ended_ns != y->pub.ended_ns)
		return x->pub.ended_ns < y->pub.ended_ns ? -1 : 1;
	if (x->pub.attempt != y->pub.attempt)
		return x->pub.attempt < y->pub.attempt ? -1 : 1;
	return strcmp(x->pub.session_id, y->pub.session_id);
}

static void sort_jobs(struct pt_store_history *h)
{
	if (!h->sorted && h->v.n)
		qsort(h->v.v, h->v.n, sizeof(h->v.v[0]), cmp_job);
	h->sorted = true;
}

int pt__store_history_parse(const char *data, size_t len, const char *name,
			    struct pt_diags *diags,
			    struct pt_store_history **ret)
{
	struct pt_store_history *h = pt__calloc(1, sizeof(*h));
	const char *p = data, *end = data + len;
	unsigned line = 1;
	int r = 0;

	if (!h)
		return -ENOMEM;
	if (len < sizeof(HIST_MAGIC) - 1 ||
	    memcmp(data, HIST_MAGIC, sizeof(HIST_MAGIC) - 1) != 0) {
		pt__store_diag(diags, PT_SEV_ERROR, PT_ECORRUPT, name, 1, NULL,
			       "not a history file (expected '%.*s')",
			       (int)sizeof(HIST_MAGIC) - 2, HIST_MAGIC);
		r = PT_ECORRUPT;
		goto out;
	}
	p += sizeof(HIST_MAGIC) - 1;
	while (p < end && r == 0) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		line++;
		if (!nl) {
			pt__store_diag(diags, PT_SEV_ERROR, PT_ECORRUPT, name,
				       line, NULL, "truncated line");
			r = PT_ECORRUPT;
			break;
		}
		if (h->v.n >= PT_STORE_HISTORY_MAX_ENTRIES) {
			pt__store_diag(diags, PT_SEV_ERROR, PT_ECORRUPT, name,
				       line, NULL, "more than %u entries",
				       PT_STORE_HISTORY_MAX_ENTRIES);
			r = PT_ECORRUPT;
			break;
		}
		r = parse_line(p, nl, h);
		if (r == -EINVAL) {
			pt__store_diag(diags, PT_SEV_ERROR, PT_ECORRUPT, name,
				       line, NULL,
				       "expected '<ended_ns> <outcome> "
				       "<attempt> <duration_ns> <maxrss_kib> "
				       "<seed> <session id> <job id>'");
			r = PT_ECORRUPT;
		}
		p = nl + 1;
	}
out:
	if (r < 0) {
		pt_store_history_free(h);
		return r;
	}
	sort_jobs(h);
	*ret = h;
	return 0;
}

static int load_path(const char *path, struct pt_diags *diags,
		     struct pt_store_history **ret)
{
	char *data = NULL;
	size_t len = 0;
	int r = pt__store_read_repo_file(path, PT_STORE_HISTORY_MAX_BYTES,
					 diags, &data, &len);

	if (r == -ENOENT) {
		*ret = pt__calloc(1, sizeof(**ret));
		return *ret ? 0 : -ENOMEM;
	}
	if (r < 0)
		return r;
	r = pt__store_history_parse(data, len, path, diags, ret);
	pt__free(data);
	return r;
}

int pt_store_history_load(const char *repo, struct pt_diags *diags,
			  struct pt_store_history **ret)
{
	char *path = NULL;
	int r;

	if (!ret)
		return -EINVAL;
	r = pt__store_repo_file(repo, HIST_FILE, NULL, &path);
	if (r == 0)
		r = load_path(path, diags, ret);
	pt__free(path);
	return r;
}

/* Binary search for the first entry of job_id (sorted by job). */
size_t pt_store_history_job(const struct pt_store_history *h,
			    const char *job_id, size_t *ret_first)
{
	size_t lo = 0, hi, n = 0;

	*ret_first = 0;
	if (!h || !job_id)
		return 0;
	hi = h->v.n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(h->v.v[mid]->pub.job_id, job_id) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	while (lo + n < h->v.n && !strcmp(h->v.v[lo + n]->pub.job_id, job_id))
		n++;
	*ret_first = lo;
	return n;
}

static bool measured(enum pt_outcome o)
{
	return o == PT_OUTCOME_PASS || o == PT_OUTCOME_FAIL;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

double pt_store_history_median(const struct pt_store_history *h,
			       const char *job_id)
{
	int64_t v[PT_STORE_HISTORY_PER_JOB];
	size_t first, n = pt_store_history_job(h, job_id, &first), m = 0;

	/* The newest PT_STORE_HISTORY_PER_JOB measured attempts. */
	for (size_t i = first + n; i-- > first && m < PT_ARRAY_SIZE(v);) {
		const struct hent *e = h->v.v[i];
		if (measured(e->pub.outcome) && e->dur_ns > 0)
			v[m++] = e->dur_ns;
	}
	if (!m)
		return -1;
	qsort(v, m, sizeof(v[0]), cmp_i64);
	if (m % 2)
		return (double)v[m / 2] / 1e9;
	return ((double)v[m / 2 - 1] + (double)v[m / 2]) / 2e9;
}

static bool is_fail(enum pt_outcome o)
{
	return o == PT_OUTCOME_FAIL || o == PT_OUTCOME_CRASH ||
	       o == PT_OUTCOME_TIMEOUT;
}

static int cmp_flake(const void *a, const void *b)
{
	const struct pt_store_flake *x = a, *y = b;

	if (x->rate != y->rate)
		return x->rate > y->rate ? -1 : 1;
	return strcmp(x->job_id, y->job_id);
}

int pt_store_history_flakes(const struct pt_store_history *h, bool all,
			    struct pt_store_flake **ret, size_t *ret_n)
{
	struct pt_store_flake *v = NULL;
	size_t nv = 0;

	*ret = NULL;
	*ret_n = 0;
	if (!h)
		return -EINVAL;
	for (size_t i = 0; i < h->v.n;) {
		size_t j = i;
		struct pt_store_flake f = { .job_id = h->v.v[i]->pub.job_id };

		for (; j < h->v.n && !strcmp(h->v.v[j]->pub.job_id, f.job_id);
		     j++) {
			const struct pt_store_hist *x = &h->v.v[j]->pub;
			bool seen = false;

			if (!is_fail(x->outcome) &&
			    x->outcome != PT_OUTCOME_PASS)
				continue;
			f.runs++;
			f.fails += is_fail(x->outcome);
			for (size_t k = i; k < j && !seen; k++)
				seen = (is_fail(h->v.v[k]->pub.outcome) ||
					h->v.v[k]->pub.outcome ==
						PT_OUTCOME_PASS) &&
				       !strcmp(h->v.v[k]->pub.session_id,
					       x->session_id);
			f.sessions += !seen;
		}
		i = j;
		if (!f.runs || (!all && (!f.fails || f.fails == f.runs)))
			continue;
		f.rate = (double)f.fails / f.runs;
		if (!v) {
			v = pt__calloc(h->v.n, sizeof(*v));
			if (!v)
				return -ENOMEM;
		}
		v[nv++] = f;
	}
	if (nv)
		qsort(v, nv, sizeof(*v), cmp_flake);
	*ret = v;
	*ret_n = nv;
	return 0;
}

static bool entry_ok(const struct pt_store_hist *x)
{
	const char *id = x->job_id, *sid = x->session_id;

	return id && *id && strlen(id) <= PT_STORE_MAX_JOB_ID &&
	       !strchr(id, '\n') && (!sid || sid_ok(sid, strlen(sid))) &&
	       x->duration >= 0 && x->attempt >= 1 &&
	       x->outcome > PT_OUTCOME_NONE && x->outcome < PT_OUTCOME_COUNT_ &&
	       x->ended_ns >= 0 && x->seed <= INT64_MAX &&
	       x->maxrss_kib <= INT64_MAX;
}

int pt_store_history_new(struct pt_store_history **ret)
{
	*ret = pt__calloc(1, sizeof(**ret));
	if (!*ret)
		return -ENOMEM;
	(*ret)->sorted = true;
	return 0;
}

int pt_store_history_add(struct pt_store_history *h,
			 const struct pt_store_hist *v)
{
	struct pt_store_hist x;

	if (!h || !v || !entry_ok(v))
		return -EINVAL;
	x = *v;
	if (!x.session_id)
		x.session_id = "";
	if (!x.ended_ns)
		x.ended_ns = pt__wall_ns();
	return add(h, &x, strlen(x.session_id), strlen(x.job_id),
		   to_ns(x.duration), true);
}

/* Newest first, then job, then attempt: the file's order and eviction's. */
static int cmp_newest(const void *a, const void *b)
{
	const struct hent *x = *(const struct hent *const *)a;
	const struct hent *y = *(const struct hent *const *)b;
	int c;

	if (x->pub.ended_ns != y->pub.ended_ns)
		return x->pub.ended_ns > y->pub.ended_ns ? -1 : 1;
	if ((c = strcmp(x->pub.job_id, y->pub.job_id)))
		return c;
	if (x->pub.attempt != y->pub.attempt)
		return x->pub.attempt > y->pub.attempt ? -1 : 1;
	return strcmp(x->pub.session_id, y->pub.session_id);
}

static int write_hist(const char *path, struct pt_store_history *h)
{
	struct pt_buf b = PT_BUF_INIT;
	struct pt_map per = PT_MAP_INIT; /* job id -> entries written */
	size_t kept = 0;
	int r;

	qsort(h->v.v, h->v.n, sizeof(h->v.v[0]), cmp_newest);
	r = pt__buf_adds(&b, HIST_MAGIC);
	for (size_t i = 0; r == 0 && i < h->v.n; i++) {
		const struct hent *e = h->v.v[i];
		const char *id = e->pub.job_id;
		uintptr_t c = (uintptr_t)pt__map_get(&per, id, strlen(id));

		if (c >= PT_STORE_HISTORY_PER_JOB)
			continue;
		/* Bounded: half the read limit, the newest kept. */
		if (kept >= PT_STORE_HISTORY_MAX_ENTRIES ||
		    b.len + strlen(id) + HIST_SID_MAX + 128 >
			    PT_STORE_HISTORY_MAX_BYTES / 2)
			break;
		r = pt__map_put(&per, id, strlen(id), (void *)(c + 1), NULL);
		if (r >= 0)
			r = pt__buf_addf(
				&b, "%lld %s %u %lld %llu %llu %s %s\n",
				(long long)e->pub.ended_ns,
				pt_outcome_name(e->pub.outcome), e->pub.attempt,
				(long long)e->dur_ns,
				(unsigned long long)e->pub.maxrss_kib,
				(unsigned long long)e->pub.seed,
				*e->pub.session_id ? e->pub.session_id : "-",
				id);
		kept++;
	}
	pt__map_release(&per);
	if (r == 0)
		r = pt__write_file_atomic(path, b.s, b.len, 0600);
	pt__buf_release(&b);
	h->sorted = false;
	return r;
}

int pt_store_history_record(const char *repo, const struct pt_store_hist *v,
			    size_t n, struct pt_diags *diags)
{
	struct pt_store_history *h = NULL;
	char *path = NULL;
	int64_t now = pt__wall_ns();
	int fd, r;

	if (n && !v)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!entry_ok(&v[i]))
			return -EINVAL;
	if (!n)
		return 0;
	fd = pt__store_repo_lock(repo, HIST_FILE, HIST_LOCK, &path);
	r = fd < 0 ? fd : 0;
	if (r == 0) {
		r = load_path(path, diags, &h);
		if (r == PT_ECORRUPT || r == PT_ETOOBIG) {
			pt__store_diag(diags, PT_SEV_WARNING, r, path, 0, NULL,
				       "damaged; starting it again");
			h = pt__calloc(1, sizeof(*h));
			r = h ? 0 : -ENOMEM;
		}
	}
	for (size_t i = 0; r == 0 && i < n; i++) {
		struct pt_store_hist x = v[i];

		if (!x.session_id)
			x.session_id = "";
		if (!x.ended_ns)
			x.ended_ns = now;
		r = add(h, &x, strlen(x.session_id), strlen(x.job_id),
			to_ns(x.duration), false);
	}
	if (r == 0)
		r = write_hist(path, h);
	if (fd >= 0)
		pt__close(fd);
	pt_store_history_free(h);
	pt__free(path);
	return r < 0 ? r : 0;
}
