/*
 * runner/users.c - who runs a job (the job's `user:` and the normal
 * user), as PlainBox's execute_job decides it: the target is the job's
 * user, else the normal user; none when it is the user running proctor.
 * From root the switch is setpriv (no password, no sudo needed); from a
 * normal user it is `sudo -n`, checked once: when sudo would ask for a
 * password (or is missing) the jobs that need it fail with a message
 * saying so instead of hanging on a prompt. docs/runner.md.
 */
#include "base/buf.h"
#include "base/common.h"
#include "base/str.h"
#include "base/vec.h"
#include "os/proc.h"
#include "os/provos.h"
#include "os/runos.h"

#include <proctor/runner.h>

struct as_entry {
	struct pt_run_as as;
	struct pt_pwent pw;
	char *refused; /* owned */
};

struct pt_users {
	struct pt_pwent self;
	bool have_normal;
	struct pt_pwent normal;
	int sudo_ok; /* -1 not checked yet, 0 refused, 1 allowed */
	PT_VEC(struct as_entry *) entries;
	struct pt_buf err;
};

int pt_users_new(const char *normal_user, struct pt_users **ret,
		 const char **ret_error)
{
	struct pt_users *u = pt__calloc(1, sizeof(*u));
	int rc;

	if (!u)
		return -ENOMEM;
	u->sudo_ok = -1;
	u->err = (struct pt_buf)PT_BUF_INIT;
	rc = pt__getpwuid(pt__uid(), &u->self);
	if (rc < 0) {
		pt__free(u);
		if (ret_error)
			*ret_error = "cannot find the user running proctor "
				     "in the user database";
		return rc;
	}
	if (normal_user && *normal_user) {
		rc = pt__getpwnam(normal_user, &u->normal);
		if (rc < 0) {
			pt__free(u);
			if (ret_error)
				*ret_error =
					rc == PT_ENOTFOUND
						? "no such user"
						: "cannot look the user up";
			return rc;
		}
		u->have_normal = true;
	}
	*ret = u;
	return 0;
}

struct pt_users *pt_users_free(struct pt_users *u)
{
	if (!u)
		return NULL;
	pt_vec_foreach(&u->entries, i) {
		pt__free(u->entries.v[i]->refused);
		pt__free(u->entries.v[i]);
	}
	pt_vec_release(&u->entries);
	pt__buf_release(&u->err);
	pt__free(u);
	return NULL;
}

const char *pt_users_normal(const struct pt_users *u)
{
	if (!u)
		return NULL;
	return u->have_normal ? u->normal.name : u->self.name;
}

bool pt_users_switch(const struct pt_users *u)
{
	return u && u->have_normal && u->normal.uid != u->self.uid;
}

/* Whether `sudo -n true` succeeds (run once). */
static bool sudo_allowed(struct pt_users *u)
{
	static const char *const argv[] = { "sudo", "-n", "true", NULL };
	struct pt_spawn sp = {
		.argv = argv,
		.fd_in = -1,
		.fd_out = -1,
		.fd_err = -1,
		.search = true,
		.close_fds = true,
	};
	pid_t pid;
	int st = -1;

	if (u->sudo_ok >= 0)
		return u->sudo_ok;
	u->sudo_ok = 0;
	if (pt__spawn(&sp, &pid, NULL) == 0 &&
	    pt__proc_wait(pid, -1, -1, &st) >= 0 && st == 0)
		u->sudo_ok = 1;
	return u->sudo_ok;
}

static struct as_entry *entry_for(struct pt_users *u, const char *name)
{
	pt_vec_foreach(&u->entries, i) {
		if (!strcmp(u->entries.v[i]->as.user, name))
			return u->entries.v[i];
	}
	return NULL;
}

static const struct pt_run_as *make_entry(struct pt_users *u, const char *name)
{
	struct as_entry *e = pt__calloc(1, sizeof(*e));
	struct pt_buf msg = PT_BUF_INIT;
	int rc;

	if (!e)
		return NULL;
	rc = pt__getpwnam(name, &e->pw);
	if (rc < 0) {
		/* keep the name for the message */
		snprintf(e->pw.name, sizeof(e->pw.name), "%s", name);
		if (pt__buf_addf(&msg, "cannot run as user '%s': %s", name,
				 rc == PT_ENOTFOUND ? "no such user"
						    : pt_strerror(rc)) < 0)
			goto nomem;
	}
	e->as.user = e->pw.name;
	e->as.uid = e->pw.uid;
	e->as.gid = e->pw.gid;
	e->as.home = e->pw.home;
	e->as.sudo = u->self.uid != 0;
	if (rc == 0 && e->as.sudo && !sudo_allowed(u) &&
	    pt__buf_addf(&msg,
			 "needs user '%s': 'sudo -n' is not allowed for %s "
			 "(sudo asks for a password, or is not installed); "
			 "run proctor as root, or allow %s passwordless "
			 "sudo",
			 name, u->self.name, u->self.name) < 0)
		goto nomem;
	if (msg.len) {
		e->refused = pt__buf_detach(&msg, NULL);
		if (!e->refused)
			goto nomem;
		e->as.refused = e->refused;
	}
	if (pt_vec_push(&u->entries, e) < 0)
		goto nomem;
	return &e->as;
nomem:
	pt__free(e->refused);
	pt__free(e);
	pt__buf_release(&msg);
	return NULL;
}

int pt_users_run_as(struct pt_users *u, const struct pt_job *job,
		    const struct pt_run_as **ret)
{
	const char *target;
	const struct as_entry *e;

	*ret = NULL;
	if (!u || !job)
		return 0;
	target = job->user && *job->user ? job->user
		 : u->have_normal	 ? u->normal.name
					 : NULL;
	if (!target || !strcmp(target, u->self.name))
		return 0;
	e = entry_for(u, target);
	if (e) {
		*ret = &e->as;
		return 0;
	}
	*ret = make_entry(u, target);
	return *ret ? 0 : -ENOMEM;
}
