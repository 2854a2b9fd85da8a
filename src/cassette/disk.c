/*
 * cassette/disk.c - the cassette file: reading it whole and consistent,
 * and recording by appending in place.
 *
 * A record appends under an exclusive lock on "<path>.lock" (an
 * open-file-description lock, so threads and processes alike; every wait
 * has a deadline): the interaction's text goes where the interactions
 * array ends, followed by the text after the array (the "tail": "\n  ],"
 * and the keys after "interactions", e.g. "version"), which it
 * overwrites. A record costs its own size plus the tail's, whatever the
 * size of the file.
 *
 * What this needs to know about the file (struct pt__disk: identity,
 * size, where the tail starts and what it is) is checked against the
 * file under the lock before each append. A file grown by other
 * recorders is read from where the knowledge ends (only what they
 * added); an unknown or replaced file is read in full once; a file whose
 * tail is not the canonical one (written by another tool, or with
 * nothing recorded yet) is rewritten once in canonical form (atomically,
 * by rename).
 *
 * Crash safety: before the tail is overwritten, the lock file receives
 * an undo record (offset, new size, a hash of the new bytes, the old
 * tail) and is synced; it is truncated once the append is synced. Whoever
 * next takes the lock and finds a record checks the appended bytes
 * against the hash: complete, it is kept; torn, the old tail is put back.
 * A reader takes a shared lock on the lock file while it reads (so it
 * never sees an append in progress) and applies a pending undo record in
 * memory.
 */
#include "base/common.h"
#include "base/diag.h"
#include "base/map.h"
#include "cassette/internal.h"
#include "os/fd.h"
#include "os/lock.h"
#include "os/path.h"
#include "os/file.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOCK_TIMEOUT_MS 30000
#define UNDO_MAGIC	"PTUNDO1"

void pt__disk_clear(struct pt__disk *d)
{
	pt__free(d->tail);
	memset(d, 0, sizeof(*d));
}

/* ---- reading ---------------------------------------------------------- */

struct undo {
	uint64_t off, size, hash;
	const char *tail;
	size_t tail_len;
};

/* Parses an undo record (text of the lock file); false when none. */
static bool undo_parse(const char *s, size_t n, struct undo *u)
{
	const char *nl = memchr(s, '\n', n);
	char head[128];
	size_t tl;

	if (!nl || (size_t)(nl - s) >= sizeof(head))
		return false;
	memcpy(head, s, (size_t)(nl - s));
	head[nl - s] = '\0';
	if (sscanf(head, UNDO_MAGIC " %" SCNu64 " %" SCNu64 " %" SCNx64 " %zu",
		   &u->off, &u->size, &u->hash, &tl) != 4)
		return false;
	if (tl != n - (size_t)(nl + 1 - s) || u->off > u->size)
		return false;
	u->tail = nl + 1;
	u->tail_len = tl;
	return true;
}

/* Whether the file text (len bytes) holds the whole append u. */
static bool undo_complete(const struct undo *u, const char *text, size_t len)
{
	return len == u->size && u->off <= len &&
	       pt__hash_bytes(text + u->off, len - u->off) == u->hash;
}

static int read_lockfile(int lfd, char **ret, size_t *ret_len)
{
	if (pt__seek(lfd, 0) < 0)
		return -errno;
	return pt__read_fd(lfd, 1u << 24, ret, ret_len);
}

int pt__undo_apply(const char *rec, size_t rn, char **text, size_t *len)
{
	struct undo u;
	char *t;

	if (!undo_parse(rec, rn, &u) || undo_complete(&u, *text, *len))
		return 0;
	if (u.off > *len)
		return PT_ECORRUPT;
	t = pt__realloc(*text, u.off + u.tail_len + 1);
	if (!t)
		return -ENOMEM;
	memcpy(t + u.off, u.tail, u.tail_len);
	t[u.off + u.tail_len] = '\0';
	*text = t;
	*len = u.off + u.tail_len;
	return 0;
}

/* The file as it is between appends: a torn append (pending undo
 * record) is undone in memory. */
static int undo_in_memory(int lfd, char **text, size_t *len)
{
	char *rec = NULL;
	size_t rn = 0;
	int r = read_lockfile(lfd, &rec, &rn);

	if (r == 0)
		r = pt__undo_apply(rec, rn, text, len);
	pt__free(rec);
	return r;
}

static int read_all(int fd, size_t limit, char **ret, size_t *ret_len)
{
	if (pt__seek(fd, 0) < 0)
		return -errno;
	return pt__read_fd(fd, limit, ret, ret_len);
}

/*
 * Reads the whole file as it is between appends: under a shared lock on
 * the lock file when there is one. The lock file is created before any
 * append and never removed, so a read during which it did not exist saw
 * no append. *st: the file's identity and size.
 */
int pt__disk_read(struct pt_cassette *c, char **ret, size_t *ret_len,
		  struct stat *st)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		int fd = pt__open(c->path, O_RDONLY, 0);
		int lfd = -1, r;

		if (fd < 0)
			return -errno;
		if (pt__fstat(fd, st) < 0) {
			r = -errno;
			pt__close(fd);
			return r;
		}
		if ((uint64_t)st->st_size > c->o.max_bytes) {
			pt__close(fd);
			return PT_ETOOBIG;
		}
		lfd = pt__open(c->lockpath, O_RDONLY | O_NOFOLLOW, 0);
		if (lfd >= 0) {
			r = pt__lock_wait(lfd, PT_LOCK_SH, LOCK_TIMEOUT_MS);
			if (r == 0)
				r = read_all(fd, c->o.max_bytes, ret, ret_len);
			if (r == 0) {
				r = undo_in_memory(lfd, ret, ret_len);
				if (r < 0)
					pt__free(*ret);
			}
			if (r == 0 && pt__fstat(fd, st) < 0)
				r = -errno;
			pt__lock_wait(lfd, PT_LOCK_UN, LOCK_TIMEOUT_MS);
			pt__close(lfd);
			pt__close(fd);
			return r;
		}
		/* no lock file (or one this user cannot read: then no better
		 * than reading as is) */
		bool absent = errno == ENOENT;

		r = read_all(fd, c->o.max_bytes, ret, ret_len);
		pt__close(fd);
		if (r < 0 || !absent || !pt__exists(c->lockpath))
			return r;
		pt__free(*ret); /* a recorder started meanwhile: again */
		*ret = NULL;
	}
	return -EAGAIN;
}

/* ---- canonical text ----------------------------------------------------- */

/* The tail of doc's canonical text: what follows the last interaction. */
static int tail_of(json_t *doc, struct pt_buf *out)
{
	static const char key[] = "\n  \"interactions\": []";
	json_t *copy = json_copy(doc);
	char *text = NULL, *at;
	int r = -ENOMEM;

	if (!copy ||
	    json_object_set_new(copy, "interactions", json_array()) < 0)
		goto out;
	text = pt__cassette_dump(copy);
	if (!text)
		goto out;
	at = strstr(text, key);
	r = at ? 0 : -EINVAL;
	if (r == 0 && (pt__buf_adds(out, "\n  ]") < 0 ||
		       pt__buf_adds(out, at + strlen(key)) < 0))
		r = -ENOMEM;
out:
	pt__free(text);
	json_decref(copy);
	return r;
}

/* Sets what is known of the file from its full text: valid when its
 * tail is the canonical one after at least one interaction. */
static int know_text(struct pt_cassette *c, json_t *doc, const char *text,
		     size_t len, const struct stat *st)
{
	struct pt_buf t = PT_BUF_INIT;
	int r;

	pt__disk_clear(&c->disk);
	r = tail_of(doc, &t);
	if (r == -EINVAL)
		return 0; /* not ours: the first append rewrites it */
	if (r < 0)
		return r;
	if (json_array_size(json_object_get(doc, "interactions")) > 0 &&
	    len > t.len + 1 && memcmp(text + len - t.len, t.s, t.len) == 0 &&
	    text[len - t.len - 1] == '}') {
		c->disk.valid = true;
		c->disk.dev = st->st_dev;
		c->disk.ino = st->st_ino;
		c->disk.size = len;
		c->disk.arr_end = len - t.len;
		c->disk.tail_len = t.len;
		c->disk.tail = pt__buf_detach(&t, NULL);
		if (!c->disk.tail) {
			pt__disk_clear(&c->disk);
			return -ENOMEM;
		}
	}
	pt__buf_release(&t);
	return 0;
}

int pt__disk_know(struct pt_cassette *c, json_t *doc, const char *text,
		  size_t len, const struct stat *st)
{
	return know_text(c, doc, text, len, st);
}

/* ",\n    " and ia's canonical text indented as an element of the
 * interactions array; *ret_ia: ia as it reads back (keys sorted). */
static int element_text(json_t *ia, struct pt_buf *out, json_t **ret_ia)
{
	json_error_t e;
	char *s;
	int r = 0;

	if (pt__ia_normalize(ia) < 0)
		return -ENOMEM;
	s = json_dumps(ia, JSON_INDENT(2) | JSON_SORT_KEYS);
	if (!s)
		return -ENOMEM;
	*ret_ia = json_loads(s, 0, &e);
	if (!*ret_ia)
		r = -ENOMEM;
	if (r == 0)
		r = pt__buf_adds(out, ",\n    ");
	for (const char *p = s; *p && r == 0; p++)
		r = *p == '\n' ? pt__buf_adds(out, "\n    ")
			       : pt__buf_addch(out, *p);
	pt__json_free(s);
	return r;
}

/* ---- under the lock ---------------------------------------------------- */

/* A pending undo record (a recorder died in an append): keeps the append
 * when it is whole, else puts the old tail back. Then clears the record. */
static int recover(int lfd, int cfd)
{
	char *rec = NULL, *text = NULL;
	size_t rn = 0, len = 0;
	struct undo u;
	int r = read_lockfile(lfd, &rec, &rn);

	if (r < 0 || rn == 0)
		goto out;
	if (cfd >= 0 && undo_parse(rec, rn, &u)) {
		r = read_all(cfd, SIZE_MAX, &text, &len);
		if (r == 0 && !undo_complete(&u, text, len)) {
			if (pt__seek(cfd, (off_t)u.off) < 0)
				r = -errno;
			if (r == 0)
				r = pt__write_all(cfd, u.tail, u.tail_len);
			if (r == 0 &&
			    pt__ftruncate(cfd, (off_t)(u.off + u.tail_len)) < 0)
				r = -errno;
			if (r == 0)
				r = pt__io_fdatasync(cfd);
		}
	}
	if (r == 0 && pt__ftruncate(lfd, 0) < 0)
		r = -errno;
out:
	pt__free(rec);
	pt__free(text);
	return r;
}

/* Reads the whole file into the cassette (another recorder replaced it,
 * or it is unknown). */
static int load_full(struct pt_cassette *c, int cfd, struct pt_diags *diags)
{
	char *text = NULL;
	size_t len = 0;
	struct stat st;
	json_t *doc = NULL;
	int r;

	r = pt__fstat(cfd, &st) < 0 ? -errno : 0;
	if (r == 0 && (uint64_t)st.st_size > c->o.max_bytes)
		r = PT_ETOOBIG;
	if (r == 0)
		r = read_all(cfd, c->o.max_bytes, &text, &len);
	if (r == 0)
		r = pt__cassette_parse(c->path, text, len, SIZE_MAX, diags,
				       &doc);
	if (r == 0) {
		pthread_mutex_lock(&c->mu);
		r = pt__entries_build(c, doc, diags);
		if (r == 0) {
			json_decref(c->doc);
			c->doc = doc;
			doc = NULL;
			r = know_text(c, c->doc, text, len, &st);
		} else {
			pt__entries_build(c, c->doc, NULL);
		}
		pthread_mutex_unlock(&c->mu);
	}
	if (doc)
		json_decref(doc);
	pt__free(text);
	return r;
}

/* Adds the interactions other recorders appended after ours; false (0)
 * when the bytes are not what an append makes. */
static int catch_up(struct pt_cassette *c, int cfd, uint64_t size,
		    struct pt_diags *diags)
{
	struct pt__disk *d = &c->disk;
	size_t n = (size_t)(size - d->arr_end), mid;
	struct pt_buf b = PT_BUF_INIT;
	json_t *list = NULL, *ia;
	json_error_t e;
	size_t i;
	int r;

	if (size > c->o.max_bytes)
		return PT_ETOOBIG;
	if (pt__buf_grow(&b, n + 2) < 0)
		return -ENOMEM;
	b.s[0] = '[';
	if (pt__seek(cfd, (off_t)d->arr_end) < 0 ||
	    pt__read_full(cfd, b.s + 1, n) != (ssize_t)n) {
		pt__buf_release(&b);
		return 0;
	}
	mid = n - d->tail_len;
	if (n <= d->tail_len + 2 ||
	    memcmp(b.s + 1 + mid, d->tail, d->tail_len) != 0 || b.s[1] != ',') {
		pt__buf_release(&b);
		return 0;
	}
	b.s[1] = ' '; /* "[ \n    {...},\n    {...}]" */
	b.s[1 + mid] = ']';
	list = json_loadb(b.s, mid + 2, 0, &e);
	pt__buf_release(&b);
	if (!json_is_array(list)) {
		json_decref(list);
		return 0;
	}
	pthread_mutex_lock(&c->mu);
	r = pt_vec_reserve(&c->e, c->e.n + json_array_size(list));
	json_array_foreach(list, i, ia)
	{
		json_t *all = json_object_get(c->doc, "interactions");

		if (r < 0)
			break;
		r = json_array_append(all, ia) < 0 ? -ENOMEM : 0;
		if (r == 0)
			r = pt__entry_add(c, json_array_get(all, c->e.n),
					  c->e.n, diags);
	}
	pthread_mutex_unlock(&c->mu);
	json_decref(list);
	if (r < 0)
		return r;
	d->size = size;
	d->arr_end += mid;
	return 1;
}

/*
 * Brings the cassette up to date with the file (under the lock); *ret_cfd
 * the file open for writing, or -1 when it does not exist.
 */
static int sync_locked(struct pt_cassette *c, int lfd, int *ret_cfd,
		       struct pt_diags *diags)
{
	struct stat st;
	int cfd, r;

	*ret_cfd = -1;
	cfd = pt__open(c->path, O_RDWR | O_NOFOLLOW, 0);
	if (cfd < 0 && errno != ENOENT)
		return -errno;
	r = recover(lfd, cfd);
	if (r < 0 || cfd < 0) {
		pt__close(cfd);
		if (cfd < 0)
			pt__disk_clear(&c->disk);
		return r;
	}
	r = pt__fstat(cfd, &st) < 0 ? -errno : 0;
	if (r == 0 && !(c->disk.valid && c->disk.dev == st.st_dev &&
			c->disk.ino == st.st_ino &&
			c->disk.size == (uint64_t)st.st_size)) {
		r = 0;
		if (c->disk.valid && c->disk.dev == st.st_dev &&
		    c->disk.ino == st.st_ino &&
		    (uint64_t)st.st_size > c->disk.size)
			r = catch_up(c, cfd, (uint64_t)st.st_size, diags);
		if (r == 0)
			r = load_full(c, cfd, diags);
		else if (r == 1)
			r = 0;
	}
	if (r < 0) {
		pt__close(cfd);
		return r;
	}
	*ret_cfd = cfd;
	return 0;
}

static int dir_of(const char *path, char **ret)
{
	const char *s = strrchr(path, '/');

	*ret = s && s > path ? pt__strndup(path, (size_t)(s - path)) : NULL;
	return s && s > path && !*ret ? -ENOMEM : 0;
}

/* The lock file, open and locked exclusively; create: may create it. */
static int lock_file(struct pt_cassette *c, int *ret)
{
	char *dir = NULL;
	int fd, r;

	r = dir_of(c->path, &dir);
	if (r == 0 && dir)
		r = pt__mkdir_p(dir, 0755);
	pt__free(dir);
	if (r < 0)
		return r;
	fd = pt__open(c->lockpath, O_RDWR | O_CREAT | O_NOFOLLOW, 0644);
	if (fd < 0)
		return -errno;
	r = pt__lock_wait(fd, PT_LOCK_EX, LOCK_TIMEOUT_MS);
	if (r < 0) {
		pt__close(fd);
		return r;
	}
	*ret = fd;
	return 0;
}

static void unlock_file(int fd)
{
	pt__lock_wait(fd, PT_LOCK_UN, LOCK_TIMEOUT_MS);
	pt__close(fd);
}

int pt__disk_refresh(struct pt_cassette *c, struct pt_diags *diags)
{
	int lfd, cfd, r;

	r = lock_file(c, &lfd);
	if (r < 0)
		return r;
	r = sync_locked(c, lfd, &cfd, diags);
	pt__close(cfd);
	unlock_file(lfd);
	return r;
}

static int too_big(struct pt_cassette *c, struct pt_diags *diags,
		   const char *what, size_t limit)
{
	if (diags)
		pt__diags_add(diags, PT_SEV_ERROR, PT_ETOOBIG, c->path, 0,
			      !strcmp(what, "interactions") ? what : NULL,
			      "recording would exceed the limit of %zu %s",
			      limit, what);
	return PT_ETOOBIG;
}

/* The whole document with ia2 appended, written by rename; the file is
 * then known. The in-memory document gets ia2 either way. */
static int write_full(struct pt_cassette *c, json_t *ia2,
		      struct pt_diags *diags)
{
	json_t *all = json_object_get(c->doc, "interactions");
	char *text = NULL;
	struct stat st;
	size_t len = 0;
	int r;

	pthread_mutex_lock(&c->mu);
	r = json_array_append(all, ia2) < 0 ? -ENOMEM : 0;
	if (r == 0) {
		text = pt__cassette_dump(c->doc);
		len = text ? strlen(text) : 0;
		r = !text ? -ENOMEM
		    : len > c->o.max_bytes
			    ? too_big(c, diags, "bytes", c->o.max_bytes)
			    : 0;
	}
	if (r == 0)
		r = pt__write_file_atomic(c->path, text, len, 0644);
	if (r == 0)
		r = pt_vec_reserve(&c->e, c->e.n + 1);
	if (r == 0)
		r = pt__entry_add(c, json_array_get(all, c->e.n), c->e.n,
				  diags);
	if (r < 0 && json_array_size(all) > c->e.n)
		json_array_remove(all, json_array_size(all) - 1);
	if (r == 0 && pt__stat(c->path, &st) == 0)
		r = know_text(c, c->doc, text, len, &st);
	pthread_mutex_unlock(&c->mu);
	pt__free(text);
	return r;
}

/* Appends the element text in place (see the top of the file). */
static int write_append(struct pt_cassette *c, int lfd, int cfd,
			const struct pt_buf *el)
{
	struct pt__disk *d = &c->disk;
	struct pt_buf rec = PT_BUF_INIT, out = PT_BUF_INIT;
	uint64_t size = d->arr_end + el->len + d->tail_len;
	int r;

	r = pt__buf_add(&out, el->s, el->len) < 0 ||
			    pt__buf_add(&out, d->tail, d->tail_len) < 0
		    ? -ENOMEM
		    : 0;
	if (r == 0 &&
	    pt__buf_addf(&rec,
			 UNDO_MAGIC " %" PRIu64 " %" PRIu64 " %" PRIx64
				    " %zu\n",
			 d->arr_end, size, pt__hash_bytes(out.s, out.len),
			 d->tail_len) < 0)
		r = -ENOMEM;
	if (r == 0 && pt__buf_add(&rec, d->tail, d->tail_len) < 0)
		r = -ENOMEM;
	/* the undo record first, durably */
	if (r == 0 && (pt__ftruncate(lfd, 0) < 0 || pt__seek(lfd, 0) < 0))
		r = -errno;
	if (r == 0)
		r = pt__write_all(lfd, rec.s, rec.len);
	if (r == 0)
		r = pt__io_fdatasync(lfd);
	if (r < 0)
		goto out;
	r = pt__seek(cfd, (off_t)d->arr_end) < 0 ? -errno : 0;
	if (r == 0)
		r = pt__write_all(cfd, out.s, out.len);
	if (r == 0)
		r = pt__io_fdatasync(cfd);
	if (r < 0) {
		/* put the old tail back now; else the next holder will */
		(void)recover(lfd, cfd);
		goto out;
	}
	/* the append is whole: should clearing the record fail, the next
	 * holder's recovery keeps the append */
	if (pt__ftruncate(lfd, 0) < 0)
		r = 0;
	d->size = size;
	d->arr_end += el->len;
out:
	pt__buf_release(&rec);
	pt__buf_release(&out);
	return r;
}

int pt__disk_append(struct pt_cassette *c, json_t *ia, struct pt_diags *diags)
{
	struct pt_buf el = PT_BUF_INIT;
	json_t *ia2 = NULL;
	int lfd, cfd = -1, r;

	r = lock_file(c, &lfd);
	if (r < 0) {
		json_decref(ia); /* taken, whatever happens */
		return r;
	}
	r = sync_locked(c, lfd, &cfd, diags);
	if (r == 0 && c->e.n >= c->o.max_interactions)
		r = too_big(c, diags, "interactions", c->o.max_interactions);
	if (r == 0)
		r = element_text(ia, &el, &ia2);
	if (r < 0)
		goto out;
	if (cfd < 0 || !c->disk.valid) {
		r = write_full(c, ia2, diags);
		goto out;
	}
	if (c->disk.arr_end + el.len + c->disk.tail_len > c->o.max_bytes) {
		r = too_big(c, diags, "bytes", c->o.max_bytes);
		goto out;
	}
	r = write_append(c, lfd, cfd, &el);
	if (r == 0) {
		json_t *all = json_object_get(c->doc, "interactions");

		pthread_mutex_lock(&c->mu);
		r = json_array_append(all, ia2) < 0 ? -ENOMEM : 0;
		if (r == 0)
			r = pt_vec_reserve(&c->e, c->e.n + 1);
		if (r == 0)
			r = pt__entry_add(c, json_array_get(all, c->e.n),
					  c->e.n, diags);
		pthread_mutex_unlock(&c->mu);
		if (r < 0) /* the file has it: read it again next time */
			pt__disk_clear(&c->disk);
	}
out:
	pt__close(cfd);
	unlock_file(lfd);
	if (ia2)
		json_decref(ia2);
	json_decref(ia);
	pt__buf_release(&el);
	return r;
}
