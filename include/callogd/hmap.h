/* hmap.h : a string-keyed hash map of pointers, for the daemon's live tables. */
#ifndef CALLOGD_HMAP_H
#define CALLOGD_HMAP_H

#include <stddef.h>

struct cl_hmap;

struct cl_hmap *cl_hmap_new(void);
/* cl_hmap_free() : frees the map and its key copies, not the values. */
void cl_hmap_free(struct cl_hmap *m);
void *cl_hmap_get(const struct cl_hmap *m, const char *key);
/* cl_hmap_put() : sets key (copied) to val, replacing; 0, or -1 on out of memory. */
int cl_hmap_put(struct cl_hmap *m, const char *key, void *val);
/* cl_hmap_del() : removes key; returns its value or NULL. */
void *cl_hmap_del(struct cl_hmap *m, const char *key);
size_t cl_hmap_count(const struct cl_hmap *m);

/* Iteration: for (it = cl_hmap_next(m, NULL); it; it = cl_hmap_next(m, it)); do not modify meanwhile. */
struct cl_hmap_entry {
	struct cl_hmap_entry *next;
	size_t hash;
	void *val;
	char key[];
};
struct cl_hmap_entry *cl_hmap_next(const struct cl_hmap *m, struct cl_hmap_entry *prev);

#endif
