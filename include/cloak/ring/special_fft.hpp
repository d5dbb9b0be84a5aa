// cloak: the CKKS canonical embedding as a "special" FFT of size n <= N / 2.
//
// CKKS packs n complex slots into a real polynomial m(X) of Z[X]/(X^N + 1). With
// gap = N / (2n), only the coefficients at multiples of gap are used, so
// m(X) = m'(Y) with Y = X^gap and m' of degree below 2n. Slot j holds
// m'(zeta^(5^j)) for zeta = exp(2 pi i / 4n): the powers 5^j (mod 4n) pick one
// root from each conjugate pair, and multiplying a slot index by 5 is what a
// rotation by one slot does (Cheon, Kim, Kim, Song 2017, section 3.1).
//
// Because 5^j = 1 (mod 4), zeta^(n 5^j) = i, so
//     slot_j = sum_{k < n} (m_k + i m_{k+n}) zeta^(5^j k),
// a length-n transform of the complex vector c_k = m_k + i m_{k+n} at the
// points zeta^(5^j). It factors like a radix-2 FFT whose twiddles follow the
// 5^j ordering; embed() evaluates it in O(n log n), and project() is its exact
// inverse. The HEAAN library introduced this factorisation; this is our own
// derivation of it: splitting k into even and odd parts at each stage, the
// point zeta^(5^j) squared is the point of index j for the half-size problem.
#pragma once

#include <cmath>
#include <complex>
#include <cstddef>
#include <cstdint>
#include <numbers>
#include <span>
#include <vector>

#include <cloak/core/bits.hpp>
#include <cloak/core/error.hpp>
#include <cloak/ring/ntt.hpp>

namespace cloak::inline v0::ring {

/// Roots and rotation-group tables for the special FFT at ring degree N.
class SpecialFft {
  public:
    /// @throws InvalidArgumentError for N outside [2^10, 2^17] or not a power of two.
    explicit SpecialFft(std::size_t n) : n_(n) {
        check_degree(n, "ring::SpecialFft");
        const std::size_t m = 2 * n;  // the 2N-th roots of unity cover every sparse size
        roots_.resize(m + 1);
        for (std::size_t k = 0; k <= m; ++k) {
            // long double keeps the table accurate to the last bit of a double.
            const long double angle = 2.0L * std::numbers::pi_v<long double> *
                                      static_cast<long double>(k) / static_cast<long double>(m);
            roots_[k] = {static_cast<double>(std::cos(angle)),
                         static_cast<double>(std::sin(angle))};
        }
        rotation_group_.resize(n / 2);
        std::uint64_t power = 1;
        for (std::size_t j = 0; j < n / 2; ++j) {
            rotation_group_[j] = power;
            power = power * 5 % m;
        }
    }

    [[nodiscard]] std::size_t degree() const noexcept { return n_; }
    /// The Galois element 5^j mod 2N that rotates slots by j.
    [[nodiscard]] std::uint64_t rotation_element(std::size_t j) const noexcept {
        return rotation_group_[j % (n_ / 2)];
    }

    /// Coefficients to slots, in place: values[k] = m_k + i m_{k+n} becomes slot k.
    /// @throws InvalidArgumentError unless values.size() is a power of two <= N / 2.
    void embed(std::span<std::complex<double>> values) const {
        const std::size_t size = check_size(values.size(), "ring::SpecialFft::embed");
        bit_reverse_permute(values);
        const std::size_t m = 2 * n_;
        for (std::size_t len = 2; len <= size; len <<= 1) {
            const std::size_t half = len / 2;
            const std::size_t root_order = 4 * len;  // zeta_{4 len}^(5^j)
            for (std::size_t start = 0; start < size; start += len) {
                for (std::size_t j = 0; j < half; ++j) {
                    const std::size_t index = (rotation_group_[j] % root_order) * (m / root_order);
                    const std::complex<double> u = values[start + j];
                    const std::complex<double> v = values[start + j + half] * roots_[index];
                    values[start + j] = u + v;
                    values[start + j + half] = u - v;
                }
            }
        }
    }

    /// Slots to coefficients, in place: the exact inverse of embed().
    /// @throws InvalidArgumentError unless values.size() is a power of two <= N / 2.
    void project(std::span<std::complex<double>> values) const {
        const std::size_t size = check_size(values.size(), "ring::SpecialFft::project");
        const std::size_t m = 2 * n_;
        for (std::size_t len = size; len >= 2; len >>= 1) {
            const std::size_t half = len / 2;
            const std::size_t root_order = 4 * len;
            for (std::size_t start = 0; start < size; start += len) {
                for (std::size_t j = 0; j < half; ++j) {
                    // The conjugate root: index (root_order - 5^j mod root_order).
                    const std::size_t index =
                        (root_order - rotation_group_[j] % root_order) * (m / root_order);
                    const std::complex<double> u = values[start + j] + values[start + j + half];
                    const std::complex<double> v =
                        (values[start + j] - values[start + j + half]) * roots_[index];
                    values[start + j] = u;
                    values[start + j + half] = v;
                }
            }
        }
        bit_reverse_permute(values);
        const double inverse_size = 1.0 / static_cast<double>(size);
        for (std::complex<double>& value : values) {
            value *= inverse_size;
        }
    }

  private:
    std::size_t check_size(std::size_t size, const char* where) const {
        if (size == 0 || !core::is_power_of_two(size) || size > n_ / 2) {
            throw InvalidArgumentError(cloak::detail::message(
                where, ": ", size,
                " slots; the slot count must be a power of two from 1 to N/2 = ", n_ / 2));
        }
        return size;
    }

    static void bit_reverse_permute(std::span<std::complex<double>> values) noexcept {
        const int bits = core::log2_floor(values.size());
        for (std::size_t i = 0; i < values.size(); ++i) {
            const auto j = static_cast<std::size_t>(core::reverse_bits(i, bits));
            if (i < j) {
                std::swap(values[i], values[j]);
            }
        }
    }

    std::size_t n_;
    std::vector<std::complex<double>> roots_;    // exp(2 pi i k / 2N), k in [0, 2N]
    std::vector<std::uint64_t> rotation_group_;  // 5^j mod 2N, j in [0, N/2)
};

}  // namespace cloak::inline v0::ring
