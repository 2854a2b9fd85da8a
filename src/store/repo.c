/*
 * store/repo.c - the repository of sessions: its path, session ids, the
 * per-session writer lock, the last-session link, listing and removal.
 *
 * Lock protocol (docs/store.md): <session>/lock is opened O_CLOEXEC and
 * flock(LOCK_EX | LOCK_NB)ed by the writer, which writes its pid into it
 * and keeps the descriptor for its whole life. The kernel drops the lock
 * when the writer dies, so a crashed writer never leaves a stale lock; the
 * only stale case is a descriptor leaked into a surviving child, which
 * break-lock handles by unlinking the lock file once the recorded owner is
 * dead (new writers then lock a fresh inode).
 */
#include "base/buf.h"
#include "base/common.h"
#include "base/diag.h"
#include "base/vec.h"
#include "os/file.h"
#include "os/lock.h"
#include "os/path.h"
#include "store/store-internal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

int pt__store_repo_path(const char *repo, char **ret)
{
	struct pt_buf b = PT_BUF_INIT;
	const char *env;
	int r;

	if (repo && *repo) {
		r = pt__buf_adds(&b, repo);
	} else if ((env = getenv("PROCTOR_SESSION_REPOSITORY")) && *env) {
		r = pt__buf_adds(&b, env);
	} else if ((env = getenv("XDG_CACHE_HOME")) && *env == '/') {
		r = pt__buf_addf(&b, "%s/proctor/sessions", env);
	} else if ((env = getenv("HOME")) && *env) {
		r = pt__buf_addf(&b, "%s/.cache/proctor/sessions", env);
	} else {
		return -ENOENT;
	}
	if (r < 0) {
		pt__buf_release(&b);
		return r;
	}
	*ret = pt__buf_detach(&b, NULL);
	return *ret ? 0 : -ENOMEM;
}

int pt_store_repository(char **ret)
{
	if (!ret)
		return -EINVAL;
	return pt__store_repo_path(NULL, ret);
}

bool pt__store_id_valid(const char *id)
{
	size_t i;

	if (!id)
		return false;
	for (i = 0; id[i]; i++)
		if (!((id[i] >= '0' && id[i] <= '9') ||
		      (id[i] >= 'a' && id[i] <= 'f')))
			return false;
	return i == PT_STORE_ID_LEN;
}

int pt__store_new_id(char ret[PT_STORE_ID_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[PT_STORE_ID_LEN / 2];
	int r = pt__random_bytes(raw, sizeof(raw));

	if (r < 0)
		return r;
	for (size_t i = 0; i < sizeof(raw); i++) {
		ret[2 * i] = hex[raw[i] >> 4];
		ret[2 * i + 1] = hex[raw[i] & 15];
	}
	ret[PT_STORE_ID_LEN] = '\0';
	return 0;
}

static int lock_path(const char *dir, struct pt_buf *b)
{
	return pt__buf_addf(b, "%s/lock", dir);
}

int pt__store_lock(const char *dir, struct pt_diags *diags, int *ret_fd)
{
	struct pt_buf p = PT_BUF_INIT;
	int fd = -1, r;

	r = lock_path(dir, &p);
	if (r < 0)
		goto out;
	fd = pt__lock_open(p.s, true);
	if (fd < 0) {
		r = fd;
		fd = -1;
		pt__store_diag(diags, PT_SEV_ERROR, r, p.s, 0, NULL,
			       "cannot open the session lock: %s",
			       strerror(-r));
		goto out;
	}
	r = pt__lock(fd, PT_LOCK_EX | PT_LOCK_NB);
	if (r < 0) {
		r = r == -EWOULDBLOCK ? PT_ELOCKED : r;
		if (r == PT_ELOCKED) {
			int owner = pt__lock_owner(fd);
			if (owner)
				pt__store_diag(
					diags, PT_SEV_ERROR, r, dir, 0, NULL,
					"session is locked by pid %d", owner);
			else
				pt__store_diag(diags, PT_SEV_ERROR, r, dir, 0,
					       NULL,
					       "session is locked by another "
					       "process");
		}
		goto out;
	}
	r = pt__lock_set_owner(fd);
	if (r < 0)
		goto out;
	*ret_fd = fd;
	fd = -1;
	r = 0;
out:
	pt__close(fd);
	pt__buf_release(&p);
	return r;
}

int pt__store_lock_owner(const char *dir)
{
	struct pt_buf p = PT_BUF_INIT;
	int fd, owner = 0;

	if (lock_path(dir, &p) < 0)
		return 0;
	fd = pt__lock_open(p.s, false);
	pt__buf_release(&p);
	if (fd < 0)
		return 0;
	/* A shared probe: fails only while a writer holds LOCK_EX. */
	if (pt__lock(fd, PT_LOCK_SH | PT_LOCK_NB) < 0) {
		owner = pt__lock_owner(fd);
		if (!owner)
			owner = -1;
	} else {
		(void)!pt__lock(fd, PT_LOCK_UN);
	}
	pt__close(fd);
	return owner;
}

int pt__store_set_last(const char *repo, const char *id)
{
	struct pt_buf tmp = PT_BUF_INIT, link = PT_BUF_INIT;
	int r;

	r = pt__buf_addf(&tmp, "%s/.last-session.%s", repo, id);
	if (r == 0)
		r = pt__buf_addf(&link, "%s/last-session", repo);
	if (r < 0)
		goto out;
	/* symlink + rename: the link is replaced atomically. */
	r = pt__symlink_replace(id, tmp.s, link.s);
out:
	pt__buf_release(&tmp);
	pt__buf_release(&link);
	return r;
}

int pt_store_last(const char *repo, char **ret_id)
{
	struct pt_buf link = PT_BUF_INIT;
	char *path = NULL, target[64];
	ssize_t n;
	int r;

	if (!ret_id)
		return -EINVAL;
	r = pt__store_repo_path(repo, &path);
	if (r < 0)
		return r;
	r = pt__buf_addf(&link, "%s/last-session", path);
	if (r < 0)
		goto out;
	n = pt__readlink(link.s, target, sizeof(target));
	if (n < 0) {
		r = n == -ENOENT ? PT_ENOTFOUND : (int)n;
		goto out;
	}
	if (!pt__store_id_valid(target)) {
		r = PT_ENOTFOUND;
		goto out;
	}
	*ret_id = pt__strdup(target);
	r = *ret_id ? 0 : -ENOMEM;
out:
	pt__buf_release(&link);
	pt__free(path);
	return r;
}

int pt_store_resolve(const char *repo, const char *name, char **ret_id)
{
	struct pt_buf p = PT_BUF_INIT;
	char *path = NULL;
	int r;

	if (!ret_id)
		return -EINVAL;
	if (!name || !strcmp(name, "last-session"))
		return pt_store_last(repo, ret_id);
	if (!pt__store_id_valid(name))
		return PT_ENOTFOUND;
	r = pt__store_repo_path(repo, &path);
	if (r == 0)
		r = pt__buf_addf(&p, "%s/%s/session.db", path, name);
	if (r == 0) {
		r = pt__path_kind(p.s);
		r = r == PT_PATH_NONE ? PT_ENOTFOUND : r < 0 ? r : 0;
	}
	if (r == 0) {
		*ret_id = pt__strdup(name);
		r = *ret_id ? 0 : -ENOMEM;
	}
	pt__buf_release(&p);
	pt__free(path);
	return r;
}

static int cmp_info(const void *a, const void *b)
{
	const struct pt_store_info *x = a, *y = b;

	if (x->meta.started_ns != y->meta.started_ns)
		return x->meta.started_ns > y->meta.started_ns ? -1 : 1;
	return strcmp(x->id, y->id);
}

struct list_impl {
	struct pt_store_list pub;
	PT_VEC(struct pt_store_info) v;	    /* shallow copies */
	PT_VEC(struct pt_store_info *) own; /* what the copies point into */
	struct pt_arena arena;		    /* ids of unreadable sessions */
};

struct pt_store_list *pt_store_list_free(struct pt_store_list *l)
{
	struct list_impl *li;

	if (!l)
		return NULL;
	li = pt_container_of(l, struct list_impl, pub);
	pt_vec_foreach(&li->own, i)
		pt_store_info_free(li->own.v[i]);
	pt_vec_release(&li->own);
	pt_vec_release(&li->v);
	pt__arena_release(&li->arena);
	pt__free(li);
	return NULL;
}

/* One entry of the repository (pt__dir_each): a session, or not. */
struct list_walk {
	struct list_impl *li;
	const char *path;
};

static int list_one(void *ctx, const char *name)
{
	struct list_walk *w = ctx;
	struct list_impl *li = w->li;
	struct pt_store_info info = { 0 }, *pi = NULL;
	int r;

	if (!pt__store_id_valid(name))
		return 0;
	r = pt_store_peek(w->path, name, NULL, &pi);
	if (r == PT_ENOTFOUND)
		return 0; /* a directory being created or removed */
	if (r < 0) {
		info.id = pt__arena_strdup(&li->arena, name);
		info.error = r;
		if (!info.id)
			return -ENOMEM;
	} else {
		info = *pi;
		r = pt_vec_push(&li->own, pi);
		if (r < 0) {
			pt_store_info_free(pi);
			return r;
		}
	}
	return pt_vec_push(&li->v, info);
}

int pt_store_list(const char *repo, struct pt_store_list **ret)
{
	struct list_impl *li = NULL;
	struct list_walk w;
	char *path = NULL;
	int r;

	if (!ret)
		return -EINVAL;
	r = pt__store_repo_path(repo, &path);
	if (r < 0)
		return r;
	li = pt__calloc(1, sizeof(*li));
	if (!li) {
		r = -ENOMEM;
		goto out;
	}
	w = (struct list_walk){ li, path };
	r = pt__dir_each(path, list_one, &w);
	if (r == -ENOENT)
		r = 0; /* no repository yet: no session */
	if (r < 0)
		goto out;
	if (li->v.n)
		qsort(li->v.v, li->v.n, sizeof(li->v.v[0]), cmp_info);
	li->pub.n = li->v.n;
	li->pub.v = li->v.v;
	*ret = &li->pub;
	li = NULL;
	r = 0;
out:
	if (li)
		pt_store_list_free(&li->pub);
	pt__free(path);
	return r;
}

int pt_store_remove(const char *repo, const char *id, struct pt_diags *diags)
{
	struct pt_buf dir = PT_BUF_INIT, link = PT_BUF_INIT;
	char *path = NULL, *last = NULL;
	int fd = -1, r;

	if (!pt__store_id_valid(id))
		return PT_ENOTFOUND;
	r = pt__store_repo_path(repo, &path);
	if (r == 0)
		r = pt__buf_addf(&dir, "%s/%s", path, id);
	if (r < 0)
		goto out;
	if (pt__path_kind(dir.s) == PT_PATH_NONE) {
		r = PT_ENOTFOUND;
		goto out;
	}
	r = pt__store_lock(dir.s, diags, &fd);
	if (r < 0)
		goto out;
	if (pt_store_last(path, &last) == 0 && !strcmp(last, id)) {
		r = pt__buf_addf(&link, "%s/last-session", path);
		if (r < 0)
			goto out;
		(void)pt__unlink(link.s);
	}
	/* Removed while locked: no writer can start in between. */
	r = pt__rm_rf(dir.s);
out:
	pt__close(fd);
	pt__free(last);
	pt__free(path);
	pt__buf_release(&dir);
	pt__buf_release(&link);
	return r;
}

int pt_store_break_lock(const char *repo, const char *id,
			struct pt_diags *diags)
{
	struct pt_buf dir = PT_BUF_INIT, lp = PT_BUF_INIT;
	char *path = NULL;
	int fd = -1, r, owner;

	if (!pt__store_id_valid(id))
		return PT_ENOTFOUND;
	r = pt__store_repo_path(repo, &path);
	if (r == 0)
		r = pt__buf_addf(&dir, "%s/%s", path, id);
	if (r == 0)
		r = lock_path(dir.s, &lp);
	if (r < 0)
		goto out;
	if (pt__path_kind(dir.s) == PT_PATH_NONE) {
		r = PT_ENOTFOUND;
		goto out;
	}
	fd = pt__lock_open(lp.s, false);
	if (fd < 0) {
		r = fd == -ENOENT ? 0 : fd;
		fd = -1;
		goto out;
	}
	if (pt__lock(fd, PT_LOCK_SH | PT_LOCK_NB) == 0) {
		r = 0; /* not locked: nothing to break */
		goto out;
	}
	owner = pt__lock_owner(fd);
	if (owner <= 0 || pt__pid_alive(owner)) {
		if (owner > 0)
			pt__store_diag(diags, PT_SEV_ERROR, PT_ELOCKED, dir.s,
				       0, NULL,
				       "session is locked by pid %d, which is "
				       "alive",
				       owner);
		else
			pt__store_diag(diags, PT_SEV_ERROR, PT_ELOCKED, dir.s,
				       0, NULL,
				       "session is locked by a process that "
				       "did not record its pid");
		r = PT_ELOCKED;
		goto out;
	}
	r = pt__unlink(lp.s);
	if (r < 0)
		goto out;
	r = 1;
out:
	pt__close(fd);
	pt__free(path);
	pt__buf_release(&dir);
	pt__buf_release(&lp);
	return r;
}
