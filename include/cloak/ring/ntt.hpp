// cloak: negacyclic number-theoretic transform for one prime modulus.
//
// Forward: Cooley-Tukey butterflies with the twist by psi (a primitive 2N-th root)
// merged into the table of powers, as in Longa and Naehrig (CANS 2016, Alg. 1-2),
// and Harvey's lazy butterflies ("Faster arithmetic for number-theoretic
// transforms", J. Symb. Comp. 2014): values stay in [0, 4q) inside and are fully
// reduced at the end. Inverse: Gentleman-Sande butterflies with psi^-1, N^-1
// folded into the last pass.
//
// Ordering: forward() takes coefficients in natural order and returns evaluations
// in bit-reversed order, output[i] = a(psi^(2 * reverse_bits(i, log N) + 1)).
// inverse() takes that order back to natural coefficients.
//
// Two implementations, bit-identical (both return fully reduced values):
// ring/ntt_scalar.hpp, portable 64-bit code for every prime up to 61 bits, and
// ring/ntt_ifma.hpp, AVX-512 IFMA for primes below 2^50, chosen at run time when
// the CPU has it (ring/backend.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include <cloak/core/bits.hpp>
#include <cloak/core/error.hpp>
#include <cloak/core/modarith.hpp>
#include <cloak/core/primes.hpp>
#include <cloak/ring/backend.hpp>
#include <cloak/ring/ntt_ifma.hpp>
#include <cloak/ring/ntt_scalar.hpp>

namespace cloak::inline v0::ring {

/// Smallest and largest ring degree N the library accepts.
inline constexpr std::size_t min_degree = std::size_t{1} << 10;
inline constexpr std::size_t max_degree = std::size_t{1} << 17;

/// @throws InvalidArgumentError unless n is a power of two in [2^10, 2^17].
inline void check_degree(std::size_t n, const char* where) {
    if (!core::is_power_of_two(n) || n < min_degree || n > max_degree) {
        throw InvalidArgumentError(cloak::detail::message(
            where, ": ring degree N = ", n, " must be a power of two in [2^10, 2^17] (", min_degree,
            " to ", max_degree, ")"));
    }
}

/// Precomputed tables of the negacyclic NTT for degree N and one prime q = 1 mod 2N.
class NttTables {
  public:
    /// @throws InvalidArgumentError for a bad degree, a non-prime modulus, or q != 1 mod 2N.
    NttTables(std::size_t n, const core::Modulus& q) : n_(n), log_n_(0), modulus_(q) {
        check_degree(n, "ring::NttTables");
        const std::uint64_t p = q.value();
        if (!core::is_prime(p)) {
            throw InvalidArgumentError(cloak::detail::message(
                "ring::NttTables: modulus ", p, " is not prime; use core::generate_ntt_primes"));
        }
        if ((p - 1) % (2 * n) != 0) {
            throw InvalidArgumentError(
                cloak::detail::message("ring::NttTables: modulus ", p, " is not 1 mod 2N = ", 2 * n,
                                       "; use core::generate_ntt_primes(bits, count, 2N)"));
        }
        log_n_ = core::log2_floor(n);
        root_ = core::minimal_primitive_root(2 * n, q);
        const std::uint64_t inverse_root = core::inverse_mod(root_, p);

        forward_roots_.resize(n);
        inverse_roots_.resize(n);
        std::uint64_t power = 1;
        std::uint64_t inverse_power = 1;
        std::vector<std::uint64_t> powers(n);
        std::vector<std::uint64_t> inverse_powers(n);
        for (std::size_t i = 0; i < n; ++i) {
            powers[i] = power;
            inverse_powers[i] = inverse_power;
            power = core::mul_mod(power, root_, q);
            inverse_power = core::mul_mod(inverse_power, inverse_root, q);
        }
        for (std::size_t i = 0; i < n; ++i) {
            const auto reversed = static_cast<std::size_t>(core::reverse_bits(i, log_n_));
            forward_roots_[i] = core::ShoupConstant(powers[reversed], p);
            inverse_roots_[i] = core::ShoupConstant(inverse_powers[reversed], p);
        }
        const std::uint64_t inverse_n = core::inverse_mod(n % p, p);
        inverse_degree_ = core::ShoupConstant(inverse_n, p);
        // The inverse's last pass carries N^-1 in its twiddles (ntt_scalar.hpp).
        const auto scaled = [&](std::size_t i) {
            return core::mul_mod(inverse_roots_[i].value, inverse_n, q);
        };
        inverse_last_ = {inverse_degree_, core::ShoupConstant(scaled(1), p),
                         core::ShoupConstant(scaled(2), p), core::ShoupConstant(scaled(3), p),
                         inverse_roots_[1]};
        // 52-bit tables only where the IFMA path can run, so other machines and
        // wider primes pay no memory for them.
        if (p < detail::ifma_modulus_limit && avx512ifma_available()) {
            ifma_forward_roots_ = detail::IfmaRoots(n, forward_roots_.data(), p);
            ifma_inverse_roots_ = detail::IfmaRoots(n, inverse_roots_.data(), p);
            ifma_inverse_last_ = {{inverse_n, p},
                                  {inverse_last_.outer_scaled.value, p},
                                  {inverse_last_.left_scaled.value, p},
                                  {inverse_last_.right_scaled.value, p},
                                  {inverse_last_.outer.value, p}};
        }
    }

    [[nodiscard]] std::size_t degree() const noexcept { return n_; }
    [[nodiscard]] int log_degree() const noexcept { return log_n_; }
    [[nodiscard]] const core::Modulus& modulus() const noexcept { return modulus_; }
    /// The primitive 2N-th root of unity psi the tables are built from (the smallest one).
    [[nodiscard]] std::uint64_t root() const noexcept { return root_; }

    /// psi^reverse_bits(i) with its Shoup quotient, i in [0, N).
    [[nodiscard]] std::span<const core::ShoupConstant> forward_roots() const noexcept {
        return forward_roots_;
    }
    /// psi^-reverse_bits(i) with its Shoup quotient, i in [0, N).
    [[nodiscard]] std::span<const core::ShoupConstant> inverse_roots() const noexcept {
        return inverse_roots_;
    }
    /// N^-1 mod q with its Shoup quotient.
    [[nodiscard]] const core::ShoupConstant& inverse_degree() const noexcept {
        return inverse_degree_;
    }

    /// In place: natural-order coefficients in [0, q) to bit-reversed evaluations in [0, q).
    /// Inputs must be reduced (checked in builds without NDEBUG); the result is the
    /// same with every backend.
    /// @throws ShapeError when values.size() != N.
    /// @throws InvalidArgumentError when Backend::avx512ifma is requested and the CPU lacks
    ///         it or q >= 2^50, or when CLOAK_BACKEND holds an unknown value.
    void forward(std::span<std::uint64_t> values, Backend backend = Backend::automatic) const {
        check_input(values, "ring::NttTables::forward");
        if (resolve(backend, "ring::NttTables::forward") == Backend::avx512ifma) {
            detail::ntt_forward_ifma(values.data(), n_, ifma_forward_roots_, modulus_.value());
        } else {
            detail::ntt_forward_scalar(values.data(), n_, forward_roots_.data(), modulus_.value());
        }
    }

    /// In place: bit-reversed evaluations in [0, q) to natural-order coefficients in [0, q).
    /// Inputs must be reduced (checked in builds without NDEBUG); the result is the
    /// same with every backend.
    /// @throws ShapeError when values.size() != N.
    /// @throws InvalidArgumentError when Backend::avx512ifma is requested and the CPU lacks
    ///         it or q >= 2^50, or when CLOAK_BACKEND holds an unknown value.
    void inverse(std::span<std::uint64_t> values, Backend backend = Backend::automatic) const {
        check_input(values, "ring::NttTables::inverse");
        if (resolve(backend, "ring::NttTables::inverse") == Backend::avx512ifma) {
            detail::ntt_inverse_ifma(values.data(), n_, ifma_inverse_roots_, ifma_inverse_last_,
                                     modulus_.value());
        } else {
            detail::ntt_inverse_scalar(values.data(), n_, inverse_roots_.data(), inverse_last_,
                                       modulus_.value());
        }
    }

    /// True when the AVX-512 IFMA backend can run these tables: q < 2^50 and the CPU has it.
    [[nodiscard]] bool supports_avx512ifma() const noexcept {
        return !ifma_forward_roots_.values.empty();
    }

    /// The backend forward() and inverse() run for `requested`: automatic resolved
    /// for this CPU, this modulus and CLOAK_BACKEND.
    /// @throws InvalidArgumentError as forward() does.
    [[nodiscard]] Backend resolve_backend(Backend requested = Backend::automatic) const {
        return resolve(requested, "ring::NttTables::resolve_backend");
    }

  private:
    Backend resolve(Backend requested, const char* where) const {
        if (requested == Backend::avx512ifma && avx512ifma_available() && !supports_avx512ifma()) {
            throw InvalidArgumentError(cloak::detail::message(
                where, ": Backend::avx512ifma needs q < 2^50 but q = ", modulus_.value(), " has ",
                modulus_.bits(), " bits; use Backend::automatic or Backend::scalar"));
        }
        return detail::resolve_backend(requested, supports_avx512ifma(), where, "q < 2^50");
    }

    void check_input(std::span<const std::uint64_t> values, const char* where) const {
        if (values.size() != n_) {
            throw ShapeError(cloak::detail::message(where, ": span of ", values.size(),
                                                    " values given to an NTT of degree ", n_,
                                                    "; pass exactly N values"));
        }
#ifndef NDEBUG
        // A pass over the data costs a few percent of a transform, so only in debug
        // builds (SEAL does the same under SEAL_DEBUG); release builds trust the caller.
        for (std::size_t i = 0; i < n_; ++i) {
            if (values[i] >= modulus_.value()) {
                throw InvalidArgumentError(cloak::detail::message(
                    where, ": value ", values[i], " at index ", i,
                    " is not reduced modulo q = ", modulus_.value(), "; reduce the input first"));
            }
        }
#endif
    }

    std::size_t n_;
    int log_n_;
    core::Modulus modulus_;
    std::uint64_t root_ = 0;
    std::vector<core::ShoupConstant> forward_roots_;
    std::vector<core::ShoupConstant> inverse_roots_;
    core::ShoupConstant inverse_degree_;
    detail::InverseLastPass inverse_last_;
    // 52-bit tables for the IFMA path (empty unless q < 2^50 and the CPU has IFMA).
    detail::IfmaRoots ifma_forward_roots_;
    detail::IfmaRoots ifma_inverse_roots_;
    detail::IfmaInverseLastPass ifma_inverse_last_;
};

}  // namespace cloak::inline v0::ring
