// cloak: polynomial approximations of the activations of encrypted machine
// learning, ready for ckks::Evaluator::evaluate.
//
// Each preset takes an options struct filled with designated initializers
// (`approx::sigmoid({.degree = 5})`), whose defaults are the named constants
// below, and returns a Chebyshev series on the interval. Where the function is a
// known part plus an odd or even remainder on a symmetric interval (sigmoid =
// 1/2 + odd, ReLU and GELU = x/2 + even), only the remainder is fitted, with
// exactly zero coefficients of the other parity, so the evaluator skips them.
// Measured errors and depths: docs/approximation.md.
//
// A series on an interval of width other than 2 costs the evaluator one more
// level for the change of variable (ckks::Evaluator::depth).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <numbers>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include <cloak/approx/chebyshev.hpp>
#include <cloak/approx/least_squares.hpp>
#include <cloak/approx/remez.hpp>
#include <cloak/ckks/polynomial.hpp>
#include <cloak/core/bits.hpp>
#include <cloak/core/error.hpp>

namespace cloak::inline v0::approx {

/// How a preset fits its function.
enum class Method {
    /// Smallest integral of (f - p)^2 over the interval, uniform weight: small on
    /// average, larger near the ends (the fit of Kim et al. 2018).
    least_squares,
    /// Smallest max |f - p| over the interval (Remez): the best worst case.
    minimax,
};

/// Sigmoid 1 / (1 + e^-x): degree 3 on [-8, 8] by least squares, Kim et al. 2018's choice.
inline constexpr std::size_t default_sigmoid_degree = 3;
inline constexpr ckks::Interval default_sigmoid_interval{-8.0, 8.0};
inline constexpr Method default_sigmoid_method = Method::least_squares;

/// tanh: degree 7 on [-4, 4] by least squares.
inline constexpr std::size_t default_tanh_degree = 7;
inline constexpr ckks::Interval default_tanh_interval{-4.0, 4.0};
inline constexpr Method default_tanh_method = Method::least_squares;

/// exp on a negative interval (softmax after subtracting the maximum): degree 7 on
/// [-8, 0] by minimax.
inline constexpr std::size_t default_exp_degree = 7;
inline constexpr ckks::Interval default_exp_interval{-8.0, 0.0};
inline constexpr Method default_exp_method = Method::minimax;

/// ReLU max(0, x): degree 7 on [-1, 1] by least squares (inputs scaled into [-1, 1]).
inline constexpr std::size_t default_relu_degree = 7;
inline constexpr ckks::Interval default_relu_interval{-1.0, 1.0};
inline constexpr Method default_relu_method = Method::least_squares;

/// GELU x Phi(x): degree 7 on [-4, 4] by least squares.
inline constexpr std::size_t default_gelu_degree = 7;
inline constexpr ckks::Interval default_gelu_interval{-4.0, 4.0};
inline constexpr Method default_gelu_method = Method::least_squares;

/// Options of sigmoid(): `{.degree = 5, .interval = {-8, 8}, .method = Method::minimax}`.
/// On a symmetric interval the series is 1/2 plus odd terms (an even degree d
/// gives the polynomial of degree d - 1).
struct SigmoidOptions {
    std::size_t degree = default_sigmoid_degree;
    ckks::Interval interval = default_sigmoid_interval;
    Method method = default_sigmoid_method;
};

/// Options of tanh(). On a symmetric interval the series is odd.
struct TanhOptions {
    std::size_t degree = default_tanh_degree;
    ckks::Interval interval = default_tanh_interval;
    Method method = default_tanh_method;
};

/// Options of exp().
struct ExpOptions {
    std::size_t degree = default_exp_degree;
    ckks::Interval interval = default_exp_interval;
    Method method = default_exp_method;
};

/// Options of relu(); degree at least 2. On a symmetric interval the series is
/// x/2 plus even terms.
struct ReluOptions {
    std::size_t degree = default_relu_degree;
    ckks::Interval interval = default_relu_interval;
    Method method = default_relu_method;
};

/// Options of gelu(); degree at least 2. On a symmetric interval the series is
/// x/2 plus even terms.
struct GeluOptions {
    std::size_t degree = default_gelu_degree;
    ckks::Interval interval = default_gelu_interval;
    Method method = default_gelu_method;
};

namespace detail {

inline void check_preset(std::string_view where, std::size_t degree, std::size_t min_degree,
                         const ckks::Interval& interval) {
    check_interval(where, interval);
    if (degree < min_degree || degree > ckks::max_polynomial_degree) {
        throw InvalidArgumentError(cloak::detail::message(
            where, ": degree ", degree, " is outside [", min_degree, ", ",
            ckks::max_polynomial_degree, "]; pass a degree in that range (3 to 15 is typical)"));
    }
}

/// f = known + remainder, where known(x) = constant + linear x and, on a
/// symmetric interval, the remainder has the given parity: fits the remainder
/// alone (degree lowered to the parity) and adds the known part exactly.
/// Elsewhere fits f whole.
template <typename Full, typename Remainder>
ckks::Polynomial fit_preset(Full&& full, Remainder&& remainder, Parity parity, double constant,
                            double linear, ckks::Interval interval, std::size_t degree,
                            Method method) {
    if (interval.a != -interval.b) {
        if (method == Method::least_squares) {
            return least_squares(full, interval, degree);
        }
        return minimax(full, interval, degree).polynomial;
    }
    const std::size_t fitted = (degree % 2 == 1) == (parity == Parity::odd) ? degree : degree - 1;
    const ckks::Polynomial p =
        method == Method::least_squares
            ? least_squares(remainder, interval, fitted, {.parity = parity})
            : minimax(remainder, interval, fitted, {.parity = parity}).polynomial;
    // p is on [-b, b], where x = b T_1(x / b).
    std::vector<double> c(p.coefficients().begin(), p.coefficients().end());
    c.resize(std::max<std::size_t>(c.size(), 2), 0.0);
    c[0] += constant;
    c[1] += linear * interval.b;
    return ckks::Polynomial::chebyshev(std::move(c), interval);
}

}  // namespace detail

/// The sigmoid 1 / (1 + e^-x) on the interval. The least-squares default is the
/// continuous uniform L2 fit, which reproduces Kim et al. 2018's degree-3
/// polynomial 0.5 + 0.15012 x - 0.001593 x^3 to every printed digit (see
/// docs/approximation.md for degrees 5 and 7).
/// @throws InvalidArgumentError for a >= b or a degree outside [1, 2047].
[[nodiscard]] inline ckks::Polynomial sigmoid(const SigmoidOptions& options = {}) {
    detail::check_preset("approx::sigmoid", options.degree, 1, options.interval);
    return detail::fit_preset([](double x) { return 1.0 / (1.0 + std::exp(-x)); },
                              [](double x) { return 0.5 * std::tanh(0.5 * x); }, Parity::odd, 0.5,
                              0.0, options.interval, options.degree, options.method);
}

/// tanh on the interval.
/// @throws InvalidArgumentError for a >= b or a degree outside [1, 2047].
[[nodiscard]] inline ckks::Polynomial tanh(const TanhOptions& options = {}) {
    detail::check_preset("approx::tanh", options.degree, 1, options.interval);
    const auto f = [](double x) { return std::tanh(x); };
    return detail::fit_preset(f, f, Parity::odd, 0.0, 0.0, options.interval, options.degree,
                              options.method);
}

/// e^x on the interval (default [-8, 0]; e^x on a wide positive interval is
/// better computed as a power of e^(x / 2^k)).
/// @throws InvalidArgumentError for a >= b or a degree outside [1, 2047].
[[nodiscard]] inline ckks::Polynomial exp(const ExpOptions& options = {}) {
    detail::check_preset("approx::exp", options.degree, 1, options.interval);
    const auto f = [](double x) { return std::exp(x); };
    if (options.method == Method::least_squares) {
        return least_squares(f, options.interval, options.degree);
    }
    return minimax(f, options.interval, options.degree).polynomial;
}

/// ReLU max(0, x) on the interval: x/2 + |x|/2, with |x| fitted (least squares
/// smooths the kink at 0; the error is largest there).
/// @throws InvalidArgumentError for a >= b or a degree outside [2, 2047].
[[nodiscard]] inline ckks::Polynomial relu(const ReluOptions& options = {}) {
    detail::check_preset("approx::relu", options.degree, 2, options.interval);
    return detail::fit_preset([](double x) { return std::max(x, 0.0); },
                              [](double x) { return 0.5 * std::abs(x); }, Parity::even, 0.0, 0.5,
                              options.interval, options.degree, options.method);
}

/// GELU x Phi(x) = x/2 (1 + erf(x / sqrt 2)) on the interval.
/// @throws InvalidArgumentError for a >= b or a degree outside [2, 2047].
[[nodiscard]] inline ckks::Polynomial gelu(const GeluOptions& options = {}) {
    detail::check_preset("approx::gelu", options.degree, 2, options.interval);
    return detail::fit_preset(
        [](double x) { return 0.5 * x * (1.0 + std::erf(x / std::numbers::sqrt2)); },
        [](double x) { return 0.5 * x * std::erf(x / std::numbers::sqrt2); }, Parity::even, 0.0,
        0.5, options.interval, options.degree, options.method);
}

/// Kim et al. 2018's published least-squares sigmoids (degree 3, 5 or 7, on
/// [-8, 8]), coefficient for coefficient as printed in the paper, in the power
/// basis: to reproduce their experiments exactly. approx::sigmoid gives the fit
/// itself; the two differ beyond degree 3 (docs/approximation.md).
/// @throws InvalidArgumentError for another degree.
[[nodiscard]] inline ckks::Polynomial kim2018_sigmoid(std::size_t degree) {
    // The paper prints g(x) = 0.5 - sum a_i (x / 8)^i for sigmoid(-x).
    std::vector<double> scaled;
    switch (degree) {
        case 3:
            scaled = {0.5, 1.20096, 0.0, -0.81562};
            break;
        case 5:
            scaled = {0.5, 1.53048, 0.0, -2.3533056, 0.0, 1.3511295};
            break;
        case 7:
            scaled = {0.5, 1.73496, 0.0, -4.19407, 0.0, 5.43402, 0.0, -2.50739};
            break;
        default:
            throw InvalidArgumentError(cloak::detail::message(
                "approx::kim2018_sigmoid: degree ", degree,
                " was not published; pass 3, 5 or 7, or use approx::sigmoid for any degree"));
    }
    double power = 1.0;
    for (double& c : scaled) {
        c /= power;
        power *= 8.0;
    }
    return ckks::Polynomial::power(std::move(scaled));
}

// --- Composite sign ---------------------------------------------------------

/// The gap around 0 outside which sign is approximated: [-1, -alpha] and [alpha, 1].
inline constexpr double default_sign_alpha = 0x1p-8;
/// Target: the composite is within 2^-12 of +-1 there.
inline constexpr int default_sign_precision_bits = 12;
/// Degrees of the chain when none are given (the last repeats as needed).
inline constexpr std::size_t default_sign_degree = 15;
/// Most polynomials in a chain before sign_composite gives up.
inline constexpr std::size_t max_sign_polynomials = 32;

/// Options of sign_composite().
struct SignOptions {
    /// In (0, 1): inputs with |x| in [alpha, 1] are compared.
    double alpha = default_sign_alpha;
    /// In [1, 40]: the composite is within 2^-precision_bits of sign(x) there.
    int precision_bits = default_sign_precision_bits;
    /// Odd degrees (>= 3) of the polynomials in order; the last one repeats until
    /// the precision is reached (default: 15 throughout, 4 levels each).
    std::vector<std::size_t> degrees = {};
};

/// A composite sign and its measured quality.
struct SignComposite {
    /// p_1 first: sign(x) ~ p_k(... p_2(p_1(x))). Each is odd, on [-1, 1].
    std::vector<ckks::Polynomial> polynomials;
    /// sup |p_k o ... o p_1 - 1| on [alpha, 1] (also on [-1, -alpha], by oddness),
    /// the larger of the Remez bound and a dense measurement.
    double max_error;
    /// Levels of the chain: sum of ceil(log2(d_i + 1)).
    std::size_t depth;
};

/// p_k(... p_1(x)), in double.
[[nodiscard]] inline double composite(std::span<const ckks::Polynomial> chain, double x) noexcept {
    for (const ckks::Polynomial& p : chain) {
        x = p(x);
    }
    return x;
}

/// The composite minimax sign of Lee, Lee, Kim and No 2021 ("Minimax
/// approximation of sign function by composite polynomial for homomorphic
/// comparison", IEEE TDSC), with its error and depth. p_1 is the odd minimax
/// approximation of sign on [-1, -alpha] and [alpha, 1], with error tau_1, so it
/// maps [alpha, 1] into [1 - tau_1, 1 + tau_1]; scaled by 1 / (1 + tau_1) it
/// maps into [alpha_2, 1], alpha_2 = (1 - tau_1) / (1 + tau_1), and p_2 is the
/// minimax sign on [alpha_2, 1], and so on until tau_k <= 2^-precision_bits (the
/// last is not scaled). Each step's error is the minimax one, which is what
/// makes the composite optimal among those with the same degrees (their
/// Theorem 3). Every polynomial is a series on [-1, 1], so each costs exactly
/// ceil(log2(d + 1)) levels.
/// @throws InvalidArgumentError for alpha outside (0, 1), precision_bits outside
///         [1, 40], an even or too small degree, or no convergence within
///         max_sign_polynomials polynomials.
[[nodiscard]] inline SignComposite sign_composite_detailed(const SignOptions& options = {}) {
    constexpr std::string_view where = "approx::sign_composite";
    if (!(options.alpha > 0.0 && options.alpha < 1.0)) {
        throw InvalidArgumentError(
            cloak::detail::message(where, ": alpha ", options.alpha,
                                   " is outside (0, 1); pass e.g. 2^-8 = ", default_sign_alpha));
    }
    if (options.precision_bits < 1 || options.precision_bits > 40) {
        throw InvalidArgumentError(
            cloak::detail::message(where, ": precision_bits ", options.precision_bits,
                                   " is outside [1, 40]; CKKS itself keeps about 20 to 40 bits"));
    }
    for (const std::size_t d : options.degrees) {
        if (d < 3 || d % 2 == 0 || d > ckks::max_polynomial_degree) {
            throw InvalidArgumentError(cloak::detail::message(
                where, ": degree ", d, " in degrees is not an odd number in [3, ",
                ckks::max_polynomial_degree, "]; pass odd degrees such as 7, 15 or 31"));
        }
    }
    const double target = std::ldexp(1.0, -options.precision_bits);
    const auto one = [](double) { return 1.0; };
    SignComposite result{{}, 1.0, 0};
    double lower = options.alpha;
    for (std::size_t step = 0; step < max_sign_polynomials; ++step) {
        const std::size_t degree =
            options.degrees.empty() ? default_sign_degree
                                    : options.degrees[std::min(step, options.degrees.size() - 1)];
        const MinimaxResult r = minimax(one, {lower, 1.0}, degree, {.parity = Parity::odd});
        const double tau = r.max_error;
        result.depth += core::ceil_log2(degree + 1);
        if (tau <= target) {
            // The Remez bound, checked on a dense grid of [alpha, 1] (uniform, and
            // uniform in log scale, where the composite's transition is).
            std::vector<ckks::Polynomial> chain = result.polynomials;
            chain.push_back(r.polynomial);
            double worst = tau;
            constexpr std::size_t samples = 20001;
            const double log_alpha = std::log(options.alpha);
            for (std::size_t i = 0; i < samples; ++i) {
                const double s = static_cast<double>(i) / static_cast<double>(samples - 1);
                for (const double x :
                     {std::exp(log_alpha * (1.0 - s)), options.alpha + (1.0 - options.alpha) * s}) {
                    worst = std::max(worst, std::abs(composite(chain, x) - 1.0));
                }
            }
            if (worst <= target) {
                result.polynomials = std::move(chain);
                result.max_error = worst;
                return result;
            }
        }
        const double next = (1.0 - tau) / (1.0 + tau);
        if (!(next > lower)) {
            throw InvalidArgumentError(cloak::detail::message(
                where, ": degree ", degree, " makes no progress from alpha = ", lower, " (error ",
                tau, "); pass larger degrees"));
        }
        std::vector<double> scaled(r.polynomial.coefficients().begin(),
                                   r.polynomial.coefficients().end());
        for (double& c : scaled) {
            c /= 1.0 + tau;
        }
        result.polynomials.push_back(ckks::Polynomial::chebyshev(std::move(scaled), {-1.0, 1.0}));
        lower = next;
    }
    throw InvalidArgumentError(cloak::detail::message(
        where, ": 2^-", options.precision_bits, " not reached within ", max_sign_polynomials,
        " polynomials from alpha = ", options.alpha, " (reached alpha ", lower,
        "); pass larger degrees, a larger alpha or fewer precision bits"));
}

/// The polynomials of sign_composite_detailed(options).
/// @throws as sign_composite_detailed.
[[nodiscard]] inline std::vector<ckks::Polynomial> sign_composite(const SignOptions& options = {}) {
    return sign_composite_detailed(options).polynomials;
}

}  // namespace cloak::inline v0::approx
