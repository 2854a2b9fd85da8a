/*
 * store/durations.c - job durations learned from earlier sessions of a
 * repository (docs/store.md, "Learned durations").
 *
 * One small text file per repository, <repo>/durations, so that a run
 * reads one file at start instead of opening earlier sessions:
 *
 *	proctor-durations 1
 *	<duration_ns> <updated_ns> <job id>
 *	...
 *
 * Integers only (nanoseconds), so the file does not depend on the locale
 * and a duration measured by the runner (a whole number of nanoseconds
 * divided by 1e9) reads back as the same double. The job id is the rest
 * of the line. The file is rewritten atomically (pt__write_file_atomic)
 * under an flock on <repo>/durations.lock, so concurrent runs never lose
 * each other's updates; it keeps at most PT_STORE_DURATIONS_MAX_JOBS
 * entries and about PT_STORE_DURATIONS_MAX_BYTES / 2 bytes, the most
 * recently measured ones.
 */
#include "base/common.h"
#include "base/map.h"
#include "base/str.h"
#include "base/vec.h"
#include "os/clock.h"
#include "os/file.h"
#include "os/lock.h"
#include "store/store-internal.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#define DUR_FILE  "durations"
#define DUR_LOCK  "durations.lock"
#define DUR_MAGIC "proctor-durations 1\n"

struct dent {
	int64_t dur_ns;
	int64_t updated_ns;
	struct pt_store_duration pub; /* pub.job_id points to id */
	char id[];
};

struct pt_store_durations {
	struct pt_map map; /* id -> struct dent * (keys borrowed from it) */
	PT_VEC(struct dent *) v;
};

static void set_free(struct pt_store_durations *d)
{
	pt_vec_foreach(&d->v, i)
		pt__free(d->v.v[i]);
	pt_vec_release(&d->v);
	pt__map_release(&d->map);
}

struct pt_store_durations *pt_store_durations_free(struct pt_store_durations *d)
{
	if (d) {
		set_free(d);
		pt__free(d);
	}
	return NULL;
}

size_t pt_store_durations_count(const struct pt_store_durations *d)
{
	return d ? d->v.n : 0;
}

const struct pt_store_duration *
pt_store_durations_get(const struct pt_store_durations *d, size_t i)
{
	return d && i < d->v.n ? &d->v.v[i]->pub : NULL;
}

const struct pt_store_duration *
pt_store_durations_find(const struct pt_store_durations *d, const char *id)
{
	struct dent *e;

	if (!d || !id)
		return NULL;
	e = pt__map_get(&d->map, id, strlen(id));
	return e ? &e->pub : NULL;
}

/* Seconds -> whole nanoseconds (exact for what the runner measures). */
static int64_t to_ns(double s)
{
	if (!(s > 0))
		return 0;
	if (s > 9.2e9)
		return INT64_MAX;
	return (int64_t)(s * 1e9 + 0.5); /* s > 0: rounds to nearest */
}

/* Inserts or replaces (when newer or equal) the entry of id. */
static int put(struct pt_store_durations *d, const char *id, size_t len,
	       int64_t dur_ns, int64_t updated_ns)
{
	struct dent *e = pt__map_get(&d->map, id, len);

	if (e) {
		if (updated_ns >= e->updated_ns) {
			e->dur_ns = dur_ns;
			e->updated_ns = updated_ns;
			e->pub.duration = (double)dur_ns / 1e9;
			e->pub.updated_ns = updated_ns;
		}
		return 0;
	}
	if (pt_vec_reserve(&d->v, d->v.n + 1) < 0)
		return -ENOMEM;
	e = pt__malloc(sizeof(*e) + len + 1);
	if (!e)
		return -ENOMEM;
	memcpy(e->id, id, len);
	e->id[len] = 0;
	e->dur_ns = dur_ns;
	e->updated_ns = updated_ns;
	e->pub.job_id = e->id;
	e->pub.duration = (double)dur_ns / 1e9;
	e->pub.updated_ns = updated_ns;
	if (pt__map_put(&d->map, e->id, len, e, NULL) < 0) {
		pt__free(e);
		return -ENOMEM;
	}
	d->v.v[d->v.n++] = e;
	return 0;
}

/* A decimal integer field ending at a space: 0 or -EINVAL. */
int pt__store_field_i64(const char **p, const char *end, int64_t *ret)
{
	char buf[24];
	const char *sp = memchr(*p, ' ', (size_t)(end - *p));
	size_t n;

	if (!sp || sp == *p || (n = (size_t)(sp - *p)) >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, *p, n);
	buf[n] = 0;
	if (pt__parse_i64(buf, ret) < 0 || *ret < 0)
		return -EINVAL;
	*p = sp + 1;
	return 0;
}

int pt__store_durations_parse(const char *data, size_t len, const char *name,
			      struct pt_diags *diags,
			      struct pt_store_durations **ret)
{
	struct pt_store_durations *d = pt__calloc(1, sizeof(*d));
	const char *p = data, *end = data + len;
	unsigned line = 1;
	int r = 0;

	if (!d)
		return -ENOMEM;
	if (len < sizeof(DUR_MAGIC) - 1 ||
	    memcmp(data, DUR_MAGIC, sizeof(DUR_MAGIC) - 1) != 0) {
		pt__store_diag(diags, PT_SEV_ERROR, PT_ECORRUPT, name, 1, NULL,
			       "not a durations file (expected '%.*s')",
			       (int)sizeof(DUR_MAGIC) - 2, DUR_MAGIC);
		r = PT_ECORRUPT;
		goto out;
	}
	p += sizeof(DUR_MAGIC) - 1;
	while (p < end && r == 0) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		int64_t dur_ns, upd;
		size_t idlen;

		line++;
		if (!nl) {
			pt__store_diag(diags, PT_SEV_ERROR, PT_ECORRUPT, name,
				       line, NULL, "truncated line");
			r = PT_ECORRUPT;
			break;
		}
		if (pt__store_field_i64(&p, nl, &dur_ns) < 0 ||
		    pt__store_field_i64(&p, nl, &upd) < 0) {
			pt__store_diag(diags, PT_SEV_ERROR, PT_ECORRUPT, name,
				       line, NULL,
				       "expected '<duration_ns> <updated_ns> "
				       "<job id>'");
			r = PT_ECORRUPT;
			break;
		}
		idlen = (size_t)(nl - p);
		if (!idlen || idlen > PT_STORE_MAX_JOB_ID ||
		    memchr(p, 0, idlen)) {
			pt__store_diag(diags, PT_SEV_ERROR, PT_ECORRUPT, name,
				       line, NULL, "bad job id");
			r = PT_ECORRUPT;
			break;
		}
		if (d->v.n >= PT_STORE_DURATIONS_MAX_JOBS) {
			pt__store_diag(diags, PT_SEV_ERROR, PT_ECORRUPT, name,
				       line, NULL, "more than %u jobs",
				       PT_STORE_DURATIONS_MAX_JOBS);
			r = PT_ECORRUPT;
			break;
		}
		r = put(d, p, idlen, dur_ns, upd);
		p = nl + 1;
	}
out:
	if (r < 0) {
		pt_store_durations_free(d);
		return r;
	}
	*ret = d;
	return 0;
}

int pt__store_repo_file(const char *repo, const char *name, char **ret_repo,
			char **ret)
{
	char *rp = NULL;
	struct pt_buf b = PT_BUF_INIT;
	int r = pt__store_repo_path(repo, &rp);

	if (r < 0)
		return r;
	r = pt__buf_addf(&b, "%s/%s", rp, name);
	if (r < 0) {
		pt__free(rp);
		pt__buf_release(&b);
		return r;
	}
	*ret = pt__buf_detach(&b, NULL);
	if (ret_repo)
		*ret_repo = rp;
	else
		pt__free(rp);
	return 0;
}

int pt__store_repo_lock(const char *repo, const char *file,
			const char *lockname, char **ret_path)
{
	char *rp = NULL, *path = NULL, *lock = NULL;
	int fd = -1, r = pt__store_repo_file(repo, file, &rp, &path);

	if (r == 0)
		r = pt__store_repo_file(repo, lockname, NULL, &lock);
	if (r == 0)
		r = pt__mkdir_p(rp, 0700);
	if (r == 0) {
		fd = pt__lock_open(lock, true);
		if (fd < 0)
			r = fd;
	}
	if (r == 0)
		r = pt__lock(fd, PT_LOCK_EX);
	if (r < 0 && fd >= 0)
		pt__close(fd);
	pt__free(rp);
	pt__free(lock);
	if (r < 0) {
		pt__free(path);
		return r;
	}
	*ret_path = path;
	return fd;
}

int pt__store_read_repo_file(const char *path, unsigned max,
			     struct pt_diags *diags, char **data, size_t *len)
{
	int r = pt__read_file(path, max, data, len);

	if (r == PT_ETOOBIG)
		pt__store_diag(diags, PT_SEV_ERROR, r, path, 0, NULL,
			       "larger than %u bytes", max);
	return r;
}

/* Reads path into a set; an absent file is an empty set. */
static int load_path(const char *path, struct pt_diags *diags,
		     struct pt_store_durations **ret)
{
	char *data = NULL;
	size_t len = 0;
	int r = pt__store_read_repo_file(path, PT_STORE_DURATIONS_MAX_BYTES,
					 diags, &data, &len);

	if (r == -ENOENT) {
		*ret = pt__calloc(1, sizeof(**ret));
		return *ret ? 0 : -ENOMEM;
	}
	if (r < 0)
		return r;
	r = pt__store_durations_parse(data, len, path, diags, ret);
	pt__free(data);
	return r;
}

int pt_store_durations_load(const char *repo, struct pt_diags *diags,
			    struct pt_store_durations **ret)
{
	char *path = NULL;
	int r;

	if (!ret)
		return -EINVAL;
	r = pt__store_repo_file(repo, DUR_FILE, NULL, &path);
	if (r == 0)
		r = load_path(path, diags, ret);
	pt__free(path);
	return r;
}

/* Newest first, then by id: the order of the file and of eviction. */
static int cmp_newest(const void *a, const void *b)
{
	const struct dent *x = *(const struct dent *const *)a;
	const struct dent *y = *(const struct dent *const *)b;

	if (x->updated_ns != y->updated_ns)
		return x->updated_ns > y->updated_ns ? -1 : 1;
	return strcmp(x->id, y->id);
}

static int write_set(const char *path, struct pt_store_durations *d)
{
	struct pt_buf b = PT_BUF_INIT;
	int r;

	qsort(d->v.v, d->v.n, sizeof(d->v.v[0]), cmp_newest);
	r = pt__buf_adds(&b, DUR_MAGIC);
	for (size_t i = 0; r == 0 && i < d->v.n; i++) {
		const struct dent *e = d->v.v[i];

		/* Bounded: the oldest entries go first (half the read limit).
		 */
		if (i >= PT_STORE_DURATIONS_MAX_JOBS ||
		    b.len + strlen(e->id) + 48 >
			    PT_STORE_DURATIONS_MAX_BYTES / 2)
			break;
		r = pt__buf_addf(&b, "%lld %lld %s\n", (long long)e->dur_ns,
				 (long long)e->updated_ns, e->id);
	}
	if (r == 0)
		r = pt__write_file_atomic(path, b.s, b.len, 0600);
	pt__buf_release(&b);
	return r;
}

int pt_store_durations_record(const char *repo,
			      const struct pt_store_duration *v, size_t n,
			      struct pt_diags *diags)
{
	struct pt_store_durations *d = NULL;
	char *path = NULL;
	int64_t now = pt__wall_ns();
	int fd = -1, r;

	if (n && !v)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		const char *id = v[i].job_id;
		if (!id || !*id || strlen(id) > PT_STORE_MAX_JOB_ID ||
		    strchr(id, '\n') || !(v[i].duration >= 0))
			return -EINVAL;
	}
	/* Short critical section: read, merge, write. */
	fd = pt__store_repo_lock(repo, DUR_FILE, DUR_LOCK, &path);
	r = fd < 0 ? fd : 0;
	if (r == 0) {
		r = load_path(path, diags, &d);
		if (r == PT_ECORRUPT || r == PT_ETOOBIG) {
			/* A hint only: a damaged file is replaced. */
			pt__store_diag(diags, PT_SEV_WARNING, r, path, 0, NULL,
				       "damaged; starting it again");
			d = pt__calloc(1, sizeof(*d));
			r = d ? 0 : -ENOMEM;
		}
	}
	for (size_t i = 0; r == 0 && i < n; i++)
		r = put(d, v[i].job_id, strlen(v[i].job_id),
			to_ns(v[i].duration), now);
	if (r == 0)
		r = write_set(path, d);
	if (fd >= 0)
		pt__close(fd); /* releases the lock */
	pt_store_durations_free(d);
	pt__free(path);
	return r < 0 ? r : 0;
}

int pt_store_learn_durations(struct pt_store *s, struct pt_diags *diags)
{
	struct pt_store_durations seen = { .map = PT_MAP_INIT };
	struct pt_store_duration *v = NULL;
	sqlite3_stmt *st = NULL;
	int rc, r = 0;

	if (!s)
		return -EINVAL;
	/* Measured runs only: a timeout measures the timeout, a crash or
	 * a skip nothing useful. The last one of each job wins. */
	rc = sqlite3_prepare_v2(s->db,
				"SELECT job, duration FROM results"
				" WHERE outcome IN ('pass', 'fail')"
				" AND duration > 0 ORDER BY seq",
				-1, &st, NULL);
	if (rc != SQLITE_OK)
		return pt__store_sqlite_err(rc);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && r == 0) {
		const char *id = (const char *)sqlite3_column_text(st, 0);
		double dur = sqlite3_column_double(st, 1);
		size_t len;

		if (!id || !(len = strlen(id)) || len > PT_STORE_MAX_JOB_ID ||
		    strchr(id, '\n'))
			continue;
		r = put(&seen, id, len, to_ns(dur), 0);
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = pt__store_sqlite_err(rc);
	sqlite3_finalize(st);
	if (r == 0 && seen.v.n) {
		v = pt__calloc(seen.v.n, sizeof(*v));
		if (!v)
			r = -ENOMEM;
	}
	for (size_t i = 0; v && i < seen.v.n; i++)
		v[i] = seen.v.v[i]->pub;
	if (r == 0 && seen.v.n)
		r = pt_store_durations_record(s->repo, v, seen.v.n, diags);
	pt__free(v);
	r = r < 0 ? r : (int)seen.v.n;
	set_free(&seen);
	return r;
}
