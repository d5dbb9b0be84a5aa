// cloak: minimax polynomial approximation by the Remez exchange algorithm, in
// NTL's arbitrary-precision RR.
//
// The best uniform approximation p* of degree d to a continuous f on [a, b] is
// the one whose error f - p* equioscillates: it takes its maximum |E| with
// alternating signs at d + 2 points (Chebyshev's theorem). Remez's second
// algorithm finds it by iteration: solve the linear system
//     sum_i c_i T_i(t_j) + (-1)^j E = f(x_j)     (j = 0 ... d + 1)
// on a reference of d + 2 points, move the reference to the extrema of the new
// error f - p (located on a fine Chebyshev grid, then refined by golden-section
// search), and stop once those extrema are equal within the tolerance (Powell,
// "Approximation Theory and Methods", ch. 9; the exchange of all points at
// once, with the grid bookkeeping of Chebfun's remez.m). By de la Vallee
// Poussin's theorem the smallest and largest of the alternating extrema bracket
// the minimax error, so the tolerance bounds how far the result is from optimal.
//
// The system is solved in the Chebyshev basis of the interval (well conditioned
// where the power basis is not) and in RR at 200 bits by default: the high-degree
// series of bootstrapping's EvalMod and the composite sign of Lee, Lee, Kim and
// No 2021 need coefficients beyond double precision before their final rounding.
#pragma once

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <functional>
#include <numbers>
#include <optional>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <NTL/RR.h>

#include <cloak/approx/chebyshev.hpp>
#include <cloak/ckks/polynomial.hpp>
#include <cloak/core/error.hpp>

namespace cloak::inline v0::approx {

/// A callable from NTL::RR to NTL::RR: f evaluated at the working precision.
template <typename F>
concept HighPrecisionFunction = std::invocable<F&, const NTL::RR&> &&
    std::convertible_to<std::invoke_result_t<F&, const NTL::RR&>, NTL::RR>;

/// Exchanges before minimax gives up (it converges in 5 to 15 on smooth functions).
inline constexpr int default_minimax_iterations = 50;
/// Largest relative spread (max - min) / max of the alternating extrema at convergence:
/// the result's error is within this factor of the best possible.
inline constexpr double default_minimax_tolerance = 1e-6;
/// Bits of the RR mantissa during the computation.
inline constexpr long default_minimax_precision_bits = 200;
/// Points of the search grid per reference point.
inline constexpr std::size_t minimax_grid_density = 32;

/// Options of minimax, filled with designated initializers.
struct MinimaxOptions {
    /// Exchanges before giving up (default 50).
    std::optional<int> max_iterations = std::nullopt;
    /// Relative equioscillation tolerance, in (0, 1) (default 1e-6).
    std::optional<double> tolerance = std::nullopt;
    /// Terms to use (default: all). With Parity::odd (even), f must be odd (even);
    /// the interval is symmetric [-b, b] or has 0 <= a < b, meaning [-b, -a] and
    /// [a, b] together, and the result is a series on [-b, b].
    Parity parity = Parity::none;
    /// RR precision in bits, in [53, 4096] (default 200); restored on return.
    std::optional<long> precision_bits = std::nullopt;
};

/// A minimax approximation and how good it is.
struct MinimaxResult {
    /// The series, on the interval (on [-b, b] with a parity), coefficients rounded to double.
    ckks::Polynomial polynomial;
    /// sup |f - p| on the interval, measured at the refined extrema of the error
    /// (with the double coefficients of `polynomial`).
    double max_error;
    /// Exchanges performed.
    int iterations;
    /// The Chebyshev coefficients at full precision, index i for T_i (zeros included).
    std::vector<NTL::RR> coefficients_rr;
    /// The points x where the error equioscillates, ascending (d + 2 of them
    /// without a parity; those in [max(a, 0), b] with one).
    std::vector<double> extrema;
};

namespace detail {

/// Sets NTL's RR precision for a scope and restores the caller's on exit
/// (NTL keeps it per thread).
class RRPrecisionGuard {
  public:
    explicit RRPrecisionGuard(long bits) : previous_(NTL::RR::precision()) {
        NTL::RR::SetPrecision(bits);
    }
    ~RRPrecisionGuard() { NTL::RR::SetPrecision(previous_); }
    RRPrecisionGuard(const RRPrecisionGuard&) = delete;
    RRPrecisionGuard& operator=(const RRPrecisionGuard&) = delete;

  private:
    long previous_;
};

/// Solves A x = b (n x n, row-major) in RR with partial pivoting; false when singular.
inline bool solve_linear_rr(std::vector<NTL::RR>& a, std::vector<NTL::RR>& b,
                            std::vector<NTL::RR>& x) {
    const std::size_t n = b.size();
    for (std::size_t col = 0; col < n; ++col) {
        std::size_t pivot = col;
        for (std::size_t row = col + 1; row < n; ++row) {
            if (NTL::abs(a[row * n + col]) > NTL::abs(a[pivot * n + col])) {
                pivot = row;
            }
        }
        if (NTL::IsZero(a[pivot * n + col])) {
            return false;
        }
        if (pivot != col) {
            for (std::size_t k = 0; k < n; ++k) {
                NTL::swap(a[col * n + k], a[pivot * n + k]);
            }
            NTL::swap(b[col], b[pivot]);
        }
        NTL::RR factor;
        for (std::size_t row = col + 1; row < n; ++row) {
            if (NTL::IsZero(a[row * n + col])) {
                continue;
            }
            NTL::div(factor, a[row * n + col], a[col * n + col]);
            for (std::size_t k = col; k < n; ++k) {
                a[row * n + k] -= factor * a[col * n + k];
            }
            b[row] -= factor * b[col];
        }
    }
    x.assign(n, NTL::RR());
    for (std::size_t row = n; row-- > 0;) {
        NTL::RR sum = b[row];
        for (std::size_t k = row + 1; k < n; ++k) {
            sum -= a[row * n + k] * x[k];
        }
        NTL::div(x[row], sum, a[row * n + row]);
    }
    return true;
}

/// The Remez exchange on f given in RR; `function_bits` is f's own accuracy
/// (53 for a double function), below which the extrema cannot be told apart.
inline MinimaxResult remez(std::string_view where, const std::function<NTL::RR(const NTL::RR&)>& f,
                           ckks::Interval interval, std::size_t degree,
                           const MinimaxOptions& options, long function_bits) {
    using NTL::RR;
    check_interval(where, interval);
    check_degree(where, degree);
    check_parity(where, interval, degree, options.parity, true);
    const int max_iterations = options.max_iterations.value_or(default_minimax_iterations);
    if (max_iterations < 1) {
        throw InvalidArgumentError(cloak::detail::message(
            where, ": max_iterations ", max_iterations, " must be at least 1 (default ",
            default_minimax_iterations, ")"));
    }
    const double tolerance = options.tolerance.value_or(default_minimax_tolerance);
    if (!(tolerance > 0.0 && tolerance < 1.0)) {
        throw InvalidArgumentError(cloak::detail::message(where, ": tolerance ", tolerance,
                                                          " is outside (0, 1); pass e.g. ",
                                                          default_minimax_tolerance));
    }
    const long bits = options.precision_bits.value_or(default_minimax_precision_bits);
    if (bits < 53 || bits > 4096) {
        throw InvalidArgumentError(cloak::detail::message(where, ": precision_bits ", bits,
                                                          " is outside [53, 4096] (default ",
                                                          default_minimax_precision_bits, ")"));
    }
    const RRPrecisionGuard guard(bits);

    // The variable: t = (2x - a - b) / (b - a) on [a, b], or with a parity t = x / b
    // on [max(a, 0) / b, 1].
    const bool has_parity = options.parity != Parity::none;
    const double t_lo = has_parity ? std::max(interval.a, 0.0) / interval.b : -1.0;
    const double t_hi = 1.0;
    const RR rr_a = NTL::to_RR(interval.a);
    const RR rr_b = NTL::to_RR(interval.b);
    const RR mid = has_parity ? RR() : (rr_a + rr_b) / 2;
    const RR half = has_parity ? rr_b : (rr_b - rr_a) / 2;
    const ckks::Interval series_interval =
        has_parity ? ckks::Interval{-interval.b, interval.b} : interval;
    std::vector<std::size_t> terms;
    for (std::size_t i = 0; i <= degree; ++i) {
        if (!has_parity || (i % 2 == 1) == (options.parity == Parity::odd)) {
            terms.push_back(i);
        }
    }
    const std::size_t m = terms.size();
    const std::size_t points = m + 1;

    const auto x_of = [&](double t) { return mid + half * NTL::to_RR(t); };
    const auto f_at = [&](double t) { return f(x_of(t)); };
    std::vector<RR> chebyshev(degree + 1);
    // chebyshev[i] = T_i(t)
    const auto fill_chebyshev = [&](double t) {
        const RR rt = NTL::to_RR(t);
        chebyshev[0] = 1;
        chebyshev[1] = rt;
        for (std::size_t i = 2; i <= degree; ++i) {
            chebyshev[i] = 2 * rt * chebyshev[i - 1] - chebyshev[i - 2];
        }
    };
    // sum c_i T_i(t) by Clenshaw's recurrence, in place (RR temporaries allocate).
    RR two_t;
    RR b1;
    RR b2;
    RR scratch;
    const auto series = [&](const std::vector<RR>& c, double t) {
        NTL::conv(two_t, t);
        NTL::mul(two_t, two_t, 2.0);
        NTL::clear(b1);
        NTL::clear(b2);
        for (std::size_t k = c.size(); k-- > 1;) {
            NTL::mul(scratch, two_t, b1);
            NTL::sub(scratch, scratch, b2);
            NTL::add(scratch, scratch, c[k]);
            NTL::swap(b2, b1);
            NTL::swap(b1, scratch);
        }
        // c_0 + t b1 - b2 = c_0 + (2t b1) / 2 - b2
        NTL::mul(scratch, two_t, b1);
        NTL::div(scratch, scratch, 2.0);
        NTL::sub(scratch, scratch, b2);
        NTL::add(scratch, scratch, c[0]);
        return scratch;
    };

    // The initial reference: the extrema of the Chebyshev polynomial that the
    // error of a near-best approximation resembles (T_{d+1} on [-1, 1]; on [0, 1]
    // with a parity, the positive extrema of the next odd or even T).
    std::vector<double> reference(points);
    for (std::size_t j = 0; j < points; ++j) {
        const double jd = static_cast<double>(j);
        const double md = static_cast<double>(m);
        if (has_parity && t_lo == 0.0) {
            const double denominator = options.parity == Parity::odd ? 2.0 * md + 1.0 : 2.0 * md;
            reference[points - 1 - j] = std::cos(std::numbers::pi * jd / denominator);
        } else {
            reference[j] =
                0.5 * (t_lo + t_hi) - 0.5 * (t_hi - t_lo) * std::cos(std::numbers::pi * jd / md);
        }
    }
    reference.front() = std::max(reference.front(), t_lo);
    reference.back() = t_hi;

    // The search grid, denser near the ends like the extrema, with f cached.
    const std::size_t grid_size = std::max<std::size_t>(minimax_grid_density * points, 512);
    std::vector<double> grid(grid_size);
    std::vector<RR> f_grid(grid_size);
    RR f_scale;
    for (std::size_t k = 0; k < grid_size; ++k) {
        const double s = static_cast<double>(k) / static_cast<double>(grid_size - 1);
        grid[k] = k == 0 ? t_lo
                         : (k + 1 == grid_size
                                ? t_hi
                                : 0.5 * (t_lo + t_hi) -
                                      0.5 * (t_hi - t_lo) * std::cos(std::numbers::pi * s));
        f_grid[k] = f_at(grid[k]);
        f_scale = std::max(f_scale, NTL::abs(f_grid[k]));
    }
    // Extrema closer than this cannot be told apart: f's own rounding.
    RR noise = f_scale * NTL::power2_RR(-static_cast<long>(std::min(function_bits, bits)) + 2);
    if (NTL::IsZero(noise)) {
        noise = NTL::power2_RR(-bits);
    }

    std::vector<RR> matrix(points * points);
    std::vector<RR> rhs(points);
    std::vector<RR> solution;
    std::vector<RR> coefficients;
    RR last_max;
    RR last_min;
    for (int iteration = 1; iteration <= max_iterations; ++iteration) {
        // The levelled system on the reference.
        for (std::size_t j = 0; j < points; ++j) {
            fill_chebyshev(reference[j]);
            for (std::size_t i = 0; i < m; ++i) {
                matrix[j * points + i] = chebyshev[terms[i]];
            }
            matrix[j * points + m] = j % 2 == 0 ? 1 : -1;
            rhs[j] = f_at(reference[j]);
        }
        if (!solve_linear_rr(matrix, rhs, solution)) {
            throw InvalidArgumentError(cloak::detail::message(
                where, ": the reference became singular at iteration ", iteration,
                " (two extrema merged); lower the degree or raise precision_bits"));
        }
        coefficients.assign(degree + 1, RR());
        for (std::size_t i = 0; i < m; ++i) {
            coefficients[terms[i]] = solution[i];
        }

        // The error on the grid merged with the reference, and one candidate
        // (the largest |e|) per run of equal sign.
        std::vector<std::pair<double, RR>> samples;  // (t, f(t))
        samples.reserve(grid_size + points);
        {
            std::size_t g = 0;
            std::size_t r = 0;
            while (g < grid_size || r < points) {
                if (r == points || (g < grid_size && grid[g] <= reference[r])) {
                    if (r < points && grid[g] == reference[r]) {
                        ++r;
                    }
                    samples.emplace_back(grid[g], f_grid[g]);
                    ++g;
                } else {
                    samples.emplace_back(reference[r], f_at(reference[r]));
                    ++r;
                }
            }
        }
        std::vector<RR> errors(samples.size());
        RR largest;
        for (std::size_t k = 0; k < samples.size(); ++k) {
            errors[k] = samples[k].second - series(coefficients, samples[k].first);
            largest = std::max(largest, NTL::abs(errors[k]));
        }
        struct Candidate {
            std::size_t index;
            int sign;
            RR magnitude;
        };
        std::vector<Candidate> candidates;
        for (std::size_t k = 0; k < samples.size(); ++k) {
            const int sign = NTL::sign(errors[k]);
            if (sign == 0) {
                continue;
            }
            const RR magnitude = NTL::abs(errors[k]);
            if (candidates.empty() || candidates.back().sign != sign) {
                candidates.push_back({k, sign, magnitude});
            } else if (magnitude > candidates.back().magnitude) {
                candidates.back().index = k;
                candidates.back().magnitude = magnitude;
            }
        }
        const auto build = [&](const std::vector<double>& extrema, const RR& error) {
            std::vector<double> rounded(degree + 1, 0.0);
            std::vector<RR> rounded_rr(degree + 1);
            for (std::size_t i = 0; i <= degree; ++i) {
                rounded[i] = NTL::to_double(coefficients[i]);
                rounded_rr[i] = NTL::to_RR(rounded[i]);
            }
            // The error of the coefficients rounded to double, at the extrema (in RR,
            // so that only the rounding of the coefficients shows).
            RR worst = error;
            std::vector<double> xs;
            for (const double t : extrema) {
                xs.push_back(NTL::to_double(x_of(t)));
                worst = std::max(worst, NTL::abs(f_at(t) - series(rounded_rr, t)));
            }
            return MinimaxResult{ckks::Polynomial::chebyshev(std::move(rounded), series_interval),
                                 NTL::to_double(worst), iteration, coefficients, std::move(xs)};
        };
        if (largest <= noise) {
            // f is a polynomial of this degree, to its own precision.
            return build(reference, largest);
        }
        // Keep `points` alternating candidates: drop the smallest, merging its
        // neighbours (same sign) when it is inside, an end when one too many.
        while (candidates.size() > points) {
            std::size_t k = 0;
            for (std::size_t i = 1; i < candidates.size(); ++i) {
                if (candidates[i].magnitude < candidates[k].magnitude) {
                    k = i;
                }
            }
            const auto drop = [&](std::size_t i) {
                candidates.erase(candidates.begin() + static_cast<std::ptrdiff_t>(i));
            };
            if (k == 0 || k + 1 == candidates.size()) {
                drop(k);
            } else if (candidates.size() - 2 >= points) {
                const std::size_t neighbour =
                    candidates[k - 1].magnitude < candidates[k + 1].magnitude ? k - 1 : k + 1;
                drop(std::max(k, neighbour));
                drop(std::min(k, neighbour));
            } else {
                drop(candidates.front().magnitude < candidates.back().magnitude
                         ? 0
                         : candidates.size() - 1);
            }
        }
        if (candidates.size() < points) {
            throw InvalidArgumentError(cloak::detail::message(
                where, ": the error has ", candidates.size(), " alternating extrema, ", points,
                " needed, at iteration ", iteration, " (largest error ", NTL::to_double(largest),
                "); f may not be continuous, or lower the degree"));
        }

        // Refine each extremum by golden-section search between its grid neighbours.
        std::vector<double> next(points);
        std::vector<RR> magnitudes(points);
        for (std::size_t j = 0; j < points; ++j) {
            const std::size_t k = candidates[j].index;
            const int sign = candidates[j].sign;
            const auto signed_error = [&](double t) {
                const RR e = f_at(t) - series(coefficients, t);
                return sign > 0 ? e : -e;
            };
            double left = samples[k == 0 ? 0 : k - 1].first;
            double right = samples[std::min(k + 1, samples.size() - 1)].first;
            double best_t = samples[k].first;
            RR best = candidates[j].magnitude;
            constexpr double ratio = 0.6180339887498949;
            double c = right - ratio * (right - left);
            double d = left + ratio * (right - left);
            RR fc = signed_error(c);
            RR fd = signed_error(d);
            for (int step = 0; step < 25; ++step) {
                if (fc > fd) {
                    right = d;
                    d = c;
                    fd = fc;
                    c = right - ratio * (right - left);
                    fc = signed_error(c);
                } else {
                    left = c;
                    c = d;
                    fc = fd;
                    d = left + ratio * (right - left);
                    fd = signed_error(d);
                }
            }
            const double t_refined = fc > fd ? c : d;
            const RR value = fc > fd ? fc : fd;
            if (value > best) {
                best = value;
                best_t = t_refined;
            }
            next[j] = best_t;
            magnitudes[j] = best;
        }
        if (!std::is_sorted(next.begin(), next.end()) ||
            std::adjacent_find(next.begin(), next.end()) != next.end()) {
            for (std::size_t j = 0; j < points; ++j) {
                next[j] = samples[candidates[j].index].first;
                magnitudes[j] = candidates[j].magnitude;
            }
        }
        last_max = *std::max_element(magnitudes.begin(), magnitudes.end());
        last_min = *std::min_element(magnitudes.begin(), magnitudes.end());
        const RR allowed = std::max(NTL::to_RR(tolerance) * last_max, noise);
        if (last_max - last_min <= allowed) {
            return build(next, last_max);
        }
        reference = std::move(next);
    }
    throw InvalidArgumentError(cloak::detail::message(
        where, ": no equioscillation after ", max_iterations, " iterations (last error ",
        NTL::to_double(last_max), ", extrema spread ",
        NTL::to_double((last_max - last_min) / last_max), " > tolerance ", tolerance,
        "); raise max_iterations or tolerance, lower the degree, or check that f is continuous"));
}

}  // namespace detail

/// The minimax (best uniform) polynomial of degree `degree` to f on [a, b], f
/// evaluated in RR at the working precision.
/// @throws InvalidArgumentError for a >= b, a degree outside [1, 2047], a parity
///         that does not fit, bad options, or no convergence (naming the
///         iterations and the last error).
template <HighPrecisionFunction F>
[[nodiscard]] MinimaxResult minimax(F&& f, ckks::Interval interval, std::size_t degree,
                                    const MinimaxOptions& options = {}) {
    const std::function<NTL::RR(const NTL::RR&)> function = [&f](const NTL::RR& x) {
        return NTL::RR(f(x));
    };
    return detail::remez("approx::minimax", function, interval, degree, options,
                         options.precision_bits.value_or(default_minimax_precision_bits));
}

/// The minimax polynomial to a function evaluated in double: the coefficients
/// are still solved in RR, and the result is as good as f's double values allow
/// (about 1e-15 relative).
/// @throws as the RR overload, and when f is not finite on the interval.
template <RealFunction F>
requires(!HighPrecisionFunction<F>) [[nodiscard]] MinimaxResult
    minimax(F&& f, ckks::Interval interval, std::size_t degree,
            const MinimaxOptions& options = {}) {
    const std::function<NTL::RR(const NTL::RR&)> function = [&f](const NTL::RR& x) {
        return NTL::to_RR(detail::value_at("approx::minimax", f, NTL::to_double(x)));
    };
    return detail::remez("approx::minimax", function, interval, degree, options, 53);
}

}  // namespace cloak::inline v0::approx
