/* Distance kernels of the vector index: dot products over int8 (exact,
 * int32 accumulation) and float32. Each has a portable version and an
 * AVX2/FMA one chosen once at run time (__builtin_cpu_supports); the
 * portable ones stay callable so tests can check the two against each
 * other. See docs/vector-index.md. */
#ifndef LORE_INDEX_VECTOR_DIST_H
#define LORE_INDEX_VECTOR_DIST_H

#include <stddef.h>
#include <stdint.h>

typedef int32_t (*vdist_i8_fn)(const int8_t *a, const int8_t *b, size_t n);
typedef float (*vdist_f32_fn)(const float *a, const float *b, size_t n);

/* The kernels in use (AVX2/FMA when the CPU has them). */
int32_t vdist_dot_i8(const int8_t *a, const int8_t *b, size_t n);
float vdist_dot_f32(const float *a, const float *b, size_t n);

/* The portable kernels and the AVX2 ones (NULL if the CPU lacks AVX2/FMA). */
int32_t vdist_dot_i8_portable(const int8_t *a, const int8_t *b, size_t n);
float vdist_dot_f32_portable(const float *a, const float *b, size_t n);
vdist_i8_fn vdist_dot_i8_avx2(void);
vdist_f32_fn vdist_dot_f32_avx2(void);
/* "avx2" or "portable": what vdist_dot_* use. */
const char *vdist_kernel_name(void);

#endif
