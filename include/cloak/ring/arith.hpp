// cloak: coefficient-wise arithmetic kernels on RNS polynomials.
//
// Span kernels work on one limb (one modulus); the Poly functions check that the
// operands agree (basis, form) and run the span kernels over the limbs, in
// parallel when the work is large (core/parallel.hpp). Inputs are fully reduced
// in [0, q) and so are outputs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include <cloak/core/error.hpp>
#include <cloak/core/modarith.hpp>
#include <cloak/core/parallel.hpp>
#include <cloak/ring/poly.hpp>

namespace cloak::inline v0::ring {

// ---- span kernels: one limb, one modulus ------------------------------------

/// out[j] = a[j] + b[j] mod q.
inline void add(std::span<const std::uint64_t> a, std::span<const std::uint64_t> b,
                std::span<std::uint64_t> out, std::uint64_t q) noexcept {
    for (std::size_t j = 0; j < out.size(); ++j) {
        out[j] = core::add_mod(a[j], b[j], q);
    }
}

/// out[j] = a[j] - b[j] mod q.
inline void sub(std::span<const std::uint64_t> a, std::span<const std::uint64_t> b,
                std::span<std::uint64_t> out, std::uint64_t q) noexcept {
    for (std::size_t j = 0; j < out.size(); ++j) {
        out[j] = core::sub_mod(a[j], b[j], q);
    }
}

/// out[j] = -a[j] mod q.
inline void negate(std::span<const std::uint64_t> a, std::span<std::uint64_t> out,
                   std::uint64_t q) noexcept {
    for (std::size_t j = 0; j < out.size(); ++j) {
        out[j] = core::neg_mod(a[j], q);
    }
}

/// out[j] = a[j] * b[j] mod q (pointwise: a negacyclic product in evaluation form).
inline void multiply(std::span<const std::uint64_t> a, std::span<const std::uint64_t> b,
                     std::span<std::uint64_t> out, const core::Modulus& q) noexcept {
    for (std::size_t j = 0; j < out.size(); ++j) {
        out[j] = core::mul_mod(a[j], b[j], q);
    }
}

/// acc[j] = acc[j] + a[j] * b[j] mod q.
inline void multiply_accumulate(std::span<const std::uint64_t> a, std::span<const std::uint64_t> b,
                                std::span<std::uint64_t> acc, const core::Modulus& q) noexcept {
    for (std::size_t j = 0; j < acc.size(); ++j) {
        acc[j] = q.reduce(static_cast<core::uint128_t>(a[j]) * b[j] + acc[j]);
    }
}

/// out[j] = a[j] * w mod q, with w's Shoup quotient precomputed.
inline void multiply_scalar(std::span<const std::uint64_t> a, core::ShoupConstant w,
                            std::span<std::uint64_t> out, std::uint64_t q) noexcept {
    for (std::size_t j = 0; j < out.size(); ++j) {
        out[j] = core::mul_shoup(a[j], w.value, w.quotient, q);
    }
}

/// Wide accumulator of products: sum_k a_k[j] * b_k[j] kept in 128 bits and
/// reduced once at the end. Key switching sums dnum products per coefficient;
/// with primes below 2^61 each product is below 2^122, so 64 terms fit.
inline constexpr std::size_t max_lazy_terms = 64;

/// acc[j] += a[j] * b[j] without reduction (acc in 128-bit words).
inline void multiply_accumulate_lazy(std::span<const std::uint64_t> a,
                                     std::span<const std::uint64_t> b,
                                     std::span<core::uint128_t> acc) noexcept {
    for (std::size_t j = 0; j < acc.size(); ++j) {
        acc[j] += static_cast<core::uint128_t>(a[j]) * b[j];
    }
}

/// out[j] = acc[j] mod q.
inline void reduce_lazy(std::span<const core::uint128_t> acc, std::span<std::uint64_t> out,
                        const core::Modulus& q) noexcept {
    for (std::size_t j = 0; j < out.size(); ++j) {
        out[j] = q.reduce(acc[j]);
    }
}

// ---- Poly kernels -------------------------------------------------------------

namespace detail {

inline void check_same_shape(const Poly& a, const Poly& b, const char* where) {
    if (a.empty() || b.empty()) {
        throw ShapeError(cloak::detail::message(where, ": an operand is an empty Poly"));
    }
    if (a.degree() != b.degree() || a.limbs() != b.limbs() || !(a.basis() == b.basis())) {
        throw ShapeError(
            cloak::detail::message(where, ": operands over different RNS bases (N = ", a.degree(),
                                   " with ", a.limbs(), " primes vs N = ", b.degree(), " with ",
                                   b.limbs(), " primes); bring them to the same level first"));
    }
    if (a.form() != b.form()) {
        throw ShapeError(cloak::detail::message(where, ": operands in different forms (",
                                                form_name(a.form()), " vs ", form_name(b.form()),
                                                "); call to_evaluation() or to_coefficient()"));
    }
}

inline void check_form(const Poly& a, Form form, const char* where) {
    if (a.form() != form) {
        throw ShapeError(cloak::detail::message(where, ": needs ", form_name(form),
                                                " form but the operand is in ", form_name(a.form()),
                                                " form; call to_evaluation() or to_coefficient()"));
    }
}

}  // namespace detail

/// a += b.
/// @throws ShapeError for different bases or forms.
inline void add_inplace(Poly& a, const Poly& b) {
    detail::check_same_shape(a, b, "ring::add_inplace");
    core::parallel_for(a.limbs(), a.degree(), [&](std::size_t i) {
        add(a.limb(i), b.limb(i), a.limb(i), a.basis().modulus(i).value());
    });
}

/// a -= b.
/// @throws ShapeError for different bases or forms.
inline void sub_inplace(Poly& a, const Poly& b) {
    detail::check_same_shape(a, b, "ring::sub_inplace");
    core::parallel_for(a.limbs(), a.degree(), [&](std::size_t i) {
        sub(a.limb(i), b.limb(i), a.limb(i), a.basis().modulus(i).value());
    });
}

/// a = -a.
inline void negate_inplace(Poly& a) {
    core::parallel_for(a.limbs(), a.degree(), [&](std::size_t i) {
        negate(a.limb(i), a.limb(i), a.basis().modulus(i).value());
    });
}

/// a *= b pointwise; both in evaluation form (a negacyclic product).
/// @throws ShapeError for different bases, or either operand in coefficient form.
inline void multiply_inplace(Poly& a, const Poly& b) {
    detail::check_same_shape(a, b, "ring::multiply_inplace");
    detail::check_form(a, Form::evaluation, "ring::multiply_inplace");
    core::parallel_for(a.limbs(), a.degree(), [&](std::size_t i) {
        multiply(a.limb(i), b.limb(i), a.limb(i), a.basis().modulus(i));
    });
}

/// acc += a * b pointwise; all three in evaluation form over one basis.
/// @throws ShapeError for different bases, or an operand in coefficient form.
inline void multiply_accumulate(Poly& acc, const Poly& a, const Poly& b) {
    detail::check_same_shape(acc, a, "ring::multiply_accumulate");
    detail::check_same_shape(acc, b, "ring::multiply_accumulate");
    detail::check_form(acc, Form::evaluation, "ring::multiply_accumulate");
    core::parallel_for(acc.limbs(), acc.degree(), [&](std::size_t i) {
        multiply_accumulate(a.limb(i), b.limb(i), acc.limb(i), acc.basis().modulus(i));
    });
}

/// a[i] *= scalars[i] in limb i, any form (one constant per prime, e.g. the
/// residues of a big integer, or q_l^-1 for rescaling).
/// @throws ShapeError when scalars does not hold one value per limb.
inline void multiply_scalar_inplace(Poly& a, std::span<const std::uint64_t> scalars) {
    if (scalars.size() != a.limbs()) {
        throw ShapeError(cloak::detail::message("ring::multiply_scalar_inplace: ", scalars.size(),
                                                " scalars for a Poly of ", a.limbs(),
                                                " limbs; pass one per limb"));
    }
    core::parallel_for(a.limbs(), a.degree(), [&](std::size_t i) {
        const std::uint64_t q = a.basis().modulus(i).value();
        const std::uint64_t w = a.basis().modulus(i).reduce(scalars[i]);
        multiply_scalar(a.limb(i), core::ShoupConstant(w, q), a.limb(i), q);
    });
}

/// a *= k for a signed integer k, any form.
inline void multiply_integer_inplace(Poly& a, std::int64_t k) {
    std::vector<std::uint64_t> scalars(a.limbs());
    const auto bits = static_cast<std::uint64_t>(k);
    for (std::size_t i = 0; i < a.limbs(); ++i) {
        const core::Modulus& q = a.basis().modulus(i);
        const std::uint64_t magnitude = q.reduce(k < 0 ? 0 - bits : bits);
        scalars[i] = k < 0 ? core::neg_mod(magnitude, q.value()) : magnitude;
    }
    multiply_scalar_inplace(a, scalars);
}

}  // namespace cloak::inline v0::ring
