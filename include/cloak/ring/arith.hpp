// cloak: coefficient-wise arithmetic kernels on RNS polynomials.
//
// Two levels:
// - span kernels work on one limb (N words, one modulus q); `out` may be the
//   same span as an input (in-place use), but must not partially overlap one.
// - Poly functions check that the operands agree (basis, form), then run the
//   span kernels over the limbs, in parallel when the work is large
//   (core/parallel.hpp). Every limb is computed the same way on any thread, so
//   results do not depend on the thread count.
// Inputs are fully reduced in [0, q) and so are outputs. That precondition is
// checked by assertions in debug builds only: checking every word would cost as
// much as the kernels themselves.
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <cloak/core/error.hpp>
#include <cloak/core/modarith.hpp>
#include <cloak/core/parallel.hpp>
#include <cloak/ring/basis.hpp>
#include <cloak/ring/poly.hpp>

namespace cloak::inline v0::ring {

/// Largest number of products multiply_accumulate_lazy may add to one 128-bit
/// accumulator before reduce_lazy (or a reduction) must run: each product of two
/// residues of at most 61 bits is below 2^122, so 64 of them fit.
inline constexpr std::size_t max_lazy_terms = 64;

namespace detail {

// ---- raw kernels on one limb: n words, no checks beyond debug assertions ----

inline void add_limb(const std::uint64_t* a, const std::uint64_t* b, std::uint64_t* out,
                     std::size_t n, std::uint64_t q) noexcept {
    for (std::size_t j = 0; j < n; ++j) {
        assert(a[j] < q && b[j] < q);
        const std::uint64_t s = a[j] + b[j];
        out[j] = s >= q ? s - q : s;
    }
}

inline void sub_limb(const std::uint64_t* a, const std::uint64_t* b, std::uint64_t* out,
                     std::size_t n, std::uint64_t q) noexcept {
    for (std::size_t j = 0; j < n; ++j) {
        assert(a[j] < q && b[j] < q);
        const std::uint64_t d = a[j] + q - b[j];
        out[j] = d >= q ? d - q : d;
    }
}

inline void negate_limb(const std::uint64_t* a, std::uint64_t* out, std::size_t n,
                        std::uint64_t q) noexcept {
    for (std::size_t j = 0; j < n; ++j) {
        assert(a[j] < q);
        out[j] = a[j] == 0 ? 0 : q - a[j];
    }
}

// The Modulus is taken by value in these loops: a copy cannot alias `out`, so
// its constants stay in registers instead of being reloaded after every store.
inline void multiply_limb(const std::uint64_t* a, const std::uint64_t* b, std::uint64_t* out,
                          std::size_t n, const core::Modulus q) noexcept {
    for (std::size_t j = 0; j < n; ++j) {
        assert(a[j] < q.value() && b[j] < q.value());
        out[j] = q.reduce(static_cast<core::uint128_t>(a[j]) * b[j]);
    }
}

// acc + a * b < q^2 + q < 2^122: one reduction covers the sum (lazy addition).
inline void multiply_accumulate_limb(const std::uint64_t* a, const std::uint64_t* b,
                                     std::uint64_t* acc, std::size_t n,
                                     const core::Modulus q) noexcept {
    for (std::size_t j = 0; j < n; ++j) {
        assert(a[j] < q.value() && b[j] < q.value() && acc[j] < q.value());
        acc[j] = q.reduce(static_cast<core::uint128_t>(a[j]) * b[j] + acc[j]);
    }
}

inline void multiply_scalar_limb(const std::uint64_t* a, core::ShoupConstant w, std::uint64_t* out,
                                 std::size_t n, std::uint64_t q) noexcept {
    for (std::size_t j = 0; j < n; ++j) {
        assert(a[j] < q);
        out[j] = core::mul_shoup(a[j], w.value, w.quotient, q);
    }
}

// acc + a * w, with the Shoup product in [0, q) and one conditional subtraction.
inline void multiply_scalar_accumulate_limb(const std::uint64_t* a, core::ShoupConstant w,
                                            std::uint64_t* acc, std::size_t n,
                                            std::uint64_t q) noexcept {
    for (std::size_t j = 0; j < n; ++j) {
        assert(a[j] < q && acc[j] < q);
        const std::uint64_t s = acc[j] + core::mul_shoup(a[j], w.value, w.quotient, q);
        acc[j] = s >= q ? s - q : s;
    }
}

inline void add_scalar_limb(std::uint64_t* a, std::uint64_t c, std::size_t n,
                            std::uint64_t q) noexcept {
    for (std::size_t j = 0; j < n; ++j) {
        assert(a[j] < q);
        const std::uint64_t s = a[j] + c;
        a[j] = s >= q ? s - q : s;
    }
}

// Two inner products of the same a_k: out0 = sum_k a_k b0_k, out1 = sum_k a_k
// b1_k, reading each a_k word (through `source` when given) once for both, as
// key switching does with a key's two halves.
inline void inner_product_pair_limb(std::span<const std::uint64_t* const> a,
                                    std::span<const std::uint64_t* const> b0,
                                    std::span<const std::uint64_t* const> b1, std::uint64_t* out0,
                                    std::uint64_t* out1, std::size_t n, const core::Modulus q,
                                    const std::uint32_t* source = nullptr) {
    const std::size_t terms = a.size();
    if (source != nullptr) {
        // Gather each a_k whole first: its random reads stay inside one limb (L2
        // resident), where gathering inside the blocked loop below would read all
        // terms' limbs at random at once and miss the cache (3x slower at N = 2^14).
        ScratchBuffer gathered(terms * n);
        std::vector<const std::uint64_t*> pointers(terms);
        for (std::size_t k = 0; k < terms; ++k) {
            std::uint64_t* target = gathered.data() + k * n;
            const std::uint64_t* x = a[k];
            for (std::size_t c = 0; c < n; ++c)
                target[c] = x[source[c]];
            pointers[k] = target;
        }
        inner_product_pair_limb(pointers, b0, b1, out0, out1, n, q);
        return;
    }
    constexpr std::size_t block = 64;
    core::uint128_t sums0[block];
    core::uint128_t sums1[block];
    for (std::size_t start = 0; start < n; start += block) {
        const std::size_t count = n - start < block ? n - start : block;
        for (std::size_t c = 0; c < count; ++c) {
            sums0[c] = 0;
            sums1[c] = 0;
        }
        for (std::size_t k = 0; k < terms; ++k) {
            const std::uint64_t* x = a[k] + start;
            const std::uint64_t* y0 = b0[k] + start;
            const std::uint64_t* y1 = b1[k] + start;
            for (std::size_t c = 0; c < count; ++c) {
                assert(x[c] < q.value() && y0[c] < q.value() && y1[c] < q.value());
                sums0[c] += static_cast<core::uint128_t>(x[c]) * y0[c];
                sums1[c] += static_cast<core::uint128_t>(x[c]) * y1[c];
            }
            // Reduce before the sums could pass 2^128 (as inner_product_limb).
            if ((k + 1) % (max_lazy_terms - 1) == 0 && k + 1 < terms) {
                for (std::size_t c = 0; c < count; ++c) {
                    sums0[c] = q.reduce(sums0[c]);
                    sums1[c] = q.reduce(sums1[c]);
                }
            }
        }
        for (std::size_t c = 0; c < count; ++c) {
            out0[start + c] = q.reduce(sums0[c]);
            out1[start + c] = q.reduce(sums1[c]);
        }
    }
}

// out[j] = sum_k a_k[j] b_k[j] mod q, in blocks of coefficients so that the
// 128-bit sums stay in registers or L1 and every input word is read once.
// With `source` (N indices), a_k is read through it: out[j] = sum_k
// a_k[source[j]] b_k[j] (an automorphism in evaluation form applied on the fly).
inline void inner_product_limb(std::span<const std::uint64_t* const> a,
                               std::span<const std::uint64_t* const> b, std::uint64_t* out,
                               std::size_t n, const core::Modulus q,
                               const std::uint32_t* source = nullptr) noexcept {
    constexpr std::size_t block = 64;
    const std::size_t terms = a.size();
    core::uint128_t sums[block];
    for (std::size_t start = 0; start < n; start += block) {
        const std::size_t count = n - start < block ? n - start : block;
        for (std::size_t c = 0; c < count; ++c) {
            sums[c] = 0;
        }
        for (std::size_t k = 0; k < terms; ++k) {
            const std::uint64_t* y = b[k] + start;
            if (source == nullptr) {
                const std::uint64_t* x = a[k] + start;
                for (std::size_t c = 0; c < count; ++c) {
                    assert(x[c] < q.value() && y[c] < q.value());
                    sums[c] += static_cast<core::uint128_t>(x[c]) * y[c];
                }
            } else {
                const std::uint64_t* x = a[k];
                const std::uint32_t* index = source + start;
                for (std::size_t c = 0; c < count; ++c) {
                    assert(x[index[c]] < q.value() && y[c] < q.value());
                    sums[c] += static_cast<core::uint128_t>(x[index[c]]) * y[c];
                }
            }
            // Reduce before the sums could pass 2^128; the reduced value (< 2^61)
            // plus 63 more products stays below it.
            if ((k + 1) % (max_lazy_terms - 1) == 0 && k + 1 < terms) {
                for (std::size_t c = 0; c < count; ++c) {
                    sums[c] = q.reduce(sums[c]);
                }
            }
        }
        for (std::size_t c = 0; c < count; ++c) {
            out[start + c] = q.reduce(sums[c]);
        }
    }
}

inline void check_span_sizes(std::size_t a, std::size_t b, std::size_t out, const char* where) {
    if (a != out || b != out) {
        throw ShapeError(cloak::detail::message(where, ": spans of ", a, ", ", b, " and ", out,
                                                " words; pass spans of one limb (N words) each"));
    }
}

inline void check_reduced_constant(std::uint64_t w, std::uint64_t q, const char* where) {
    if (w >= q) {
        throw InvalidArgumentError(cloak::detail::message(
            where, ": constant ", w, " is not below its modulus ", q, "; reduce it first"));
    }
}

}  // namespace detail

// ---- span kernels: one limb, one modulus --------------------------------------

/// out[j] = a[j] + b[j] mod q.
/// @throws ShapeError when the spans differ in size.
inline void add(std::span<const std::uint64_t> a, std::span<const std::uint64_t> b,
                std::span<std::uint64_t> out, std::uint64_t q) {
    detail::check_span_sizes(a.size(), b.size(), out.size(), "ring::add");
    detail::add_limb(a.data(), b.data(), out.data(), out.size(), q);
}

/// out[j] = a[j] - b[j] mod q.
/// @throws ShapeError when the spans differ in size.
inline void sub(std::span<const std::uint64_t> a, std::span<const std::uint64_t> b,
                std::span<std::uint64_t> out, std::uint64_t q) {
    detail::check_span_sizes(a.size(), b.size(), out.size(), "ring::sub");
    detail::sub_limb(a.data(), b.data(), out.data(), out.size(), q);
}

/// out[j] = -a[j] mod q.
/// @throws ShapeError when the spans differ in size.
inline void negate(std::span<const std::uint64_t> a, std::span<std::uint64_t> out,
                   std::uint64_t q) {
    detail::check_span_sizes(a.size(), a.size(), out.size(), "ring::negate");
    detail::negate_limb(a.data(), out.data(), out.size(), q);
}

/// out[j] = a[j] * b[j] mod q (in evaluation form: the negacyclic product).
/// @throws ShapeError when the spans differ in size.
inline void multiply(std::span<const std::uint64_t> a, std::span<const std::uint64_t> b,
                     std::span<std::uint64_t> out, const core::Modulus& q) {
    detail::check_span_sizes(a.size(), b.size(), out.size(), "ring::multiply");
    detail::multiply_limb(a.data(), b.data(), out.data(), out.size(), q);
}

/// acc[j] = acc[j] + a[j] * b[j] mod q, with one reduction per word.
/// @throws ShapeError when the spans differ in size.
inline void multiply_accumulate(std::span<const std::uint64_t> a, std::span<const std::uint64_t> b,
                                std::span<std::uint64_t> acc, const core::Modulus& q) {
    detail::check_span_sizes(a.size(), b.size(), acc.size(), "ring::multiply_accumulate");
    detail::multiply_accumulate_limb(a.data(), b.data(), acc.data(), acc.size(), q);
}

/// out[j] = a[j] * w mod q for a constant w in [0, q) with its Shoup quotient.
/// @throws ShapeError when the spans differ in size.
/// @throws InvalidArgumentError when w.value >= q.
inline void multiply_scalar(std::span<const std::uint64_t> a, core::ShoupConstant w,
                            std::span<std::uint64_t> out, std::uint64_t q) {
    detail::check_span_sizes(a.size(), a.size(), out.size(), "ring::multiply_scalar");
    detail::check_reduced_constant(w.value, q, "ring::multiply_scalar");
    detail::multiply_scalar_limb(a.data(), w, out.data(), out.size(), q);
}

/// acc[j] += a[j] * b[j] in 128 bits, without reduction; at most max_lazy_terms
/// calls per accumulator between reductions. For sums of products known in
/// advance, inner_product() keeps the accumulators in registers instead.
/// @throws ShapeError when the spans differ in size.
inline void multiply_accumulate_lazy(std::span<const std::uint64_t> a,
                                     std::span<const std::uint64_t> b,
                                     std::span<core::uint128_t> acc) {
    detail::check_span_sizes(a.size(), b.size(), acc.size(), "ring::multiply_accumulate_lazy");
    for (std::size_t j = 0; j < acc.size(); ++j) {
        acc[j] += static_cast<core::uint128_t>(a[j]) * b[j];
    }
}

/// out[j] = acc[j] mod q.
/// @throws ShapeError when the spans differ in size.
inline void reduce_lazy(std::span<const core::uint128_t> acc, std::span<std::uint64_t> out,
                        const core::Modulus& q) {
    detail::check_span_sizes(acc.size(), acc.size(), out.size(), "ring::reduce_lazy");
    const core::Modulus modulus = q;  // a local copy: stores to out cannot alias it
    const core::uint128_t* in = acc.data();
    std::uint64_t* words = out.data();
    for (std::size_t j = 0; j < out.size(); ++j) {
        words[j] = modulus.reduce(in[j]);
    }
}

// ---- Poly functions -----------------------------------------------------------

/// out0 = sum_k a_k b0_k and out1 = sum_k a_k b1_k mod q, reading each a_k once
/// (through `source` as inner_product does when given).
/// @throws ShapeError for different term counts or output sizes.
inline void inner_product_pair(std::span<const std::uint64_t* const> a,
                               std::span<const std::uint64_t* const> b0,
                               std::span<const std::uint64_t* const> b1,
                               std::span<std::uint64_t> out0, std::span<std::uint64_t> out1,
                               const core::Modulus& q, std::span<const std::uint32_t> source = {}) {
    if (a.size() != b0.size() || a.size() != b1.size() || out0.size() != out1.size()) {
        throw ShapeError(cloak::detail::message(
            "ring::inner_product_pair: ", a.size(), ", ", b0.size(), " and ", b1.size(),
            " limbs, outputs of ", out0.size(), " and ", out1.size(),
            " words; pass as many limbs of each and equal outputs"));
    }
    if (!source.empty() && source.size() != out0.size()) {
        throw ShapeError(cloak::detail::message("ring::inner_product_pair: ", source.size(),
                                                " source indices for ", out0.size(),
                                                " outputs; pass one per output or none"));
    }
    detail::inner_product_pair_limb(a, b0, b1, out0.data(), out1.data(), out0.size(), q,
                                    source.empty() ? nullptr : source.data());
}

/// out[j] = sum_k a_k[j] b_k[j] mod q over limbs given by pointers, each of
/// out.size() words in [0, q): the inner product of key switching, with the
/// 128-bit sums kept in registers (detail::inner_product_limb).
/// @throws ShapeError when a and b hold different numbers of limbs.
/// With a non-empty `source` (out.size() indices below out.size()), the a limbs
/// are read through it: out[j] = sum_k a_k[source[j]] b_k[j] — the evaluation-form
/// automorphism of hoisted rotations, applied without materialising it.
/// @throws ShapeError when a and b hold different numbers of limbs, or source
///         has the wrong size.
inline void inner_product(std::span<const std::uint64_t* const> a,
                          std::span<const std::uint64_t* const> b, std::span<std::uint64_t> out,
                          const core::Modulus& q, std::span<const std::uint32_t> source = {}) {
    if (a.size() != b.size()) {
        throw ShapeError(cloak::detail::message("ring::inner_product: ", a.size(), " and ",
                                                b.size(), " limbs; pass as many of each"));
    }
    if (!source.empty() && source.size() != out.size()) {
        throw ShapeError(cloak::detail::message("ring::inner_product: ", source.size(),
                                                " source indices for ", out.size(),
                                                " outputs; pass one per output or none"));
    }
    detail::inner_product_limb(a, b, out.data(), out.size(), q,
                               source.empty() ? nullptr : source.data());
}

namespace detail {

inline std::string describe(const Poly& p) {
    if (p.empty()) {
        return "an empty Poly";
    }
    return cloak::detail::message("N = ", p.degree(), ", ", p.limbs(), " primes, ",
                                  form_name(p.form()), " form");
}

inline void check_not_empty(const Poly& a, const char* where) {
    if (a.empty()) {
        throw ShapeError(cloak::detail::message(
            where, ": the operand is an empty Poly; construct it over a RnsBasis first"));
    }
}

// Same basis (degree and primes) and same form.
inline void check_same_shape(const Poly& a, const Poly& b, const char* where) {
    if (a.empty() || b.empty()) {
        throw ShapeError(cloak::detail::message(
            where, ": an operand is an empty Poly (lhs: ", describe(a), "; rhs: ", describe(b),
            "); construct both over a RnsBasis first"));
    }
    if (!(a.basis() == b.basis())) {
        const bool same_size = a.degree() == b.degree() && a.limbs() == b.limbs();
        throw ShapeError(cloak::detail::message(
            where, ": operands over different RNS bases (lhs: ", describe(a),
            "; rhs: ", describe(b), ")",
            same_size ? "; their primes differ: build both from one RnsBasis"
                      : "; bring them to the same level first (Poly::keep_first_limbs)"));
    }
    if (a.form() != b.form()) {
        throw ShapeError(cloak::detail::message(
            where, ": operands in different forms (lhs: ", describe(a), "; rhs: ", describe(b),
            "); call to_evaluation() or to_coefficient() on one of them"));
    }
}

inline void check_form(const Poly& a, Form form, const char* where) {
    if (a.form() != form) {
        throw ShapeError(cloak::detail::message(
            where, ": needs ", form_name(form), " form but the operand is in ", form_name(a.form()),
            " form (", describe(a), "); call ",
            form == Form::evaluation ? "to_evaluation()" : "to_coefficient()", " first"));
    }
}

inline void check_one_per_limb(std::size_t count, const Poly& a, const char* where) {
    if (count != a.limbs()) {
        throw ShapeError(cloak::detail::message(where, ": ", count, " scalars for a Poly of ",
                                                a.limbs(), " limbs (", describe(a),
                                                "); pass one scalar per limb"));
    }
}

}  // namespace detail

/// a += b.
/// @throws ShapeError for an empty operand, different bases or different forms.
inline void add_inplace(Poly& a, const Poly& b) {
    detail::check_same_shape(a, b, "ring::add_inplace");
    const std::size_t n = a.degree();
    core::parallel_for(a.limbs(), n, [&](std::size_t i) {
        detail::add_limb(a.limb(i).data(), b.limb(i).data(), a.limb(i).data(), n,
                         a.modulus(i).value());
    });
}

/// a + b.
/// @throws ShapeError for an empty operand, different bases or different forms.
[[nodiscard]] inline Poly add(const Poly& a, const Poly& b) {
    detail::check_same_shape(a, b, "ring::add");
    Poly out;
    out.reshape(a.basis_ptr(), a.form());
    const std::size_t n = a.degree();
    core::parallel_for(a.limbs(), n, [&](std::size_t i) {
        detail::add_limb(a.limb(i).data(), b.limb(i).data(), out.limb(i).data(), n,
                         a.modulus(i).value());
    });
    return out;
}

/// a -= b.
/// @throws ShapeError for an empty operand, different bases or different forms.
inline void sub_inplace(Poly& a, const Poly& b) {
    detail::check_same_shape(a, b, "ring::sub_inplace");
    const std::size_t n = a.degree();
    core::parallel_for(a.limbs(), n, [&](std::size_t i) {
        detail::sub_limb(a.limb(i).data(), b.limb(i).data(), a.limb(i).data(), n,
                         a.modulus(i).value());
    });
}

/// a - b.
/// @throws ShapeError for an empty operand, different bases or different forms.
[[nodiscard]] inline Poly sub(const Poly& a, const Poly& b) {
    detail::check_same_shape(a, b, "ring::sub");
    Poly out;
    out.reshape(a.basis_ptr(), a.form());
    const std::size_t n = a.degree();
    core::parallel_for(a.limbs(), n, [&](std::size_t i) {
        detail::sub_limb(a.limb(i).data(), b.limb(i).data(), out.limb(i).data(), n,
                         a.modulus(i).value());
    });
    return out;
}

/// a = -a.
/// @throws ShapeError for an empty Poly.
inline void negate_inplace(Poly& a) {
    detail::check_not_empty(a, "ring::negate_inplace");
    const std::size_t n = a.degree();
    core::parallel_for(a.limbs(), n, [&](std::size_t i) {
        detail::negate_limb(a.limb(i).data(), a.limb(i).data(), n, a.modulus(i).value());
    });
}

/// -a.
/// @throws ShapeError for an empty Poly.
[[nodiscard]] inline Poly negate(const Poly& a) {
    detail::check_not_empty(a, "ring::negate");
    Poly out;
    out.reshape(a.basis_ptr(), a.form());
    const std::size_t n = a.degree();
    core::parallel_for(a.limbs(), n, [&](std::size_t i) {
        detail::negate_limb(a.limb(i).data(), out.limb(i).data(), n, a.modulus(i).value());
    });
    return out;
}

/// a *= b pointwise; both in evaluation form, where this is the negacyclic product.
/// @throws ShapeError for different bases, or an operand in coefficient form.
inline void multiply_inplace(Poly& a, const Poly& b) {
    detail::check_same_shape(a, b, "ring::multiply_inplace");
    detail::check_form(a, Form::evaluation, "ring::multiply_inplace");
    const std::size_t n = a.degree();
    core::parallel_for(a.limbs(), n, [&](std::size_t i) {
        detail::multiply_limb(a.limb(i).data(), b.limb(i).data(), a.limb(i).data(), n,
                              a.modulus(i));
    });
}

/// a * b pointwise; both in evaluation form.
/// @throws ShapeError for different bases, or an operand in coefficient form.
[[nodiscard]] inline Poly multiply(const Poly& a, const Poly& b) {
    detail::check_same_shape(a, b, "ring::multiply");
    detail::check_form(a, Form::evaluation, "ring::multiply");
    Poly out;
    out.reshape(a.basis_ptr(), a.form());
    const std::size_t n = a.degree();
    core::parallel_for(a.limbs(), n, [&](std::size_t i) {
        detail::multiply_limb(a.limb(i).data(), b.limb(i).data(), out.limb(i).data(), n,
                              a.modulus(i));
    });
    return out;
}

/// acc += a * b pointwise, all three in evaluation form over one basis; one
/// reduction per word (the sum is folded into the product's reduction).
/// `acc` may be the same object as `a` or `b`.
/// @throws ShapeError for different bases, or an operand in coefficient form.
inline void multiply_accumulate(Poly& acc, const Poly& a, const Poly& b) {
    detail::check_same_shape(acc, a, "ring::multiply_accumulate");
    detail::check_same_shape(acc, b, "ring::multiply_accumulate");
    detail::check_form(acc, Form::evaluation, "ring::multiply_accumulate");
    const std::size_t n = acc.degree();
    core::parallel_for(acc.limbs(), n, [&](std::size_t i) {
        detail::multiply_accumulate_limb(a.limb(i).data(), b.limb(i).data(), acc.limb(i).data(), n,
                                         acc.modulus(i));
    });
}

/// out = sum_k a[k] * b[k] pointwise, in evaluation form: the inner product of
/// hybrid key switching (Han and Ki 2020, section 3), where a holds the dnum
/// raised digits and b one component of the switching key. Products are summed
/// in 128 bits and reduced once per word (every 63 terms beyond 64), so this
/// costs about one multiplication per term instead of a modular one.
/// `out` is reshaped to the operands' basis; it must not be one of the inputs.
/// @throws ShapeError for empty or differently sized lists, different bases,
///         an operand in coefficient form, or `out` among the inputs.
inline void inner_product(std::span<const Poly* const> a, std::span<const Poly* const> b,
                          Poly& out) {
    constexpr const char* where = "ring::inner_product";
    if (a.empty() || a.size() != b.size()) {
        throw ShapeError(cloak::detail::message(where, ": ", a.size(), " and ", b.size(),
                                                " operands; pass two non-empty lists of one size"));
    }
    for (std::size_t k = 0; k < a.size(); ++k) {
        if (a[k] == nullptr || b[k] == nullptr) {
            throw ShapeError(cloak::detail::message(where, ": operand ", k, " is null"));
        }
        if (a[k] == &out || b[k] == &out) {
            throw ShapeError(cloak::detail::message(where, ": the output is also operand ", k,
                                                    "; use a separate output Poly"));
        }
        detail::check_same_shape(*a[0], *a[k], where);
        detail::check_same_shape(*a[0], *b[k], where);
    }
    detail::check_form(*a[0], Form::evaluation, where);
    out.reshape(a[0]->basis_ptr(), Form::evaluation);
    const std::size_t n = out.degree();
    const std::size_t terms = a.size();
    core::parallel_for(out.limbs(), n * terms, [&](std::size_t i) {
        // Up to 16 terms on the stack, more on the heap.
        const std::uint64_t* small_x[16];
        const std::uint64_t* small_y[16];
        std::vector<const std::uint64_t*> large_x;
        std::vector<const std::uint64_t*> large_y;
        const std::uint64_t** x = small_x;
        const std::uint64_t** y = small_y;
        if (terms > 16) {
            large_x.resize(terms);
            large_y.resize(terms);
            x = large_x.data();
            y = large_y.data();
        }
        for (std::size_t k = 0; k < terms; ++k) {
            x[k] = a[k]->limb(i).data();
            y[k] = b[k]->limb(i).data();
        }
        detail::inner_product_limb({x, terms}, {y, terms}, out.limb(i).data(), n, out.modulus(i));
    });
}

/// a[i] *= w[i] in limb i, any form: one constant per prime, each in [0, q_i)
/// with its Shoup quotient (for example the residues of a big integer, or
/// q_l^-1 for rescaling), precomputed once by the caller.
/// @throws ShapeError for an empty Poly or one constant per limb missing.
/// @throws InvalidArgumentError for a constant not below its modulus.
inline void multiply_scalar_inplace(Poly& a, std::span<const core::ShoupConstant> w) {
    detail::check_not_empty(a, "ring::multiply_scalar_inplace");
    detail::check_one_per_limb(w.size(), a, "ring::multiply_scalar_inplace");
    for (std::size_t i = 0; i < a.limbs(); ++i) {
        detail::check_reduced_constant(w[i].value, a.modulus(i).value(),
                                       "ring::multiply_scalar_inplace");
    }
    const std::size_t n = a.degree();
    core::parallel_for(a.limbs(), n, [&](std::size_t i) {
        detail::multiply_scalar_limb(a.limb(i).data(), w[i], a.limb(i).data(), n,
                                     a.modulus(i).value());
    });
}

/// a[i] *= scalars[i] in limb i, any form; each scalar is any 64-bit word,
/// reduced mod q_i here, and gets its Shoup quotient here.
/// @throws ShapeError for an empty Poly or one scalar per limb missing.
inline void multiply_scalar_inplace(Poly& a, std::span<const std::uint64_t> scalars) {
    detail::check_not_empty(a, "ring::multiply_scalar_inplace");
    detail::check_one_per_limb(scalars.size(), a, "ring::multiply_scalar_inplace");
    std::vector<core::ShoupConstant> w(a.limbs());
    for (std::size_t i = 0; i < a.limbs(); ++i) {
        const core::Modulus& q = a.modulus(i);
        w[i] = core::ShoupConstant(q.reduce(scalars[i]), q.value());
    }
    multiply_scalar_inplace(a, std::span<const core::ShoupConstant>(w));
}

/// a * scalars (one per limb), any form.
/// @throws ShapeError for an empty Poly or one scalar per limb missing.
[[nodiscard]] inline Poly multiply_scalar(const Poly& a, std::span<const std::uint64_t> scalars) {
    Poly out = a;
    multiply_scalar_inplace(out, scalars);
    return out;
}

/// acc += a * scalars[i] in limb i over acc's limbs; `a` may carry more limbs
/// (a prefix of its basis is read, as when a ciphertext at a higher level is
/// combined into one at a lower level). Scalars are any 64-bit words, reduced here.
/// @throws ShapeError when the bases or forms differ on acc's limbs, or one
///         scalar per limb of acc is missing.
inline void multiply_scalar_accumulate(Poly& acc, const Poly& a,
                                       std::span<const std::uint64_t> scalars) {
    detail::check_not_empty(acc, "ring::multiply_scalar_accumulate");
    detail::check_not_empty(a, "ring::multiply_scalar_accumulate");
    detail::check_one_per_limb(scalars.size(), acc, "ring::multiply_scalar_accumulate");
    if (a.limbs() < acc.limbs() || a.degree() != acc.degree() || a.form() != acc.form() ||
        !a.basis().starts_with(acc.basis())) {
        throw ShapeError(cloak::detail::message(
            "ring::multiply_scalar_accumulate: source ", detail::describe(a),
            " does not extend accumulator ", detail::describe(acc),
            "; the source must hold the accumulator's primes first, in the same form"));
    }
    const std::size_t n = acc.degree();
    core::parallel_for(acc.limbs(), n, [&](std::size_t i) {
        const core::Modulus& q = acc.modulus(i);
        const core::ShoupConstant w(q.reduce(scalars[i]), q.value());
        detail::multiply_scalar_accumulate_limb(a.limb(i).data(), w, acc.limb(i).data(), n,
                                                q.value());
    });
}

/// a *= k for a signed integer k, any form.
/// @throws ShapeError for an empty Poly.
inline void multiply_integer_inplace(Poly& a, std::int64_t k) {
    detail::check_not_empty(a, "ring::multiply_integer_inplace");
    std::vector<std::uint64_t> scalars(a.limbs());
    for (std::size_t i = 0; i < a.limbs(); ++i) {
        scalars[i] = detail::reduce_signed(k, a.modulus(i));
    }
    multiply_scalar_inplace(a, scalars);
}

/// a * k for a signed integer k, any form.
/// @throws ShapeError for an empty Poly.
[[nodiscard]] inline Poly multiply_integer(const Poly& a, std::int64_t k) {
    Poly out = a;
    multiply_integer_inplace(out, k);
    return out;
}

/// a += c for the constant polynomial c with residue scalars[i] mod q_i (any
/// 64-bit words, reduced here): in coefficient form only the constant term
/// changes, in evaluation form every slot (c evaluates to itself everywhere).
/// @throws ShapeError for an empty Poly or one scalar per limb missing.
inline void add_scalar_inplace(Poly& a, std::span<const std::uint64_t> scalars) {
    detail::check_not_empty(a, "ring::add_scalar_inplace");
    detail::check_one_per_limb(scalars.size(), a, "ring::add_scalar_inplace");
    const std::size_t n = a.degree();
    const std::size_t count = a.form() == Form::coefficient ? 1 : n;
    core::parallel_for(a.limbs(), count, [&a, scalars, count](std::size_t i) {
        const core::Modulus& q = a.modulus(i);
        detail::add_scalar_limb(a.limb(i).data(), q.reduce(scalars[i]), count, q.value());
    });
}

}  // namespace cloak::inline v0::ring
