/* Dot-product kernels: portable C and AVX2/FMA, chosen once at start-up.
 * The int8 kernel is exact (int32 accumulation: 4096 dims x 127 x 127 fits),
 * so both versions agree bit for bit; the float32 ones differ only by the
 * order of the additions. */
#include "index/vector/vector_dist.h"
#include "index/vector/vector_dist_avx2.h"

int32_t vdist_dot_i8_portable(const int8_t *a, const int8_t *b, size_t n) {
    int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += (int32_t)a[i] * b[i];
        s1 += (int32_t)a[i + 1] * b[i + 1];
        s2 += (int32_t)a[i + 2] * b[i + 2];
        s3 += (int32_t)a[i + 3] * b[i + 3];
    }
    for (; i < n; i++)
        s0 += (int32_t)a[i] * b[i];
    return s0 + s1 + s2 + s3;
}

float vdist_dot_f32_portable(const float *a, const float *b, size_t n) {
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += a[i] * b[i];
        s1 += a[i + 1] * b[i + 1];
        s2 += a[i + 2] * b[i + 2];
        s3 += a[i + 3] * b[i + 3];
    }
    for (; i < n; i++)
        s0 += a[i] * b[i];
    return (s0 + s1) + (s2 + s3);
}

__attribute__((target("avx2,fma"))) static int32_t dot_i8_avx2(const int8_t *a, const int8_t *b,
                                                               size_t n) {
    return vdist_dot_i8_avx2_inline(a, b, n);
}

__attribute__((target("avx2,fma"))) static float dot_f32_avx2(const float *a, const float *b,
                                                              size_t n) {
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
    }
    for (; i + 8 <= n; i += 8)
        acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
    acc0 = _mm256_add_ps(acc0, acc1);
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(acc0), _mm256_extractf128_ps(acc0, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    float sum = _mm_cvtss_f32(s);
    for (; i < n; i++)
        sum += a[i] * b[i];
    return sum;
}

static int have_avx2(void) {
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    }
    return cached;
}

vdist_i8_fn vdist_dot_i8_avx2(void) {
    return have_avx2() ? dot_i8_avx2 : NULL;
}

vdist_f32_fn vdist_dot_f32_avx2(void) {
    return have_avx2() ? dot_f32_avx2 : NULL;
}

static vdist_i8_fn kern_i8;
static vdist_f32_fn kern_f32;

__attribute__((constructor)) static void vdist_choose(void) {
    kern_i8 = have_avx2() ? dot_i8_avx2 : vdist_dot_i8_portable;
    kern_f32 = have_avx2() ? dot_f32_avx2 : vdist_dot_f32_portable;
}

int32_t vdist_dot_i8(const int8_t *a, const int8_t *b, size_t n) {
    return kern_i8(a, b, n);
}

float vdist_dot_f32(const float *a, const float *b, size_t n) {
    return kern_f32(a, b, n);
}

const char *vdist_kernel_name(void) {
    return have_avx2() ? "avx2" : "portable";
}
