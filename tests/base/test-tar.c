/*
 * The tar writer (base/tar.h): an archive with a short name, a name
 * split into ustar prefix and name, and a name only a pax header can
 * hold, empty and multi-block members; GNU tar lists and extracts it to
 * the same bytes.
 */
#include "base/buf.h"
#include "base/common.h"
#include "base/tar.h"
#include "os/file.h"
#include "os/proc.h"

#include "tap.h"

static int to_buf(void *ctx, const void *p, size_t len)
{
	return pt__buf_add(ctx, p, len);
}

static int run(const char *const *argv)
{
	pid_t pid;
	int st = -1;

	PT_ASSERT_OK(pt__spawn(&(struct pt_spawn){ .argv = argv,
						   .fd_in = -1,
						   .fd_out = -1,
						   .fd_err = -2,
						   .search = true },
			       &pid, NULL));
	PT_ASSERT_OK(pt__proc_wait(pid, -1, 20000, &st));
	return st;
}

PT_TEST(tar_extracts_with_gnu_tar)
{
	struct pt_buf a = PT_BUF_INIT, big = PT_BUF_INIT, path = PT_BUF_INIT;
	char split[256], paxname[400];
	const char *dir = pt_test_tmpdir();
	char *got = NULL;
	size_t len;

	for (int i = 0; i < 1300; i++)
		pt__buf_addch(&big, 'a' + i % 26);
	/* 150 bytes of directory, then a 60-byte name: ustar prefix */
	memset(split, 'd', 150);
	split[150] = '/';
	memset(split + 151, 'n', 60);
	split[211] = '\0';
	/* one 200-byte component: only pax can hold it */
	memset(paxname, 'p', 212);
	memcpy(paxname, "test_output/", 12);
	paxname[212] = '\0';
	PT_ASSERT_OK(pt__tar_file(to_buf, &a, "submission.json", 0644,
				  1700000000, "{}\n", 3));
	PT_ASSERT_OK(pt__tar_file(to_buf, &a, "empty", 0644, 0, NULL, 0));
	PT_ASSERT_OK(pt__tar_file(to_buf, &a, split, 0644, 0, big.s, big.len));
	PT_ASSERT_OK(pt__tar_file(to_buf, &a, paxname, 0644, 0, "x", 1));
	PT_ASSERT_OK(pt__tar_end(to_buf, &a));
	PT_ASSERT_UINT_EQ(a.len % 512, 0);
	PT_ASSERT_ERR(pt__tar_file(to_buf, &a, "/abs", 0644, 0, "", 0),
		      -EINVAL);
	PT_ASSERT_ERR(pt__tar_file(to_buf, &a, "", 0644, 0, "", 0), -EINVAL);
	pt__buf_addf(&path, "%s/a.tar", dir);
	PT_ASSERT_OK(pt__write_file_atomic(path.s, a.s, a.len, 0644));
	{
		const char *argv[] = { "tar", "-C", dir, "-xf", path.s, NULL };
		PT_ASSERT_INT_EQ(run(argv), 0);
	}
	PT_ASSERT_OK(pt__read_file(pt_test_path("submission.json"), 100, &got,
				   &len));
	PT_ASSERT_STR_EQ(got, "{}\n");
	pt__free(got);
	PT_ASSERT_OK(pt__read_file(pt_test_path("empty"), 100, &got, &len));
	PT_ASSERT_UINT_EQ(len, 0);
	pt__free(got);
	pt__buf_reset(&path);
	pt__buf_addf(&path, "%s/%s", dir, split);
	PT_ASSERT_OK(pt__read_file(path.s, 10000, &got, &len));
	PT_ASSERT_UINT_EQ(len, big.len);
	PT_ASSERT_MEM_EQ(got, big.s, len);
	pt__free(got);
	pt__buf_reset(&path);
	pt__buf_addf(&path, "%s/%s", dir, paxname);
	PT_ASSERT_OK(pt__read_file(path.s, 100, &got, &len));
	PT_ASSERT_STR_EQ(got, "x");
	pt__free(got);
	pt__buf_release(&a);
	pt__buf_release(&big);
	pt__buf_release(&path);
}
