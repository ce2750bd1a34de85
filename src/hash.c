/* hash.c — FNV-1a and a 64-bit finalizer (see hash.h). */
#include "probed/hash.h"

uint64_t
pd_hash_fnv1a(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 1099511628211ULL;
	}
	return h;
}

uint64_t
pd_hash_str(uint64_t h, const char *s)
{
	for (const unsigned char *b = (const unsigned char *)s; *b != '\0'; b++) {
		h ^= *b;
		h *= 1099511628211ULL;
	}
	return h;
}

uint64_t
pd_hash_mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}
