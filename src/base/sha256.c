/* sha256.c : SHA-256 and HMAC-SHA256, through OpenSSL's implementations. */
#include "callogd/sha256.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <limits.h>

void
cl_sha256(const void *data, size_t len, unsigned char out[CL_SHA256_LEN])
{
	unsigned int n = CL_SHA256_LEN;

	/* EVP_Digest fails only on allocation failure; a digest of zeros then never
	 * matches a stored hash, so a token check fails closed. */
	if (EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) != 1) {
		for (int i = 0; i < CL_SHA256_LEN; i++)
			out[i] = 0;
	}
}

void
cl_sha256_hex(const void *data, size_t len, char *out)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char d[CL_SHA256_LEN];

	cl_sha256(data, len, d);
	for (int i = 0; i < CL_SHA256_LEN; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 15];
	}
	out[2 * CL_SHA256_LEN] = '\0';
}

int
cl_hmac_sha256(const void *key, size_t klen, const void *msg, size_t mlen, unsigned char out[CL_SHA256_LEN])
{
	unsigned int n = CL_SHA256_LEN;

	if (klen > (size_t)INT_MAX || !HMAC(EVP_sha256(), key, (int)klen, msg, mlen, out, &n))
		return -1;
	return 0;
}
