/* Tests of template instantiation after a resource job. */
#include "base/common.h"

#include <proctor/runner.h>
#include <proctor/unit.h>

#include "tap.h"

static const char units_text[] =
	"id: disks\n"
	"plugin: resource\n"
	"command: true\n"
	"\n"
	"unit: template\n"
	"template-resource: disks\n"
	"template-filter: disks.size != '0'\n"
	"id: check-{name}\n"
	"plugin: shell\n"
	"command: echo {name} {size}\n"
	"\n"
	"unit: template\n"
	"template-resource: other\n"
	"id: never-{name}\n"
	"command: true\n";

PT_TEST(templates_instantiate_filtered_records)
{
	struct pt_units *u = NULL;
	struct pt_records *recs = NULL;
	struct pt_diags *d = NULL;
	const char out[] = "name: vda\nsize: 10\n\nname: vdb\nsize: 0\n\n"
			   "name: vdc\nsize: 3\n";
	size_t before;
	const struct pt_job *j;

	PT_ASSERT_OK(pt_units_new(&u));
	PT_ASSERT_OK(pt_diags_new(&d));
	PT_ASSERT_OK(pt_units_load_buffer(u, units_text, strlen(units_text),
					  "t.pxu", NULL, d));
	PT_ASSERT_UINT_EQ(pt_diags_errors(d), 0);
	before = pt_units_job_count(u);
	PT_ASSERT_UINT_EQ(before, 1);
	PT_ASSERT_INT_EQ(pt_rfc822_parse(out, strlen(out), "disks", NULL, NULL,
					 &recs),
			 3);
	PT_ASSERT_INT_EQ(pt_runner_instantiate(u, "disks", recs, d), 2);
	PT_ASSERT_UINT_EQ(pt_units_job_count(u), 3);
	j = pt_units_find_job(u, "check-vda");
	PT_ASSERT_NOT_NULL(j);
	PT_ASSERT_STR_EQ(j->command, "echo vda 10");
	PT_ASSERT_NOT_NULL(j->template_id);
	PT_ASSERT_NOT_NULL(pt_units_find_job(u, "check-vdc"));
	PT_ASSERT_NULL(pt_units_find_job(u, "check-vdb"));
	/* A resource no template uses adds nothing. */
	PT_ASSERT_INT_EQ(pt_runner_instantiate(u, "nothing", recs, d), 0);
	PT_ASSERT_ERR(pt_runner_instantiate(NULL, "x", recs, d), -EINVAL);
	pt_records_free(recs);
	pt_diags_free(d);
	pt_units_free(u);
}
