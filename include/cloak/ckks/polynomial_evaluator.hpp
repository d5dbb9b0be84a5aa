// cloak: homomorphic polynomial evaluation, the definition of Evaluator::evaluate.
//
// Bossuat, Mouchet, Troncoso-Pastoriza, Hubaux 2021 ("Efficient bootstrapping
// for approximate HE with non-sparse keys", section 5), after Lee et al. 2020:
// the series sum c_i T_i(t) is split recursively as q(t) T_m(t) + r(t) at
// powers of two m (giant steps) until the pieces have degree below a baby-step
// bound; the pieces are linear combinations of precomputed T_i (baby steps).
//
// Scale management. A node of the split tree returns its piece at a level l and
// an exact scale S chosen by its parent, *before* rescaling (S is about the scale
// times a prime). Leaf constants c_i are encoded at S / scale(T_i), so a leaf
// costs no level and its constants keep about 40 bits. A node evaluates q at
// level l + 1 and scale S q_{l+1} / scale(T_m), rescales it (now scale
// S / scale(T_m)) and multiplies by T_m: the product lands on S exactly. The
// root is rescaled once at the end, onto the target scale exactly, whatever the
// scales of the powers T_i: they are tracked, never assumed.
//
// Depth. The root sits at level L - D + 1 for D = ceil(log2(d + 1)); a node at
// L - D + 1 + j holds a piece of degree below 2^(D - j) and needs T_m with
// m <= 2^(D - j - 1), which is ready by then. A leaf there needs its highest
// power ready too; when it is not (the leading leaf, with a high baby-step
// bound), the leaf is split once more at a smaller power of two. So the depth
// is exactly D.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <utility>
#include <vector>

#include <cloak/ckks/evaluator.hpp>
#include <cloak/ckks/polynomial.hpp>
#include <cloak/core/bits.hpp>
#include <cloak/core/error.hpp>

namespace cloak::inline v0::ckks {

namespace detail {

/// Highest index of a non-zero coefficient (0 for a constant).
inline std::size_t effective_degree(std::span<const double> c) noexcept {
    std::size_t d = c.size();
    while (d > 1 && c[d - 1] == 0.0)
        --d;
    return d == 0 ? 0 : d - 1;
}

/// p = q T_m + r for a Chebyshev series p of degree in [m, 2m): by
/// T_i = 2 T_{i-m} T_m - T_{2m-i}, c_i goes to q at i - m (doubled, except
/// for i = m) and -c_i to r at 2m - i.
inline std::pair<std::vector<double>, std::vector<double>> split_chebyshev(
    std::span<const double> c, std::size_t m) {
    const std::size_t d = effective_degree(c);
    std::vector<double> q(d - m + 1, 0.0);
    std::vector<double> r(c.begin(), c.begin() + static_cast<std::ptrdiff_t>(m));
    q[0] = c[m];
    for (std::size_t i = m + 1; i <= d; ++i) {
        q[i - m] = 2.0 * c[i];
        r[2 * m - i] -= c[i];
    }
    return {std::move(q), std::move(r)};
}

/// The Chebyshev coefficients (on [-1, 1]) of a power-basis polynomial:
/// x T_j = (T_{j+1} + T_{|j-1|}) / 2, applied degree by degree.
inline std::vector<double> power_to_chebyshev(std::span<const double> power) {
    const std::size_t size = power.size();
    std::vector<double> result(size, 0.0);
    std::vector<double> x_n(size, 0.0);  // x^n in the Chebyshev basis
    x_n[0] = 1.0;
    for (std::size_t n = 0; n < size; ++n) {
        if (n > 0) {
            std::vector<double> next(size, 0.0);
            for (std::size_t j = 0; j < n; ++j) {
                if (j == 0) {
                    next[1] += x_n[0];
                } else {
                    next[j + 1] += 0.5 * x_n[j];
                    next[j - 1] += 0.5 * x_n[j];
                }
            }
            x_n = std::move(next);
        }
        for (std::size_t j = 0; j <= n; ++j) {
            result[j] += power[n] * x_n[j];
        }
    }
    return result;
}

/// The powers T_i, i >= 1, that the recursion reads, and how many ciphertext
/// products it costs, for a given baby-step bound: run without ciphertexts to
/// choose the bound.
class EvaluationPlan {
  public:
    EvaluationPlan(std::size_t top_level, std::size_t baby) : top_(top_level), baby_(baby) {}

    /// Ciphertext products for p, powers included.
    std::size_t cost(std::span<const double> p, std::size_t level) {
        node(p, level);
        std::set<std::size_t> closure;
        for (std::size_t i : powers_)
            add_with_dependencies(i, closure);
        return products_ + closure.size() - (closure.count(1) ? 1 : 0);
    }

  private:
    void node(std::span<const double> p, std::size_t level) {
        const std::size_t d = effective_degree(p);
        if (d == 0)
            return;
        if (d < baby_ && top_ >= level + core::ceil_log2(d)) {
            for (std::size_t i = 1; i <= d; ++i) {
                if (p[i] != 0.0)
                    powers_.insert(i);
            }
            return;
        }
        const std::size_t m = std::bit_floor(d);
        auto [q, r] = split_chebyshev(p, m);
        powers_.insert(m);
        if (effective_degree(q) > 0) {
            ++products_;
            node(q, level + 1);
        }
        node(r, level);
    }

    static void add_with_dependencies(std::size_t i, std::set<std::size_t>& closure) {
        if (!closure.insert(i).second || i == 1)
            return;
        if (core::is_power_of_two(i)) {
            add_with_dependencies(i / 2, closure);
            return;
        }
        const std::size_t a = std::bit_floor(i);
        add_with_dependencies(a, closure);
        add_with_dependencies(i - a, closure);
        add_with_dependencies(a - (i - a), closure);
    }

    std::size_t top_;
    std::size_t baby_;
    std::set<std::size_t> powers_;
    std::size_t products_ = 0;
};

/// One evaluation: the powers T_i of one input, computed on demand and kept.
class PolynomialEvaluation {
  public:
    PolynomialEvaluation(const Evaluator& eval, Ciphertext t1, std::size_t baby,
                         std::optional<std::vector<double>> weights = std::nullopt)
        : eval_(eval), top_(t1.level()), baby_(baby), weights_(std::move(weights)) {
        powers_.emplace(1, std::move(t1));
    }

    /// sum c_i T_i(t), rescaled once at the end onto `target_scale` exactly.
    Ciphertext run(std::span<const double> c, double target_scale) {
        const std::size_t depth = core::ceil_log2(effective_degree(c) + 1);
        const std::size_t root = top_ + 1 - depth;
        Ciphertext result = node(c, root, target_scale * prime(root));
        eval_.relinearize_inplace(result);
        eval_.rescale_inplace(result);
        result.set_scale(target_scale);  // equal up to the last bits of the double
        return result;
    }

  private:
    // The prime that rescaling at `level` divides by.
    double prime(std::size_t level) const {
        return static_cast<double>(eval_.context_.level(level).q->values().back());
    }

    // Level of T_i: ceil(log2 i) products below T_1.
    std::size_t power_level(std::size_t i) const { return top_ - core::ceil_log2(i); }

    // T_{2i} = 2 T_i^2 - 1; T_{a+b} = 2 T_a T_b - T_{a-b} for a the largest power
    // of two below a + b. The subtracted term (and the constant) join before the
    // rescale, at the product's scale.
    const Ciphertext& power(std::size_t i) {
        if (const auto found = powers_.find(i); found != powers_.end()) {
            return found->second;
        }
        Ciphertext product;
        if (core::is_power_of_two(i)) {
            const Ciphertext& half = power(i / 2);
            product = eval_.multiply_matched(half, half);
            eval_.add_matched(product, product);
            eval_.add_constant_inplace(product, -1.0);
        } else {
            const std::size_t a = std::bit_floor(i);
            const std::size_t b = i - a;
            Ciphertext ta = power(a);
            Ciphertext tb = power(b);
            const Ciphertext& tc = power(a - b);
            eval_.drop_level_to_inplace(tb, ta.level());
            product = eval_.multiply_matched(ta, tb);
            eval_.add_matched(product, product);
            eval_.multiply_constant_accumulate(product, tc, -1.0);
        }
        eval_.relinearize_inplace(product);
        eval_.rescale_inplace(product);
        return powers_.emplace(i, std::move(product)).first->second;
    }

    // The piece p at `level` and scale `scale`, not yet rescaled (possibly three parts).
    Ciphertext node(std::span<const double> p, std::size_t level, double scale) {
        const std::size_t d = effective_degree(p);
        if (d < baby_ && top_ >= level + core::ceil_log2(d)) {
            return leaf(p, level, scale);
        }
        const std::size_t m = std::bit_floor(d);
        auto [q, r] = split_chebyshev(p, m);
        const Ciphertext& tm = power(m);
        Ciphertext result;
        if (effective_degree(q) == 0) {
            result = eval_.zero(level, scale, tm.slots());
            add_term(result, tm, q[0]);
        } else {
            Ciphertext quotient = node(q, level + 1, scale * prime(level + 1) / tm.scale());
            eval_.relinearize_inplace(quotient);
            eval_.rescale_inplace(quotient);
            const Ciphertext giant = eval_.drop_level_to(tm, level);
            result = eval_.multiply_matched(quotient, giant);
            result.set_scale(scale);
        }
        if (effective_degree(r) > 0) {
            Ciphertext remainder = node(r, level, scale);
            eval_.add_matched(result, remainder);
        } else {
            add_constant(result, r[0]);
        }
        return result;
    }

    // sum c_i T_i with each c_i encoded at scale / scale(T_i): no level used.
    Ciphertext leaf(std::span<const double> p, std::size_t level, double scale) {
        const std::size_t d = effective_degree(p);
        Ciphertext result = eval_.zero(level, scale, powers_.at(1).slots());
        for (std::size_t i = d; i >= 1; --i) {
            if (p[i] != 0.0)
                add_term(result, power(i), p[i]);
        }
        add_constant(result, p[0]);
        return result;
    }

    // acc += c t, landing on acc's scale: a constant, or the plaintext c w with
    // slot weights.
    void add_term(Ciphertext& acc, const Ciphertext& t, double c) const {
        if (!weights_) {
            eval_.multiply_constant_accumulate(acc, t, c);
            return;
        }
        const Plaintext weighted = weighted_constant(c, acc.level(), acc.scale() / t.scale());
        Ciphertext term = eval_.multiply(eval_.drop_level_to(t, acc.level()), weighted);
        term.set_scale(acc.scale());
        eval_.add_matched(acc, term);
    }

    void add_constant(Ciphertext& acc, double c) const {
        if (c == 0.0)
            return;
        if (!weights_) {
            eval_.add_constant_inplace(acc, c);
            return;
        }
        ring::add_inplace(acc[0], weighted_constant(c, acc.level(), acc.scale()).poly());
    }

    Plaintext weighted_constant(double c, std::size_t level, double scale) const {
        std::vector<double> values(weights_->size());
        for (std::size_t j = 0; j < values.size(); ++j)
            values[j] = c * (*weights_)[j];
        return eval_.encoder_.encode(
            values, {.level = level, .scale = scale, .slots = powers_.at(1).slots()});
    }

    const Evaluator& eval_;
    std::size_t top_;
    std::size_t baby_;
    std::optional<std::vector<double>> weights_;
    std::map<std::size_t, Ciphertext> powers_;
};

}  // namespace detail

inline Ciphertext Evaluator::evaluate(const Polynomial& p, const Ciphertext& x,
                                      const EvaluateOptions& options) const {
    constexpr const char* where = "ckks::Evaluator::evaluate";
    check_relinearized(x, where);
    if (p.degree() == 0) {
        throw InvalidArgumentError(cloak::detail::message(
            where, ": a polynomial of degree 0 (the constant ", p.coefficients()[0],
            "); add the constant to a ciphertext instead"));
    }
    if (p.degree() >= 2 && !relin_key_) {
        throw KeyMissingError(cloak::detail::message(
            where, ": a polynomial of degree ", p.degree(),
            " needs ciphertext products; construct the Evaluator with keygen.relin_key()"));
    }
    Ciphertext t = x;
    if (mode_ == ScaleMode::automatic)
        rescale_if_pending(t);
    const double target_scale = options.target_scale.value_or(t.scale());
    if (!(target_scale > 0) || !std::isfinite(target_scale)) {
        throw InvalidArgumentError(cloak::detail::message(where, ": target scale ", target_scale,
                                                          " must be positive and finite"));
    }
    const std::size_t needed = depth(p);
    if (t.level() < needed) {
        throw LevelError(cloak::detail::message(
            where, ": a polynomial of degree ", p.degree(), " needs ", needed,
            " levels, the ciphertext has ", t.level(), "; bootstrap it, lower the degree, or use ",
            "parameters with more levels"));
    }

    // The variable t = alpha x + beta of the Chebyshev series.
    std::vector<double> coefficients;
    if (p.basis() == PolynomialBasis::power) {
        coefficients = detail::power_to_chebyshev(p.coefficients());
    } else {
        coefficients.assign(p.coefficients().begin(), p.coefficients().end());
        const double alpha = 2.0 / (p.interval().b - p.interval().a);
        const double beta = -(p.interval().a + p.interval().b) / (p.interval().b - p.interval().a);
        if (p.interval().b - p.interval().a != 2.0) {
            // A constant product, rescaled exactly back onto t's scale: one level.
            Ciphertext scaled = zero(t.level(), t.scale() * prime_at(t.level()), t.slots());
            multiply_constant_accumulate(scaled, t, alpha);
            rescale_inplace(scaled);
            scaled.set_scale(t.scale());
            t = std::move(scaled);
        }
        add_constant_inplace(t, beta);
    }

    // The baby-step bound with the fewest ciphertext products.
    const std::size_t product_depth = core::ceil_log2(detail::effective_degree(coefficients) + 1);
    const std::size_t root = t.level() + 1 - product_depth;
    std::size_t best_baby = 2;
    std::size_t best_cost = std::numeric_limits<std::size_t>::max();
    for (std::size_t log_baby = 1; log_baby <= product_depth; ++log_baby) {
        detail::EvaluationPlan plan(t.level(), std::size_t{1} << log_baby);
        const std::size_t cost = plan.cost(coefficients, root);
        if (cost < best_cost) {
            best_cost = cost;
            best_baby = std::size_t{1} << log_baby;
        }
    }
    if (options.slot_weights) {
        const std::vector<double>& w = *options.slot_weights;
        if (w.size() > t.slots()) {
            throw InvalidArgumentError(
                cloak::detail::message(where, ": ", w.size(), " slot weights for a ciphertext of ",
                                       t.slots(), " slots; pass at most one weight per slot"));
        }
        for (std::size_t j = 0; j < w.size(); ++j) {
            if (!std::isfinite(w[j])) {
                throw InvalidArgumentError(cloak::detail::message(
                    where, ": slot weight ", j, " is ", w[j], "; weights must be finite"));
            }
        }
    }
    detail::PolynomialEvaluation evaluation(*this, std::move(t), best_baby, options.slot_weights);
    return evaluation.run(coefficients, target_scale);
}

}  // namespace cloak::inline v0::ckks
