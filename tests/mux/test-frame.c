/*
 * Framing: JSON lines and length-prefixed msgpack (src/mux/frame.c).
 * The cases of upstream's framing_test.exs and bridge_msgpack_test.exs
 * (docs/peers.md §1.13) plus the limits of docs/architecture.md; msgpack-c is
 * used as an independent encoder and decoder to cross-check ours.
 */
#include <msgpack.h> /* before banned.h: its inline functions call malloc */

#include "base/common.h"
#include "base/str.h"
#include "mux/frame.h"
#include "os/fd.h"

#include <pthread.h>
#include <unistd.h>

#include "tap.h"

static json_t *parse(const char *text)
{
	json_error_t e;
	json_t *v = json_loads(text, 0, &e);

	if (!v)
		PT_FAIL("bad test JSON %s: %s", text, e.text);
	return v;
}

/* Decodes the whole input; the one message it holds, else fails. */
static json_t *decode_one(enum pt_mux_format f, const void *data, size_t len)
{
	struct pt_mux_decoder *d;
	json_t *m = NULL, *extra = NULL;

	PT_ASSERT_OK(pt_mux_decoder_new(f, 0, &d));
	PT_ASSERT_OK(pt_mux_decoder_feed(d, data, len));
	PT_ASSERT_INT_EQ(pt_mux_decoder_next(d, &m), 1);
	PT_ASSERT_INT_EQ(pt_mux_decoder_next(d, &extra), 0);
	PT_ASSERT_OK(pt_mux_decoder_finish(d));
	pt_mux_decoder_free(d);
	return m;
}

static void assert_json(const json_t *got, const char *want_text)
{
	json_t *want = parse(want_text);

	if (!json_equal((json_t *)(uintptr_t)got, want)) {
		char *g = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS);
		PT_FAIL("got %s, want %s", g ? g : "?", want_text);
	}
	json_decref(want);
}

PT_TEST(json_encode_is_one_compact_line)
{
	json_t *m = parse("{\"type\": \"query\", \"session\": \"s\", "
			  "\"text\": \"a\\nb\"}");
	char *out;
	size_t len;

	PT_ASSERT_OK(pt_mux_encode(PT_MUX_JSON, m, 0, &out, &len));
	PT_ASSERT_STR_EQ(out, "{\"type\":\"query\",\"session\":\"s\","
			      "\"text\":\"a\\nb\"}\n");
	PT_ASSERT_UINT_EQ(len, strlen(out));
	pt_free(out);
	json_decref(m);
}

PT_TEST(msgpack_encode_has_big_endian_length_prefix)
{
	json_t *m = parse("{\"type\":\"a\"}");
	static const unsigned char want[] = { 0,   0,	0,   8,	  0x81, 0xa4,
					      't', 'y', 'p', 'e', 0xa1, 'a' };
	char *out;
	size_t len;

	PT_ASSERT_OK(pt_mux_encode(PT_MUX_MSGPACK, m, 0, &out, &len));
	PT_ASSERT_UINT_EQ(len, sizeof(want));
	PT_ASSERT_MEM_EQ(out, want, sizeof(want));
	pt_free(out);
	json_decref(m);
}

/* Feeding one byte at a time yields the message only when it is whole. */
static void byte_by_byte(enum pt_mux_format f)
{
	json_t *m = parse("{\"type\":\"t\",\"n\":[1,-2,3.5,true,null],"
			  "\"s\":\"\\u00e9t\\u00e9\"}");
	struct pt_mux_decoder *d;
	json_t *got = NULL;
	char *enc;
	size_t len;

	PT_ASSERT_OK(pt_mux_encode(f, m, 0, &enc, &len));
	PT_ASSERT_OK(pt_mux_decoder_new(f, 0, &d));
	for (size_t i = 0; i < len; i++) {
		PT_ASSERT_INT_EQ(pt_mux_decoder_next(d, &got), 0);
		PT_ASSERT_OK(pt_mux_decoder_feed(d, enc + i, 1));
	}
	PT_ASSERT_INT_EQ(pt_mux_decoder_next(d, &got), 1);
	PT_ASSERT(json_equal(got, m));
	PT_ASSERT_OK(pt_mux_decoder_finish(d));
	json_decref(got);
	pt_mux_decoder_free(d);
	pt_free(enc);
	json_decref(m);
}

PT_TEST(partial_frames_wait_for_the_rest)
{
	byte_by_byte(PT_MUX_JSON);
	byte_by_byte(PT_MUX_MSGPACK);
}

static void several_in_one_chunk(enum pt_mux_format f)
{
	struct pt_buf b = PT_BUF_INIT;
	struct pt_mux_decoder *d;
	json_t *m;

	for (int i = 0; i < 3; i++) {
		json_t *x = json_pack("{s:s, s:i}", "type", "n", "i", i);
		PT_ASSERT_OK(pt__mux_encode_buf(f, x, 0, &b));
		json_decref(x);
	}
	PT_ASSERT_OK(pt_mux_decoder_new(f, 0, &d));
	PT_ASSERT_OK(pt_mux_decoder_feed(d, b.s, b.len));
	for (int i = 0; i < 3; i++) {
		PT_ASSERT_INT_EQ(pt_mux_decoder_next(d, &m), 1);
		PT_ASSERT_INT_EQ(json_integer_value(json_object_get(m, "i")),
				 i);
		json_decref(m);
	}
	PT_ASSERT_INT_EQ(pt_mux_decoder_next(d, &m), 0);
	pt_mux_decoder_free(d);
	pt__buf_release(&b);
}

PT_TEST(several_frames_in_one_chunk)
{
	several_in_one_chunk(PT_MUX_JSON);
	several_in_one_chunk(PT_MUX_MSGPACK);
}

PT_TEST(json_lines_trim_space_and_skip_empty_lines)
{
	static const char in[] =
		"\n\n  {\"type\":\"a\"} \r\n\t\n{\"type\":\"b\"}\n";
	struct pt_mux_decoder *d;
	json_t *m;

	PT_ASSERT_OK(pt_mux_decoder_new(PT_MUX_JSON, 0, &d));
	PT_ASSERT_OK(pt_mux_decoder_feed(d, in, sizeof(in) - 1));
	PT_ASSERT_INT_EQ(pt_mux_decoder_next(d, &m), 1);
	PT_ASSERT_STR_EQ(pt__mux_str(m, "type"), "a");
	json_decref(m);
	PT_ASSERT_INT_EQ(pt_mux_decoder_next(d, &m), 1);
	PT_ASSERT_STR_EQ(pt__mux_str(m, "type"), "b");
	json_decref(m);
	PT_ASSERT_INT_EQ(pt_mux_decoder_next(d, &m), 0);
	PT_ASSERT_OK(pt_mux_decoder_finish(d));
	pt_mux_decoder_free(d);
}

PT_TEST(malformed_json_line_is_reported_and_skipped)
{
	static const char in[] = "{\"type\":\"a\"}\n{\"type\":\n[1]\n"
				 "{\"type\":\"b\"}\n";
	struct pt_mux_decoder *d;
	json_t *m;

	PT_ASSERT_OK(pt_mux_decoder_new(PT_MUX_JSON, 0, &d));
	PT_ASSERT_OK(pt_mux_decoder_feed(d, in, sizeof(in) - 1));
	PT_ASSERT_INT_EQ(pt_mux_decoder_next(d, &m), 1);
	json_decref(m);
	PT_ASSERT_ERR(pt_mux_decoder_next(d, &m), PT_EPARSE);
	PT_ASSERT_STR_EQ(pt_mux_decoder_error(d),
			 "byte 21 (line at 13): malformed JSON: "
			 "unexpected token near end of file");
	PT_ASSERT_ERR(pt_mux_decoder_next(d, &m), PT_EPARSE);
	PT_ASSERT_STR_EQ(pt_mux_decoder_error(d),
			 "byte 22: message is not a JSON object");
	PT_ASSERT_INT_EQ(pt_mux_decoder_next(d, &m), 1);
	PT_ASSERT_STR_EQ(pt__mux_str(m, "type"), "b");
	json_decref(m);
	pt_mux_decoder_free(d);
}

PT_TEST(json_unfinished_line_at_end_is_an_error)
{
	struct pt_mux_decoder *d;
	json_t *m;

	PT_ASSERT_OK(pt_mux_decoder_new(PT_MUX_JSON, 0, &d));
	PT_ASSERT_OK(pt_mux_decoder_feed(d, "{\"type\":\"a\"}\n{\"ty", 17));
	PT_ASSERT_INT_EQ(pt_mux_decoder_next(d, &m), 1);
	json_decref(m);
	PT_ASSERT_INT_EQ(pt_mux_decoder_next(d, &m), 0);
	PT_ASSERT_ERR(pt_mux_decoder_finish(d), PT_EPARSE);
	PT_ASSERT_STR_EQ(pt_mux_decoder_error(d),
			 "byte 13: input ends inside a line (no newline)");
	pt_mux_decoder_free(d);
}

PT_TEST(json_oversize_line_is_refused_then_resynchronised)
{
	struct pt_mux_decoder *d;
	char line[200];
	json_t *m;

	memset(line, 'x', sizeof(line));
	PT_ASSERT_OK(pt_mux_decoder_new(PT_MUX_JSON, 64, &d));
	/* No newline yet: refused as soon as it passes the limit. */
	PT_ASSERT_OK(pt_mux_decoder_feed(d, line, 60));
	PT_ASSERT_INT_EQ(pt_mux_decoder_next(d, &m), 0);
	PT_ASSERT_OK(pt_mux_decoder_feed(d, line, 60));
	PT_ASSERT_ERR(pt_mux_decoder_next(d, &m), PT_ETOOBIG);
	PT_ASSERT_STR_EQ(pt_mux_decoder_error(d),
			 "byte 0: line longer than 64 bytes (no newline)");
	/* The rest of that line is dropped, the next one decodes. */
	PT_ASSERT_OK(pt_mux_decoder_feed(d, line, sizeof(line)));
	PT_ASSERT_OK(pt_mux_decoder_feed(d, "\n{\"type\":\"ok\"}\n", 15));
	PT_ASSERT_INT_EQ(pt_mux_decoder_next(d, &m), 1);
	PT_ASSERT_STR_EQ(pt__mux_str(m, "type"), "ok");
	json_decref(m);
	pt_mux_decoder_free(d);
}

PT_TEST(json_cap_is_64_mib)
{
	size_t chunk = 1 << 20;
	char *buf = pt__malloc(chunk);
	struct pt_mux_decoder *d;
	json_t *m;
	int r = 0;

	PT_ASSERT_NOT_NULL(buf);
	memset(buf, ' ', chunk);
	PT_ASSERT_OK(pt_mux_decoder_new(PT_MUX_JSON, 0, &d));
	for (size_t fed = 0; fed <= PT_MUX_MAX_FRAME && r == 0; fed += chunk) {
		PT_ASSERT_OK(pt_mux_decoder_feed(d, buf, chunk));
		r = pt_mux_decoder_next(d, &m);
		if (fed + chunk <= PT_MUX_MAX_FRAME)
			PT_ASSERT_INT_EQ(r, 0);
	}
	PT_ASSERT_ERR(r, PT_ETOOBIG);
	PT_ASSERT_STR_EQ(pt_mux_decoder_error(d),
			 "byte 0: line longer than 67108864 bytes "
			 "(no newline)");
	pt_mux_decoder_free(d);
	pt__free(buf);
}

PT_TEST(msgpack_oversize_prefix_is_refused_before_the_payload)
{
	static const unsigned char big[] = { 0x04, 0x00, 0x00, 0x01, 'a' };
	static const unsigned char ok[] = { 0, 0, 0, 4, 0x81, 0xa1, 'k', 0x01 };
	struct pt_mux_decoder *d;
	json_t *m;

	PT_ASSERT_OK(pt_mux_decoder_new(PT_MUX_MSGPACK, 0, &d));
	/* 64 MiB + 1 declared: refused at once, nothing buffered. */
	PT_ASSERT_OK(pt_mux_decoder_feed(d, big, sizeof(big)));
	PT_ASSERT_ERR(pt_mux_decoder_next(d, &m), PT_ETOOBIG);
	PT_ASSERT_STR_EQ(pt_mux_decoder_error(d),
			 "byte 0: frame of 67108865 bytes exceeds the "
			 "67108864-byte limit");
	PT_ASSERT_ERR(pt_mux_decoder_finish(d), PT_EPARSE);
	pt_mux_decoder_free(d);

	/* With a small limit the refused payload is skipped, then decoding
	 * goes on with the next frame. */
	PT_ASSERT_OK(pt_mux_decoder_new(PT_MUX_MSGPACK, 16, &d));
	{
		unsigned char f[4 + 20 + sizeof(ok)] = { 0, 0, 0, 20 };
		memcpy(f + 24, ok, sizeof(ok));
		PT_ASSERT_OK(pt_mux_decoder_feed(d, f, 10));
		PT_ASSERT_ERR(pt_mux_decoder_next(d, &m), PT_ETOOBIG);
		PT_ASSERT_INT_EQ(pt_mux_decoder_next(d, &m), 0);
		PT_ASSERT_OK(pt_mux_decoder_feed(d, f + 10, sizeof(f) - 10));
	}
	PT_ASSERT_INT_EQ(pt_mux_decoder_next(d, &m), 1);
	assert_json(m, "{\"k\":1}");
	json_decref(m);
	PT_ASSERT_OK(pt_mux_decoder_finish(d));
	pt_mux_decoder_free(d);
}

/* One msgpack payload through the decoder: the error text, or "" if ok. */
static const char *mp_result(const void *payload, size_t n, json_t **ret)
{
	static char text[256];
	struct pt_mux_decoder *d;
	unsigned char hdr[4] = { (unsigned char)(n >> 24),
				 (unsigned char)(n >> 16),
				 (unsigned char)(n >> 8), (unsigned char)n };
	json_t *m = NULL;
	int r;

	PT_ASSERT_OK(pt_mux_decoder_new(PT_MUX_MSGPACK, 0, &d));
	PT_ASSERT_OK(pt_mux_decoder_feed(d, hdr, 4));
	PT_ASSERT_OK(pt_mux_decoder_feed(d, payload, n));
	r = pt_mux_decoder_next(d, &m);
	snprintf(text, sizeof(text), "%s",
		 r == 1 ? "" : pt_mux_decoder_error(d));
	if (r != 1)
		PT_ASSERT_ERR(r, PT_EPARSE);
	if (ret)
		*ret = m;
	else
		json_decref(m);
	pt_mux_decoder_free(d);
	return text;
}

PT_TEST(msgpack_malformed_frames_are_errors)
{
	static const unsigned char c1[] = { 0xc1 };
	static const unsigned char arr[] = { 0x91, 0x01 };
	static const unsigned char count[] = { 0x81, 0xa1, 'a',	 0xdd, 0xff,
					       0xff, 0xff, 0xff, 0x01 };
	static const unsigned char mapcount[] = { 0xdf, 0x00, 0x00, 0x00,
						  0x02, 0xa1, 'a',  0x01 };
	static const unsigned char strlen_[] = { 0x81, 0xa1, 'a',  0xdb, 0x7f,
						 0xff, 0xff, 0xff, 'x' };
	static const unsigned char trailing[] = { 0x80, 0x01 };
	static const unsigned char ext[] = {
		0x81, 0xa1, 'a', 0xd4, 0x01, 0x02
	};
	static const unsigned char big[] = { 0x81, 0xa1, 'a', 0xcf, 0xff, 0,
					     0,	   0,	 0,   0,    0,	  0 };
	static const unsigned char key[] = { 0x81, 0xc0, 0x01 };
	static const unsigned char utf[] = { 0x81, 0xa1, 'a', 0xa1, 0xff };
	static const unsigned char cut[] = { 0x82, 0xa1, 'a', 0x01 };

	PT_ASSERT_STR_EQ(mp_result(c1, sizeof(c1), NULL),
			 "byte 4 (frame at 0): frame is not a msgpack map");
	PT_ASSERT_STR_EQ(mp_result(arr, sizeof(arr), NULL),
			 "byte 4 (frame at 0): frame is not a msgpack map");
	PT_ASSERT_STR_EQ(mp_result(count, sizeof(count), NULL),
			 "byte 7 (frame at 0): declared count exceeds the "
			 "remaining bytes");
	PT_ASSERT_STR_EQ(mp_result(mapcount, sizeof(mapcount), NULL),
			 "byte 4 (frame at 0): declared count exceeds the "
			 "remaining bytes");
	PT_ASSERT_STR_EQ(mp_result(strlen_, sizeof(strlen_), NULL),
			 "byte 7 (frame at 0): declared length exceeds the "
			 "remaining bytes");
	PT_ASSERT_STR_EQ(mp_result(trailing, sizeof(trailing), NULL),
			 "byte 5 (frame at 0): trailing bytes after the "
			 "message");
	PT_ASSERT_STR_EQ(mp_result(ext, sizeof(ext), NULL),
			 "byte 7 (frame at 0): msgpack ext types are not "
			 "supported");
	PT_ASSERT_STR_EQ(mp_result(big, sizeof(big), NULL),
			 "byte 7 (frame at 0): integer above the signed "
			 "64-bit range");
	PT_ASSERT_STR_EQ(mp_result(key, sizeof(key), NULL),
			 "byte 5 (frame at 0): map key is neither a string "
			 "nor an integer");
	PT_ASSERT_STR_EQ(mp_result(utf, sizeof(utf), NULL),
			 "byte 7 (frame at 0): str is not UTF-8");
	PT_ASSERT_STR_EQ(mp_result(cut, sizeof(cut), NULL),
			 "byte 4 (frame at 0): declared count exceeds the "
			 "remaining bytes");
}

PT_TEST(msgpack_empty_and_truncated_frames)
{
	static const unsigned char zero[] = { 0, 0, 0, 0 };
	static const unsigned char part[] = { 0, 0, 0, 9, 0x81 };
	struct pt_mux_decoder *d;
	json_t *m;

	PT_ASSERT_OK(pt_mux_decoder_new(PT_MUX_MSGPACK, 0, &d));
	PT_ASSERT_OK(pt_mux_decoder_feed(d, zero, sizeof(zero)));
	PT_ASSERT_ERR(pt_mux_decoder_next(d, &m), PT_EPARSE);
	PT_ASSERT_STR_EQ(pt_mux_decoder_error(d), "byte 0: empty frame");
	PT_ASSERT_OK(pt_mux_decoder_feed(d, part, 2));
	PT_ASSERT_INT_EQ(pt_mux_decoder_next(d, &m), 0); /* prefix incomplete */
	PT_ASSERT_OK(pt_mux_decoder_feed(d, part + 2, sizeof(part) - 2));
	PT_ASSERT_INT_EQ(pt_mux_decoder_next(d, &m), 0);
	PT_ASSERT_ERR(pt_mux_decoder_finish(d), PT_EPARSE);
	PT_ASSERT_STR_EQ(pt_mux_decoder_error(d),
			 "byte 4: input ends inside a frame (5 bytes of it)");
	pt_mux_decoder_free(d);
}

/* {"a": [[[...1...]]]} with n containers in all (the map included). */
static size_t nested(unsigned char *p, int n)
{
	size_t i = 0;

	p[i++] = 0x81;
	p[i++] = 0xa1;
	p[i++] = 'a';
	for (int k = 1; k < n; k++)
		p[i++] = 0x91;
	p[i++] = 0x01;
	return i;
}

PT_TEST(nesting_limit_is_128_in_both_formats)
{
	unsigned char p[200];
	struct pt_buf j = PT_BUF_INIT;
	json_t *m = NULL;
	struct pt_mux_decoder *d;

	PT_ASSERT_STR_EQ(mp_result(p, nested(p, 128), &m), "");
	PT_ASSERT_NOT_NULL(m);
	/* It encodes back; one level more does not. */
	{
		char *out;
		size_t len;
		json_t *deeper =
			json_pack("{s:[O]}", "b", json_object_get(m, "a"));
		PT_ASSERT_OK(pt_mux_encode(PT_MUX_MSGPACK, m, 0, &out, &len));
		pt_free(out);
		PT_ASSERT_ERR(pt_mux_encode(PT_MUX_JSON, deeper, 0, &out, &len),
			      PT_EPARSE);
		json_decref(deeper);
	}
	json_decref(m);
	PT_ASSERT_STR_EQ(mp_result(p, nested(p, 129), NULL),
			 "byte 134 (frame at 0): nesting deeper than 128");

	for (int depth = 128; depth <= 129; depth++) {
		pt__buf_reset(&j);
		pt__buf_adds(&j, "{\"a\":");
		for (int k = 1; k < depth; k++)
			pt__buf_addch(&j, '[');
		pt__buf_addch(&j, '1');
		for (int k = 1; k < depth; k++)
			pt__buf_addch(&j, ']');
		pt__buf_adds(&j, "}\n");
		PT_ASSERT_OK(pt_mux_decoder_new(PT_MUX_JSON, 0, &d));
		PT_ASSERT_OK(pt_mux_decoder_feed(d, j.s, j.len));
		if (depth == 128) {
			PT_ASSERT_INT_EQ(pt_mux_decoder_next(d, &m), 1);
			json_decref(m);
		} else {
			PT_ASSERT_ERR(pt_mux_decoder_next(d, &m), PT_EPARSE);
			PT_ASSERT_STR_EQ(pt_mux_decoder_error(d),
					 "byte 0: nesting deeper than 128");
		}
		pt_mux_decoder_free(d);
	}
	pt__buf_release(&j);
}

PT_TEST(encode_refuses_what_the_format_cannot_carry)
{
	json_t *bin = json_pack("{s:s, s:o}", "type", "b", "data",
				json_stringn_nocheck("\xff\x00z", 3));
	json_t *big = json_pack("{s:s, s:s}", "type", "big", "pad",
				"0123456789012345678901234567890123456789");
	json_t *back;
	char *out;
	size_t len;

	/* Bytes that are not UTF-8: JSON cannot, msgpack sends bin. */
	PT_ASSERT_ERR(pt_mux_encode(PT_MUX_JSON, bin, 0, &out, &len),
		      PT_EPARSE);
	PT_ASSERT_OK(pt_mux_encode(PT_MUX_MSGPACK, bin, 0, &out, &len));
	PT_ASSERT_UINT_EQ((unsigned char)out[4 + 1 + 5 + 2 + 5], 0xc4);
	back = decode_one(PT_MUX_MSGPACK, out, len);
	PT_ASSERT(json_equal(back, bin));
	json_decref(back);
	pt_free(out);
	/* Over the limit: PT_ETOOBIG, both formats. */
	PT_ASSERT_ERR(pt_mux_encode(PT_MUX_JSON, big, 32, &out, &len),
		      PT_ETOOBIG);
	PT_ASSERT_ERR(pt_mux_encode(PT_MUX_MSGPACK, big, 32, &out, &len),
		      PT_ETOOBIG);
	{
		json_t *arr = json_array(); /* not an object: not a message */
		PT_ASSERT_ERR(pt_mux_encode(PT_MUX_JSON, arr, 0, &out, &len),
			      PT_EPARSE);
		json_decref(arr);
	}
	json_decref(bin);
	json_decref(big);
}

/* msgpack-c as the reference encoder: our decoder must agree. */
PT_TEST(decodes_what_msgpack_c_encodes)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	json_t *m;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 9);
	msgpack_pack_str_with_body(&pk, "type", 4);
	msgpack_pack_str_with_body(&pk, "x", 1);
	msgpack_pack_str_with_body(&pk, "u8", 2);
	msgpack_pack_uint8(&pk, 200);
	msgpack_pack_str_with_body(&pk, "i64", 3);
	msgpack_pack_int64(&pk, -9000000000LL);
	msgpack_pack_str_with_body(&pk, "u32", 3);
	msgpack_pack_uint32(&pk, 4000000000U);
	msgpack_pack_str_with_body(&pk, "f32", 3);
	msgpack_pack_float(&pk, 0.5f);
	msgpack_pack_str_with_body(&pk, "f64", 3);
	msgpack_pack_double(&pk, -1.25);
	msgpack_pack_str_with_body(&pk, "arr", 3);
	msgpack_pack_array(&pk, 3);
	msgpack_pack_nil(&pk);
	msgpack_pack_true(&pk);
	msgpack_pack_false(&pk);
	msgpack_pack_str_with_body(&pk, "bin", 3);
	msgpack_pack_bin_with_body(&pk, "hi", 2);
	msgpack_pack_int(&pk, 7); /* an integer key */
	msgpack_pack_map(&pk, 0);
	{
		char *f = pt__malloc(4 + sb.size);
		f[0] = (char)(sb.size >> 24);
		f[1] = (char)(sb.size >> 16);
		f[2] = (char)(sb.size >> 8);
		f[3] = (char)sb.size;
		memcpy(f + 4, sb.data, sb.size);
		m = decode_one(PT_MUX_MSGPACK, f, 4 + sb.size);
		pt__free(f);
	}
	assert_json(m, "{\"type\":\"x\",\"u8\":200,\"i64\":-9000000000,"
		       "\"u32\":4000000000,\"f32\":0.5,\"f64\":-1.25,"
		       "\"arr\":[null,true,false],\"bin\":\"hi\",\"7\":{}}");
	json_decref(m);
	msgpack_sbuffer_destroy(&sb);
}

/* ... and msgpack-c must read back what we encode. */
PT_TEST(msgpack_c_decodes_what_we_encode)
{
	json_t *m = parse("{\"type\":\"t\",\"neg\":-33,\"small\":-5,"
			  "\"big\":5000000000,\"r\":2.5,\"l\":[1,\"two\"],"
			  "\"long\":\"0123456789012345678901234567890123\"}");
	msgpack_unpacked u;
	msgpack_object o;
	char *out;
	size_t len, off = 0;

	PT_ASSERT_OK(pt_mux_encode(PT_MUX_MSGPACK, m, 0, &out, &len));
	msgpack_unpacked_init(&u);
	PT_ASSERT_INT_EQ(msgpack_unpack_next(&u, out + 4, len - 4, &off),
			 MSGPACK_UNPACK_SUCCESS);
	PT_ASSERT_UINT_EQ(off, len - 4);
	o = u.data;
	PT_ASSERT_INT_EQ(o.type, MSGPACK_OBJECT_MAP);
	PT_ASSERT_UINT_EQ(o.via.map.size, 7);
	PT_ASSERT_INT_EQ(o.via.map.ptr[1].val.via.i64, -33);
	PT_ASSERT_INT_EQ(o.via.map.ptr[2].val.via.i64, -5);
	PT_ASSERT_INT_EQ(o.via.map.ptr[3].val.via.u64, 5000000000LL);
	PT_ASSERT(o.via.map.ptr[4].val.type == MSGPACK_OBJECT_FLOAT64);
	PT_ASSERT(o.via.map.ptr[4].val.via.f64 == 2.5);
	PT_ASSERT_INT_EQ(o.via.map.ptr[5].val.via.array.size, 2);
	PT_ASSERT_INT_EQ(o.via.map.ptr[6].val.type, MSGPACK_OBJECT_STR);
	PT_ASSERT_UINT_EQ(o.via.map.ptr[6].val.via.str.size, 34);
	msgpack_unpacked_destroy(&u);
	pt_free(out);
	json_decref(m);
}

/* A writer thread pushes a byte stream through a pipe to the decoder. */
struct feeder {
	int fd;
	const char *data;
	size_t len;
};

static void *feed_main(void *arg)
{
	struct feeder *f = arg;

	/* Small writes, so frames straddle reads. */
	for (size_t i = 0; i < f->len; i += 7)
		pt__write_all(f->fd, f->data + i, PT_MIN(7, f->len - i));
	close(f->fd);
	return NULL;
}

PT_TEST(bad_frames_through_a_pipe_give_errors_not_crashes)
{
	static const char stream[] =
		"{\"type\":\"one\"}\n"
		"not json at all\n"
		"{\"type\":\"two\",\"deep\":[[[[[[]]]]]]}\n"
		"[\"array\"]\n"
		"{\"type\":\"three\"}\n"
		"{\"type\":\"cut";
	struct feeder f = { -1, stream, sizeof(stream) - 1 };
	struct pt_mux_decoder *d;
	pthread_t th;
	int fds[2], errors = 0;
	struct pt_buf types = PT_BUF_INIT;
	char chunk[5];
	ssize_t n;

	PT_ASSERT_OK(pt__pipe(fds, 0));
	f.fd = fds[1];
	PT_ASSERT_INT_EQ(pthread_create(&th, NULL, feed_main, &f), 0);
	PT_ASSERT_OK(pt_mux_decoder_new(PT_MUX_JSON, 0, &d));
	while ((n = read(fds[0], chunk, sizeof(chunk))) > 0) {
		json_t *m;
		int r;
		PT_ASSERT_OK(pt_mux_decoder_feed(d, chunk, (size_t)n));
		while ((r = pt_mux_decoder_next(d, &m)) != 0) {
			if (r == 1) {
				pt__buf_addf(&types, "%s ",
					     pt__mux_str(m, "type"));
				json_decref(m);
			} else {
				PT_ASSERT_ERR(r, PT_EPARSE);
				errors++;
			}
		}
	}
	pthread_join(th, NULL);
	close(fds[0]);
	PT_ASSERT_STR_EQ(types.s, "one two three ");
	PT_ASSERT_INT_EQ(errors, 2);
	PT_ASSERT_ERR(pt_mux_decoder_finish(d), PT_EPARSE);
	pt_mux_decoder_free(d);
	pt__buf_release(&types);
}

PT_TEST(envelope_check_names_the_problem)
{
	json_t *a = parse("{\"session\":\"s\"}");
	json_t *b = parse("{\"type\":\"x\",\"session\":3}");
	json_t *c = parse("{\"type\":\"x\",\"id\":[]}");
	json_t *ok = parse("{\"type\":\"x\",\"session\":\"\",\"id\":\"1\"}");

	PT_ASSERT_STR_EQ(pt__mux_check_envelope(a),
			 "message has no \"type\" string");
	PT_ASSERT_STR_EQ(pt__mux_check_envelope(b),
			 "\"session\" is not a string");
	PT_ASSERT_STR_EQ(pt__mux_check_envelope(c), "\"id\" is not a string");
	PT_ASSERT_NULL(pt__mux_check_envelope(ok));
	json_decref(a);
	json_decref(b);
	json_decref(c);
	json_decref(ok);
}

PT_TEST(utf8_validation)
{
	PT_ASSERT(pt__mux_utf8_ok("h\xc3\xa9", 3));
	PT_ASSERT(pt__mux_utf8_ok("\xf0\x9f\x98\x80", 4));
	PT_ASSERT(!pt__mux_utf8_ok("\xc3", 1));
	PT_ASSERT(!pt__mux_utf8_ok("\xc0\x80", 2));	/* overlong */
	PT_ASSERT(!pt__mux_utf8_ok("\xed\xa0\x80", 3)); /* surrogate */
	PT_ASSERT(!pt__mux_utf8_ok("\xf4\x90\x80\x80", 4));
}

PT_TEST(stamped_encode_puts_session_and_id_first_replacing_the_old)
{
	json_t *m = parse("{\"type\":\"q\",\"id\":\"old\",\"k\\n\\\"\":[1,"
			  "{\"a\":null}],\"session\":\"old\"}");
	struct pt_buf b = PT_BUF_INIT;
	json_t *back;

	PT_ASSERT_OK(pt__mux_encode_stamped(PT_MUX_JSON, m, "pool_1", "req_\"7",
					    0, &b));
	PT_ASSERT_STR_EQ(b.s, "{\"session\":\"pool_1\",\"id\":\"req_\\\"7\","
			      "\"type\":\"q\",\"k\\u000a\\\"\":[1,"
			      "{\"a\":null}]}\n");
	back = decode_one(PT_MUX_JSON, b.s, b.len);
	assert_json(back, "{\"session\":\"pool_1\",\"id\":\"req_\\\"7\","
			  "\"type\":\"q\",\"k\\n\\\"\":[1,{\"a\":null}]}");
	json_decref(back);
	pt__buf_reset(&b);
	PT_ASSERT_OK(pt__mux_encode_stamped(PT_MUX_MSGPACK, m, "pool_1", NULL,
					    0, &b));
	back = decode_one(PT_MUX_MSGPACK, b.s, b.len);
	assert_json(back, "{\"session\":\"pool_1\",\"id\":\"old\","
			  "\"type\":\"q\",\"k\\n\\\"\":[1,{\"a\":null}]}");
	/* The msgpack map says 4 entries: the old session was replaced. */
	PT_ASSERT_UINT_EQ((unsigned char)b.s[4], 0x84);
	json_decref(back);
	pt__buf_release(&b);
	json_decref(m);
}
