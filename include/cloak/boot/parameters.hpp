// cloak: bootstrapping parameters, in two stages like ckks::ParametersLiteral.
//
// A boot::ParametersLiteral names the user's part of the modulus chain (q0 and
// the levels left after bootstrapping) and the bootstrapping circuit's parts
// (CoeffToSlot, EvalMod, SlotToCoeff levels with their prime sizes, the EvalMod
// interval K, the cosine degree and the double-angle count r). Parameters::from
// validates it and lays the chain out as one ckks::Parameters, bottom to top:
//
//     q0 | user levels | SlotToCoeff | EvalMod (cosine, then r squarings) | CoeffToSlot
//
// A bootstrapped ciphertext comes out at the top of the user levels; the levels
// above are consumed by the circuit, from the top down (Cheon, Han, Kim, Kim,
// Song 2018; Han and Ki 2020 for the cosine and double angles; Bossuat et al.
// 2021 for the layout of the chain and the prime sizes).
//
// Precision budget (docs/bootstrapping.md): an error dy in a CoeffToSlot slot
// y = P_k / (q0 K) becomes an error K q0 dy / scale in a coefficient of the
// message, and SlotToCoeff sums N of those into each slot. dy is the rounding
// noise of rescaling and key switching at the circuit scale S, which with a
// dense secret grows like N / S. So the message keeps about
// log2 S - log2(K q0 / scale) - log2 N + a few bits: measured 28.4 bits mean at
// N = 2^12 and 24.9 at N = 2^16 (S = 2^61, K = 16, q0 / scale = 2^8). The
// arcsine correction leaves a relative error of 3/40 (2 pi m_k / q0)^4 on a
// coefficient m_k, 2^-25 for a constant message at q0 / scale = 2^8, and far
// less for spread-out messages, whose coefficients are about |m| / sqrt(N).
#pragma once

#include <cmath>
#include <cstddef>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include <cloak/ckks/parameters.hpp>
#include <cloak/ckks/polynomial.hpp>
#include <cloak/core/bits.hpp>
#include <cloak/core/error.hpp>
#include <cloak/rlwe/security.hpp>

namespace cloak::inline v0::boot {

/// EvalMod approximates the modular reduction on [-K, K]. With the h = 32
/// ephemeral secret of encapsulation, |I| > 15.5 has probability about 2^-106
/// per bootstrap at N = 2^16 (an Irwin-Hall tail; 2^-29 for K = 12).
inline constexpr double default_k = 16;
/// Degree of the Chebyshev interpolant of the scaled cosine: 191 interpolates
/// sin(2 pi K y) directly (8 levels) to below the noise.
inline constexpr std::size_t default_cosine_degree = 191;
/// Double-angle steps r: the cosine is interpolated at 2 pi t / 2^r. Each step
/// saves polynomial degree but multiplies the error by up to 4; measured at
/// N = 2^12 with a dense secret, r = 0 and degree 191 keep 28.4 bits mean against
/// 27.1 for r = 3 and degree 63, in one level less (Han and Ki 2020 introduced
/// the steps for smaller scales than the 61-bit EvalMod primes used here).
inline constexpr std::size_t default_double_angle = 0;
/// Arcsine correction of degree 3 after the double angles (Bossuat et al. 2021,
/// section 6): two more levels, and messages with large coefficients (a constant
/// 1 has coefficient 1, not 1 / sqrt(N)) keep their precision at a small q0 / scale.
inline constexpr bool default_arcsine_correction = true;
/// Levels (factors of the homomorphic special FFT) of CoeffToSlot and SlotToCoeff.
inline constexpr std::size_t default_coeffs_to_slots_levels = 3;
inline constexpr std::size_t default_slots_to_coeffs_levels = 3;
/// Prime sizes of the circuit's levels; the EvalMod primes also set the scale
/// the circuit computes at (2^log_eval_mod_prime). Precision is about
/// log2(circuit scale) minus a loss that grows with N (dense-secret rounding
/// noise and the sum over N coefficients per slot), so EvalMod gets the largest
/// primes (61 bits: +1 bit over 60 at N = 2^16). CoeffToSlot's diagonals hold
/// values near S / (2 q0 K) and SlotToCoeff's spread their factor q0 / (12 pi S)
/// over its levels, so both keep 37+ bits of encoding precision with smaller primes.
inline constexpr int default_log_coeffs_to_slots_prime = 52;
inline constexpr int default_log_eval_mod_prime = 61;
inline constexpr int default_log_slots_to_coeffs_prime = 42;
/// Meta-BTS: the first bootstrap's error is scaled by 2^this before the second.
inline constexpr int default_meta_gain_bits = 20;
/// Weight of the ephemeral secret of sparse-secret encapsulation (Bossuat et al. 2022).
inline constexpr std::size_t default_encapsulation_hamming_weight = 32;
inline constexpr int default_log_encapsulation_prime = 61;
/// Standard deviations of the ModRaise overflow I that K must cover: a
/// coefficient of c1 s is a sum of h terms uniform in [-q0 / 2, q0 / 2], so I
/// has deviation sqrt(h / 12); 6 of them leave a failure chance of about 2^-28
/// per coefficient before the (much thinner) bounded tail of that sum.
inline constexpr double overflow_deviations = 6.0;

/// Unchecked bootstrapping parameters, filled with designated initializers.
struct ParametersLiteral {
    /// log2 of the ring degree N.
    int log_n = 0;
    /// Bits of q0, the modulus a level-0 ciphertext lives under.
    int log_q0 = 0;
    /// Bits of the primes of the levels left to the user after bootstrapping.
    std::vector<int> log_q_user = {};
    /// Bits of the special primes of key switching.
    std::vector<int> log_p = {};
    /// log2 of the user's scale; log_q0 - log_scale is the message ratio.
    double log_scale = 0;
    /// Secret distribution (default: uniform ternary) and sparse weight h.
    std::optional<ckks::SecretDistribution> secret = std::nullopt;
    std::optional<std::size_t> hamming_weight = std::nullopt;
    /// Key-switching digits (default: ckks's choice).
    std::optional<std::size_t> dnum = std::nullopt;
    std::optional<rlwe::Security> security = std::nullopt;
    /// Slots bootstrapped: a power of two from 2 to N/2 (default N/2). Fewer
    /// slots cost log2(N / 2n) more rotations (a trace) but run EvalMod once
    /// instead of twice, on both halves packed in 2n slots.
    std::optional<std::size_t> slots = std::nullopt;
    /// EvalMod interval bound K: |m / q0 + I| must stay below it.
    std::optional<double> k = std::nullopt;
    std::optional<std::size_t> cosine_degree = std::nullopt;
    std::optional<std::size_t> double_angle = std::nullopt;
    std::optional<bool> arcsine_correction = std::nullopt;
    std::optional<std::size_t> coeffs_to_slots_levels = std::nullopt;
    std::optional<std::size_t> slots_to_coeffs_levels = std::nullopt;
    std::optional<int> log_coeffs_to_slots_prime = std::nullopt;
    std::optional<int> log_eval_mod_prime = std::nullopt;
    std::optional<int> log_slots_to_coeffs_prime = std::nullopt;
    /// Sparse-secret encapsulation (boot/encapsulation.hpp): the weight of the
    /// ephemeral secret ModRaise runs under. Default 32 for a uniform ternary
    /// secret, 0 (off) for a sparse one; 0 turns it off.
    std::optional<std::size_t> encapsulation_hamming_weight = std::nullopt;
    /// Bits of the extra prime p' of the encapsulation key (modulus q0 p').
    std::optional<int> log_encapsulation_prime = std::nullopt;
};

/// Named bootstrapping parameter sets.
enum class Preset {
    /// INSECURE (tests and demos): N = 2^12, full 2048 slots, sparse secret
    /// h = 64, q0 48 bits, scale 2^40, 3 user levels, K = 16, sine degree 191,
    /// arcsine correction, CoeffToSlot 3 levels, SlotToCoeff 3 levels: 20 primes
    /// in all. No encapsulation (the secret is already sparse).
    N12_insecure,
    /// INSECURE: the same circuit at N = 2^13 (4096 slots), h = 64.
    N13_insecure,
    /// 128-bit secure, full slots: N = 2^16 (32768 complex slots), a dense
    /// uniform ternary secret, log QP = 1741 (bound 1747), sparse-secret
    /// encapsulation (h = 32), q0 48 bits, scale 2^40, 9 levels of 40 bits left
    /// to the user, dnum 4 over nine 49-bit special primes (AVX-512 IFMA kernels).
    /// Keys: about 5.7 GiB. Measured in docs/bootstrapping.md.
    N16_dense,
    /// N16_dense bootstrapping 4096 slots (sparse packing): a trace of 3
    /// rotations, and one EvalMod on both halves instead of two.
    N16_dense_sparse,
};

/// Validated bootstrapping parameters: the CKKS chain and the circuit's shape.
class Parameters {
  public:
    /// @throws ParameterError for shapes that cannot work (slots, degrees, levels);
    ///         the ckks::Parameters errors for the chain itself.
    [[nodiscard]] static Parameters from(const ParametersLiteral& literal) {
        Parameters p;
        p.literal_ = literal;
        p.validate_and_build();
        return p;
    }

    [[nodiscard]] static Parameters preset(Preset preset) { return from(preset_literal(preset)); }

    /// A preset bootstrapping `slots` slots (a power of two from 2 to N/2).
    /// @throws ParameterError for another slot count, or one too small for the
    ///         preset's 3 + 3 FFT levels (at least 2^3 slots).
    [[nodiscard]] static Parameters preset(Preset preset, std::size_t slots) {
        ParametersLiteral literal = preset_literal(preset);
        literal.slots = slots;
        return from(literal);
    }

    /// The literal behind a preset, to adjust before Parameters::from.
    [[nodiscard]] static ParametersLiteral preset_literal(Preset preset) {
        switch (preset) {
            case Preset::N12_insecure:
            case Preset::N13_insecure:
                return {.log_n = preset == Preset::N12_insecure ? 12 : 13,
                        .log_q0 = 48,
                        .log_q_user = {40, 40, 40},
                        .log_p = {61, 61, 61, 61},
                        .log_scale = 40,
                        .secret = ckks::SecretDistribution::sparse_ternary,
                        .hamming_weight = 64,
                        .security = rlwe::Security::insecure_for_testing_only};
            case Preset::N16_dense:
            case Preset::N16_dense_sparse:
                return {.log_n = 16,
                        .log_q0 = 48,
                        .log_q_user = std::vector<int>(9, 40),
                        .log_p = std::vector<int>(9, 49),
                        .log_scale = 40,
                        .dnum = 4,
                        .slots = preset == Preset::N16_dense_sparse
                                     ? std::optional<std::size_t>(4096)
                                     : std::nullopt};
        }
        throw ParameterError(cloak::detail::message("boot::Parameters::preset: unknown preset ",
                                                    static_cast<int>(preset)));
    }

    /// The CKKS parameters of the whole chain: build the ckks::Context from them.
    [[nodiscard]] const ckks::Parameters& ckks() const noexcept { return *ckks_; }
    [[nodiscard]] const ParametersLiteral& literal() const noexcept { return literal_; }

    [[nodiscard]] std::size_t slots() const noexcept {
        return literal_.slots.value_or(ckks_->slots());
    }
    [[nodiscard]] double k() const noexcept { return literal_.k.value_or(default_k); }
    [[nodiscard]] std::size_t cosine_degree() const noexcept {
        return literal_.cosine_degree.value_or(default_cosine_degree);
    }
    [[nodiscard]] std::size_t double_angle() const noexcept {
        return literal_.double_angle.value_or(default_double_angle);
    }
    [[nodiscard]] bool arcsine_correction() const noexcept {
        return literal_.arcsine_correction.value_or(default_arcsine_correction);
    }
    [[nodiscard]] std::size_t coeffs_to_slots_levels() const noexcept {
        return literal_.coeffs_to_slots_levels.value_or(default_coeffs_to_slots_levels);
    }
    [[nodiscard]] std::size_t slots_to_coeffs_levels() const noexcept {
        return literal_.slots_to_coeffs_levels.value_or(default_slots_to_coeffs_levels);
    }
    /// Levels of the cosine's evaluation: ceil(log2(degree + 1)) (on [-1, 1]).
    [[nodiscard]] std::size_t cosine_levels() const noexcept {
        return static_cast<std::size_t>(core::ceil_log2(cosine_degree() + 1));
    }
    /// Levels of EvalMod: the cosine, r squarings and 2 for the arcsine correction.
    [[nodiscard]] std::size_t eval_mod_levels() const noexcept {
        return cosine_levels() + double_angle() + (arcsine_correction() ? 2 : 0);
    }
    /// Levels the whole circuit consumes.
    [[nodiscard]] std::size_t bootstrapping_levels() const noexcept {
        return coeffs_to_slots_levels() + eval_mod_levels() + slots_to_coeffs_levels();
    }
    /// Weight of the ephemeral sparse secret ModRaise runs under; 0 when the
    /// ciphertext is raised under the user's own secret.
    [[nodiscard]] std::size_t encapsulation_hamming_weight() const noexcept {
        const bool dense = literal_.secret.value_or(ckks::SecretDistribution::uniform_ternary) ==
                           ckks::SecretDistribution::uniform_ternary;
        return literal_.encapsulation_hamming_weight.value_or(
            dense ? default_encapsulation_hamming_weight : 0);
    }
    [[nodiscard]] int log_encapsulation_prime() const noexcept {
        return literal_.log_encapsulation_prime.value_or(default_log_encapsulation_prime);
    }
    /// The Hamming weight of the secret ModRaise sees (the ephemeral one under
    /// encapsulation) and the bound overflow_deviations sqrt(h / 12) + 1 / 2 on
    /// |I| that K must cover.
    [[nodiscard]] std::size_t mod_raise_hamming_weight() const noexcept {
        const std::size_t encapsulated = encapsulation_hamming_weight();
        if (encapsulated != 0) {
            return encapsulated;
        }
        return ckks_->secret_distribution() == ckks::SecretDistribution::sparse_ternary
                   ? ckks_->hamming_weight()
                   : 2 * ckks_->degree() / 3;  // uniform ternary: 2N/3 non-zero on average
    }
    [[nodiscard]] double overflow_bound() const noexcept {
        return overflow_deviations *
                   std::sqrt(static_cast<double>(mod_raise_hamming_weight()) / 12.0) +
               0.5;
    }

    /// The level of a bootstrapped ciphertext: the levels left to the user.
    [[nodiscard]] std::size_t output_level() const noexcept { return literal_.log_q_user.size(); }
    /// The scale the circuit computes at: 2^log_eval_mod_prime.
    [[nodiscard]] double circuit_scale() const noexcept {
        return std::exp2(literal_.log_eval_mod_prime.value_or(default_log_eval_mod_prime));
    }

    friend std::ostream& operator<<(std::ostream& out, const Parameters& p) {
        std::ostringstream text;
        text << "boot::Parameters{" << p.ckks() << ", slots " << p.slots() << ", K " << p.k()
             << ", cosine degree " << p.cosine_degree() << ", double angles " << p.double_angle()
             << (p.arcsine_correction() ? ", arcsine correction" : "");
        if (p.encapsulation_hamming_weight() != 0) {
            text << ", sparse-secret encapsulation h = " << p.encapsulation_hamming_weight();
        }
        text << ", levels CoeffToSlot " << p.coeffs_to_slots_levels() << " + EvalMod "
             << p.eval_mod_levels() << " + SlotToCoeff " << p.slots_to_coeffs_levels()
             << ", levels left " << p.output_level() << "}";
        return out << text.str();
    }

    [[nodiscard]] std::string to_string() const {
        std::ostringstream out;
        out << *this;
        return out.str();
    }

  private:
    Parameters() = default;

    void validate_and_build() {
        const ParametersLiteral& lit = literal_;
        const char* where = "boot::Parameters";
        if (lit.log_q_user.empty()) {
            throw ParameterError(cloak::detail::message(
                where,
                ": log_q_user is empty; a bootstrapped ciphertext needs at least one level left "
                "for the user, e.g. .log_q_user = {40, 40, 40}"));
        }
        if (!(lit.log_scale > 0) || lit.log_scale >= lit.log_q0) {
            throw ParameterError(cloak::detail::message(
                where, ": log_scale = ", lit.log_scale, " must be positive and below log_q0 = ",
                lit.log_q0, " (q0 / scale is the message ratio, 2^8 in the presets)"));
        }
        if (!(k() >= 1) || !std::isfinite(k())) {
            throw ParameterError(cloak::detail::message(
                where, ": K = ", k(),
                " must be at least 1 (EvalMod's interval [-K, K] holds m / q0 + I)"));
        }
        if (cosine_degree() < 2 || cosine_degree() > ckks::max_polynomial_degree) {
            throw ParameterError(
                cloak::detail::message(where, ": cosine_degree = ", cosine_degree(),
                                       " is outside [2, ", ckks::max_polynomial_degree, "]"));
        }
        if (coeffs_to_slots_levels() < 1 || slots_to_coeffs_levels() < 1) {
            throw ParameterError(cloak::detail::message(
                where, ": coeffs_to_slots_levels = ", coeffs_to_slots_levels(),
                " and slots_to_coeffs_levels = ", slots_to_coeffs_levels(),
                " must both be at least 1"));
        }
        check_level_budget();
        std::vector<int> log_q{lit.log_q0};
        log_q.insert(log_q.end(), lit.log_q_user.begin(), lit.log_q_user.end());
        log_q.insert(log_q.end(), slots_to_coeffs_levels(),
                     lit.log_slots_to_coeffs_prime.value_or(default_log_slots_to_coeffs_prime));
        log_q.insert(log_q.end(), eval_mod_levels(),
                     lit.log_eval_mod_prime.value_or(default_log_eval_mod_prime));
        log_q.insert(log_q.end(), coeffs_to_slots_levels(),
                     lit.log_coeffs_to_slots_prime.value_or(default_log_coeffs_to_slots_prime));
        ckks_ = ckks::Parameters::from({.log_n = lit.log_n,
                                        .log_q = log_q,
                                        .log_p = lit.log_p,
                                        .log_scale = lit.log_scale,
                                        .secret = lit.secret,
                                        .hamming_weight = lit.hamming_weight,
                                        .dnum = lit.dnum,
                                        .security = lit.security});
        if (encapsulation_hamming_weight() > ckks_->degree()) {
            throw ParameterError(cloak::detail::message(
                where, ": encapsulation_hamming_weight = ", encapsulation_hamming_weight(),
                " exceeds N = ", ckks_->degree(), "; 32 is the usual choice"));
        }
        if (k() < overflow_bound()) {
            throw ParameterError(cloak::detail::message(
                where, ": K = ", k(), " is below the ModRaise overflow bound of about ",
                std::ceil(overflow_bound()), " (", overflow_deviations,
                " deviations of I for a secret of weight ", mod_raise_hamming_weight(),
                "); raise K, or use sparse-secret encapsulation (.encapsulation_hamming_weight = "
                "32, the default for a dense secret)"));
        }
        const std::size_t n = slots();
        if (n < 2 || n > ckks_->slots() || !core::is_power_of_two(n)) {
            throw ParameterError(cloak::detail::message(
                where, ": slots = ", n, " is not a power of two in [2, N/2 = ", ckks_->slots(),
                "]; leave it unset for full packing"));
        }
        const auto log_slots = static_cast<std::size_t>(core::log2_floor(n));
        if (coeffs_to_slots_levels() > log_slots || slots_to_coeffs_levels() > log_slots) {
            throw ParameterError(cloak::detail::message(
                where, ": ", coeffs_to_slots_levels(), " CoeffToSlot and ",
                slots_to_coeffs_levels(), " SlotToCoeff levels for a special FFT of ", log_slots,
                " stages; use at most ", log_slots, " levels each"));
        }
    }

    // The circuit's levels and the user's must fit under the 128-bit bound
    // together: say how many user levels do (ckks::Parameters would only name
    // log QP).
    void check_level_budget() const {
        const ParametersLiteral& lit = literal_;
        if (lit.security.value_or(rlwe::Security::classical128) != rlwe::Security::classical128 ||
            lit.log_n < 10 || lit.log_n > 17) {
            return;
        }
        const int circuit_bits =
            static_cast<int>(coeffs_to_slots_levels()) *
                lit.log_coeffs_to_slots_prime.value_or(default_log_coeffs_to_slots_prime) +
            static_cast<int>(eval_mod_levels()) *
                lit.log_eval_mod_prime.value_or(default_log_eval_mod_prime) +
            static_cast<int>(slots_to_coeffs_levels()) *
                lit.log_slots_to_coeffs_prime.value_or(default_log_slots_to_coeffs_prime);
        int user_bits = 0;
        for (int bits : lit.log_q_user) {
            user_bits += bits;
        }
        int p_bits = 0;
        for (int bits : lit.log_p) {
            p_bits += bits;
        }
        const int bound = rlwe::max_log_qp_128(lit.log_n);
        const int total = lit.log_q0 + user_bits + circuit_bits + p_bits;
        if (total <= bound) {
            return;
        }
        const int user_prime = lit.log_q_user.empty() ? 40 : lit.log_q_user.front();
        const int room = bound - lit.log_q0 - circuit_bits - p_bits;
        const int fit = room > 0 ? room / user_prime : 0;
        throw SecurityError(cloak::detail::message(
            "boot::Parameters: bootstrapping needs ", bootstrapping_levels(),
            " levels (CoeffToSlot ", coeffs_to_slots_levels(), " + EvalMod ", eval_mod_levels(),
            " + SlotToCoeff ", slots_to_coeffs_levels(), ", ", circuit_bits, " bits) and the ",
            lit.log_q_user.size(), " user levels need ", user_bits,
            " bits; with q0 and P, log QP = ", total, " exceeds the 128-bit bound ", bound,
            " at N = 2^", lit.log_n, ": ", fit, " user levels of ", user_prime,
            " bits are available. Use fewer user levels, smaller primes or a larger N"));
    }

    ParametersLiteral literal_;
    std::optional<ckks::Parameters> ckks_;
};

}  // namespace cloak::inline v0::boot
