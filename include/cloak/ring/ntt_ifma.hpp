// cloak: the negacyclic NTT on AVX-512 IFMA (52-bit integer multiply-add lanes).
//
// vpmadd52luq / vpmadd52huq multiply the low 52 bits of eight pairs of 64-bit
// lanes and add the low or the high 52 bits of each 104-bit product to an
// accumulator. For primes q < 2^50 every lazy value in [0, 4q) fits those 52
// bits, so the butterflies of ring/ntt_scalar.hpp run eight at a time. The
// idea of building modular arithmetic for HE on these instructions is that of
// Boemer et al., "Intel HEXL: Accelerating Homomorphic Encryption with Intel
// AVX512-IFMA52" (WAHC 2021), section 4; the code here is our own.
//
// Shoup's multiplication carries over with a 52-bit quotient w' = floor(w 2^52 / q)
// for a table constant w < q: for x < 2^52, Q = floor(x w' / 2^52) (one
// vpmadd52huq) is floor(x w / q) or one less, so r = x w - Q q lies in [0, 2q) and
// is determined by its low 52 bits, lo52(x w) - lo52(Q q) mod 2^52. The
// subtraction is folded into the accumulator: adding lo52(Q (2^52 - q)) to
// lo52(x w) gives r or r + 2^52, and one AND with 2^52 - 1 leaves r.
//
// Layout of the work: the stages whose butterfly distance is at least one vector
// (8 lanes) run two per pass over the data (radix 4), as the scalar code does.
// The three stages with distances 4, 2 and 1 run together on blocks of 16 values
// held in two registers, with lane permutations between the stages, so no stage
// falls back to scalar code; eight such blocks are interleaved to hide latency. The forward
// transform's final reduction to [0, q) and the inverse's multiplication by N^-1 are merged into
// the passes that end each transform, as in the scalar code. Outputs are fully reduced, hence
// bit-identical to the scalar backend's.
//
// Every function here is compiled for the IFMA target by a function attribute, so
// the header builds with any flags (g++ 12, clang 14, no -march); ring::NttTables
// calls these only after ring::avx512ifma_available() said the CPU can run them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include <cloak/core/bits.hpp>
#include <cloak/core/modarith.hpp>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define CLOAK_HAVE_IFMA_KERNELS 1
#include <immintrin.h>
#else
#define CLOAK_HAVE_IFMA_KERNELS 0
#endif

namespace cloak::inline v0::ring::detail {

/// Primes below this bound can use the IFMA path (4q must fit 52 bits).
inline constexpr std::uint64_t ifma_modulus_limit = std::uint64_t{1} << 50;

/// floor(w 2^52 / q), the 52-bit Shoup quotient of a constant w < q < 2^50.
constexpr std::uint64_t shoup_precompute_52(std::uint64_t w, std::uint64_t q) noexcept {
    return static_cast<std::uint64_t>((static_cast<core::uint128_t>(w) << 52) / q);
}

/// A twiddle table in the form vector loads want: values and 52-bit quotients in
/// two arrays, index i holding psi^(+-rev(i)).
struct IfmaRoots {
    std::vector<std::uint64_t> values;
    std::vector<std::uint64_t> quotients;

    IfmaRoots() = default;
    IfmaRoots(std::size_t n, const core::ShoupConstant* roots, std::uint64_t q)
        : values(n), quotients(n) {
        for (std::size_t i = 0; i < n; ++i) {
            values[i] = roots[i].value;
            quotients[i] = shoup_precompute_52(roots[i].value, q);
        }
    }
};

/// A constant with its 52-bit Shoup quotient.
struct IfmaConstant {
    std::uint64_t value = 0;
    std::uint64_t quotient = 0;

    IfmaConstant() = default;
    IfmaConstant(std::uint64_t w, std::uint64_t q)
        : value(w), quotient(shoup_precompute_52(w, q)) {}
};

/// The inverse's last radix-4 pass constants (see InverseLastPass) in 52-bit form.
struct IfmaInverseLastPass {
    IfmaConstant inverse_degree;
    IfmaConstant outer_scaled;
    IfmaConstant left_scaled;
    IfmaConstant right_scaled;
    IfmaConstant outer;
};

#if CLOAK_HAVE_IFMA_KERNELS

#define CLOAK_IFMA_TARGET \
    __attribute__((target("avx512f,avx512ifma,avx512vl,avx512dq,avx512bw"), always_inline))

namespace ifma {

// Complete unrolling of the short per-block loops, which g++ -O2 would otherwise
// leave as loops over arrays in memory.
#define CLOAK_UNROLL_BLOCKS _Pragma("GCC unroll 8")
// Two iterations of a radix-4 pass's inner loop per trip (a few percent on Zen 5).
#define CLOAK_UNROLL_PAIR _Pragma("GCC unroll 2")

// g++ 12's plain forms of some AVX-512 intrinsics (min, permutes, unpacks) seed
// their result with a self-initialised "undefined" vector that -Wmaybe-uninitialized
// reports; the zero-masking forms with every lane selected compile to the same
// instructions without it.
inline constexpr __mmask8 all_lanes = 0xFF;

struct Modulus {
    __m512i q;
    __m512i two_q;
    __m512i complement;  // 2^52 - q
    __m512i mask52;
};

CLOAK_IFMA_TARGET inline Modulus make_modulus(std::uint64_t q) noexcept {
    return {_mm512_set1_epi64(static_cast<long long>(q)),
            _mm512_set1_epi64(static_cast<long long>(2 * q)),
            _mm512_set1_epi64(static_cast<long long>((std::uint64_t{1} << 52) - q)),
            _mm512_set1_epi64(static_cast<long long>((std::uint64_t{1} << 52) - 1))};
}

/// A twiddle in every lane, or one twiddle per lane, with its 52-bit quotients.
struct Twiddle {
    __m512i value;
    __m512i quotient;
};

CLOAK_IFMA_TARGET inline Twiddle broadcast(std::uint64_t value, std::uint64_t quotient) noexcept {
    return {_mm512_set1_epi64(static_cast<long long>(value)),
            _mm512_set1_epi64(static_cast<long long>(quotient))};
}

CLOAK_IFMA_TARGET inline Twiddle broadcast(const IfmaRoots& roots, std::size_t i) noexcept {
    return broadcast(roots.values[i], roots.quotients[i]);
}

CLOAK_IFMA_TARGET inline __m512i load(const std::uint64_t* p) noexcept {
    return _mm512_loadu_si512(p);
}

CLOAK_IFMA_TARGET inline void store(std::uint64_t* p, __m512i v) noexcept {
    _mm512_storeu_si512(p, v);
}

/// x w mod q in [0, 2q) per lane, for x < 2^52 (see the header comment).
CLOAK_IFMA_TARGET inline __m512i multiply_lazy(__m512i x, const Twiddle& w,
                                               const Modulus& m) noexcept {
    const __m512i zero = _mm512_setzero_si512();
    const __m512i quotient = _mm512_madd52hi_epu64(zero, x, w.quotient);
    const __m512i product = _mm512_madd52lo_epu64(zero, x, w.value);
    return _mm512_and_si512(_mm512_madd52lo_epu64(product, quotient, m.complement), m.mask52);
}

/// x - bound where x >= bound, else x: the unsigned minimum of x and x - bound,
/// since x - bound wraps to a huge value exactly when x < bound.
CLOAK_IFMA_TARGET inline __m512i subtract_if_at_least(__m512i x, __m512i bound) noexcept {
    return _mm512_maskz_min_epu64(all_lanes, x, _mm512_sub_epi64(x, bound));
}

/// Cooley-Tukey: x in [0, 4q) (in [0, 2q) when `x_reduced`), y < 2^52 ->
/// x + w y and x - w y + 2q, both in [0, 4q).
template <bool x_reduced = false>
CLOAK_IFMA_TARGET inline void forward_butterfly(__m512i& x, __m512i& y, const Twiddle& w,
                                                const Modulus& m) noexcept {
    const __m512i u = x_reduced ? x : subtract_if_at_least(x, m.two_q);
    const __m512i v = multiply_lazy(y, w, m);
    x = _mm512_add_epi64(u, v);
    y = _mm512_add_epi64(_mm512_sub_epi64(u, v), m.two_q);
}

/// Gentleman-Sande: x, y in [0, 2q) -> x + y and (x - y) w, both in [0, 2q).
CLOAK_IFMA_TARGET inline void inverse_butterfly(__m512i& x, __m512i& y, const Twiddle& w,
                                                const Modulus& m) noexcept {
    const __m512i sum = subtract_if_at_least(_mm512_add_epi64(x, y), m.two_q);
    y = multiply_lazy(_mm512_add_epi64(_mm512_sub_epi64(x, y), m.two_q), w, m);
    x = sum;
}

// Lane permutations of the three in-register stages (see forward_last_stages).
CLOAK_IFMA_TARGET inline __m512i lanes(long long a, long long b, long long c, long long d,
                                       long long e, long long f, long long g,
                                       long long h) noexcept {
    return _mm512_set_epi64(h, g, f, e, d, c, b, a);
}

/// Twiddles of stage distance 4 for one block of 16: two table entries, each in four lanes.
CLOAK_IFMA_TARGET inline Twiddle twiddles_distance_4(const IfmaRoots& roots, std::size_t i,
                                                     __m512i spread) noexcept {
    return {_mm512_maskz_permutexvar_epi64(
                all_lanes, spread,
                _mm512_castsi128_si512(
                    _mm_loadu_si128(reinterpret_cast<const __m128i*>(roots.values.data() + i)))),
            _mm512_maskz_permutexvar_epi64(
                all_lanes, spread,
                _mm512_castsi128_si512(_mm_loadu_si128(
                    reinterpret_cast<const __m128i*>(roots.quotients.data() + i))))};
}

/// Twiddles of stage distance 2 for one block of 16: four table entries, each in two lanes.
CLOAK_IFMA_TARGET inline Twiddle twiddles_distance_2(const IfmaRoots& roots, std::size_t i,
                                                     __m512i spread) noexcept {
    return {_mm512_maskz_permutexvar_epi64(
                all_lanes, spread,
                _mm512_castsi256_si512(
                    _mm256_loadu_si256(reinterpret_cast<const __m256i*>(roots.values.data() + i)))),
            _mm512_maskz_permutexvar_epi64(
                all_lanes, spread,
                _mm512_castsi256_si512(_mm256_loadu_si256(
                    reinterpret_cast<const __m256i*>(roots.quotients.data() + i))))};
}

/// Twiddles of stage distance 1 for one block of 16: eight table entries, one per lane.
CLOAK_IFMA_TARGET inline Twiddle twiddles_distance_1(const IfmaRoots& roots,
                                                     std::size_t i) noexcept {
    return {load(roots.values.data() + i), load(roots.quotients.data() + i)};
}

// ---------------------------------------------------------------------------
// Forward.

/// One radix-4 pass over stages with m and 2m groups, second-stage distance h >= 8.
template <bool reduced_input>
CLOAK_IFMA_TARGET inline void forward_radix4_pass(std::uint64_t* a, std::size_t m, std::size_t h,
                                                  const IfmaRoots& roots,
                                                  const Modulus& mod) noexcept {
    for (std::size_t i = 0; i < m; ++i) {
        const Twiddle w_outer = broadcast(roots, m + i);
        const Twiddle w_left = broadcast(roots, 2 * m + 2 * i);
        const Twiddle w_right = broadcast(roots, 2 * m + 2 * i + 1);
        std::uint64_t* x = a + 4 * h * i;
        CLOAK_UNROLL_PAIR
        for (std::size_t j = 0; j < h; j += 8) {
            __m512i x0 = load(x + j);
            __m512i x1 = load(x + j + h);
            __m512i x2 = load(x + j + 2 * h);
            __m512i x3 = load(x + j + 3 * h);
            forward_butterfly<reduced_input>(x0, x2, w_outer, mod);
            forward_butterfly<reduced_input>(x1, x3, w_outer, mod);
            forward_butterfly(x0, x1, w_left, mod);
            forward_butterfly(x2, x3, w_right, mod);
            store(x + j, x0);
            store(x + j + h, x1);
            store(x + j + 2 * h, x2);
            store(x + j + 3 * h, x3);
        }
    }
}

/// The stages of distance 4, 2 and 1 on blocks of 16 values, ending with the
/// reduction to [0, q). With A, B the two halves of a block (values 0-7, 8-15):
///   distance 4: x = (A0-3, B0-3), y = (A4-7, B4-7), one twiddle per half;
///   distance 2: x and y regroup by 128-bit pairs so that the pairs (4t, 4t+1)
///               meet (4t+2, 4t+3), one twiddle per pair of lanes;
///   distance 1: unpacklo/unpackhi put value 2s in lane s of x and 2s+1 in lane s
///               of y, and the twiddle table is read in order;
/// and one interleave writes the block back in natural order.
CLOAK_IFMA_TARGET inline void forward_last_stages(std::uint64_t* a, std::size_t n,
                                                  const IfmaRoots& roots,
                                                  const Modulus& mod) noexcept {
    const __m512i spread4 = lanes(0, 0, 0, 0, 1, 1, 1, 1);
    const __m512i spread2 = lanes(0, 0, 1, 1, 2, 2, 3, 3);
    const __m512i pairs_low = lanes(0, 1, 8, 9, 4, 5, 12, 13);
    const __m512i pairs_high = lanes(2, 3, 10, 11, 6, 7, 14, 15);
    const __m512i interleave_low = lanes(0, 8, 1, 9, 2, 10, 3, 11);
    const __m512i interleave_high = lanes(4, 12, 5, 13, 6, 14, 7, 15);
    // Eight blocks per iteration, stage by stage: one block is a long dependent
    // chain (permute, multiply-high, multiply-low, permute, ...), and interleaving
    // independent blocks keeps the multipliers busy. On Zen 5 this pass took
    // 3.0 us at N = 8192 one block at a time, 2.6 with two, 2.3 with four, 1.95
    // with eight, and 3.2 with sixteen (registers spill).
    constexpr int blocks = 8;
    for (std::size_t b = 0; b < n / 16; b += blocks) {
        __m512i x[blocks];
        __m512i y[blocks];
        CLOAK_UNROLL_BLOCKS
        for (int k = 0; k < blocks; ++k) {
            const __m512i lo = load(a + 16 * (b + k));
            const __m512i hi = load(a + 16 * (b + k) + 8);
            x[k] = _mm512_maskz_shuffle_i64x2(all_lanes, lo, hi, 0x44);
            y[k] = _mm512_maskz_shuffle_i64x2(all_lanes, lo, hi, 0xEE);
        }
        CLOAK_UNROLL_BLOCKS
        for (int k = 0; k < blocks; ++k) {
            forward_butterfly(x[k], y[k], twiddles_distance_4(roots, n / 8 + 2 * (b + k), spread4),
                              mod);
        }
        CLOAK_UNROLL_BLOCKS
        for (int k = 0; k < blocks; ++k) {
            const __m512i x2 = _mm512_permutex2var_epi64(x[k], pairs_low, y[k]);
            const __m512i y2 = _mm512_permutex2var_epi64(x[k], pairs_high, y[k]);
            x[k] = x2;
            y[k] = y2;
        }
        CLOAK_UNROLL_BLOCKS
        for (int k = 0; k < blocks; ++k) {
            forward_butterfly(x[k], y[k], twiddles_distance_2(roots, n / 4 + 4 * (b + k), spread2),
                              mod);
        }
        CLOAK_UNROLL_BLOCKS
        for (int k = 0; k < blocks; ++k) {
            const __m512i x1 = _mm512_maskz_unpacklo_epi64(all_lanes, x[k], y[k]);
            const __m512i y1 = _mm512_maskz_unpackhi_epi64(all_lanes, x[k], y[k]);
            x[k] = x1;
            y[k] = y1;
        }
        CLOAK_UNROLL_BLOCKS
        for (int k = 0; k < blocks; ++k) {
            forward_butterfly(x[k], y[k], twiddles_distance_1(roots, n / 2 + 8 * (b + k)), mod);
        }
        CLOAK_UNROLL_BLOCKS
        for (int k = 0; k < blocks; ++k) {
            const __m512i x1 = subtract_if_at_least(subtract_if_at_least(x[k], mod.two_q), mod.q);
            const __m512i y1 = subtract_if_at_least(subtract_if_at_least(y[k], mod.two_q), mod.q);
            store(a + 16 * (b + k), _mm512_permutex2var_epi64(x1, interleave_low, y1));
            store(a + 16 * (b + k) + 8, _mm512_permutex2var_epi64(x1, interleave_high, y1));
        }
    }
}

CLOAK_IFMA_TARGET inline void forward(std::uint64_t* a, std::size_t n, const IfmaRoots& roots,
                                      std::uint64_t q) noexcept {
    const Modulus mod = make_modulus(q);
    // Stages of distance N/2 down to 8: log N - 3 of them.
    const int wide_stages = core::log2_floor(n) - 3;
    std::size_t m = 1;  // groups of the next stage
    if (wide_stages % 2 != 0) {
        const Twiddle w = broadcast(roots, 1);
        const std::size_t half = n / 2;
        for (std::size_t j = 0; j < half; j += 8) {
            __m512i x = load(a + j);
            __m512i y = load(a + j + half);
            forward_butterfly<true>(x, y, w, mod);
            store(a + j, x);
            store(a + j + half, y);
        }
        m = 2;
    } else {
        forward_radix4_pass<true>(a, 1, n / 4, roots, mod);
        m = 4;
    }
    for (; n / (4 * m) >= 8; m *= 4) {
        forward_radix4_pass<false>(a, m, n / (4 * m), roots, mod);
    }
    forward_last_stages(a, n, roots, mod);
}

// ---------------------------------------------------------------------------
// Inverse.

/// The stages of distance 1, 2 and 4 on blocks of 16 values: the permutations of
/// forward_last_stages run backwards. Inputs in [0, q), outputs in [0, 2q).
CLOAK_IFMA_TARGET inline void inverse_first_stages(std::uint64_t* a, std::size_t n,
                                                   const IfmaRoots& roots,
                                                   const Modulus& mod) noexcept {
    const __m512i spread4 = lanes(0, 0, 0, 0, 1, 1, 1, 1);
    const __m512i spread2 = lanes(0, 0, 1, 1, 2, 2, 3, 3);
    const __m512i evens = lanes(0, 2, 4, 6, 8, 10, 12, 14);
    const __m512i odds = lanes(1, 3, 5, 7, 9, 11, 13, 15);
    const __m512i pairs_low = lanes(0, 1, 8, 9, 4, 5, 12, 13);
    const __m512i pairs_high = lanes(2, 3, 10, 11, 6, 7, 14, 15);
    constexpr int blocks = 8;  // as in forward_last_stages
    for (std::size_t b = 0; b < n / 16; b += blocks) {
        __m512i x[blocks];
        __m512i y[blocks];
        CLOAK_UNROLL_BLOCKS
        for (int k = 0; k < blocks; ++k) {
            const __m512i lo = load(a + 16 * (b + k));
            const __m512i hi = load(a + 16 * (b + k) + 8);
            x[k] = _mm512_permutex2var_epi64(lo, evens, hi);
            y[k] = _mm512_permutex2var_epi64(lo, odds, hi);
        }
        CLOAK_UNROLL_BLOCKS
        for (int k = 0; k < blocks; ++k) {
            inverse_butterfly(x[k], y[k], twiddles_distance_1(roots, n / 2 + 8 * (b + k)), mod);
        }
        CLOAK_UNROLL_BLOCKS
        for (int k = 0; k < blocks; ++k) {
            const __m512i x2 = _mm512_maskz_unpacklo_epi64(all_lanes, x[k], y[k]);
            const __m512i y2 = _mm512_maskz_unpackhi_epi64(all_lanes, x[k], y[k]);
            x[k] = x2;
            y[k] = y2;
        }
        CLOAK_UNROLL_BLOCKS
        for (int k = 0; k < blocks; ++k) {
            inverse_butterfly(x[k], y[k], twiddles_distance_2(roots, n / 4 + 4 * (b + k), spread2),
                              mod);
        }
        CLOAK_UNROLL_BLOCKS
        for (int k = 0; k < blocks; ++k) {
            const __m512i x4 = _mm512_permutex2var_epi64(x[k], pairs_low, y[k]);
            const __m512i y4 = _mm512_permutex2var_epi64(x[k], pairs_high, y[k]);
            x[k] = x4;
            y[k] = y4;
        }
        CLOAK_UNROLL_BLOCKS
        for (int k = 0; k < blocks; ++k) {
            inverse_butterfly(x[k], y[k], twiddles_distance_4(roots, n / 8 + 2 * (b + k), spread4),
                              mod);
        }
        CLOAK_UNROLL_BLOCKS
        for (int k = 0; k < blocks; ++k) {
            store(a + 16 * (b + k), _mm512_maskz_shuffle_i64x2(all_lanes, x[k], y[k], 0x44));
            store(a + 16 * (b + k) + 8, _mm512_maskz_shuffle_i64x2(all_lanes, x[k], y[k], 0xEE));
        }
    }
}

/// One radix-4 inverse pass over stages of distances g and 2g, g >= 8, values in [0, 2q).
CLOAK_IFMA_TARGET inline void inverse_radix4_pass(std::uint64_t* a, std::size_t n, std::size_t g,
                                                  const IfmaRoots& roots,
                                                  const Modulus& mod) noexcept {
    const std::size_t m = n / (2 * g);  // groups of the first stage
    for (std::size_t i = 0; i < m / 2; ++i) {
        const Twiddle w_left = broadcast(roots, m + 2 * i);
        const Twiddle w_right = broadcast(roots, m + 2 * i + 1);
        const Twiddle w_outer = broadcast(roots, m / 2 + i);
        std::uint64_t* x = a + 4 * g * i;
        CLOAK_UNROLL_PAIR
        for (std::size_t j = 0; j < g; j += 8) {
            __m512i x0 = load(x + j);
            __m512i x1 = load(x + j + g);
            __m512i x2 = load(x + j + 2 * g);
            __m512i x3 = load(x + j + 3 * g);
            inverse_butterfly(x0, x1, w_left, mod);
            inverse_butterfly(x2, x3, w_right, mod);
            inverse_butterfly(x0, x2, w_outer, mod);
            inverse_butterfly(x1, x3, w_outer, mod);
            store(x + j, x0);
            store(x + j + g, x1);
            store(x + j + 2 * g, x2);
            store(x + j + 3 * g, x3);
        }
    }
}

/// The last two inverse stages with N^-1 folded into the twiddles, as in
/// ring/ntt_scalar.hpp's inverse_last_pass. Inputs in [0, 2q), outputs in [0, q).
CLOAK_IFMA_TARGET inline void inverse_last_pass(std::uint64_t* a, std::size_t n,
                                                const IfmaInverseLastPass& c,
                                                const Modulus& mod) noexcept {
    const Twiddle inverse_degree = broadcast(c.inverse_degree.value, c.inverse_degree.quotient);
    const Twiddle outer_scaled = broadcast(c.outer_scaled.value, c.outer_scaled.quotient);
    const Twiddle left_scaled = broadcast(c.left_scaled.value, c.left_scaled.quotient);
    const Twiddle right_scaled = broadcast(c.right_scaled.value, c.right_scaled.quotient);
    const Twiddle outer = broadcast(c.outer.value, c.outer.quotient);
    const std::size_t g = n / 4;
    for (std::size_t j = 0; j < g; j += 8) {
        const __m512i x0 = load(a + j);
        const __m512i x1 = load(a + j + g);
        const __m512i x2 = load(a + j + 2 * g);
        const __m512i x3 = load(a + j + 3 * g);
        // Sums brought to [0, 2q) so that every multiplier input stays below 4q < 2^52.
        const __m512i s0 = subtract_if_at_least(_mm512_add_epi64(x0, x1), mod.two_q);
        const __m512i s1 = subtract_if_at_least(_mm512_add_epi64(x2, x3), mod.two_q);
        const __m512i d0 =
            multiply_lazy(_mm512_add_epi64(_mm512_sub_epi64(x0, x1), mod.two_q), left_scaled, mod);
        const __m512i d1 =
            multiply_lazy(_mm512_add_epi64(_mm512_sub_epi64(x2, x3), mod.two_q), right_scaled, mod);
        const __m512i y0 = multiply_lazy(_mm512_add_epi64(s0, s1), inverse_degree, mod);
        const __m512i y1 = subtract_if_at_least(_mm512_add_epi64(d0, d1), mod.two_q);
        const __m512i y2 =
            multiply_lazy(_mm512_add_epi64(_mm512_sub_epi64(s0, s1), mod.two_q), outer_scaled, mod);
        const __m512i y3 =
            multiply_lazy(_mm512_add_epi64(_mm512_sub_epi64(d0, d1), mod.two_q), outer, mod);
        store(a + j, subtract_if_at_least(y0, mod.q));
        store(a + j + g, subtract_if_at_least(y1, mod.q));
        store(a + j + 2 * g, subtract_if_at_least(y2, mod.q));
        store(a + j + 3 * g, subtract_if_at_least(y3, mod.q));
    }
}

CLOAK_IFMA_TARGET inline void inverse(std::uint64_t* a, std::size_t n, const IfmaRoots& roots,
                                      const IfmaInverseLastPass& last, std::uint64_t q) noexcept {
    const Modulus mod = make_modulus(q);
    inverse_first_stages(a, n, roots, mod);
    // Stages of distance 8 up to N/2: log N - 3 of them, the last two in inverse_last_pass.
    const int wide_stages = core::log2_floor(n) - 3;
    std::size_t g = 8;  // distance of the next stage
    if (wide_stages % 2 != 0) {
        const std::size_t m = n / 16;
        for (std::size_t i = 0; i < m; ++i) {
            const Twiddle w = broadcast(roots, m + i);
            std::uint64_t* x = a + 16 * i;
            __m512i u = load(x);
            __m512i v = load(x + 8);
            inverse_butterfly(u, v, w, mod);
            store(x, u);
            store(x + 8, v);
        }
        g = 16;
    }
    for (; 4 * g < n; g *= 4) {
        inverse_radix4_pass(a, n, g, roots, mod);
    }
    inverse_last_pass(a, n, last, mod);
}

}  // namespace ifma

#undef CLOAK_UNROLL_BLOCKS
#undef CLOAK_UNROLL_PAIR
#undef CLOAK_IFMA_TARGET

// Entry points: not inlined into their callers, whose target lacks AVX-512.
__attribute__((target("avx512f,avx512ifma,avx512vl,avx512dq,avx512bw"), noinline)) inline void
ntt_forward_ifma(std::uint64_t* a, std::size_t n, const IfmaRoots& roots,
                 std::uint64_t q) noexcept {
    ifma::forward(a, n, roots, q);
}

__attribute__((target("avx512f,avx512ifma,avx512vl,avx512dq,avx512bw"), noinline)) inline void
ntt_inverse_ifma(std::uint64_t* a, std::size_t n, const IfmaRoots& roots,
                 const IfmaInverseLastPass& last, std::uint64_t q) noexcept {
    ifma::inverse(a, n, roots, last, q);
}

#else  // no IFMA kernels on this compiler or architecture: never called

inline void ntt_forward_ifma(std::uint64_t*, std::size_t, const IfmaRoots&,
                             std::uint64_t) noexcept {}
inline void ntt_inverse_ifma(std::uint64_t*, std::size_t, const IfmaRoots&,
                             const IfmaInverseLastPass&, std::uint64_t) noexcept {}

#endif

}  // namespace cloak::inline v0::ring::detail
