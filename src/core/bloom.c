/* bloom.c : owns a Bloom filter's bit array. Two 64-bit hashes of the string
 * (FNV-1a and a multiply-rotate variant) make the k probe positions
 * (Kirsch and Mitzenmacher's double hashing). */
#include <stdlib.h>

#include "callogd/bloom.h"

#define BITS_PER_ID 10
#define PROBES 7

struct cl_bloom {
	uint64_t *words;
	uint64_t nbits;
	size_t capacity, count;
};

struct cl_bloom *
cl_bloom_new(size_t capacity)
{
	struct cl_bloom *b = calloc(1, sizeof(*b));

	if (capacity < 1024)
		capacity = 1024;
	if (b == NULL || capacity > SIZE_MAX / BITS_PER_ID / 2) {
		free(b);
		return NULL;
	}
	b->nbits = ((uint64_t)capacity * BITS_PER_ID + 63) & ~(uint64_t)63;
	if ((b->words = calloc((size_t)(b->nbits / 64), sizeof(uint64_t))) == NULL) {
		free(b);
		return NULL;
	}
	b->capacity = capacity;
	return b;
}

void
cl_bloom_free(struct cl_bloom *b)
{
	if (b == NULL)
		return;
	free(b->words);
	free(b);
}

static void
hashes(const char *s, size_t len, uint64_t *h1, uint64_t *h2)
{
	uint64_t a = 1469598103934665603ULL, c = 0x9e3779b97f4a7c15ULL;

	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		a = (a ^ ch) * 1099511628211ULL;
		c = ((c ^ ch) * 0xff51afd7ed558ccdULL);
		c ^= c >> 29;
	}
	c ^= c >> 33;
	c *= 0xc4ceb9fe1a85ec53ULL;
	c ^= c >> 33;
	*h1 = a;
	*h2 = c | 1; /* odd: the probes never all land on one bit */
}

void
cl_bloom_add(struct cl_bloom *b, const char *s, size_t len)
{
	uint64_t h1, h2;

	hashes(s, len, &h1, &h2);
	for (int i = 0; i < PROBES; i++) {
		uint64_t bit = (h1 + (uint64_t)i * h2) % b->nbits;
		b->words[bit / 64] |= (uint64_t)1 << (bit % 64);
	}
	b->count++;
}

int
cl_bloom_maybe(const struct cl_bloom *b, const char *s, size_t len)
{
	uint64_t h1, h2;

	hashes(s, len, &h1, &h2);
	for (int i = 0; i < PROBES; i++) {
		uint64_t bit = (h1 + (uint64_t)i * h2) % b->nbits;
		if (!(b->words[bit / 64] & ((uint64_t)1 << (bit % 64))))
			return 0;
	}
	return 1;
}

size_t
cl_bloom_count(const struct cl_bloom *b)
{
	return b->count;
}

size_t
cl_bloom_capacity(const struct cl_bloom *b)
{
	return b->capacity;
}

size_t
cl_bloom_bytes(const struct cl_bloom *b)
{
	return (size_t)(b->nbits / 8) + sizeof(*b);
}
