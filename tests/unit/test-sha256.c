/* FIPS 180-2 test vectors for base/sha256, whole and chunked. */
#include "base/common.h"
#include "base/sha256.h"

#include "tap.h"

static void hex_of(const void *data, size_t len, size_t chunk, char out[65])
{
	struct pt_sha256 s;
	const char *p = data;

	pt__sha256_init(&s);
	while (len) {
		size_t n = chunk && chunk < len ? chunk : len;
		pt__sha256_update(&s, p, n);
		p += n;
		len -= n;
	}
	pt__sha256_final_hex(&s, out);
}

static const struct {
	const char *in;
	const char *hex;
} vectors[] = {
	{ "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
	{ "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
	{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
	  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
	{ "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
	  "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1" },
};

PT_TEST(sha256_fips_vectors)
{
	char out[65];

	for (int portable = 0; portable < 2; portable++)
	for (size_t i = 0; i < PT_ARRAY_SIZE(vectors); i++) {
		for (size_t chunk = 0; chunk < 70; chunk += 7) {
			hex_of(vectors[i].in, strlen(vectors[i].in), chunk,
			       out);
			pt__sha256_force_portable = portable;
			hex_of(vectors[i].in, strlen(vectors[i].in), chunk,
			       out);
			PT_ASSERT_STR_EQ(out, vectors[i].hex);
		}
	}
}

PT_TEST(sha256_million_a)
{
	static char a[1000000];
	char out[65];

	memset(a, 'a', sizeof(a));
	pt__sha256_force_portable = true;
	hex_of(a, sizeof(a), 4093, out);
	PT_ASSERT_STR_EQ(out, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	pt__sha256_force_portable = false;
	hex_of(a, sizeof(a), 0, out);
	PT_ASSERT_STR_EQ(out, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	hex_of(a, sizeof(a), 4093, out);
	PT_ASSERT_STR_EQ(out, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

/* Padding boundaries: 55, 56, 63, 64 bytes. */
PT_TEST(sha256_padding_boundaries)
{
	static const struct {
		size_t n;
		const char *hex;
	} cases[] = {
		{ 55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318" },
		{ 56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a" },
		{ 63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34" },
		{ 64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb" },
	};
	char buf[64], out[65];

	memset(buf, 'a', sizeof(buf));
	for (size_t i = 0; i < PT_ARRAY_SIZE(cases); i++) {
		hex_of(buf, cases[i].n, 0, out);
		PT_ASSERT_STR_EQ(out, cases[i].hex);
	}
}
