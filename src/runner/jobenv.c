/*
 * runner/jobenv.c - the environment Checkbox jobs expect from their
 * provider, as PlainBox's get_execution_environment builds it: the
 * "nest" (a directory of symlinks to the executables of every provider
 * that shares the job's namespace) first on PATH, PLAINBOX_SESSION_SHARE,
 * PLAINBOX_PROVIDER_DATA / _UNITS, CHECKBOX_SHARE, the gettext domain
 * and locale directory, NORMAL_USER, SYSTEMD_IGNORE_CHROOT, and the
 * launcher's [environment] for names the environment lacks.
 *
 * PlainBox makes a nest per job (a temporary directory and a symlink per
 * executable, each time); here there is one nest per namespace and run,
 * made at the first job that needs it, and the variables of each
 * (namespace, provider, locale mode) are built once. docs/runner.md.
 */
#include "base/buf.h"
#include "base/common.h"
#include "base/str.h"
#include "base/vec.h"
#include "os/file.h"
#include "os/provos.h"
#include "os/runos.h"

#include <proctor/runner.h>

struct nest {
	const char *ns; /* borrowed from a job */
	char *path;	/* owned; NULL when no provider has this namespace */
};

struct variant {
	const char *ns;
	const struct pt_provider *p;
	bool reset_locale;
	PT_VEC(char *) vars; /* owned, NULL-terminated when built */
};

struct pt_jobenv {
	const struct pt_units *units;
	char *share;
	char *nest_root; /* owned; made at the first nest */
	char *normal_user;
	PT_VEC(char *) launcher; /* owned "NAME=value" */
	PT_VEC(struct nest) nests;
	PT_VEC(struct variant *) variants;
};

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		pt__free(v[i]);
	pt__free(v);
}

struct pt_jobenv *pt_jobenv_free(struct pt_jobenv *e)
{
	if (!e)
		return NULL;
	if (e->nest_root)
		(void)pt__rm_rf(e->nest_root);
	pt_vec_foreach(&e->nests, i)
		pt__free(e->nests.v[i].path);
	pt_vec_release(&e->nests);
	pt_vec_foreach(&e->variants, i) {
		strv_free(e->variants.v[i]->vars.v, e->variants.v[i]->vars.n);
		pt__free(e->variants.v[i]);
	}
	pt_vec_release(&e->variants);
	strv_free(e->launcher.v, e->launcher.n);
	pt__free(e->nest_root);
	pt__free(e->share);
	pt__free(e->normal_user);
	pt__free(e);
	return NULL;
}

int pt_jobenv_new(const struct pt_jobenv_config *c, struct pt_jobenv **ret)
{
	struct pt_jobenv *e;
	int rc;

	if (!c || !c->session_share)
		return -EINVAL;
	for (const char *const *l = c->launcher_env; l && *l; l++)
		if (!strchr(*l, '=') || **l == '=')
			return -EINVAL;
	e = pt__calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->units = c->units;
	e->share = pt__strdup(c->session_share);
	e->normal_user = c->normal_user ? pt__strdup(c->normal_user) : NULL;
	if (!e->share || (c->normal_user && !e->normal_user))
		goto nomem;
	for (const char *const *l = c->launcher_env; l && *l; l++) {
		char *s = pt__strdup(*l);
		if (!s || pt_vec_push(&e->launcher, s) < 0) {
			pt__free(s);
			goto nomem;
		}
	}
	/* PlainBox makes it world-writable: jobs of any user write there. */
	rc = pt__mkdir_shared(e->share);
	if (rc == 0 && e->share[0] != '/') { /* jobs run elsewhere */
		struct pt_buf abs = PT_BUF_INIT;
		rc = pt__realpath(e->share, &abs);
		if (rc == 0) {
			char *a = pt__buf_detach(&abs, NULL);
			rc = a ? 0 : -ENOMEM;
			if (a) {
				pt__free(e->share);
				e->share = a;
			}
		}
		pt__buf_release(&abs);
	}
	if (rc < 0) {
		pt_jobenv_free(e);
		return rc;
	}
	*ret = e;
	return 0;
nomem:
	pt_jobenv_free(e);
	return -ENOMEM;
}

const char *pt_jobenv_share(const struct pt_jobenv *e)
{
	return e ? e->share : NULL;
}

/* The nest of namespace ns: made on first use; NULL path when empty. */
static int nest_for(struct pt_jobenv *e, const char *ns, const char **ret)
{
	struct pt_buf dir = PT_BUF_INIT, link = PT_BUF_INIT;
	struct nest n = { ns, NULL };
	bool any = false;
	int rc = 0;

	pt_vec_foreach(&e->nests, i) {
		if (!strcmp(e->nests.v[i].ns, ns)) {
			*ret = e->nests.v[i].path;
			return 0;
		}
	}
	for (size_t i = 0; i < pt_units_provider_count(e->units); i++) {
		const struct pt_provider *p = pt_units_provider(e->units, i);
		any |= !strcmp(p->ns, ns) && p->bin_dir;
	}
	if (any && !e->nest_root) {
		rc = pt__buf_addf(&dir, "%s/proctor-nest-XXXXXX",
				  pt__tmp_root());
		if (rc == 0)
			rc = pt__mkdtemp(dir.s);
		if (rc == 0)
			rc = pt__chmod(dir.s, 0755);
		if (rc == 0) {
			e->nest_root = pt__buf_detach(&dir, NULL);
			rc = e->nest_root ? 0 : -ENOMEM;
		}
	}
	if (any && rc == 0) {
		pt__buf_reset(&dir);
		rc = pt__buf_addf(&dir, "%s/%zu", e->nest_root, e->nests.n);
		if (rc == 0)
			rc = pt__mkdir(dir.s, 0755);
	}
	for (size_t i = 0;
	     any && rc == 0 && i < pt_units_provider_count(e->units); i++) {
		const struct pt_provider *p = pt_units_provider(e->units, i);
		char **exe = NULL;
		size_t ne = 0;

		if (strcmp(p->ns, ns) || !p->bin_dir ||
		    pt__list_executables(p->bin_dir, &exe, &ne) < 0)
			continue; /* an unreadable bin/ adds nothing */
		for (size_t k = 0; k < ne && rc == 0; k++) {
			const char *base = strrchr(exe[k], '/') + 1;
			pt__buf_reset(&link);
			rc = pt__buf_addf(&link, "%s/%s", dir.s, base);
			/* the first of a name wins, as in PlainBox */
			if (rc == 0 && pt__symlink(exe[k], link.s) == -ENOMEM)
				rc = -ENOMEM;
		}
		strv_free(exe, ne);
	}
	if (any && rc == 0) {
		n.path = pt__buf_detach(&dir, NULL);
		rc = n.path ? 0 : -ENOMEM;
	}
	if (rc == 0 && pt_vec_push(&e->nests, n) < 0) {
		pt__free(n.path);
		rc = -ENOMEM;
	}
	pt__buf_release(&dir);
	pt__buf_release(&link);
	if (rc == 0)
		*ret = n.path;
	return rc;
}

static const char *env_value(const char *name)
{
	char **env = pt__environ();
	size_t n = strlen(name);

	for (size_t i = 0; env && env[i]; i++)
		if (!strncmp(env[i], name, n) && env[i][n] == '=')
			return env[i] + n + 1;
	return NULL;
}

static bool has_name(char *const *v, size_t n, const char *kv)
{
	size_t l = strcspn(kv, "=");

	for (size_t i = 0; i < n; i++)
		if (!strncmp(v[i], kv, l) && v[i][l] == '=')
			return true;
	return false;
}

static int add(struct variant *v, const char *name, const char *value)
{
	struct pt_buf b = PT_BUF_INIT;
	char *s;

	if (!value)
		return 0;
	if (pt__buf_addf(&b, "%s=%s", name, value) < 0)
		return -ENOMEM;
	s = pt__buf_detach(&b, NULL);
	if (!s || pt_vec_push(&v->vars, s) < 0) {
		pt__free(s);
		return -ENOMEM;
	}
	return 0;
}

static int build(struct pt_jobenv *e, struct variant *v)
{
	const struct pt_provider *p = v->p;
	const char *nest = NULL;
	struct pt_buf path = PT_BUF_INIT;
	int rc = nest_for(e, v->ns, &nest);

	if (rc == 0 && nest) {
		const char *old = env_value("PATH");
		rc = pt__buf_addf(&path, "%s%s%s", nest, old ? ":" : "",
				  old ? old : "");
		rc = rc ? rc : add(v, "PATH", path.s);
	}
	pt__buf_release(&path);
	rc = rc ? rc : add(v, "PLAINBOX_SESSION_SHARE", e->share);
	if (rc == 0 && p && !v->reset_locale) {
		rc = rc ? rc : add(v, "TEXTDOMAIN", p->gettext_domain);
		rc = rc ? rc
			: add(v, "PLAINBOX_PROVIDER_GETTEXT_DOMAIN",
			      p->gettext_domain);
		rc = rc ? rc : add(v, "TEXTDOMAINDIR", p->locale_dir);
		rc = rc ? rc
			: add(v, "PLAINBOX_PROVIDER_LOCALE_DIR", p->locale_dir);
	}
	if (rc == 0 && p) {
		rc = rc ? rc : add(v, "PLAINBOX_PROVIDER_DATA", p->data_dir);
		rc = rc ? rc : add(v, "PLAINBOX_PROVIDER_UNITS", p->units_dir);
		rc = rc ? rc : add(v, "CHECKBOX_SHARE", p->base_dir);
	}
	rc = rc ? rc : add(v, "NORMAL_USER", e->normal_user);
	rc = rc ? rc : add(v, "SYSTEMD_IGNORE_CHROOT", "1");
	pt_vec_foreach(&e->launcher, i) {
		const char *kv = e->launcher.v[i];
		char name[256];
		size_t l = strcspn(kv, "=");
		char *s;

		if (rc || l >= sizeof(name))
			continue;
		memcpy(name, kv, l);
		name[l] = '\0';
		/* the environment wins: users customise without editing */
		if (env_value(name) || has_name(v->vars.v, v->vars.n, kv))
			continue;
		s = pt__strdup(kv);
		if (!s || pt_vec_push(&v->vars, s) < 0) {
			pt__free(s);
			rc = -ENOMEM;
		}
	}
	if (rc == 0 && pt_vec_push(&v->vars, NULL) < 0)
		rc = -ENOMEM;
	if (rc == 0)
		v->vars.n--; /* the NULL stays after the last entry */
	return rc;
}

int pt_jobenv_get(struct pt_jobenv *e, const struct pt_job *job,
		  const char *const **ret)
{
	const struct pt_provider *p;
	bool reset;
	struct variant *v;
	int rc;

	if (!e || !job)
		return -EINVAL;
	p = pt_units_job_provider(e->units, job);
	reset = (job->flags & PT_JOB_RESET_LOCALE) != 0;
	pt_vec_foreach(&e->variants, i) {
		v = e->variants.v[i];
		if (v->p == p && v->reset_locale == reset &&
		    !strcmp(v->ns, job->ns ? job->ns : "")) {
			*ret = (const char *const *)v->vars.v;
			return 0;
		}
	}
	v = pt__calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->ns = job->ns ? job->ns : "";
	v->p = p;
	v->reset_locale = reset;
	rc = build(e, v);
	if (rc == 0 && pt_vec_push(&e->variants, v) < 0)
		rc = -ENOMEM;
	if (rc < 0) {
		strv_free(v->vars.v, v->vars.n);
		pt__free(v);
		return rc;
	}
	*ret = (const char *const *)v->vars.v;
	return 0;
}
