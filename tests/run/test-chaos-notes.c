/*
 * test-chaos-notes - the run's incremental reader of the chaos log
 * (src/run/chaos-notes.c): notes per attempt, lines written in pieces,
 * over-long lines, lines from before the run, process faults skipped.
 */
#include "run/run-internal.h"

#include "os/runos.h"

#include <string.h>

#include "tap.h"

static void add(const char *path, const char *text)
{
	PT_ASSERT_OK(pt__append(path, text, strlen(text)));
}

static char note[768];

static const char *get(struct pt__chaos_notes *cn, const char *path,
		       const char *job, unsigned attempt)
{
	pt__chaos_notes_get(cn, path, job, attempt, note, sizeof(note));
	return note;
}

PT_TEST(notes_per_attempt_from_pieces_of_lines)
{
	const char *log = pt_test_path("chaos.log");
	struct pt__chaos_notes cn = { 0 };

	/* no log yet: no fault, no error */
	PT_ASSERT_STR_EQ(get(&cn, log, "t::a", 1), "");
	add(log, "t::a\t1\t12\twrite\t3\tEIO\t1796659607.000001\n"
		 "t::b\t1\t13\tread\t1\tEINTR\t1796659607.000002\n"
		 "t::a\t1\t12\tkill\t0.100\tSIGKILL to the group\t1.0\n"
		 "t::a\t1\t14\tsend\t2\tECONNRESET\t1796659607.0000");
	/* the last line is not complete yet: one fault so far */
	PT_ASSERT_STR_EQ(get(&cn, log, "t::a", 1),
			 "chaos: 1 fault: write EIO at call 3 (pid 12)");
	/* noted once: asked again, nothing */
	PT_ASSERT_STR_EQ(get(&cn, log, "t::a", 1), "");
	add(log, "03\nt::a\t2\t15\topen\t1\tEACCES\t1796659607.000004\n");
	PT_ASSERT_STR_EQ(get(&cn, log, "t::a", 2),
			 "chaos: 1 fault: open EACCES at call 1 (pid 15)");
	/* the completed line came after t::a 1 was noted: kept apart */
	PT_ASSERT_STR_EQ(get(&cn, log, "t::b", 1),
			 "chaos: 1 fault: read EINTR at call 1 (pid 13)");
	PT_ASSERT_STR_EQ(get(&cn, log, "t::a", 1),
			 "chaos: 1 fault: send ECONNRESET at call 2 (pid 14)");
	pt__chaos_notes_release(&cn);
}

PT_TEST(first_five_listed_long_lines_skipped_old_lines_ignored)
{
	const char *log = pt_test_path("chaos.log");
	struct pt__chaos_notes cn = { 0 };
	char line[128], big[6000];

	add(log, "t::a\t1\t9\twrite\t1\tEIO\t1796659607.000001\n");
	pt__chaos_notes_skip_existing(&cn, log); /* an earlier run's */
	for (int i = 1; i <= 7; i++) {
		snprintf(
			line, sizeof(line),
			"t::a\t1\t10\twrite\t%d\tENOSPC\t1796659607.0000%02d\n",
			i, i);
		add(log, line);
	}
	memset(big, 'x', sizeof(big) - 2);
	big[sizeof(big) - 2] = '\n';
	big[sizeof(big) - 1] = 0;
	add(log, big);
	add(log, "t::a\t1\t10\tread\t8\tshort\t1796659607.000100\n");
	PT_ASSERT_STR_EQ(get(&cn, log, "t::a", 1),
			 "chaos: 8 faults: write ENOSPC at call 1 (pid 10), "
			 "write ENOSPC at call 2 (pid 10), write ENOSPC at "
			 "call 3 (pid 10), write ENOSPC at call 4 (pid 10), "
			 "write ENOSPC at call 5 (pid 10), ...");
	pt__chaos_notes_release(&cn);
}
