/*
 * session/plan.c - planning a test plan as checkbox-cli's session
 * assistant does: select_test_plan, bootstrap (fake resources as
 * tp-export, or real through the caller's runner), finish_bootstrap.
 */
#include "base/common.h"
#include "session/session-internal.h"

#define COLLECT_MANIFEST "com.canonical.plainbox::collect-manifest"

/* Test-plan overrides of the effective fields, for every job. */
static int apply_overrides(struct pt_session *s,
			   const struct pt_plan_selection *sel)
{
	static const char *const f[] = { "category_id", "certification_status",
					 "auto_retry" };

	for (size_t i = 0; i < pt_session_job_count(s); i++) {
		const struct pt_job *job = pt_session_job(s, i);

		for (size_t k = 0; k < PT_ARRAY_SIZE(f); k++) {
			const char *v = pt_plan_effective(sel, job, f[k]);
			int r;

			if (v && (r = pt_session_override(s, i, f[k], v)) < 0)
				return r;
		}
	}
	return 0;
}

/* FakeJobRunner: "a: b" (graphics_card: "a: b" and "a: c"), pass. */
static int run_fake(struct pt_session *s, size_t j)
{
	static const char *const a[] = { "a" }, *const b[] = { "b" },
				 *const c[] = { "c" };
	const struct pt_job *job = pt_session_job(s, j);
	struct pt_result pass = { .outcome = PT_OUTCOME_PASS, .duration = -1 };
	struct pt_resource_record recs[2] = { { 1, a, b }, { 1, a, c } };
	bool two = job->partial_id && !strcmp(job->partial_id, "graphics_card");

	if (job->plugin != PT_PLUGIN_RESOURCE)
		return pt_session_set_result(s, j, &pass, NULL, 0);
	return pt_session_set_result(s, j, &pass, recs, two ? 2 : 1);
}

static int bootstrap(struct pt_session *s, const struct pt_plan_selection *sel,
		     enum pt_bootstrap_mode mode,
		     const struct pt_bootstrap_ops *ops)
{
	int r = pt_session_set_desired(s, sel->bootstrap.v, sel->bootstrap.n,
				       false);

	if (r < 0)
		return r;
	for (size_t i = 0; i < pt_session_run_list_count(s); i++) {
		size_t j = pt_session_run_list_get(s, i);

		if (pt_session_result_history_count(s, j))
			continue;
		if (!pt_session_can_start(s, j)) {
			struct pt_result res = {
				.outcome = pt_session_blocked_outcome(s, j),
				.duration = -1,
			};
			r = pt_session_set_result(s, j, &res, NULL, 0);
		} else if (mode == PT_BOOTSTRAP_FAKE) {
			r = run_fake(s, j);
		} else {
			r = ops->run(ops->ctx, s, j);
		}
		if (r < 0)
			return r;
	}
	return 0;
}

int pt_session_plan(struct pt_session *s, const char *plan_id,
		    enum pt_bootstrap_mode mode,
		    const struct pt_bootstrap_ops *ops,
		    struct pt_plan_selection **ret)
{
	struct pt_plan_selection *sel = NULL;
	const struct pt_unit *tp;
	const char **desired = NULL;
	size_t nd = 0;
	int r;

	if (!s || !s->units || !plan_id ||
	    (mode == PT_BOOTSTRAP_RUN && (!ops || !ops->run)))
		return -EINVAL;
	tp = pt_units_find_plan(s->units, plan_id);
	if (!tp)
		return PT_ENOTFOUND;
	/* select_test_plan */
	r = pt_plan_select(s->units, tp->id, NULL, 0, s->unit_diags, &sel);
	if (r < 0)
		return r;
	if ((r = pt_session_set_mandatory(s, sel->mandatory.v,
					  sel->mandatory.n)) < 0 ||
	    (r = apply_overrides(s, sel)) < 0)
		goto out;
	if (mode != PT_BOOTSTRAP_NONE) {
		bool was_fake = s->fake_resources;

		s->fake_resources = mode == PT_BOOTSTRAP_FAKE;
		r = bootstrap(s, sel, mode, ops);
		s->fake_resources = was_fake;
		if (r < 0)
			goto out;
		/* finish_bootstrap: select again, generated jobs included */
		pt_plan_selection_free(sel);
		sel = NULL;
		r = pt_plan_select(s->units, tp->id, NULL, 0, s->unit_diags,
				   &sel);
		if (r < 0 || (r = apply_overrides(s, sel)) < 0)
			goto out;
	}
	desired = pt__calloc(sel->desired.n + 1, sizeof(*desired));
	if (!desired) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < sel->desired.n; i++)
		if (strcmp(sel->desired.v[i], COLLECT_MANIFEST))
			desired[nd++] = sel->desired.v[i];
	r = pt_session_set_desired(s, desired, nd, true);
	if (r >= 0)
		r = 0;
out:
	pt__free(desired);
	if (r == 0 && ret)
		*ret = sel;
	else
		pt_plan_selection_free(sel);
	return r;
}

int pt_session_run_manifest(struct pt_session *s, const struct pt_manifest *m)
{
	struct pt_result pass = { .outcome = PT_OUTCOME_PASS, .duration = 0 };
	size_t j;
	char *text = NULL;
	size_t len = 0;
	int r;

	if (!s || !s->units)
		return -EINVAL;
	j = pt_session_job_index(s, PT_MANIFEST_JOB);
	if (j == PT_SESSION_NO_JOB)
		return 0;
	r = pt_manifest_resource(s->units, m, &text, &len);
	if (r < 0)
		return r;
	r = pt_session_set_result_output(s, j, &pass, text, len, s->unit_diags);
	pt__free(text);
	return r;
}
