/* The AVX2 int8 dot product as an inline function, so code compiled for
 * AVX2 (the graph walk's AVX2 copy, hnsw_walk.c) can inline it. */
#ifndef LORE_INDEX_VECTOR_DIST_AVX2_H
#define LORE_INDEX_VECTOR_DIST_AVX2_H

#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

static inline __attribute__((target("avx2,fma"))) int32_t
vdist_dot_i8_avx2_inline(const int8_t *a, const int8_t *b, size_t n) {
    __m256i acc0 = _mm256_setzero_si256(), acc1 = _mm256_setzero_si256();
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256i a0 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(a + i)));
        __m256i b0 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(b + i)));
        __m256i a1 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(a + i + 16)));
        __m256i b1 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(b + i + 16)));
        acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(a0, b0));
        acc1 = _mm256_add_epi32(acc1, _mm256_madd_epi16(a1, b1));
    }
    for (; i + 16 <= n; i += 16) {
        __m256i a0 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(a + i)));
        __m256i b0 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(b + i)));
        acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(a0, b0));
    }
    acc0 = _mm256_add_epi32(acc0, acc1);
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(acc0), _mm256_extracti128_si256(acc0, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    int32_t sum = _mm_cvtsi128_si32(s);
    for (; i < n; i++)
        sum += (int32_t)a[i] * b[i];
    return sum;
}

#endif
