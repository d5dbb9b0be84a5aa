// cloak: doubles to RNS residues and back (the encoder's two conversions).
//
// Decoding a CKKS plaintext needs each coefficient as a real number: the
// centered representative x in (-Q/2, Q/2] of its residues, divided by the
// scale. When Q exceeds 64 bits, a double cannot hold the CRT sum before the
// reduction mod Q (the sum is about L * Q while x may be tiny), so the sum is
// formed exactly in multiword integers and only the reduced, centered result is
// rounded to a double: x = sum_i [r_i (Q/q_i)^-1]_{q_i} (Q/q_i) - k Q.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include <cloak/core/error.hpp>
#include <cloak/core/modarith.hpp>

namespace cloak::inline v0::ring {

/// Rounds each value to the nearest integer and writes its residue modulo every
/// modulus, limb after limb: out[i * values.size() + j] = round(values[j]) mod q_i.
/// Values of any magnitude a double holds are exact: |v| >= 2^63 is split as
/// mantissa * 2^exponent and reduced piecewise (CKKS encodes at scales to 2^60 and
/// beyond, times the message).
/// @throws InvalidArgumentError for NaN or infinite values, naming the index.
/// @throws ShapeError when out does not hold moduli.size() * values.size() words.
inline void round_to_residues(std::span<const double> values, std::span<const core::Modulus> moduli,
                              std::span<std::uint64_t> out) {
    const std::size_t n = values.size();
    if (out.size() != moduli.size() * n) {
        throw ShapeError(cloak::detail::message("ring::round_to_residues: output of ", out.size(),
                                                " words for ", moduli.size(), " moduli and ", n,
                                                " values; pass moduli * values words"));
    }
    for (std::size_t j = 0; j < n; ++j) {
        const double rounded = std::round(values[j]);
        if (!std::isfinite(rounded)) {
            throw InvalidArgumentError(
                cloak::detail::message("ring::round_to_residues: value ", values[j], " at index ",
                                       j, " is not finite; inputs must be finite numbers"));
        }
        const bool negative = rounded < 0;
        const double magnitude = std::fabs(rounded);
        if (magnitude < 0x1p63) {
            const auto word = static_cast<std::uint64_t>(magnitude);
            for (std::size_t i = 0; i < moduli.size(); ++i) {
                const std::uint64_t r = moduli[i].reduce(word);
                out[i * n + j] = negative ? core::neg_mod(r, moduli[i].value()) : r;
            }
        } else {
            // magnitude = mantissa * 2^shift with a 53-bit integer mantissa.
            int exponent = 0;
            const double fraction = std::frexp(magnitude, &exponent);
            const auto mantissa = static_cast<std::uint64_t>(std::ldexp(fraction, 53));
            const auto shift = static_cast<std::uint64_t>(exponent - 53);
            for (std::size_t i = 0; i < moduli.size(); ++i) {
                const std::uint64_t power = core::pow_mod(2, shift, moduli[i]);
                const std::uint64_t r = core::mul_mod(moduli[i].reduce(mantissa), power, moduli[i]);
                out[i * n + j] = negative ? core::neg_mod(r, moduli[i].value()) : r;
            }
        }
    }
}

/// Precomputed CRT constants of one set of moduli, for composing coefficients.
class CrtComposer {
  public:
    /// @throws InvalidArgumentError for an empty set or moduli that are not coprime.
    explicit CrtComposer(std::span<const std::uint64_t> moduli)
        : moduli_(moduli.begin(), moduli.end()), words_(moduli.size() + 1) {
        if (moduli.empty()) {
            throw InvalidArgumentError("ring::CrtComposer: the set of moduli is empty");
        }
        const std::size_t count = moduli.size();
        // Q and each punctured product Q / q_i, as little-endian words.
        product_ = std::vector<std::uint64_t>(words_, 0);
        product_[0] = 1;
        for (std::uint64_t q : moduli) {
            multiply_word(product_, q);
        }
        half_product_ = product_;
        shift_right_one(half_product_);
        punctured_.assign(count * words_, 0);
        inverse_punctured_.resize(count);
        inverse_moduli_.resize(count);
        for (std::size_t i = 0; i < count; ++i) {
            std::span<std::uint64_t> punctured(punctured_.data() + i * words_, words_);
            punctured[0] = 1;
            const core::Modulus qi(moduli_[i]);
            std::uint64_t punctured_mod_qi = 1;
            for (std::size_t j = 0; j < count; ++j) {
                if (j != i) {
                    multiply_word(punctured, moduli_[j]);
                    punctured_mod_qi = core::mul_mod(punctured_mod_qi, moduli_[j] % moduli_[i], qi);
                }
            }
            inverse_punctured_[i] =
                core::ShoupConstant(core::inverse_mod(punctured_mod_qi, moduli_[i]), moduli_[i]);
            inverse_moduli_[i] = 1.0 / static_cast<double>(moduli_[i]);
            reducers_.emplace_back(moduli_[i]);
        }
        if (count >= 2) {
            second_ = core::Modulus(moduli_[1]);
            first_inverse_in_second_ = core::ShoupConstant(
                core::inverse_mod(second_.reduce(moduli_[0]), moduli_[1]), moduli_[1]);
            first_two_ = static_cast<core::uint128_t>(moduli_[0]) * moduli_[1];
        }
    }

    [[nodiscard]] std::size_t size() const noexcept { return moduli_.size(); }

    /// Composes `n` coefficients whose residues are stored limb after limb
    /// (residues[i * n + j] is coefficient j mod q_i, each in [0, q_i)), and writes
    /// the centered value times `factor` to out[j].
    /// @throws ShapeError when the spans do not hold size() * n and n values.
    void compose_centered(std::span<const std::uint64_t> residues, std::size_t n, double factor,
                          std::span<double> out) const {
        const std::size_t count = moduli_.size();
        if (residues.size() != count * n || out.size() != n) {
            throw ShapeError(cloak::detail::message(
                "ring::CrtComposer::compose_centered: ", residues.size(), " residues and ",
                out.size(), " outputs for ", count, " moduli and ", n,
                " coefficients; pass moduli * n residues and n outputs"));
        }
        std::vector<std::uint64_t> sum(words_);
        std::vector<std::uint64_t> scaled(count);
        std::vector<std::uint64_t> magnitude(words_);
        for (std::size_t j = 0; j < n; ++j) {
            // Fast path: the centered value y modulo q_0 q_1 (Garner, 128 bits) is x
            // itself when y agrees with x modulo every other prime too, since then
            // y = x mod Q and |y| < q_0 q_1 / 2 <= Q / 2. CKKS coefficients (scale
            // times message) almost always fit.
            if (count >= 2) {
                const std::uint64_t r0 = residues[j];
                const std::uint64_t r1 = residues[n + j];
                const std::uint64_t q1 = moduli_[1];
                const std::uint64_t t = core::mul_shoup(core::sub_mod(r1, second_.reduce(r0), q1),
                                                        first_inverse_in_second_.value,
                                                        first_inverse_in_second_.quotient, q1);
                const core::uint128_t y = r0 + static_cast<core::uint128_t>(moduli_[0]) * t;
                const bool negative = y > first_two_ / 2;
                const core::uint128_t size = negative ? first_two_ - y : y;
                bool agrees = true;
                for (std::size_t i = 2; i < count && agrees; ++i) {
                    const std::uint64_t r = reducers_[i].reduce(size);
                    agrees = (negative ? core::neg_mod(r, moduli_[i]) : r) == residues[i * n + j];
                }
                if (agrees) {
                    const double value = static_cast<double>(size);
                    out[j] = (negative ? -value : value) * factor;
                    continue;
                }
            }
            // y_i = r_i (Q/q_i)^-1 mod q_i, and the quotient estimate k = floor(sum y_i / q_i).
            double fraction = 0;
            for (std::size_t i = 0; i < count; ++i) {
                const core::ShoupConstant& w = inverse_punctured_[i];
                scaled[i] = core::mul_shoup(residues[i * n + j], w.value, w.quotient, moduli_[i]);
                fraction += static_cast<double>(scaled[i]) * inverse_moduli_[i];
            }
            std::fill(sum.begin(), sum.end(), 0);
            for (std::size_t i = 0; i < count; ++i) {
                multiply_accumulate(sum, {punctured_.data() + i * words_, words_}, scaled[i]);
            }
            // sum - k Q is in [0, Q) up to one correction either way: the double sum
            // of at most 64 terms below 1 is off by less than 2^-45, so k is off by at
            // most one, and only when the fraction is that close to an integer.
            const auto k = static_cast<std::uint64_t>(std::floor(fraction));
            bool negative = subtract_multiple(sum, product_, k);
            if (negative) {
                add_in_place(sum, product_);
            } else if (!less_than(sum, product_)) {
                subtract_multiple(sum, product_, 1);
            }
            // Centered: values above Q/2 stand for sum - Q < 0.
            double value = 0;
            if (less_than(half_product_, sum)) {
                std::copy(product_.begin(), product_.end(), magnitude.begin());
                subtract_multiple(magnitude, sum, 1);
                value = -to_double(magnitude);
            } else {
                value = to_double(sum);
            }
            out[j] = value * factor;
        }
    }

  private:
    using Words = std::span<std::uint64_t>;
    using ConstWords = std::span<const std::uint64_t>;

    static void multiply_word(Words value, std::uint64_t factor) noexcept {
        std::uint64_t carry = 0;
        for (std::uint64_t& word : value) {
            const core::uint128_t product = static_cast<core::uint128_t>(word) * factor + carry;
            word = static_cast<std::uint64_t>(product);
            carry = static_cast<std::uint64_t>(product >> 64);
        }
    }

    static void multiply_accumulate(Words sum, ConstWords value, std::uint64_t factor) noexcept {
        std::uint64_t carry = 0;
        for (std::size_t w = 0; w < sum.size(); ++w) {
            const core::uint128_t t =
                static_cast<core::uint128_t>(value[w]) * factor + sum[w] + carry;
            sum[w] = static_cast<std::uint64_t>(t);
            carry = static_cast<std::uint64_t>(t >> 64);
        }
    }

    // sum -= k * value; returns true when the result went below zero (two's complement).
    static bool subtract_multiple(Words sum, ConstWords value, std::uint64_t k) noexcept {
        std::uint64_t carry = 0;   // of k * value
        std::uint64_t borrow = 0;  // of the subtraction
        for (std::size_t w = 0; w < sum.size(); ++w) {
            const core::uint128_t t = static_cast<core::uint128_t>(value[w]) * k + carry;
            const auto low = static_cast<std::uint64_t>(t);
            carry = static_cast<std::uint64_t>(t >> 64);
            const std::uint64_t before = sum[w];
            const std::uint64_t after = before - low - borrow;
            borrow = (before < low || (before == low && borrow != 0)) ? 1 : 0;
            sum[w] = after;
        }
        return borrow != 0 || carry != 0;
    }

    static void add_in_place(Words sum, ConstWords value) noexcept {
        std::uint64_t carry = 0;
        for (std::size_t w = 0; w < sum.size(); ++w) {
            const core::uint128_t t = static_cast<core::uint128_t>(sum[w]) + value[w] + carry;
            sum[w] = static_cast<std::uint64_t>(t);
            carry = static_cast<std::uint64_t>(t >> 64);
        }
    }

    static bool less_than(ConstWords a, ConstWords b) noexcept {
        for (std::size_t w = a.size(); w-- > 0;) {
            if (a[w] != b[w]) {
                return a[w] < b[w];
            }
        }
        return false;
    }

    static void shift_right_one(Words value) noexcept {
        for (std::size_t w = 0; w < value.size(); ++w) {
            const std::uint64_t high = w + 1 < value.size() ? value[w + 1] : 0;
            value[w] = (value[w] >> 1) | (high << 63);
        }
    }

    // The top two nonzero words carry 64+ bits: more than a double's 53.
    static double to_double(ConstWords value) noexcept {
        std::size_t top = value.size();
        while (top > 0 && value[top - 1] == 0) {
            --top;
        }
        if (top == 0) {
            return 0;
        }
        const auto high = static_cast<long double>(value[top - 1]);
        const long double low = top >= 2 ? static_cast<long double>(value[top - 2]) : 0.0L;
        const long double combined = std::ldexp(high, 64) + low;
        const int shift = top >= 2 ? static_cast<int>(64 * (top - 2)) : -64;
        return static_cast<double>(std::ldexp(combined, shift));
    }

    std::vector<std::uint64_t> moduli_;
    std::size_t words_;
    std::vector<std::uint64_t> product_;
    std::vector<std::uint64_t> half_product_;
    std::vector<std::uint64_t> punctured_;
    std::vector<core::ShoupConstant> inverse_punctured_;
    std::vector<double> inverse_moduli_;
    std::vector<core::Modulus> reducers_;
    // The fast path's constants: q_1, q_0^-1 mod q_1, q_0 q_1.
    core::Modulus second_;
    core::ShoupConstant first_inverse_in_second_;
    core::uint128_t first_two_ = 0;
};

}  // namespace cloak::inline v0::ring
