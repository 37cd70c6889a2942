/* bloom.h : a Bloom filter of strings (event ids): "certainly not added" or
 * "maybe added". Pure: no I/O. Sized once for a capacity at a false-positive
 * rate of about 1% (10 bits and 7 probes per id); adding more than the capacity
 * only raises that rate.
 */
#ifndef CALLOGD_BLOOM_H
#define CALLOGD_BLOOM_H

#include <stddef.h>
#include <stdint.h>

struct cl_bloom;

/* cl_bloom_new() : a filter for capacity ids (at least 1,024); NULL on out of memory. */
struct cl_bloom *cl_bloom_new(size_t capacity);
void cl_bloom_free(struct cl_bloom *b);
void cl_bloom_add(struct cl_bloom *b, const char *s, size_t len);
/* cl_bloom_maybe() : 0 when s was certainly never added, 1 when it may have been. */
int cl_bloom_maybe(const struct cl_bloom *b, const char *s, size_t len);
/* How many adds, and for how many it was sized. */
size_t cl_bloom_count(const struct cl_bloom *b);
size_t cl_bloom_capacity(const struct cl_bloom *b);
/* Its memory in bytes. */
size_t cl_bloom_bytes(const struct cl_bloom *b);

#endif
