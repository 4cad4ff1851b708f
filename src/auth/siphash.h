/* SipHash-2-4 (Aumasson and Bernstein, 2012): a keyed 64-bit hash for hash
 * tables whose keys come from clients. With a random key nobody can choose
 * names that collide, so a client cannot turn a table lookup into a walk of
 * one long chain. Not a MAC for anything long-lived; not for passwords.
 *
 * Threads: pure function. */
#ifndef LORE_AUTH_SIPHASH_H
#define LORE_AUTH_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

/* The hash of len bytes of data under a 16-byte key, the paper's output
 * read as a little-endian integer. */
uint64_t lore_siphash24(const uint8_t key[16], const void *data, size_t len);

#endif
