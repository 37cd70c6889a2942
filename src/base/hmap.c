/* hmap.c : owns the chained string-keyed hash map (FNV-1a, power-of-two buckets). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "callogd/hmap.h"

struct cl_hmap {
	struct cl_hmap_entry **buckets;
	size_t nbuckets; /* a power of two */
	size_t count;
};

static size_t
hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	while (*s) {
		h ^= (unsigned char)*s++;
		h *= 1099511628211ULL;
	}
	return (size_t)(h ^ (h >> 29));
}

struct cl_hmap *
cl_hmap_new(void)
{
	struct cl_hmap *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return NULL;
	m->nbuckets = 16;
	if ((m->buckets = calloc(m->nbuckets, sizeof(*m->buckets))) == NULL) {
		free(m);
		return NULL;
	}
	return m;
}

void
cl_hmap_free(struct cl_hmap *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->nbuckets; i++) {
		struct cl_hmap_entry *e = m->buckets[i], *n;
		for (; e; e = n) {
			n = e->next;
			free(e);
		}
	}
	free(m->buckets);
	free(m);
}

static struct cl_hmap_entry **
find(const struct cl_hmap *m, const char *key, size_t h)
{
	struct cl_hmap_entry **pp = &m->buckets[h & (m->nbuckets - 1)];

	for (; *pp; pp = &(*pp)->next)
		if ((*pp)->hash == h && strcmp((*pp)->key, key) == 0)
			break;
	return pp;
}

void *
cl_hmap_get(const struct cl_hmap *m, const char *key)
{
	struct cl_hmap_entry *e = *find(m, key, hash_str(key));

	return e ? e->val : NULL;
}

static void
grow(struct cl_hmap *m)
{
	size_t n = m->nbuckets * 2;
	struct cl_hmap_entry **b = calloc(n, sizeof(*b));

	if (b == NULL)
		return; /* a fuller table still works */
	for (size_t i = 0; i < m->nbuckets; i++) {
		struct cl_hmap_entry *e = m->buckets[i], *next;
		for (; e; e = next) {
			next = e->next;
			e->next = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
		}
	}
	free(m->buckets);
	m->buckets = b;
	m->nbuckets = n;
}

int
cl_hmap_put(struct cl_hmap *m, const char *key, void *val)
{
	size_t h = hash_str(key), len;
	struct cl_hmap_entry **pp = find(m, key, h), *e;

	if (*pp) {
		(*pp)->val = val;
		return 0;
	}
	len = strlen(key);
	if ((e = malloc(sizeof(*e) + len + 1)) == NULL)
		return -1;
	memcpy(e->key, key, len + 1);
	e->hash = h;
	e->val = val;
	e->next = NULL;
	*pp = e;
	if (++m->count > m->nbuckets)
		grow(m);
	return 0;
}

void *
cl_hmap_del(struct cl_hmap *m, const char *key)
{
	struct cl_hmap_entry **pp = find(m, key, hash_str(key)), *e = *pp;
	void *val;

	if (e == NULL)
		return NULL;
	*pp = e->next;
	val = e->val;
	free(e);
	m->count--;
	return val;
}

size_t
cl_hmap_count(const struct cl_hmap *m)
{
	return m->count;
}

struct cl_hmap_entry *
cl_hmap_next(const struct cl_hmap *m, struct cl_hmap_entry *prev)
{
	size_t i = 0;

	if (prev != NULL) {
		if (prev->next)
			return prev->next;
		i = (prev->hash & (m->nbuckets - 1)) + 1;
	}
	for (; i < m->nbuckets; i++)
		if (m->buckets[i])
			return m->buckets[i];
	return NULL;
}
