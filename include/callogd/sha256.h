/* sha256.h : SHA-256 (FIPS 180-4), for hashing tokens at rest (pure). */
#ifndef CALLOGD_SHA256_H
#define CALLOGD_SHA256_H

#include <stddef.h>

#define CL_SHA256_LEN 32
#define CL_SHA256_HEX 65

void cl_sha256(const void *data, size_t len, unsigned char out[CL_SHA256_LEN]);
/* Lower-case hex digest, NUL-terminated, into out (CL_SHA256_HEX bytes). */
void cl_sha256_hex(const void *data, size_t len, char *out);

/*
 * cl_hmac_sha256() : HMAC-SHA256 (RFC 2104) of msg under key, for signing
 * session cookies. msg is at most CL_HMAC_MSG_MAX bytes; returns 0, or -1 if longer.
 */
#define CL_HMAC_MSG_MAX 1024
int cl_hmac_sha256(const void *key, size_t klen, const void *msg, size_t mlen, unsigned char out[CL_SHA256_LEN]);

#endif
