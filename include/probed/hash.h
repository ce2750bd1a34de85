/* hash.h — the non-cryptographic hashes of probed, in one place: FNV-1a over bytes and a
 * 64-bit finalizer (splitmix64's). For hash tables, fingerprints and spreading; never for
 * anything an attacker must not forge. */
#ifndef PROBED_HASH_H
#define PROBED_HASH_H
#include <stddef.h>
#include <stdint.h>

/* The FNV-1a 64-bit offset basis. Some callers start from another seed (the one their
 * stored or scheduled values were made with); the step below is the same for all. */
#define PD_HASH_FNV_OFFSET 14695981039346656037ULL
/* The seed shape fingerprints (stored in the database) and probe start offsets were
 * first computed with: keep it for them, so an upgrade changes neither. */
#define PD_HASH_LEGACY_SEED 1469598103934665603ULL

/* FNV-1a: h folded with the n bytes at p. */
uint64_t pd_hash_fnv1a(uint64_t h, const void *p, size_t n);
/* FNV-1a of the NUL-terminated string s, from seed h. */
uint64_t pd_hash_str(uint64_t h, const char *s);
/* A bijective mix of x (splitmix64's finalizer): spreads every input bit. */
uint64_t pd_hash_mix64(uint64_t x);

#endif
