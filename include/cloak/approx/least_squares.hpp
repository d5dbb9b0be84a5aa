// cloak: weighted least-squares polynomial approximation on an interval.
//
// Minimises the continuous norm integral_a^b w(x) (f(x) - p(x))^2 dx (or a sum
// over given points), the fit Kim, Song, Kim, Lee and Cheon 2018 ("Logistic
// regression model training based on the approximate homomorphic encryption",
// BMC Med Genomics 11(Suppl 4):83) use for the sigmoid: unlike minimax it
// favours the bulk of the interval over its ends, where data is rare.
//
// The integral is a composite Gauss-Legendre rule (32 nodes per panel), and the
// normal equations are written in the Chebyshev basis of the interval, whose
// Gram matrix for a uniform weight has a condition number growing like the
// degree, where the power basis' grows like 4^d (a Hilbert matrix).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <functional>
#include <numbers>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include <cloak/approx/chebyshev.hpp>
#include <cloak/ckks/polynomial.hpp>
#include <cloak/core/error.hpp>

namespace cloak::inline v0::approx {

/// Gauss-Legendre nodes per panel of the composite quadrature.
inline constexpr std::size_t quadrature_panel_nodes = 32;
/// Fewest quadrature nodes (8 panels); the default is max(256, 8 (degree + 1)).
inline constexpr std::size_t min_quadrature_nodes = 256;

/// Options of least_squares, filled with designated initializers.
struct LeastSquaresOptions {
    /// Weight w(x) >= 0 of the norm (default: uniform, w = 1). With a parity, it
    /// must be even, w(-x) = w(x): the fit runs on [0, b] and is mirrored.
    std::function<double(double)> weight = {};
    /// Basis of the result (default: Chebyshev on the interval, what the
    /// evaluator computes most stably).
    ckks::PolynomialBasis basis = ckks::PolynomialBasis::chebyshev;
    /// Terms to use (default: all). Parity::odd (even) on a symmetric interval
    /// gives exactly zero even (odd) coefficients; see Parity.
    Parity parity = Parity::none;
    /// Discrete least squares on these points (each weighted by w) instead of the
    /// continuous norm; at least as many distinct points as coefficients.
    std::vector<double> points = {};
    /// Quadrature nodes of the continuous norm, rounded up to a multiple of 32
    /// (default: max(256, 8 (degree + 1))).
    std::optional<std::size_t> quadrature_nodes = std::nullopt;
};

namespace detail {

/// The n-point Gauss-Legendre rule on [-1, 1]: Newton on P_n from the
/// Tricomi-style guesses cos(pi (i + 3/4) / (n + 1/2)).
inline std::pair<std::vector<double>, std::vector<double>> gauss_legendre(std::size_t n) {
    std::vector<double> nodes(n);
    std::vector<double> weights(n);
    const double dn = static_cast<double>(n);
    for (std::size_t i = 0; i < (n + 1) / 2; ++i) {
        double x = std::cos(std::numbers::pi * (static_cast<double>(i) + 0.75) / (dn + 0.5));
        double derivative = 1.0;
        for (int iteration = 0; iteration < 100; ++iteration) {
            double p0 = 1.0;
            double p1 = x;
            for (std::size_t k = 2; k <= n; ++k) {
                const double dk = static_cast<double>(k);
                const double p2 = ((2.0 * dk - 1.0) * x * p1 - (dk - 1.0) * p0) / dk;
                p0 = p1;
                p1 = p2;
            }
            derivative = dn * (x * p1 - p0) / (x * x - 1.0);
            const double step = p1 / derivative;
            x -= step;
            if (std::abs(step) < 1e-16) {
                break;
            }
        }
        nodes[i] = x;
        nodes[n - 1 - i] = -x;
        weights[i] = weights[n - 1 - i] = 2.0 / ((1.0 - x * x) * derivative * derivative);
    }
    return {std::move(nodes), std::move(weights)};
}

/// Solves A x = b (n x n, row-major) by Gaussian elimination with partial
/// pivoting in long double; nullopt when A is singular to working precision.
inline std::optional<std::vector<long double>> solve_linear(std::vector<long double> a,
                                                            std::vector<long double> b) {
    const std::size_t n = b.size();
    long double scale = 0.0L;
    for (const long double v : a) {
        scale = std::max(scale, std::abs(v));
    }
    for (std::size_t col = 0; col < n; ++col) {
        std::size_t pivot = col;
        for (std::size_t row = col + 1; row < n; ++row) {
            if (std::abs(a[row * n + col]) > std::abs(a[pivot * n + col])) {
                pivot = row;
            }
        }
        if (!(std::abs(a[pivot * n + col]) > scale * 1e-15L)) {
            return std::nullopt;
        }
        if (pivot != col) {
            for (std::size_t k = 0; k < n; ++k) {
                std::swap(a[col * n + k], a[pivot * n + k]);
            }
            std::swap(b[col], b[pivot]);
        }
        for (std::size_t row = col + 1; row < n; ++row) {
            const long double factor = a[row * n + col] / a[col * n + col];
            if (factor == 0.0L) {
                continue;
            }
            for (std::size_t k = col; k < n; ++k) {
                a[row * n + k] -= factor * a[col * n + k];
            }
            b[row] -= factor * b[col];
        }
    }
    std::vector<long double> x(n);
    for (std::size_t row = n; row-- > 0;) {
        long double sum = b[row];
        for (std::size_t k = row + 1; k < n; ++k) {
            sum -= a[row * n + k] * x[k];
        }
        x[row] = sum / a[row * n + row];
    }
    return x;
}

/// T_0(t) ... T_{count - 1}(t).
inline void chebyshev_values(double t, std::vector<double>& out) {
    for (std::size_t i = 0; i < out.size(); ++i) {
        out[i] = i == 0 ? 1.0 : (i == 1 ? t : 2.0 * t * out[i - 1] - out[i - 2]);
    }
}

}  // namespace detail

/// The polynomial of degree `degree` minimising the weighted L2 distance to f
/// on [a, b] (or on options.points), as a Chebyshev series on [a, b] (on [-b, b]
/// for a parity with 0 <= a) or, with options.basis = power, in powers of x.
/// @throws InvalidArgumentError for a >= b, a degree outside [1, 2047], a parity
///         that does not fit, a negative or non-finite weight, points outside
///         the interval or too few of them, or f not finite on the interval.
template <RealFunction F>
[[nodiscard]] ckks::Polynomial least_squares(F&& f, ckks::Interval interval, std::size_t degree,
                                             const LeastSquaresOptions& options = {}) {
    constexpr std::string_view where = "approx::least_squares";
    detail::check_interval(where, interval);
    detail::check_degree(where, degree);
    detail::check_parity(where, interval, degree, options.parity, true);

    // Working domain and variable: t = (2x - a - b) / (b - a) on [a, b], or with a
    // parity t = x / b on [max(a, 0), b] (the other half mirrors it).
    const bool has_parity = options.parity != Parity::none;
    const double lo = has_parity ? std::max(interval.a, 0.0) : interval.a;
    const double hi = interval.b;
    const ckks::Interval series_interval = has_parity ? ckks::Interval{-hi, hi} : interval;
    const auto to_t = [&](double x) {
        return has_parity ? x / hi : (2.0 * x - interval.a - interval.b) / (hi - interval.a);
    };
    std::vector<std::size_t> terms;
    for (std::size_t i = 0; i <= degree; ++i) {
        if (options.parity == Parity::none || (i % 2 == 1) == (options.parity == Parity::odd)) {
            terms.push_back(i);
        }
    }
    const std::size_t m = terms.size();

    // The samples (x_k, weight_k) of the norm.
    std::vector<std::pair<double, double>> samples;
    if (!options.points.empty()) {
        for (const double x : options.points) {
            if (!(std::isfinite(x) && x >= interval.a && x <= interval.b)) {
                throw InvalidArgumentError(cloak::detail::message(
                    where, ": point ", x, " is outside the interval [", interval.a, ", ",
                    interval.b, "]; pass points inside it or widen the interval"));
            }
            samples.emplace_back(x, 1.0);
        }
    } else {
        const std::size_t requested =
            options.quadrature_nodes.value_or(std::max(min_quadrature_nodes, 8 * (degree + 1)));
        if (requested == 0 || requested > (std::size_t{1} << 22)) {
            throw InvalidArgumentError(cloak::detail::message(
                where, ": ", requested, " quadrature nodes; pass between 1 and 2^22"));
        }
        const std::size_t panels =
            (requested + quadrature_panel_nodes - 1) / quadrature_panel_nodes;
        const auto [nodes, weights] = detail::gauss_legendre(quadrature_panel_nodes);
        const double width = (hi - lo) / static_cast<double>(panels);
        for (std::size_t p = 0; p < panels; ++p) {
            const double left = lo + width * static_cast<double>(p);
            for (std::size_t k = 0; k < nodes.size(); ++k) {
                samples.emplace_back(left + 0.5 * width * (nodes[k] + 1.0),
                                     0.5 * width * weights[k]);
            }
        }
    }

    // Normal equations G c = r, G_ij = sum w T_i T_j, r_i = sum w f T_i.
    std::vector<long double> gram(m * m, 0.0L);
    std::vector<long double> rhs(m, 0.0L);
    std::vector<double> t_values(degree + 1);
    for (const auto& [x, quadrature_weight] : samples) {
        double w = quadrature_weight;
        if (options.weight) {
            const double v = options.weight(x);
            if (!(std::isfinite(v) && v >= 0.0)) {
                throw InvalidArgumentError(cloak::detail::message(
                    where, ": the weight is ", v, " at x = ", x,
                    "; pass a weight that is finite and >= 0 on the interval"));
            }
            w *= v;
        }
        if (w == 0.0) {
            continue;
        }
        const double y = detail::value_at(where, f, x);
        detail::chebyshev_values(to_t(x), t_values);
        for (std::size_t i = 0; i < m; ++i) {
            const long double wi = static_cast<long double>(w) * t_values[terms[i]];
            rhs[i] += wi * y;
            for (std::size_t j = 0; j <= i; ++j) {
                gram[i * m + j] += wi * t_values[terms[j]];
            }
        }
    }
    for (std::size_t i = 0; i < m; ++i) {
        for (std::size_t j = i + 1; j < m; ++j) {
            gram[i * m + j] = gram[j * m + i];
        }
    }
    const auto solution = detail::solve_linear(std::move(gram), std::move(rhs));
    if (!solution) {
        throw InvalidArgumentError(cloak::detail::message(
            where, ": the normal equations of degree ", degree, " are singular (",
            options.points.empty() ? "the weight vanishes on most of the interval"
                                   : "fewer distinct points than coefficients",
            "); lower the degree, or pass more points or a weight that is positive"));
    }
    std::vector<double> coefficients(degree + 1, 0.0);
    for (std::size_t i = 0; i < m; ++i) {
        coefficients[terms[i]] = static_cast<double>((*solution)[i]);
    }
    ckks::Polynomial result = ckks::Polynomial::chebyshev(std::move(coefficients), series_interval);
    if (options.basis == ckks::PolynomialBasis::power) {
        return to_power_basis(result);
    }
    return result;
}

}  // namespace cloak::inline v0::approx
