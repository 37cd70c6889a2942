/* sha256.h : SHA-256 (FIPS 180-4) for hashing tokens at rest, and HMAC-SHA256
 * for signing session cookies and webhooks (OpenSSL underneath). */
#ifndef CALLOGD_SHA256_H
#define CALLOGD_SHA256_H

#include <stddef.h>

#define CL_SHA256_LEN 32
#define CL_SHA256_HEX 65

void cl_sha256(const void *data, size_t len, unsigned char out[CL_SHA256_LEN]);
/* Lower-case hex digest, NUL-terminated, into out (CL_SHA256_HEX bytes). */
void cl_sha256_hex(const void *data, size_t len, char *out);

/* cl_hmac_sha256() : HMAC-SHA256 (RFC 2104) of msg under key; 0, or -1 on failure. */
int cl_hmac_sha256(const void *key, size_t klen, const void *msg, size_t mlen, unsigned char out[CL_SHA256_LEN]);

#endif
