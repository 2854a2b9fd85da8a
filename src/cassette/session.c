/*
 * cassette/session.c - sequential-matching sessions (ReqCassette's
 * Session): a table of slots, one per cassette key, each with an index
 * and a nesting depth.
 *
 * A local session keeps the table in this process's heap. A shared
 * session keeps it in a file mapped MAP_SHARED by every process that
 * opens it: get-and-advance is a single atomic fetch-add on the slot's
 * index (lock-free, linearisable across threads and processes).
 *
 * Creating, starting, ending and freeing a slot take a lock: the
 * session's mutex (threads using one session object) plus, for a shared
 * session, an open-file-description lock on the file (other objects of
 * this process and other processes; released by the kernel if a process
 * dies). Every wait for it has a deadline (PT_ELOCKED).
 *
 * A slot is found by the hash of its key and then the full key, compared
 * under the slot's generation (a sequence count: odd while the slot
 * changes). A slot is freed when the outermost use of its key ends, and
 * reused for another key later. The index word carries a tag of the
 * slot's generation in its top 24 bits (the index is the low 40): an
 * advance by key that does not hold the lock is a compare-and-swap that
 * only succeeds while the tag is the one of the generation it found the
 * key under, so an advance never lands on another key's index, and a
 * freed slot can be reused at once.
 */
#include "base/common.h"
#include "cassette/internal.h"
#include "os/clock.h"
#include "os/fd.h"
#include "os/lock.h"
#include "os/proc.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define SESSION_MAGIC	UINT64_C(0x3173736163747000) /* "\0ptcass1" */
#define SESSION_VERSION 3u
#define SESSION_SLOTS	256u
#define SLOT_KEY_MAX	3968u /* a slot is one page */

/* How long a lock is waited for (tests shorten it). */
static _Atomic int lock_timeout_ms = 10000;

void pt__session_set_lock_timeout(int ms)
{
	atomic_store(&lock_timeout_ms, ms > 0 ? ms : 10000);
}

enum { SLOT_EMPTY = 0, SLOT_READY = 1, SLOT_FREED = 2 };

#define IDX_BITS 40
#define IDX_MASK ((UINT64_C(1) << IDX_BITS) - 1)

/* The index word's tag for a slot generation (even). */
static uint64_t tag_word(uint64_t gen)
{
	return ((gen >> 1) & 0xffffff) << IDX_BITS;
}

struct pt__slot {
	/* one cache line: what a lookup by key and an advance touch */
	_Atomic uint64_t index; /* tag << IDX_BITS | index */
	_Atomic uint32_t state; /* SLOT_* */
	uint32_t pad_;
	_Atomic uint64_t gen; /* odd while the slot changes */
	char pad0[40];
	uint64_t hash;	/* of the key; under the lock */
	uint32_t depth; /* nesting depth; under the lock */
	uint32_t klen;
	char pad1[48];
	char key[SLOT_KEY_MAX]; /* the full key, NUL-terminated */
};

struct table {
	uint64_t magic;
	uint32_t version, nslots;
	uint64_t id; /* the session's id, the same in every process */
	char pad[40];
	struct pt__slot slots[SESSION_SLOTS];
};

struct pt_cassette_session {
	struct table *t;
	int fd;	      /* -1: local */
	uint64_t oid; /* unique per session object, for the lookup cache */
	pthread_mutex_t mu;
};

_Static_assert(sizeof(struct pt__slot) == 4096, "slot layout");

/* Unique ids of session objects (never reused, unlike addresses). */
static _Atomic uint64_t next_oid = 1;

/*
 * Per-thread cache of the last key looked up by key: a repeated key costs
 * a string compare instead of a hash and a probe.
 */
static _Thread_local struct {
	uint64_t oid, gen;
	struct pt__slot *slot;
	char key[128];
} cache;

static uint64_t new_id(void)
{
	uint64_t seed[3] = { (uint64_t)pt__wall_ns(), (uint64_t)pt__getpid(),
			     atomic_fetch_add(&next_oid, 1) };

	/* positive as an int64_t, never 0 */
	return (pt__hash_bytes(seed, sizeof(seed)) & (UINT64_MAX >> 2)) | 1;
}

static int lock(struct pt_cassette_session *s)
{
	int r;

	pthread_mutex_lock(&s->mu);
	if (s->fd >= 0) {
		r = pt__lock_wait(s->fd, PT_LOCK_EX, atomic_load(&lock_timeout_ms));
		if (r < 0) {
			pthread_mutex_unlock(&s->mu);
			return r;
		}
	}
	return 0;
}

static void unlock(struct pt_cassette_session *s)
{
	if (s->fd >= 0)
		pt__lock_wait(s->fd, PT_LOCK_UN, atomic_load(&lock_timeout_ms));
	pthread_mutex_unlock(&s->mu);
}

static uint64_t key_hash(const char *key, size_t n)
{
	uint64_t h = pt__hash_bytes(key, n);

	return h ? h : 1;
}

/*
 * The slot of key and its generation, or NULL. Without the lock, a slot
 * that changes under the lookup is missed (the caller then locks).
 */
static struct pt__slot *find(struct table *t, const char *key, size_t n,
			     uint64_t h, uint64_t *ret_gen)
{
	for (uint32_t p = 0; p < t->nslots; p++) {
		struct pt__slot *sl = &t->slots[(h + p) % t->nslots];
		uint32_t st = atomic_load(&sl->state);
		uint64_t g;
		bool same;

		if (st == SLOT_EMPTY)
			return NULL;
		if (st != SLOT_READY)
			continue;
		g = atomic_load(&sl->gen);
		if (g & 1)
			continue;
		same = sl->hash == h && sl->klen == n &&
		       memcmp(sl->key, key, n) == 0;
		if (atomic_load(&sl->gen) != g)
			continue;
		if (same) {
			*ret_gen = g;
			return sl;
		}
	}
	return NULL;
}

/* A slot to take for a new key (under the lock): the first empty or
 * freed one on the probe path that no lookup holds. */
static struct pt__slot *claim(struct table *t, uint64_t h)
{
	for (uint32_t p = 0; p < t->nslots; p++) {
		struct pt__slot *sl = &t->slots[(h + p) % t->nslots];
		uint32_t st = atomic_load(&sl->state);

		if (st == SLOT_READY)
			continue;
		return sl;
	}
	return NULL;
}

/* The slot of key, created (under the lock) when missing; start: one
 * more use (the outermost starts at index 0). */
static int get_slot(struct pt_cassette_session *s, const char *key, bool start,
		    struct pt__slot **ret)
{
	size_t n = strlen(key);
	uint64_t h = key_hash(key, n), g;
	struct pt__slot *sl;
	int r;

	if (n >= SLOT_KEY_MAX)
		return -ENAMETOOLONG;
	r = lock(s);
	if (r < 0)
		return r;
	sl = find(s->t, key, n, h, &g);
	if (!sl) {
		sl = claim(s->t, h);
		if (!sl) {
			unlock(s);
			return PT_EFULL;
		}
		g = atomic_fetch_add(&sl->gen, 1) + 2; /* odd: changing */
		sl->hash = h;
		sl->depth = 0;
		sl->klen = (uint32_t)n;
		memcpy(sl->key, key, n + 1);
		atomic_store(&sl->index, tag_word(g));
		atomic_store(&sl->state, SLOT_READY);
		atomic_fetch_add(&sl->gen, 1);
	}
	if (start) {
		/* Outermost use starts at 0; nested uses keep the index. */
		if (sl->depth == 0)
			atomic_store(&sl->index, tag_word(g));
		sl->depth++;
	}
	unlock(s);
	*ret = sl;
	return 0;
}

/* Ends one use of sl (under the lock); the outermost frees the slot. */
static void end_locked(struct pt__slot *sl)
{
	if (sl->depth > 1) {
		sl->depth--;
		return;
	}
	uint64_t g = atomic_fetch_add(&sl->gen, 1) + 2;

	sl->depth = 0;
	atomic_store(&sl->state, SLOT_FREED);
	/* a new tag: advances begun under the old one fail */
	atomic_store(&sl->index, tag_word(g));
	atomic_fetch_add(&sl->gen, 1);
}

static void table_init(struct table *t, uint64_t id)
{
	t->version = SESSION_VERSION;
	t->nslots = SESSION_SLOTS;
	t->id = id;
	t->magic = SESSION_MAGIC;
}

static struct pt_cassette_session *session_alloc(struct table *t, int fd)
{
	struct pt_cassette_session *s = pt__calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->t = t;
	s->fd = fd;
	s->oid = atomic_fetch_add(&next_oid, 1);
	pthread_mutex_init(&s->mu, NULL);
	return s;
}

int pt_cassette_session_new(struct pt_cassette_session **ret)
{
	struct pt_cassette_session *s;
	struct table *t;

	if (!ret)
		return -EINVAL;
	t = pt__calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	table_init(t, new_id());
	s = session_alloc(t, -1);
	if (!s) {
		pt__free(t);
		return -ENOMEM;
	}
	*ret = s;
	return 0;
}

int pt_cassette_session_open_shared(const char *file,
				    struct pt_cassette_session **ret)
{
	struct pt_cassette_session *s;
	struct table *t;
	struct stat st;
	void *map = NULL;
	int fd, r;

	if (!file || !ret)
		return -EINVAL;
	fd = pt__open(file, O_RDWR | O_CREAT | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	r = pt__lock_wait(fd, PT_LOCK_EX, atomic_load(&lock_timeout_ms));
	if (r < 0)
		goto fail;
	if (pt__fstat(fd, &st) < 0) {
		r = -errno;
		goto fail;
	}
	/* another user's file is not ours to share state through */
	if (!S_ISREG(st.st_mode) || st.st_uid != pt__geteuid()) {
		r = PT_EINCOMPAT;
		goto fail;
	}
	if (st.st_size == 0 && pt__ftruncate(fd, sizeof(struct table)) < 0) {
		r = -errno;
		goto fail;
	}
	if (st.st_size != 0 && st.st_size != (off_t)sizeof(struct table)) {
		r = PT_EINCOMPAT;
		goto fail;
	}
	r = pt__map_shared(fd, sizeof(struct table), &map);
	if (r < 0)
		goto fail;
	t = map;
	if (st.st_size == 0)
		table_init(t, new_id());
	if (t->magic != SESSION_MAGIC || t->version != SESSION_VERSION ||
	    t->nslots != SESSION_SLOTS) {
		r = PT_EINCOMPAT;
		goto fail;
	}
	s = session_alloc(t, fd);
	if (!s) {
		r = -ENOMEM;
		goto fail;
	}
	pt__lock_wait(fd, PT_LOCK_UN, atomic_load(&lock_timeout_ms));
	*ret = s;
	return 0;
fail:
	pt__unmap(map, sizeof(struct table));
	pt__close(fd);
	return r;
}

struct pt_cassette_session *
pt_cassette_session_free(struct pt_cassette_session *s)
{
	if (!s)
		return NULL;
	if (cache.oid == s->oid)
		cache.oid = 0;
	if (s->fd >= 0) {
		pt__unmap(s->t, sizeof(*s->t));
		pt__close(s->fd);
	} else {
		pt__free(s->t);
	}
	pthread_mutex_destroy(&s->mu);
	pt__free(s);
	return NULL;
}

uint64_t pt_cassette_session_id(const struct pt_cassette_session *s)
{
	return s ? s->t->id : 0;
}

int pt__session_acquire(struct pt_cassette_session *s, const char *key,
			struct pt__slot **ret)
{
	return get_slot(s, key, true, ret);
}

int pt__session_release(struct pt_cassette_session *s, struct pt__slot *sl)
{
	int r = lock(s);

	if (r < 0)
		return r;
	end_locked(sl);
	unlock(s);
	return 0;
}

int64_t pt__slot_next(struct pt__slot *sl)
{
	return (int64_t)(atomic_fetch_add_explicit(&sl->index, 1,
						   memory_order_acq_rel) &
			 IDX_MASK);
}

int64_t pt__slot_current(struct pt__slot *sl)
{
	return (int64_t)(atomic_load_explicit(&sl->index,
					      memory_order_acquire) &
			 IDX_MASK);
}

int64_t pt_cassette_session_start(struct pt_cassette_session *s,
				  const char *key)
{
	struct pt__slot *sl;
	int r;

	if (!s || !key)
		return -EINVAL;
	r = get_slot(s, key, true, &sl);
	return r < 0 ? r : (int64_t)s->t->id;
}

int pt_cassette_session_end(struct pt_cassette_session *s, const char *key)
{
	size_t n;
	uint64_t g;
	struct pt__slot *sl;
	int r;

	if (!s || !key)
		return -EINVAL;
	n = strlen(key);
	r = lock(s);
	if (r < 0)
		return r;
	sl = find(s->t, key, n, key_hash(key, n), &g);
	if (sl)
		end_locked(sl);
	unlock(s);
	return 0;
}

/*
 * Adds delta to key's index and returns the index before. Lock-free when
 * the slot exists: a compare-and-swap that holds only while the index
 * word has the tag of the generation the key was found under. Else under
 * the lock.
 */
static int64_t advance(struct pt_cassette_session *s, const char *key,
		       uint64_t delta)
{
	size_t n = strlen(key);
	struct pt__slot *sl = NULL;
	uint64_t g = 0;
	int64_t v;
	int r;

	if (cache.oid == s->oid && strcmp(cache.key, key) == 0) {
		sl = cache.slot;
		g = cache.gen;
	} else if (n < SLOT_KEY_MAX) {
		sl = find(s->t, key, n, key_hash(key, n), &g);
	}
	if (sl) {
		uint64_t w = atomic_load(&sl->index);

		while ((w & ~IDX_MASK) == tag_word(g)) {
			if (!atomic_compare_exchange_weak(&sl->index, &w,
							  w + delta))
				continue;
			if (n < sizeof(cache.key)) {
				cache.oid = s->oid;
				cache.gen = g;
				cache.slot = sl;
				memcpy(cache.key, key, n + 1);
			}
			return (int64_t)(w & IDX_MASK);
		}
	}
	/* missing or changed: create it and advance under the lock */
	r = get_slot(s, key, false, &sl);
	if (r < 0)
		return r;
	r = lock(s);
	if (r < 0)
		return r;
	sl = find(s->t, key, n, key_hash(key, n), &g);
	v = sl ? (int64_t)(atomic_fetch_add(&sl->index, delta) & IDX_MASK) : 0;
	unlock(s);
	return v;
}

int64_t pt_cassette_session_next(struct pt_cassette_session *s, const char *key)
{
	if (!s || !key)
		return -EINVAL;
	return advance(s, key, 1);
}

int pt_cassette_session_advance(struct pt_cassette_session *s, const char *key)
{
	int64_t r;

	if (!s || !key)
		return -EINVAL;
	r = advance(s, key, 1);
	return r < 0 ? (int)r : 0;
}

int64_t pt_cassette_session_current(struct pt_cassette_session *s,
				    const char *key)
{
	size_t n;
	uint64_t g;
	struct pt__slot *sl;

	if (!s || !key)
		return -EINVAL;
	n = strlen(key);
	sl = n < SLOT_KEY_MAX ? find(s->t, key, n, key_hash(key, n), &g) : NULL;
	return sl ? pt__slot_current(sl) : 0;
}

/* The process's session for sequential cassettes opened without one
 * (ReqCassette's process-local default): created on first use (again
 * after a failure), kept for the life of the process. */
static struct pt_cassette_session *_Atomic default_session;
static pthread_mutex_t default_mu = PTHREAD_MUTEX_INITIALIZER;

int pt__session_default(struct pt_cassette_session **ret)
{
	struct pt_cassette_session *s = atomic_load(&default_session);
	int r = 0;

	if (!s) {
		pthread_mutex_lock(&default_mu);
		s = atomic_load(&default_session);
		if (!s) {
			r = pt_cassette_session_new(&s);
			if (r == 0)
				atomic_store(&default_session, s);
		}
		pthread_mutex_unlock(&default_mu);
	}
	*ret = s;
	return r;
}
