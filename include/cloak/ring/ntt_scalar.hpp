// cloak: the portable 64-bit kernels of the negacyclic NTT (ring/ntt.hpp).
//
// Butterflies follow Harvey ("Faster arithmetic for number-theoretic transforms",
// J. Symb. Comp. 2014, Alg. 4 and 5): a multiplication by a table constant w uses
// Shoup's quotient floor(w 2^64 / q) and returns a value in [0, 2q), and sums are
// left unreduced as long as they fit. Because every modulus is below 2^61, 8q still
// fits a word, which lets a radix-4 pass skip some of the corrections Harvey's
// radix-2 form makes. The twist by powers of psi is merged into the tables as in
// Longa and Naehrig ("Speeding up the number theoretic transform for faster ideal
// lattice-based cryptography", CANS 2016, Alg. 1 and 2).
//
// Two stages run per pass over the data (radix 4) so each pass reads and writes
// the array once for two levels; with N up to 2^17 the array and its tables live
// in L2, and halving the passes halves that traffic. When log N is odd, one
// radix-2 stage runs where its data access is cheapest (the first forward stage,
// the first inverse stage). The pass that finishes the transform also finishes the
// reduction to [0, q), and the inverse folds N^-1 into its last pass's twiddles
// (each with its own Shoup quotient) instead of running a separate scaling pass.
//
// The loops are written for plain -O2 / -O3 x86-64 code: no intrinsics, and each
// butterfly is a short chain of multiplies, adds and conditional subtractions
// that compilers turn into cmov.
#pragma once

#include <cstddef>
#include <cstdint>

#include <cloak/core/bits.hpp>
#include <cloak/core/modarith.hpp>

namespace cloak::inline v0::ring::detail {

/// Constants of the inverse NTT's last radix-4 pass, where N^-1 is folded into
/// the twiddles: psi^-rev(i) for i = 1, 2, 3 times N^-1, N^-1 itself, and the
/// unscaled psi^-rev(1) for the output that is already scaled once.
struct InverseLastPass {
    core::ShoupConstant inverse_degree;  // N^-1
    core::ShoupConstant outer_scaled;    // psi^-rev(1) N^-1
    core::ShoupConstant left_scaled;     // psi^-rev(2) N^-1
    core::ShoupConstant right_scaled;    // psi^-rev(3) N^-1
    core::ShoupConstant outer;           // psi^-rev(1)
};

// The two corrections below are the only data-dependent choices of a butterfly.
// On random residues they go either way half the time, so they must compile to
// cmov, never to a branch. Compilers decide that by heuristics that differ
// between versions (g++ 12 turns x - y + b >= b into a branch; clang 14's cmov
// conversion pass turns some selects in loops back into branches), so on x86-64
// each is one sub and one cmov written out; elsewhere plain C++.

/// x - bound when x >= bound, else x (one conditional subtraction).
[[gnu::always_inline]] inline std::uint64_t subtract_if_at_least(std::uint64_t x,
                                                                 std::uint64_t bound) noexcept {
#if defined(__x86_64__) && !defined(CLOAK_NO_INLINE_ASM)
    std::uint64_t reduced = x;
    __asm__(
        "sub {%[bound], %[reduced]|%[reduced], %[bound]}\n\t"
        "cmovae {%[reduced], %[x]|%[x], %[reduced]}"
        : [x] "+r"(x), [reduced] "+&r"(reduced)
        : [bound] "r"(bound)
        : "cc");
    return x;
#else
    return x >= bound ? x - bound : x;
#endif
}

/// x - y, plus bound when that borrows: (x - y) mod bound for x, y in [0, bound).
[[gnu::always_inline]] inline std::uint64_t subtract_wrapped(std::uint64_t x, std::uint64_t y,
                                                             std::uint64_t bound) noexcept {
#if defined(__x86_64__) && !defined(CLOAK_NO_INLINE_ASM)
    std::uint64_t wrapped;
    __asm__(
        "sub {%[y], %[x]|%[x], %[y]}\n\t"
        "lea {(%[x],%[bound]), %[wrapped]|%[wrapped], [%[x]+%[bound]]}\n\t"
        "cmovb {%[wrapped], %[x]|%[x], %[wrapped]}"
        : [x] "+r"(x), [wrapped] "=&r"(wrapped)
        : [y] "r"(y), [bound] "r"(bound)
        : "cc");
    return x;
#else
    const std::uint64_t d = x - y;
    return x < y ? d + bound : d;
#endif
}

/// x w mod q in [0, 2q) for any 64-bit x (Shoup; Harvey 2014, Alg. 2).
[[gnu::always_inline]] inline std::uint64_t multiply_lazy(std::uint64_t x,
                                                          const core::ShoupConstant& w,
                                                          std::uint64_t q) noexcept {
    return x * w.value - core::mul_high(x, w.quotient) * q;
}

// ---------------------------------------------------------------------------
// Forward: Cooley-Tukey butterflies, x, y -> x + w y, x - w y, values in [0, 4q).

/// One radix-4 forward pass: stages with m and 2m groups, second-stage gap h >= 1.
/// Inputs in [0, 4q) (in [0, q) when `reduced_input`), outputs in [0, 4q).
template <bool reduced_input>
inline void forward_radix4_pass(std::uint64_t* __restrict a, std::size_t m, std::size_t h,
                                const core::ShoupConstant* __restrict roots,
                                std::uint64_t q) noexcept {
    const std::uint64_t two_q = 2 * q;
    for (std::size_t i = 0; i < m; ++i) {
        const core::ShoupConstant w_outer = roots[m + i];
        const core::ShoupConstant w_left = roots[2 * m + 2 * i];
        const core::ShoupConstant w_right = roots[2 * m + 2 * i + 1];
        std::uint64_t* __restrict x = a + 4 * h * i;
        std::uint64_t* __restrict x0p = x;
        std::uint64_t* __restrict x1p = x + h;
        std::uint64_t* __restrict x2p = x + 2 * h;
        std::uint64_t* __restrict x3p = x + 3 * h;
        for (std::size_t j = 0; j < h; ++j) {
            std::uint64_t x0 = x0p[j];
            if constexpr (!reduced_input) {
                x0 = subtract_if_at_least(x0, two_q);
            }
            const std::uint64_t v2 = multiply_lazy(x2p[j], w_outer, q);
            const std::uint64_t y0 = subtract_if_at_least(x0 + v2, two_q);
            const std::uint64_t y2 = subtract_wrapped(x0, v2, two_q);
            std::uint64_t x1 = x1p[j];
            if constexpr (!reduced_input) {
                x1 = subtract_if_at_least(x1, two_q);
            }
            const std::uint64_t v3 = multiply_lazy(x3p[j], w_outer, q);
            const std::uint64_t v1 = multiply_lazy(x1 + v3, w_left, q);
            x0p[j] = y0 + v1;
            x1p[j] = y0 - v1 + two_q;
            const std::uint64_t v3b = multiply_lazy(x1 - v3 + two_q, w_right, q);
            x2p[j] = y2 + v3b;
            x3p[j] = y2 - v3b + two_q;
        }
    }
}

/// The last two forward stages (gaps 2 and 1) on each group of four adjacent
/// values, finishing with the full reduction to [0, q). Inputs in [0, 4q).
inline void forward_last_pass(std::uint64_t* __restrict a, std::size_t n,
                              const core::ShoupConstant* __restrict roots,
                              std::uint64_t q) noexcept {
    const std::uint64_t two_q = 2 * q;
    const std::size_t m = n / 4;
    for (std::size_t i = 0; i < m; ++i) {
        const core::ShoupConstant w_outer = roots[m + i];
        const core::ShoupConstant w_left = roots[2 * m + 2 * i];
        const core::ShoupConstant w_right = roots[2 * m + 2 * i + 1];
        std::uint64_t* __restrict x = a + 4 * i;
        const std::uint64_t x0 = subtract_if_at_least(x[0], two_q);
        const std::uint64_t x1 = subtract_if_at_least(x[1], two_q);
        const std::uint64_t v2 = multiply_lazy(x[2], w_outer, q);
        const std::uint64_t v3 = multiply_lazy(x[3], w_outer, q);
        // y0, y2 in [0, 4q) brought to [0, q); the products to [0, q); then the
        // sums and differences need one correction each.
        const std::uint64_t y0 = subtract_if_at_least(subtract_if_at_least(x0 + v2, two_q), q);
        const std::uint64_t y2 = subtract_if_at_least(subtract_wrapped(x0, v2, two_q), q);
        const std::uint64_t y1 = x1 + v3;
        const std::uint64_t y3 = x1 - v3 + two_q;
        const std::uint64_t v1 = subtract_if_at_least(multiply_lazy(y1, w_left, q), q);
        const std::uint64_t v3b = subtract_if_at_least(multiply_lazy(y3, w_right, q), q);
        x[0] = subtract_if_at_least(y0 + v1, q);
        x[1] = subtract_wrapped(y0, v1, q);
        x[2] = subtract_if_at_least(y2 + v3b, q);
        x[3] = subtract_wrapped(y2, v3b, q);
    }
}

/// In place: natural-order coefficients in [0, q) to bit-reversed evaluations in [0, q).
inline void ntt_forward_scalar(std::uint64_t* __restrict a, std::size_t n,
                               const core::ShoupConstant* __restrict roots,
                               std::uint64_t q) noexcept {
    const std::uint64_t two_q = 2 * q;
    const int log_n = core::log2_floor(n);
    std::size_t m = 1;  // groups of the next stage
    if (log_n % 2 != 0) {
        // One radix-2 stage (gap N/2) on inputs in [0, q): no correction needed.
        const core::ShoupConstant w = roots[1];
        const std::size_t half = n / 2;
        for (std::size_t j = 0; j < half; ++j) {
            const std::uint64_t x = a[j];
            const std::uint64_t v = multiply_lazy(a[j + half], w, q);
            a[j] = x + v;
            a[j + half] = x - v + two_q;
        }
        m = 2;
    } else {
        forward_radix4_pass<true>(a, 1, n / 4, roots, q);
        m = 4;
    }
    for (; 4 * m < n; m *= 4) {
        forward_radix4_pass<false>(a, m, n / (4 * m), roots, q);
    }
    forward_last_pass(a, n, roots, q);
}

// ---------------------------------------------------------------------------
// Inverse: Gentleman-Sande butterflies, x, y -> x + y, (x - y) w, values in [0, 2q).

/// One radix-4 inverse pass: stages with gaps g and 2g. Inputs in [0, 2q),
/// outputs in [0, 2q). The outer sum s0 + s1 < 8q is brought back with two
/// corrections instead of three, since s0 and s1 are never reduced on their own.
inline void inverse_radix4_pass(std::uint64_t* __restrict a, std::size_t n, std::size_t g,
                                const core::ShoupConstant* __restrict roots,
                                std::uint64_t q) noexcept {
    const std::uint64_t two_q = 2 * q;
    const std::uint64_t four_q = 4 * q;
    const std::size_t m = n / (2 * g);  // groups of the first stage
    for (std::size_t i = 0; i < m / 2; ++i) {
        const core::ShoupConstant w_left = roots[m + 2 * i];
        const core::ShoupConstant w_right = roots[m + 2 * i + 1];
        const core::ShoupConstant w_outer = roots[m / 2 + i];
        std::uint64_t* __restrict x = a + 4 * g * i;
        for (std::size_t j = 0; j < g; ++j) {
            const std::uint64_t x0 = x[j];
            const std::uint64_t x1 = x[j + g];
            const std::uint64_t x2 = x[j + 2 * g];
            const std::uint64_t x3 = x[j + 3 * g];
            const std::uint64_t s0 = x0 + x1;  // [0, 4q)
            const std::uint64_t s1 = x2 + x3;
            const std::uint64_t d0 = multiply_lazy(x0 - x1 + two_q, w_left, q);  // [0, 2q)
            const std::uint64_t d1 = multiply_lazy(x2 - x3 + two_q, w_right, q);
            x[j] = subtract_if_at_least(subtract_if_at_least(s0 + s1, four_q), two_q);
            x[j + g] = subtract_if_at_least(d0 + d1, two_q);
            x[j + 2 * g] = multiply_lazy(s0 - s1 + four_q, w_outer, q);
            x[j + 3 * g] = multiply_lazy(d0 - d1 + two_q, w_outer, q);
        }
    }
}

/// The first two inverse stages (gaps 1 and 2) on each group of four adjacent
/// values. Inputs in [0, q), outputs in [0, 2q).
inline void inverse_first_pass(std::uint64_t* __restrict a, std::size_t n,
                               const core::ShoupConstant* __restrict roots,
                               std::uint64_t q) noexcept {
    const std::uint64_t two_q = 2 * q;
    const std::size_t m = n / 2;
    for (std::size_t i = 0; i < m / 2; ++i) {
        const core::ShoupConstant w_left = roots[m + 2 * i];
        const core::ShoupConstant w_right = roots[m + 2 * i + 1];
        const core::ShoupConstant w_outer = roots[m / 2 + i];
        std::uint64_t* __restrict x = a + 4 * i;
        const std::uint64_t x0 = x[0];
        const std::uint64_t x1 = x[1];
        const std::uint64_t x2 = x[2];
        const std::uint64_t x3 = x[3];
        const std::uint64_t s0 = x0 + x1;  // [0, 2q)
        const std::uint64_t s1 = x2 + x3;
        const std::uint64_t d0 = multiply_lazy(x0 - x1 + q, w_left, q);  // [0, 2q)
        const std::uint64_t d1 = multiply_lazy(x2 - x3 + q, w_right, q);
        x[0] = subtract_if_at_least(s0 + s1, two_q);
        x[1] = subtract_if_at_least(d0 + d1, two_q);
        x[2] = multiply_lazy(s0 - s1 + two_q, w_outer, q);
        x[3] = multiply_lazy(d0 - d1 + two_q, w_outer, q);
    }
}

/// The last two inverse stages (gaps N/4 and N/2) with N^-1 folded in: both
/// butterflies of the first stage and the difference of the second multiply by
/// twiddles that already carry N^-1, so only the plain sum needs a separate
/// multiplication by N^-1, and the output x3, whose inputs are already scaled,
/// takes the unscaled twiddle. Inputs in [0, 2q), outputs in [0, q).
inline void inverse_last_pass(std::uint64_t* __restrict a, std::size_t n, const InverseLastPass& c,
                              std::uint64_t q) noexcept {
    const std::uint64_t two_q = 2 * q;
    const std::uint64_t four_q = 4 * q;
    const std::size_t g = n / 4;
    for (std::size_t j = 0; j < g; ++j) {
        const std::uint64_t x0 = a[j];
        const std::uint64_t x1 = a[j + g];
        const std::uint64_t x2 = a[j + 2 * g];
        const std::uint64_t x3 = a[j + 3 * g];
        const std::uint64_t s0 = x0 + x1;  // [0, 4q)
        const std::uint64_t s1 = x2 + x3;
        const std::uint64_t d0 = multiply_lazy(x0 - x1 + two_q, c.left_scaled, q);  // [0, 2q)
        const std::uint64_t d1 = multiply_lazy(x2 - x3 + two_q, c.right_scaled, q);
        a[j] = subtract_if_at_least(multiply_lazy(s0 + s1, c.inverse_degree, q), q);
        a[j + g] = subtract_if_at_least(subtract_if_at_least(d0 + d1, two_q), q);
        a[j + 2 * g] = subtract_if_at_least(multiply_lazy(s0 - s1 + four_q, c.outer_scaled, q), q);
        a[j + 3 * g] = subtract_if_at_least(multiply_lazy(d0 - d1 + two_q, c.outer, q), q);
    }
}

/// In place: bit-reversed evaluations in [0, q) to natural-order coefficients in [0, q).
inline void ntt_inverse_scalar(std::uint64_t* __restrict a, std::size_t n,
                               const core::ShoupConstant* __restrict roots,
                               const InverseLastPass& last, std::uint64_t q) noexcept {
    const int log_n = core::log2_floor(n);
    std::size_t g = 1;  // gap of the next stage
    if (log_n % 2 != 0) {
        // One radix-2 stage (gap 1) on inputs in [0, q): sums stay below 2q.
        const std::size_t half = n / 2;
        for (std::size_t i = 0; i < half; ++i) {
            const std::uint64_t u = a[2 * i];
            const std::uint64_t v = a[2 * i + 1];
            a[2 * i] = u + v;
            a[2 * i + 1] = multiply_lazy(u - v + q, roots[half + i], q);
        }
        g = 2;
    } else {
        inverse_first_pass(a, n, roots, q);
        g = 4;
    }
    for (; 4 * g < n; g *= 4) {
        inverse_radix4_pass(a, n, g, roots, q);
    }
    inverse_last_pass(a, n, last, q);
}

}  // namespace cloak::inline v0::ring::detail
