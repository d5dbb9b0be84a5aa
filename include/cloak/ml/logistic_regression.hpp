// cloak: encrypted logistic regression, trained without decrypting anything.
//
// Kim, Song, Kim, Lee, Cheon 2018 ("Logistic regression model training based on
// the approximate homomorphic encryption", BMC Med Genomics 11(Suppl 4):83):
// Nesterov accelerated gradient on the log-likelihood with a least-squares
// polynomial sigmoid, the samples packed several per ciphertext.
//
// Packing (row-wise, Kim et al. section "Encoding"). z_i = y_i (1, x_i) with
// labels y_i in {-1, +1}: the gradient of the log-likelihood is then
// (1/n) sum_i sigma(-z_i . w) z_i, one polynomial for both classes. Each sample
// takes a block of f = next power of two >= d + 1 slots (the bias term first,
// zeros after the features); N/2 / f samples per ciphertext, as many
// ciphertexts as needed. The weights sit in the same layout, replicated in
// every block.
//
// One iteration, per data ciphertext Z_k and the Nesterov point v:
//   1. P = Z_k * v, rescaled                                     1 level
//   2. block sums by rotations 1, 2, .., f/2: slot b f holds z_i . v
//   3. s = g(z_i . v / B) at the block starts, zero elsewhere,
//      g(t) = c sigma(-B t) (B: the bound of the inner products, 8
//      by default; c folds the step size, 1/n and Nesterov's 1 - gamma),
//      with the mask riding on the polynomial's constants          depth(g)
//   4. replicate s over its block by rotations -1, -2, .., -f/2
//   5. s * Z_k, rescaled                                           1 level
// then the sum over the data ciphertexts and over the samples of a ciphertext
// (rotations f, 2f, .., N/4, which leave the sum in every block), and the
// Nesterov update w' = v + a, v' = (1 - gamma) v + gamma w + (1 - gamma) a from
// the higher-level v and w at no extra depth. Levels per iteration: 2 + depth(g)
// (4 for a degree-3 sigmoid).
#pragma once

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <cloak/approx/chebyshev.hpp>
#include <cloak/ckks/ciphertext.hpp>
#include <cloak/ckks/context.hpp>
#include <cloak/ckks/encoder.hpp>
#include <cloak/ckks/encryptor.hpp>
#include <cloak/ckks/evaluator.hpp>
#include <cloak/ckks/polynomial.hpp>
#include <cloak/core/error.hpp>
#include <cloak/core/random.hpp>
#include <cloak/ml/dataset.hpp>
#include <cloak/ml/metrics.hpp>
#include <cloak/ml/privacy.hpp>
#include <cloak/rlwe/security.hpp>

namespace cloak::inline v0::ml {

namespace detail {

/// x times per-slot constants c (one per slot, or one for all), landing at
/// exactly (level, scale) from a ciphertext above `level`: drop to level + 1,
/// multiply by c encoded at scale * q / x.scale(), rescale. One level, taken
/// from an operand that has levels to spare.
inline ckks::Ciphertext bring(const ckks::Evaluator& eval, const ckks::Encoder& encoder,
                              const ckks::Ciphertext& x, std::span<const double> c,
                              std::size_t level, double scale) {
    if (x.level() <= level) {
        throw LevelError(cloak::detail::message("ml: an operand at level ", x.level(),
                                                " cannot be brought to level ", level,
                                                " (internal level plan broken)"));
    }
    const ckks::Ciphertext dropped = eval.drop_level_to(x, level + 1);
    const double prime = static_cast<double>(eval.context().level(level + 1).q->values().back());
    const ckks::EncodeOptions where{
        .level = level + 1, .scale = scale * prime / x.scale(), .slots = x.slots()};
    ckks::Ciphertext out = eval.multiply(
        dropped, c.size() == 1 ? encoder.encode(c[0], where) : encoder.encode(c, where));
    eval.rescale_inplace(out);
    out.set_scale(scale);
    return out;
}

inline ckks::Ciphertext bring(const ckks::Evaluator& eval, const ckks::Encoder& encoder,
                              const ckks::Ciphertext& x, double c, std::size_t level,
                              double scale) {
    const double one[1] = {c};
    return bring(eval, encoder, x, std::span<const double>(one), level, scale);
}

inline std::optional<ckks::ParametersLiteral> training_literal(std::size_t levels) {
    for (int log_n = 13; log_n <= 16; ++log_n) {
        const int room = rlwe::max_log_qp_128(log_n) - 60 - 40 * static_cast<int>(levels);
        const auto primes = static_cast<int>(levels + 1);
        // For each digit count, the fewest special primes of at most 50 bits
        // (the AVX-512 IFMA kernels' limit) whose product covers the largest digit.
        for (int dnum = 1; dnum <= primes; ++dnum) {
            const int per_digit = (primes + dnum - 1) / dnum;
            const int digit_bits = 60 + 40 * (per_digit - 1);
            const int special = (digit_bits + 50) / 50;
            const int bits = (digit_bits + special) / special + 1;  // product > digit
            if (special * bits > room)
                continue;
            std::vector<int> log_q(levels + 1, 40);
            log_q[0] = 60;
            return ckks::ParametersLiteral{.log_n = log_n,
                                           .log_q = log_q,
                                           .log_p = std::vector<int>(special, bits),
                                           .log_scale = 40,
                                           .dnum = static_cast<std::size_t>(dnum)};
        }
    }
    return std::nullopt;
}

}  // namespace detail

/// The smallest 128-bit-secure CKKS parameters with `levels` levels for
/// training: N from 2^13 to 2^16, q0 of 60 bits, 40-bit level primes and scale
/// 2^40, special primes below 2^50 (the IFMA kernels' limit) in the fewest
/// key-switching digits the bound log2(QP) allows.
/// @throws ParameterError when N = 2^16 cannot hold them.
[[nodiscard]] inline ckks::Parameters training_parameters(
    std::size_t levels, rlwe::Security security = rlwe::Security::classical128) {
    auto literal = detail::training_literal(levels);
    if (!literal) {
        std::size_t most = levels;
        while (most > 0 && !detail::training_literal(most))
            --most;
        throw ParameterError(
            cloak::detail::message("ml::training_parameters: ", levels,
                                   " levels are beyond what N = 2^16 holds at the "
                                   "128-bit bound (at most ",
                                   most,
                                   "); train fewer iterations (bootstrapping lifts the "
                                   "limit once it lands)"));
    }
    literal->security = security;
    return ckks::Parameters::from(*literal);
}

/// Where the samples sit in the slots (see the file comment).
struct Packing {
    /// Slots per sample: the next power of two >= features + 1 (bias first).
    std::size_t block = 0;
    /// Samples per ciphertext: slots / block.
    std::size_t samples_per_ciphertext = 0;
    /// Ciphertexts for the whole dataset.
    std::size_t ciphertexts = 0;
    /// Features d (without the bias).
    std::size_t features = 0;
    /// Samples n.
    std::size_t rows = 0;
    /// Slots per ciphertext (N/2).
    std::size_t slots = 0;

    /// The packing of `rows` x `features` into ciphertexts of `slots` slots.
    /// @throws ShapeError when one sample does not fit in the slots.
    [[nodiscard]] static Packing of(std::size_t rows, std::size_t features, std::size_t slots) {
        Packing p;
        p.block = std::bit_ceil(features + 1);
        if (p.block > slots) {
            throw ShapeError(cloak::detail::message(
                "ml::Packing: ", features, " features need blocks of ", p.block,
                " slots, above the ", slots,
                " slots of a ciphertext; use a larger ring degree or fewer features"));
        }
        p.samples_per_ciphertext = slots / p.block;
        p.ciphertexts = (rows + p.samples_per_ciphertext - 1) / p.samples_per_ciphertext;
        p.features = features;
        p.rows = rows;
        p.slots = slots;
        return p;
    }

    /// Rotation steps training needs: 1 .. f/2, -1 .. -f/2 and f .. slots/2.
    [[nodiscard]] std::vector<std::int64_t> rotations() const {
        std::vector<std::int64_t> steps;
        for (std::size_t k = 1; k < block; k <<= 1) {
            steps.push_back(static_cast<std::int64_t>(k));
            steps.push_back(-static_cast<std::int64_t>(k));
        }
        for (std::size_t k = block; k < slots; k <<= 1)
            steps.push_back(static_cast<std::int64_t>(k));
        return steps;
    }
};

/// A dataset encrypted in the packing above. Classification: z_i = y_i (1, x_i)
/// with y_i in {-1, +1} (the y*x trick). Regression: (1, x_i) in the blocks
/// and the targets y_i at the block starts of `targets`, one per block ciphertext.
struct EncryptedDataset {
    std::vector<ckks::Ciphertext> blocks;
    std::vector<ckks::Ciphertext> targets;
    Packing packing;
    Task task = Task::classification;
};

/// Encrypts a dataset whose features lie in [-1, 1] (normalize it first:
/// ml::Normalizer). The key owner runs this; the result goes to the party that
/// trains.
/// @throws InvalidArgumentError for features outside [-1, 1] or an empty
///         dataset; ShapeError when a sample does not fit.
[[nodiscard]] inline EncryptedDataset encrypt(const ckks::Context& context,
                                              const ckks::Encryptor& encryptor,
                                              const ckks::Encoder& encoder, const Dataset& data) {
    constexpr const char* where = "ml::encrypt";
    if (data.rows() == 0) {
        throw InvalidArgumentError(cloak::detail::message(where, ": the dataset is empty"));
    }
    for (std::size_t i = 0; i < data.values().size(); ++i) {
        const double v = data.values()[i];
        if (!(std::fabs(v) <= 1.0)) {
            throw InvalidArgumentError(cloak::detail::message(
                where, ": feature ", i % data.features(), " of sample ", i / data.features(),
                " is ", v, ", outside [-1, 1]; normalize the dataset first (ml::Normalizer)"));
        }
    }
    EncryptedDataset out;
    out.packing = Packing::of(data.rows(), data.features(), context.slots());
    out.task = data.task();
    const bool classification = data.task() == Task::classification;
    const Packing& p = out.packing;
    for (std::size_t c = 0; c < p.ciphertexts; ++c) {
        std::vector<double> slots(p.slots, 0.0);
        std::vector<double> targets(p.slots, 0.0);
        for (std::size_t s = 0; s < p.samples_per_ciphertext; ++s) {
            const std::size_t i = c * p.samples_per_ciphertext + s;
            if (i >= data.rows())
                break;
            const double y = classification ? (data.labels()[i] > 0.5 ? 1.0 : -1.0) : 1.0;
            double* block = slots.data() + s * p.block;
            block[0] = y;
            for (std::size_t j = 0; j < p.features; ++j)
                block[j + 1] = y * data.x(i, j);
            targets[s * p.block] = data.labels()[i];
        }
        out.blocks.push_back(encryptor.encrypt(encoder.encode(slots)));
        if (!classification)
            out.targets.push_back(encryptor.encrypt(encoder.encode(targets)));
    }
    return out;
}

/// A trained model in the clear: weights with the bias first.
struct Model {
    std::vector<double> weights;
    /// The training features' statistics, when the model travels with them:
    /// evaluate() and predict_raw() then take raw (unnormalized) features.
    std::optional<Normalizer> normalizer = std::nullopt;

    /// Metrics on a dataset of raw features (normalized here when the model
    /// carries its normalizer): accuracy and AUC for classification, MSE and
    /// R^2 for regression.
    [[nodiscard]] Metrics evaluate(const Dataset& data) const {
        const Dataset normalized = normalizer ? normalizer->transform(data) : data;
        return normalized.task() == Task::classification ? evaluate_logistic(weights, normalized)
                                                         : evaluate_linear(weights, normalized);
    }

    /// score() of one sample of raw features.
    [[nodiscard]] double predict_raw(std::span<const double> raw) const {
        if (!normalizer)
            return score(raw);
        std::vector<double> row(raw.begin(), raw.end());
        normalizer->transform_row_inplace(row);
        return score(row);
    }

    /// w_0 + sum_j w_{j+1} x_j (the prediction of a linear model, the logit of
    /// a logistic one), for normalized features.
    [[nodiscard]] double score(std::span<const double> x) const {
        double z = weights.at(0);
        for (std::size_t j = 0; j < x.size() && j + 1 < weights.size(); ++j) {
            z += weights[j + 1] * x[j];
        }
        return z;
    }

    /// score() of every sample.
    [[nodiscard]] std::vector<double> scores(const Dataset& data) const {
        std::vector<double> out(data.rows());
        for (std::size_t i = 0; i < data.rows(); ++i)
            out[i] = score(data.row(i));
        return out;
    }

    /// sigma(w_0 + sum_j w_{j+1} x_j) for one sample (normalized features).
    [[nodiscard]] double probability(std::span<const double> x) const {
        double z = weights.at(0);
        for (std::size_t j = 0; j < x.size() && j + 1 < weights.size(); ++j) {
            z += weights[j + 1] * x[j];
        }
        return 1.0 / (1.0 + std::exp(-z));
    }

    /// probability() of every sample.
    [[nodiscard]] std::vector<double> probabilities(const Dataset& data) const {
        std::vector<double> out(data.rows());
        for (std::size_t i = 0; i < data.rows(); ++i)
            out[i] = probability(data.row(i));
        return out;
    }
};

/// Differential privacy for encrypted training (the direction of Zhou et al.
/// 2026, "Revisiting ML training under FHE"): Gaussian noise on the aggregated
/// gradient of every iteration, no per-sample clipping (features are bounded
/// by normalization to [-1, 1]); sigma from the RDP accountant for the budget.
/// The server adds the noise to the encrypted gradient as a plaintext: it
/// protects the samples from whoever decrypts or receives the model.
struct DifferentialPrivacy {
    /// The budget epsilon for the whole training (all iterations).
    double epsilon = 1.0;
    /// delta (default 1e-5).
    double delta = 1e-5;
    /// Replay a run's noise (default: fresh entropy).
    std::optional<core::Seed> seed = std::nullopt;
};

/// What differential privacy cost and gave, reported with the model.
struct PrivacyReport {
    double epsilon = 0;
    double delta = 0;
    /// Noise standard deviation on the averaged gradient, per coordinate.
    double sigma = 0;
    /// L2 sensitivity of the averaged gradient (replace-one neighbours).
    double sensitivity = 0;
};

/// The weights after training, still encrypted (replicated in every block).
struct EncryptedModel {
    ckks::Ciphertext weights;
    Packing packing;
    /// Set when trained with differential privacy.
    std::optional<PrivacyReport> privacy = std::nullopt;

    /// The key owner's step: decrypts block 0. Pass the normalizer the data
    /// was prepared with, so that the model predicts on raw features.
    [[nodiscard]] Model decrypt(const ckks::Decryptor& decryptor, const ckks::Encoder& encoder,
                                std::optional<Normalizer> normalizer = std::nullopt) const {
        const std::vector<double> slots = encoder.decode_real(decryptor.decrypt(weights));
        return Model{std::vector<double>(slots.begin(), slots.begin() + static_cast<std::ptrdiff_t>(
                                                                            packing.features + 1)),
                     std::move(normalizer)};
    }
};

/// The least-squares sigmoid of Kim et al. 2018 on [-8, 8] (power basis), degree
/// 3, 5 or 7: their published coefficients.
/// @throws InvalidArgumentError for another degree.
[[nodiscard]] inline ckks::Polynomial kim_sigmoid(std::size_t degree = 3) {
    switch (degree) {
        case 3:
            return ckks::Polynomial::power({0.5, 0.15012, 0.0, -0.001593});
        case 5:
            return ckks::Polynomial::power({0.5, 0.19131, 0.0, -0.0045963, 0.0, 0.0000412332});
        case 7:
            return ckks::Polynomial::power(
                {0.5, 0.21687, 0.0, -0.008191, 0.0, 0.00016581, 0.0, -0.0000011956});
        default:
            throw InvalidArgumentError(cloak::detail::message(
                "ml::kim_sigmoid: degree ", degree, "; Kim et al. 2018 give degrees 3, 5 and 7"));
    }
}

/// Progress of one iteration, for a progress line or bar.
struct IterationReport {
    std::size_t iteration = 0;   ///< 1-based
    std::size_t iterations = 0;  ///< total
    double elapsed_seconds = 0;  ///< since fit() began
    std::size_t level = 0;       ///< levels left on the weights
};

inline constexpr std::size_t default_iterations = 7;
inline constexpr double default_inner_product_bound = 8.0;

/// Options of LogisticRegression (every field optional).
struct LogisticRegressionOptions {
    /// Gradient iterations (default 7).
    std::optional<std::size_t> iterations = std::nullopt;
    /// Nesterov's accelerated gradient (default) or plain gradient ascent.
    std::optional<bool> nesterov = std::nullopt;
    /// The sigmoid polynomial on [-B, B] (default kim_sigmoid(3)).
    std::optional<ckks::Polynomial> sigmoid = std::nullopt;
    /// B: the inner products z . w are assumed in [-B, B] (default 8).
    std::optional<double> inner_product_bound = std::nullopt;
    /// Step size alpha_t of iteration t = 1, 2, ...; default 10 / (t + 1), Kim et
    /// al. 2018 (the same schedule as ml::plain::logistic_regression).
    std::function<double(std::size_t)> learning_rate = nullptr;
    /// Called after each iteration.
    std::function<void(const IterationReport&)> progress = nullptr;
    /// Differential privacy (default: none).
    std::optional<DifferentialPrivacy> privacy = std::nullopt;
    /// Mini-batch: each iteration uses this many of the data's ciphertexts
    /// (samples_per_ciphertext samples each), in turn, wrapping around
    /// (default: all of them, full-batch gradient).
    std::optional<std::size_t> batch_ciphertexts = std::nullopt;
};

/// Nesterov coefficients: lambda_0 = 1, lambda_{t+1} = (1 + sqrt(1 + 4 lambda_t^2)) / 2,
/// gamma_t = (1 - lambda_t) / lambda_{t+1} (0 for plain gradient ascent).
[[nodiscard]] inline std::vector<double> nesterov_gammas(std::size_t iterations, bool nesterov) {
    std::vector<double> gammas(iterations, 0.0);
    double lambda = 1.0;
    for (std::size_t t = 0; t < iterations; ++t) {
        const double next = (1.0 + std::sqrt(1.0 + 4.0 * lambda * lambda)) / 2.0;
        gammas[t] = nesterov ? (1.0 - lambda) / next : 0.0;
        lambda = next;
    }
    return gammas;
}

class LogisticRegression {
  public:
    explicit LogisticRegression(LogisticRegressionOptions options = {})
        : iterations_(options.iterations.value_or(default_iterations)),
          nesterov_(options.nesterov.value_or(true)),
          sigmoid_(options.sigmoid.value_or(kim_sigmoid(3))),
          bound_(options.inner_product_bound.value_or(default_inner_product_bound)),
          learning_rate_(options.learning_rate
                             ? options.learning_rate
                             : [](std::size_t t) { return 10.0 / static_cast<double>(t + 1); }),
          progress_(options.progress),
          privacy_(options.privacy),
          batch_ciphertexts_(options.batch_ciphertexts.value_or(0)) {
        if (iterations_ == 0) {
            throw InvalidArgumentError("ml::LogisticRegression: 0 iterations; ask for at least 1");
        }
        if (!(bound_ > 0) || !std::isfinite(bound_)) {
            throw InvalidArgumentError(cloak::detail::message(
                "ml::LogisticRegression: inner-product bound ", bound_, " must be positive"));
        }
    }

    [[nodiscard]] std::size_t iterations() const noexcept { return iterations_; }

    /// g(t) = sigma(-B t) on [-1, 1] as a Chebyshev series (exact: the sigmoid
    /// polynomial re-expressed in the variable t = z . w / B).
    [[nodiscard]] ckks::Polynomial gradient_polynomial() const {
        return approx::chebyshev_interpolant([this](double t) { return sigmoid_(-bound_ * t); },
                                             {-1.0, 1.0}, sigmoid_.degree());
    }

    /// The noise plan for `rows` x `features` data, or nullopt without privacy:
    /// sensitivity 2 S sqrt(d + 1) / n with S = max |sigmoid| on [-B, B], and
    /// sigma from the accountant for the iterations.
    [[nodiscard]] std::optional<PrivacyReport> privacy_plan(std::size_t rows,
                                                            std::size_t features) const {
        if (!privacy_)
            return std::nullopt;
        double bound = 0;
        for (int k = 0; k <= 4096; ++k) {
            bound = std::max(bound, std::fabs(sigmoid_(bound_ * (k / 2048.0 - 1.0))));
        }
        PrivacyReport report;
        report.epsilon = privacy_->epsilon;
        report.delta = privacy_->delta;
        report.sensitivity = logistic_gradient_sensitivity(rows, features, bound);
        report.sigma =
            sigma_for_epsilon(privacy_->epsilon, privacy_->delta, iterations_, report.sensitivity);
        return report;
    }

    /// The data ciphertexts iteration t (0-based) reads, for `count` of them.
    [[nodiscard]] std::vector<std::size_t> batch(std::size_t t, std::size_t count) const {
        const std::size_t k = batch_ciphertexts_ == 0 ? count : std::min(batch_ciphertexts_, count);
        std::vector<std::size_t> indices(k);
        for (std::size_t i = 0; i < k; ++i)
            indices[i] = (t * k + i) % count;
        return indices;
    }

    /// Samples in the ciphertexts `indices` of a packing.
    [[nodiscard]] static std::size_t batch_rows(const Packing& p,
                                                std::span<const std::size_t> indices) {
        std::size_t rows = 0;
        for (std::size_t c : indices) {
            const std::size_t first = c * p.samples_per_ciphertext;
            rows += std::min(p.samples_per_ciphertext, p.rows - first);
        }
        return rows;
    }

    /// Levels one iteration uses: 2 + depth of the sigmoid polynomial.
    [[nodiscard]] std::size_t levels_per_iteration() const {
        return 2 + ckks::Evaluator::depth(gradient_polynomial());
    }

    /// The most iterations a context's levels allow.
    [[nodiscard]] std::size_t max_iterations(const ckks::Context& context) const {
        return context.max_level() / levels_per_iteration();
    }

    /// The smallest 128-bit-secure CKKS parameters with the levels this
    /// training needs: N from 2^13 to 2^16, q0 of 60 bits, 40-bit level primes
    /// and scale 2^40, and the special primes chosen for the fewest key-switching
    /// digits that the bound log2(QP) allows (fewer digits: smaller, faster keys).
    /// @throws ParameterError when even N = 2^16 cannot hold the levels (the
    ///         message names the most iterations it can).
    [[nodiscard]] ckks::Parameters parameters(
        rlwe::Security security = rlwe::Security::classical128) const {
        const std::size_t levels = levels_per_iteration() * iterations_;
        if (!detail::training_literal(levels)) {
            std::size_t most = iterations_;
            while (most > 0 && !detail::training_literal(levels_per_iteration() * most))
                --most;
            throw ParameterError(cloak::detail::message(
                "ml::LogisticRegression::parameters: ", iterations_, " iterations need ", levels,
                " levels, beyond what N = 2^16 holds at the 128-bit bound; ask for at most ", most,
                " iterations (bootstrapping lifts the limit once it lands)"));
        }
        return training_parameters(levels, security);
    }

    /// Trains on the encrypted data; the weights never leave encryption.
    /// @throws LevelError when the context has too few levels for the
    ///         iterations (naming the most it allows); KeyMissingError when the
    ///         evaluator lacks a relinearization key or a rotation of
    ///         data.packing.rotations().
    [[nodiscard]] EncryptedModel fit(const ckks::Evaluator& eval,
                                     const EncryptedDataset& data) const {
        const ckks::Context& context = eval.context();
        const Packing& p = data.packing;
        if (data.blocks.empty()) {
            throw InvalidArgumentError("ml::LogisticRegression::fit: no encrypted samples");
        }
        if (data.task != Task::classification) {
            throw InvalidArgumentError(
                "ml::LogisticRegression::fit: the data was encrypted for regression; logistic "
                "regression needs 0/1 labels (use ml::LinearRegression)");
        }
        const std::size_t per_iteration = levels_per_iteration();
        const std::size_t top = data.blocks.front().level();
        if (top < per_iteration * iterations_) {
            throw LevelError(cloak::detail::message(
                "ml::LogisticRegression::fit: ", iterations_, " iterations need ",
                per_iteration * iterations_, " levels (", per_iteration, " each), the data has ",
                top, "; ask for at most ", top / per_iteration,
                " iterations, or use parameters with more levels"));
        }
        const auto start = std::chrono::steady_clock::now();
        const ckks::Encoder encoder(context);
        const double scale = context.scale();

        // The mask of block starts, for the polynomial's slot weights.
        std::vector<double> block_starts(p.slots, 0.0);
        for (std::size_t b = 0; b < p.samples_per_ciphertext; ++b)
            block_starts[b * p.block] = 1.0;

        const ckks::Polynomial g = gradient_polynomial();
        const std::vector<double> gammas = nesterov_gammas(iterations_, nesterov_);
        // The smallest batch sets the sensitivity (a per-step average over it).
        std::size_t smallest_batch = p.rows;
        for (std::size_t t = 0; t < iterations_; ++t) {
            smallest_batch = std::min(smallest_batch, batch_rows(p, batch(t, p.ciphertexts)));
        }
        const std::optional<PrivacyReport> privacy = privacy_plan(smallest_batch, p.features);
        core::Prng noise_stream =
            privacy && privacy_->seed ? core::Prng(*privacy_->seed) : core::Prng::from_entropy();
        // w_0 = v_0 = 0, as fresh encryptions of zero would be: the trivial
        // ciphertext (0, 0) at the data's level is exact and needs no key.
        ckks::Ciphertext w = eval.multiply_integer(data.blocks.front(), 0);
        ckks::Ciphertext v = w;

        for (std::size_t t = 0; t < iterations_; ++t) {
            const double gamma = gammas[t];
            const std::vector<std::size_t> indices = batch(t, p.ciphertexts);
            const std::size_t rows = batch_rows(p, indices);
            const double step =
                learning_rate_(t + 1) / static_cast<double>(rows) * (nesterov_ ? 1.0 - gamma : 1.0);
            // g scaled by the step: coefficients times `step`.
            std::vector<double> scaled(g.coefficients().begin(), g.coefficients().end());
            for (double& c : scaled)
                c *= step;
            const ckks::Polynomial g_step = ckks::Polynomial::chebyshev(scaled, {-1.0, 1.0});

            ckks::Ciphertext gradient;
            for (const std::size_t index : indices) {
                const ckks::Ciphertext& z_full = data.blocks[index];
                const ckks::Ciphertext z = eval.drop_level_to(z_full, v.level());
                ckks::Ciphertext inner = eval.multiply(z, v);
                eval.rescale_inplace(inner);
                for (std::size_t k = 1; k < p.block; k <<= 1) {
                    inner = eval.add(inner, eval.rotate(inner, static_cast<std::int64_t>(k)));
                }
                inner.set_scale(inner.scale() * bound_);  // now z . v / B: free
                ckks::Ciphertext s = eval.evaluate(
                    g_step, inner, {.target_scale = scale, .slot_weights = block_starts});
                for (std::size_t k = 1; k < p.block; k <<= 1) {
                    s = eval.add(s, eval.rotate(s, -static_cast<std::int64_t>(k)));
                }
                ckks::Ciphertext term = eval.multiply(s, eval.drop_level_to(z_full, s.level()));
                eval.rescale_inplace(term);
                gradient = gradient.empty() ? std::move(term) : eval.add(gradient, term);
            }
            for (std::size_t k = p.block; k < p.slots; k <<= 1) {
                gradient = eval.add(gradient, eval.rotate(gradient, static_cast<std::int64_t>(k)));
            }
            if (privacy) {
                // N(0, sigma^2) per coordinate on the averaged gradient, times the
                // step folded into the ciphertext; the same in every block.
                const std::vector<double> noise =
                    gaussian_noise(p.features + 1, privacy->sigma, noise_stream);
                std::vector<double> slots(p.slots, 0.0);
                for (std::size_t b = 0; b < p.samples_per_ciphertext; ++b) {
                    for (std::size_t j = 0; j <= p.features; ++j) {
                        slots[b * p.block + j] = step * static_cast<double>(rows) * noise[j];
                    }
                }
                gradient = eval.add(gradient, encoder.encode(slots, {.level = gradient.level(),
                                                                     .scale = gradient.scale(),
                                                                     .slots = p.slots}));
            }
            // gradient = (1 - gamma) a; read as a at scale (1 - gamma) S, free.
            const std::size_t level = gradient.level();
            const double gradient_scale = gradient.scale();
            ckks::Ciphertext a = gradient;
            if (nesterov_)
                a.set_scale(gradient_scale * (1.0 - gamma));
            ckks::Ciphertext next_w =
                eval.add(detail::bring(eval, encoder, v, 1.0, level, a.scale()), a);
            if (nesterov_) {
                // v' = (1 - gamma) v + gamma w + (1 - gamma) a, at the gradient's scale.
                ckks::Ciphertext next_v = gradient;
                next_v = eval.add(
                    next_v, detail::bring(eval, encoder, v, 1.0 - gamma, level, gradient_scale));
                if (gamma != 0.0) {
                    next_v = eval.add(
                        next_v, detail::bring(eval, encoder, w, gamma, level, gradient_scale));
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
        return EncryptedModel{std::move(w), p, privacy};
    }

    /// The same algorithm and polynomial in the clear (double), for the
    /// side-by-side report: what the encrypted fit approximates.
    /// With privacy and a seed, the noise is the encrypted run's, draw for draw.
    [[nodiscard]] Model fit_plain(const Dataset& data,
                                  std::size_t samples_per_ciphertext = 0) const {
        if (batch_ciphertexts_ != 0 && samples_per_ciphertext == 0) {
            throw InvalidArgumentError(
                "ml::LogisticRegression::fit_plain: mini-batches are whole ciphertexts; pass the "
                "packing's samples_per_ciphertext to replay the encrypted run's batches");
        }
        Packing p;
        p.rows = data.rows();
        p.samples_per_ciphertext =
            samples_per_ciphertext == 0 ? data.rows() : samples_per_ciphertext;
        p.ciphertexts = (p.rows + p.samples_per_ciphertext - 1) / p.samples_per_ciphertext;
        const std::size_t d = data.features() + 1;
        const std::vector<double> gammas = nesterov_gammas(iterations_, nesterov_);
        std::size_t smallest_batch = p.rows;
        for (std::size_t t = 0; t < iterations_; ++t) {
            smallest_batch = std::min(smallest_batch, batch_rows(p, batch(t, p.ciphertexts)));
        }
        const std::optional<PrivacyReport> privacy = privacy_plan(smallest_batch, data.features());
        core::Prng noise_stream =
            privacy && privacy_->seed ? core::Prng(*privacy_->seed) : core::Prng::from_entropy();
        std::vector<double> w(d, 0.0), v(d, 0.0), z(d);
        for (std::size_t t = 0; t < iterations_; ++t) {
            const std::vector<std::size_t> indices = batch(t, p.ciphertexts);
            const auto n = static_cast<double>(batch_rows(p, indices));
            std::vector<double> gradient(d, 0.0);
            for (const std::size_t c : indices) {
                const std::size_t first = c * p.samples_per_ciphertext;
                const std::size_t last = std::min(first + p.samples_per_ciphertext, p.rows);
                for (std::size_t i = first; i < last; ++i) {
                    const double y = data.labels()[i] > 0.5 ? 1.0 : -1.0;
                    z[0] = y;
                    for (std::size_t j = 1; j < d; ++j)
                        z[j] = y * data.x(i, j - 1);
                    double inner = 0;
                    for (std::size_t j = 0; j < d; ++j)
                        inner += z[j] * v[j];
                    const double s = sigmoid_(-inner);
                    for (std::size_t j = 0; j < d; ++j)
                        gradient[j] += s * z[j];
                }
            }
            if (privacy) {
                const std::vector<double> noise = gaussian_noise(d, privacy->sigma, noise_stream);
                for (std::size_t j = 0; j < d; ++j)
                    gradient[j] += n * noise[j];
            }
            std::vector<double> next_w(d);
            for (std::size_t j = 0; j < d; ++j) {
                next_w[j] = v[j] + learning_rate_(t + 1) / n * gradient[j];
            }
            for (std::size_t j = 0; j < d; ++j) {
                v[j] = nesterov_ ? (1.0 - gammas[t]) * next_w[j] + gammas[t] * w[j] : next_w[j];
            }
            w = next_w;
        }
        return Model{w};
    }

  private:
    std::size_t iterations_;
    bool nesterov_;
    ckks::Polynomial sigmoid_;
    double bound_;
    std::function<double(std::size_t)> learning_rate_;
    std::function<void(const IterationReport&)> progress_;
    std::optional<DifferentialPrivacy> privacy_;
    std::size_t batch_ciphertexts_;  // 0: all
};

}  // namespace cloak::inline v0::ml
