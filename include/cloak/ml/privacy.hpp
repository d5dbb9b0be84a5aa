// cloak: differential privacy for the aggregated gradient.
//
// The Gaussian mechanism (Dwork and Roth 2014, appendix A) adds N(0, sigma^2)
// noise to each coordinate of a query whose L2 sensitivity is Delta. Its Renyi
// differential privacy (Mironov, "Renyi differential privacy", CSF 2017,
// proposition 7) at order alpha > 1 is
//
//     eps_RDP(alpha) = alpha Delta^2 / (2 sigma^2),
//
// RDP composes additively over the T noisy gradient steps of a training run
// (Mironov 2017, proposition 1), and converts to (epsilon, delta)-DP by
//
//     epsilon = min_alpha [eps_RDP(alpha) + ln(1/delta) / (alpha - 1)]
//
// (Mironov 2017, proposition 3), or by the tighter bound of Canonne, Kamath and
// Steinke 2020 ("The discrete Gaussian for differential privacy", proposition
// 12; also Balle, Barthe, Gaboardi, Hsu, Sato 2020, "Hypothesis testing
// interpretations and Renyi differential privacy", theorem 21):
//
//     epsilon = min_alpha [eps_RDP(alpha) + ln((alpha - 1) / alpha)
//                          - (ln delta + ln alpha) / (alpha - 1)].
//
// Sensitivity of the averaged logistic gradient. With features in [-1, 1]^d
// (ml::Normalizer with Scaling::max_abs or min_max, clipped or with public
// bounds), labels y in {-1, +1} and z_i = y_i (1, x_i), each sample's term
// sigma(-z_i . w) z_i has L2 norm at most B sqrt(d + 1), B = sup |sigma| over
// the reachable inputs (1 for the exact sigmoid; a polynomial sigmoid needs its
// own bound on the interval the inner products stay in). Neighbouring datasets
// here are of the same public size n and differ in one sample (the
// replace-one relation), so the average (1/n) sum changes by at most
// 2 B sqrt(d + 1) / n. No per-sample clipping is needed: normalization bounds
// the inputs.
//
// Subsampling is not amplified: every step is charged as a full Gaussian
// mechanism on the whole dataset, which over-charges mini-batch training (a
// valid, conservative bound).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <numbers>
#include <optional>
#include <ostream>
#include <span>
#include <sstream>
#include <vector>

#include <cloak/core/error.hpp>
#include <cloak/core/random.hpp>

namespace cloak::inline v0::ml {

namespace detail {

inline void check_positive(const char* function, const char* name, double value, const char* fix) {
    if (!(value > 0) || !std::isfinite(value)) {
        throw InvalidArgumentError(cloak::detail::message(function, ": ", name, " = ", value,
                                                          " must be positive and finite; ", fix));
    }
}

inline void check_delta(const char* function, double delta) {
    if (!(delta > 0 && delta < 1)) {
        throw InvalidArgumentError(cloak::detail::message(
            function, ": delta = ", delta,
            " is outside (0, 1); pass a failure probability well below 1/n, such as 1e-5"));
    }
}

}  // namespace detail

/// The Gaussian mechanism: N(0, sigma^2) noise on each coordinate of a query
/// of L2 sensitivity `sensitivity`. An aggregate: `ml::GaussianMechanism{0.1, 2.0}`.
struct GaussianMechanism {
    /// L2 sensitivity Delta of the query under the neighbouring relation used.
    double sensitivity = 0;
    /// Standard deviation of the noise (absolute, not a multiple of Delta).
    double sigma = 0;

    /// @throws InvalidArgumentError unless both are positive and finite.
    void validate() const {
        detail::check_positive("ml::GaussianMechanism", "sensitivity", sensitivity,
                               "bound how far one sample moves the query (e.g. "
                               "ml::logistic_gradient_sensitivity)");
        detail::check_positive("ml::GaussianMechanism", "sigma", sigma,
                               "choose the noise by ml::sigma_for_epsilon");
    }

    /// sigma / Delta: the noise multiplier.
    [[nodiscard]] double noise_multiplier() const { return sigma / sensitivity; }

    /// RDP at order alpha > 1: alpha Delta^2 / (2 sigma^2).
    /// @throws InvalidArgumentError for alpha <= 1 or an invalid mechanism.
    [[nodiscard]] double rdp(double alpha) const {
        validate();
        if (!(alpha > 1) || !std::isfinite(alpha)) {
            throw InvalidArgumentError(cloak::detail::message(
                "ml::GaussianMechanism::rdp: order ", alpha, " must be finite and above 1"));
        }
        return alpha * sensitivity * sensitivity / (2 * sigma * sigma);
    }

    /// Adds N(0, sigma^2) to each value, from the CSPRNG stream `prng`.
    /// @throws InvalidArgumentError for an invalid mechanism.
    void add_noise(std::span<double> values, core::Prng& prng) const;
};

/// How RDP converts to (epsilon, delta).
enum class RdpConversion {
    /// epsilon = rdp + ln(1/delta) / (alpha - 1) (Mironov 2017, proposition 3).
    mironov,
    /// epsilon = rdp + ln((alpha - 1)/alpha) - (ln delta + ln alpha) / (alpha - 1)
    /// (Canonne, Kamath, Steinke 2020; Balle et al. 2020): always smaller.
    canonne_kamath_steinke,
};

inline constexpr RdpConversion default_rdp_conversion = RdpConversion::canonne_kamath_steinke;

/// A privacy guarantee: (epsilon, delta)-DP, attained at RDP order `order`.
struct PrivacySpent {
    double epsilon = 0;
    double delta = 0;
    /// The order alpha that minimised the conversion (0 when nothing was spent).
    double order = 0;

    friend std::ostream& operator<<(std::ostream& out, const PrivacySpent& spent) {
        std::ostringstream text;
        text << "(epsilon = " << spent.epsilon << ", delta = " << spent.delta
             << ")-DP at RDP order " << spent.order;
        return out << text.str();
    }
};

/// Renyi-DP accountant for composed Gaussian mechanisms on a grid of orders.
///
/// compose() adds each mechanism's RDP curve (times its number of steps);
/// spent() converts the total to (epsilon, delta) at the best order of the
/// grid. The default grid (default_orders) has 1.05 to 6 in steps of 0.05,
/// 6.25 to 16 in steps of 0.25, 17 to 64 in steps of 1, and 72 to 256 in
/// steps of 8: 212 orders, so the minimum over the grid is within a fraction
/// of a percent of the minimum over all orders for the epsilons of practice
/// (0.1 to 10).
class RdpAccountant {
  public:
    /// An accountant on the default grid of orders.
    RdpAccountant() : RdpAccountant(default_orders()) {}

    /// An accountant on the given orders.
    /// @throws InvalidArgumentError for no orders, or an order <= 1 or not finite.
    explicit RdpAccountant(std::vector<double> orders)
        : orders_(std::move(orders)), rdp_(orders_.size(), 0.0) {
        if (orders_.empty()) {
            throw InvalidArgumentError(
                "ml::RdpAccountant: no orders; pass at least one order above 1 (or use the "
                "default grid)");
        }
        for (const double alpha : orders_) {
            if (!(alpha > 1) || !std::isfinite(alpha)) {
                throw InvalidArgumentError(cloak::detail::message(
                    "ml::RdpAccountant: order ", alpha,
                    " must be finite and above 1 (RDP of order 1 is KL divergence, not "
                    "covered here)"));
            }
        }
    }

    /// The default grid: 1.05..6 (step 0.05), 6.25..16 (0.25), 17..64 (1), 72..256 (8).
    [[nodiscard]] static std::vector<double> default_orders() {
        std::vector<double> orders;
        for (int k = 1; k <= 100; ++k) {
            orders.push_back(1 + k / 20.0);
        }
        for (int k = 1; k <= 40; ++k) {
            orders.push_back(6 + k / 4.0);
        }
        for (int k = 17; k <= 64; ++k) {
            orders.push_back(k);
        }
        for (int k = 72; k <= 256; k += 8) {
            orders.push_back(k);
        }
        return orders;
    }

    /// Charges `steps` runs of `mechanism` (one per training iteration).
    /// @throws InvalidArgumentError for an invalid mechanism.
    void compose(const GaussianMechanism& mechanism, std::size_t steps = 1) {
        mechanism.validate();
        for (std::size_t k = 0; k < orders_.size(); ++k) {
            rdp_[k] += static_cast<double>(steps) * mechanism.rdp(orders_[k]);
        }
        steps_ += steps;
    }

    [[nodiscard]] std::span<const double> orders() const noexcept { return orders_; }
    /// The composed RDP at each order.
    [[nodiscard]] std::span<const double> rdp() const noexcept { return rdp_; }
    /// Mechanisms composed so far.
    [[nodiscard]] std::size_t steps() const noexcept { return steps_; }

    /// The (epsilon, delta) guarantee of everything composed so far: the
    /// minimum of the conversion over the grid, at least 0 (0 before any step).
    /// @throws InvalidArgumentError for delta outside (0, 1).
    [[nodiscard]] PrivacySpent spent(double delta,
                                     RdpConversion conversion = default_rdp_conversion) const {
        detail::check_delta("ml::RdpAccountant::spent", delta);
        if (steps_ == 0) {
            return {0, delta, 0};
        }
        PrivacySpent best{std::numeric_limits<double>::infinity(), delta, 0};
        for (std::size_t k = 0; k < orders_.size(); ++k) {
            const double alpha = orders_[k];
            const double epsilon = conversion == RdpConversion::mironov
                                       ? rdp_[k] + std::log(1 / delta) / (alpha - 1)
                                       : rdp_[k] + std::log((alpha - 1) / alpha) -
                                             (std::log(delta) + std::log(alpha)) / (alpha - 1);
            if (epsilon < best.epsilon) {
                best.epsilon = epsilon;
                best.order = alpha;
            }
        }
        best.epsilon = std::max(best.epsilon, 0.0);
        return best;
    }

    /// spent(delta, conversion).epsilon.
    [[nodiscard]] double epsilon(double delta,
                                 RdpConversion conversion = default_rdp_conversion) const {
        return spent(delta, conversion).epsilon;
    }

  private:
    std::vector<double> orders_;
    std::vector<double> rdp_;
    std::size_t steps_ = 0;
};

/// The smallest noise sigma (to a relative 1e-9) for which `steps` Gaussian
/// mechanisms of sensitivity `sensitivity` are (epsilon, delta)-DP by the
/// accountant: bisection on sigma, epsilon being decreasing in sigma.
/// @throws InvalidArgumentError for a non-positive or non-finite epsilon or
///         sensitivity, delta outside (0, 1), or steps = 0.
[[nodiscard]] inline double sigma_for_epsilon(
    double epsilon, double delta, std::size_t steps, double sensitivity,
    RdpConversion conversion = default_rdp_conversion,
    const std::vector<double>& orders = RdpAccountant::default_orders()) {
    constexpr const char* function = "ml::sigma_for_epsilon";
    detail::check_positive(function, "epsilon", epsilon, "pass the privacy budget, such as 1");
    detail::check_delta(function, delta);
    detail::check_positive(function, "sensitivity", sensitivity, "pass the query's L2 sensitivity");
    if (steps == 0) {
        throw InvalidArgumentError(cloak::detail::message(
            function, ": 0 steps; pass the number of noisy iterations (at least 1)"));
    }
    const auto spent = [&](double sigma) {
        RdpAccountant accountant(orders);
        accountant.compose({sensitivity, sigma}, steps);
        return accountant.epsilon(delta, conversion);
    };
    // Bracket: spent(lo) > epsilon >= spent(hi).
    double hi = sensitivity;
    while (spent(hi) > epsilon) {
        hi *= 2;
        if (hi > 1e12 * sensitivity) {
            throw InvalidArgumentError(cloak::detail::message(
                function, ": no sigma up to 1e12 times the sensitivity reaches epsilon = ", epsilon,
                " at delta = ", delta,
                " on this grid of orders; raise epsilon or delta, "
                "or add larger orders"));
        }
    }
    double lo = hi / 2;
    while (spent(lo) <= epsilon) {
        hi = lo;
        lo /= 2;
        if (lo < 1e-12 * sensitivity) {
            return hi;  // any noise this small meets the budget
        }
    }
    while (hi - lo > 1e-9 * hi) {
        const double mid = (lo + hi) / 2;
        (spent(mid) <= epsilon ? hi : lo) = mid;
    }
    return hi;
}

/// The L2 sensitivity of the averaged logistic gradient (1/n) sum
/// sigma(-z_i . w) z_i under replace-one neighbours: 2 B sqrt(d + 1) / n, for
/// features in [-1, 1]^d (bias included as the +1) and |sigma| <= B (B = 1
/// for the exact sigmoid).
/// @throws InvalidArgumentError for samples = 0 or a non-positive or
///         non-finite bound.
[[nodiscard]] inline double logistic_gradient_sensitivity(std::size_t samples, std::size_t features,
                                                          double sigmoid_bound = 1) {
    constexpr const char* function = "ml::logistic_gradient_sensitivity";
    if (samples == 0) {
        throw InvalidArgumentError(
            cloak::detail::message(function, ": 0 samples; pass the (public) dataset size n"));
    }
    detail::check_positive(function, "sigmoid_bound", sigmoid_bound,
                           "pass sup |sigma| on the reachable inputs (1 for the exact sigmoid)");
    return 2 * sigmoid_bound * std::sqrt(static_cast<double>(features) + 1) /
           static_cast<double>(samples);
}

namespace detail {

/// Uniform in (0, 1] from 53 bits of the stream.
inline double uniform_open_zero(core::Prng& prng) {
    return static_cast<double>((prng.next_u64() >> 11) + 1) * 0x1p-53;
}

}  // namespace detail

/// `count` independent N(0, sigma^2) values from the ChaCha20 stream `prng`,
/// by the Box-Muller transform of its uniform doubles (53-bit, in (0, 1]).
/// Privacy noise comes from the project's CSPRNG, never from std::mt19937,
/// whose state an observer can recover from its outputs. (Floating-point
/// Gaussians are not exactly Gaussian; the accountant treats them as exact,
/// as every DP library does. Mironov 2012 shows the gap for the Laplace
/// mechanism.)
/// @throws InvalidArgumentError for a non-positive or non-finite sigma.
[[nodiscard]] inline std::vector<double> gaussian_noise(std::size_t count, double sigma,
                                                        core::Prng& prng) {
    detail::check_positive("ml::gaussian_noise", "sigma", sigma,
                           "choose it by ml::sigma_for_epsilon");
    std::vector<double> out(count);
    for (std::size_t i = 0; i < count; i += 2) {
        const double radius = sigma * std::sqrt(-2 * std::log(detail::uniform_open_zero(prng)));
        const double angle = 2 * std::numbers::pi * detail::uniform_open_zero(prng);
        out[i] = radius * std::cos(angle);
        if (i + 1 < count) {
            out[i + 1] = radius * std::sin(angle);
        }
    }
    return out;
}

/// The same from stream 0 of `seed` (to replay a run).
/// @throws InvalidArgumentError for a non-positive or non-finite sigma.
[[nodiscard]] inline std::vector<double> gaussian_noise(std::size_t count, double sigma,
                                                        const core::Seed& seed) {
    core::Prng prng(seed);
    return gaussian_noise(count, sigma, prng);
}

/// The same from fresh operating-system entropy.
/// @throws InvalidArgumentError for a non-positive or non-finite sigma;
///         RandomnessError when no entropy is available.
[[nodiscard]] inline std::vector<double> gaussian_noise(std::size_t count, double sigma) {
    core::Prng prng = core::Prng::from_entropy();
    return gaussian_noise(count, sigma, prng);
}

inline void GaussianMechanism::add_noise(std::span<double> values, core::Prng& prng) const {
    validate();
    const std::vector<double> noise = gaussian_noise(values.size(), sigma, prng);
    for (std::size_t i = 0; i < values.size(); ++i) {
        values[i] += noise[i];
    }
}

}  // namespace cloak::inline v0::ml
