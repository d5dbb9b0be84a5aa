// cloak: encrypted linear transforms: a plaintext matrix times an encrypted vector.
//
// Diagonal method (Halevi, Shoup, "Algorithms in HElib", CRYPTO 2014): with
// diag_i[j] = M[j][(j + i) mod n], the product is
//     M x = sum_i diag_i ⊙ rot(x, i),
// where rot(x, i)[j] = x[(j + i) mod n]. Baby-step giant-step (Halevi, Shoup,
// "Faster homomorphic linear transformations in HElib", CRYPTO 2018): writing
// i = n1 g + b,
//     M x = sum_g rot( sum_b rot(diag_{n1 g + b}, -n1 g) ⊙ rot(x, b), n1 g ),
// so the baby rotations rot(x, b) are shared by every giant step and computed
// hoisted from one decomposition (Evaluator::rotate_hoisted), and each giant
// step costs one rotation. The diagonals are pre-rotated by their giant step
// and encoded once per level, at a scale equal to the prime q_l that the final
// rescale removes: the output's scale is the input's scale exactly, one level
// lower. Zero diagonals are skipped.
//
// Slot layout. An n x n transform (n a power of two, at most N/2) acts on
// vectors of n complex slots, with rotations cyclic modulo n. Encode the vector
// with `.slots = n`: the ciphertext then packs exactly n slots, and its
// rotations wrap modulo n. A ciphertext of S > n slots works too when its slots
// repeat with period n (slot j holds x[j mod n]); a vector encoded with n slots
// is exactly that when viewed in S slots, and the result repeats the same way.
// A vector zero-padded to S > n slots is NOT transformed correctly (its
// rotations wrap modulo S). A rectangular m x n matrix is padded with zeros to
// p x p, p the next power of two >= max(m, n): the vector fills the first n of
// p slots (slots n .. p-1 meet zero columns and are ignored) and the result's
// first m slots hold M x, slots m .. p-1 hold 0 (plus noise).
#pragma once

#include <algorithm>
#include <cmath>
#include <complex>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include <cloak/ckks/ciphertext.hpp>
#include <cloak/ckks/context.hpp>
#include <cloak/ckks/encoder.hpp>
#include <cloak/ckks/evaluator.hpp>
#include <cloak/core/bits.hpp>
#include <cloak/core/error.hpp>

namespace cloak::inline v0::ckks {

/// How a LinearTransform is evaluated; every field defaults to cloak's choice.
struct LinearTransformOptions {
    /// Baby steps n1 of the baby-step giant-step split, a power of two from 1 to
    /// the dimension (default: the n1 that needs the fewest rotations, the larger
    /// on a tie since baby steps are hoisted; about sqrt(diagonals) when dense).
    std::optional<std::size_t> baby_steps = std::nullopt;
};

namespace detail {

/// The baby-step giant-step split of a set of diagonal indices.
struct BsgsPlan {
    std::size_t baby_steps = 1;        // n1
    std::vector<std::int64_t> babies;  // distinct i mod n1, ascending
    std::vector<std::size_t> giants;   // distinct i / n1, ascending
    [[nodiscard]] std::size_t rotations() const {
        const auto nonzero_babies = static_cast<std::size_t>(
            std::count_if(babies.begin(), babies.end(), [](std::int64_t b) { return b != 0; }));
        const auto nonzero_giants = static_cast<std::size_t>(
            std::count_if(giants.begin(), giants.end(), [](std::size_t g) { return g != 0; }));
        return nonzero_babies + nonzero_giants;
    }
};

inline BsgsPlan bsgs_plan_with(std::size_t baby_steps, std::span<const std::size_t> indices) {
    BsgsPlan plan;
    plan.baby_steps = baby_steps;
    for (std::size_t i : indices) {
        plan.babies.push_back(static_cast<std::int64_t>(i % baby_steps));
        plan.giants.push_back(i / baby_steps);
    }
    std::sort(plan.babies.begin(), plan.babies.end());
    plan.babies.erase(std::unique(plan.babies.begin(), plan.babies.end()), plan.babies.end());
    std::sort(plan.giants.begin(), plan.giants.end());
    plan.giants.erase(std::unique(plan.giants.begin(), plan.giants.end()), plan.giants.end());
    return plan;
}

inline BsgsPlan bsgs_plan(std::size_t n, std::span<const std::size_t> indices,
                          std::optional<std::size_t> baby_steps, const char* where) {
    if (baby_steps) {
        if (*baby_steps == 0 || !core::is_power_of_two(*baby_steps) || *baby_steps > n) {
            throw InvalidArgumentError(
                cloak::detail::message(where, ": baby_steps = ", *baby_steps,
                                       "; choose a power of two from 1 to the dimension ", n,
                                       " (or leave it unset for the cheapest split)"));
        }
        return bsgs_plan_with(*baby_steps, indices);
    }
    BsgsPlan best = bsgs_plan_with(1, indices);
    for (std::size_t n1 = 2; n1 <= n; n1 <<= 1) {
        BsgsPlan candidate = bsgs_plan_with(n1, indices);
        if (candidate.rotations() <= best.rotations()) {
            best = std::move(candidate);
        }
    }
    return best;
}

inline void check_dimension(std::size_t n, const char* where) {
    if (n == 0 || !core::is_power_of_two(n)) {
        throw InvalidArgumentError(cloak::detail::message(
            where, ": dimension ", n,
            " is not a power of two; pad the matrix (LinearTransform::from_dense pads "
            "rectangular and odd shapes for you)"));
    }
}

/// Encoded diagonals, one set per level, shared by copies of a transform and
/// filled under a lock (a const apply() may encode lazily from many threads).
struct LinearTransformCache {
    std::mutex mutex;
    std::map<std::size_t, std::shared_ptr<const std::vector<Plaintext>>> levels;
};

}  // namespace detail

/// A plaintext n x n matrix to apply to encrypted vectors of n slots (see the
/// slot layout at the top of this header). Consumes exactly one level.
class LinearTransform {
  public:
    /// Diagonal index i (0 <= i < n) -> diag_i[j] = M[j][(j + i) mod n], j < n.
    using Diagonals = std::map<std::size_t, std::vector<std::complex<double>>>;

    /// A dense rows x cols matrix, row-major (rows * cols values), padded with
    /// zeros to p x p, p the next power of two >= max(rows, cols).
    /// @throws ShapeError when the sizes disagree or p exceeds the slots N/2.
    /// @throws InvalidArgumentError for a value that is not finite.
    [[nodiscard]] static LinearTransform from_dense(const Context& context, std::size_t rows,
                                                    std::size_t cols,
                                                    std::span<const std::complex<double>> values,
                                                    const LinearTransformOptions& options = {}) {
        const char* where = "ckks::LinearTransform::from_dense";
        if (values.size() != rows * cols) {
            throw ShapeError(cloak::detail::message(where, ": ", values.size(), " values for a ",
                                                    rows, " x ", cols, " matrix; pass ",
                                                    rows * cols, " values, row-major"));
        }
        return from_function(
            context, rows, cols, [&](std::size_t i, std::size_t j) { return values[i * cols + j]; },
            options);
    }

    [[nodiscard]] static LinearTransform from_dense(const Context& context, std::size_t rows,
                                                    std::size_t cols,
                                                    std::span<const double> values,
                                                    const LinearTransformOptions& options = {}) {
        const std::vector<std::complex<double>> complex_values(values.begin(), values.end());
        return from_dense(context, rows, cols,
                          std::span<const std::complex<double>>(complex_values), options);
    }

    /// A dense square n x n matrix, row-major.
    [[nodiscard]] static LinearTransform from_dense(const Context& context, std::size_t n,
                                                    std::span<const double> values,
                                                    const LinearTransformOptions& options = {}) {
        return from_dense(context, n, n, values, options);
    }

    [[nodiscard]] static LinearTransform from_dense(const Context& context, std::size_t n,
                                                    std::span<const std::complex<double>> values,
                                                    const LinearTransformOptions& options = {}) {
        return from_dense(context, n, n, values, options);
    }

    /// The rows x cols matrix whose entry (i, j) is entry(i, j) (a double or a
    /// std::complex<double>), padded like from_dense. Calls entry rows * cols times.
    template <typename Entry>
    requires std::invocable<Entry&, std::size_t, std::size_t> &&
        std::convertible_to<std::invoke_result_t<Entry&, std::size_t, std::size_t>,
                            std::complex<double>>
    [[nodiscard]] static LinearTransform from_function(const Context& context, std::size_t rows,
                                                       std::size_t cols, Entry&& entry,
                                                       const LinearTransformOptions& options = {}) {
        const char* where = "ckks::LinearTransform::from_function";
        if (rows == 0 || cols == 0) {
            throw ShapeError(cloak::detail::message(where, ": a ", rows, " x ", cols,
                                                    " matrix; both sizes must be at least 1"));
        }
        const std::size_t n = dimension_for(rows, cols);
        check_fits(context, n, rows, cols, where);
        Diagonals diagonals;
        std::vector<std::complex<double>> diagonal(n);
        for (std::size_t i = 0; i < n; ++i) {
            bool nonzero = false;
            for (std::size_t j = 0; j < n; ++j) {
                const std::size_t col = (j + i) % n;
                diagonal[j] = j < rows && col < cols
                                  ? std::complex<double>(std::invoke(entry, j, col))
                                  : std::complex<double>(0.0, 0.0);
                if (!std::isfinite(diagonal[j].real()) || !std::isfinite(diagonal[j].imag())) {
                    throw InvalidArgumentError(cloak::detail::message(
                        where, ": entry (", j, ", ", col, ") is not finite (", diagonal[j].real(),
                        " + ", diagonal[j].imag(), "i); matrix entries must be finite numbers"));
                }
                nonzero = nonzero || diagonal[j] != std::complex<double>(0.0, 0.0);
            }
            if (nonzero) {
                diagonals.emplace(i, diagonal);
            }
        }
        return LinearTransform(context, rows, cols, n, std::move(diagonals), options);
    }

    /// An n x n matrix given by its non-zero diagonals: index i (< n) -> the n
    /// values diag_i[j] = M[j][(j + i) mod n]. Diagonals of zeros are dropped.
    /// @throws InvalidArgumentError when n is not a power of two, an index is not
    ///         below n, or a value is not finite.
    /// @throws ShapeError when a diagonal does not hold n values or n exceeds N/2.
    [[nodiscard]] static LinearTransform from_diagonals(
        const Context& context, std::size_t n, Diagonals diagonals,
        const LinearTransformOptions& options = {}) {
        const char* where = "ckks::LinearTransform::from_diagonals";
        detail::check_dimension(n, where);
        check_fits(context, n, n, n, where);
        for (auto it = diagonals.begin(); it != diagonals.end();) {
            const auto& [index, values] = *it;
            if (index >= n) {
                throw InvalidArgumentError(cloak::detail::message(
                    where, ": diagonal index ", index, " of a ", n, " x ", n,
                    " matrix; indices run from 0 to ", n - 1, " (take -k as n - k)"));
            }
            if (values.size() != n) {
                throw ShapeError(cloak::detail::message(where, ": diagonal ", index, " holds ",
                                                        values.size(), " values; a ", n, " x ", n,
                                                        " matrix needs ", n, " per diagonal"));
            }
            bool nonzero = false;
            for (std::size_t j = 0; j < n; ++j) {
                if (!std::isfinite(values[j].real()) || !std::isfinite(values[j].imag())) {
                    throw InvalidArgumentError(cloak::detail::message(
                        where, ": value ", j, " of diagonal ", index, " is not finite (",
                        values[j].real(), " + ", values[j].imag(), "i)"));
                }
                nonzero = nonzero || values[j] != std::complex<double>(0.0, 0.0);
            }
            it = nonzero ? std::next(it) : diagonals.erase(it);
        }
        return LinearTransform(context, n, n, n, std::move(diagonals), options);
    }

    /// Real diagonals.
    [[nodiscard]] static LinearTransform from_diagonals(
        const Context& context, std::size_t n,
        const std::map<std::size_t, std::vector<double>>& real,
        const LinearTransformOptions& options = {}) {
        Diagonals diagonals;
        for (const auto& [index, values] : real) {
            diagonals.emplace(index,
                              std::vector<std::complex<double>>(values.begin(), values.end()));
        }
        return from_diagonals(context, n, std::move(diagonals), options);
    }

    /// The padded dimension of a rows x cols matrix: the next power of two >= both.
    [[nodiscard]] static std::size_t dimension_for(std::size_t rows, std::size_t cols) {
        return std::size_t{1} << core::ceil_log2(std::max<std::size_t>({rows, cols, 1}));
    }

    /// The rotation steps (Galois keys) an n x n transform with these non-zero
    /// diagonal indices needs, ascending: pass them to keygen.galois_keys(...)
    /// before any ciphertext exists.
    /// @throws InvalidArgumentError when n is not a power of two or an index is >= n.
    [[nodiscard]] static std::vector<std::int64_t> rotations_for(
        std::size_t n, std::span<const std::size_t> nonzero_diagonals,
        const LinearTransformOptions& options = {}) {
        const char* where = "ckks::LinearTransform::rotations_for";
        detail::check_dimension(n, where);
        std::vector<std::size_t> indices(nonzero_diagonals.begin(), nonzero_diagonals.end());
        std::sort(indices.begin(), indices.end());
        indices.erase(std::unique(indices.begin(), indices.end()), indices.end());
        if (!indices.empty() && indices.back() >= n) {
            throw InvalidArgumentError(
                cloak::detail::message(where, ": diagonal index ", indices.back(), " of a ", n,
                                       " x ", n, " matrix; indices run from 0 to ", n - 1));
        }
        return rotations_of(detail::bsgs_plan(n, indices, options.baby_steps, where));
    }

    /// The rotation steps of a dense n x n transform (every diagonal non-zero),
    /// or of a dense rows x cols one with n = dimension_for(rows, cols).
    [[nodiscard]] static std::vector<std::int64_t> rotations_for(
        std::size_t n, const LinearTransformOptions& options = {}) {
        detail::check_dimension(n, "ckks::LinearTransform::rotations_for");
        std::vector<std::size_t> all(n);
        for (std::size_t i = 0; i < n; ++i) {
            all[i] = i;
        }
        return rotations_for(n, all, options);
    }

    /// Levels one apply() consumes: always 1 (one plaintext product, one rescale).
    [[nodiscard]] static constexpr std::size_t levels_consumed() noexcept { return 1; }

    /// The rotation steps apply() needs, ascending (baby steps, then giant steps).
    [[nodiscard]] std::vector<std::int64_t> required_rotations() const {
        return rotations_of(plan_);
    }

    [[nodiscard]] const Context& context() const noexcept { return context_; }
    /// Rows and columns as given (before padding).
    [[nodiscard]] std::size_t rows() const noexcept { return rows_; }
    [[nodiscard]] std::size_t cols() const noexcept { return cols_; }
    /// n: the padded dimension, the slots the transform acts on.
    [[nodiscard]] std::size_t dimension() const noexcept { return n_; }
    /// The non-zero diagonals.
    [[nodiscard]] const Diagonals& diagonals() const noexcept { return diagonals_; }
    /// n1 of the baby-step giant-step split.
    [[nodiscard]] std::size_t baby_steps() const noexcept { return plan_.baby_steps; }
    /// Rotations per apply(): hoisted baby steps plus giant steps.
    [[nodiscard]] std::size_t rotation_count() const noexcept { return plan_.rotations(); }

    /// Encodes the diagonals at `level` now (apply() does it lazily otherwise).
    /// The cache holds diagonals().size() plaintexts of (level + 1) N words each.
    /// @throws LevelError for level 0 (apply needs a level to rescale) or above
    ///         the context's highest level.
    void prepare(std::size_t level) const {
        (void)encoded(level, "ckks::LinearTransform::prepare");
    }

    /// Whether the diagonals are encoded at `level`.
    [[nodiscard]] bool is_prepared(std::size_t level) const {
        const std::lock_guard lock(cache_->mutex);
        return cache_->levels.count(level) != 0;
    }

    /// Drops every encoded diagonal (shared with copies of this transform).
    void clear_cache() const {
        const std::lock_guard lock(cache_->mutex);
        cache_->levels.clear();
    }

    /// M x for an encrypted x (see the slot layout above): one level down, the
    /// scale of `x` exactly. In ScaleMode::automatic an input awaiting a
    /// rescale is rescaled first.
    /// @throws ShapeError when x packs fewer slots than dimension().
    /// @throws LevelError when x is at level 0.
    /// @throws KeyMissingError (naming the step) for a rotation key not generated:
    ///         generate required_rotations().
    /// @throws InvalidArgumentError for an evaluator or ciphertext of another Context.
    [[nodiscard]] Ciphertext apply(const Evaluator& evaluator, const Ciphertext& x) const {
        return std::move(apply_all(evaluator, std::span<const LinearTransform>(this, 1), x)[0]);
    }

    /// Several transforms of one ciphertext, sharing one hoisted decomposition
    /// for the union of their baby steps (the JKLS matrix product applies its
    /// phi^k transforms so). Each result is as from apply().
    [[nodiscard]] static std::vector<Ciphertext> apply_all(
        const Evaluator& evaluator, std::span<const LinearTransform> transforms,
        const Ciphertext& x) {
        const char* where = "ckks::LinearTransform::apply";
        Ciphertext input = x;
        if (evaluator.scale_mode() == ScaleMode::automatic && !x.empty() &&
            x.scale() > std::exp2(1.5 * evaluator.context().parameters().log_scale()) &&
            x.level() > 0) {
            evaluator.rescale_inplace(input);
        }
        std::vector<std::int64_t> steps;
        for (const LinearTransform& transform : transforms) {
            transform.check_input(evaluator, input, where);
            for (std::int64_t b : transform.plan_.babies) {
                if (b != 0) {
                    steps.push_back(b);
                }
            }
        }
        std::sort(steps.begin(), steps.end());
        steps.erase(std::unique(steps.begin(), steps.end()), steps.end());
        try {
            const std::vector<Ciphertext> rotated = evaluator.rotate_hoisted(input, steps);
            const auto baby = [&](std::int64_t step) -> const Ciphertext& {
                if (step == 0) {
                    return input;
                }
                const auto at = std::lower_bound(steps.begin(), steps.end(), step);
                return rotated[static_cast<std::size_t>(at - steps.begin())];
            };
            std::vector<Ciphertext> results;
            results.reserve(transforms.size());
            for (const LinearTransform& transform : transforms) {
                results.push_back(transform.combine(evaluator, input, baby));
            }
            return results;
        } catch (const KeyMissingError& error) {
            // Re-thrown with the way to get every key at once; the "[cloak.error.7
            // key_missing] " prefix is added again by the constructor.
            const std::string_view what = error.what();
            const std::size_t prefix = what.find("] ");
            throw KeyMissingError(cloak::detail::message(
                where, ": ", prefix == std::string_view::npos ? what : what.substr(prefix + 2),
                "; LinearTransform::required_rotations() lists every step a transform needs"));
        }
    }

  private:
    struct Term {
        std::size_t group;  // g: giant step n1 g
        std::int64_t baby;  // b
        std::size_t index;  // i = n1 g + b
    };

    LinearTransform(const Context& context, std::size_t rows, std::size_t cols, std::size_t n,
                    Diagonals diagonals, const LinearTransformOptions& options)
        : context_(context),
          rows_(rows),
          cols_(cols),
          n_(n),
          diagonals_(std::move(diagonals)),
          cache_(std::make_shared<detail::LinearTransformCache>()) {
        std::vector<std::size_t> indices;
        for (const auto& entry : diagonals_) {
            indices.push_back(entry.first);
        }
        plan_ = detail::bsgs_plan(n_, indices, options.baby_steps, "ckks::LinearTransform");
        for (std::size_t i : indices) {
            terms_.push_back(
                {i / plan_.baby_steps, static_cast<std::int64_t>(i % plan_.baby_steps), i});
        }
        // Grouped by giant step: combine() sums each group, then rotates it once.
        std::sort(terms_.begin(), terms_.end(), [](const Term& a, const Term& b) {
            return a.group != b.group ? a.group < b.group : a.baby < b.baby;
        });
    }

    static void check_fits(const Context& context, std::size_t n, std::size_t rows,
                           std::size_t cols, const char* where) {
        if (n > context.slots()) {
            throw ShapeError(cloak::detail::message(
                where, ": a ", rows, " x ", cols, " matrix needs n = ", n, " slots, more than the ",
                context.slots(), " slots of N = ", context.degree(),
                "; use a larger ring degree or split the matrix into blocks of at most ",
                context.slots()));
        }
    }

    static std::vector<std::int64_t> rotations_of(const detail::BsgsPlan& plan) {
        std::vector<std::int64_t> steps;
        for (std::int64_t b : plan.babies) {
            if (b != 0) {
                steps.push_back(b);
            }
        }
        for (std::size_t g : plan.giants) {
            if (g != 0) {
                steps.push_back(static_cast<std::int64_t>(g * plan.baby_steps));
            }
        }
        std::sort(steps.begin(), steps.end());
        steps.erase(std::unique(steps.begin(), steps.end()), steps.end());
        return steps;
    }

    void check_input(const Evaluator& evaluator, const Ciphertext& x, const char* where) const {
        if (!(evaluator.context() == context_)) {
            throw InvalidArgumentError(cloak::detail::message(
                where,
                ": the evaluator belongs to another ckks::Context than the transform; "
                "build both from one Context"));
        }
        if (x.empty()) {
            throw InvalidArgumentError(cloak::detail::message(where, ": the ciphertext is empty"));
        }
        if (x.slots() < n_) {
            throw ShapeError(cloak::detail::message(
                where, ": the ciphertext packs ", x.slots(), " slots, the ", rows_, " x ", cols_,
                " transform acts on n = ", n_, "; encode the vector with .slots = ", n_));
        }
        if (x.level() == 0) {
            throw LevelError(cloak::detail::message(
                where,
                ": the ciphertext is at level 0 and a linear transform consumes 1 "
                "level; bootstrap it or apply the transform earlier"));
        }
    }

    // The diagonals at `level`, pre-rotated by their giant step, encoded at the
    // scale q_level so that the rescale restores the input's scale exactly.
    std::shared_ptr<const std::vector<Plaintext>> encoded(std::size_t level,
                                                          const char* where) const {
        if (level == 0 || level > context_.max_level()) {
            throw LevelError(
                cloak::detail::message(where, ": level ", level,
                                       "; a transform's diagonals are encoded at a level from 1 "
                                       "(it rescales once) to ",
                                       context_.max_level()));
        }
        const std::lock_guard lock(cache_->mutex);
        if (const auto found = cache_->levels.find(level); found != cache_->levels.end()) {
            return found->second;
        }
        const Encoder encoder(context_);
        const EncodeOptions options{
            .level = level,
            .scale = static_cast<double>(context_.parameters().q_primes()[level]),
            .slots = n_};
        auto plaintexts = std::make_shared<std::vector<Plaintext>>();
        plaintexts->reserve(terms_.size());
        std::vector<std::complex<double>> rotated(n_);
        for (const Term& term : terms_) {
            const std::vector<std::complex<double>>& diagonal = diagonals_.at(term.index);
            const std::size_t shift = (term.group * plan_.baby_steps) % n_;
            for (std::size_t j = 0; j < n_; ++j) {
                rotated[j] = diagonal[(j + n_ - shift) % n_];  // rot(diag, -n1 g)
            }
            plaintexts->push_back(
                encoder.encode(std::span<const std::complex<double>>(rotated), options));
        }
        cache_->levels.emplace(level, plaintexts);
        return plaintexts;
    }

    template <typename Baby>
    Ciphertext combine(const Evaluator& evaluator, const Ciphertext& input,
                       const Baby& baby) const {
        if (terms_.empty()) {  // the zero matrix
            return evaluator.rescale(evaluator.multiply(input, 0.0));
        }
        const std::shared_ptr<const std::vector<Plaintext>> plaintexts =
            encoded(input.level(), "ckks::LinearTransform::apply");
        std::optional<Ciphertext> sum;
        for (std::size_t t = 0; t < terms_.size();) {
            const std::size_t group = terms_[t].group;
            Ciphertext inner = evaluator.multiply(baby(terms_[t].baby), (*plaintexts)[t]);
            for (++t; t < terms_.size() && terms_[t].group == group; ++t) {
                evaluator.add_inplace(inner,
                                      evaluator.multiply(baby(terms_[t].baby), (*plaintexts)[t]));
            }
            if (group != 0) {
                inner =
                    evaluator.rotate(inner, static_cast<std::int64_t>(group * plan_.baby_steps));
            }
            if (sum) {
                evaluator.add_inplace(*sum, inner);
            } else {
                sum = std::move(inner);
            }
        }
        evaluator.rescale_inplace(*sum);
        return std::move(*sum);
    }

    Context context_;
    std::size_t rows_ = 0;
    std::size_t cols_ = 0;
    std::size_t n_ = 0;
    Diagonals diagonals_;
    detail::BsgsPlan plan_;
    std::vector<Term> terms_;  // by giant step, then baby step
    std::shared_ptr<detail::LinearTransformCache> cache_;
};

}  // namespace cloak::inline v0::ckks
