// cloak: moving RNS polynomials between bases.
//
// - BaseConverter: fast base conversion (Bajard, Eynard, Hasan, Zucca, SAC 2016,
//   section 2.2). For x in [0, Q) given by residues x_i mod q_i (i < L),
//       y_i = [x_i (Q/q_i)^-1]_{q_i},   conv(x) = sum_i y_i (Q/q_i)  mod p_j,
//   and since 0 <= y_i < q_i, the sum is x + e Q for an integer e, 0 <= e < L.
//   convert() returns that (approximate) value; convert_centered() also
//   computes e' = round(sum_i y_i / q_i) in double precision and subtracts
//   e' Q, which yields the centered representative of x in (-Q/2, Q/2) exactly
//   (Halevi, Polyakov, Shoup, CT-RSA 2019, section 2.2), except for x within
//   eps Q of Q/2, eps = (L^2 + 3L) 2^-53 (below 2^-40 for L <= 64), where it may
//   give x instead of x - Q; both are still within Q/2 (1 + 2 eps) of zero.
// - rescale: exact divide-and-round by the last prime, the CKKS rescale
//   (Cheon, Han, Kim, Kim, Song, SAC 2018, section 3.3).
// - ModUp: raise one key-switching digit to Q_l ∪ P (Han and Ki, CT-RSA 2020,
//   section 3, the "ModUp" of their Algorithm 2), with the centered conversion:
//   the digit is lifted to its centered representative, |x| <= Q_D / 2,
//   instead of x + e Q_D with e < |D|, which makes the key-switching error
//   sum_j ModUp(d_j) e_j up to 2 |D| times smaller for a few extra floating-
//   point operations per coefficient.
// - ModDown: divide by the special modulus P with rounding back to Q_l, the
//   last step of key switching (Gentry, Halevi, Smart 2012, special modulus;
//   Han and Ki 2020, "ModDown"), with the centered conversion, so the result
//   is round(a / P) exactly where the approximate conversion would add an
//   error of up to k - 1 (k = number of special primes).
//
// All conversions work on coefficient form: the CRT is coefficient-wise, and
// it is not compatible with the NTT of another prime. ModUp, ModDown and
// rescale accept either form and run the NTTs they need.
#pragma once

#include <algorithm>
#include <bit>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include <cloak/core/error.hpp>
#include <cloak/core/modarith.hpp>
#include <cloak/core/parallel.hpp>
#include <cloak/ring/arith.hpp>
#include <cloak/ring/backend.hpp>
#include <cloak/ring/basis.hpp>
#include <cloak/ring/poly.hpp>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define CLOAK_BASE_CONVERSION_IFMA 1
#endif

namespace cloak::inline v0::ring {

namespace detail {

/// Operands of the IFMA conversion path must be below 2^52: its lanes multiply
/// 52-bit integers (vpmadd52luq / vpmadd52huq).
inline constexpr std::uint64_t ifma_operand_limit = std::uint64_t{1} << 52;

/// One-prime source, eight words at a time: (x, or x - q when x > half) mod p.
/// The quotient x / p is estimated in double; for x < 2^62 the estimate is off
/// by at most one, which two masked corrections absorb. Returns the words done.
__attribute__((target("avx512f,avx512dq"))) inline std::size_t avx512_convert_single(
    const std::uint64_t* in, std::uint64_t* target, std::size_t n, std::uint64_t p,
    std::uint64_t q_mod_p, std::uint64_t half) noexcept {
    const __m512d inverse = _mm512_set1_pd(1.0 / static_cast<double>(p));
    const __m512i vp = _mm512_set1_epi64(static_cast<long long>(p));
    const __m512i vhalf = _mm512_set1_epi64(static_cast<long long>(half));
    const __m512i vshift = _mm512_set1_epi64(static_cast<long long>(q_mod_p));
    const __m512i zero = _mm512_setzero_si512();
    std::size_t c = 0;
    for (; c + 8 <= n; c += 8) {
        const __m512i x = _mm512_loadu_si512(in + c);
        const __m512i quotient = _mm512_cvttpd_epu64(_mm512_mul_pd(_mm512_cvtepu64_pd(x), inverse));
        __m512i r = _mm512_sub_epi64(x, _mm512_mullo_epi64(quotient, vp));  // (-p, 2p)
        r = _mm512_mask_add_epi64(r, _mm512_cmplt_epi64_mask(r, zero), r, vp);
        r = _mm512_mask_sub_epi64(r, _mm512_cmpge_epu64_mask(r, vp), r, vp);
        const __m512i shift = _mm512_maskz_mov_epi64(_mm512_cmpgt_epu64_mask(x, vhalf), vshift);
        __m512i t = _mm512_sub_epi64(r, shift);
        t = _mm512_mask_add_epi64(t, _mm512_cmplt_epu64_mask(r, shift), t, vp);
        _mm512_storeu_si512(target + c, t);
    }
    return c;
}

#if defined(CLOAK_BASE_CONVERSION_IFMA)
/// lo[c] + 2^52 hi[c] = sum_i y[i * stride + c] w[i] exactly, for c < size
/// rounded down to a multiple of 8 (returned); y and w below 2^52. The low and
/// high 52-bit halves of each product are summed in separate 64-bit lanes: L
/// terms stay below L 2^52, far from 2^64. Four groups of eight coefficients
/// at a time hide the latency of the multiply-adds.
__attribute__((target("avx512f,avx512ifma"))) inline std::size_t ifma_dot_products(
    const std::uint64_t* y, std::size_t stride, std::size_t l, std::size_t size,
    const std::uint64_t* w, std::uint64_t* lo, std::uint64_t* hi) noexcept {
    std::size_t c = 0;
    for (; c + 32 <= size; c += 32) {
        __m512i lo0 = _mm512_setzero_si512();
        __m512i lo1 = _mm512_setzero_si512();
        __m512i lo2 = _mm512_setzero_si512();
        __m512i lo3 = _mm512_setzero_si512();
        __m512i hi0 = _mm512_setzero_si512();
        __m512i hi1 = _mm512_setzero_si512();
        __m512i hi2 = _mm512_setzero_si512();
        __m512i hi3 = _mm512_setzero_si512();
        const std::uint64_t* yc = y + c;
        for (std::size_t i = 0; i < l; ++i, yc += stride) {
            const __m512i wi = _mm512_set1_epi64(static_cast<long long>(w[i]));
            const __m512i y0 = _mm512_loadu_si512(yc);
            const __m512i y1 = _mm512_loadu_si512(yc + 8);
            const __m512i y2 = _mm512_loadu_si512(yc + 16);
            const __m512i y3 = _mm512_loadu_si512(yc + 24);
            lo0 = _mm512_madd52lo_epu64(lo0, y0, wi);
            hi0 = _mm512_madd52hi_epu64(hi0, y0, wi);
            lo1 = _mm512_madd52lo_epu64(lo1, y1, wi);
            hi1 = _mm512_madd52hi_epu64(hi1, y1, wi);
            lo2 = _mm512_madd52lo_epu64(lo2, y2, wi);
            hi2 = _mm512_madd52hi_epu64(hi2, y2, wi);
            lo3 = _mm512_madd52lo_epu64(lo3, y3, wi);
            hi3 = _mm512_madd52hi_epu64(hi3, y3, wi);
        }
        _mm512_storeu_si512(lo + c, lo0);
        _mm512_storeu_si512(lo + c + 8, lo1);
        _mm512_storeu_si512(lo + c + 16, lo2);
        _mm512_storeu_si512(lo + c + 24, lo3);
        _mm512_storeu_si512(hi + c, hi0);
        _mm512_storeu_si512(hi + c + 8, hi1);
        _mm512_storeu_si512(hi + c + 16, hi2);
        _mm512_storeu_si512(hi + c + 24, hi3);
    }
    for (; c + 8 <= size; c += 8) {
        __m512i lo0 = _mm512_setzero_si512();
        __m512i hi0 = _mm512_setzero_si512();
        const std::uint64_t* yc = y + c;
        for (std::size_t i = 0; i < l; ++i, yc += stride) {
            const __m512i wi = _mm512_set1_epi64(static_cast<long long>(w[i]));
            const __m512i y0 = _mm512_loadu_si512(yc);
            lo0 = _mm512_madd52lo_epu64(lo0, y0, wi);
            hi0 = _mm512_madd52hi_epu64(hi0, y0, wi);
        }
        _mm512_storeu_si512(lo + c, lo0);
        _mm512_storeu_si512(hi + c, hi0);
    }
    return c;
}
#endif

}  // namespace detail

/// Fast base conversion from one RNS basis to another, on coefficient-form limbs.
class BaseConverter {
  public:
    /// @throws InvalidArgumentError for a null basis or different degrees.
    BaseConverter(std::shared_ptr<const RnsBasis> from, std::shared_ptr<const RnsBasis> to)
        : from_(std::move(from)), to_(std::move(to)) {
        if (!from_ || !to_) {
            throw InvalidArgumentError("ring::BaseConverter: a basis is null");
        }
        if (from_->degree() != to_->degree()) {
            throw InvalidArgumentError(cloak::detail::message(
                "ring::BaseConverter: degrees differ (from N = ", from_->degree(),
                ", to N = ", to_->degree(), "); both bases must have the same ring degree"));
        }
        const std::size_t l = from_->size();
        const std::size_t k = to_->size();
        weights_.resize(k * l);
        minus_q_.resize(k);
        inverse_moduli_.resize(l);
        for (std::size_t i = 0; i < l; ++i) {
            inverse_moduli_[i] = 1.0 / static_cast<double>(from_->modulus(i).value());
        }
        sources_fit_ifma_ =
            std::all_of(from_->values().begin(), from_->values().end(),
                        [](std::uint64_t q) { return q < detail::ifma_operand_limit; });
        for (std::size_t j = 0; j < k; ++j) {
            const core::Modulus& p = to_->modulus(j);
            std::uint64_t q_mod_p = 1;  // Q mod p_j
            for (std::size_t i = 0; i < l; ++i) {
                q_mod_p = core::mul_mod(q_mod_p, p.reduce(from_->modulus(i).value()), p);
            }
            for (std::size_t i = 0; i < l; ++i) {
                std::uint64_t punctured = 1;  // (Q / q_i) mod p_j
                for (std::size_t m = 0; m < l; ++m) {
                    if (m != i) {
                        punctured =
                            core::mul_mod(punctured, p.reduce(from_->modulus(m).value()), p);
                    }
                }
                weights_[j * l + i] = punctured;
            }
            minus_q_[j] = core::neg_mod(q_mod_p, p.value());
        }
    }

    [[nodiscard]] const RnsBasis& from() const noexcept { return *from_; }
    [[nodiscard]] const RnsBasis& to() const noexcept { return *to_; }

    /// True when the IFMA path can run for some target prime: every source prime
    /// is below 2^52 (then targets below 2^52 take it, the others the scalar loop).
    [[nodiscard]] bool supports_avx512ifma() const noexcept { return sources_fit_ifma_; }

    /// Approximate conversion: `in` holds from().size() coefficient-form limbs of
    /// N words, limb after limb, of x in [0, Q); `out` receives to().size()
    /// limbs of (x + e Q) mod p_j, with one integer 0 <= e < from().size() per
    /// coefficient, the same for every p_j. `backend`: ring/backend.hpp; every
    /// backend gives the same words.
    /// @throws ShapeError for spans of the wrong sizes.
    /// @throws InvalidArgumentError for an explicit avx512ifma request the CPU or the
    ///         source primes (2^52 and above) cannot take.
    void convert(std::span<const std::uint64_t> in, std::span<std::uint64_t> out,
                 Backend backend = Backend::automatic) const {
        check_spans(in.size(), out.size(), "ring::BaseConverter::convert");
        convert_into(in.data(), output_pointers(out), false, backend);
    }

    /// Exact conversion of the centered representative of x (see the file
    /// comment for the eps bound near +-Q/2): `out` receives x_c mod p_j, x_c in
    /// (-Q/2, Q/2) with x_c = x mod Q.
    /// @throws ShapeError for spans of the wrong sizes.
    /// @throws InvalidArgumentError for an impossible explicit backend.
    void convert_centered(std::span<const std::uint64_t> in, std::span<std::uint64_t> out,
                          Backend backend = Backend::automatic) const {
        check_spans(in.size(), out.size(), "ring::BaseConverter::convert_centered");
        convert_into(in.data(), output_pointers(out), true, backend);
    }

    /// convert() of a coefficient-form Poly over from(): a Poly over to().
    /// @throws ShapeError for another basis or evaluation form.
    [[nodiscard]] Poly convert(const Poly& in, Backend backend = Backend::automatic) const {
        check_poly(in, "ring::BaseConverter::convert");
        Poly out;
        out.reshape(to_, Form::coefficient);
        convert_into(in.data().data(), output_pointers(out.data()), false, backend);
        return out;
    }

    /// convert_centered() of a coefficient-form Poly over from(): a Poly over to().
    /// @throws ShapeError for another basis or evaluation form.
    [[nodiscard]] Poly convert_centered(const Poly& in,
                                        Backend backend = Backend::automatic) const {
        check_poly(in, "ring::BaseConverter::convert_centered");
        Poly out;
        out.reshape(to_, Form::coefficient);
        convert_into(in.data().data(), output_pointers(out.data()), true, backend);
        return out;
    }

    /// The conversion itself, for ModUp and ModDown: `in` points at from().size()
    /// limbs of N words, `out[j]` at N words for target prime j. Parallel over
    /// blocks of coefficients; call it outside a parallel region for speed.
    /// @throws InvalidArgumentError for an impossible explicit backend.
    void convert_into(const std::uint64_t* in, std::span<std::uint64_t* const> out, bool centered,
                      Backend backend = Backend::automatic) const {
        const bool ifma =
            detail::resolve_backend(backend, sources_fit_ifma_, "ring::BaseConverter",
                                    "every source prime below 2^52") == Backend::avx512ifma;
        const std::size_t n = from_->degree();
        if (from_->size() == 1) {
            // One source prime (a key-switching digit of one prime, or one special
            // prime): x itself, or x - q when centered and x > q / 2, reduced mod p_j.
            // Exact, so the vector loop needs only AVX-512F/DQ (every IFMA CPU has them)
            // and gives the scalar loop's words.
            const bool vector = detail::resolve_backend(backend, true, "ring::BaseConverter", "") ==
                                Backend::avx512ifma;
            core::parallel_for(to_->size(), n, [&](std::size_t j) {
                convert_single(in, out[j], j, centered, vector);
            });
            return;
        }
        // Fixed chunks (not one per thread) keep the result independent of the
        // thread count; each chunk reuses one small buffer of scaled residues.
        constexpr std::size_t chunk = 1024;
        const std::size_t chunks = (n + chunk - 1) / chunk;
        const std::size_t l = from_->size();
        core::parallel_for(chunks, chunk * l * (to_->size() + 1), [&](std::size_t c) {
            const std::size_t start = c * chunk;
            convert_range(in, out, start, std::min(chunk, n - start), centered, ifma);
        });
    }

  private:
    void check_spans(std::size_t in_words, std::size_t out_words, const char* where) const {
        const std::size_t n = from_->degree();
        if (in_words != from_->size() * n || out_words != to_->size() * n) {
            throw ShapeError(cloak::detail::message(
                where, ": ", in_words, " input and ", out_words, " output words for ",
                from_->size(), " -> ", to_->size(), " limbs of N = ", n, "; pass ",
                from_->size() * n, " and ", to_->size() * n, " words"));
        }
    }

    void check_poly(const Poly& in, const char* where) const {
        if (in.empty() || !(in.basis() == *from_)) {
            throw ShapeError(cloak::detail::message(
                where, ": ", detail::describe(in), " given to a converter from N = ",
                from_->degree(), " with ", from_->size(), " primes; pass a Poly over from()"));
        }
        detail::check_form(in, Form::coefficient, where);
    }

    std::vector<std::uint64_t*> output_pointers(std::span<std::uint64_t> out) const {
        const std::size_t n = to_->degree();
        std::vector<std::uint64_t*> pointers(to_->size());
        for (std::size_t j = 0; j < pointers.size(); ++j) {
            pointers[j] = out.data() + j * n;
        }
        return pointers;
    }

    // Target j of a one-prime source: exact, so every backend agrees.
    void convert_single(const std::uint64_t* in, std::uint64_t* target, std::size_t j,
                        bool centered, bool vector) const noexcept {
        const std::size_t n = from_->degree();
        const std::uint64_t q = from_->modulus(0).value();
        const core::Modulus p = to_->modulus(j);  // a copy: stores cannot alias it
        const std::uint64_t q_mod_p = p.reduce(q);
        const std::uint64_t half = centered ? q / 2 : q;  // x > half wraps to x - q
        std::size_t done = 0;
#if defined(CLOAK_BASE_CONVERSION_IFMA)
        if (vector) {
            done = detail::avx512_convert_single(in, target, n, p.value(), q_mod_p, half);
        }
#else
        (void)vector;
#endif
        in += done;
        target += done;
        const std::size_t rest = n - done;
        if (q <= p.value()) {
            for (std::size_t c = 0; c < rest; ++c) {
                const std::uint64_t x = in[c];
                target[c] = x > half ? x + (p.value() - q) : x;
            }
            return;
        }
        for (std::size_t c = 0; c < rest; ++c) {
            const std::uint64_t x = in[c];
            const std::uint64_t r = p.reduce(x);
            const std::uint64_t shift = x > half ? q_mod_p : 0;
            target[c] = r >= shift ? r - shift : r + p.value() - shift;
        }
    }

    // Coefficients [start, start + count) of every output limb.
    void convert_range(const std::uint64_t* in, std::span<std::uint64_t* const> out,
                       std::size_t start, std::size_t count, bool centered, bool ifma) const {
        const std::size_t n = from_->degree();
        const std::size_t l = from_->size();
        const std::size_t k = to_->size();
        // Blocks small enough that the scaled residues y (L rows of `block`
        // words) stay in L1 while every target prime reads them; a power of two
        // from 8 to 64, so that the IFMA path sees whole groups of 8.
        const std::size_t block = std::bit_floor(std::clamp<std::size_t>(2048 / l, 8, 64));
        detail::ScratchBuffer scratch(block * l);
        std::uint64_t* y = scratch.data();
        std::uint64_t overflow[64] = {};  // e' per coefficient (centered only)
        double sums[64];
        const double* inverse_moduli = inverse_moduli_.data();
        for (std::size_t b = start; b < start + count; b += block) {
            const std::size_t size = std::min(block, start + count - b);
            for (std::size_t i = 0; i < l; ++i) {
                const core::ShoupConstant w = from_->punctured_inverse(i);
                const std::uint64_t q = from_->modulus(i).value();
                const std::uint64_t* x = in + i * n + b;
                std::uint64_t* yi = y + i * block;
                for (std::size_t c = 0; c < size; ++c) {
                    assert(x[c] < q);
                    yi[c] = core::mul_shoup(x[c], w.value, w.quotient, q);
                }
            }
            if (centered) {
                // sum_i y_i / q_i in the same order for every coefficient and path.
                std::fill(sums, sums + size, 0.0);
                for (std::size_t i = 0; i < l; ++i) {
                    const std::uint64_t* yi = y + i * block;
                    const double inverse = inverse_moduli[i];
                    for (std::size_t c = 0; c < size; ++c) {
                        sums[c] += static_cast<double>(yi[c]) * inverse;
                    }
                }
                for (std::size_t c = 0; c < size; ++c) {
                    overflow[c] = static_cast<std::uint64_t>(sums[c] + 0.5);  // round, sum >= 0
                }
            }
            for (std::size_t j = 0; j < k; ++j) {
                accumulate_target(y, block, l, size, overflow, centered, ifma, j, out[j] + b);
            }
        }
    }

    // target[c] = sum_i y[i * stride + c] (Q / q_i mod p_j) (- e'_c Q) mod p_j.
    void accumulate_target(const std::uint64_t* y, std::size_t stride, std::size_t l,
                           std::size_t size, const std::uint64_t* overflow, bool centered,
                           bool ifma, std::size_t j, std::uint64_t* target) const noexcept {
        const core::Modulus p = to_->modulus(j);  // a copy: stores cannot alias it
        const std::uint64_t* w = weights_.data() + j * l;
        const std::uint64_t minus_q = centered ? minus_q_[j] : 0;
        std::size_t c = 0;
#if defined(CLOAK_BASE_CONVERSION_IFMA)
        if (ifma && p.value() < detail::ifma_operand_limit && l < (std::size_t{1} << 11)) {
            // Products of two words below 2^52 split into 52-bit halves; below 2^11
            // terms neither half-sum reaches 2^64 - 2^63.
            std::uint64_t lo[64];
            std::uint64_t hi[64];
            const std::size_t done = detail::ifma_dot_products(y, stride, l, size, w, lo, hi);
            for (; c < done; ++c) {
                const core::uint128_t sum = (static_cast<core::uint128_t>(hi[c]) << 52) + lo[c] +
                                            static_cast<core::uint128_t>(overflow[c]) * minus_q;
                target[c] = p.reduce(sum);
            }
        }
#else
        (void)ifma;
#endif
        if (l < max_lazy_terms) {
            // Four coefficients at a time: four independent carry chains, and each
            // weight loaded once for four products. The sum of L < 64 products
            // (each < 2^122) and e' (-Q mod p_j) < 2^7 2^61 stays below 2^128.
            for (; c + 4 <= size; c += 4) {
                const std::uint64_t* yc = y + c;
                core::uint128_t s0 = static_cast<core::uint128_t>(overflow[c]) * minus_q;
                core::uint128_t s1 = static_cast<core::uint128_t>(overflow[c + 1]) * minus_q;
                core::uint128_t s2 = static_cast<core::uint128_t>(overflow[c + 2]) * minus_q;
                core::uint128_t s3 = static_cast<core::uint128_t>(overflow[c + 3]) * minus_q;
                for (std::size_t i = 0; i < l; ++i, yc += stride) {
                    const std::uint64_t wi = w[i];
                    s0 += static_cast<core::uint128_t>(yc[0]) * wi;
                    s1 += static_cast<core::uint128_t>(yc[1]) * wi;
                    s2 += static_cast<core::uint128_t>(yc[2]) * wi;
                    s3 += static_cast<core::uint128_t>(yc[3]) * wi;
                }
                target[c] = p.reduce(s0);
                target[c + 1] = p.reduce(s1);
                target[c + 2] = p.reduce(s2);
                target[c + 3] = p.reduce(s3);
            }
        }
        for (; c < size; ++c) {
            core::uint128_t sum = 0;
            // Partial sums of 63 products, reduced in between: with the reduced
            // carry-in (< 2^61) and the correction term they stay below 2^128.
            for (std::size_t i0 = 0; i0 < l; i0 += max_lazy_terms - 1) {
                const std::size_t i1 = std::min(l, i0 + max_lazy_terms - 1);
                if (i0 != 0) {
                    sum = p.reduce(sum);
                }
                for (std::size_t i = i0; i < i1; ++i) {
                    sum += static_cast<core::uint128_t>(y[i * stride + c]) * w[i];
                }
            }
            sum += static_cast<core::uint128_t>(overflow[c]) * minus_q;
            target[c] = p.reduce(sum);
        }
    }

    std::shared_ptr<const RnsBasis> from_;
    std::shared_ptr<const RnsBasis> to_;
    std::vector<std::uint64_t> weights_;  // [j * L + i] = (Q / q_i) mod p_j
    std::vector<std::uint64_t> minus_q_;  // -Q mod p_j
    std::vector<double> inverse_moduli_;  // 1 / q_i
    bool sources_fit_ifma_ = false;       // every q_i < 2^52
};

namespace detail {

// NTT (forward or inverse) of `count` limbs starting at `first` of `basis`,
// whose words start at data, one limb per thread.
inline void ntt_limbs(const RnsBasis& basis, std::size_t first, std::size_t count,
                      std::uint64_t* data, bool forward) {
    const std::size_t n = basis.degree();
    core::parallel_for(count, n * static_cast<std::size_t>(basis.log_degree()), [&](std::size_t i) {
        std::span<std::uint64_t> limb(data + i * n, n);
        if (forward) {
            basis.ntt(first + i).forward(limb);
        } else {
            basis.ntt(first + i).inverse(limb);
        }
    });
}

}  // namespace detail

namespace detail {

// Limbs 0..l-1 of a (over {q_0..q_l}) become round(a / q_l); limb l is spent.
// (a - b) mod q for a, b in [0, q), without a branch: on random residues a
// branch would be mispredicted half of the time.
inline std::uint64_t sub_mod_branchless(std::uint64_t a, std::uint64_t b,
                                        std::uint64_t q) noexcept {
    const std::uint64_t borrow = a < b ? 1 : 0;
    return a - b + (q & (0 - borrow));
}

// The loops of divide-and-round, one limb each; arguments by value so that
// stores to the limbs cannot alias them (they would be reloaded every word).
//   r: [a_l + h]_{q_l} in coefficient form; h = (q_l - 1) / 2, h_mod = h mod q.
// correction[c] = [r[c]]_q - h mod q
inline void rounding_correction(const std::uint64_t* r, std::uint64_t* correction, std::size_t n,
                                const core::Modulus q, std::uint64_t h_mod) noexcept {
    for (std::size_t c = 0; c < n; ++c) {
        correction[c] = sub_mod_branchless(q.reduce(r[c]), h_mod, q.value());
    }
}
// limb[c] = (limb[c] - correction[c]) w mod q, correction in [0, q)
inline void subtract_and_scale(std::uint64_t* limb, const std::uint64_t* correction, std::size_t n,
                               std::uint64_t q, core::ShoupConstant w) noexcept {
    for (std::size_t c = 0; c < n; ++c) {
        limb[c] = core::mul_shoup(limb[c] + q - correction[c], w.value, w.quotient, q);
    }
}
// limb[c] = (limb[c] - ([r[c]]_q - h)) w mod q: the coefficient-form path in one pass.
inline void subtract_rounded_and_scale(std::uint64_t* limb, const std::uint64_t* r, std::size_t n,
                                       const core::Modulus q, std::uint64_t h_mod,
                                       core::ShoupConstant w) noexcept {
    const std::uint64_t value = q.value();
    for (std::size_t c = 0; c < n; ++c) {
        // limb + h - [r]_q + q, in [1, 3q) < 2^63; Shoup's product takes any word.
        const std::uint64_t x = limb[c] + h_mod + value - q.reduce(r[c]);
        limb[c] = core::mul_shoup(x, w.value, w.quotient, value);
    }
}
inline void add_constant(std::uint64_t* r, std::size_t n, std::uint64_t h,
                         std::uint64_t q) noexcept {
    for (std::size_t c = 0; c < n; ++c) {
        const std::uint64_t s = r[c] + h;
        r[c] = s - (q & (0 - static_cast<std::uint64_t>(s >= q ? 1 : 0)));
    }
}

// Limbs 0..l-1 of a (over {q_0..q_l}) become round(a / q_l); limb l is spent.
inline void divide_round_by_last(Poly& a) {
    const RnsBasis& basis = a.basis();
    const std::size_t n = a.degree();
    const std::size_t l = a.limbs() - 1;
    const std::uint64_t q_last = basis.modulus(l).value();
    const std::uint64_t half = q_last >> 1;  // (q_l - 1) / 2
    const bool evaluation = a.form() == Form::evaluation;
    // r = [a_l + (q_l - 1) / 2]_{q_l} in coefficient form, in the limb that goes away.
    std::uint64_t* r = a.limb(l).data();
    if (evaluation) {
        basis.ntt(l).inverse({r, n});
    }
    add_constant(r, n, half, q_last);
    // (a_i - ([r]_{q_i} - half)) * q_l^-1 mod q_i: a + half - [a + half]_{q_l} is
    // q_l * floor((a + half) / q_l), so the division is exact.
    core::parallel_for(
        l, n * (evaluation ? 24 : 2), [&a, &basis, r, n, half, evaluation](std::size_t i) {
            const core::Modulus& qi = basis.modulus(i);
            const std::uint64_t half_mod = qi.reduce(half);
            std::uint64_t* limb = a.limb(i).data();
            if (evaluation) {
                ScratchBuffer scratch(n);
                rounding_correction(r, scratch.data(), n, qi, half_mod);
                basis.ntt(i).forward({scratch.data(), n});
                subtract_and_scale(limb, scratch.data(), n, qi.value(), basis.last_inverse(i));
            } else {
                subtract_rounded_and_scale(limb, r, n, qi, half_mod, basis.last_inverse(i));
            }
        });
}

}  // namespace detail

/// a becomes round(a / q_l) over {q_0..q_{l-1}}: exact division by the last
/// prime with rounding, in place, in either form (evaluation form costs one
/// inverse and l forward NTTs). The rounding adds (q_l - 1) / 2 before an exact
/// floor division (Cheon et al. 2018; Halevi, Polyakov, Shoup 2019, section 4).
/// The basis becomes basis_ptr()->prefix(l).
///
/// Semantics: for any integer x with x = a mod Q (Q = q_0 ... q_l), the result
/// is round(x / q_l) mod Q / q_l; round(x / q_l) changes by exactly Q / q_l when
/// x changes by Q, so every representative, in particular the centered one in
/// (-Q/2, Q/2) that CKKS decodes, gives the same result, and there are no ties
/// (q_l is odd). The result is the exact rounding of the centered value: no
/// approximation error.
/// @throws ShapeError for an empty Poly or one with a single limb.
inline void rescale_inplace(Poly& a) {
    if (a.limbs() < 2) {
        throw ShapeError(cloak::detail::message(
            "ring::rescale_inplace: ", detail::describe(a),
            "; dividing by the last prime needs at least 2 limbs (a CKKS level above 0)"));
    }
    detail::divide_round_by_last(a);
    a.drop_last_limbs(1);
}

/// round(a / q_l) over {q_0..q_{l-1}}; see rescale_inplace.
/// @throws ShapeError for an empty Poly or one with a single limb.
[[nodiscard]] inline Poly rescale(const Poly& a) {
    Poly out = a;
    rescale_inplace(out);
    return out;
}

/// rescale_inplace bound to one pair of bases, for callers that keep one per
/// level: the result takes `to` itself as its basis.
class Rescaler {
  public:
    /// @throws InvalidArgumentError when `to` is not `from` without its last prime.
    Rescaler(std::shared_ptr<const RnsBasis> from, std::shared_ptr<const RnsBasis> to)
        : from_(std::move(from)), to_(std::move(to)) {
        if (!from_ || !to_ || from_->size() < 2 || to_->size() + 1 != from_->size() ||
            !from_->starts_with(*to_)) {
            throw InvalidArgumentError(cloak::detail::message(
                "ring::Rescaler: the target basis (", to_ ? to_->size() : 0,
                " primes) must be the source basis (", from_ ? from_->size() : 0,
                " primes) without its last prime; pass from->prefix(from->size() - 1)"));
        }
    }

    [[nodiscard]] const std::shared_ptr<const RnsBasis>& source() const noexcept { return from_; }
    [[nodiscard]] const std::shared_ptr<const RnsBasis>& target() const noexcept { return to_; }

    /// a = round(a / q_l), in place, in either form; a loses its last limb.
    /// @throws ShapeError when a is not over the source basis.
    void apply(Poly& a) const {
        if (a.empty() || !(a.basis() == *from_)) {
            throw ShapeError(cloak::detail::message(
                "ring::Rescaler::apply: Poly of ", a.limbs(), " primes given to a rescaler from ",
                from_->size(), " primes; pass a Poly over source()"));
        }
        detail::divide_round_by_last(a);
        a.truncate(to_);
    }

  private:
    std::shared_ptr<const RnsBasis> from_;
    std::shared_ptr<const RnsBasis> to_;
};

/// Raises digit [first, first + converter.from().size()) of a polynomial over
/// Q_l to Q_l ∪ P, given the polynomial in both forms (so that a caller raising
/// every digit transforms it once): the digit's primes keep their evaluation
/// limbs, every other prime gets the centered conversion of the digit, then its
/// NTT. Same result as ModUp.
///   converter:        from the digit's primes to the other primes of Q_l ∪ P,
///                     in the order of `complement_index`
///   complement_index: the positions of those primes in `out`'s basis
///   out:              a Poly over Q_l ∪ P (its form becomes evaluation)
/// @throws ShapeError for inconsistent shapes.
inline void mod_up(const Poly& eval, const Poly& coeff, std::size_t first,
                   const BaseConverter& converter, std::span<const std::size_t> complement_index,
                   Poly& out) {
    const std::size_t n = eval.degree();
    const std::size_t digit = converter.from().size();
    if (eval.empty() || coeff.empty() || out.empty() || eval.form() != Form::evaluation ||
        coeff.form() != Form::coefficient || !(eval.basis() == coeff.basis()) ||
        first + digit > eval.limbs() || complement_index.size() != converter.to().size() ||
        out.limbs() != digit + complement_index.size() || out.degree() != n ||
        converter.from().degree() != n) {
        throw ShapeError(cloak::detail::message(
            "ring::mod_up: inconsistent shapes (", eval.limbs(), " primes in, digit [", first, ", ",
            first + digit, "), ", complement_index.size(), " complement primes, ", out.limbs(),
            " primes out); pass the Poly in evaluation and coefficient form and an "
            "output over Q_l ∪ P"));
    }
    if (!out.basis().starts_with(eval.basis())) {
        throw ShapeError("ring::mod_up: the output basis must start with the input's primes Q_l");
    }
    for (std::size_t i = 0; i < digit; ++i) {
        if (converter.from().modulus(i) != eval.basis().modulus(first + i)) {
            throw ShapeError(cloak::detail::message(
                "ring::mod_up: the converter's prime ", i, " (",
                converter.from().modulus(i).value(), ") is not prime ", first + i,
                " of the input; build it from the digit's primes"));
        }
    }
    for (std::size_t j = 0; j < complement_index.size(); ++j) {
        const std::size_t index = complement_index[j];
        if (index >= out.limbs() || converter.to().modulus(j) != out.basis().modulus(index)) {
            throw ShapeError(cloak::detail::message(
                "ring::mod_up: complement index ", index, " (position ", j,
                ") is past the output's ", out.limbs(),
                " primes or names another prime than the converter's target ", j));
        }
    }
    out.set_form(Form::evaluation);
    core::parallel_for(digit, n, [&](std::size_t i) {
        std::copy_n(eval.limb(first + i).begin(), n, out.limb(first + i).begin());
    });
    std::vector<std::uint64_t*> targets(complement_index.size());
    for (std::size_t j = 0; j < targets.size(); ++j) {
        targets[j] = out.limb(complement_index[j]).data();
    }
    converter.convert_into(coeff.limb(first).data(), targets, true);
    const RnsBasis& basis = out.basis();
    core::parallel_for(targets.size(), n * static_cast<std::size_t>(basis.log_degree()),
                       [&](std::size_t j) {
                           basis.ntt(complement_index[j]).forward(out.limb(complement_index[j]));
                       });
}

/// Raising one key-switching digit to a larger basis (hybrid key switching,
/// Han and Ki 2020): the digit is a polynomial x over its primes D (a slice
/// of Q_l); the target basis (Q_l ∪ P) contains D. The output is the centered
/// representative x_c of x mod Q_D, |x_c| < Q_D / 2, on every target prime:
/// x's own limbs on the primes of D, convert_centered() on the others (exact
/// except within eps Q_D of +-Q_D / 2, where it may be x_c +- Q_D; see the file
/// comment). Any multiple of Q_D added to the digit would vanish against the
/// gadget of the switching key (its digit-j component is a multiple of
/// Q / Q_D), so only the size of the lift matters: the centered one is the
/// smallest, which keeps the key-switching error smallest.
class ModUp {
  public:
    /// @throws InvalidArgumentError for a null basis, different degrees, or a
    ///         prime of `digit` missing from `target` (named).
    ModUp(std::shared_ptr<const RnsBasis> digit, std::shared_ptr<const RnsBasis> target)
        : digit_(std::move(digit)), target_(std::move(target)) {
        if (!digit_ || !target_) {
            throw InvalidArgumentError("ring::ModUp: a basis is null");
        }
        if (digit_->degree() != target_->degree()) {
            throw InvalidArgumentError(
                cloak::detail::message("ring::ModUp: degrees differ (digit N = ", digit_->degree(),
                                       ", target N = ", target_->degree(), ")"));
        }
        std::vector<bool> in_digit(target_->size(), false);
        for (std::size_t i = 0; i < digit_->size(); ++i) {
            const auto position = target_->index_of(digit_->modulus(i).value());
            if (!position) {
                throw InvalidArgumentError(cloak::detail::message(
                    "ring::ModUp: prime ", digit_->modulus(i).value(), " of the digit (index ", i,
                    ") is not in the target basis of ", target_->size(),
                    " primes; the target must contain the digit"));
            }
            digit_positions_.push_back(*position);
            in_digit[*position] = true;
        }
        for (std::size_t t = 0; t < target_->size(); ++t) {
            if (!in_digit[t]) {
                other_positions_.push_back(t);
            }
        }
        if (!other_positions_.empty()) {
            converter_.emplace(digit_, target_->select(other_positions_));
        }
    }

    [[nodiscard]] const std::shared_ptr<const RnsBasis>& digit_basis() const noexcept {
        return digit_;
    }
    [[nodiscard]] const std::shared_ptr<const RnsBasis>& target_basis() const noexcept {
        return target_;
    }
    /// Where digit prime i sits in the target basis.
    [[nodiscard]] std::span<const std::size_t> digit_positions() const noexcept {
        return digit_positions_;
    }

    /// Raises the digit whose limbs (|D| * N words, in the order of
    /// digit_basis(), in `in_form`) are `digit` into `out` over target_basis(),
    /// in `out_form`. The digit limbs of a Poly over Q_l are a contiguous
    /// subspan of its data(), so no copy is needed to pass one.
    /// @throws ShapeError when `digit` does not hold |D| * N words.
    void apply(std::span<const std::uint64_t> digit, Form in_form, Poly& out,
               Form out_form = Form::evaluation) const {
        const std::size_t n = digit_->degree();
        const std::size_t d = digit_->size();
        if (digit.size() != d * n) {
            throw ShapeError(cloak::detail::message(
                "ring::ModUp::apply: ", digit.size(), " words for a digit of ", d,
                " limbs of N = ", n, "; pass ", d * n, " words"));
        }
        out.reshape(target_, out_form);
        // The digit in coefficient form, for the conversion.
        detail::ScratchBuffer scratch;
        const std::uint64_t* coefficients = digit.data();
        if (in_form == Form::evaluation) {
            scratch.assign(digit.begin(), digit.end());
            detail::ntt_limbs(*digit_, 0, d, scratch.data(), false);
            coefficients = scratch.data();
        }
        if (converter_) {
            std::vector<std::uint64_t*> targets(other_positions_.size());
            for (std::size_t t = 0; t < targets.size(); ++t) {
                targets[t] = out.limb(other_positions_[t]).data();
            }
            converter_->convert_into(coefficients, targets, true);
        }
        // Digit primes: their own limbs, already in the input form or just computed.
        const std::uint64_t* digit_source =
            in_form == out_form ? digit.data() : coefficients;  // out coefficient: coefficients
        core::parallel_for(d, n, [&](std::size_t i) {
            std::copy_n(digit_source + i * n, n, out.limb(digit_positions_[i]).begin());
        });
        if (out_form == Form::evaluation) {
            // Every limb not copied from an evaluation-form input needs its NTT.
            const bool digit_done = in_form == Form::evaluation;
            const std::size_t count = digit_done ? other_positions_.size() : target_->size();
            core::parallel_for(count, n * static_cast<std::size_t>(target_->log_degree()),
                               [&](std::size_t t) {
                                   const std::size_t limb = digit_done ? other_positions_[t] : t;
                                   target_->ntt(limb).forward(out.limb(limb));
                               });
        }
    }

    /// Raises a Poly over digit_basis() (either form) into `out` over target_basis().
    /// @throws ShapeError for a Poly over another basis.
    void apply(const Poly& digit, Poly& out, Form out_form = Form::evaluation) const {
        if (digit.empty() || !(digit.basis() == *digit_)) {
            throw ShapeError(cloak::detail::message("ring::ModUp::apply: ", detail::describe(digit),
                                                    " given to a ModUp from ", digit_->size(),
                                                    " primes; pass a Poly over digit_basis()"));
        }
        if (&digit == &out) {
            throw ShapeError("ring::ModUp::apply: input and output are the same Poly");
        }
        apply(digit.data(), digit.form(), out, out_form);
    }

    /// The raised digit over target_basis(), in out_form.
    /// @throws ShapeError for a Poly over another basis.
    [[nodiscard]] Poly apply(const Poly& digit, Form out_form = Form::evaluation) const {
        Poly out;
        apply(digit, out, out_form);
        return out;
    }

  private:
    std::shared_ptr<const RnsBasis> digit_;
    std::shared_ptr<const RnsBasis> target_;
    std::vector<std::size_t> digit_positions_;  // digit prime i -> target index
    std::vector<std::size_t> other_positions_;  // target indices outside the digit
    std::optional<BaseConverter> converter_;    // digit -> other primes
};

/// Division by the special modulus P with rounding: a over Q_l ∪ P (the primes
/// of Q_l first, then those of P) becomes round(a / P) over Q_l, in the form it
/// came in (evaluation form costs k inverse and l forward NTTs for k primes in
/// P). The P part is converted with the centered conversion, so for any integer
/// representative a the result is round(a / P) mod Q_l exactly, except when
/// [a]_P lies within eps P of +-P/2 (eps = (k^2 + 3k) 2^-53, see the file
/// comment), where it is floor(a / P) or ceil(a / P): |result - a / P| <= 1/2 + eps.
class ModDown {
  public:
    /// `target` (Q_l) must be a proper prefix of `extended` (Q_l ∪ P); P is the rest.
    /// @throws InvalidArgumentError otherwise.
    ModDown(std::shared_ptr<const RnsBasis> extended, std::shared_ptr<const RnsBasis> target)
        : extended_(std::move(extended)), target_(std::move(target)) {
        init();
    }

    /// The same, naming P too: `extended` must be `target` followed by `special`.
    /// @throws InvalidArgumentError otherwise.
    ModDown(std::shared_ptr<const RnsBasis> extended, std::shared_ptr<const RnsBasis> target,
            const std::shared_ptr<const RnsBasis>& special)
        : extended_(std::move(extended)), target_(std::move(target)) {
        init();
        if (!special || !(*special == *special_)) {
            throw InvalidArgumentError(cloak::detail::message(
                "ring::ModDown: the extended basis (", extended_->size(),
                " primes) is not the target basis (", target_->size(),
                " primes) followed by the special basis (", special ? special->size() : 0,
                " primes); build it as Q_l.concat(P)"));
        }
    }

    [[nodiscard]] const std::shared_ptr<const RnsBasis>& extended_basis() const noexcept {
        return extended_;
    }
    [[nodiscard]] const std::shared_ptr<const RnsBasis>& target_basis() const noexcept {
        return target_;
    }
    /// Q_l, the basis of the result (as Rescaler::target()).
    [[nodiscard]] const std::shared_ptr<const RnsBasis>& target() const noexcept { return target_; }
    /// The special primes P.
    [[nodiscard]] const std::shared_ptr<const RnsBasis>& special_basis() const noexcept {
        return special_;
    }

    /// a over Q_l ∪ P becomes round(a / P) over Q_l, in place, in the form it
    /// came in.
    /// @throws ShapeError for a Poly over another basis.
    void apply(Poly& a) const {
        if (a.empty() || !(a.basis() == *extended_)) {
            throw ShapeError(cloak::detail::message("ring::ModDown::apply: ", detail::describe(a),
                                                    " given to a ModDown from ", extended_->size(),
                                                    " primes (Q_l ∪ P) to ", target_->size(),
                                                    "; pass a Poly over extended_basis()"));
        }
        const std::size_t n = a.degree();
        const std::size_t l = target_->size();
        const std::size_t k = special_->size();
        const bool evaluation = a.form() == Form::evaluation;
        // The P limbs go away: transform them back in place.
        std::uint64_t* p_part = a.limb(l).data();
        if (evaluation) {
            detail::ntt_limbs(*extended_, l, k, p_part, false);
        }
        // [a]_P, centered, in every prime of Q_l.
        detail::ScratchBuffer correction(l * n);
        std::vector<std::uint64_t*> targets(l);
        for (std::size_t i = 0; i < l; ++i) {
            targets[i] = correction.data() + i * n;
        }
        converter_->convert_into(p_part, targets, true);
        // (a - [a]_P) / P, exact.
        core::parallel_for(l, n * (evaluation ? 24 : 2), [&](std::size_t i) {
            std::uint64_t* c = targets[i];
            if (evaluation) {
                extended_->ntt(i).forward({c, n});
            }
            detail::subtract_and_scale(a.limb(i).data(), c, n, target_->modulus(i).value(),
                                       inverse_p_[i]);
        });
        a.truncate(target_);
    }

  private:
    void init() {
        if (!extended_ || !target_) {
            throw InvalidArgumentError("ring::ModDown: a basis is null");
        }
        if (target_->size() >= extended_->size() || !extended_->starts_with(*target_)) {
            throw InvalidArgumentError(cloak::detail::message(
                "ring::ModDown: the target basis (", target_->size(),
                " primes) must be a proper prefix of the extended basis (", extended_->size(),
                " primes): build the extended basis as Q_l.concat(P)"));
        }
        const std::size_t l = target_->size();
        const std::size_t k = extended_->size() - l;
        special_ = extended_->subbasis(l, k);
        converter_.emplace(special_, target_);
        inverse_p_.resize(l);
        for (std::size_t i = 0; i < l; ++i) {
            const core::Modulus& q = target_->modulus(i);
            std::uint64_t p_mod_q = 1;
            for (std::size_t j = 0; j < k; ++j) {
                p_mod_q = core::mul_mod(p_mod_q, q.reduce(special_->modulus(j).value()), q);
            }
            inverse_p_[i] = core::ShoupConstant(core::inverse_mod(p_mod_q, q.value()), q.value());
        }
    }

    std::shared_ptr<const RnsBasis> extended_;
    std::shared_ptr<const RnsBasis> target_;
    std::shared_ptr<const RnsBasis> special_;
    std::optional<BaseConverter> converter_;      // P -> Q_l
    std::vector<core::ShoupConstant> inverse_p_;  // P^-1 mod q_i
};

}  // namespace cloak::inline v0::ring
