/* One fused pass over a block of two narrow-float tensors (BF16, F16, F8): what
 * dense.py's numpy path computes in seven or eight passes, in one (compare/deep/kernel.py).
 *
 * Plain C, no Python API: loaded with ctypes, which releases the GIL during the call, so the
 * compare's threads run in parallel. GCC/Clang vector extensions keep eight lanes of float32
 * partial sums per 4,096 elements (summed into doubles after each), rounding much as a BLAS
 * dot does (not bit for bit: tests/deep/test_kernel.py); with target_clones the AVX2 variant is chosen at run time, the baseline
 * elsewhere. Widening gives narrow.py's values exactly, by integers only where numpy's path
 * multiplies: a normal value's exponent is rebiased by an integer add; a subnormal one (exponent
 * field 0: its magnitude bits are an integer below 2^mantissa_bits) is that integer, converted
 * exactly, times 2^(1 − bias − mantissa_bits), a normal float32. No step sees a float32
 * subnormal, which costs the CPU a hundred cycles each (most F8 weights are small). BF16 is
 * the top half of a float32: a shift. F16 and F8 infinities and NaN are not widened correctly:
 * `specials` says whether the format's special pattern was seen on either side, and the
 * caller then redoes the block in order. */
#include <stdint.h>
#include <string.h>

typedef struct {
    int64_t changed_value; /* elements whose widened difference has a set bit */
    int64_t changed_bits;  /* elements whose stored bits differ */
    double base_sq, delta_sq, cross;
    int32_t specials;
} mc_sums;

typedef float v8f __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));
typedef uint32_t v8u __attribute__((vector_size(32)));
typedef uint16_t v8h __attribute__((vector_size(16)));
typedef uint8_t v8b __attribute__((vector_size(8)));

#define CHUNK 4096

#ifdef MC_CLONES
#define MC_TARGETS __attribute__((target_clones("avx2", "default")))
#else
#define MC_TARGETS
#endif

/* how one format widens: derived once per call from its widths and bias */
typedef struct {
    int bits, mantissa_bits, plain; /* plain: BF16, already float32's top half */
    uint32_t magnitude_mask, subnormal_below, rebias;
    float subnormal_scale;
} mc_format;

static mc_format format_of(int bits, int exponent_bits, int bias) {
    mc_format f;
    f.bits = bits;
    f.mantissa_bits = bits - 1 - exponent_bits;
    f.plain = exponent_bits == 8 && bias == 127;
    f.magnitude_mask = (1u << (bits - 1)) - 1;
    f.subnormal_below = 1u << f.mantissa_bits;
    f.rebias = (uint32_t)(127 - bias) << 23;
    uint32_t scale_bits = (uint32_t)(127 + 1 - bias - f.mantissa_bits) << 23;
    memcpy(&f.subnormal_scale, &scale_bits, sizeof scale_bits);
    return f;
}

static inline __attribute__((always_inline)) float widen_one(uint32_t raw, const mc_format *f) {
    uint32_t bits;
    if (f->plain) {
        bits = raw << 16;
    } else {
        uint32_t magnitude = raw & f->magnitude_mask;
        uint32_t sign = (raw >> (f->bits - 1)) << 31;
        if (magnitude < f->subnormal_below) {
            float value = (float)(int32_t)magnitude * f->subnormal_scale;
            memcpy(&bits, &value, sizeof bits);
        } else {
            bits = (magnitude << (23 - f->mantissa_bits)) + f->rebias;
        }
        bits |= sign;
    }
    float value;
    memcpy(&value, &bits, sizeof value);
    return value;
}

static inline __attribute__((always_inline)) v8f widen_eight(v8u raw, const mc_format *f) {
    if (f->plain) return (v8f)(raw << 16);
    v8u magnitude = raw & f->magnitude_mask;
    v8u sign = (raw >> (f->bits - 1)) << 31;
    v8u normal = (magnitude << (23 - f->mantissa_bits)) + f->rebias;
    v8f small = __builtin_convertvector((v8i)magnitude, v8f) * f->subnormal_scale;
    v8u is_small = (v8u)((v8i)magnitude < (int32_t)f->subnormal_below); /* both below 2^15 */
    return (v8f)(((normal & ~is_small) | ((v8u)small & is_small)) | sign);
}

/* the body for one storage width: LOAD(vector, pointer) reads eight values into a v8u */
#define MC_PAIR(NAME, TYPE, BITS, LOAD)                                                        \
    MC_TARGETS void NAME(const TYPE *a, const TYPE *b, int64_t n, int32_t exponent_bits,      \
                         int32_t bias, uint32_t special_mask, float *delta, mc_sums *out) {     \
        const mc_format f = format_of(BITS, exponent_bits, bias);                               \
        const v8u vspecial = (v8u){0} + special_mask;                                           \
        v8i seen = {0};                                                                         \
        int64_t i = 0, changed_value = 0, changed_bits = 0;                                     \
        double base_sq = 0, delta_sq = 0, cross = 0;                                            \
        while (i + 8 <= n) {                                                                    \
            int64_t end = i + CHUNK <= n ? i + CHUNK : n - (n - i) % 8;                         \
            v8f s_base = {0}, s_delta = {0}, s_cross = {0};                                     \
            v8i c_value = {0}, c_bits = {0};                                                    \
            for (; i < end; i += 8) {                                                           \
                v8u ua, ub;                                                                     \
                LOAD(ua, a + i);                                                                \
                LOAD(ub, b + i);                                                                \
                v8f x = widen_eight(ua, &f), d = widen_eight(ub, &f) - x;                       \
                if (delta) memcpy(delta + i, &d, sizeof d);                                     \
                s_base += x * x;                                                                \
                s_delta += d * d;                                                               \
                s_cross += x * d;                                                               \
                c_value -= (v8i)((v8u)d != 0);                                                  \
                c_bits -= (v8i)(ua != ub);                                                      \
                seen |= (v8i)((ua & vspecial) == vspecial) | (v8i)((ub & vspecial) == vspecial); \
            }                                                                                   \
            for (int k = 0; k < 8; k++) {                                                       \
                base_sq += s_base[k];                                                           \
                delta_sq += s_delta[k];                                                         \
                cross += s_cross[k];                                                            \
                changed_value += c_value[k];                                                    \
                changed_bits += c_bits[k];                                                      \
            }                                                                                   \
        }                                                                                       \
        int special = 0;                                                                        \
        for (int k = 0; k < 8; k++) special |= seen[k] != 0;                                    \
        for (; i < n; i++) { /* the ragged tail, one at a time */                               \
            uint32_t ra = a[i], rb = b[i];                                                      \
            float x = widen_one(ra, &f), d = widen_one(rb, &f) - x;                             \
            uint32_t d_bits;                                                                    \
            memcpy(&d_bits, &d, sizeof d_bits);                                                 \
            if (delta) delta[i] = d;                                                            \
            base_sq += x * x;                                                                   \
            delta_sq += d * d;                                                                  \
            cross += x * d;                                                                     \
            changed_value += d_bits != 0;                                                       \
            changed_bits += ra != rb;                                                           \
            special |= (ra & special_mask) == special_mask || (rb & special_mask) == special_mask; \
        }                                                                                       \
        out->changed_value = changed_value;                                                     \
        out->changed_bits = changed_bits;                                                       \
        out->base_sq = base_sq;                                                                 \
        out->delta_sq = delta_sq;                                                               \
        out->cross = cross;                                                                     \
        out->specials = special_mask != 0 && special;                                           \
    }

#define LOAD16(v, p)                                                                            \
    do {                                                                                        \
        v8h raw;                                                                                \
        memcpy(&raw, (p), sizeof raw);                                                          \
        (v) = __builtin_convertvector(raw, v8u);                                                \
    } while (0)
#define LOAD8(v, p)                                                                             \
    do {                                                                                        \
        v8b raw; /* through uint16: GCC widens bytes to words, then words to dwords, in */     \
        memcpy(&raw, (p), sizeof raw); /* vector registers; bytes to dwords it does by hand */  \
        (v) = __builtin_convertvector(__builtin_convertvector(raw, v8h), v8u);                  \
    } while (0)

MC_PAIR(mc_pair16, uint16_t, 16, LOAD16)
MC_PAIR(mc_pair8, uint8_t, 8, LOAD8)

/* lets the loader refuse a library built from another version of this file */
int32_t mc_abi(void) { return 2; }
