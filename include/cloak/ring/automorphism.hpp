// cloak: the automorphisms X -> X^k (k odd) of Z_Q[X]/(X^N + 1).
//
// In coefficient form, X^i maps to X^(i k mod 2N), and X^N = -1 flips the sign of
// the terms that land in [N, 2N). In evaluation form, slot i holds
// a(psi^(2 rev(i) + 1)) (ring/ntt.hpp), and sigma_k(a)(psi^e) = a(psi^(k e)),
// so the automorphism is a pure permutation of slots with no arithmetic: slot i
// of the result is slot rev((k (2 rev(i) + 1) mod 2N - 1) / 2) of the input.
// CKKS rotations and conjugation are these maps (k = 5^r and k = 2N - 1).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include <cloak/core/bits.hpp>
#include <cloak/core/error.hpp>
#include <cloak/core/parallel.hpp>
#include <cloak/ring/poly.hpp>

namespace cloak::inline v0::ring {

/// Precomputed index maps of one automorphism X -> X^k at degree N.
class Automorphism {
  public:
    /// @throws InvalidArgumentError for a bad degree or an even k.
    Automorphism(std::size_t n, std::uint64_t k) : n_(n) {
        check_degree(n, "ring::Automorphism");
        const std::uint64_t two_n = 2 * static_cast<std::uint64_t>(n);
        if (k % 2 == 0) {
            throw InvalidArgumentError(cloak::detail::message(
                "ring::Automorphism: exponent ", k,
                " is even; X -> X^k is an automorphism only for odd k (mod 2N = ", two_n, ")"));
        }
        k_ = k % two_n;
        const int log_n = core::log2_floor(n);
        evaluation_source_.resize(n);
        for (std::size_t i = 0; i < n; ++i) {
            const std::uint64_t exponent = 2 * core::reverse_bits(i, log_n) + 1;
            const std::uint64_t mapped = exponent * k_ % two_n;
            evaluation_source_[i] =
                static_cast<std::uint32_t>(core::reverse_bits((mapped - 1) / 2, log_n));
        }
    }

    [[nodiscard]] std::size_t degree() const noexcept { return n_; }
    /// The exponent k, reduced mod 2N.
    [[nodiscard]] std::uint64_t exponent() const noexcept { return k_; }
    /// Slot i of the image is slot evaluation_source()[i] of the input.
    [[nodiscard]] std::span<const std::uint32_t> evaluation_source() const noexcept {
        return evaluation_source_;
    }

    /// One limb in coefficient form: out = in(X^k) mod (X^N + 1, q). out != in.
    void apply_coefficient(std::span<const std::uint64_t> in, std::span<std::uint64_t> out,
                           std::uint64_t q) const noexcept {
        const std::uint64_t mask = 2 * static_cast<std::uint64_t>(n_) - 1;
        std::uint64_t index = 0;  // i * k mod 2N
        for (std::size_t i = 0; i < n_; ++i) {
            const std::uint64_t v = in[i];
            if (index < n_) {
                out[index] = v;
            } else {
                out[index - n_] = v == 0 ? 0 : q - v;
            }
            index = (index + k_) & mask;
        }
    }

    /// One limb in evaluation form: a permutation. out != in.
    void apply_evaluation(std::span<const std::uint64_t> in,
                          std::span<std::uint64_t> out) const noexcept {
        for (std::size_t i = 0; i < n_; ++i) {
            out[i] = in[evaluation_source_[i]];
        }
    }

    /// out = in(X^k), in either form; out gets in's basis and form.
    /// @throws ShapeError when in's degree differs from this map's.
    void apply(const Poly& in, Poly& out) const {
        if (in.empty() || in.degree() != n_) {
            throw ShapeError(cloak::detail::message("ring::Automorphism::apply: Poly of degree ",
                                                    in.degree(), " given to a map of degree ", n_));
        }
        if (&in == &out) {
            throw ShapeError("ring::Automorphism::apply: input and output are the same Poly");
        }
        if (out.empty() || !(out.basis() == in.basis())) {
            out = Poly(in.basis_ptr(), in.form());
        }
        out.set_form(in.form());
        core::parallel_for(in.limbs(), n_, [&](std::size_t i) {
            if (in.form() == Form::coefficient) {
                apply_coefficient(in.limb(i), out.limb(i), in.basis().modulus(i).value());
            } else {
                apply_evaluation(in.limb(i), out.limb(i));
            }
        });
    }

  private:
    std::size_t n_;
    std::uint64_t k_ = 1;
    std::vector<std::uint32_t> evaluation_source_;
};

}  // namespace cloak::inline v0::ring
