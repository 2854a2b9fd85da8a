/*
 * cassette/session.c - sequential-matching sessions (ReqCassette's
 * Session): a table of slots, one per cassette key, each with an index
 * and a nesting depth.
 *
 * A local session keeps the table in this process's heap. A shared
 * session keeps it in a small file mapped MAP_SHARED by every process
 * that opens it: get-and-advance is a single atomic fetch-add on the
 * slot's index (lock-free, linearisable across threads and processes).
 * Creating a slot and start/end (which change the depth and may reset the
 * index) are rare and take a lock: a mutex for the threads of this
 * process, plus an fcntl write lock on the file for other processes
 * (released by the kernel if a process dies). Slots are never removed,
 * so a lock-free lookup that found a slot can keep using it.
 */
#include "base/common.h"
#include "cassette/internal.h"
#include "os/fd.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define SESSION_MAGIC	UINT64_C(0x3173736163747000) /* "\0ptcass1" */
#define SESSION_VERSION 1u
#define SESSION_SLOTS	256u
#define SLOT_READY	1u

struct pt__slot {
	_Atomic uint64_t index; /* alone in its cache line */
	char pad0[56];
	_Atomic uint32_t state; /* 0 empty, SLOT_READY */
	uint32_t depth;		/* nesting depth; under the lock */
	uint64_t hash;		/* of the key; never 0 */
	char key[112];		/* prefix of the key, for humans */
};

struct table {
	uint64_t magic;
	uint32_t version, nslots;
	char pad[48];
	struct pt__slot slots[SESSION_SLOTS];
};

struct pt_cassette_session {
	struct table *t;
	int fd;	     /* -1: local */
	uint64_t id; /* unique per session object, for the lookup cache */
	pthread_mutex_t mu;
};

/* Unique ids of session objects (never reused, unlike addresses). */
static _Atomic uint64_t next_id = 1;

/*
 * Per-thread cache of the last key looked up by pt_cassette_session_next:
 * a repeated key costs a string compare instead of a hash and a probe.
 * Slots never move, so a cached slot stays valid while its session lives.
 */
static _Thread_local struct {
	uint64_t id;
	struct pt__slot *slot;
	char key[128];
} cache;

_Static_assert(sizeof(struct pt__slot) == 192, "slot layout");

static int file_lock(int fd, short type)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET };

	while (fcntl(fd, F_SETLKW, &fl) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

static int lock(struct pt_cassette_session *s)
{
	int r;

	pthread_mutex_lock(&s->mu);
	if (s->fd >= 0) {
		r = file_lock(s->fd, F_WRLCK);
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
		file_lock(s->fd, F_UNLCK);
	pthread_mutex_unlock(&s->mu);
}

static uint64_t key_hash(const char *key)
{
	uint64_t h = pt__hash_bytes(key, strlen(key));

	return h ? h : 1;
}

static struct pt__slot *find(struct table *t, uint64_t h, bool claim)
{
	for (uint32_t p = 0; p < t->nslots; p++) {
		struct pt__slot *sl = &t->slots[(h + p) % t->nslots];

		if (atomic_load_explicit(&sl->state, memory_order_acquire) !=
		    SLOT_READY)
			return claim ? sl : NULL;
		if (sl->hash == h)
			return sl;
	}
	return NULL;
}

/* The slot of key, created (under the lock) when missing. */
static int get_slot(struct pt_cassette_session *s, const char *key, bool start,
		    struct pt__slot **ret)
{
	uint64_t h = key_hash(key);
	struct pt__slot *sl = find(s->t, h, false);
	int r;

	if (sl && !start) {
		*ret = sl;
		return 0;
	}
	r = lock(s);
	if (r < 0)
		return r;
	sl = find(s->t, h, true);
	if (!sl) {
		unlock(s);
		return PT_EFULL;
	}
	if (atomic_load_explicit(&sl->state, memory_order_acquire) !=
	    SLOT_READY) {
		sl->hash = h;
		sl->depth = 0;
		snprintf(sl->key, sizeof(sl->key), "%s", key);
		atomic_store_explicit(&sl->index, 0, memory_order_relaxed);
		atomic_store_explicit(&sl->state, SLOT_READY,
				      memory_order_release);
	}
	if (start) {
		/* Outermost use starts at 0; nested uses keep the index. */
		if (sl->depth == 0)
			atomic_store(&sl->index, 0);
		sl->depth++;
	}
	unlock(s);
	*ret = sl;
	return 0;
}

int pt_cassette_session_new(struct pt_cassette_session **ret)
{
	struct pt_cassette_session *s;

	if (!ret)
		return -EINVAL;
	s = pt__calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->t = pt__calloc(1, sizeof(*s->t));
	if (!s->t) {
		pt__free(s);
		return -ENOMEM;
	}
	s->t->magic = SESSION_MAGIC;
	s->t->version = SESSION_VERSION;
	s->t->nslots = SESSION_SLOTS;
	s->fd = -1;
	s->id = atomic_fetch_add(&next_id, 1);
	pthread_mutex_init(&s->mu, NULL);
	*ret = s;
	return 0;
}

int pt_cassette_session_open_shared(const char *file,
				    struct pt_cassette_session **ret)
{
	struct pt_cassette_session *s;
	struct stat st;
	void *map = MAP_FAILED;
	int fd, r;

	if (!file || !ret)
		return -EINVAL;
	fd = open(file, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	r = file_lock(fd, F_WRLCK);
	if (r < 0)
		goto fail;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto fail;
	}
	if (st.st_size == 0 && ftruncate(fd, sizeof(struct table)) < 0) {
		r = -errno;
		goto fail;
	}
	if (st.st_size != 0 && st.st_size != (off_t)sizeof(struct table)) {
		r = PT_EINCOMPAT;
		goto fail;
	}
	map = mmap(NULL, sizeof(struct table), PROT_READ | PROT_WRITE,
		   MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		r = -errno;
		goto fail;
	}
	if (st.st_size == 0) {
		struct table *t = map;

		t->version = SESSION_VERSION;
		t->nslots = SESSION_SLOTS;
		t->magic = SESSION_MAGIC;
	}
	if (((struct table *)map)->magic != SESSION_MAGIC ||
	    ((struct table *)map)->version != SESSION_VERSION ||
	    ((struct table *)map)->nslots != SESSION_SLOTS) {
		r = PT_EINCOMPAT;
		goto fail;
	}
	s = pt__calloc(1, sizeof(*s));
	if (!s) {
		r = -ENOMEM;
		goto fail;
	}
	file_lock(fd, F_UNLCK);
	s->t = map;
	s->fd = fd;
	s->id = atomic_fetch_add(&next_id, 1);
	pthread_mutex_init(&s->mu, NULL);
	*ret = s;
	return 0;
fail:
	if (map != MAP_FAILED)
		munmap(map, sizeof(struct table));
	pt__close(fd);
	return r;
}

struct pt_cassette_session *
pt_cassette_session_free(struct pt_cassette_session *s)
{
	if (!s)
		return NULL;
	if (s->fd >= 0) {
		munmap(s->t, sizeof(*s->t));
		pt__close(s->fd);
	} else {
		pt__free(s->t);
	}
	pthread_mutex_destroy(&s->mu);
	pt__free(s);
	return NULL;
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
	if (sl->depth > 0)
		sl->depth--;
	unlock(s);
	return 0;
}

int64_t pt__slot_next(struct pt__slot *sl)
{
	return (int64_t)atomic_fetch_add_explicit(&sl->index, 1,
						  memory_order_acq_rel);
}

int64_t pt__slot_current(struct pt__slot *sl)
{
	return (int64_t)atomic_load_explicit(&sl->index, memory_order_acquire);
}

int pt_cassette_session_start(struct pt_cassette_session *s, const char *key)
{
	struct pt__slot *sl;

	if (!s || !key)
		return -EINVAL;
	return get_slot(s, key, true, &sl);
}

int pt_cassette_session_end(struct pt_cassette_session *s, const char *key)
{
	struct pt__slot *sl;

	if (!s || !key)
		return -EINVAL;
	sl = find(s->t, key_hash(key), false);
	return sl ? pt__session_release(s, sl) : 0;
}

int64_t pt_cassette_session_next(struct pt_cassette_session *s, const char *key)
{
	struct pt__slot *sl;
	int r;

	if (!s || !key)
		return -EINVAL;
	if (cache.id == s->id && strcmp(cache.key, key) == 0)
		return pt__slot_next(cache.slot);
	r = get_slot(s, key, false, &sl);
	if (r < 0)
		return r;
	if (strlen(key) < sizeof(cache.key)) {
		cache.id = s->id;
		cache.slot = sl;
		memcpy(cache.key, key, strlen(key) + 1);
	}
	return pt__slot_next(sl);
}

int64_t pt_cassette_session_current(struct pt_cassette_session *s,
				    const char *key)
{
	struct pt__slot *sl;

	if (!s || !key)
		return -EINVAL;
	sl = find(s->t, key_hash(key), false);
	return sl ? pt__slot_current(sl) : 0;
}
