/* test_sha256.c : SHA-256 against the FIPS 180-4 examples and padding-boundary lengths. */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "callogd/sha256.h"
#include "testutil.h"

/* Expected digests were computed with coreutils sha256sum when this test was written. */
struct vec {
	size_t len;
	const char *hex;
};

/* Prefixes of "0123456789" repeated: each side of the 55/56 and 64-byte block edges, one and two blocks. */
static const struct vec boundary[] = {
    {1, "5feceb66ffc86f38d952786c6d696c79c2dbc239dd4e91b46729d73a27fb57e9"},
    {55, "f34d5a0f80c0cbf84c8c0b90218c22637abd199965249da736a20143c8c9c9d9"},
    {56, "83aa034bda83e458a0dc9cbce0d4e354716aa0ff770ed37ac0ed2b292052e4af"},
    {57, "2f599f9dd7fac80e26892a008adcf28c0c9aaa11cf3df4ceacd07d0f1aef4c76"},
    {63, "074f6e9ac301d5d1b6df6f1dfb8c6f89c187ea945d352ce6a29279a9c630680b"},
    {64, "9674d9e078535b7cec43284387a6ee39956188e735a85452b0050b55341cda56"},
    {65, "52774b57c10e45040a61c14d35c1c8ebefe880082313aa0a21ebb077734cd067"},
    {111, "46a3cf0507c7e80ce8256a663424e07a584a9487dae62168f719f89a9781b6a4"},
    {112, "6f4f478dac2711224508fa77125100ea5eafd7bb27960ec7e25831a933418fde"},
    {119, "d0cb70d05ff14123f114c0cca360c62077379cf1ac90e1bfafa9e9e4d827596a"},
    {120, "08642f0525963875af954100280fe3009293fa7e19c273444f31464c9b089243"},
    {127, "8e1814fdcfd56f26b96bcdba97754ab886dcb95373419b94a341a17d2634775e"},
    {128, "916e19992e7f9b1e8d9267c3324616dac8f4199419c6e4ebf68fda985f4b64ea"},
    {129, "5fd5d92c21a0c695de143dcca8e43b297c7afe9610c7b78f28fbc5e3587fc6a9"},
};

static void
check_hex(const char *msg, size_t len, const char *want)
{
	char got[CL_SHA256_HEX];

	memset(got, 'x', sizeof(got));
	cl_sha256_hex(msg, len, got);
	CHECK_STR(got, want);
}

static void
test_fips_examples(void)
{
	check_hex("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	check_hex("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	check_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
	          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	check_hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
	          "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
	          112, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

static void
test_million_a(void)
{
	size_t n = 1000000;
	char *m = malloc(n);

	CHECK(m != NULL);
	if (m == NULL)
		return;
	memset(m, 'a', n);
	check_hex(m, n, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	free(m);
}

static void
test_boundaries(void)
{
	char msg[200];
	size_t i;

	for (i = 0; i < sizeof(msg); i++)
		msg[i] = (char)('0' + i % 10);
	for (i = 0; i < sizeof(boundary) / sizeof(boundary[0]); i++)
		check_hex(msg, boundary[i].len, boundary[i].hex);
}

/* The binary digest is the hex one's bytes; and the input buffer is not touched. */
static void
test_binary_matches_hex(void)
{
	static const unsigned char want[CL_SHA256_LEN] = {
	    0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
	    0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad,
	};
	unsigned char got[CL_SHA256_LEN];
	char in[] = "abc";

	cl_sha256(in, 3, got);
	CHECK(memcmp(got, want, sizeof(want)) == 0);
	CHECK_STR(in, "abc");
}

/* RFC 4231 test cases 1, 2 and 6 (a key longer than the block). */
static void
test_hmac(void)
{
	unsigned char key[131], mac[CL_SHA256_LEN];
	static unsigned char big[1 << 20];
	char hex[CL_SHA256_HEX];

	memset(key, 0x0b, 20);
	CHECK_INT(cl_hmac_sha256(key, 20, "Hi There", 8, mac), 0);
	for (int i = 0; i < CL_SHA256_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", mac[i]);
	CHECK_STR(hex, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
	CHECK_INT(cl_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, mac), 0);
	for (int i = 0; i < CL_SHA256_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", mac[i]);
	CHECK_STR(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	memset(key, 0xaa, sizeof(key));
	const char *m = "Test Using Larger Than Block-Size Key - Hash Key First";
	CHECK_INT(cl_hmac_sha256(key, sizeof(key), m, strlen(m), mac), 0);
	for (int i = 0; i < CL_SHA256_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", mac[i]);
	CHECK_STR(hex, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
	/* Webhook bodies are large: any length is signed. */
	CHECK_INT(cl_hmac_sha256(key, 20, big, sizeof(big), mac), 0);
}

int
main(void)
{
	test_hmac();
	test_fips_examples();
	test_million_a();
	test_boundaries();
	test_binary_matches_hex();
	TEST_DONE();
}
