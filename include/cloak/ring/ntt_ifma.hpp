// cloak: NTT butterflies on AVX-512 IFMA (52-bit integer multiply-add).
//
// For primes below 2^50, lazy values in [0, 4q) fit the 52-bit lanes of
// vpmadd52luq / vpmadd52huq, so eight butterflies run per instruction. Shoup's
// method carries over with a 52-bit quotient w' = floor(w 2^52 / q):
// hi52(x w') underestimates floor(x w / q) by at most one, so
// lo52(x w) - lo52(hi52(x w') q) mod 2^52 is x w mod q in [0, 2q) (the idea of
// Boemer et al., "Intel HEXL", 2021, section 4; our own code). Stages whose
// butterfly distance is below 8 lanes stay scalar.
//
// Compiled for the IFMA target by function attributes, so the header builds with
// any flags; ring::NttTables calls it only after checking the CPU at run time.
#pragma once

#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include <cloak/core/modarith.hpp>

namespace cloak::inline v0::ring::detail {

/// Primes below this bound can use the IFMA path.
inline constexpr std::uint64_t ifma_modulus_limit = std::uint64_t{1} << 50;

/// floor(w 2^52 / q), the 52-bit Shoup quotient.
constexpr std::uint64_t shoup_precompute_52(std::uint64_t w, std::uint64_t q) noexcept {
    return static_cast<std::uint64_t>((static_cast<core::uint128_t>(w) << 52) / q);
}

/// True when the CPU runs AVX-512F and IFMA instructions (checked once).
inline bool cpu_has_avx512ifma() noexcept {
    static const bool available = [] {
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f") != 0 && __builtin_cpu_supports("avx512ifma") != 0;
    }();
    return available;
}

#define CLOAK_IFMA_TARGET __attribute__((target("avx512f,avx512ifma")))

struct IfmaConstants {
    __m512i q;
    __m512i two_q;
    __m512i mask52;
};

CLOAK_IFMA_TARGET inline IfmaConstants ifma_constants(std::uint64_t q) noexcept {
    return {_mm512_set1_epi64(static_cast<long long>(q)),
            _mm512_set1_epi64(static_cast<long long>(2 * q)), _mm512_set1_epi64((1LL << 52) - 1)};
}

/// x w mod q in [0, 2q) for x < 2^52, per lane.
CLOAK_IFMA_TARGET inline __m512i ifma_mul_shoup_lazy(__m512i x, __m512i w, __m512i w52,
                                                     const IfmaConstants& c) noexcept {
    const __m512i zero = _mm512_setzero_si512();
    const __m512i quotient = _mm512_madd52hi_epu64(zero, x, w52);
    const __m512i product = _mm512_madd52lo_epu64(zero, x, w);
    const __m512i correction = _mm512_madd52lo_epu64(zero, quotient, c.q);
    return _mm512_and_si512(_mm512_sub_epi64(product, correction), c.mask52);
}

/// v - bound when v >= bound, else v.
CLOAK_IFMA_TARGET inline __m512i ifma_reduce_once(__m512i v, __m512i bound) noexcept {
    // A masked subtract rather than _mm512_min_epu64, whose g++ 12 definition
    // reads _mm512_undefined_epi32() and trips -Wmaybe-uninitialized.
    const __mmask8 too_large = _mm512_cmpge_epu64_mask(v, bound);
    return _mm512_mask_sub_epi64(v, too_large, v, bound);
}

/// Forward stages m = m_start, 2 m_start, ... while the butterfly distance is at
/// least 8; returns the first stage left to the scalar code. Values in [0, 4q).
CLOAK_IFMA_TARGET inline std::size_t ntt_forward_ifma_stages(std::uint64_t* a, std::size_t n,
                                                             const core::ShoupConstant* roots,
                                                             const std::uint64_t* roots52,
                                                             std::uint64_t q) noexcept {
    const IfmaConstants c = ifma_constants(q);
    std::size_t m = 1;
    for (std::size_t gap = n / 2; gap >= 8; gap >>= 1, m <<= 1) {
        for (std::size_t i = 0; i < m; ++i) {
            const __m512i w = _mm512_set1_epi64(static_cast<long long>(roots[m + i].value));
            const __m512i w52 = _mm512_set1_epi64(static_cast<long long>(roots52[m + i]));
            std::uint64_t* x = a + 2 * i * gap;
            std::uint64_t* y = x + gap;
            for (std::size_t j = 0; j < gap; j += 8) {
                __m512i u = _mm512_loadu_si512(x + j);
                const __m512i v_in = _mm512_loadu_si512(y + j);
                u = ifma_reduce_once(u, c.two_q);
                const __m512i v = ifma_mul_shoup_lazy(v_in, w, w52, c);
                _mm512_storeu_si512(x + j, _mm512_add_epi64(u, v));
                _mm512_storeu_si512(y + j, _mm512_add_epi64(_mm512_sub_epi64(u, v), c.two_q));
            }
        }
    }
    return m;
}

/// Inverse stages from butterfly distance 8 to the end, inputs in [0, 2q); the
/// last stage multiplies by N^-1 (and psi^-rev(1) N^-1) and reduces to [0, q).
CLOAK_IFMA_TARGET inline void ntt_inverse_ifma_stages(
    std::uint64_t* a, std::size_t n, const core::ShoupConstant* roots, const std::uint64_t* roots52,
    core::ShoupConstant inverse_n, std::uint64_t inverse_n52, core::ShoupConstant last_root,
    std::uint64_t last_root52, std::uint64_t q) noexcept {
    const IfmaConstants c = ifma_constants(q);
    std::size_t gap = 8;
    for (std::size_t m = n / 16; m >= 2; m >>= 1, gap <<= 1) {
        for (std::size_t i = 0; i < m; ++i) {
            const __m512i w = _mm512_set1_epi64(static_cast<long long>(roots[m + i].value));
            const __m512i w52 = _mm512_set1_epi64(static_cast<long long>(roots52[m + i]));
            std::uint64_t* x = a + 2 * i * gap;
            std::uint64_t* y = x + gap;
            for (std::size_t j = 0; j < gap; j += 8) {
                const __m512i u = _mm512_loadu_si512(x + j);
                const __m512i v = _mm512_loadu_si512(y + j);
                const __m512i sum = ifma_reduce_once(_mm512_add_epi64(u, v), c.two_q);
                const __m512i difference = _mm512_add_epi64(_mm512_sub_epi64(u, v), c.two_q);
                _mm512_storeu_si512(x + j, sum);
                _mm512_storeu_si512(y + j, ifma_mul_shoup_lazy(difference, w, w52, c));
            }
        }
    }
    const __m512i scale = _mm512_set1_epi64(static_cast<long long>(inverse_n.value));
    const __m512i scale52 = _mm512_set1_epi64(static_cast<long long>(inverse_n52));
    const __m512i root = _mm512_set1_epi64(static_cast<long long>(last_root.value));
    const __m512i root52 = _mm512_set1_epi64(static_cast<long long>(last_root52));
    const std::size_t half = n / 2;
    for (std::size_t j = 0; j < half; j += 8) {
        const __m512i u = _mm512_loadu_si512(a + j);
        const __m512i v = _mm512_loadu_si512(a + half + j);
        const __m512i sum = _mm512_add_epi64(u, v);
        const __m512i difference = _mm512_add_epi64(_mm512_sub_epi64(u, v), c.two_q);
        _mm512_storeu_si512(a + j,
                            ifma_reduce_once(ifma_mul_shoup_lazy(sum, scale, scale52, c), c.q));
        _mm512_storeu_si512(
            a + half + j, ifma_reduce_once(ifma_mul_shoup_lazy(difference, root, root52, c), c.q));
    }
}

#undef CLOAK_IFMA_TARGET

}  // namespace cloak::inline v0::ring::detail
