/* Tests of io log files: round trip, torn tails, corruption, tails. */
#include "base/common.h"
#include "os/file.h"
#include "runner/runner-internal.h"

#include "tap.h"

static void add(struct pt_iolog_w *w, enum pt_stream st, const char *s,
		size_t n)
{
	unsigned char buf[PT_IOLOG_HDR + 64 + PT_IOLOG_TAIL];

	memcpy(buf + PT_IOLOG_HDR, s, n);
	PT_ASSERT_OK(pt__iolog_w_add(w, 5, st, buf + PT_IOLOG_HDR, n));
}

static void mklog(const char *path)
{
	struct pt_iolog_w w;

	PT_ASSERT_OK(pt__iolog_w_init(&w, path));
	add(&w, PT_STREAM_STDOUT, "hello ", 6);
	add(&w, PT_STREAM_STDERR, "oops\n", 5);
	add(&w, PT_STREAM_STDOUT, "world\n", 6);
	PT_ASSERT_OK(pt__iolog_w_close(&w));
	pt__iolog_w_release(&w);
}

PT_TEST(round_trip_and_stream_masks)
{
	char *s = NULL;
	size_t n;
	bool t = true;

	mklog(pt_test_path("l"));
	PT_ASSERT_OK(pt_runner_iolog_read(pt_test_path("l"), PT_STREAM_STDOUT,
					  100, &s, &n, &t));
	PT_ASSERT_STR_EQ(s, "hello world\n");
	PT_ASSERT(!t);
	pt__free(s);
	PT_ASSERT_OK(pt_runner_iolog_read(pt_test_path("l"),
					  PT_STREAM_STDOUT | PT_STREAM_STDERR,
					  100, &s, &n, NULL));
	PT_ASSERT_STR_EQ(s, "hello oops\nworld\n");
	pt__free(s);
	PT_ASSERT_OK(pt_runner_iolog_read(pt_test_path("l"),
					  PT_STREAM_STDOUT | PT_STREAM_STDERR,
					  7, &s, &n, &t));
	PT_ASSERT_STR_EQ(s, "\nworld\n");
	PT_ASSERT(t);
	pt__free(s);
	PT_ASSERT_OK(pt_runner_iolog_read(NULL, 3, 7, &s, &n, &t));
	PT_ASSERT_STR_EQ(s, "");
	pt__free(s);
	PT_ASSERT_ERR(
		pt_runner_iolog_read(pt_test_path("none"), 3, 7, &s, &n, &t),
		-ENOENT);
}

PT_TEST(torn_tail_is_the_end)
{
	char *data = NULL, *s = NULL;
	size_t len, n;

	mklog(pt_test_path("l"));
	PT_ASSERT_OK(pt__read_file(pt_test_path("l"), 4096, &data, &len));
	/* Every truncation point reads as a prefix of the records. */
	for (size_t cut = 8; cut < len; cut++) {
		PT_ASSERT_OK(pt__write_file_atomic(pt_test_path("t"), data, cut,
						   0644));
		PT_ASSERT_OK(pt_runner_iolog_read(pt_test_path("t"), 3, 100, &s,
						  &n, NULL));
		PT_ASSERT(!strncmp("hello oops\nworld\n", s, n));
		pt__free(s);
	}
	pt__free(data);
}

PT_TEST(corruption_is_reported_with_offset)
{
	char *data = NULL, *s = NULL;
	size_t len;
	struct pt_runner_iolog *r = NULL;
	struct pt_runner_iolog_rec rec;

	mklog(pt_test_path("l"));
	PT_ASSERT_OK(pt__read_file(pt_test_path("l"), 4096, &data, &len));
	/* the stream of record 2 */
	data[8 + PT_IOLOG_HDR + 6 + PT_IOLOG_TAIL] = 7;
	PT_ASSERT_OK(pt__write_file_atomic(pt_test_path("c"), data, len, 0644));
	PT_ASSERT_OK(pt_runner_iolog_open(pt_test_path("c"), &r));
	PT_ASSERT_INT_EQ(pt_runner_iolog_next(r, &rec), 1);
	PT_ASSERT_UINT_EQ(rec.len, 6);
	PT_ASSERT_INT_EQ(rec.offset_ns, 5);
	PT_ASSERT_ERR(pt_runner_iolog_next(r, &rec), PT_ECORRUPT);
	PT_ASSERT_UINT_EQ(pt_runner_iolog_offset(r),
			  8 + PT_IOLOG_HDR + 6 + PT_IOLOG_TAIL);
	pt_runner_iolog_close(r);
	PT_ASSERT_ERR(
		pt_runner_iolog_read(pt_test_path("c"), 3, 100, &s, NULL, NULL),
		PT_ECORRUPT);
	/* A huge length is refused, not allocated. */
	data[8 + 7] = 0x7f;
	PT_ASSERT_OK(pt__write_file_atomic(pt_test_path("c"), data, len, 0644));
	PT_ASSERT_ERR(
		pt_runner_iolog_read(pt_test_path("c"), 3, 100, &s, NULL, NULL),
		PT_ECORRUPT);
	PT_ASSERT_OK(
		pt__write_file_atomic(pt_test_path("m"), "NOTALOG!x", 9, 0644));
	PT_ASSERT_ERR(pt_runner_iolog_open(pt_test_path("m"), &r), PT_ECORRUPT);
	/* A flipped data byte in a middle record: checksum mismatch. */
	mklog(pt_test_path("l"));
	pt__free(data);
	PT_ASSERT_OK(pt__read_file(pt_test_path("l"), 4096, &data, &len));
	data[8 + PT_IOLOG_HDR + 1] ^= 1;
	PT_ASSERT_OK(pt__write_file_atomic(pt_test_path("c"), data, len, 0644));
	PT_ASSERT_ERR(
		pt_runner_iolog_read(pt_test_path("c"), 3, 100, &s, NULL, NULL),
		PT_ECORRUPT);
	/* ... but in the last record it is a torn tail: the end. */
	pt__free(data);
	PT_ASSERT_OK(pt__read_file(pt_test_path("l"), 4096, &data, &len));
	data[len - PT_IOLOG_TAIL - 1] ^= 1;
	PT_ASSERT_OK(pt__write_file_atomic(pt_test_path("c"), data, len, 0644));
	PT_ASSERT_OK(pt_runner_iolog_read(pt_test_path("c"), 3, 100, &s, NULL,
					  NULL));
	PT_ASSERT_STR_EQ(s, "hello oops\n");
	pt__free(s);
	/* A file torn at creation is an empty log. */
	PT_ASSERT_OK(pt__write_file_atomic(pt_test_path("e"), "PTIO", 4, 0644));
	PT_ASSERT_OK(pt_runner_iolog_read(pt_test_path("e"), 3, 100, &s, NULL,
					  NULL));
	PT_ASSERT_STR_EQ(s, "");
	pt__free(s);
	pt__free(data);
}
