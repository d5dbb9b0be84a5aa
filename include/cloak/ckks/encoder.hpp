// cloak: the CKKS encoder: complex or real vectors <-> plaintext polynomials.
//
// Encoding (Cheon, Kim, Kim, Song 2017): the slots are mapped back through the
// canonical embedding by the special FFT (ring/special_fft.hpp), scaled by the
// scale, rounded to integers, and reduced into the RNS limbs of the chosen level
// (exactly, for any magnitude: ring::round_to_residues). Decoding composes the
// residues exactly with the CRT (multiword integers; ring::CrtComposer), so it
// stays exact when Q exceeds 64 bits, then divides by the scale and evaluates
// the embedding. Sparse packing: n slots (a power of two below N/2) use the
// coefficients at multiples of N / 2n.
#pragma once

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include <cloak/ckks/ciphertext.hpp>
#include <cloak/ckks/context.hpp>
#include <cloak/core/bits.hpp>
#include <cloak/core/error.hpp>
#include <cloak/ring/crt.hpp>
#include <cloak/ring/poly.hpp>

namespace cloak::inline v0::ckks {

/// Where and how to encode; every field defaults to the context's choice.
struct EncodeOptions {
    /// Level of the plaintext (default: the highest, max_level()).
    std::optional<std::size_t> level = std::nullopt;
    /// Scale (default: the parameters' 2^log_scale).
    std::optional<double> scale = std::nullopt;
    /// Slots, a power of two from 1 to N/2 (default: N/2, full packing).
    std::optional<std::size_t> slots = std::nullopt;
};

class Encoder {
  public:
    explicit Encoder(const Context& context) : context_(context) {}

    [[nodiscard]] const Context& context() const noexcept { return context_; }

    /// Encodes complex values into slots 0 .. values.size()-1 (the rest are 0).
    /// @throws InvalidArgumentError for more values than slots, NaN or infinity, a
    ///         scale that is not positive, or values too large for the level's modulus.
    /// @throws LevelError for a level above max_level().
    [[nodiscard]] Plaintext encode(std::span<const std::complex<double>> values,
                                   const EncodeOptions& options = {}) const {
        const Target target = resolve(options, values.size(), "ckks::Encoder::encode");
        std::vector<std::complex<double>> slots(target.slots);
        for (std::size_t j = 0; j < values.size(); ++j) {
            if (!std::isfinite(values[j].real()) || !std::isfinite(values[j].imag())) {
                throw InvalidArgumentError(cloak::detail::message(
                    "ckks::Encoder::encode: value ", j, " is not finite (", values[j].real(), " + ",
                    values[j].imag(), "i); inputs must be finite numbers"));
            }
            slots[j] = values[j];
        }
        context_.fft().project(slots);
        const std::size_t n = context_.degree();
        const std::size_t gap = n / (2 * target.slots);
        std::vector<double> coefficients(n, 0.0);
        for (std::size_t j = 0; j < target.slots; ++j) {
            coefficients[j * gap] = slots[j].real() * target.scale;
            coefficients[(j + target.slots) * gap] = slots[j].imag() * target.scale;
        }
        return to_plaintext(coefficients, target);
    }

    /// Encodes real values (the imaginary parts are 0).
    [[nodiscard]] Plaintext encode(std::span<const double> values,
                                   const EncodeOptions& options = {}) const {
        std::vector<std::complex<double>> complex_values(values.begin(), values.end());
        return encode(std::span<const std::complex<double>>(complex_values), options);
    }

    /// Encodes one constant into every slot: a constant polynomial (the
    /// imaginary part rides on X^(N/2), which every slot evaluates to i).
    [[nodiscard]] Plaintext encode(std::complex<double> value,
                                   const EncodeOptions& options = {}) const {
        const Target target = resolve(options, 1, "ckks::Encoder::encode");
        if (!std::isfinite(value.real()) || !std::isfinite(value.imag())) {
            throw InvalidArgumentError(cloak::detail::message("ckks::Encoder::encode: constant ",
                                                              value.real(), " + ", value.imag(),
                                                              "i is not finite"));
        }
        std::vector<double> coefficients(context_.degree(), 0.0);
        coefficients[0] = value.real() * target.scale;
        coefficients[context_.degree() / 2] = value.imag() * target.scale;
        return to_plaintext(coefficients, target);
    }

    [[nodiscard]] Plaintext encode(double value, const EncodeOptions& options = {}) const {
        return encode(std::complex<double>(value, 0.0), options);
    }

    /// The complex slots of a plaintext.
    /// @throws InvalidArgumentError for a plaintext of another context.
    [[nodiscard]] std::vector<std::complex<double>> decode(const Plaintext& plaintext) const {
        const std::size_t level = context_.level_of(plaintext.poly(), "ckks::Encoder::decode");
        const std::size_t n = context_.degree();
        const std::size_t slots = plaintext.slots();
        const std::size_t gap = n / (2 * slots);
        ring::Poly poly = plaintext.poly();
        poly.to_coefficient();
        // Only the 2 * slots coefficients at multiples of gap carry the message.
        const std::size_t limbs = poly.limbs();
        std::vector<std::uint64_t> residues(limbs * 2 * slots);
        for (std::size_t i = 0; i < limbs; ++i) {
            const std::span<const std::uint64_t> limb = poly.limb(i);
            for (std::size_t k = 0; k < 2 * slots; ++k) {
                residues[i * 2 * slots + k] = limb[k * gap];
            }
        }
        std::vector<double> coefficients(2 * slots);
        context_.level(level).crt->compose_centered(residues, 2 * slots, 1.0 / plaintext.scale(),
                                                    coefficients);
        std::vector<std::complex<double>> values(slots);
        for (std::size_t j = 0; j < slots; ++j) {
            values[j] = {coefficients[j], coefficients[j + slots]};
        }
        context_.fft().embed(values);
        return values;
    }

    /// The real parts of the slots.
    [[nodiscard]] std::vector<double> decode_real(const Plaintext& plaintext) const {
        const std::vector<std::complex<double>> values = decode(plaintext);
        std::vector<double> real(values.size());
        std::transform(values.begin(), values.end(), real.begin(),
                       [](const std::complex<double>& v) { return v.real(); });
        return real;
    }

  private:
    struct Target {
        std::size_t level;
        double scale;
        std::size_t slots;
    };

    Target resolve(const EncodeOptions& options, std::size_t count, const char* where) const {
        Target target{options.level.value_or(context_.max_level()),
                      options.scale.value_or(context_.scale()),
                      options.slots.value_or(context_.slots())};
        if (target.level > context_.max_level()) {
            throw LevelError(cloak::detail::message(where, ": level ", target.level,
                                                    " is above the highest level ",
                                                    context_.max_level()));
        }
        if (!(target.scale > 0) || !std::isfinite(target.scale)) {
            throw InvalidArgumentError(
                cloak::detail::message(where, ": scale ", target.scale, " must be positive"));
        }
        if (target.slots == 0 || !core::is_power_of_two(target.slots) ||
            target.slots > context_.slots()) {
            throw InvalidArgumentError(cloak::detail::message(
                where, ": ", target.slots,
                " slots; choose a power of two from 1 to N/2 = ", context_.slots()));
        }
        if (count > target.slots) {
            throw InvalidArgumentError(cloak::detail::message(
                where, ": ", count, " values for ", target.slots, " slots; pass at most ",
                target.slots, " values or use more slots (at most N/2 = ", context_.slots(), ")"));
        }
        return target;
    }

    Plaintext to_plaintext(const std::vector<double>& coefficients, const Target& target) const {
        const detail::LevelData& level = context_.level(target.level);
        // Coefficients must stay below Q_l / 2 in magnitude, or decoding wraps around.
        double largest = 0;
        for (double c : coefficients) {
            largest = std::max(largest, std::fabs(c));
        }
        double log_q = 0;
        for (std::uint64_t q : level.q->values()) {
            log_q += std::log2(static_cast<double>(q));
        }
        if (largest > 0 && std::log2(largest) + 1 >= log_q) {
            throw InvalidArgumentError(cloak::detail::message(
                "ckks::Encoder::encode: scaled values reach 2^", std::log2(largest),
                ", beyond the 2^", log_q - 1, " that level ", target.level,
                " holds; use a smaller scale, smaller values, or a higher level"));
        }
        ring::Poly poly(level.q, ring::Form::coefficient);
        ring::round_to_residues(coefficients, level.q->moduli(), poly.data());
        poly.to_evaluation();
        return Plaintext(std::move(poly), target.scale, target.slots);
    }

    Context context_;
};

/// -log2 of the largest absolute difference between two vectors, the
/// precision measure of cloak's tests and benchmarks (Lattigo's precision.go
/// reports the same figure). Equal vectors give +infinity.
/// @throws InvalidArgumentError when the sizes differ.
template <typename T>
[[nodiscard]] double precision_bits(std::span<const T> actual, std::span<const T> expected) {
    if (actual.size() != expected.size()) {
        throw InvalidArgumentError(cloak::detail::message(
            "ckks::precision_bits: ", actual.size(), " values vs ", expected.size(), " expected"));
    }
    double worst = 0;
    for (std::size_t i = 0; i < actual.size(); ++i) {
        worst = std::max(worst, static_cast<double>(std::abs(actual[i] - expected[i])));
    }
    return -std::log2(worst);
}

template <typename T>
[[nodiscard]] double precision_bits(const std::vector<T>& actual, const std::vector<T>& expected) {
    return precision_bits(std::span<const T>(actual), std::span<const T>(expected));
}

}  // namespace cloak::inline v0::ckks
