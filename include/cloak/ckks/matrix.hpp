// cloak: encrypted d x d matrices: products, transposes, row and column sums,
// and the replication of one slot over a window.
//
// Packing: a d x d matrix (d a power of two, d^2 <= N/2) is packed row-major
// into d^2 slots, slot d i + j holding A[i][j]: encode the row-major vector
// with `.slots = d * d`, so that rotations wrap modulo d^2. A ciphertext of more
// slots whose contents repeat with period d^2 works too (see the slot layout in
// ckks/linear_transform.hpp).
//
// The product follows Jiang, Kim, Lauter, Song, "Secure outsourced matrix
// computation and application to neural networks" (CCS 2018), section 3:
// with the permutations of the d^2 slots
//     sigma(A)[i][j] = A[i][i + j]      tau(A)[i][j] = A[i + j][j]
//     phi(A)[i][j]   = A[i][j + 1]      psi(A)[i][j] = A[i + 1][j]   (indices mod d),
//     A B = sum_{k < d} phi^k(sigma(A)) ⊙ psi^k(tau(B)).
// sigma and tau are linear transforms of 2d - 1 and d diagonals (BSGS, one
// level each, applied side by side); phi^k has two diagonals, k and k - d, and
// the 2(d - 1) rotations of all the phi^k come from one hoisted decomposition
// of sigma(A) (one more level); psi^k is a rotation by d k (no level),
// hoisted too. The d products are summed before a single relinearization and
// rescale: 3 levels in all.
#pragma once

#include <algorithm>
#include <complex>
#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include <cloak/ckks/ciphertext.hpp>
#include <cloak/ckks/context.hpp>
#include <cloak/ckks/evaluator.hpp>
#include <cloak/ckks/linear_transform.hpp>
#include <cloak/core/bits.hpp>
#include <cloak/core/error.hpp>

namespace cloak::inline v0::ckks {

/// Where MatrixEvaluator::row_sums leaves the sum of row i.
enum class RowSumLayout {
    /// Slot d i (the row's first column) holds the sum; the other slots hold
    /// partial sums that overlap the next row. No level; rotations 1, 2, .., d/2.
    first_column,
    /// Every slot of row i holds the sum: a mask of column 0 (one level), then
    /// rotations -1, -2, .., -d/2 spread it along the row.
    replicated,
};

namespace detail {

/// The diagonals of the permutation of n slots that fills slot t from slot
/// source(t): diagonal (source(t) - t) mod n has a 1 at position t.
template <typename Source>
LinearTransform::Diagonals permutation_diagonals(std::size_t n, Source source) {
    LinearTransform::Diagonals diagonals;
    for (std::size_t t = 0; t < n; ++t) {
        const std::size_t index = (source(t) + n - t) % n;
        auto [it, inserted] = diagonals.try_emplace(index);
        if (inserted) {
            it->second.assign(n, std::complex<double>(0.0, 0.0));
        }
        it->second[t] = 1.0;
    }
    return diagonals;
}

inline std::vector<std::size_t> diagonal_indices(const LinearTransform::Diagonals& diagonals) {
    std::vector<std::size_t> indices;
    for (const auto& entry : diagonals) {
        indices.push_back(entry.first);
    }
    return indices;
}

inline LinearTransform::Diagonals sigma_diagonals(std::size_t d) {
    return permutation_diagonals(d * d, [d](std::size_t t) {
        const std::size_t i = t / d;
        const std::size_t j = t % d;
        return d * i + (i + j) % d;
    });
}

inline LinearTransform::Diagonals tau_diagonals(std::size_t d) {
    return permutation_diagonals(d * d, [d](std::size_t t) {
        const std::size_t i = t / d;
        const std::size_t j = t % d;
        return d * ((i + j) % d) + j;
    });
}

inline LinearTransform::Diagonals phi_diagonals(std::size_t d, std::size_t k) {
    return permutation_diagonals(d * d, [d, k](std::size_t t) {
        const std::size_t i = t / d;
        const std::size_t j = t % d;
        return d * i + (j + k) % d;
    });
}

inline LinearTransform::Diagonals transpose_diagonals(std::size_t d) {
    return permutation_diagonals(d * d, [d](std::size_t t) {
        const std::size_t i = t / d;
        const std::size_t j = t % d;
        return d * j + i;
    });
}

// phi^k's two rotations (k and k - d) are hoisted with every other phi's: all
// of its diagonals are baby steps.
inline LinearTransformOptions phi_options(std::size_t d) {
    return {.baby_steps = d * d};
}

inline void check_matrix_dimension(std::size_t d, const char* where) {
    if (d == 0 || !core::is_power_of_two(d)) {
        throw InvalidArgumentError(cloak::detail::message(
            where, ": dimension d = ", d,
            " is not a power of two; pad the matrices with zeros to the next power of two"));
    }
}

inline void add_steps(std::vector<std::int64_t>& steps, const std::vector<std::int64_t>& more) {
    steps.insert(steps.end(), more.begin(), more.end());
}

inline std::vector<std::int64_t> sorted_unique(std::vector<std::int64_t> steps) {
    std::sort(steps.begin(), steps.end());
    steps.erase(std::unique(steps.begin(), steps.end()), steps.end());
    return steps;
}

}  // namespace detail

/// Operations on encrypted d x d matrices packed row-major into d^2 slots
/// (see the top of this header). Holds the encoded permutations (shared by
/// copies, encoded lazily per level); every method is const and thread-safe.
class MatrixEvaluator {
  public:
    /// Levels each operation consumes.
    static constexpr std::size_t multiply_levels = 3;
    static constexpr std::size_t transpose_levels = 1;
    static constexpr std::size_t column_sums_levels = 0;
    [[nodiscard]] static constexpr std::size_t row_sums_levels(RowSumLayout layout) noexcept {
        return layout == RowSumLayout::replicated ? 1 : 0;
    }

    /// Prepares the permutations of d x d matrices (nothing is encoded yet).
    /// @throws InvalidArgumentError when d is not a power of two.
    /// @throws ShapeError when d^2 exceeds the N/2 slots.
    MatrixEvaluator(const Context& context, std::size_t d)
        : context_(context),
          d_(checked_dimension(context, d)),
          sigma_(LinearTransform::from_diagonals(context, d * d, detail::sigma_diagonals(d))),
          tau_(LinearTransform::from_diagonals(context, d * d, detail::tau_diagonals(d))),
          transpose_(
              LinearTransform::from_diagonals(context, d * d, detail::transpose_diagonals(d))) {
        for (std::size_t k = 1; k < d; ++k) {
            phi_.push_back(LinearTransform::from_diagonals(
                context, d * d, detail::phi_diagonals(d, k), detail::phi_options(d)));
        }
    }

    // ---- Galois keys, computable from d alone ------------------------------------

    /// The rotation steps multiply() needs, ascending.
    [[nodiscard]] static std::vector<std::int64_t> multiply_rotations(std::size_t d) {
        detail::check_matrix_dimension(d, "ckks::MatrixEvaluator::multiply_rotations");
        const std::size_t n = d * d;
        std::vector<std::int64_t> steps;
        detail::add_steps(steps, LinearTransform::rotations_for(
                                     n, detail::diagonal_indices(detail::sigma_diagonals(d))));
        detail::add_steps(steps, LinearTransform::rotations_for(
                                     n, detail::diagonal_indices(detail::tau_diagonals(d))));
        for (std::size_t k = 1; k < d; ++k) {
            detail::add_steps(steps, LinearTransform::rotations_for(
                                         n, detail::diagonal_indices(detail::phi_diagonals(d, k)),
                                         detail::phi_options(d)));
            steps.push_back(static_cast<std::int64_t>(d * k));  // psi^k
        }
        return detail::sorted_unique(std::move(steps));
    }

    /// The rotation steps transpose() needs, ascending.
    [[nodiscard]] static std::vector<std::int64_t> transpose_rotations(std::size_t d) {
        detail::check_matrix_dimension(d, "ckks::MatrixEvaluator::transpose_rotations");
        return LinearTransform::rotations_for(
            d * d, detail::diagonal_indices(detail::transpose_diagonals(d)));
    }

    /// The rotation steps row_sums() needs: 1, 2, .., d/2 (and their negatives
    /// for the replicated layout).
    [[nodiscard]] static std::vector<std::int64_t> row_sums_rotations(
        std::size_t d, RowSumLayout layout = RowSumLayout::first_column) {
        detail::check_matrix_dimension(d, "ckks::MatrixEvaluator::row_sums_rotations");
        std::vector<std::int64_t> steps;
        for (std::size_t step = 1; step < d; step <<= 1) {
            steps.push_back(static_cast<std::int64_t>(step));
            if (layout == RowSumLayout::replicated) {
                steps.push_back(-static_cast<std::int64_t>(step));
            }
        }
        return detail::sorted_unique(std::move(steps));
    }

    /// The rotation steps column_sums() needs: d, 2d, .., d^2/2.
    [[nodiscard]] static std::vector<std::int64_t> column_sums_rotations(std::size_t d) {
        detail::check_matrix_dimension(d, "ckks::MatrixEvaluator::column_sums_rotations");
        std::vector<std::int64_t> steps;
        for (std::size_t step = d; step < d * d; step <<= 1) {
            steps.push_back(static_cast<std::int64_t>(step));
        }
        return steps;
    }

    /// Every step of every operation above, ascending.
    [[nodiscard]] static std::vector<std::int64_t> rotations(std::size_t d) {
        std::vector<std::int64_t> steps = multiply_rotations(d);
        detail::add_steps(steps, transpose_rotations(d));
        detail::add_steps(steps, row_sums_rotations(d, RowSumLayout::replicated));
        detail::add_steps(steps, column_sums_rotations(d));
        return detail::sorted_unique(std::move(steps));
    }

    [[nodiscard]] const Context& context() const noexcept { return context_; }
    /// d: the matrices are d x d.
    [[nodiscard]] std::size_t dimension() const noexcept { return d_; }
    /// d^2: the slots a packed matrix occupies.
    [[nodiscard]] std::size_t slots() const noexcept { return d_ * d_; }

    /// The permutations as linear transforms of d^2 slots.
    [[nodiscard]] const LinearTransform& sigma() const noexcept { return sigma_; }
    [[nodiscard]] const LinearTransform& tau() const noexcept { return tau_; }
    /// phi^k for k = 1 .. d-1.
    /// @throws InvalidArgumentError for k = 0 or k >= d.
    [[nodiscard]] const LinearTransform& phi(std::size_t k) const {
        if (k == 0 || k >= d_) {
            throw InvalidArgumentError(cloak::detail::message(
                "ckks::MatrixEvaluator::phi: k = ", k, "; phi^k is a transform for k from 1 to ",
                d_ - 1, " (phi^0 is the identity)"));
        }
        return phi_[k - 1];
    }
    [[nodiscard]] const LinearTransform& transposition() const noexcept { return transpose_; }

    /// psi^k(A)[i][j] = A[i + k][j]: a rotation by d k, no level.
    [[nodiscard]] Ciphertext psi(const Evaluator& evaluator, const Ciphertext& a,
                                 std::size_t k) const {
        check(a, "ckks::MatrixEvaluator::psi");
        return evaluator.rotate(a, static_cast<std::int64_t>(d_ * (k % d_)));
    }

    // ---- operations ------------------------------------------------------------------

    /// The product A B of two encrypted d x d matrices (Jiang, Kim, Lauter, Song
    /// 2018). Operands at different levels meet at the lower one (drop_level_to);
    /// the result is multiply_levels = 3 levels below it, at scale
    /// a.scale() b.scale() / q, q the prime of the last rescale.
    /// @throws LevelError when fewer than 3 levels remain.
    /// @throws ShapeError when an operand packs fewer than d^2 slots.
    /// @throws KeyMissingError for a rotation key not in multiply_rotations(d).
    [[nodiscard]] Ciphertext multiply(const Evaluator& evaluator, const Ciphertext& a,
                                      const Ciphertext& b) const {
        const char* where = "ckks::MatrixEvaluator::multiply";
        check(a, where);
        check(b, where);
        const std::size_t level = std::min(a.level(), b.level());
        if (level < multiply_levels) {
            throw LevelError(cloak::detail::message(where, ": the operands are at level ",
                                                    a.level(), " and ", b.level(),
                                                    "; a matrix product consumes ", multiply_levels,
                                                    " levels; bootstrap them or multiply earlier"));
        }
        const Ciphertext a0 = sigma_.apply(evaluator, evaluator.drop_level_to(a, level));
        const Ciphertext b0 = tau_.apply(evaluator, evaluator.drop_level_to(b, level));
        // phi^k(sigma(A)) for k >= 1 from one hoisted decomposition; psi^k(tau(B))
        // is a rotation, done hoisted at the lower level where it is cheaper.
        const std::vector<Ciphertext> shifted_a = LinearTransform::apply_all(evaluator, phi_, a0);
        const Ciphertext b_low = evaluator.drop_level_to(b0, level - 2);
        std::vector<std::int64_t> steps;
        for (std::size_t k = 1; k < d_; ++k) {
            steps.push_back(static_cast<std::int64_t>(d_ * k));
        }
        const std::vector<Ciphertext> shifted_b = evaluator.rotate_hoisted(b_low, steps);
        // Relinearized and rescaled once, after the d products are summed.
        Ciphertext sum = evaluator.multiply_no_relin(evaluator.drop_level_to(a0, level - 2), b_low);
        for (std::size_t k = 1; k < d_; ++k) {
            evaluator.add_inplace(sum,
                                  evaluator.multiply_no_relin(shifted_a[k - 1], shifted_b[k - 1]));
        }
        evaluator.relinearize_inplace(sum);
        evaluator.rescale_inplace(sum);
        return sum;
    }

    /// The transpose of an encrypted d x d matrix: transpose_levels = 1 level.
    [[nodiscard]] Ciphertext transpose(const Evaluator& evaluator, const Ciphertext& a) const {
        check(a, "ckks::MatrixEvaluator::transpose");
        return transpose_.apply(evaluator, a);
    }

    /// Row sums by rotate-and-sum over each row's d slots; see RowSumLayout for
    /// where they land and row_sums_levels(layout) for the levels used.
    [[nodiscard]] Ciphertext row_sums(const Evaluator& evaluator, const Ciphertext& a,
                                      RowSumLayout layout = RowSumLayout::first_column) const {
        const char* where = "ckks::MatrixEvaluator::row_sums";
        check(a, where);
        Ciphertext sums = evaluator.rotate_and_sum(a, d_);
        if (layout == RowSumLayout::first_column) {
            return sums;
        }
        if (sums.level() == 0) {
            throw LevelError(cloak::detail::message(
                where,
                ": the ciphertext is at level 0 and replicated row sums consume 1 level; "
                "use RowSumLayout::first_column or bootstrap first"));
        }
        std::vector<double> first_column(a.slots(), 0.0);
        for (std::size_t t = 0; t < first_column.size(); t += d_) {
            first_column[t] = 1.0;
        }
        sums = evaluator.rescale(evaluator.multiply(sums, std::span<const double>(first_column)));
        for (std::size_t step = 1; step < d_; step <<= 1) {
            evaluator.add_inplace(sums, evaluator.rotate(sums, -static_cast<std::int64_t>(step)));
        }
        return sums;
    }

    /// Column sums, replicated: every slot (i, j) holds sum_i' A[i'][j]. Rotations
    /// by d, 2d, .., d^2/2 (the column_sums_levels = 0 levels).
    [[nodiscard]] Ciphertext column_sums(const Evaluator& evaluator, const Ciphertext& a) const {
        check(a, "ckks::MatrixEvaluator::column_sums");
        Ciphertext sums = a;
        for (std::size_t step = d_; step < d_ * d_; step <<= 1) {
            evaluator.add_inplace(sums, evaluator.rotate(sums, static_cast<std::int64_t>(step)));
        }
        return sums;
    }

  private:
    static std::size_t checked_dimension(const Context& context, std::size_t d) {
        const char* where = "ckks::MatrixEvaluator";
        detail::check_matrix_dimension(d, where);
        if (d > context.slots() / d) {
            throw ShapeError(cloak::detail::message(
                where, ": d x d = ", d, " x ", d, " matrices need d^2 = ", d * d,
                " slots, more than the ", context.slots(), " slots of N = ", context.degree(),
                "; use a larger ring degree or split the matrices into blocks"));
        }
        return d;
    }

    void check(const Ciphertext& a, const char* where) const {
        if (a.empty()) {
            throw InvalidArgumentError(cloak::detail::message(where, ": the ciphertext is empty"));
        }
        if (a.slots() < d_ * d_) {
            throw ShapeError(cloak::detail::message(
                where, ": the ciphertext packs ", a.slots(), " slots, a ", d_, " x ", d_,
                " matrix needs d^2 = ", d_ * d_, "; encode it row-major with .slots = ", d_ * d_));
        }
    }

    Context context_;
    std::size_t d_ = 0;
    LinearTransform sigma_;
    LinearTransform tau_;
    LinearTransform transpose_;
    std::vector<LinearTransform> phi_;  // phi^1 .. phi^(d-1)
};

/// Levels replicate() consumes: one (the mask).
inline constexpr std::size_t replicate_levels = 1;

/// The rotation steps replicate(.., window) needs: -1, -2, .., -window/2.
/// @throws InvalidArgumentError when window is not a power of two.
[[nodiscard]] inline std::vector<std::int64_t> replicate_rotations(std::size_t window) {
    if (window == 0 || !core::is_power_of_two(window)) {
        throw InvalidArgumentError(cloak::detail::message("ckks::replicate_rotations: window ",
                                                          window, " is not a power of two"));
    }
    std::vector<std::int64_t> steps;
    for (std::size_t step = 1; step < window; step <<= 1) {
        steps.push_back(-static_cast<std::int64_t>(step));
    }
    std::sort(steps.begin(), steps.end());
    return steps;
}

/// Slot `index` of x copied into slots index, index + 1, .., index + window - 1
/// (cyclically); every other slot is 0. A one-hot mask (replicate_levels = 1
/// level, the scale of x exactly), then log2(window) rotate-and-add doublings
/// to the right (replicate_rotations(window)).
/// @throws InvalidArgumentError when index is not below x.slots() or window is
///         not a power of two from 1 to x.slots().
/// @throws LevelError when x is at level 0.
[[nodiscard]] inline Ciphertext replicate(const Evaluator& evaluator, const Ciphertext& x,
                                          std::size_t index, std::size_t window) {
    const char* where = "ckks::replicate";
    if (x.empty()) {
        throw InvalidArgumentError(cloak::detail::message(where, ": the ciphertext is empty"));
    }
    if (index >= x.slots()) {
        throw InvalidArgumentError(cloak::detail::message(
            where, ": slot ", index, " of ", x.slots(), " slots; pass an index below ", x.slots()));
    }
    if (window == 0 || !core::is_power_of_two(window) || window > x.slots()) {
        throw InvalidArgumentError(cloak::detail::message(where, ": window ", window,
                                                          "; choose a power of two from 1 to the ",
                                                          x.slots(), " slots"));
    }
    if (x.level() == 0) {
        throw LevelError(cloak::detail::message(
            where,
            ": the ciphertext is at level 0 and replicate consumes 1 level (its mask); "
            "bootstrap it first"));
    }
    std::vector<double> mask(x.slots(), 0.0);
    mask[index] = 1.0;
    Ciphertext out = evaluator.rescale(evaluator.multiply(x, std::span<const double>(mask)));
    for (std::size_t step = 1; step < window; step <<= 1) {
        evaluator.add_inplace(out, evaluator.rotate(out, -static_cast<std::int64_t>(step)));
    }
    return out;
}

}  // namespace cloak::inline v0::ckks
