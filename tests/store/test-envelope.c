/* Tests of the export/import envelope (src/store/envelope.c). */
#include "base/buf.h"
#include "base/common.h"
#include "base/diag.h"
#include "os/fd.h"
#include "os/file.h"
#include "store/store-internal.h"

#include <stdio.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "tap.h"

static const char *repo(void)
{
	return pt_test_path("repo");
}

static const char *last_msg(struct pt_diags *d)
{
	const struct pt_diag *x = pt_diags_get(d, pt_diags_count(d) - 1);
	return x ? x->message : "(none)";
}

static void gz(const char *text, size_t len, struct pt_buf *out)
{
	z_stream z;
	unsigned char chunk[4096];
	int zr;

	memset(&z, 0, sizeof(z));
	PT_ASSERT_INT_EQ(
		deflateInit2(&z, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY),
		Z_OK);
	z.next_in = (Bytef *)(uintptr_t)text;
	z.avail_in = (uInt)len;
	do {
		z.next_out = chunk;
		z.avail_out = sizeof(chunk);
		zr = deflate(&z, Z_FINISH);
		PT_ASSERT_OK(
			pt__buf_add(out, chunk, sizeof(chunk) - z.avail_out));
	} while (zr != Z_STREAM_END);
	deflateEnd(&z);
}

/* A full session with every kind of data; returns its id. */
static char *make_session(void)
{
	const char *flags[] = { "incomplete" };
	const char *rejected[] = { "rj" };
	const struct pt_store_kv plan[] = { { "path", "/u" },
					    { "test-plan", "tp" } };
	struct pt_store_meta m = {
		.title = "export me",
		.flags = flags,
		.n_flags = 1,
		.app_id = "app",
		.app_blob = "{\"x\":1}\0z",
		.app_blob_len = 9,
		.rejected = rejected,
		.n_rejected = 1,
		.started_ns = 99,
		.plan = plan,
		.n_plan = 2,
		.total_jobs = 3,
	};
	const struct pt_store_job jobs[] = {
		{ "a", "s1", 0, "f.pxu:1", "id: a\ncommand: true\n" },
		{ "r", "s2", PT_STORE_JOB_RESOURCE, NULL, NULL },
	};
	const char *desired[] = { "a", "r" };
	const struct pt_store_kv kv[] = { { "k", "v" }, { "k2", "\xc3\xa9" } };
	const struct pt_store_record rec = { 2, kv };
	struct pt_store *s = NULL;
	struct pt_iolog *w = NULL;
	struct pt_result res = { .outcome = PT_OUTCOME_FAIL,
				 .return_code = 2,
				 .duration = 1.25,
				 .comments = "c",
				 .attempt = 1,
				 .started_ns = 5 };
	char *id;

	PT_ASSERT_OK(pt_store_create(repo(), &m, NULL, &s));
	PT_ASSERT_OK(pt_store_put_jobs(s, jobs, 2));
	PT_ASSERT_OK(pt_store_set_desired(s, desired, 2));
	PT_ASSERT_OK(pt_store_iolog_open(s, "a", 1, &w));
	PT_ASSERT_OK(pt_iolog_append(w, 1, PT_STREAM_STDOUT, "out\n", 4));
	PT_ASSERT_OK(pt_iolog_append(w, 2, PT_STREAM_STDERR, "\0\1\2", 3));
	res.io_log = pt_iolog_path(w);
	PT_ASSERT_OK(pt_store_commit_result(s, "a", &res, PT_SYNC_NORMAL));
	pt_iolog_free(w);
	res.outcome = PT_OUTCOME_PASS;
	res.io_log = NULL;
	res.comments = NULL;
	PT_ASSERT_OK(pt_store_commit_result(s, "r", &res, PT_SYNC_NORMAL));
	PT_ASSERT_OK(pt_store_put_resource(s, "r", &rec, 1));
	PT_ASSERT_OK(pt_store_attach(s, "a", "log.txt", "attached", 8, NULL));
	PT_ASSERT_OK(pt_store_set_running(s, "r", 2, 77));
	id = pt__strdup(pt_store_id(s));
	pt_store_free(s);
	return id;
}

static int cat_rec(void *ctx, const struct pt_iolog_record *rec)
{
	pt__buf_addf(ctx, "%" PRId64 "/%d/", rec->offset_ns, rec->stream);
	pt__buf_add(ctx, rec->data, rec->len);
	pt__buf_addch(ctx, '|');
	return 0;
}

/* export -o over a symlink planted at the old temporary name (and at
 * the output name): neither link target is written. */
PT_TEST(export_does_not_follow_planted_symlinks)
{
	char *id = make_session(), *text = NULL;
	const char *file = pt_test_path("out.gz");
	const char *victim = pt_test_path("victim");
	struct pt_store *s = NULL;
	struct pt_diags *d = NULL;
	struct stat st;
	size_t n;

	PT_ASSERT_OK(pt_diags_new(&d));
	PT_ASSERT_OK(pt__write_file_atomic(victim, "keep", 4, 0600));
	PT_ASSERT_OK(symlink(victim, pt_test_path("out.gz.next")));
	PT_ASSERT_OK(pt_store_open(repo(), id, PT_STORE_READ, d, &s));
	PT_ASSERT_OK(pt_store_export(s, file, d));
	PT_ASSERT_OK(pt__read_file(victim, 100, &text, &n));
	PT_ASSERT_STR_EQ(text, "keep");
	pt__free(text);
	PT_ASSERT_OK(unlink(file));
	PT_ASSERT_OK(symlink(victim, file));
	PT_ASSERT_OK(pt_store_export(s, file, d));
	PT_ASSERT_OK(pt__read_file(victim, 100, &text, &n));
	PT_ASSERT_STR_EQ(text, "keep");
	pt__free(text);
	PT_ASSERT_OK(lstat(file, &st));
	PT_ASSERT(S_ISREG(st.st_mode));
	pt_store_free(s);
	pt_diags_free(d);
	pt__free(id);
}

PT_TEST(export_import_roundtrip)
{
	char *id = make_session(), *id2 = NULL;
	const char *file = pt_test_path("s.ptz");
	struct pt_store *s = NULL;
	struct pt_store_state *st = NULL;
	struct pt_store_info *info = NULL;
	struct pt_diags *d = NULL;
	struct pt_buf b = PT_BUF_INIT;
	char *text = NULL, *data = NULL;
	size_t n;

	PT_ASSERT_OK(pt_diags_new(&d));
	PT_ASSERT_OK(pt_store_open(repo(), id, PT_STORE_READ, d, &s));
	PT_ASSERT_OK(pt_store_export(s, file, d));
	pt_store_free(s);
	PT_ASSERT_INT_EQ(access(pt_test_path("s.ptz.next"), F_OK), -1);

	PT_ASSERT_OK(pt_store_envelope_peek(file, d, &info));
	PT_ASSERT_STR_EQ(info->id, id);
	PT_ASSERT_STR_EQ(info->meta.title, "export me");
	PT_ASSERT_UINT_EQ(info->n_done, 2);
	PT_ASSERT_UINT_EQ(info->n_total, 3);
	pt_store_info_free(info);

	PT_ASSERT_ERR(pt_store_import(repo(), file, d, &id2), -EEXIST);
	{
		char want[64];
		snprintf(want, sizeof(want), "session %s already exists", id);
		PT_ASSERT_STR_EQ(last_msg(d), want);
	}
	PT_ASSERT_OK(pt_store_remove(repo(), id, d));
	PT_ASSERT_OK(pt_store_import(repo(), file, d, &id2));
	PT_ASSERT_STR_EQ(id2, id);

	PT_ASSERT_OK(pt_store_open(repo(), id, PT_STORE_READ, d, &s));
	PT_ASSERT_OK(pt_store_load(s, &st));
	PT_ASSERT_STR_EQ(st->meta.title, "export me");
	PT_ASSERT_UINT_EQ(st->meta.app_blob_len, 9);
	PT_ASSERT_MEM_EQ(st->meta.app_blob, "{\"x\":1}\0z", 9);
	PT_ASSERT_STR_EQ(st->meta.flags[0], "incomplete");
	PT_ASSERT_STR_EQ(st->meta.rejected[0], "rj");
	PT_ASSERT_STR_EQ(st->meta.running_job, "r");
	PT_ASSERT_UINT_EQ(st->meta.running_attempt, 2);
	PT_ASSERT_INT_EQ(st->meta.last_job_start_ns, 77);
	PT_ASSERT_INT_EQ(st->meta.started_ns, 99);
	PT_ASSERT_UINT_EQ(st->meta.n_plan, 2);
	PT_ASSERT_STR_EQ(st->meta.plan[1].value, "tp");
	PT_ASSERT_UINT_EQ(st->n_jobs, 2);
	PT_ASSERT_STR_EQ(st->jobs[1].id, "r");
	PT_ASSERT_UINT_EQ(st->jobs[1].flags, PT_STORE_JOB_RESOURCE);
	PT_ASSERT_STR_EQ(st->jobs[0].origin, "f.pxu:1");
	PT_ASSERT_UINT_EQ(st->n_desired, 2);
	PT_ASSERT_UINT_EQ(st->n_results, 2);
	PT_ASSERT_INT_EQ(st->results[0].r.outcome, PT_OUTCOME_FAIL);
	PT_ASSERT_INT_EQ(st->results[0].r.return_code, 2);
	PT_ASSERT(st->results[0].r.duration == 1.25);
	PT_ASSERT_STR_EQ(st->results[0].r.comments, "c");
	PT_ASSERT_NULL(st->results[1].r.comments);
	PT_ASSERT_STR_EQ(st->resources[0].records[0].kv[1].value, "\xc3\xa9");
	PT_ASSERT_OK(pt_store_job_text(s, "a", &text));
	PT_ASSERT_STR_EQ(text, "id: a\ncommand: true\n");
	pt_free(text);
	PT_ASSERT_OK(pt_store_iolog_read(s, st->results[0].r.io_log, cat_rec,
					 &b, d));
	PT_ASSERT_INT_EQ(b.len, 17);
	PT_ASSERT_MEM_EQ(b.s, "1/1/out\n|2/2/\0\1\2|", 17);
	pt__buf_reset(&b);
	PT_ASSERT_OK(pt__buf_addf(
		&b, "%s/attachments/a.%08lx.log.txt", pt_store_dir(s),
		(unsigned long)crc32(0, (const Bytef *)"a", 1)));
	PT_ASSERT_OK(pt__read_file(b.s, 100, &data, &n));
	PT_ASSERT_STR_EQ(data, "attached");
	pt_free(data);
	pt_store_state_free(st);
	pt_store_free(s);
	pt__buf_release(&b);
	pt_free(id2);
	pt__free(id);
	pt_diags_free(d);
}

static int fail_fsync(void *ctx, int fd)
{
	(void)ctx;
	(void)fd;
	return -EIO;
}

PT_TEST(export_is_atomic)
{
	char *id = make_session(), *old = NULL;
	const char *file = pt_test_path("s.ptz");
	struct pt_io_faults f = { .before_fsync = fail_fsync };
	struct pt_store *s = NULL;
	size_t n;

	PT_ASSERT_OK(pt__write_file_atomic(file, "old", 3, 0600));
	PT_ASSERT_OK(pt_store_open(repo(), id, PT_STORE_READ, NULL, &s));
	pt__io_set_faults(&f);
	PT_ASSERT_ERR(pt_store_export(s, file, NULL), -EIO);
	pt__io_set_faults(NULL);
	PT_ASSERT_OK(pt__read_file(file, 100, &old, &n));
	PT_ASSERT_STR_EQ(old, "old");
	PT_ASSERT_INT_EQ(access(pt_test_path("s.ptz.next"), F_OK), -1);
	pt_free(old);
	pt_store_free(s);
	pt__free(id);
}

/* Parses text (gzipped here) and expects err with message msg. */
static void expect_bad(const char *text, int err, const char *msg)
{
	struct pt_buf z = PT_BUF_INIT;
	struct pt_envelope *e = NULL;
	struct pt_diags *d = NULL;

	PT_ASSERT_OK(pt_diags_new(&d));
	gz(text, strlen(text), &z);
	PT_ASSERT_ERR(pt__envelope_parse(z.s, z.len, false, d, &e), err);
	PT_ASSERT_NULL(e);
	PT_ASSERT_STR_EQ(last_msg(d), msg);
	pt__buf_release(&z);
	pt_diags_free(d);
}

#define META                                                         \
 "\"meta\":{\"title\":null,\"flags\":[],\"running_job\":null,"       \
 "\"running_attempt\":0,\"app_id\":null,\"app_blob\":null,"          \
 "\"custom_joblist\":false,\"rejected\":[],\"last_job_start_ns\":0," \
 "\"started_ns\":0,\"total_jobs\":0,\"plan\":[]}"
#define HDR(v)                                        \
 "{\"format\":\"proctor-session\",\"version\":" v "," \
 "\"id\":\"0123456789abcdef\",\"n_done\":0,\"n_total\":0," META "}\n"
#define BODY(results)                                   \
 "{\"jobs\":[],\"desired\":[],\"results\":" results "," \
 "\"resources\":[],\"io_logs\":[],\"attachments\":[]}\n"

PT_TEST(minimal_envelope_parses)
{
	const char *t = HDR("1") BODY("[{\"job\":\"j\",\"outcome\":\"pass\","
				      "\"return_code\":0,\"duration\":1,"
				      "\"attempt\":1,\"started_ns\":0}]");
	struct pt_buf z = PT_BUF_INIT;
	struct pt_envelope *e = NULL;

	gz(t, strlen(t), &z);
	PT_ASSERT_OK(pt__envelope_parse(z.s, z.len, false, NULL, &e));
	pt__envelope_free(e);
	pt__buf_release(&z);
}

PT_TEST(wrong_version_is_incompatible)
{
	expect_bad(HDR("2") BODY("[]"), PT_EINCOMPAT,
		   "version: unsupported envelope version 2 (this proctor "
		   "reads 1)");
}

PT_TEST(bad_fields_are_named)
{
	expect_bad(HDR("1") BODY("[{\"job\":\"j\",\"outcome\":\"bogus\"}]"),
		   PT_ECORRUPT, "results[0].outcome: unknown outcome 'bogus'");
	expect_bad(HDR("1") BODY("[{\"job\":\"j\",\"outcome\":\"pass\","
				 "\"return_code\":\"x\"}]"),
		   PT_ECORRUPT, "results[0]: 'return_code' is not an integer");
	expect_bad(HDR("1") "{\"jobs\":[{\"id\":\"\"}]}\n", PT_ECORRUPT,
		   "jobs[0]: 'id' is empty");
	expect_bad(HDR("1") "{\"jobs\":[],\"desired\":[],\"results\":[],"
			    "\"resources\":[],\"io_logs\":[{\"path\":"
			    "\"io-logs/../../x\",\"records\":[]}]}\n",
		   PT_ECORRUPT, "io_logs[0]: 'path' is not an io-log path");
	expect_bad("{\"format\":\"zip\"}\n", PT_ECORRUPT,
		   "format: not a proctor session envelope");
	expect_bad(HDR("1") "{\"jobs\":[}\n", PT_ECORRUPT,
		   "envelope: body line, byte 10: unexpected token near '}'");
	expect_bad(HDR("1") BODY("[]") "extra\n", PT_ECORRUPT,
		   "envelope: byte 289: expected one body line ending the "
		   "data");
}

/* The fields of sessions of schema 2: optional, checked when present. */
PT_TEST(lane_flaky_and_handles_are_checked)
{
	expect_bad(HDR("1") BODY("[{\"job\":\"j\",\"outcome\":\"pass\","
				 "\"return_code\":0,\"duration\":1,"
				 "\"attempt\":2,\"started_ns\":0,"
				 "\"flaky\":\"yes\"}]"),
		   PT_ECORRUPT, "results[0]: 'flaky' is not a boolean");
	expect_bad(HDR("1") BODY("[{\"job\":\"j\",\"outcome\":\"pass\","
				 "\"return_code\":0,\"duration\":1,"
				 "\"attempt\":2,\"started_ns\":0,"
				 "\"lane\":-1}]"),
		   PT_ECORRUPT, "results[0]: 'lane' out of range");
	expect_bad(HDR("1") "{\"jobs\":[],\"desired\":[],\"results\":[],"
			    "\"resources\":[],\"handles\":[{\"job\":\"j\","
			    "\"attempt\":1}]}\n",
		   PT_ECORRUPT, "handles[0]: missing string 'handle'");
}

PT_TEST(not_gzip_and_trailing_garbage)
{
	struct pt_envelope *e = NULL;
	struct pt_diags *d = NULL;
	struct pt_buf z = PT_BUF_INIT;
	const char *t = HDR("1") BODY("[]");

	PT_ASSERT_OK(pt_diags_new(&d));
	PT_ASSERT_ERR(pt__envelope_parse("hello world", 11, false, d, &e),
		      PT_ECORRUPT);
	PT_ASSERT_STR_EQ(last_msg(d), "envelope: byte 2 of the compressed "
				      "input: incorrect header check");
	gz(t, strlen(t), &z);
	PT_ASSERT_OK(pt__buf_add(&z, "JUNK", 4));
	PT_ASSERT_ERR(pt__envelope_parse(z.s, z.len, false, d, &e),
		      PT_ECORRUPT);
	PT_ASSERT(strstr(last_msg(d), "data after the end of the gzip"));
	pt__buf_release(&z);
	pt_diags_free(d);
}

PT_TEST(every_truncation_is_reported)
{
	char *id = make_session();
	const char *file = pt_test_path("t.ptz");
	struct pt_store *s = NULL;
	struct pt_diags *d = NULL;
	char *data = NULL;
	size_t len = 0;

	PT_ASSERT_OK(pt_store_open(repo(), id, PT_STORE_READ, NULL, &s));
	PT_ASSERT_OK(pt_store_export(s, file, NULL));
	pt_store_free(s);
	PT_ASSERT_OK(pt__read_file(file, 1 << 20, &data, &len));
	PT_ASSERT_OK(pt_diags_new(&d));
	for (size_t cut = 0; cut < len; cut++) {
		struct pt_envelope *e = NULL;
		PT_ASSERT_ERR(pt__envelope_parse(data, cut, false, d, &e),
			      PT_ECORRUPT);
		PT_ASSERT_NULL(e);
	}
	PT_ASSERT(strstr(last_msg(d), "truncated"));
	/* Flipping any single byte is never accepted silently as the
	 * original nor does it crash (the gzip CRC covers the data). */
	for (size_t i = 0; i < len; i++) {
		struct pt_envelope *e = NULL;
		data[i] ^= 0x20;
		if (pt__envelope_parse(data, len, false, d, &e) == 0)
			pt__envelope_free(e);
		data[i] ^= 0x20;
	}
	pt_free(data);
	pt_diags_free(d);
	pt__free(id);
}

PT_TEST(peek_reads_only_the_header)
{
	/* The header is fine, the body garbage: peek works, import fails. */
	const char *t = HDR("1") "not json at all\n";
	const char *file = pt_test_path("h.ptz");
	struct pt_buf z = PT_BUF_INIT;
	struct pt_store_info *info = NULL;
	struct pt_store_list *l = NULL;
	struct pt_diags *d = NULL;

	PT_ASSERT_OK(pt_diags_new(&d));
	gz(t, strlen(t), &z);
	PT_ASSERT_OK(pt__write_file_atomic(file, z.s, z.len, 0600));
	PT_ASSERT_OK(pt_store_envelope_peek(file, d, &info));
	PT_ASSERT_STR_EQ(info->id, "0123456789abcdef");
	PT_ASSERT_NULL(info->meta.title);
	pt_store_info_free(info);
	PT_ASSERT_ERR(pt_store_import(repo(), file, d, NULL), PT_ECORRUPT);
	PT_ASSERT_STR_EQ(last_msg(d), "envelope: body line, byte 3: "
				      "'[' or '{' expected near 'not'");
	/* Nothing was created. */
	PT_ASSERT_OK(pt_store_list(repo(), &l));
	PT_ASSERT_UINT_EQ(l->n, 0);
	pt_store_list_free(l);
	pt__buf_release(&z);
	pt_diags_free(d);
}

PT_TEST(seed_corpus_full_envelope_parses)
{
	struct pt_buf z = PT_BUF_INIT, p = PT_BUF_INIT;
	struct pt_envelope *e = NULL;
	char *text = NULL;
	size_t n = 0;

	PT_ASSERT_OK(pt__buf_addf(&p, "%s/fuzz/corpus/fuzz-envelope/full.txt",
				  pt_test_srcdir()));
	PT_ASSERT_OK(pt__read_file(p.s, 1 << 20, &text, &n));
	gz(text, n, &z);
	PT_ASSERT_OK(pt__envelope_parse(z.s, z.len, false, NULL, &e));
	pt__envelope_free(e);
	pt_free(text);
	pt__buf_release(&z);
	pt__buf_release(&p);
}

/*
 * Gzip bombs: a valid header, then a body that inflates to 12-70 MB (each
 * past the point where it must be refused) of tiny JSON values (whose
 * jansson trees cost 10-80 times their text), of white space, or of one
 * long string. Each import (in a child) must be
 * refused within 256 MiB more than the child used before, and 2 s of CPU
 * (the bounds for an input under 10 MB; relaxed under ASan, whose redzones
 * and quarantine cost memory and time of their own).
 */
#if defined(__SANITIZE_ADDRESS__)
# define BOMB_SLACK 4
#else
# define BOMB_SLACK 1
#endif

/* gzip of head + n times unit + tail, streamed (the text is never whole). */
static void gz_bomb(const char *head, const char *unit, size_t n,
		    const char *tail, struct pt_buf *out)
{
	unsigned char chunk[65536], rep[65536];
	size_t ul = strlen(unit), per = sizeof(rep) / ul;
	z_stream z;
	int zr;

	memset(&z, 0, sizeof(z));
	PT_ASSERT_INT_EQ(
		deflateInit2(&z, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY),
		Z_OK);
	for (size_t i = 0; i < per; i++)
		memcpy(rep + i * ul, unit, ul);
	for (int part = 0; part < 3; part++) {
		size_t left = part == 1 ? n : 1;

		while (left) {
			size_t k = part == 1 ? PT_MIN(left, per) : 1;

			z.next_in = part == 1
					    ? rep
					    : (Bytef *)(uintptr_t)(part ? tail
									: head);
			z.avail_in =
				(uInt)(part == 1 ? k * ul
						 : strlen(part ? tail : head));
			left -= k;
			do {
				z.next_out = chunk;
				z.avail_out = sizeof(chunk);
				zr = deflate(&z,
					     part == 2 ? Z_FINISH : Z_NO_FLUSH);
				PT_ASSERT_OK(pt__buf_add(out, chunk,
							 sizeof(chunk) -
								 z.avail_out));
			} while (z.avail_out == 0 ||
				 (part == 2 && zr != Z_STREAM_END));
		}
	}
	deflateEnd(&z);
}

/* CPU time (user + system): the cost, whatever the machine's load. */
static int64_t cpu_ns(const struct rusage *ru)
{
	return ((int64_t)ru->ru_utime.tv_sec + ru->ru_stime.tv_sec) *
		       1000000000 +
	       ((int64_t)ru->ru_utime.tv_usec + ru->ru_stime.tv_usec) * 1000;
}

/*
 * Small gzip inputs that expand past a limit: refused with the limit's
 * message, within 256 MiB more RSS and 2 s of CPU (BOMB_SLACK times that
 * under sanitizers). One test per bomb, so that they run in parallel.
 */
static const struct {
	const char *unit, *tail, *want;
	size_t n;
} bombs[] = {
	{ "{},", "{}]}\n", "the JSON needs more than 144 MiB", 4000000 },
	{ "0,", "0]}\n", "the JSON needs more than 144 MiB", 8000000 },
	{ "[[[]]],", "[]]}\n", "the JSON needs more than 144 MiB", 2000000 },
	{ "          ", "]}\n",
	  "decompresses to more than 67108864 bytes (64 MiB per "
	  "started 10 MiB of input)",
	  7000000 },
	{ "AAAAAAAAAA", "\"]}\n", "a string longer than 24 MiB", 3000000 },
	{ "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\",",
	  "\"\"]}\n", "decompresses to more than 67108864 bytes", 600000 },
};

static void gzip_bomb(size_t i)
{
	const char *file = pt_test_path("bomb.ptz");
	const char *pre = getenv("LD_PRELOAD");
	struct pt_buf z = PT_BUF_INIT;
	int p[2], st = 0;
	int64_t res[3] = { 0, 0, 0 };
	pid_t pid;

	if (pre && strstr(pre, "vgpreload"))
		pt_test_skip("under valgrind: time and RSS are not native");
	gz_bomb(HDR("1") "{\"jobs\":[", bombs[i].unit, bombs[i].n,
		bombs[i].tail, &z);
	if (i == 4) {
		/* the string: {"jobs":["AAAA..."]} */
		pt__buf_reset(&z);
		gz_bomb(HDR("1") "{\"jobs\":[\"", bombs[i].unit, bombs[i].n,
			bombs[i].tail, &z);
	}
	PT_ASSERT_INT_LT(z.len, 1 << 20); /* a small input */
	PT_ASSERT_OK(pt__write_file_atomic(file, z.s, z.len, 0600));
	pt__buf_release(&z);
	PT_ASSERT_OK(pipe(p));
	pid = fork();
	PT_ASSERT_INT_GE(pid, 0);
	if (pid == 0) {
		struct rusage ru;
		struct pt_diags *d = NULL;
		int64_t t0, before;
		int r;

		close(p[0]);
		getrusage(RUSAGE_SELF, &ru);
		before = ru.ru_maxrss;
		t0 = cpu_ns(&ru);
		if (pt_diags_new(&d) < 0)
			_exit(2);
		r = pt_store_import(repo(), file, d, NULL);
		getrusage(RUSAGE_SELF, &ru);
		res[0] = cpu_ns(&ru) - t0;
		res[1] = (ru.ru_maxrss - before) * 1024;
		res[2] = r == PT_ETOOBIG &&
			 strstr(last_msg(d), bombs[i].want) != NULL;
		if (write(p[1], res, sizeof(res)) != sizeof(res))
			_exit(3);
		_exit(0);
	}
	close(p[1]);
	PT_ASSERT_INT_EQ(read(p[0], res, sizeof(res)), (long)sizeof(res));
	close(p[0]);
	PT_ASSERT_INT_EQ(waitpid(pid, &st, 0), pid);
	PT_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	printf("# bomb %zu: %.2f s CPU, %.1f MiB more RSS\n", i,
	       (double)res[0] / 1e9, (double)res[1] / 1048576.0);
	PT_ASSERT_INT_EQ(res[2], 1);
	PT_ASSERT_INT_LE(res[1], (int64_t)BOMB_SLACK * (256 << 20));
	PT_ASSERT_INT_LE(res[0], (int64_t)BOMB_SLACK * 2000000000);
}

PT_TEST_TIMEOUT(gzip_bomb_0_empty_objects_are_refused_within_bounds, 120)
{
	gzip_bomb(0);
}

PT_TEST_TIMEOUT(gzip_bomb_1_zeros_are_refused_within_bounds, 120)
{
	gzip_bomb(1);
}

PT_TEST_TIMEOUT(gzip_bomb_2_nested_arrays_are_refused_within_bounds, 120)
{
	gzip_bomb(2);
}

PT_TEST_TIMEOUT(gzip_bomb_3_spaces_are_refused_within_bounds, 120)
{
	gzip_bomb(3);
}

PT_TEST_TIMEOUT(gzip_bomb_4_long_string_is_refused_within_bounds, 120)
{
	gzip_bomb(4);
}

PT_TEST_TIMEOUT(gzip_bomb_5_many_strings_are_refused_within_bounds, 120)
{
	gzip_bomb(5);
}

/* JSON nested 20,000 deep: jansson stops at its own limit (2048), a
 * clear error, not a stack overflow. */
PT_TEST(deep_json_is_refused)
{
	struct pt_buf t = PT_BUF_INIT, z = PT_BUF_INIT;
	struct pt_envelope *e = NULL;
	struct pt_diags *d = NULL;

	PT_ASSERT_OK(pt_diags_new(&d));
	PT_ASSERT_OK(pt__buf_adds(&t, HDR("1") "{\"jobs\":"));
	for (int i = 0; i < 20000; i++)
		PT_ASSERT_OK(pt__buf_addch(&t, '['));
	for (int i = 0; i < 20000; i++)
		PT_ASSERT_OK(pt__buf_addch(&t, ']'));
	PT_ASSERT_OK(pt__buf_adds(&t, "}\n"));
	gz(t.s, t.len, &z);
	PT_ASSERT_ERR(pt__envelope_parse(z.s, z.len, false, d, &e),
		      PT_ECORRUPT);
	PT_ASSERT_STR_EQ(last_msg(d), "envelope: body line, byte 2056: "
				      "maximum parsing depth reached near '['");
	pt__buf_release(&t);
	pt__buf_release(&z);
	pt_diags_free(d);
}
