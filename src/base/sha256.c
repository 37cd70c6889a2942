/* sha256.c : owns SHA-256 (FIPS 180-4 section 6.2), written from the standard. */
#include <stdint.h>
#include <string.h>

#include "callogd/sha256.h"

/* FIPS 180-4 4.2.2: first 32 bits of the fractional parts of the cube roots of the first 64 primes. */
static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

/* FIPS 180-4 5.3.3: the initial hash value H(0). */
static const uint32_t H0[8] = {
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

static uint32_t
rotr(uint32_t x, unsigned n)
{
	return (x >> n) | (x << (32 - n));
}

/* Reads big-endian whatever the host's byte order: the standard defines words that way. */
static uint32_t
load_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static void
store_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/* One 512-bit block through the compression function (FIPS 180-4 6.2.2). */
static void
compress(uint32_t h[8], const unsigned char block[64])
{
	uint32_t w[64], a, b, c, d, e, f, g, hh, t1, t2;
	int t;

	for (t = 0; t < 16; t++)
		w[t] = load_be32(block + 4 * t);
	for (t = 16; t < 64; t++) {
		uint32_t s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
		uint32_t s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
		w[t] = s1 + w[t - 7] + s0 + w[t - 16];
	}
	a = h[0];
	b = h[1];
	c = h[2];
	d = h[3];
	e = h[4];
	f = h[5];
	g = h[6];
	hh = h[7];
	for (t = 0; t < 64; t++) {
		uint32_t sig1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
		uint32_t ch = (e & f) ^ (~e & g);
		uint32_t sig0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
		uint32_t maj = (a & b) ^ (a & c) ^ (b & c);

		t1 = hh + sig1 + ch + K[t] + w[t];
		t2 = sig0 + maj;
		hh = g;
		g = f;
		f = e;
		e = d + t1;
		d = c;
		c = b;
		b = a;
		a = t1 + t2;
	}
	h[0] += a;
	h[1] += b;
	h[2] += c;
	h[3] += d;
	h[4] += e;
	h[5] += f;
	h[6] += g;
	h[7] += hh;
}

void
cl_sha256(const void *data, size_t len, unsigned char out[CL_SHA256_LEN])
{
	const unsigned char *p = data;
	unsigned char tail[128];
	uint32_t h[8];
	uint64_t bits = (uint64_t)len * 8;
	size_t rest, padded, i;

	memcpy(h, H0, sizeof(h));
	for (; len >= 64; p += 64, len -= 64)
		compress(h, p);

	/*
	 * Padding (5.1.1): a 1 bit, zeros, then the 64-bit message length, so the
	 * total is a multiple of 512 bits. With more than 55 bytes left the length
	 * does not fit in this block and a second one is needed.
	 */
	rest = len;
	padded = rest < 56 ? 64 : 128;
	memset(tail, 0, sizeof(tail));
	if (rest > 0)
		memcpy(tail, p, rest);
	tail[rest] = 0x80;
	for (i = 0; i < 8; i++)
		tail[padded - 1 - i] = (unsigned char)(bits >> (8 * i));
	compress(h, tail);
	if (padded == 128)
		compress(h, tail + 64);

	for (i = 0; i < 8; i++)
		store_be32(out + 4 * i, h[i]);
}

void
cl_sha256_hex(const void *data, size_t len, char *out)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char d[CL_SHA256_LEN];
	size_t i;

	cl_sha256(data, len, d);
	for (i = 0; i < CL_SHA256_LEN; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 0xf];
	}
	out[2 * CL_SHA256_LEN] = '\0';
}

int
cl_hmac_sha256(const void *key, size_t klen, const void *msg, size_t mlen, unsigned char out[CL_SHA256_LEN])
{
	unsigned char k[64] = {0}, buf[64 + CL_HMAC_MSG_MAX], inner[CL_SHA256_LEN];

	if (mlen > CL_HMAC_MSG_MAX)
		return -1;
	if (klen > sizeof(k))
		cl_sha256(key, klen, k); /* a long key is hashed first */
	else
		memcpy(k, key, klen);
	for (size_t i = 0; i < 64; i++)
		buf[i] = k[i] ^ 0x36;
	memcpy(buf + 64, msg, mlen);
	cl_sha256(buf, 64 + mlen, inner);
	for (size_t i = 0; i < 64; i++)
		buf[i] = k[i] ^ 0x5c;
	memcpy(buf + 64, inner, sizeof(inner));
	cl_sha256(buf, 64 + sizeof(inner), out);
	return 0;
}
