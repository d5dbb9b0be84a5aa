// cloak: encrypted inference for linear and logistic models.
//
// The client encrypts its samples (features normalized with the model's
// statistics) in the training packing: (1, x_i) in blocks of f slots. The
// server multiplies by the weights (plaintext, or still encrypted from
// training), sums each block by rotations 1 .. f/2, and optionally applies a
// polynomial sigmoid; the scores (or probabilities) sit at the block starts.
// Only the key owner decrypts them. Levels: 1 for the scores, plus the
// sigmoid's depth.
#pragma once

#include <cmath>
#include <cstddef>
#include <optional>
#include <span>
#include <vector>

#include <cloak/approx/chebyshev.hpp>
#include <cloak/ckks/ciphertext.hpp>
#include <cloak/ckks/context.hpp>
#include <cloak/ckks/encoder.hpp>
#include <cloak/ckks/encryptor.hpp>
#include <cloak/ckks/evaluator.hpp>
#include <cloak/ckks/polynomial.hpp>
#include <cloak/core/error.hpp>
#include <cloak/ml/dataset.hpp>
#include <cloak/ml/logistic_regression.hpp>

namespace cloak::inline v0::ml {

/// Samples encrypted for inference (no labels).
struct EncryptedInputs {
    std::vector<ckks::Ciphertext> blocks;
    Packing packing;
};

/// Encrypted scores or probabilities, one per sample at its block start.
struct EncryptedPredictions {
    std::vector<ckks::Ciphertext> values;
    Packing packing;
    bool probabilities = false;
};

/// Options of predict.
struct PredictOptions {
    /// A sigmoid polynomial on [-B, B] (for example kim_sigmoid(3)) to return
    /// probabilities; without it, the scores w . (1, x).
    std::optional<ckks::Polynomial> sigmoid = std::nullopt;
    /// B: the scores are assumed in [-B, B] (default 8).
    std::optional<double> score_bound = std::nullopt;
};

/// The client's step: encrypts the samples' features (in [-1, 1]: normalize
/// them with the model's statistics first).
/// @throws InvalidArgumentError for an empty dataset or features outside [-1, 1].
[[nodiscard]] inline EncryptedInputs encrypt_inputs(const ckks::Context& context,
                                                    const ckks::Encryptor& encryptor,
                                                    const ckks::Encoder& encoder,
                                                    const Dataset& data) {
    // The regression layout is exactly (1, x_i); its targets are not needed.
    const Dataset unlabeled(data.rows(), data.features(),
                            std::vector<double>(data.values().begin(), data.values().end()),
                            std::vector<double>(data.rows(), 0.0), Task::regression);
    EncryptedDataset encrypted = encrypt(context, encryptor, encoder, unlabeled);
    return {std::move(encrypted.blocks), encrypted.packing};
}

/// Rotation steps predict needs: 1, 2, .., f/2.
[[nodiscard]] inline std::vector<std::int64_t> inference_rotations(const Packing& packing) {
    std::vector<std::int64_t> steps;
    for (std::size_t k = 1; k < packing.block; k <<= 1)
        steps.push_back(static_cast<std::int64_t>(k));
    return steps;
}

namespace detail {

inline EncryptedPredictions finish_predictions(const ckks::Evaluator& eval,
                                               std::vector<ckks::Ciphertext> products,
                                               const Packing& packing,
                                               const PredictOptions& options) {
    const double bound = options.score_bound.value_or(default_inner_product_bound);
    std::vector<double> block_starts(packing.slots, 0.0);
    for (std::size_t b = 0; b < packing.samples_per_ciphertext; ++b) {
        block_starts[b * packing.block] = 1.0;
    }
    std::optional<ckks::Polynomial> g;
    if (options.sigmoid) {
        // sigma(B t) on [-1, 1] for t = score / B: exact re-expression.
        const ckks::Polynomial& sigmoid = *options.sigmoid;
        g = approx::chebyshev_interpolant([&](double t) { return sigmoid(bound * t); }, {-1.0, 1.0},
                                          sigmoid.degree());
    }
    EncryptedPredictions out{{}, packing, g.has_value()};
    for (ckks::Ciphertext& p : products) {
        eval.rescale_inplace(p);
        for (std::size_t k = 1; k < packing.block; k <<= 1) {
            p = eval.add(p, eval.rotate(p, static_cast<std::int64_t>(k)));
        }
        if (g) {
            const double scale = p.scale();
            p.set_scale(scale * bound);  // the score / B, free
            p = eval.evaluate(*g, p, {.target_scale = scale, .slot_weights = block_starts});
        }
        out.values.push_back(std::move(p));
    }
    return out;
}

}  // namespace detail

/// The server's step with plaintext weights (bias first): one level for the
/// scores, plus the sigmoid's depth.
/// @throws ShapeError for weights of the wrong size; LevelError at level 0;
///         KeyMissingError without the rotations of inference_rotations().
[[nodiscard]] inline EncryptedPredictions predict(const ckks::Evaluator& eval, const Model& model,
                                                  const EncryptedInputs& inputs,
                                                  const PredictOptions& options = {}) {
    const Packing& p = inputs.packing;
    if (model.weights.size() != p.features + 1) {
        throw ShapeError(cloak::detail::message(
            "ml::predict: ", model.weights.size(), " weights for ", p.features,
            " features; pass features + 1 weights, the bias first"));
    }
    const ckks::Encoder encoder(eval.context());
    std::vector<double> replicated(p.slots, 0.0);
    for (std::size_t b = 0; b < p.samples_per_ciphertext; ++b) {
        for (std::size_t j = 0; j <= p.features; ++j)
            replicated[b * p.block + j] = model.weights[j];
    }
    std::vector<ckks::Ciphertext> products;
    for (const ckks::Ciphertext& x : inputs.blocks) {
        if (x.level() == 0) {
            throw LevelError(
                "ml::predict: the inputs are at level 0; encrypt them at a higher level");
        }
        // Weights encoded at the prime the rescale removes: the scores keep x's scale.
        const double prime =
            static_cast<double>(eval.context().level(x.level()).q->values().back());
        products.push_back(eval.multiply(
            x, encoder.encode(replicated, {.level = x.level(), .scale = prime, .slots = p.slots})));
    }
    return detail::finish_predictions(eval, std::move(products), p, options);
}

/// The server's step with weights still encrypted (from training, with at
/// least one level left).
/// @throws LevelError when the model's weights are at level 0 (train fewer
///         iterations than the levels allow, or bootstrap them).
[[nodiscard]] inline EncryptedPredictions predict(const ckks::Evaluator& eval,
                                                  const EncryptedModel& model,
                                                  const EncryptedInputs& inputs,
                                                  const PredictOptions& options = {}) {
    if (model.weights.level() == 0) {
        throw LevelError(
            "ml::predict: the encrypted weights are at level 0, and a prediction needs one; train "
            "with fewer iterations than max_iterations() or bootstrap the weights");
    }
    if (model.packing.block != inputs.packing.block ||
        model.packing.slots != inputs.packing.slots) {
        throw ShapeError(cloak::detail::message(
            "ml::predict: the model's blocks of ", model.packing.block,
            " slots do not match the inputs' ", inputs.packing.block,
            "; encrypt the inputs with the model's feature count and parameters"));
    }
    std::vector<ckks::Ciphertext> products;
    for (const ckks::Ciphertext& x : inputs.blocks) {
        const std::size_t level = std::min(x.level(), model.weights.level());
        products.push_back(
            eval.multiply(eval.drop_level_to(x, level), eval.drop_level_to(model.weights, level)));
    }
    return detail::finish_predictions(eval, std::move(products), inputs.packing, options);
}

/// The key owner's step: one value per sample.
[[nodiscard]] inline std::vector<double> decrypt_predictions(
    const ckks::Decryptor& decryptor, const ckks::Encoder& encoder,
    const EncryptedPredictions& predictions) {
    const Packing& p = predictions.packing;
    std::vector<double> out;
    out.reserve(p.rows);
    for (const ckks::Ciphertext& c : predictions.values) {
        const std::vector<double> slots = encoder.decode_real(decryptor.decrypt(c));
        for (std::size_t b = 0; b < p.samples_per_ciphertext && out.size() < p.rows; ++b) {
            out.push_back(slots[b * p.block]);
        }
    }
    return out;
}

}  // namespace cloak::inline v0::ml
