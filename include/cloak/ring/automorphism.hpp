// cloak: the automorphisms sigma_k: X -> X^k (k odd) of Z_Q[X]/(X^N + 1).
//
// Coefficient form: X^i maps to X^(i k mod 2N), and X^N = -1 flips the sign of
// the terms that land in [N, 2N).
//
// Evaluation form: slot j holds a(psi^(2 rev(j) + 1)), rev = reverse_bits(., log N)
// (ring/ntt.hpp), and sigma_k(a)(psi^e) = a(psi^(k e)). Since k is odd, k (2 rev(j)
// + 1) mod 2N is again odd, 2 t + 1, so slot j of the image is slot rev(t) of the
// input: a permutation of slots, no arithmetic, the same for every prime (psi
// differs per prime but only its exponents matter). CKKS rotations and
// conjugation are these maps (k = 5^r mod 2N and k = 2N - 1; Cheon, Kim, Kim,
// Song 2017; Halevi and Shoup 2014 for the slot structure).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include <cloak/core/bits.hpp>
#include <cloak/core/error.hpp>
#include <cloak/core/parallel.hpp>
#include <cloak/ring/arith.hpp>
#include <cloak/ring/poly.hpp>

namespace cloak::inline v0::ring {

/// Precomputed slot permutation of one automorphism X -> X^k at degree N. Build
/// one per Galois element and keep it beside its key (no global cache).
class Automorphism {
  public:
    /// @throws InvalidArgumentError for a bad degree or an even k (the message
    ///         names k and 2N).
    Automorphism(std::size_t n, std::uint64_t k) : n_(n) {
        check_degree(n, "ring::Automorphism");
        const std::uint64_t two_n = 2 * static_cast<std::uint64_t>(n);
        if (k % 2 == 0) {
            throw InvalidArgumentError(cloak::detail::message(
                "ring::Automorphism: exponent k = ", k,
                " is even; X -> X^k is an automorphism of Z_Q[X]/(X^N + 1) only for odd k "
                "(mod 2N = ",
                two_n, ")"));
        }
        k_ = k % two_n;
        const int log_n = core::log2_floor(n);
        source_slot_.resize(n);
        for (std::size_t j = 0; j < n; ++j) {
            const std::uint64_t exponent = 2 * core::reverse_bits(j, log_n) + 1;
            const std::uint64_t image = exponent * k_ % two_n;  // < 2^18 * 2^18: no overflow
            source_slot_[j] =
                static_cast<std::uint32_t>(core::reverse_bits((image - 1) / 2, log_n));
        }
    }

    [[nodiscard]] std::size_t degree() const noexcept { return n_; }
    /// The exponent k, reduced mod 2N.
    [[nodiscard]] std::uint64_t exponent() const noexcept { return k_; }
    /// Slot j of the image is slot evaluation_source()[j] of the input.
    [[nodiscard]] std::span<const std::uint32_t> evaluation_source() const noexcept {
        return source_slot_;
    }

    /// One limb in coefficient form: out = in(X^k) mod (X^N + 1, q).
    /// @throws ShapeError unless both spans hold N words and do not overlap.
    void apply_coefficient(std::span<const std::uint64_t> in, std::span<std::uint64_t> out,
                           std::uint64_t q) const {
        check_spans(in, out, "ring::Automorphism::apply_coefficient");
        apply_limb(in.data(), out.data(), Form::coefficient, q);
    }

    /// One limb in evaluation form (any prime): the slot permutation.
    /// @throws ShapeError unless both spans hold N words and do not overlap.
    void apply_evaluation(std::span<const std::uint64_t> in, std::span<std::uint64_t> out) const {
        check_spans(in, out, "ring::Automorphism::apply_evaluation");
        apply_limb(in.data(), out.data(), Form::evaluation, 0);
    }

    /// out = in(X^k), in in's form and over in's basis (out is reshaped).
    /// @throws ShapeError for an empty Poly, another degree, or out being in.
    void apply(const Poly& in, Poly& out) const {
        if (in.empty() || in.degree() != n_) {
            throw ShapeError(cloak::detail::message(
                "ring::Automorphism::apply: ", detail::describe(in),
                " given to a map of degree N = ", n_, "; use a map built for the Poly's degree"));
        }
        if (&in == &out) {
            throw ShapeError(
                "ring::Automorphism::apply: input and output are the same Poly; the map permutes "
                "words, so pass a separate output (or use the overload that returns a Poly)");
        }
        out.reshape(in.basis_ptr(), in.form());
        core::parallel_for(in.limbs(), n_, [&](std::size_t i) {
            apply_limb(in.limb(i).data(), out.limb(i).data(), in.form(), in.modulus(i).value());
        });
    }

    /// in(X^k), in in's form.
    /// @throws ShapeError for an empty Poly or another degree.
    [[nodiscard]] Poly apply(const Poly& in) const {
        Poly out;
        apply(in, out);
        return out;
    }

  private:
    void check_spans(std::span<const std::uint64_t> in, std::span<std::uint64_t> out,
                     const char* where) const {
        if (in.size() != n_ || out.size() != n_) {
            throw ShapeError(cloak::detail::message(
                where, ": spans of ", in.size(), " and ", out.size(),
                " words for a map of degree N = ", n_, "; pass one limb (N words) each"));
        }
        const std::less<const std::uint64_t*> before;
        if (before(in.data(), out.data() + n_) && before(out.data(), in.data() + n_)) {
            throw ShapeError(cloak::detail::message(
                where,
                ": input and output overlap; the map permutes words, so write to a "
                "separate buffer"));
        }
    }

    void apply_limb(const std::uint64_t* in, std::uint64_t* out, Form form,
                    std::uint64_t q) const noexcept {
        // Locals, not members: stores to out could alias this->n_ and force reloads.
        const std::size_t n = n_;
        if (form == Form::evaluation) {
            const std::uint32_t* source = source_slot_.data();
            for (std::size_t j = 0; j < n; ++j) {
                out[j] = in[source[j]];
            }
            return;
        }
        const std::uint64_t k = k_;
        const std::uint64_t mask = 2 * static_cast<std::uint64_t>(n) - 1;
        std::uint64_t index = 0;  // i k mod 2N
        for (std::size_t i = 0; i < n; ++i) {
            // Bit log N of i k mod 2N says whether X^(i k) wrapped past X^N = -1.
            const std::uint64_t v = in[i];
            const std::uint64_t negated = v == 0 ? 0 : q - v;
            out[index & (n - 1)] = (index & n) != 0 ? negated : v;
            index = (index + k) & mask;
        }
    }

    std::size_t n_;
    std::uint64_t k_ = 1;
    std::vector<std::uint32_t> source_slot_;
};

}  // namespace cloak::inline v0::ring
