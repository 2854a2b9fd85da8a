/* os/provos.c - system calls for providers and job users (provos.h). */
#define _GNU_SOURCE 1
#include "os/provos.h"
#include "base/common.h"
#include "base/vec.h"

#include <dirent.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

int pt__realpath(const char *path, struct pt_buf *out)
{
	char r[PATH_MAX];

	if (!realpath(path, r))
		return -errno;
	pt__buf_reset(out);
	return pt__buf_adds(out, r);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int pt__list_executables(const char *dir, char ***ret, size_t *ret_n)
{
	PT_VEC(char *) v = PT_VEC_INIT;
	struct pt_buf p = PT_BUF_INIT;
	struct dirent *e;
	DIR *dp = opendir(dir);
	int rc = 0;

	if (!dp)
		return -errno;
	while ((e = readdir(dp))) {
		struct stat st;
		char *s;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		pt__buf_reset(&p);
		if (pt__buf_addf(&p, "%s/%s", dir, e->d_name) < 0) {
			rc = -ENOMEM;
			break;
		}
		if (stat(p.s, &st) < 0 || !S_ISREG(st.st_mode) ||
		    access(p.s, F_OK | X_OK) < 0)
			continue;
		if (v.n >= PT_EXECUTABLES_MAX) {
			rc = PT_ETOOBIG;
			break;
		}
		s = pt__buf_detach(&p, NULL);
		if (!s || pt_vec_push(&v, s) < 0) {
			pt__free(s);
			rc = -ENOMEM;
			break;
		}
	}
	closedir(dp);
	pt__buf_release(&p);
	if (rc < 0) {
		pt_vec_foreach(&v, i)
			pt__free(v.v[i]);
		pt_vec_release(&v);
		return rc;
	}
	if (v.n)
		qsort(v.v, v.n, sizeof(*v.v), cmp_str);
	*ret = v.v;
	*ret_n = v.n;
	return 0;
}

int pt__mkdir_shared(const char *path)
{
	struct stat st;

	if (mkdir(path, 0777) < 0 && errno != EEXIST)
		return -errno;
	if (lstat(path, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid())
		return -EPERM;
	return chmod(path, 0777) < 0 ? -errno : 0;
}

int pt__symlink(const char *target, const char *path)
{
	return symlink(target, path) < 0 ? -errno : 0;
}

int pt__chmod(const char *path, unsigned mode)
{
	return chmod(path, (mode_t)mode) < 0 ? -errno : 0;
}

int pt__lchown(const char *path, unsigned uid, unsigned gid)
{
	return lchown(path, (uid_t)uid, (gid_t)gid) < 0 ? -errno : 0;
}

static int copy_pw(const struct passwd *pw, struct pt_pwent *ret)
{
	const char *home = pw->pw_dir ? pw->pw_dir : "/";
	const char *shell = pw->pw_shell ? pw->pw_shell : "/bin/sh";

	if (strlen(pw->pw_name) >= sizeof(ret->name) ||
	    strlen(home) >= sizeof(ret->home) ||
	    strlen(shell) >= sizeof(ret->shell))
		return PT_ETOOBIG;
	ret->uid = pw->pw_uid;
	ret->gid = pw->pw_gid;
	memcpy(ret->name, pw->pw_name, strlen(pw->pw_name) + 1);
	memcpy(ret->home, home, strlen(home) + 1);
	memcpy(ret->shell, shell, strlen(shell) + 1);
	return 0;
}

int pt__getpwnam(const char *name, struct pt_pwent *ret)
{
	struct passwd pw, *res = NULL;
	char buf[16384];
	int e = getpwnam_r(name, &pw, buf, sizeof(buf), &res);

	if (e)
		return e == ERANGE ? PT_ETOOBIG : -e;
	return res ? copy_pw(res, ret) : PT_ENOTFOUND;
}

int pt__getpwuid(unsigned uid, struct pt_pwent *ret)
{
	struct passwd pw, *res = NULL;
	char buf[16384];
	int e = getpwuid_r((uid_t)uid, &pw, buf, sizeof(buf), &res);

	if (e)
		return e == ERANGE ? PT_ETOOBIG : -e;
	return res ? copy_pw(res, ret) : PT_ENOTFOUND;
}
