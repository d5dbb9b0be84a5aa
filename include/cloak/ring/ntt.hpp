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
//
// Two passes of radix 2 are fused into one radix-4 pass over the data where two
// stages remain, halving the memory traffic. For primes below 2^50 an AVX-512
// IFMA path (ring/ntt_ifma.hpp) is chosen at run time when the CPU has it; both
// paths return bit-identical, fully reduced results.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include <cloak/core/bits.hpp>
#include <cloak/core/error.hpp>
#include <cloak/core/modarith.hpp>
#include <cloak/core/primes.hpp>
#include <cloak/ring/ntt_ifma.hpp>

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

/// Which implementation of the NTT runs.
enum class NttBackend {
    automatic,   ///< AVX-512 IFMA when the CPU has it and q < 2^50, else scalar
    scalar,      ///< portable 64-bit code (always available)
    avx512ifma,  ///< AVX-512 IFMA; needs the CPU feature and q < 2^50
};

/// True when this CPU can run the AVX-512 IFMA NTT.
inline bool avx512ifma_available() noexcept {
    return detail::cpu_has_avx512ifma();
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
        last_inverse_root_ =
            core::ShoupConstant(core::mul_mod(inverse_roots_[1].value, inverse_n, q), p);
        if (p < detail::ifma_modulus_limit) {
            forward_roots52_.resize(n);
            inverse_roots52_.resize(n);
            for (std::size_t i = 0; i < n; ++i) {
                forward_roots52_[i] = detail::shoup_precompute_52(forward_roots_[i].value, p);
                inverse_roots52_[i] = detail::shoup_precompute_52(inverse_roots_[i].value, p);
            }
            inverse_degree52_ = detail::shoup_precompute_52(inverse_n, p);
            last_inverse_root52_ = detail::shoup_precompute_52(last_inverse_root_.value, p);
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
    /// @throws ShapeError when values.size() != N.
    /// @throws InvalidArgumentError when an explicit avx512ifma backend cannot run.
    void forward(std::span<std::uint64_t> values,
                 NttBackend backend = NttBackend::automatic) const {
        check_size(values.size(), "ring::NttTables::forward");
        if (use_ifma(backend, "ring::NttTables::forward")) {
            const std::size_t m =
                detail::ntt_forward_ifma_stages(values.data(), n_, forward_roots_.data(),
                                                forward_roots52_.data(), modulus_.value());
            forward_scalar(values.data(), m);
        } else {
            forward_scalar(values.data(), 1);
        }
    }

    /// In place: bit-reversed evaluations in [0, q) to natural-order coefficients in [0, q).
    /// @throws ShapeError when values.size() != N.
    /// @throws InvalidArgumentError when an explicit avx512ifma backend cannot run.
    void inverse(std::span<std::uint64_t> values,
                 NttBackend backend = NttBackend::automatic) const {
        check_size(values.size(), "ring::NttTables::inverse");
        if (use_ifma(backend, "ring::NttTables::inverse")) {
            inverse_first_stages_scalar(values.data());
            detail::ntt_inverse_ifma_stages(
                values.data(), n_, inverse_roots_.data(), inverse_roots52_.data(), inverse_degree_,
                inverse_degree52_, last_inverse_root_, last_inverse_root52_, modulus_.value());
        } else {
            inverse_scalar(values.data());
        }
    }

    /// True when this modulus is small enough for the IFMA path (q < 2^50).
    [[nodiscard]] bool supports_avx512ifma() const noexcept { return !forward_roots52_.empty(); }

  private:
    bool use_ifma(NttBackend backend, const char* where) const {
        switch (backend) {
            case NttBackend::scalar:
                return false;
            case NttBackend::automatic:
                return supports_avx512ifma() && avx512ifma_available();
            case NttBackend::avx512ifma:
                if (!avx512ifma_available()) {
                    throw InvalidArgumentError(cloak::detail::message(
                        where,
                        ": the avx512ifma backend was requested but this CPU lacks "
                        "AVX-512 IFMA; use NttBackend::automatic or scalar"));
                }
                if (!supports_avx512ifma()) {
                    throw InvalidArgumentError(cloak::detail::message(
                        where, ": the avx512ifma backend needs q < 2^50 but q = ", modulus_.value(),
                        " has ", modulus_.bits(), " bits; use NttBackend::automatic or scalar"));
                }
                return true;
        }
        return false;
    }

    void check_size(std::size_t size, const char* where) const {
        if (size != n_) {
            throw ShapeError(cloak::detail::message(where, ": span of ", size,
                                                    " values given to an NTT of degree ", n_,
                                                    "; pass exactly N values"));
        }
    }

    // Reduces a lazy value in [0, 4q) to [0, q).
    static std::uint64_t reduce_from_4q(std::uint64_t v, std::uint64_t q,
                                        std::uint64_t two_q) noexcept {
        v -= v >= two_q ? two_q : 0;
        return v >= q ? v - q : v;
    }

    // Stages from m_start on (m_start = 1 runs the whole transform).
    void forward_scalar(std::uint64_t* __restrict a, std::size_t m_start) const noexcept {
        const std::uint64_t q = modulus_.value();
        const std::uint64_t two_q = 2 * q;
        // All stages but the last: Cooley-Tukey butterflies, values in [0, 4q),
        // two stages per pass over the data (radix 4) where two remain.
        std::size_t m = m_start;
        std::size_t gap = n_ / (2 * m_start);  // butterfly distance of stage m
        const auto butterfly = [q, two_q](std::uint64_t& x, std::uint64_t& y,
                                          const core::ShoupConstant& w) {
            std::uint64_t u = x;
            u -= u >= two_q ? two_q : 0;
            const std::uint64_t v = core::mul_shoup_lazy(y, w.value, w.quotient, q);
            x = u + v;
            y = u - v + two_q;
        };
        for (; 4 * m <= n_ / 2; m <<= 2, gap >>= 2) {
            const std::size_t h = gap / 2;
            for (std::size_t i = 0; i < m; ++i) {
                const core::ShoupConstant w_outer = forward_roots_[m + i];
                const core::ShoupConstant w_left = forward_roots_[2 * m + 2 * i];
                const core::ShoupConstant w_right = forward_roots_[2 * m + 2 * i + 1];
                std::uint64_t* __restrict x0 = a + 2 * i * gap;
                std::uint64_t* __restrict x1 = x0 + h;
                std::uint64_t* __restrict x2 = x1 + h;
                std::uint64_t* __restrict x3 = x2 + h;
                for (std::size_t j = 0; j < h; ++j) {
                    std::uint64_t v0 = x0[j];
                    std::uint64_t v1 = x1[j];
                    std::uint64_t v2 = x2[j];
                    std::uint64_t v3 = x3[j];
                    butterfly(v0, v2, w_outer);
                    butterfly(v1, v3, w_outer);
                    butterfly(v0, v1, w_left);
                    butterfly(v2, v3, w_right);
                    x0[j] = v0;
                    x1[j] = v1;
                    x2[j] = v2;
                    x3[j] = v3;
                }
            }
        }
        if (m < n_ / 2) {  // one stage left before the last
            for (std::size_t i = 0; i < m; ++i) {
                const core::ShoupConstant w = forward_roots_[m + i];
                std::uint64_t* __restrict x = a + 2 * i * gap;
                std::uint64_t* __restrict y = x + gap;
                for (std::size_t j = 0; j < gap; ++j) {
                    butterfly(x[j], y[j], w);
                }
            }
        }
        // Last stage (gap 1) with the final reduction to [0, q) merged in.
        const std::size_t half = n_ / 2;
        for (std::size_t i = 0; i < half; ++i) {
            const core::ShoupConstant w = forward_roots_[half + i];
            std::uint64_t u = a[2 * i];
            u -= u >= two_q ? two_q : 0;
            const std::uint64_t v = core::mul_shoup_lazy(a[2 * i + 1], w.value, w.quotient, q);
            a[2 * i] = reduce_from_4q(u + v, q, two_q);
            a[2 * i + 1] = reduce_from_4q(u - v + two_q, q, two_q);
        }
    }

    // The inverse stages with butterfly distance 1, 2 and 4 (below one IFMA vector).
    void inverse_first_stages_scalar(std::uint64_t* __restrict a) const noexcept {
        const std::uint64_t q = modulus_.value();
        const std::uint64_t two_q = 2 * q;
        for (std::size_t gap = 1, m = n_ / 2; gap <= 4; gap <<= 1, m >>= 1) {
            for (std::size_t i = 0; i < m; ++i) {
                const core::ShoupConstant w = inverse_roots_[m + i];
                std::uint64_t* __restrict x = a + 2 * i * gap;
                std::uint64_t* __restrict y = x + gap;
                for (std::size_t j = 0; j < gap; ++j) {
                    const std::uint64_t u = x[j];
                    const std::uint64_t v = y[j];
                    std::uint64_t sum = u + v;
                    sum -= sum >= two_q ? two_q : 0;
                    x[j] = sum;
                    y[j] = core::mul_shoup_lazy(u - v + two_q, w.value, w.quotient, q);
                }
            }
        }
    }

    void inverse_scalar(std::uint64_t* __restrict a) const noexcept {
        const std::uint64_t q = modulus_.value();
        const std::uint64_t two_q = 2 * q;
        // First stage (gap 1): Gentleman-Sande butterflies on adjacent pairs.
        const std::size_t half = n_ / 2;
        for (std::size_t i = 0; i < half; ++i) {
            const core::ShoupConstant w = inverse_roots_[half + i];
            const std::uint64_t u = a[2 * i];
            const std::uint64_t v = a[2 * i + 1];
            std::uint64_t sum = u + v;
            sum -= sum >= two_q ? two_q : 0;
            a[2 * i] = sum;
            a[2 * i + 1] = core::mul_shoup_lazy(u - v + two_q, w.value, w.quotient, q);
        }
        // Middle stages, values in [0, 2q), two stages per pass over the data
        // (radix 4) so each pass reads and writes the array once for two levels.
        std::size_t gap = 2;
        std::size_t m = n_ >> 2;
        for (; m >= 4; m >>= 2) {
            for (std::size_t i = 0; i < m / 2; ++i) {
                const core::ShoupConstant w_left = inverse_roots_[m + 2 * i];
                const core::ShoupConstant w_right = inverse_roots_[m + 2 * i + 1];
                const core::ShoupConstant w_outer = inverse_roots_[m / 2 + i];
                std::uint64_t* __restrict x0 = a + 4 * i * gap;
                std::uint64_t* __restrict x1 = x0 + gap;
                std::uint64_t* __restrict x2 = x1 + gap;
                std::uint64_t* __restrict x3 = x2 + gap;
                for (std::size_t j = 0; j < gap; ++j) {
                    std::uint64_t s0 = x0[j] + x1[j];
                    const std::uint64_t d0 = core::mul_shoup_lazy(x0[j] - x1[j] + two_q,
                                                                  w_left.value, w_left.quotient, q);
                    std::uint64_t s1 = x2[j] + x3[j];
                    const std::uint64_t d1 = core::mul_shoup_lazy(
                        x2[j] - x3[j] + two_q, w_right.value, w_right.quotient, q);
                    s0 -= s0 >= two_q ? two_q : 0;
                    s1 -= s1 >= two_q ? two_q : 0;
                    std::uint64_t t0 = s0 + s1;
                    std::uint64_t t1 = d0 + d1;
                    t0 -= t0 >= two_q ? two_q : 0;
                    t1 -= t1 >= two_q ? two_q : 0;
                    x0[j] = t0;
                    x1[j] = t1;
                    x2[j] =
                        core::mul_shoup_lazy(s0 - s1 + two_q, w_outer.value, w_outer.quotient, q);
                    x3[j] =
                        core::mul_shoup_lazy(d0 - d1 + two_q, w_outer.value, w_outer.quotient, q);
                }
            }
            gap <<= 2;
        }
        if (m == 2) {  // one stage left before the last
            for (std::size_t i = 0; i < 2; ++i) {
                const core::ShoupConstant w = inverse_roots_[2 + i];
                std::uint64_t* __restrict x = a + 2 * i * gap;
                std::uint64_t* __restrict y = x + gap;
                for (std::size_t j = 0; j < gap; ++j) {
                    const std::uint64_t u = x[j];
                    const std::uint64_t v = y[j];
                    std::uint64_t sum = u + v;
                    sum -= sum >= two_q ? two_q : 0;
                    x[j] = sum;
                    y[j] = core::mul_shoup_lazy(u - v + two_q, w.value, w.quotient, q);
                }
            }
        }
        // Last stage with N^-1 merged into both outputs: x = (u + v) / N and
        // y = (u - v) psi^-1 / N, fully reduced.
        const core::ShoupConstant scale = inverse_degree_;
        const core::ShoupConstant root = last_inverse_root_;
        for (std::size_t j = 0; j < half; ++j) {
            const std::uint64_t u = a[j];
            const std::uint64_t v = a[j + half];
            a[j] = core::mul_shoup(u + v, scale.value, scale.quotient, q);
            a[j + half] = core::mul_shoup(u - v + two_q, root.value, root.quotient, q);
        }
    }

    std::size_t n_;
    int log_n_;
    core::Modulus modulus_;
    std::uint64_t root_ = 0;
    std::vector<core::ShoupConstant> forward_roots_;
    std::vector<core::ShoupConstant> inverse_roots_;
    core::ShoupConstant inverse_degree_;
    core::ShoupConstant last_inverse_root_;  // psi^-rev(1) * N^-1
    // 52-bit Shoup quotients for the IFMA path (empty when q >= 2^50).
    std::vector<std::uint64_t> forward_roots52_;
    std::vector<std::uint64_t> inverse_roots52_;
    std::uint64_t inverse_degree52_ = 0;
    std::uint64_t last_inverse_root52_ = 0;
};

}  // namespace cloak::inline v0::ring
