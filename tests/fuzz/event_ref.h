/* event_ref.h : the previous, jansson-based event parser (event_ref.c), the fuzz oracle for event.c. */
#ifndef CALLOGD_FUZZ_EVENT_REF_H
#define CALLOGD_FUZZ_EVENT_REF_H

#include "callogd/event.h"

/* ref_event_parse() : cl_event_parse() as it was before jsonscan.c; same contract. */
enum cl_event_error ref_event_parse(const char *line, size_t len, int64_t now_ms, const struct cl_numbers *rules,
                                    struct cl_event *ev, char **id_out, char *msg);

#endif
