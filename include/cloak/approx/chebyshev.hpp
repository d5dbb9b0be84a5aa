// cloak: Chebyshev interpolation in double, conversions between the power and
// the Chebyshev basis, and the error of an approximation on an interval.
//
// Pure plaintext math, no key material: approx/ produces the ckks::Polynomial
// that ckks::Evaluator::evaluate consumes. The interpolant at the Chebyshev
// nodes of the first kind is within a factor 2 + (2 / pi) log(d + 1) of the
// best approximation of degree d (Trefethen, "Approximation Theory and
// Approximation Practice", ch. 16), and its coefficients come from the discrete
// cosine transform, so it is the quick way to a good series; approx/remez.hpp
// gives the best one.
#pragma once

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <numbers>
#include <span>
#include <string_view>
#include <type_traits>
#include <vector>

#include <cloak/ckks/polynomial.hpp>
#include <cloak/core/error.hpp>

namespace cloak::inline v0::approx {

/// Which Chebyshev terms an approximation may use. An odd (even) function on a
/// symmetric interval is best approximated by an odd (even) series, which the
/// homomorphic evaluator computes with about half the products.
enum class Parity {
    /// Every term T_0 ... T_d.
    none,
    /// T_1, T_3, ...: for an odd function; the degree must be odd.
    odd,
    /// T_0, T_2, ...: for an even function; the degree must be even.
    even,
};

/// A callable from double to double: a lambda, a function pointer, a ckks::Polynomial.
template <typename F>
concept RealFunction =
    std::invocable<F&, double> && std::convertible_to < std::invoke_result_t<F&, double>,
double > ;

/// Points of the uniform grid max_error samples (plus the Chebyshev points of the degree).
inline constexpr std::size_t default_error_samples = 10001;

namespace detail {

/// @throws InvalidArgumentError unless a < b are finite.
inline void check_interval(std::string_view where, const ckks::Interval& interval) {
    if (!(std::isfinite(interval.a) && std::isfinite(interval.b) && interval.a < interval.b)) {
        throw InvalidArgumentError(cloak::detail::message(
            where, ": interval [", interval.a, ", ", interval.b,
            "] is not a finite interval with a < b; pass {.a = lo, .b = hi} with lo < hi"));
    }
}

/// @throws InvalidArgumentError unless 1 <= degree <= ckks::max_polynomial_degree.
inline void check_degree(std::string_view where, std::size_t degree) {
    if (degree == 0 || degree > ckks::max_polynomial_degree) {
        throw InvalidArgumentError(cloak::detail::message(
            where, ": degree ", degree, " is outside [1, ", ckks::max_polynomial_degree,
            "]; pass a degree in that range (the homomorphic evaluator's limit)"));
    }
}

/// The degree has the parity's parity, and the interval is symmetric, or, where
/// `half_domain_allowed`, 0 <= a < b (the function is then fitted on
/// [-b, -a] and [a, b] together).
inline void check_parity(std::string_view where, const ckks::Interval& interval, std::size_t degree,
                         Parity parity, bool half_domain_allowed) {
    if (parity == Parity::none) {
        return;
    }
    const bool odd = parity == Parity::odd;
    if ((degree % 2 == 1) != odd) {
        throw InvalidArgumentError(cloak::detail::message(
            where, ": an ", odd ? "odd" : "even", " series has ", odd ? "odd" : "even",
            " degree, got ", degree, "; pass degree ", degree - 1, " or ", degree + 1));
    }
    const bool symmetric = interval.a == -interval.b;
    const bool half = half_domain_allowed && interval.a >= 0.0;
    if (!symmetric && !half) {
        throw InvalidArgumentError(cloak::detail::message(
            where, ": an ", odd ? "odd" : "even", " series needs a symmetric interval [-b, b]",
            half_domain_allowed ? " or 0 <= a < b (for [-b, -a] and [a, b])" : "", ", got [",
            interval.a, ", ", interval.b, "]; pass a symmetric interval or Parity::none"));
    }
}

/// f(x), checked finite.
template <typename F>
double value_at(std::string_view where, F& f, double x) {
    const double y = static_cast<double>(f(x));
    if (!std::isfinite(y)) {
        throw InvalidArgumentError(
            cloak::detail::message(where, ": the function returned ", y, " at x = ", x,
                                   "; pass a function that is finite on the whole interval"));
    }
    return y;
}

}  // namespace detail

/// The Chebyshev interpolant of f of degree `degree` on [a, b]: the polynomial
/// equal to f at the degree + 1 Chebyshev nodes of the first kind, as a
/// Chebyshev series on [a, b]. With Parity::odd (even) on a symmetric interval
/// the even (odd) coefficients, which vanish for an odd (even) f up to
/// rounding, are set to exactly zero.
/// @throws InvalidArgumentError for a >= b, a degree outside [1, 2047], a parity
///         that does not fit the degree or interval, or f not finite at a node.
template <RealFunction F>
[[nodiscard]] ckks::Polynomial chebyshev_interpolant(F&& f, ckks::Interval interval,
                                                     std::size_t degree,
                                                     Parity parity = Parity::none) {
    constexpr std::string_view where = "approx::chebyshev_interpolant";
    detail::check_interval(where, interval);
    detail::check_degree(where, degree);
    detail::check_parity(where, interval, degree, parity, false);
    const std::size_t n = degree + 1;
    const double mid = 0.5 * (interval.a + interval.b);
    const double half = 0.5 * (interval.b - interval.a);
    // Node k is cos(pi (2k + 1) / (2n)); the angle pi j (2k + 1) / (2n) of T_j at
    // it is reduced modulo 2 pi exactly, in integers, before the cosine.
    const std::size_t period = 4 * n;
    const double unit = std::numbers::pi / (2.0 * static_cast<double>(n));
    std::vector<double> values(n);
    for (std::size_t k = 0; k < n; ++k) {
        const double t = std::cos(unit * static_cast<double>(2 * k + 1));
        values[k] = detail::value_at(where, f, mid + half * t);
    }
    std::vector<double> coefficients(n, 0.0);
    for (std::size_t j = 0; j < n; ++j) {
        if ((parity == Parity::odd && j % 2 == 0) || (parity == Parity::even && j % 2 == 1)) {
            continue;
        }
        long double sum = 0.0L;
        for (std::size_t k = 0; k < n; ++k) {
            const std::size_t angle = (j * (2 * k + 1)) % period;
            sum +=
                static_cast<long double>(values[k]) * std::cos(unit * static_cast<double>(angle));
        }
        coefficients[j] = static_cast<double>(sum * 2.0L / static_cast<long double>(n));
    }
    coefficients[0] *= 0.5;
    return ckks::Polynomial::chebyshev(std::move(coefficients), interval);
}

/// sup |f(x) - p(x)| over [a, b], measured on a uniform grid of `samples`
/// points, a Chebyshev grid of as many (denser near the ends, where the error
/// of a Chebyshev approximation peaks), and the extrema of T_{d+1} (those of
/// the interpolation error). A lower bound of the true supremum that is sharp
/// to a few digits once `samples` is well above the degree.
/// @throws InvalidArgumentError for a >= b, fewer than 2 samples, or f not finite.
template <RealFunction F>
[[nodiscard]] double max_error(F&& f, const ckks::Polynomial& p, ckks::Interval interval,
                               std::size_t samples = default_error_samples) {
    constexpr std::string_view where = "approx::max_error";
    detail::check_interval(where, interval);
    if (samples < 2) {
        throw InvalidArgumentError(cloak::detail::message(where, ": ", samples,
                                                          " samples; pass at least 2 (default ",
                                                          default_error_samples, ")"));
    }
    const double a = interval.a;
    const double b = interval.b;
    double worst = 0.0;
    const auto visit = [&](double x) {
        x = std::clamp(x, a, b);
        worst = std::max(worst, std::abs(detail::value_at(where, f, x) - p(x)));
    };
    const double last = static_cast<double>(samples - 1);
    for (std::size_t i = 0; i < samples; ++i) {
        const double s = static_cast<double>(i) / last;
        visit(a + (b - a) * s);
        visit(a + (b - a) * 0.5 * (1.0 - std::cos(std::numbers::pi * s)));
    }
    const std::size_t extrema = p.degree() + 1;
    for (std::size_t k = 0; k <= extrema; ++k) {
        const double angle =
            std::numbers::pi * static_cast<double>(k) / static_cast<double>(extrema);
        visit(a + (b - a) * 0.5 * (1.0 - std::cos(angle)));
    }
    return worst;
}

/// The same polynomial in the power basis: sum c_i x^i. Exact in exact
/// arithmetic; computed in long double. The power coefficients of a series of
/// high degree on a wide interval are huge and cancel, which is why the
/// evaluator and approx/ keep the Chebyshev basis: convert to read or compare
/// coefficients, not to evaluate a degree above about 20.
[[nodiscard]] inline ckks::Polynomial to_power_basis(const ckks::Polynomial& p) {
    if (p.basis() == ckks::PolynomialBasis::power) {
        return p;
    }
    const std::span<const double> c = p.coefficients();
    const std::size_t n = c.size();
    // sum c_i T_i(t) in powers of t: T_{i+1} = 2 t T_i - T_{i-1}, term by term.
    std::vector<long double> in_t(n, 0.0L);
    std::vector<long double> previous(n, 0.0L);
    std::vector<long double> current(n, 0.0L);
    current[0] = 1.0L;
    for (std::size_t i = 0; i < n; ++i) {
        for (std::size_t k = 0; k <= i; ++k) {
            in_t[k] += static_cast<long double>(c[i]) * current[k];
        }
        std::vector<long double> next(n, 0.0L);
        for (std::size_t k = 0; k <= i && k + 1 < n; ++k) {
            next[k + 1] = (i == 0 ? 1.0L : 2.0L) * current[k];
        }
        for (std::size_t k = 0; k < n; ++k) {
            next[k] -= (i == 0 ? 0.0L : previous[k]);
        }
        previous = std::move(current);
        current = std::move(next);
    }
    // t = alpha x + beta, by Horner over polynomials in x.
    const long double a = p.interval().a;
    const long double b = p.interval().b;
    const long double alpha = 2.0L / (b - a);
    const long double beta = -(a + b) / (b - a);
    std::vector<long double> in_x(n, 0.0L);
    for (std::size_t k = n; k-- > 0;) {
        for (std::size_t j = n - 1; j > 0; --j) {
            in_x[j] = in_x[j] * beta + in_x[j - 1] * alpha;
        }
        in_x[0] = in_x[0] * beta + in_t[k];
    }
    std::vector<double> result(n);
    for (std::size_t i = 0; i < n; ++i) {
        result[i] = static_cast<double>(in_x[i]);
    }
    return ckks::Polynomial::power(std::move(result));
}

/// The same polynomial as a Chebyshev series on `interval`, whatever basis and
/// interval it is written in. A power polynomial with only odd (even) powers on
/// a symmetric interval keeps exactly zero even (odd) coefficients.
/// @throws InvalidArgumentError for a >= b.
[[nodiscard]] inline ckks::Polynomial to_chebyshev_basis(const ckks::Polynomial& p,
                                                         ckks::Interval interval) {
    detail::check_interval("approx::to_chebyshev_basis", interval);
    if (p.basis() == ckks::PolynomialBasis::chebyshev && p.interval().a == interval.a &&
        p.interval().b == interval.b) {
        return p;
    }
    const ckks::Polynomial power = to_power_basis(p);
    const std::span<const double> q = power.coefficients();
    const std::size_t n = q.size();
    // x = gamma t + delta; Horner in x, multiplying a Chebyshev series by t with
    // t T_0 = T_1 and t T_j = (T_{j+1} + T_{j-1}) / 2.
    const long double gamma = 0.5L * (static_cast<long double>(interval.b) - interval.a);
    const long double delta = 0.5L * (static_cast<long double>(interval.a) + interval.b);
    std::vector<long double> series(n + 1, 0.0L);
    std::vector<long double> times_t(n + 1, 0.0L);
    for (std::size_t k = n; k-- > 0;) {
        std::fill(times_t.begin(), times_t.end(), 0.0L);
        for (std::size_t j = 0; j < n; ++j) {
            if (series[j] == 0.0L) {
                continue;
            }
            if (j == 0) {
                times_t[1] += series[0];
            } else {
                times_t[j + 1] += 0.5L * series[j];
                times_t[j - 1] += 0.5L * series[j];
            }
        }
        for (std::size_t j = 0; j < n; ++j) {
            series[j] = gamma * times_t[j] + (delta == 0.0L ? 0.0L : delta * series[j]);
        }
        series[0] += q[k];
    }
    std::vector<double> result(n);
    for (std::size_t i = 0; i < n; ++i) {
        result[i] = static_cast<double>(series[i]);
    }
    return ckks::Polynomial::chebyshev(std::move(result), interval);
}

}  // namespace cloak::inline v0::approx
