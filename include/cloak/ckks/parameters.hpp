// cloak: CKKS parameters, in two stages.
//
// A ParametersLiteral is an unchecked aggregate filled with designated
// initializers; Parameters::from validates it, chooses the primes and checks the
// security bound, and the result is immutable. Named presets sit at the 128-bit
// bound for N = 2^13 to 2^16.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include <cloak/core/error.hpp>
#include <cloak/core/primes.hpp>
#include <cloak/rlwe/security.hpp>

namespace cloak::inline v0::ckks {

/// How the secret key's coefficients are drawn.
enum class SecretDistribution {
    /// Uniform on {-1, 0, 1}: the distribution the security table assumes (default).
    uniform_ternary,
    /// Exactly `hamming_weight` coefficients in {-1, 1}, the rest 0. Makes
    /// bootstrapping more precise (smaller ModRaise overflow), at a security cost
    /// the standard's table does not cover: see docs/parameters.md.
    sparse_ternary,
};

/// Smallest Hamming weight accepted for a sparse secret without the insecure opt-in
/// (the weight Lattigo and Bossuat et al. 2022 use at N = 2^16).
inline constexpr std::size_t min_secure_hamming_weight = 192;
inline constexpr SecretDistribution default_secret = SecretDistribution::uniform_ternary;
inline constexpr std::size_t default_hamming_weight = 192;
inline constexpr rlwe::Security default_security = rlwe::Security::classical128;
/// Standard deviation of the discrete Gaussian error (HomomorphicEncryption.org).
inline constexpr double default_error_sigma = 3.2;

/// Unchecked parameters, filled with designated initializers:
/// `{.log_n = 14, .log_q = {60, 40, 40}, .log_p = {60}, .log_scale = 40}`.
struct ParametersLiteral {
    /// log2 of the ring degree N, in [10, 17]; N / 2 complex slots.
    int log_n = 0;
    /// Bit sizes of the ciphertext primes, q0 first, then one prime per level.
    std::vector<int> log_q = {};
    /// Bit sizes of the special primes P used only by key switching.
    std::vector<int> log_p = {};
    /// log2 of the default scale; the level primes should be close to it.
    double log_scale = 0;
    /// Secret distribution (default: uniform ternary).
    std::optional<SecretDistribution> secret = std::nullopt;
    /// Hamming weight of a sparse ternary secret (default 192).
    std::optional<std::size_t> hamming_weight = std::nullopt;
    /// Number of key-switching digits (default: ceil(len(log_q) / len(log_p)),
    /// the smallest that keeps P above every digit). See docs/parameters.md.
    std::optional<std::size_t> dnum = std::nullopt;
    /// Security bound (default: 128-bit classical).
    std::optional<rlwe::Security> security = std::nullopt;
};

/// Named parameter sets at the 128-bit bound (log2(QP) at most the table value).
enum class Preset {
    /// N = 2^13, log_q {48, 40 x 3}, log_p {49}: depth 3.
    N13_QP218,
    /// N = 2^14, log_q {55, 40 x 8}, log_p {60}: depth 8.
    N14_QP438,
    /// N = 2^15, log_q {60, 40 x 18}, log_p {50, 50}: depth 18.
    N15_QP881,
    /// N = 2^16, log_q {60, 40 x 38}, log_p {55, 55, 55}: depth 38.
    N16_QP1747,
};

/// Validated, immutable CKKS parameters with their primes chosen.
class Parameters {
  public:
    /// Validates a literal and chooses the primes.
    /// @throws ParameterError for sizes out of range or inconsistent choices.
    /// @throws SecurityError when log2(QP) exceeds the 128-bit bound at N and
    ///         `security` is not rlwe::Security::insecure_for_testing_only.
    [[nodiscard]] static Parameters from(const ParametersLiteral& literal) {
        Parameters p;
        p.literal_ = literal;
        p.validate_and_build();
        return p;
    }

    /// A named parameter set at the 128-bit bound.
    [[nodiscard]] static Parameters preset(Preset preset) {
        const auto levels = [](int first, int size, int count) {
            std::vector<int> bits{first};
            bits.insert(bits.end(), static_cast<std::size_t>(count), size);
            return bits;
        };
        switch (preset) {
            case Preset::N13_QP218:
                return from(
                    {.log_n = 13, .log_q = levels(48, 40, 3), .log_p = {49}, .log_scale = 40});
            case Preset::N14_QP438:
                return from(
                    {.log_n = 14, .log_q = levels(55, 40, 8), .log_p = {60}, .log_scale = 40});
            case Preset::N15_QP881:
                return from(
                    {.log_n = 15, .log_q = levels(60, 40, 18), .log_p = {50, 50}, .log_scale = 40});
            case Preset::N16_QP1747:
                return from({.log_n = 16,
                             .log_q = levels(60, 40, 38),
                             .log_p = {55, 55, 55},
                             .log_scale = 40});
        }
        throw ParameterError(cloak::detail::message("ckks::Parameters::preset: unknown preset ",
                                                    static_cast<int>(preset)));
    }

    [[nodiscard]] int log_n() const noexcept { return literal_.log_n; }
    /// Ring degree N.
    [[nodiscard]] std::size_t degree() const noexcept { return std::size_t{1} << literal_.log_n; }
    /// Complex slots at full packing: N / 2.
    [[nodiscard]] std::size_t slots() const noexcept { return degree() / 2; }
    /// Ciphertext primes q0, q1, ..., qL.
    [[nodiscard]] const std::vector<std::uint64_t>& q_primes() const noexcept { return q_; }
    /// Special primes of key switching.
    [[nodiscard]] const std::vector<std::uint64_t>& p_primes() const noexcept { return p_; }
    /// Highest level L: a fresh ciphertext has L + 1 primes and can be rescaled L times.
    [[nodiscard]] std::size_t max_level() const noexcept { return q_.size() - 1; }
    [[nodiscard]] double log_scale() const noexcept { return literal_.log_scale; }
    /// The default scale 2^log_scale.
    [[nodiscard]] double scale() const noexcept { return std::exp2(literal_.log_scale); }
    [[nodiscard]] SecretDistribution secret_distribution() const noexcept {
        return literal_.secret.value_or(default_secret);
    }
    [[nodiscard]] std::size_t hamming_weight() const noexcept {
        return literal_.hamming_weight.value_or(default_hamming_weight);
    }
    /// Number of key-switching digits.
    [[nodiscard]] std::size_t dnum() const noexcept { return dnum_; }
    /// Primes per digit (the last digit may have fewer).
    [[nodiscard]] std::size_t digit_size() const noexcept {
        return (q_.size() + dnum_ - 1) / dnum_;
    }
    [[nodiscard]] rlwe::Security security() const noexcept {
        return literal_.security.value_or(default_security);
    }
    [[nodiscard]] bool is_secure() const noexcept {
        return security() == rlwe::Security::classical128;
    }
    [[nodiscard]] double error_sigma() const noexcept { return default_error_sigma; }
    [[nodiscard]] double log_q() const noexcept { return log_q_; }
    [[nodiscard]] double log_p() const noexcept { return log_p_; }
    /// log2(QP), the figure the security table bounds.
    [[nodiscard]] double log_qp() const noexcept { return log_q_ + log_p_; }
    /// The literal these parameters were built from.
    [[nodiscard]] const ParametersLiteral& literal() const noexcept { return literal_; }

    friend bool operator==(const Parameters& a, const Parameters& b) noexcept {
        return a.q_ == b.q_ && a.p_ == b.p_ && a.literal_.log_n == b.literal_.log_n &&
               a.literal_.log_scale == b.literal_.log_scale && a.dnum_ == b.dnum_ &&
               a.secret_distribution() == b.secret_distribution() &&
               a.hamming_weight() == b.hamming_weight() && a.security() == b.security();
    }

    /// One line: N, log QP split into Q and P, scale, dnum, secret and security.
    /// Parameters without the 128-bit bound print INSECURE first.
    friend std::ostream& operator<<(std::ostream& out, const Parameters& p) {
        std::ostringstream text;
        text.setf(std::ios::fixed);
        text.precision(1);
        if (!p.is_secure()) {
            text << "INSECURE (128-bit bound not enforced) ";
        }
        text << "ckks::Parameters{N = 2^" << p.log_n() << ", log QP = " << p.log_qp() << " (bound "
             << rlwe::max_log_qp_128(p.log_n()) << "; Q " << p.log_q() << " in " << p.q_.size()
             << " primes, P " << p.log_p() << " in " << p.p_.size() << "), scale 2^"
             << p.log_scale() << ", depth " << p.max_level() << ", dnum " << p.dnum()
             << ", secret ";
        if (p.secret_distribution() == SecretDistribution::uniform_ternary) {
            text << "uniform ternary";
        } else {
            text << "sparse ternary h = " << p.hamming_weight();
        }
        text << "}";
        return out << text.str();
    }

    [[nodiscard]] std::string to_string() const {
        std::ostringstream out;
        out << *this;
        return out.str();
    }

  private:
    Parameters() = default;

    static void check_prime_sizes(const std::vector<int>& sizes, const char* name) {
        for (std::size_t i = 0; i < sizes.size(); ++i) {
            if (sizes[i] < core::min_prime_bits || sizes[i] > core::max_prime_bits) {
                throw ParameterError(cloak::detail::message(
                    "ckks::Parameters: ", name, "[", i, "] = ", sizes[i], " bits is outside [",
                    core::min_prime_bits, ", ", core::max_prime_bits,
                    "]; choose prime sizes in that range"));
            }
        }
    }

    void validate_and_build() {
        const ParametersLiteral& lit = literal_;
        if (lit.log_n < 10 || lit.log_n > 17) {
            throw ParameterError(cloak::detail::message("ckks::Parameters: log_n = ", lit.log_n,
                                                        " is outside [10, 17] (N = 2^10 to 2^17)"));
        }
        if (lit.log_q.empty()) {
            throw ParameterError(
                "ckks::Parameters: log_q is empty; give q0 first, then one prime size per level");
        }
        if (lit.log_p.empty()) {
            throw ParameterError(
                "ckks::Parameters: log_p is empty; key switching (relinearization, rotations) "
                "needs at least one special prime, e.g. .log_p = {60}");
        }
        check_prime_sizes(lit.log_q, "log_q");
        check_prime_sizes(lit.log_p, "log_p");
        if (!(lit.log_scale >= 10 && lit.log_scale <= 60)) {
            throw ParameterError(cloak::detail::message(
                "ckks::Parameters: log_scale = ", lit.log_scale, " is outside [10, 60]"));
        }
        if (lit.log_scale >= lit.log_q[0]) {
            throw ParameterError(cloak::detail::message(
                "ckks::Parameters: log_scale = ", lit.log_scale, " is not below log_q[0] = ",
                lit.log_q[0], "; q0 must exceed the scale to leave room for the message"));
        }
        const std::size_t q_count = lit.log_q.size();
        dnum_ = lit.dnum.value_or((q_count + lit.log_p.size() - 1) / lit.log_p.size());
        if (dnum_ < 1 || dnum_ > q_count) {
            throw ParameterError(cloak::detail::message("ckks::Parameters: dnum = ", dnum_,
                                                        " is outside [1, ", q_count,
                                                        "] (the number of q primes)"));
        }
        const std::size_t n = degree();
        if (secret_distribution() == SecretDistribution::sparse_ternary) {
            const std::size_t h = hamming_weight();
            if (h < 1 || h > n) {
                throw ParameterError(cloak::detail::message(
                    "ckks::Parameters: hamming_weight = ", h, " is outside [1, N = ", n, "]"));
            }
            if (h < min_secure_hamming_weight && security() == rlwe::Security::classical128) {
                throw SecurityError(
                    cloak::detail::message("ckks::Parameters: a sparse secret of Hamming weight ",
                                           h, " is below ", min_secure_hamming_weight,
                                           "; raise hamming_weight or opt in with .security = "
                                           "rlwe::Security::insecure_for_testing_only"));
            }
        }

        // Primes: group equal sizes so that each group alternates around 2^bits.
        const std::uint64_t two_n = 2 * static_cast<std::uint64_t>(n);
        std::vector<std::uint64_t> chosen;
        const auto choose = [&](const std::vector<int>& sizes) {
            std::map<int, std::size_t> count_by_size;
            for (int bits : sizes) {
                ++count_by_size[bits];
            }
            std::map<int, std::vector<std::uint64_t>> by_size;
            for (const auto& [bits, count] : count_by_size) {
                try {
                    by_size[bits] = core::generate_ntt_primes(bits, count, two_n, chosen);
                } catch (const InvalidArgumentError& error) {
                    throw ParameterError(cloak::detail::message(
                        "ckks::Parameters: cannot find ", count, " primes of ", bits,
                        " bits for N = 2^", lit.log_n, ": ", error.what()));
                }
                chosen.insert(chosen.end(), by_size[bits].begin(), by_size[bits].end());
            }
            std::vector<std::uint64_t> primes;
            std::map<int, std::size_t> used;
            for (int bits : sizes) {
                primes.push_back(by_size[bits][used[bits]++]);
            }
            return primes;
        };
        q_ = choose(lit.log_q);
        p_ = choose(lit.log_p);
        log_q_ = 0;
        for (std::uint64_t q : q_) {
            log_q_ += std::log2(static_cast<double>(q));
        }
        log_p_ = 0;
        for (std::uint64_t p : p_) {
            log_p_ += std::log2(static_cast<double>(p));
        }
        const int bound = rlwe::max_log_qp_128(lit.log_n);
        if (security() == rlwe::Security::classical128 && log_qp() > bound) {
            throw SecurityError(cloak::detail::message(
                "ckks::Parameters: log2(QP) = ", log_qp(), " exceeds the 128-bit bound ", bound,
                " at N = 2^", lit.log_n,
                "; use fewer or smaller primes, a larger log_n, or opt in with .security = "
                "rlwe::Security::insecure_for_testing_only"));
        }
    }

    ParametersLiteral literal_;
    std::vector<std::uint64_t> q_;
    std::vector<std::uint64_t> p_;
    std::size_t dnum_ = 1;
    double log_q_ = 0;
    double log_p_ = 0;
};

}  // namespace cloak::inline v0::ckks
