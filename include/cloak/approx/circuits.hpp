// cloak: homomorphic iterative circuits: the inverse 1/x (Goldschmidt), the
// inverse square root and the square root (a Chebyshev start, then Newton), and
// softmax over windows of slots.
//
// They use the public ckks::Evaluator API only. Two habits keep them short in
// levels and exact in scale:
// - A ciphertext at scale S encrypting m also encrypts m / c at scale S c, so a
//   constant factor (dividing by the interval's end, halving in a Newton step)
//   costs nothing: set_scale.
// - An operand that waits at a higher level while another is computed comes down
//   through match_scale, which lands it on any chosen scale for the level it has
//   to lose anyway. Each circuit chooses those scales so that its output lands
//   exactly on the target scale (default: the input's), ready to add to other
//   ciphertexts in manual mode.
// Depths are exact and stated by the *_depth functions; every circuit checks its
// arguments and the levels before any homomorphic work.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <numbers>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include <cloak/ckks/ciphertext.hpp>
#include <cloak/ckks/encoder.hpp>
#include <cloak/ckks/evaluator.hpp>
#include <cloak/ckks/polynomial.hpp>
#include <cloak/core/bits.hpp>
#include <cloak/core/error.hpp>

namespace cloak::inline v0::approx {

/// Relative error the default iteration counts and degrees aim at.
inline constexpr double default_circuit_error = 0x1p-20;
/// Most Newton or Goldschmidt iterations a circuit accepts.
inline constexpr std::size_t max_circuit_iterations = 30;

/// Options of inverse().
struct InverseOptions {
    /// [a, b] with 0 < a < b: where every input value lies.
    ckks::Interval interval = {};
    /// Goldschmidt iterations k (default: inverse_iterations(interval), enough
    /// for a relative error of default_circuit_error); 1 to 30.
    std::optional<std::size_t> iterations = std::nullopt;
    /// Scale of the result (default: the input's). The result lands on it exactly.
    std::optional<double> target_scale = std::nullopt;
};

/// Options of inverse_sqrt() and sqrt().
struct InverseSqrtOptions {
    /// [a, b] with 0 < a < b: where every input value lies.
    ckks::Interval interval = {};
    /// Newton iterations (default: enough for default_circuit_error from the
    /// initial polynomial's measured error); 1 to 30.
    std::optional<std::size_t> iterations = std::nullopt;
    /// Degree of the initial Chebyshev interpolant of 1/sqrt on the interval
    /// (default: the degree, 2^j - 1 up to 127, with the fewest total levels).
    std::optional<std::size_t> degree = std::nullopt;
    /// Scale of the result (default: the input's). The result lands on it exactly.
    std::optional<double> target_scale = std::nullopt;
};

using SqrtOptions = InverseSqrtOptions;

/// Options of softmax().
struct SoftmaxOptions {
    /// Softmax over each window of `window` consecutive slots (a power of two, at
    /// most the ciphertext's slots): slots [j w, (j + 1) w) form one window.
    std::size_t window = 0;
    /// [a, b]: where every input value lies. Shift inputs so that the largest is
    /// near 0 (b = 0): exp stays in (0, 1], and the window sums in [w e^a, w].
    ckks::Interval input_interval = {};
    /// Degree of the Chebyshev interpolant of exp on input_interval (default: the
    /// smallest 2^j - 1 within 2^-25 e^b).
    std::optional<std::size_t> exp_degree = std::nullopt;
    /// Where the window sums lie (default [w e^a, w e^b]). A narrower interval,
    /// when known, saves Goldschmidt iterations.
    std::optional<ckks::Interval> sum_interval = std::nullopt;
    /// Goldschmidt iterations for the inverse of the sums (default:
    /// inverse_iterations(sum interval)); 1 to 30.
    std::optional<std::size_t> inverse_iterations = std::nullopt;
    /// Scale of the result (default: the input's). The result lands on it exactly.
    std::optional<double> target_scale = std::nullopt;
};

namespace detail {

inline void check_positive_interval(ckks::Interval interval, const char* where,
                                    const char* field = "interval") {
    if (!(std::isfinite(interval.a) && std::isfinite(interval.b) && interval.a > 0 &&
          interval.a < interval.b)) {
        throw InvalidArgumentError(
            cloak::detail::message(where, ": ", field, " [", interval.a, ", ", interval.b,
                                   "] must satisfy 0 < a < b (finite); pass .", field,
                                   " = {.a = lo, .b = hi} bounding the values, with lo > 0"));
    }
}

inline void check_iterations(std::size_t iterations, const char* where, const char* hint) {
    if (iterations == 0 || iterations > max_circuit_iterations) {
        throw InvalidArgumentError(cloak::detail::message(where, ": ", iterations,
                                                          " iterations; pass 1 to ",
                                                          max_circuit_iterations, " (", hint, ")"));
    }
}

inline void check_target_scale(const std::optional<double>& scale, const char* where) {
    if (scale && (!(*scale > 0) || !std::isfinite(*scale))) {
        throw InvalidArgumentError(cloak::detail::message(where, ": target scale ", *scale,
                                                          " must be positive and finite"));
    }
}

inline void check_degree(std::size_t degree, const char* where) {
    if (degree == 0 || degree > ckks::max_polynomial_degree) {
        throw InvalidArgumentError(cloak::detail::message(
            where, ": degree ", degree, "; pass 1 to ", ckks::max_polynomial_degree));
    }
}

// Whether the Evaluator (automatic mode) rescales x before using it, by its rule:
// a scale above 2^(1.5 log_scale) awaits a rescale.
inline bool rescale_pending(const ckks::Evaluator& eval, const ckks::Ciphertext& x) {
    return eval.scale_mode() == ckks::ScaleMode::automatic && x.level() > 0 &&
           x.scale() > std::exp2(1.5 * eval.context().parameters().log_scale());
}

// Checks that x is usable and holds `needed` levels (after a pending rescale),
// before any work.
inline void check_input(const ckks::Evaluator& eval, const ckks::Ciphertext& x, std::size_t needed,
                        const char* where, const char* fix) {
    if (x.empty()) {
        throw InvalidArgumentError(cloak::detail::message(where, ": the ciphertext is empty"));
    }
    const bool pending = rescale_pending(eval, x);
    const std::size_t available = x.level() - (pending ? 1 : 0);
    if (available < needed) {
        throw LevelError(cloak::detail::message(
            where, ": needs ", needed, " levels, the ciphertext has ", available,
            pending ? " (after its pending rescale)" : "", "; bootstrap it, ", fix,
            ", or use parameters with more levels"));
    }
}

inline ckks::Ciphertext prepared(const ckks::Evaluator& eval, const ckks::Ciphertext& x) {
    return rescale_pending(eval, x) ? eval.rescale(x) : x;
}

// The prime that rescaling at `level` divides by.
inline double prime(const ckks::Evaluator& eval, std::size_t level) {
    return static_cast<double>(eval.context().parameters().q_primes().at(level));
}

// c (above `level`) brought to `level` with scale exactly `scale`: dropped to
// level + 1, then one match_scale.
inline ckks::Ciphertext to_level(const ckks::Evaluator& eval, const ckks::Ciphertext& c,
                                 std::size_t level, double scale) {
    return eval.match_scale(eval.drop_level_to(c, level + 1), scale);
}

/// Chebyshev interpolant of f on [a, b] at the degree + 1 first-kind nodes:
/// sum c_j T_j((2x - a - b) / (b - a)).
template <typename F>
std::vector<double> chebyshev_interpolant(F f, std::size_t degree, ckks::Interval interval) {
    const std::size_t n = degree + 1;
    const double centre = 0.5 * (interval.a + interval.b);
    const double radius = 0.5 * (interval.b - interval.a);
    std::vector<double> values(n);
    for (std::size_t k = 0; k < n; ++k) {
        const double theta =
            std::numbers::pi * (static_cast<double>(k) + 0.5) / static_cast<double>(n);
        values[k] = f(centre + radius * std::cos(theta));
    }
    std::vector<double> c(n, 0.0);
    for (std::size_t j = 0; j < n; ++j) {
        double sum = 0.0;
        for (std::size_t k = 0; k < n; ++k) {
            const double theta =
                std::numbers::pi * (static_cast<double>(k) + 0.5) / static_cast<double>(n);
            sum += values[k] * std::cos(static_cast<double>(j) * theta);
        }
        c[j] = 2.0 * sum / static_cast<double>(n);
    }
    c[0] *= 0.5;
    return c;
}

// Points of [a, b], denser near the ends where interpolation errors peak.
inline std::vector<double> error_grid(ckks::Interval interval, std::size_t count = 4097) {
    std::vector<double> x(count);
    for (std::size_t j = 0; j < count; ++j) {
        const double t =
            std::cos(std::numbers::pi * static_cast<double>(j) / static_cast<double>(count - 1));
        x[j] = std::clamp(0.5 * (interval.a + interval.b) - 0.5 * (interval.b - interval.a) * t,
                          interval.a, interval.b);
    }
    return x;
}

// An interval [lo, lo + 2] containing [a, b] with lo a multiple of 2^-32 (so
// that hi - lo is exactly 2 in double): a Chebyshev series there needs no level
// for its change of variable, only a shift. Centred on [a, b] when it can be;
// with `positive`, lo stays in (0, a]. Empty when b - a is too wide.
inline std::optional<ckks::Interval> width_two_interval(ckks::Interval interval, bool positive) {
    if (!(interval.b - interval.a < 2.0)) {
        return std::nullopt;
    }
    double lo = 0.5 * (interval.a + interval.b) - 1.0;
    if (positive && lo <= 0) {
        lo = interval.a;
    }
    lo = std::ldexp(std::floor(std::ldexp(lo, 32)), -32);
    const double hi = lo + 2.0;
    if (lo > interval.a || hi < interval.b || hi - lo != 2.0 || (positive && !(lo > 0))) {
        return std::nullopt;
    }
    return ckks::Interval{lo, hi};
}

/// Goldschmidt on a prepared input with validated arguments: see inverse().
/// With a broadcast window w (1 < w < slots), only slots 0, w, 2w, .. of x are
/// read: the level that brings y onto its scale multiplies by a mask of those
/// slots too, and two rotations spread each over its window (softmax's sums).
inline ckks::Ciphertext goldschmidt(const ckks::Evaluator& eval, const ckks::Ciphertext& x,
                                    ckks::Interval interval, std::size_t iterations,
                                    double target_scale, const char* where,
                                    std::size_t broadcast_window = 0) {
    const double b = interval.b;
    const std::size_t top = x.level();

    // y = 1 - x / b in [0, 1 - a/b]: x read at scale S b is x / b (no level).
    ckks::Ciphertext y = eval.negate(x);
    y.set_scale(x.scale() * b);
    y = eval.add(y, 1.0);
    // Down one level onto a scale near the prime the first squaring divides by,
    // so that the squares keep their scales near the primes (a scale away from
    // them would be squared along, 2^(2^i) times over), with an integer factor
    // that is exact: the scale follows the integer, not the other way round.
    const double factor = std::round(prime(eval, top - 1) * prime(eval, top) / y.scale());
    if (!(factor >= 1)) {
        throw InvalidArgumentError(cloak::detail::message(
            where, ": interval end b = ", b, " is too large for the input's scale 2^",
            std::log2(x.scale()), "; divide the input by a constant first"));
    }
    if (broadcast_window > 1 && broadcast_window < x.slots()) {
        std::vector<double> heads(x.slots(), 0.0);
        for (std::size_t i = 0; i < heads.size(); i += broadcast_window) {
            heads[i] = 1.0;
        }
        const ckks::Encoder encoder(eval.context());
        y = eval.rescale(eval.multiply(
            y, encoder.encode(heads, {.level = top, .scale = factor, .slots = x.slots()})));
        y = eval.rotate(y, -static_cast<std::int64_t>(broadcast_window - 1));
        y = eval.rotate_and_sum(y, broadcast_window);
    } else {
        y = eval.match_scale(y, factor * y.scale() / prime(eval, top));
    }

    // Factors 1 + y^(2^i) whose deviation from 1 stays below 2^-60 on the whole
    // interval change nothing; they are skipped (their levels dropped), so that a
    // generous iteration count cannot drive the vanishing powers' scales off.
    const double log2_y_max = std::log2(1.0 - interval.a / interval.b);
    std::size_t used = 1;
    while (used < iterations && std::ldexp(log2_y_max, static_cast<int>(used)) >= -60.0) {
        ++used;
    }

    // The powers y^(2^i), i = 1 .. used - 1: y^(2^i) at level top - 1 - i.
    std::vector<ckks::Ciphertext> powers;
    powers.reserve(used);
    for (std::size_t i = 1; i < used; ++i) {
        powers.push_back(eval.rescale(eval.square(i == 1 ? y : powers.back())));
    }
    // The product lands on target_scale / b (then read as 1/x at target_scale):
    // the first factor comes down a level onto the scale that makes it so.
    double scale = target_scale / b;
    for (std::size_t i = 1; i < used; ++i) {
        scale *= prime(eval, top - 1 - i) / powers[i - 1].scale();
    }
    ckks::Ciphertext result = eval.match_scale(eval.add(y, 1.0), scale);
    for (std::size_t i = 1; i < used; ++i) {
        result = eval.rescale(eval.multiply(result, eval.add(powers[i - 1], 1.0)));
    }
    eval.drop_level_to_inplace(result, top - 1 - iterations);
    result.set_scale(target_scale);  // prod (1 + y^(2^i)) / b; equal up to the double's last bits
    return result;
}

}  // namespace detail

/// Goldschmidt iterations for a relative error of at most `relative_error` on
/// [a, b]: the smallest k >= 1 with (1 - a/b)^(2^k) <= relative_error.
/// @throws InvalidArgumentError unless 0 < a < b and 0 < relative_error < 1.
[[nodiscard]] inline std::size_t inverse_iterations(ckks::Interval interval,
                                                    double relative_error = default_circuit_error) {
    detail::check_positive_interval(interval, "approx::inverse_iterations");
    if (!(relative_error > 0 && relative_error < 1)) {
        throw InvalidArgumentError(cloak::detail::message("approx::inverse_iterations: error ",
                                                          relative_error, " must be in (0, 1)"));
    }
    // 2^k >= log(error) / log(1 - a/b).
    const double needed = std::log(relative_error) / std::log1p(-interval.a / interval.b);
    const double k = std::ceil(std::log2(needed));
    if (!(k < 64)) {
        return std::numeric_limits<std::size_t>::max();
    }
    return std::max<std::size_t>(1, static_cast<std::size_t>(std::max(k, 0.0)));
}

/// The relative error bound of k Goldschmidt iterations on [a, b]: (1 - a/b)^(2^k).
[[nodiscard]] inline double inverse_error(ckks::Interval interval, std::size_t iterations) {
    detail::check_positive_interval(interval, "approx::inverse_error");
    return std::exp2(std::ldexp(std::log2(1.0 - interval.a / interval.b),
                                static_cast<int>(std::min<std::size_t>(iterations, 1000))));
}

namespace detail {

inline std::size_t resolve_inverse_iterations(ckks::Interval interval,
                                              const std::optional<std::size_t>& iterations,
                                              const char* where, const char* field = "interval") {
    check_positive_interval(interval, where, field);
    if (iterations) {
        check_iterations(*iterations, where, "each doubles the bits of precision");
        return *iterations;
    }
    const std::size_t k = inverse_iterations(interval);
    if (k > max_circuit_iterations) {
        throw InvalidArgumentError(cloak::detail::message(
            where, ": ", field, " [", interval.a, ", ", interval.b, "] (ratio b/a = ",
            interval.b / interval.a, ") needs ", k, " Goldschmidt iterations for 2^-20, above ",
            max_circuit_iterations, "; narrow the interval",
            std::string_view(field) == "sum_interval" ? " (or the input interval)" : ""));
    }
    return k;
}

}  // namespace detail

/// Levels inverse() consumes: iterations + 1.
/// @throws InvalidArgumentError as inverse() does for the options.
[[nodiscard]] inline std::size_t inverse_depth(const InverseOptions& options) {
    return detail::resolve_inverse_iterations(options.interval, options.iterations,
                                              "approx::inverse_depth") +
           1;
}

/// 1/x slot by slot for x in [a, b], 0 < a < b, by Goldschmidt's division as
/// Cheon, Kim, Kim, Lee, Lee 2019 ("Numerical method for comparison on
/// homomorphically encrypted numbers", the Inverse algorithm) run it: x' = x / b
/// in [a/b, 1] and y = 1 - x' (no level: x / b is x read at scale S b), then
/// 1/x' = prod_{i<k} (1 + y^(2^i)) / (1 - y^(2^k)), and 1/x = that product / b
/// (no level again). The relative error is -y^(2^k), at most (1 - a/b)^(2^k) =
/// inverse_error(interval, k): the result is always slightly below 1/x.
///
/// Levels: k + 1 (inverse_depth): one to bring y onto a scale near the primes
/// (so that its squares keep their scales), k for the squarings and products.
/// The first factor 1 + y waits a level and comes down through match_scale onto
/// the scale that lands the result exactly on the target; that integer factor,
/// about target / b, rounds to a relative b / (2 target): negligible unless b
/// is beyond 2^15 or so at scale 2^40.
///
/// Precision beyond that bound: y carries the rescaling noise of a ciphertext
/// at a scale near the primes (about 2^-30 at 40-bit primes), a relative
/// 2^-30 b / x in 1/x; and the output's own rounding is absolute, so outputs as
/// small as 1/b want a larger target scale (measured at N = 2^12: 24 bits
/// relative on [1, 8], 23.4 on [10, 1000] at target scale 2^50).
/// @throws InvalidArgumentError for an interval without 0 < a < b, iterations 0
///         or above 30, a default count above 30, a non-positive target scale.
/// @throws LevelError when x has fewer than k + 1 levels (checked first).
/// @throws KeyMissingError without a relinearization key.
[[nodiscard]] inline ckks::Ciphertext inverse(const ckks::Evaluator& eval,
                                              const ckks::Ciphertext& x,
                                              const InverseOptions& options) {
    constexpr const char* where = "approx::inverse";
    const std::size_t k =
        detail::resolve_inverse_iterations(options.interval, options.iterations, where);
    detail::check_target_scale(options.target_scale, where);
    detail::check_input(eval, x, k + 1, where, "narrow the interval, or pass fewer iterations");
    const ckks::Ciphertext input = detail::prepared(eval, x);
    return detail::goldschmidt(eval, input, options.interval, k,
                               options.target_scale.value_or(input.scale()), where);
}

// ---- inverse square root and square root --------------------------------------

/// What inverse_sqrt() will do for given options.
struct InverseSqrtPlan {
    /// The initial guess: a Chebyshev interpolant of 1/sqrt (on the interval, or
    /// on a width-2 interval around it, whose change of variable is free).
    ckks::Polynomial initial;
    /// Newton iterations after it.
    std::size_t iterations;
    /// max |p(x) sqrt(x) - 1| on the interval (measured on a fine grid).
    double initial_error;
    /// The relative error bound after the iterations (e <- e^2 (3 + e) / 2).
    double error;
    /// Levels: Evaluator::depth(initial) + 2 iterations.
    std::size_t depth;
};

namespace detail {

// Relative error of one Newton step y <- y (3 - x y^2) / 2 from y sqrt(x) = 1 + e:
// e' = -e^2 (3 + e) / 2, at most e^2 (3 + e) / 2 in magnitude over [-e, e].
inline double newton_error(double e) {
    return e * e * (3.0 + e) / 2.0;
}

inline double initial_error(const ckks::Polynomial& p, ckks::Interval interval) {
    double worst = 0.0;
    for (double x : error_grid(interval)) {
        worst = std::max(worst, std::fabs(p(x) * std::sqrt(x) - 1.0));
    }
    return worst;
}

inline InverseSqrtPlan plan_inverse_sqrt(const InverseSqrtOptions& options, const char* where) {
    check_positive_interval(options.interval, where);
    if (options.iterations) {
        check_iterations(*options.iterations, where, "each doubles the bits of precision");
    }
    if (options.degree) {
        check_degree(*options.degree, where);
    }
    std::vector<std::size_t> degrees;
    if (options.degree) {
        degrees.push_back(*options.degree);
    } else {
        for (std::size_t d = 1; d <= 127; d = 2 * d + 1) {
            degrees.push_back(d);
        }
    }
    std::vector<ckks::Interval> intervals{options.interval};
    if (const auto narrow = width_two_interval(options.interval, /*positive=*/true)) {
        intervals.push_back(*narrow);
    }
    const auto f = [](double x) { return 1.0 / std::sqrt(x); };

    std::optional<InverseSqrtPlan> best;
    const auto better = [](const InverseSqrtPlan& p, const InverseSqrtPlan& q) {
        const bool p_meets = p.error <= default_circuit_error;
        const bool q_meets = q.error <= default_circuit_error;
        if (p_meets != q_meets)
            return p_meets;
        if (!p_meets)
            return p.error < q.error;
        if (p.depth != q.depth)
            return p.depth < q.depth;
        return p.initial.degree() < q.initial.degree();
    };
    double best_initial_error = std::numeric_limits<double>::infinity();
    for (std::size_t degree : degrees) {
        for (const ckks::Interval& interval : intervals) {
            ckks::Polynomial p =
                ckks::Polynomial::chebyshev(chebyshev_interpolant(f, degree, interval), interval);
            const double e0 = initial_error(p, options.interval);
            best_initial_error = std::min(best_initial_error, e0);
            // Newton converges from |e| < 0.56 (where e^2 (3 + e) / 2 < |e|); keep a margin.
            if (!(e0 <= 0.5)) {
                continue;
            }
            std::size_t n = 0;
            double e = e0;
            if (options.iterations) {
                n = *options.iterations;
                for (std::size_t i = 0; i < n; ++i)
                    e = newton_error(e);
            } else {
                do {
                    e = newton_error(e);
                    ++n;
                } while (e > default_circuit_error && n < max_circuit_iterations);
            }
            const std::size_t depth = ckks::Evaluator::depth(p) + 2 * n;
            InverseSqrtPlan plan{std::move(p), n, e0, e, depth};
            if (!best || better(plan, *best)) {
                best.emplace(std::move(plan));
            }
        }
    }
    if (!best) {
        throw InvalidArgumentError(cloak::detail::message(
            where, ": the initial interpolant of 1/sqrt on [", options.interval.a, ", ",
            options.interval.b, "] has a relative error of ", best_initial_error,
            ", above the 0.5 from which Newton's iteration converges; raise the degree (",
            options.degree ? "up to 127" : "set .degree", ") or narrow the interval"));
    }
    return std::move(*best);
}

// The scale the Newton iterates are kept at: T v with v = (a b / 2)^(1/5). A
// step multiplies x (at scale sx) by y and y by itself, and their product must
// land on a given scale, so sx s^3 is fixed; the smallest of x (at a) and y^2
// (at b) would lose the most bits to rescaling noise, and this v balances them
// (1 at [1, 2]; about 3.5 at [1, 1000], where keeping y at T would leave y^2 =
// 1/1000 only 30 bits above the noise).
inline double newton_working_scale(ckks::Interval interval, double target_scale) {
    const double v = std::pow(interval.a * interval.b / 2.0, 0.2);
    return target_scale * std::clamp(v, 0x1p-10, 0x1p10);
}

// One Newton step y <- y (3 - x y^2) / 2 = (3 y - (x y)(y^2)) / 2 in two levels,
// landing exactly on next_scale. x waits above and comes down onto the scale
// that makes it so; 3 y comes down onto the product's scale; the 1/2 is read
// into the scale.
inline ckks::Ciphertext newton_step(const ckks::Evaluator& eval, const ckks::Ciphertext& x,
                                    const ckks::Ciphertext& y, double next_scale) {
    const std::size_t level = y.level();
    const double q1 = prime(eval, level);
    const double q2 = prime(eval, level - 1);
    const double s = y.scale();
    // (x y)(y^2) lands on sx s^3 / (q1^2 q2) = next_scale / 2.
    const double sx = (next_scale / 2.0) * (q1 / s) * (q1 / s) * (q2 / s);
    const ckks::Ciphertext xl = to_level(eval, x, level, sx);
    const ckks::Ciphertext xy = eval.rescale(eval.multiply(xl, y));
    const ckks::Ciphertext yy = eval.rescale(eval.square(y));
    const ckks::Ciphertext xyyy = eval.rescale(eval.multiply(xy, yy));
    ckks::Ciphertext three_y = eval.match_scale(eval.multiply_integer(y, 3), xyyy.scale());
    eval.drop_level_to_inplace(three_y, xyyy.level());
    ckks::Ciphertext next = eval.sub(three_y, xyyy);
    next.set_scale(next_scale);  // twice the scale: (3 y - x y^3) / 2
    return next;
}

// sqrt(x) from y ~ 1/sqrt(x) in the form of a last Newton step: with z = x y,
// x y_next = z (3 - z y) / 2. Three levels (z, z y, the product), where a Newton
// step and a product with x would take three too, but every intermediate is
// near 1 or sqrt(x): no y^2 that is small for large x.
inline ckks::Ciphertext newton_sqrt(const ckks::Evaluator& eval, const ckks::Ciphertext& x,
                                    const ckks::Ciphertext& y, double target_scale) {
    const std::size_t level = y.level();
    // z = x y at the target scale.
    const ckks::Ciphertext z = eval.rescale(
        eval.multiply(to_level(eval, x, level, target_scale * prime(eval, level) / y.scale()), y));
    // w = z y, near 1, at the target scale (y comes down the level it waits).
    const ckks::Ciphertext w = eval.rescale(eval.multiply(
        z, to_level(eval, y, level - 1, target_scale * prime(eval, level - 1) / z.scale())));
    const ckks::Ciphertext three_minus_w = eval.add(eval.negate(w), 3.0);
    // z (3 - w) lands on target / 2, read as z (3 - w) / 2 at the target.
    const double z_scale = (target_scale / 2.0) * prime(eval, level - 2) / three_minus_w.scale();
    ckks::Ciphertext result =
        eval.rescale(eval.multiply(to_level(eval, z, level - 2, z_scale), three_minus_w));
    result.set_scale(target_scale);
    return result;
}

}  // namespace detail

/// The plan (initial polynomial, iterations, error bound, depth) inverse_sqrt()
/// follows for these options.
/// @throws InvalidArgumentError as inverse_sqrt() does for the options.
[[nodiscard]] inline InverseSqrtPlan inverse_sqrt_plan(const InverseSqrtOptions& options) {
    return detail::plan_inverse_sqrt(options, "approx::inverse_sqrt_plan");
}

/// Levels inverse_sqrt() consumes: depth(initial polynomial) + 2 iterations.
[[nodiscard]] inline std::size_t inverse_sqrt_depth(const InverseSqrtOptions& options) {
    return detail::plan_inverse_sqrt(options, "approx::inverse_sqrt_depth").depth;
}

/// Levels sqrt() consumes: inverse_sqrt_depth + 1.
[[nodiscard]] inline std::size_t sqrt_depth(const SqrtOptions& options) {
    return detail::plan_inverse_sqrt(options, "approx::sqrt_depth").depth + 1;
}

/// 1/sqrt(x) slot by slot for x in [a, b], 0 < a < b: an initial guess y0 by a
/// Chebyshev interpolant of 1/sqrt (Evaluator::evaluate), then Newton's
/// iteration y <- y (3 - x y^2) / 2 (as in Panda 2022, "Polynomial approximation
/// of inverse sqrt function for FHE": a polynomial start, then Newton), computed as
/// (3 y - (x y)(y^2)) / 2 in two levels with the 1/2 read into the scale. The
/// relative error e of y sqrt(x) - 1 maps to -e^2 (3 + e) / 2 per step.
///
/// Levels: Evaluator::depth(initial) + 2 iterations (inverse_sqrt_depth); the
/// defaults choose the degree (2^j - 1) with the fewest levels for 2^-20.
/// @throws InvalidArgumentError for an interval without 0 < a < b, iterations 0
///         or above 30, a degree 0 or above 2047, an initial polynomial whose
///         relative error exceeds 0.5 (Newton would diverge), a bad target scale.
/// @throws LevelError when x has fewer levels than the depth (checked first).
/// @throws KeyMissingError without a relinearization key.
[[nodiscard]] inline ckks::Ciphertext inverse_sqrt(const ckks::Evaluator& eval,
                                                   const ckks::Ciphertext& x,
                                                   const InverseSqrtOptions& options) {
    constexpr const char* where = "approx::inverse_sqrt";
    const InverseSqrtPlan plan = detail::plan_inverse_sqrt(options, where);
    detail::check_target_scale(options.target_scale, where);
    detail::check_input(eval, x, plan.depth, where, "lower the degree, or pass fewer iterations");
    const ckks::Ciphertext input = detail::prepared(eval, x);
    const double target = options.target_scale.value_or(input.scale());
    const double working = detail::newton_working_scale(options.interval, target);
    ckks::Ciphertext y = eval.evaluate(plan.initial, input, {.target_scale = working});
    for (std::size_t n = 0; n < plan.iterations; ++n) {
        y = detail::newton_step(eval, input, y, n + 1 == plan.iterations ? target : working);
    }
    return y;
}

/// sqrt(x) slot by slot for x in [a, b], 0 < a < b: x * inverse_sqrt(x), with
/// the last Newton step and the product with x fused as z (3 - z y) / 2 for
/// z = x y, so that every intermediate is near 1 or sqrt(x) and the relative
/// precision does not depend on the interval's width. Levels: inverse_sqrt_depth
/// + 1 (sqrt_depth). The relative error bound is inverse_sqrt's.
/// @throws as inverse_sqrt().
[[nodiscard]] inline ckks::Ciphertext sqrt(const ckks::Evaluator& eval, const ckks::Ciphertext& x,
                                           const SqrtOptions& options) {
    constexpr const char* where = "approx::sqrt";
    const InverseSqrtPlan plan = detail::plan_inverse_sqrt(options, where);
    detail::check_target_scale(options.target_scale, where);
    detail::check_input(eval, x, plan.depth + 1, where,
                        "lower the degree, or pass fewer iterations");
    const ckks::Ciphertext input = detail::prepared(eval, x);
    const double target = options.target_scale.value_or(input.scale());
    const double working = detail::newton_working_scale(options.interval, target);
    ckks::Ciphertext y = eval.evaluate(plan.initial, input, {.target_scale = working});
    for (std::size_t n = 0; n + 1 < plan.iterations; ++n) {
        y = detail::newton_step(eval, input, y, working);
    }
    return detail::newton_sqrt(eval, input, y, target);
}

// ---- softmax ------------------------------------------------------------------------

namespace detail {

struct SoftmaxPlan {
    ckks::Polynomial exp;
    ckks::Interval sum_interval;
    std::size_t inverse_iterations;
};

inline void check_window(std::size_t window, std::size_t slots, const char* where) {
    if (window == 0 || !core::is_power_of_two(window) || window > slots) {
        throw InvalidArgumentError(cloak::detail::message(
            where, ": window ", window, " must be a power of two from 1 to the ", slots, " slots"));
    }
}

inline SoftmaxPlan plan_softmax(const SoftmaxOptions& options, const char* where) {
    const ckks::Interval in = options.input_interval;
    if (!(std::isfinite(in.a) && std::isfinite(in.b) && in.a < in.b)) {
        throw InvalidArgumentError(cloak::detail::message(
            where, ": input interval [", in.a, ", ", in.b,
            "] must be finite with a < b; pass .input_interval = {.a = lo, .b = hi}"));
    }
    const double w = static_cast<double>(options.window);
    const double low = w * std::exp(in.a);
    const double high = w * std::exp(in.b);
    if (!(low > 0) || !std::isfinite(high)) {
        throw InvalidArgumentError(cloak::detail::message(
            where, ": input interval [", in.a, ", ", in.b, "] puts the window sums in [", low, ", ",
            high, "], outside the doubles; shift the inputs so that the largest is near 0"));
    }
    const ckks::Interval sums = options.sum_interval.value_or(ckks::Interval{low, high});
    const std::size_t iterations =
        resolve_inverse_iterations(sums, options.inverse_iterations, where, "sum_interval");
    if (options.exp_degree) {
        check_degree(*options.exp_degree, where);
    }
    // exp on a width-2 interval around [a, b] when [a, b] is narrower: a shift only.
    const ckks::Interval domain = width_two_interval(in, /*positive=*/false).value_or(in);
    const auto exp = [](double x) { return std::exp(x); };
    const auto make = [&](std::size_t degree) {
        return ckks::Polynomial::chebyshev(chebyshev_interpolant(exp, degree, domain), domain);
    };
    if (options.exp_degree) {
        return {make(*options.exp_degree), sums, iterations};
    }
    const std::vector<double> grid = error_grid(in, 1025);
    const double tolerance = 0x1p-25 * std::exp(in.b);
    std::size_t degree = 3;
    for (;; degree = 2 * degree + 1) {
        const ckks::Polynomial p = make(degree);
        double worst = 0.0;
        for (double x : grid) {
            worst = std::max(worst, std::fabs(p(x) - std::exp(x)));
        }
        if (worst <= tolerance || degree >= 255) {
            return {p, sums, iterations};
        }
    }
}

inline std::size_t softmax_depth(const SoftmaxPlan& plan) {
    return ckks::Evaluator::depth(plan.exp) + plan.inverse_iterations + 1 + 1;
}

}  // namespace detail

/// Rotation steps softmax() needs for a window: 1, 2, .., window/2 (the window
/// sums) and -(window - 1) (to spread each sum over its window when the window
/// is smaller than the ciphertext's slots).
/// @throws InvalidArgumentError when window is not a power of two.
[[nodiscard]] inline std::vector<std::int64_t> softmax_rotations(std::size_t window) {
    if (window == 0 || !core::is_power_of_two(window)) {
        throw InvalidArgumentError(cloak::detail::message("approx::softmax_rotations: window ",
                                                          window, " is not a power of two"));
    }
    std::vector<std::int64_t> steps;
    for (std::size_t step = 1; step < window; step <<= 1) {
        steps.push_back(static_cast<std::int64_t>(step));
    }
    if (window > 1) {
        steps.push_back(-static_cast<std::int64_t>(window - 1));
    }
    std::sort(steps.begin(), steps.end());
    return steps;
}

/// Levels softmax() consumes on a ciphertext of `slots` slots:
/// Evaluator::depth(exp polynomial) + inverse iterations + 1 (the inverse) + 1
/// (the last product). The window only needs to fit the slots.
/// @throws InvalidArgumentError as softmax() does for the options.
[[nodiscard]] inline std::size_t softmax_depth(const SoftmaxOptions& options, std::size_t slots) {
    constexpr const char* where = "approx::softmax_depth";
    detail::check_window(options.window, slots, where);
    return detail::softmax_depth(detail::plan_softmax(options, where));
}

/// Softmax over each window of `window` consecutive slots: slot i of window W
/// becomes exp(x_i) / sum_{j in W} exp(x_j).
/// 1. exp by a Chebyshev interpolant on the input interval (Evaluator::evaluate).
/// 2. The window sums by rotate-and-sum (rotations 1, 2, .., window/2): slot
///    j w then holds its window's sum (every slot does when the window is all
///    the slots).
/// 3. 1 / sum by inverse()'s Goldschmidt on [w e^a, w e^b] (or sum_interval).
///    When the window is smaller than the slots, its first level, which
///    multiplies by a constant anyway, multiplies by a mask of the slots j w
///    instead; a rotation by -(window - 1) then moves each sum to its window's
///    last slot and rotate-and-sum spreads it over the window. No level.
///    Rotation keys: softmax_rotations(window).
/// 4. exp(x) times the inverse, exp coming down onto the scale that lands the
///    result exactly on the target.
/// Inputs must stay within [a, b]: outside it the exp interpolant and the
/// inverse's interval no longer hold. As is standard (and what keeps the
/// iterations few: the sums' interval spans a ratio e^(b - a)), subtract a
/// bound on each window's maximum first so that b is near 0.
/// Levels: softmax_depth(options, x.slots()).
/// @throws InvalidArgumentError for a window that is not a power of two from 1
///         to x.slots(), an input interval that is not finite with a < b, a sum
///         interval without 0 < a < b, iterations 0 or above 30 (or a default
///         above 30: narrow the interval), an exp degree 0 or above 2047.
/// @throws LevelError when x has fewer levels than the depth (checked first).
/// @throws KeyMissingError without the relinearization key or a rotation key.
[[nodiscard]] inline ckks::Ciphertext softmax(const ckks::Evaluator& eval,
                                              const ckks::Ciphertext& x,
                                              const SoftmaxOptions& options) {
    constexpr const char* where = "approx::softmax";
    if (x.empty()) {
        throw InvalidArgumentError(cloak::detail::message(where, ": the ciphertext is empty"));
    }
    detail::check_window(options.window, x.slots(), where);
    const detail::SoftmaxPlan plan = detail::plan_softmax(options, where);
    detail::check_target_scale(options.target_scale, where);
    const std::size_t window = options.window;
    detail::check_input(eval, x, detail::softmax_depth(plan), where,
                        "narrow the input interval, or lower the degree or the iterations");
    const ckks::Ciphertext input = detail::prepared(eval, x);
    const double target = options.target_scale.value_or(input.scale());

    const ckks::Ciphertext e = eval.evaluate(plan.exp, input, {.target_scale = target});
    const ckks::Ciphertext sums = eval.rotate_and_sum(e, window);
    const ckks::Ciphertext inverse = detail::goldschmidt(
        eval, sums, plan.sum_interval, plan.inverse_iterations, target, where, window);
    const std::size_t level = inverse.level();
    const ckks::Ciphertext el =
        detail::to_level(eval, e, level, target * detail::prime(eval, level) / inverse.scale());
    ckks::Ciphertext result = eval.rescale(eval.multiply(el, inverse));
    result.set_scale(target);
    return result;
}

}  // namespace cloak::inline v0::approx
