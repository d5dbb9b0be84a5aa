// cloak: negacyclic number-theoretic transform for one prime modulus.
//
// Forward: Cooley-Tukey butterflies with the twist by psi (a primitive 2N-th root)
// merged into the table of powers, as in Longa and Naehrig (CANS 2016, Alg. 1-2),
// and Harvey's lazy butterflies ("Faster arithmetic for number-theoretic
// transforms", J. Symb. Comp. 2014): values stay in [0, 4q) inside and are fully
// reduced at the end.
//
// Ordering: forward() takes coefficients in natural order and returns evaluations
// in bit-reversed order, output[i] = a(psi^(2 * reverse_bits(i, log N) + 1)).
// inverse() takes that order back to natural coefficients.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include <cloak/core/bits.hpp>
#include <cloak/core/error.hpp>
#include <cloak/core/modarith.hpp>
#include <cloak/core/primes.hpp>

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
        inverse_degree_ = core::ShoupConstant(core::inverse_mod(n % p, p), p);
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
    void forward(std::span<std::uint64_t> values) const {
        check_size(values.size(), "ring::NttTables::forward");
        forward_scalar(values.data());
    }

    /// In place: bit-reversed evaluations in [0, q) to natural-order coefficients in [0, q).
    void inverse(std::span<std::uint64_t> values) const {
        check_size(values.size(), "ring::NttTables::inverse");
        inverse_scalar(values.data());
    }

  private:
    void check_size(std::size_t size, const char* where) const {
        if (size != n_) {
            throw ShapeError(cloak::detail::message(where, ": span of ", size,
                                                    " values given to an NTT of degree ", n_,
                                                    "; pass exactly N values"));
        }
    }

    void forward_scalar(std::uint64_t* a) const noexcept {
        const std::uint64_t q = modulus_.value();
        const std::uint64_t two_q = 2 * q;
        std::size_t gap = n_;
        for (std::size_t m = 1; m < n_; m <<= 1) {
            gap >>= 1;
            for (std::size_t i = 0; i < m; ++i) {
                const core::ShoupConstant w = forward_roots_[m + i];
                std::uint64_t* x = a + 2 * i * gap;
                std::uint64_t* y = x + gap;
                for (std::size_t j = 0; j < gap; ++j) {
                    std::uint64_t u = x[j];
                    u -= u >= two_q ? two_q : 0;
                    const std::uint64_t v = core::mul_shoup_lazy(y[j], w.value, w.quotient, q);
                    x[j] = u + v;
                    y[j] = u - v + two_q;
                }
            }
        }
        for (std::size_t i = 0; i < n_; ++i) {
            std::uint64_t v = a[i];
            v -= v >= two_q ? two_q : 0;
            a[i] = v >= q ? v - q : v;
        }
    }

    void inverse_scalar(std::uint64_t* a) const noexcept {
        const std::uint64_t q = modulus_.value();
        const std::uint64_t two_q = 2 * q;
        std::size_t gap = 1;
        for (std::size_t m = n_ >> 1; m >= 1; m >>= 1) {
            for (std::size_t i = 0; i < m; ++i) {
                const core::ShoupConstant w = inverse_roots_[m + i];
                std::uint64_t* x = a + 2 * i * gap;
                std::uint64_t* y = x + gap;
                for (std::size_t j = 0; j < gap; ++j) {
                    const std::uint64_t u = x[j];
                    const std::uint64_t v = y[j];
                    std::uint64_t sum = u + v;
                    sum -= sum >= two_q ? two_q : 0;
                    x[j] = sum;
                    y[j] = core::mul_shoup_lazy(u - v + two_q, w.value, w.quotient, q);
                }
            }
            gap <<= 1;
        }
        for (std::size_t i = 0; i < n_; ++i) {
            a[i] = core::mul_shoup(a[i], inverse_degree_.value, inverse_degree_.quotient, q);
        }
    }

    std::size_t n_;
    int log_n_;
    core::Modulus modulus_;
    std::uint64_t root_ = 0;
    std::vector<core::ShoupConstant> forward_roots_;
    std::vector<core::ShoupConstant> inverse_roots_;
    core::ShoupConstant inverse_degree_;
};

}  // namespace cloak::inline v0::ring
