// cloak: model quality metrics, and plaintext reference trainers.
//
// The metrics (accuracy, AUC, MSE, R^2, log loss) score any model's outputs.
// The trainers in ml::plain fit linear and logistic regression on plaintext
// data with exactly the iterations the encrypted trainers run, so the two can
// be reported side by side and compared in tests: logistic regression follows
// Kim, Song, Kim, Lee and Cheon, "Logistic regression model training based on
// the approximate homomorphic encryption", BMC Medical Genomics 11 (2018)
// (the iDASH 2017 winner): Nesterov's accelerated gradient on the averaged
// log-likelihood gradient, written with the y*x trick, learning rate
// 10 / (t + 1), and optionally the polynomial sigmoid that the encrypted
// version evaluates.
//
// Weight vectors are bias first: {b, w_1, ..., w_d} scores a sample x as
// b + sum w_j x_j.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iomanip>
#include <limits>
#include <numeric>
#include <optional>
#include <ostream>
#include <random>
#include <span>
#include <sstream>
#include <utility>
#include <vector>

#include <cloak/core/error.hpp>
#include <cloak/ml/dataset.hpp>

namespace cloak::inline v0::ml {

/// The logistic function 1 / (1 + e^-x), without overflow for any x.
[[nodiscard]] inline double sigmoid(double x) noexcept {
    if (x >= 0) {
        return 1 / (1 + std::exp(-x));
    }
    const double e = std::exp(x);
    return e / (1 + e);
}

namespace detail {

inline void check_pair(const char* function, std::size_t values, std::size_t labels,
                       const char* what) {
    if (values != labels) {
        throw ShapeError(cloak::detail::message(function, ": ", values, " ", what, " for ", labels,
                                                " labels; pass one per sample"));
    }
    if (values == 0) {
        throw InvalidArgumentError(
            cloak::detail::message(function, ": no samples; pass at least one"));
    }
}

inline void check_finite(const char* function, std::span<const double> values, const char* what) {
    for (std::size_t i = 0; i < values.size(); ++i) {
        if (!std::isfinite(values[i])) {
            throw InvalidArgumentError(cloak::detail::message(
                function, ": ", what, " ", i, " is ", values[i], "; every value must be finite"));
        }
    }
}

/// True for a positive label (1), false for a negative one (0 or -1).
inline bool positive_label(const char* function, double label, std::size_t i) {
    if (label == 1) {
        return true;
    }
    if (label == 0 || label == -1) {
        return false;
    }
    throw InvalidArgumentError(cloak::detail::message(
        function, ": label ", i, " is ", label,
        "; binary labels are 0/1 or -1/+1 (use mse or r2 for real-valued targets)"));
}

}  // namespace detail

/// Share of samples whose prediction (value >= threshold) matches the label.
/// With probabilities the threshold is 0.5 (default); with scores (logits), 0.
/// @throws ShapeError when the sizes differ; InvalidArgumentError for no
///         samples, a non-finite value, or a label other than 0, 1 or -1.
[[nodiscard]] inline double accuracy(std::span<const double> predictions,
                                     std::span<const double> labels, double threshold = 0.5) {
    constexpr const char* function = "ml::accuracy";
    detail::check_pair(function, predictions.size(), labels.size(), "predictions");
    detail::check_finite(function, predictions, "prediction");
    std::size_t correct = 0;
    for (std::size_t i = 0; i < labels.size(); ++i) {
        correct += static_cast<std::size_t>((predictions[i] >= threshold) ==
                                            detail::positive_label(function, labels[i], i));
    }
    return static_cast<double>(correct) / static_cast<double>(labels.size());
}

/// Area under the ROC curve, exactly, by the rank statistic (Mann-Whitney U /
/// (n_pos n_neg)): the probability that a random positive scores above a random
/// negative, a tie counting 1/2. Any monotone score works (probabilities or
/// logits give the same AUC).
/// @throws ShapeError when the sizes differ; InvalidArgumentError for a
///         non-finite score, a label other than 0, 1 or -1, or labels of one
///         class only (the AUC is undefined).
[[nodiscard]] inline double auc(std::span<const double> scores, std::span<const double> labels) {
    constexpr const char* function = "ml::auc";
    detail::check_pair(function, scores.size(), labels.size(), "scores");
    detail::check_finite(function, scores, "score");
    const std::size_t n = scores.size();
    std::vector<std::size_t> order = detail::iota(n);
    std::sort(order.begin(), order.end(),
              [&](std::size_t a, std::size_t b) { return scores[a] < scores[b]; });
    double positive_rank_sum = 0;  // ranks from 1, ties averaged
    std::size_t positives = 0;
    for (std::size_t start = 0; start < n;) {
        std::size_t end = start + 1;
        while (end < n && scores[order[end]] == scores[order[start]]) {
            ++end;
        }
        const double average_rank = (static_cast<double>(start + 1) + static_cast<double>(end)) / 2;
        for (std::size_t k = start; k < end; ++k) {
            if (detail::positive_label(function, labels[order[k]], order[k])) {
                positive_rank_sum += average_rank;
                ++positives;
            }
        }
        start = end;
    }
    const std::size_t negatives = n - positives;
    if (positives == 0 || negatives == 0) {
        throw InvalidArgumentError(cloak::detail::message(
            function, ": all ", n, " labels are ", positives == 0 ? "negative" : "positive",
            "; the AUC needs samples of both classes (use a stratified split)"));
    }
    const auto p = static_cast<double>(positives);
    return (positive_rank_sum - p * (p + 1) / 2) / (p * static_cast<double>(negatives));
}

/// Mean squared error (1/n) sum (prediction_i - target_i)^2.
/// @throws ShapeError when the sizes differ; InvalidArgumentError for no
///         samples or a non-finite value.
[[nodiscard]] inline double mse(std::span<const double> predictions,
                                std::span<const double> targets) {
    constexpr const char* function = "ml::mse";
    detail::check_pair(function, predictions.size(), targets.size(), "predictions");
    detail::check_finite(function, predictions, "prediction");
    detail::check_finite(function, targets, "target");
    double sum = 0;
    for (std::size_t i = 0; i < targets.size(); ++i) {
        const double e = predictions[i] - targets[i];
        sum += e * e;
    }
    return sum / static_cast<double>(targets.size());
}

/// Coefficient of determination 1 - SS_res / SS_tot, SS_tot = sum (t_i - mean)^2:
/// 1 for a perfect fit, 0 for predicting the mean, negative when worse.
/// @throws as mse, and InvalidArgumentError for constant targets (SS_tot = 0).
[[nodiscard]] inline double r2(std::span<const double> predictions,
                               std::span<const double> targets) {
    constexpr const char* function = "ml::r2";
    const double residual = mse(predictions, targets) * static_cast<double>(targets.size());
    const double mean =
        std::accumulate(targets.begin(), targets.end(), 0.0) / static_cast<double>(targets.size());
    double total = 0;
    for (const double t : targets) {
        total += (t - mean) * (t - mean);
    }
    if (total == 0) {
        throw InvalidArgumentError(
            cloak::detail::message(function, ": all ", targets.size(), " targets equal ", mean,
                                   "; R^2 is undefined for constant targets (report mse instead)"));
    }
    return 1 - residual / total;
}

/// Probabilities are clamped to [log_loss_clip, 1 - log_loss_clip] so one
/// confident mistake (or a polynomial sigmoid's value outside [0, 1]) gives a
/// large but finite loss (-ln 1e-15 = 34.5).
inline constexpr double log_loss_clip = 1e-15;

/// Binary cross-entropy -(1/n) sum [y ln p + (1 - y) ln(1 - p)], natural log.
/// @throws ShapeError when the sizes differ; InvalidArgumentError for no
///         samples, a non-finite probability, or a label other than 0, 1 or -1.
[[nodiscard]] inline double log_loss(std::span<const double> probabilities,
                                     std::span<const double> labels) {
    constexpr const char* function = "ml::log_loss";
    detail::check_pair(function, probabilities.size(), labels.size(), "probabilities");
    detail::check_finite(function, probabilities, "probability");
    double sum = 0;
    for (std::size_t i = 0; i < labels.size(); ++i) {
        const double p = std::clamp(probabilities[i], log_loss_clip, 1 - log_loss_clip);
        sum -= detail::positive_label(function, labels[i], i) ? std::log(p) : std::log1p(-p);
    }
    return sum / static_cast<double>(labels.size());
}

/// A model's scores on one dataset; a metric that does not apply (or is
/// undefined, such as the AUC of one class) is NaN and is not printed.
struct Metrics {
    static constexpr double none = std::numeric_limits<double>::quiet_NaN();
    double accuracy = none;
    double auc = none;
    /// For a classifier: the Brier score, mean (p - y)^2.
    double mse = none;
    /// For a classifier: 1 - Brier / variance of the labels.
    double r2 = none;
    double log_loss = none;
    std::size_t samples = 0;

    /// "accuracy 91.23%, AUC 0.9671, log loss 0.2301, MSE 0.0671, R^2 0.7214 (n = 316)"
    friend std::ostream& operator<<(std::ostream& out, const Metrics& m) {
        std::ostringstream text;
        const char* separator = "";
        const auto field = [&](const char* name, double value, bool percent) {
            if (std::isnan(value)) {
                return;
            }
            text << separator << name << ' ' << std::fixed << std::setprecision(percent ? 2 : 4)
                 << (percent ? 100 * value : value) << (percent ? "%" : "");
            separator = ", ";
        };
        field("accuracy", m.accuracy, true);
        field("AUC", m.auc, false);
        field("log loss", m.log_loss, false);
        field("MSE", m.mse, false);
        field("R^2", m.r2, false);
        text << (*separator != '\0' ? " " : "") << "(n = " << m.samples << ')';
        return out << text.str();
    }
};

/// What a classifier's outputs are.
enum class Output {
    /// Probabilities of the positive class: thresholded at 0.5.
    probability,
    /// Real scores (logits b + w . x): thresholded at 0, probabilities by the
    /// exact sigmoid for the log loss and Brier score.
    score,
};

/// Accuracy, AUC, log loss, Brier score (as mse) and its R^2 of a binary classifier.
/// @throws ShapeError when the sizes differ; InvalidArgumentError for no
///         samples, a non-finite value or a label other than 0, 1 or -1.
[[nodiscard]] inline Metrics evaluate_classifier(std::span<const double> outputs,
                                                 std::span<const double> labels,
                                                 Output kind = Output::probability) {
    constexpr const char* function = "ml::evaluate_classifier";
    detail::check_pair(function, outputs.size(), labels.size(), "outputs");
    detail::check_finite(function, outputs, "output");
    std::vector<double> probabilities(outputs.begin(), outputs.end());
    std::vector<double> binary(labels.size());
    bool both = false;
    for (std::size_t i = 0; i < labels.size(); ++i) {
        binary[i] = detail::positive_label(function, labels[i], i) ? 1 : 0;
        both = both || binary[i] != binary[0];
        if (kind == Output::score) {
            probabilities[i] = sigmoid(outputs[i]);
        }
    }
    Metrics m;
    m.samples = labels.size();
    m.accuracy = accuracy(outputs, binary, kind == Output::score ? 0.0 : 0.5);
    m.auc = both ? auc(outputs, binary) : Metrics::none;
    m.log_loss = log_loss(probabilities, binary);
    m.mse = mse(probabilities, binary);
    m.r2 = both ? r2(probabilities, binary) : Metrics::none;
    return m;
}

/// MSE and R^2 of a regression model (R^2 is NaN for constant targets).
/// @throws as mse.
[[nodiscard]] inline Metrics evaluate_regressor(std::span<const double> predictions,
                                                std::span<const double> targets) {
    Metrics m;
    m.samples = targets.size();
    m.mse = mse(predictions, targets);
    const bool constant =
        std::all_of(targets.begin(), targets.end(), [&](double t) { return t == targets[0]; });
    m.r2 = constant ? Metrics::none : r2(predictions, targets);
    return m;
}

namespace detail {

inline void check_weights(const char* function, std::span<const double> weights,
                          std::size_t features) {
    if (weights.size() != features + 1) {
        throw ShapeError(
            cloak::detail::message(function, ": ", weights.size(), " weights for ", features,
                                   " features; pass the bias first, then one weight per feature (",
                                   features + 1, " in all)"));
    }
}

inline double dot_with_bias(std::span<const double> weights, std::span<const double> row) {
    double t = weights[0];
    for (std::size_t j = 0; j < row.size(); ++j) {
        t += weights[j + 1] * row[j];
    }
    return t;
}

}  // namespace detail

/// The linear score b + w . x of every sample (weights bias first): a linear
/// model's predictions, a logistic model's logits.
/// @throws ShapeError when weights.size() != data.features() + 1.
[[nodiscard]] inline std::vector<double> predict_scores(std::span<const double> weights,
                                                        const Dataset& data) {
    detail::check_weights("ml::predict_scores", weights, data.features());
    std::vector<double> out(data.rows());
    for (std::size_t i = 0; i < data.rows(); ++i) {
        out[i] = detail::dot_with_bias(weights, data.row(i));
    }
    return out;
}

/// sigmoid(b + w . x) of every sample: a logistic model's probabilities.
/// @throws ShapeError when weights.size() != data.features() + 1.
[[nodiscard]] inline std::vector<double> predict_probabilities(std::span<const double> weights,
                                                               const Dataset& data) {
    std::vector<double> out = predict_scores(weights, data);
    for (double& v : out) {
        v = sigmoid(v);
    }
    return out;
}

/// Metrics of a logistic model (weights bias first) on a classification dataset.
/// @throws ShapeError for a weight count other than features + 1;
///         InvalidArgumentError for an empty dataset.
[[nodiscard]] inline Metrics evaluate_logistic(std::span<const double> weights,
                                               const Dataset& data) {
    return evaluate_classifier(predict_scores(weights, data), data.labels(), Output::score);
}

/// Metrics of a linear model (weights bias first) on a dataset.
/// @throws as evaluate_logistic.
[[nodiscard]] inline Metrics evaluate_linear(std::span<const double> weights, const Dataset& data) {
    return evaluate_regressor(predict_scores(weights, data), data.labels());
}

// ---------------------------------------------------------------------------
// Plaintext reference trainers

namespace detail {

inline void check_ridge(const char* function, double ridge) {
    if (!(ridge >= 0) || !std::isfinite(ridge)) {
        throw InvalidArgumentError(cloak::detail::message(
            function, ": ridge = ", ridge, " must be finite and non-negative (0: no penalty)"));
    }
}

/// H = (1/n) X~^T X~ + ridge diag(0, 1, ..., 1), X~ = [1 | X]: the Hessian of
/// the ridge objective, (d + 1) x (d + 1), row-major.
inline std::vector<double> ridge_hessian(const Dataset& data, double ridge) {
    const std::size_t n = data.rows();
    const std::size_t d = data.features();
    const std::size_t m = d + 1;
    std::vector<double> h(m * m, 0.0);
    std::vector<double> row(m);
    for (std::size_t i = 0; i < n; ++i) {
        row[0] = 1;
        const auto x = data.row(i);
        std::copy(x.begin(), x.end(), row.begin() + 1);
        for (std::size_t a = 0; a < m; ++a) {
            for (std::size_t b = 0; b < m; ++b) {
                h[a * m + b] += row[a] * row[b];
            }
        }
    }
    for (double& v : h) {
        v /= static_cast<double>(n);
    }
    for (std::size_t a = 1; a < m; ++a) {
        h[a * m + a] += ridge;
    }
    return h;
}

/// Largest eigenvalue of a symmetric positive semidefinite matrix by power
/// iteration from a fixed pseudo-random start (never orthogonal to the top
/// eigenvector in practice); the Rayleigh quotient never exceeds it.
inline double largest_eigenvalue(const std::vector<double>& h, std::size_t m,
                                 std::size_t iterations = 100) {
    std::mt19937_64 rng(0x5eed);
    std::vector<double> v(m);
    for (double& x : v) {
        x = 1 + uniform01(rng);
    }
    std::vector<double> hv(m);
    double estimate = 0;
    for (std::size_t it = 0; it < iterations; ++it) {
        double norm = 0;
        for (const double x : v) {
            norm += x * x;
        }
        norm = std::sqrt(norm);
        if (norm == 0) {
            return 0;
        }
        for (double& x : v) {
            x /= norm;
        }
        estimate = 0;
        for (std::size_t a = 0; a < m; ++a) {
            hv[a] = 0;
            for (std::size_t b = 0; b < m; ++b) {
                hv[a] += h[a * m + b] * v[b];
            }
            estimate += v[a] * hv[a];
        }
        v.swap(hv);
    }
    return estimate;
}

}  // namespace detail

namespace plain {

/// The update rule.
enum class Optimizer {
    /// Nesterov's accelerated gradient (default), in the form of Kim et al.
    /// 2018, eq. (4)-(5): w_{t+1} = v_t + alpha_t g(v_t) and
    /// v_{t+1} = (1 - gamma_t) w_{t+1} + gamma_t w_t, gamma_t = (1 - lambda_t) /
    /// lambda_{t+1}, lambda_1 = 1, lambda_{t+1} = (1 + sqrt(1 + 4 lambda_t^2)) / 2.
    nesterov,
    /// Plain gradient steps w_{t+1} = w_t + alpha_t g(w_t).
    gradient_descent,
};

inline constexpr Optimizer default_optimizer = Optimizer::nesterov;
/// Kim et al.'s iDASH 2017 submission ran 7 iterations.
inline constexpr std::size_t default_logistic_iterations = 7;
inline constexpr std::size_t default_linear_iterations = 100;

/// Kim et al. 2018's learning rate alpha_t = 10 / (t + 1), t = 1, 2, ...
[[nodiscard]] inline double kim2018_learning_rate(std::size_t t) noexcept {
    return 10.0 / (static_cast<double>(t) + 1);
}

/// Kim et al. 2018's degree-3 least-squares approximation of the sigmoid on
/// [-8, 8]: 0.5 + 0.15012 x - 0.001593 x^3 (their g3(-x) = 0.5 - 1.20096 (x/8)
/// + 0.81562 (x/8)^3 is this at -x). Error below 0.12 on [-8, 8]; it turns
/// back beyond |x| = 5.6 and leaves [0, 1] outside [-8, 8].
[[nodiscard]] inline double kim2018_sigmoid3(double x) noexcept {
    return 0.5 + 0.15012 * x - 0.001593 * x * x * x;
}

/// Nesterov's lambda sequence: lambda_1 = 1, lambda_{t+1} = (1 + sqrt(1 + 4 lambda_t^2)) / 2,
/// with momentum gamma_t = (1 - lambda_t) / lambda_{t+1} (0 at t = 1, then negative,
/// tending to -1). The encrypted trainers use the same values.
class NesterovSchedule {
  public:
    /// gamma_t for the current t, then advances t.
    [[nodiscard]] double next_gamma() noexcept {
        const double next = (1 + std::sqrt(1 + 4 * lambda_ * lambda_)) / 2;
        const double gamma = (1 - lambda_) / next;
        lambda_ = next;
        return gamma;
    }

  private:
    double lambda_ = 1;
};

/// Options of logistic_regression; every field is optional.
struct LogisticOptions {
    /// Number of updates (default 7, Kim et al.'s iDASH setting).
    std::optional<std::size_t> iterations = std::nullopt;
    /// alpha_t for t = 1, 2, ... (default: kim2018_learning_rate, 10 / (t + 1)).
    std::function<double(std::size_t)> learning_rate = {};
    /// Nesterov (default) or plain gradient ascent.
    std::optional<Optimizer> optimizer = std::nullopt;
    /// The sigmoid inside the gradient (default: the exact sigmoid); pass
    /// kim2018_sigmoid3 or another polynomial to mirror encrypted training.
    std::function<double(double)> sigmoid = {};
    /// Samples per update (default: all, full-batch gradient). A smaller batch
    /// walks through a seeded shuffle, reshuffled every epoch.
    std::optional<std::size_t> batch_size = std::nullopt;
    /// Seed of the mini-batch order (default 0).
    std::optional<std::uint64_t> seed = std::nullopt;
    /// Starting weights, bias first (default: zeros). Kim et al.'s code can
    /// also start from the average of the z_i.
    std::optional<std::vector<double>> initial_weights = std::nullopt;
    /// Called after each update with t (from 1) and the weights w_t.
    std::function<void(std::size_t, std::span<const double>)> on_iteration = {};
    /// Called with t and the averaged gradient g(v_t) before step t, which it
    /// may change: to simulate differentially private training in the clear,
    /// add GaussianMechanism noise here (ml/privacy.hpp).
    std::function<void(std::size_t, std::span<double>)> on_gradient = {};
};

/// Fits logistic regression by maximising the average log-likelihood
/// (1/n) sum ln sigmoid(z_i . w) with the y*x trick of Kim et al. 2018: labels
/// mapped to y in {-1, +1}, z_i = y_i (1, x_i), so that the gradient is
/// g(w) = (1/n) sum sigmoid(-z_i . w) z_i and one ascent step is
/// w + alpha_t g(w). Returns the weights w_T, bias first.
/// @throws InvalidArgumentError for a regression dataset, no rows, a batch
///         size outside [1, rows], a non-finite learning rate or sigmoid value.
/// @throws ShapeError for initial weights of a size other than features + 1.
[[nodiscard]] inline std::vector<double> logistic_regression(const Dataset& data,
                                                             const LogisticOptions& options = {}) {
    constexpr const char* function = "ml::plain::logistic_regression";
    if (data.task() != Task::classification) {
        throw InvalidArgumentError(cloak::detail::message(
            function,
            ": the dataset is for regression; logistic regression needs 0/1 labels "
            "(load with .task = ml::Task::classification, or use linear_regression)"));
    }
    if (data.rows() == 0) {
        throw InvalidArgumentError(
            cloak::detail::message(function, ": the dataset has no rows; pass training samples"));
    }
    const std::size_t n = data.rows();
    const std::size_t d = data.features();
    const std::size_t batch = options.batch_size.value_or(n);
    if (batch == 0 || batch > n) {
        throw InvalidArgumentError(cloak::detail::message(
            function, ": batch size ", batch, " is outside [1, ", n,
            "]; pass at most the number of rows (or leave it unset for full batches)"));
    }
    const std::size_t iterations = options.iterations.value_or(default_logistic_iterations);
    const Optimizer optimizer = options.optimizer.value_or(default_optimizer);
    const auto& activation =
        options.sigmoid ? options.sigmoid : std::function<double(double)>(ml::sigmoid);
    const auto& alpha = options.learning_rate
                            ? options.learning_rate
                            : std::function<double(std::size_t)>(kim2018_learning_rate);

    std::vector<double> w(d + 1, 0.0);
    if (options.initial_weights) {
        detail::check_weights(function, *options.initial_weights, d);
        w = *options.initial_weights;
    }
    // z_i = y_i (1, x_i), y_i in {-1, +1}: computed once.
    std::vector<double> z(n * (d + 1));
    for (std::size_t i = 0; i < n; ++i) {
        const double y = data.labels()[i] == 1 ? 1.0 : -1.0;
        z[i * (d + 1)] = y;
        const auto row = data.row(i);
        for (std::size_t j = 0; j < d; ++j) {
            z[i * (d + 1) + j + 1] = y * row[j];
        }
    }
    std::vector<std::size_t> order = detail::iota(n);
    std::mt19937_64 rng(options.seed.value_or(0));
    if (batch < n) {
        detail::shuffle(order, rng);
    }
    std::size_t cursor = 0;
    std::vector<double> v = w;
    std::vector<double> gradient(d + 1);
    NesterovSchedule schedule;
    for (std::size_t t = 1; t <= iterations; ++t) {
        std::fill(gradient.begin(), gradient.end(), 0.0);
        for (std::size_t k = 0; k < batch; ++k) {
            if (cursor == n) {
                detail::shuffle(order, rng);
                cursor = 0;
            }
            const std::size_t i = batch == n ? k : order[cursor++];
            const std::span<const double> zi(z.data() + i * (d + 1), d + 1);
            double dot = 0;
            for (std::size_t j = 0; j <= d; ++j) {
                dot += zi[j] * v[j];
            }
            const double s = activation(-dot);
            if (!std::isfinite(s)) {
                throw InvalidArgumentError(cloak::detail::message(
                    function, ": the sigmoid returned ", s, " at ", -dot, " (iteration ", t,
                    "); pass a sigmoid that is finite on the reachable inputs"));
            }
            for (std::size_t j = 0; j <= d; ++j) {
                gradient[j] += s * zi[j];
            }
        }
        const double rate = alpha(t);
        if (!std::isfinite(rate)) {
            throw InvalidArgumentError(
                cloak::detail::message(function, ": the learning rate at iteration ", t, " is ",
                                       rate, "; pass a schedule with finite values"));
        }
        for (double& g : gradient) {
            g /= static_cast<double>(batch);
        }
        if (options.on_gradient) {
            options.on_gradient(t, gradient);
        }
        const double gamma = optimizer == Optimizer::nesterov ? schedule.next_gamma() : 0.0;
        for (std::size_t j = 0; j <= d; ++j) {
            const double next = v[j] + rate * gradient[j];
            v[j] = (1 - gamma) * next + gamma * w[j];
            w[j] = next;
        }
        if (options.on_iteration) {
            options.on_iteration(t, w);
        }
    }
    return w;
}

/// Options of linear_regression; every field is optional.
struct LinearOptions {
    /// Number of updates (default 100).
    std::optional<std::size_t> iterations = std::nullopt;
    /// Constant step size (default 1 / L, L the largest eigenvalue of the
    /// objective's Hessian, estimated by 100 power iterations).
    std::optional<double> learning_rate = std::nullopt;
    /// Ridge penalty lambda >= 0 on the weights, not the bias (default 0).
    std::optional<double> ridge = std::nullopt;
    /// Nesterov (default) or plain gradient descent.
    std::optional<Optimizer> optimizer = std::nullopt;
    /// Starting weights, bias first (default: zeros).
    std::optional<std::vector<double>> initial_weights = std::nullopt;
    /// Called after each update with t (from 1) and the weights w_t.
    std::function<void(std::size_t, std::span<const double>)> on_iteration = {};
};

/// Fits least squares with an optional ridge penalty by (accelerated) gradient
/// descent on J(w) = (1/(2n)) sum (b + w . x_i - y_i)^2 + (lambda/2) |w|^2, the
/// bias not penalised. Returns the weights, bias first; ridge_closed_form is
/// the exact minimiser of the same J.
/// @throws InvalidArgumentError for no rows, a negative or non-finite ridge or
///         learning rate, or a divergent run (non-finite weights).
/// @throws ShapeError for initial weights of a size other than features + 1.
[[nodiscard]] inline std::vector<double> linear_regression(const Dataset& data,
                                                           const LinearOptions& options = {}) {
    constexpr const char* function = "ml::plain::linear_regression";
    if (data.rows() == 0) {
        throw InvalidArgumentError(
            cloak::detail::message(function, ": the dataset has no rows; pass training samples"));
    }
    const std::size_t n = data.rows();
    const std::size_t d = data.features();
    const double ridge = options.ridge.value_or(0.0);
    detail::check_ridge(function, ridge);
    double rate = 0;
    if (options.learning_rate) {
        rate = *options.learning_rate;
    } else {
        const double top = detail::largest_eigenvalue(detail::ridge_hessian(data, ridge), d + 1);
        rate = top > 0 ? 1 / top : 1;
    }
    if (!(rate > 0) || !std::isfinite(rate)) {
        throw InvalidArgumentError(cloak::detail::message(
            function, ": learning rate ", rate,
            " must be positive and finite (at most 2 / L for convergence, L the largest "
            "eigenvalue of the Hessian; leave it unset to use 1 / L)"));
    }
    const Optimizer optimizer = options.optimizer.value_or(default_optimizer);
    const std::size_t iterations = options.iterations.value_or(default_linear_iterations);
    std::vector<double> w(d + 1, 0.0);
    if (options.initial_weights) {
        detail::check_weights(function, *options.initial_weights, d);
        w = *options.initial_weights;
    }
    std::vector<double> v = w;
    std::vector<double> gradient(d + 1);
    NesterovSchedule schedule;
    for (std::size_t t = 1; t <= iterations; ++t) {
        std::fill(gradient.begin(), gradient.end(), 0.0);
        for (std::size_t i = 0; i < n; ++i) {
            const auto x = data.row(i);
            const double residual = detail::dot_with_bias(v, x) - data.labels()[i];
            gradient[0] += residual;
            for (std::size_t j = 0; j < d; ++j) {
                gradient[j + 1] += residual * x[j];
            }
        }
        const double gamma = optimizer == Optimizer::nesterov ? schedule.next_gamma() : 0.0;
        for (std::size_t j = 0; j <= d; ++j) {
            const double g = gradient[j] / static_cast<double>(n) + (j == 0 ? 0 : ridge * v[j]);
            const double next = v[j] - rate * g;
            v[j] = (1 - gamma) * next + gamma * w[j];
            w[j] = next;
        }
        if (!std::all_of(w.begin(), w.end(), [](double x) { return std::isfinite(x); })) {
            throw InvalidArgumentError(cloak::detail::message(
                function, ": the weights diverged at iteration ", t, " with learning rate ", rate,
                "; lower the learning rate (or leave it unset for 1 / L)"));
        }
        if (options.on_iteration) {
            options.on_iteration(t, w);
        }
    }
    return w;
}

/// The exact minimiser of linear_regression's objective: the solution of
/// ((1/n) X~^T X~ + lambda diag(0, 1, ..., 1)) w = (1/n) X~^T y, by Gaussian
/// elimination with partial pivoting. Bias first.
/// @throws InvalidArgumentError for no rows, a negative or non-finite ridge,
///         or a singular system (collinear or constant features with
///         ridge = 0: pass ridge > 0).
[[nodiscard]] inline std::vector<double> ridge_closed_form(const Dataset& data, double ridge = 0) {
    constexpr const char* function = "ml::plain::ridge_closed_form";
    if (data.rows() == 0) {
        throw InvalidArgumentError(
            cloak::detail::message(function, ": the dataset has no rows; pass training samples"));
    }
    detail::check_ridge(function, ridge);
    const std::size_t m = data.features() + 1;
    std::vector<double> a = detail::ridge_hessian(data, ridge);
    std::vector<double> b(m, 0.0);
    for (std::size_t i = 0; i < data.rows(); ++i) {
        const auto x = data.row(i);
        b[0] += data.labels()[i];
        for (std::size_t j = 0; j < x.size(); ++j) {
            b[j + 1] += data.labels()[i] * x[j];
        }
    }
    for (double& v : b) {
        v /= static_cast<double>(data.rows());
    }
    double scale = 0;
    for (const double v : a) {
        scale = std::max(scale, std::abs(v));
    }
    for (std::size_t col = 0; col < m; ++col) {
        std::size_t pivot = col;
        for (std::size_t r = col + 1; r < m; ++r) {
            if (std::abs(a[r * m + col]) > std::abs(a[pivot * m + col])) {
                pivot = r;
            }
        }
        if (std::abs(a[pivot * m + col]) <= 1e-12 * scale) {
            throw InvalidArgumentError(cloak::detail::message(
                function, ": the normal equations are singular at weight ", col,
                " (collinear or constant features); pass ridge > 0 or drop the redundant "
                "features"));
        }
        if (pivot != col) {
            for (std::size_t k = 0; k < m; ++k) {
                std::swap(a[col * m + k], a[pivot * m + k]);
            }
            std::swap(b[col], b[pivot]);
        }
        for (std::size_t r = col + 1; r < m; ++r) {
            const double f = a[r * m + col] / a[col * m + col];
            for (std::size_t k = col; k < m; ++k) {
                a[r * m + k] -= f * a[col * m + k];
            }
            b[r] -= f * b[col];
        }
    }
    std::vector<double> w(m);
    for (std::size_t r = m; r-- > 0;) {
        double sum = b[r];
        for (std::size_t k = r + 1; k < m; ++k) {
            sum -= a[r * m + k] * w[k];
        }
        w[r] = sum / a[r * m + r];
    }
    return w;
}

}  // namespace plain
}  // namespace cloak::inline v0::ml
