// cloak: encrypted linear (ridge) regression, trained without decrypting.
//
// Gradient descent or Nesterov's accelerated gradient on the mean squared
// error (1/2n) sum (w . (1, x_i) - y_i)^2 + (lambda/2) |w_{1..d}|^2, in the
// packing of ml/logistic_regression.hpp: (1, x_i) in blocks of f slots, the
// targets y_i at the block starts of a second ciphertext per block ciphertext.
//
// One iteration, per block ciphertext Z_k and the Nesterov point v:
//   1. P = Z_k * v, rescaled; block sums by rotations 1 .. f/2         1 level
//   2. r = P - y (y brought to P's level and scale from above)
//   3. r times the block-start mask and the step -alpha (1 - gamma) / n   1 level
//   4. replicate r over its block by rotations -1 .. -f/2
//   5. r * Z_k, rescaled                                                  1 level
// then the sums over ciphertexts and samples (rotations f .. N/4) and the
// Nesterov update from the higher-level v and w, the ridge term riding on the
// constants that bring v down: 3 levels per iteration.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <functional>
#include <optional>
#include <vector>

#include <cloak/ckks/context.hpp>
#include <cloak/ckks/encoder.hpp>
#include <cloak/ckks/evaluator.hpp>
#include <cloak/core/error.hpp>
#include <cloak/ml/dataset.hpp>
#include <cloak/ml/logistic_regression.hpp>

namespace cloak::inline v0::ml {

/// Options of LinearRegression (every field optional).
struct LinearRegressionOptions {
    /// Gradient iterations (default 10).
    std::optional<std::size_t> iterations = std::nullopt;
    /// Nesterov's accelerated gradient (default) or plain gradient descent.
    std::optional<bool> nesterov = std::nullopt;
    /// Constant step size (default 1 / (d + 1): the Hessian's largest eigenvalue
    /// is at most (1/n) sum |(1, x_i)|^2 <= d + 1 for features in [-1, 1]).
    std::optional<double> learning_rate = std::nullopt;
    /// Ridge penalty lambda >= 0 on the weights, not the bias (default 0).
    std::optional<double> ridge = std::nullopt;
    /// Called after each iteration.
    std::function<void(const IterationReport&)> progress = nullptr;
};

inline constexpr std::size_t default_linear_iterations = 10;

class LinearRegression {
  public:
    explicit LinearRegression(LinearRegressionOptions options = {})
        : iterations_(options.iterations.value_or(default_linear_iterations)),
          nesterov_(options.nesterov.value_or(true)),
          rate_(options.learning_rate),
          ridge_(options.ridge.value_or(0.0)),
          progress_(options.progress) {
        if (iterations_ == 0) {
            throw InvalidArgumentError("ml::LinearRegression: 0 iterations; ask for at least 1");
        }
        if (rate_ && (!(*rate_ > 0) || !std::isfinite(*rate_))) {
            throw InvalidArgumentError(cloak::detail::message(
                "ml::LinearRegression: learning rate ", *rate_, " must be positive"));
        }
        if (!(ridge_ >= 0) || !std::isfinite(ridge_)) {
            throw InvalidArgumentError(cloak::detail::message("ml::LinearRegression: ridge ",
                                                              ridge_, " must be finite and >= 0"));
        }
    }

    /// 1 / L for L the largest eigenvalue of (1/n) sum z_i z_i^T, z_i = (1, x_i)
    /// (100 power iterations): the largest safe constant step. The key owner
    /// computes it from the data and passes it as a public hyperparameter.
    [[nodiscard]] static double suggested_rate(const Dataset& data) {
        const std::size_t d = data.features() + 1;
        std::vector<double> u(d, 1.0 / std::sqrt(static_cast<double>(d))), next(d);
        double eigenvalue = 1.0;
        for (int round = 0; round < 100; ++round) {
            std::fill(next.begin(), next.end(), 0.0);
            for (std::size_t i = 0; i < data.rows(); ++i) {
                double dot = u[0];
                for (std::size_t j = 1; j < d; ++j)
                    dot += u[j] * data.x(i, j - 1);
                next[0] += dot;
                for (std::size_t j = 1; j < d; ++j)
                    next[j] += dot * data.x(i, j - 1);
            }
            double norm = 0;
            for (double& x : next) {
                x /= static_cast<double>(data.rows());
                norm += x * x;
            }
            eigenvalue = std::sqrt(norm);
            if (!(eigenvalue > 0))
                return 1.0;
            for (std::size_t j = 0; j < d; ++j)
                u[j] = next[j] / eigenvalue;
        }
        return 1.0 / eigenvalue;
    }

    static constexpr std::size_t levels_per_iteration = 3;

    /// The most iterations a context's levels allow.
    [[nodiscard]] static std::size_t max_iterations(const ckks::Context& context) {
        return context.max_level() / levels_per_iteration;
    }

    /// The smallest 128-bit-secure parameters with the levels this training
    /// needs (see LogisticRegression::parameters; the same construction).
    [[nodiscard]] ckks::Parameters parameters(
        rlwe::Security security = rlwe::Security::classical128) const {
        return training_parameters(levels_per_iteration * iterations_, security);
    }

    /// Trains on encrypted regression data; the weights never leave encryption.
    /// @throws InvalidArgumentError for classification data; LevelError when the
    ///         levels do not cover the iterations (naming the most they allow);
    ///         KeyMissingError for a missing rotation of data.packing.rotations().
    [[nodiscard]] EncryptedModel fit(const ckks::Evaluator& eval,
                                     const EncryptedDataset& data) const {
        const ckks::Context& context = eval.context();
        const Packing& p = data.packing;
        if (data.task != Task::regression || data.targets.size() != data.blocks.size() ||
            data.blocks.empty()) {
            throw InvalidArgumentError(
                "ml::LinearRegression::fit: needs data encrypted for regression (a dataset with "
                "Task::regression passed to ml::encrypt)");
        }
        const std::size_t top = data.blocks.front().level();
        if (top < levels_per_iteration * iterations_) {
            throw LevelError(cloak::detail::message(
                "ml::LinearRegression::fit: ", iterations_, " iterations need ",
                levels_per_iteration * iterations_, " levels (", levels_per_iteration,
                " each), the data has ", top, "; ask for at most ", top / levels_per_iteration,
                " iterations, or use parameters with more levels"));
        }
        const auto start = std::chrono::steady_clock::now();
        const ckks::Encoder encoder(context);
        const double scale = context.scale();
        const double alpha = rate(p.features);
        const std::vector<double> gammas = nesterov_gammas(iterations_, nesterov_);

        // Per-slot constants: the block starts, and the weights (not the bias).
        std::vector<double> block_starts(p.slots, 0.0);
        std::vector<double> weights_mask(p.slots, 0.0);
        for (std::size_t b = 0; b < p.samples_per_ciphertext; ++b) {
            block_starts[b * p.block] = 1.0;
            for (std::size_t j = 1; j <= p.features; ++j)
                weights_mask[b * p.block + j] = 1.0;
        }
        const auto masked = [&](const std::vector<double>& mask, double on, double off) {
            std::vector<double> out(mask.size());
            for (std::size_t i = 0; i < mask.size(); ++i)
                out[i] = mask[i] != 0 ? on : off;
            return out;
        };

        ckks::Ciphertext w = eval.multiply_integer(data.blocks.front(), 0);
        ckks::Ciphertext v = w;
        for (std::size_t t = 0; t < iterations_; ++t) {
            const double gamma = gammas[t];
            const double step = alpha / static_cast<double>(p.rows) * (1.0 - gamma);
            ckks::Ciphertext gradient;
            for (std::size_t k = 0; k < data.blocks.size(); ++k) {
                ckks::Ciphertext inner =
                    eval.multiply(eval.drop_level_to(data.blocks[k], v.level()), v);
                eval.rescale_inplace(inner);
                for (std::size_t s = 1; s < p.block; s <<= 1) {
                    inner = eval.add(inner, eval.rotate(inner, static_cast<std::int64_t>(s)));
                }
                const ckks::Ciphertext target = detail::bring(eval, encoder, data.targets[k], 1.0,
                                                              inner.level(), inner.scale());
                const ckks::Ciphertext residual = eval.sub(inner, target);
                ckks::Ciphertext r =
                    detail::bring(eval, encoder, residual, masked(block_starts, -step, 0.0),
                                  residual.level() - 1, scale);
                for (std::size_t s = 1; s < p.block; s <<= 1) {
                    r = eval.add(r, eval.rotate(r, -static_cast<std::int64_t>(s)));
                }
                ckks::Ciphertext term =
                    eval.multiply(r, eval.drop_level_to(data.blocks[k], r.level()));
                eval.rescale_inplace(term);
                gradient = gradient.empty() ? std::move(term) : eval.add(gradient, term);
            }
            for (std::size_t s = p.block; s < p.slots; s <<= 1) {
                gradient = eval.add(gradient, eval.rotate(gradient, static_cast<std::int64_t>(s)));
            }
            // gradient = (1 - gamma) a; a = gradient read at scale (1 - gamma) S.
            const std::size_t level = gradient.level();
            ckks::Ciphertext a = gradient;
            a.set_scale(gradient.scale() * (1.0 - gamma));
            // w' = v (1 - alpha lambda [weights]) + a
            ckks::Ciphertext next_w = eval.add(
                detail::bring(eval, encoder, v, masked(weights_mask, 1.0 - alpha * ridge_, 1.0),
                              level, a.scale()),
                a);
            if (nesterov_) {
                // v' = (1 - gamma) (1 - alpha lambda [weights]) v + gamma w + (1 - gamma) a
                ckks::Ciphertext next_v = eval.add(
                    gradient,
                    detail::bring(
                        eval, encoder, v,
                        masked(weights_mask, (1.0 - gamma) * (1.0 - alpha * ridge_), 1.0 - gamma),
                        level, gradient.scale()));
                if (gamma != 0.0) {
                    next_v = eval.add(
                        next_v, detail::bring(eval, encoder, w, gamma, level, gradient.scale()));
                }
                v = std::move(next_v);
            } else {
                v = next_w;
            }
            w = std::move(next_w);
            if (progress_) {
                progress_({t + 1, iterations_,
                           std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
                               .count(),
                           w.level()});
            }
        }
        return EncryptedModel{std::move(w), p, std::nullopt};
    }

    /// The same algorithm in the clear (double), for the side-by-side report.
    [[nodiscard]] Model fit_plain(const Dataset& data) const {
        const std::size_t d = data.features() + 1;
        const double alpha = rate(data.features());
        const std::vector<double> gammas = nesterov_gammas(iterations_, nesterov_);
        const auto n = static_cast<double>(data.rows());
        std::vector<double> w(d, 0.0), v(d, 0.0);
        for (std::size_t t = 0; t < iterations_; ++t) {
            std::vector<double> gradient(d, 0.0);
            for (std::size_t i = 0; i < data.rows(); ++i) {
                double r = v[0] - data.labels()[i];
                for (std::size_t j = 1; j < d; ++j)
                    r += v[j] * data.x(i, j - 1);
                gradient[0] += r;
                for (std::size_t j = 1; j < d; ++j)
                    gradient[j] += r * data.x(i, j - 1);
            }
            std::vector<double> next_w(d);
            for (std::size_t j = 0; j < d; ++j) {
                next_w[j] = v[j] * (j > 0 ? 1.0 - alpha * ridge_ : 1.0) - alpha / n * gradient[j];
            }
            for (std::size_t j = 0; j < d; ++j) {
                v[j] = nesterov_ ? (1.0 - gammas[t]) * next_w[j] + gammas[t] * w[j] : next_w[j];
            }
            w = next_w;
        }
        return Model{w};
    }

  private:
    double rate(std::size_t features) const {
        return rate_.value_or(1.0 / static_cast<double>(features + 1));
    }

    std::size_t iterations_;
    bool nesterov_;
    std::optional<double> rate_;
    double ridge_;
    std::function<void(const IterationReport&)> progress_;
};

}  // namespace cloak::inline v0::ml
