// cloak: small neural networks trained on encrypted data, with bootstrapping,
// and their encrypted inference.
//
// A network is a Sequential of Dense layers and polynomial Activations (square,
// or a least-squares fit of sigmoid, tanh, ReLU or GELU on a stated interval),
// trained with the mean squared error or the softmax cross-entropy (through
// polynomial pieces, SoftmaxCrossEntropy) by SGD, momentum or Nesterov momentum
// on mini-batches. The forward pass, the backward pass and the update run
// homomorphically: the weights stay encrypted from the first step to the last,
// and a level planner decides when to bootstrap them (docs/neural_networks.md).
//
// Packing (one mini-batch in one ciphertext per tensor). The N/2 slots are cut
// into blocks of P slots, P the next power of two above every layer's width;
// block b holds sample b: slot t = b P + u. A batch of B samples (a power of
// two) fills B blocks and is repeated R = slots / (P B) times, so that every
// ciphertext is full (bootstrapping refreshes full-slot ciphertexts). Inside a
// block, a vector of width w sits tiled with period w_p = bit_ceil(w): slot u
// holds v[u mod w_p] (zero past w). Weights sit in the same layout, repeated
// over every block: a Dense layer of m outputs and n inputs keeps
// K = min(m_p, n_p) ciphertexts, its generalized diagonals
//     D_k[u] = W[u mod m_p][(u + k) mod n_p]          (k < K)
// (Halevi-Shoup diagonals of the padded m_p x n_p matrix, the rectangular form
// of Juvekar et al. 2018, Gazelle), and one ciphertext for the bias b[u mod m_p].
// With R_k = rotc(x, k) the input rotated by k cyclically inside each tile,
//     z = sum_k D_k * R_k  (+ a sum over the n_p / m_p groups when m_p < n_p),
// and the gradient of D_k is the sum over the batch of g_z * R_k: the same
// products, summed over the blocks by rotations P, 2P, .., N/4, which leaves the
// sum in every block, exactly the layout of D_k. The client encrypts the first
// layer's R_k itself (they are rotations of its own data); inside the network
// rotc costs one level (two rotations and two masks).
//
// Levels. Every value carries its level and exact scale; a sum of operands at
// different levels brings the higher one down by a constant product that lands
// on the lower one's scale exactly (Kim, Papadimitriou, Polyakov 2020), which
// costs the higher operand a level it has to spare. The algorithm is written
// once against a backend: ciphertexts (EncryptedBackend), or doubles in the
// very same slots with the very same level and scale bookkeeping
// (PlainBackend). The plain backend is both the plaintext reference training
// ("same algorithm, same polynomials") and the level planner: a plan is a dry
// run that records where a value runs out of levels and is bootstrapped, and
// the encrypted run follows it event for event.
#pragma once

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <random>
#include <set>
#include <span>
#include <sstream>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <cloak/approx/chebyshev.hpp>
#include <cloak/approx/circuits.hpp>
#include <cloak/approx/presets.hpp>
#include <cloak/boot/bootstrapper.hpp>
#include <cloak/ckks/ciphertext.hpp>
#include <cloak/ckks/context.hpp>
#include <cloak/ckks/encoder.hpp>
#include <cloak/ckks/encryptor.hpp>
#include <cloak/ckks/evaluator.hpp>
#include <cloak/ckks/polynomial.hpp>
#include <cloak/core/error.hpp>
#include <cloak/core/parallel.hpp>
#include <cloak/ml/dataset.hpp>
#include <cloak/ml/logistic_regression.hpp>

namespace cloak::inline v0::ml::nn {

// ---------------------------------------------------------------------------
// Layers

/// A fully connected layer z = W x + b (W: outputs x inputs, row-major).
struct Dense {
    std::size_t inputs = 0;
    std::size_t outputs = 0;
    /// Trained with encrypted weights (default), or frozen: plaintext weights
    /// the model owner allows the server to see, used as they are (no update).
    bool trainable = true;
    /// Initial (or frozen) weights, outputs x inputs row-major; default: seeded
    /// Glorot uniform, U(-sqrt(6 / (in + out)), +sqrt(6 / (in + out))).
    std::optional<std::vector<double>> weights = std::nullopt;
    /// Initial (or frozen) biases; default 0.
    std::optional<std::vector<double>> biases = std::nullopt;
};

namespace detail {

// The Chebyshev series (on [-1, 1]) of g'.
inline ckks::Polynomial chebyshev_derivative(const ckks::Polynomial& g) {
    const std::span<const double> c = g.coefficients();
    const std::size_t n = c.size() - 1;
    if (n == 0) {
        return ckks::Polynomial::chebyshev({0.0}, {-1.0, 1.0});
    }
    std::vector<double> d(n + 1, 0.0);  // d[n] = d[n + 1] = 0
    for (std::size_t k = n; k >= 1; --k) {
        d[k - 1] = (k + 1 <= n ? d[k + 1] : 0.0) + 2.0 * static_cast<double>(k) * c[k];
    }
    d[0] /= 2.0;
    d.resize(n);
    return ckks::Polynomial::chebyshev(std::move(d), {-1.0, 1.0});
}

// The class of a label for a network with `outputs` >= 2 outputs: 0/1 by the
// threshold 0.5 for two, an integer class index below `outputs` beyond.
inline std::size_t class_of(double label, std::size_t outputs) {
    if (outputs <= 2)
        return label > 0.5 ? 1 : 0;
    const double r = std::round(label);
    if (!(r >= 0 && r < static_cast<double>(outputs) && std::fabs(label - r) < 1e-9)) {
        throw InvalidArgumentError(cloak::detail::message(
            "ml::nn: label ", label, " is not a class index of a network with ", outputs,
            " outputs; labels must be the integers 0 to ", outputs - 1));
    }
    return static_cast<std::size_t>(r);
}

}  // namespace detail

/// A polynomial activation: x^2 (one level), or a polynomial p fitted on
/// [-bound, bound], evaluated as g(t) = p(bound t) on t = x / bound (the division
/// is a change of the scale label, free) in ceil(log2(degree + 1)) levels. The
/// backward pass evaluates p' the same way (one degree less).
class Activation {
  public:
    /// x^2 (CryptoNets' activation): one level, derivative 2x.
    [[nodiscard]] static Activation square() {
        Activation a;
        a.square_ = true;
        a.bound_ = 1.0;
        a.name_ = "square";
        return a;
    }

    /// p on [-bound, bound] (any basis); inputs beyond the interval leave it.
    /// @throws InvalidArgumentError for a bound that is not positive, or p of degree 0.
    [[nodiscard]] static Activation polynomial(const ckks::Polynomial& p, double bound,
                                               std::string name = "polynomial") {
        if (!(bound > 0) || !std::isfinite(bound)) {
            throw InvalidArgumentError(cloak::detail::message(
                "ml::nn::Activation::polynomial: bound ", bound,
                " must be positive and finite (the interval [-bound, bound] the inputs stay in)"));
        }
        if (p.degree() < 2) {
            throw InvalidArgumentError(cloak::detail::message(
                "ml::nn::Activation::polynomial: degree ", p.degree(),
                "; an activation of degree 0 or 1 is affine and adds nothing to the network, "
                "pass a polynomial of degree 2 or more (or Activation::square())"));
        }
        Activation a;
        a.bound_ = bound;
        a.name_ = std::move(name);
        a.g_ = approx::chebyshev_interpolant([&](double t) { return p(bound * t); }, {-1.0, 1.0},
                                             p.degree());
        // p'(x) = g'(x / bound) / bound.
        const ckks::Polynomial dg = detail::chebyshev_derivative(*a.g_);
        std::vector<double> c(dg.coefficients().begin(), dg.coefficients().end());
        for (double& v : c)
            v /= bound;
        a.dg_ = ckks::Polynomial::chebyshev(std::move(c), {-1.0, 1.0});
        return a;
    }

    /// Least-squares sigmoid of approx::sigmoid on [-bound, bound].
    [[nodiscard]] static Activation sigmoid(std::size_t degree = 3, double bound = 8.0) {
        return polynomial(
            approx::sigmoid({.degree = degree, .interval = {-bound, bound}}), bound,
            cloak::detail::message("sigmoid (degree ", degree, " on [", -bound, ", ", bound, "])"));
    }
    [[nodiscard]] static Activation tanh(std::size_t degree = 7, double bound = 4.0) {
        return polynomial(
            approx::tanh({.degree = degree, .interval = {-bound, bound}}), bound,
            cloak::detail::message("tanh (degree ", degree, " on [", -bound, ", ", bound, "])"));
    }
    [[nodiscard]] static Activation relu(std::size_t degree = 2, double bound = 4.0) {
        return polynomial(
            approx::relu({.degree = degree, .interval = {-bound, bound}}), bound,
            cloak::detail::message("relu (degree ", degree, " on [", -bound, ", ", bound, "])"));
    }
    [[nodiscard]] static Activation gelu(std::size_t degree = 4, double bound = 4.0) {
        return polynomial(
            approx::gelu({.degree = degree, .interval = {-bound, bound}}), bound,
            cloak::detail::message("gelu (degree ", degree, " on [", -bound, ", ", bound, "])"));
    }

    [[nodiscard]] bool is_square() const noexcept { return square_; }
    [[nodiscard]] double bound() const noexcept { return bound_; }
    [[nodiscard]] const std::string& name() const noexcept { return name_; }
    /// g(t) = p(bound t) on [-1, 1] (empty for square).
    [[nodiscard]] const std::optional<ckks::Polynomial>& scaled() const noexcept { return g_; }
    /// p'(bound t) on [-1, 1] (empty for square).
    [[nodiscard]] const std::optional<ckks::Polynomial>& scaled_derivative() const noexcept {
        return dg_;
    }
    /// The activation in double (the polynomial, not the function it fits).
    [[nodiscard]] double operator()(double x) const { return square_ ? x * x : (*g_)(x / bound_); }
    [[nodiscard]] double derivative(double x) const {
        return square_ ? 2.0 * x : (*dg_)(x / bound_);
    }
    /// Levels of the forward evaluation and of the derivative.
    [[nodiscard]] std::size_t depth() const { return square_ ? 1 : ckks::Evaluator::depth(*g_); }
    [[nodiscard]] std::size_t derivative_depth() const {
        return square_ ? 0 : ckks::Evaluator::depth(*dg_);
    }

  private:
    Activation() = default;
    bool square_ = false;
    double bound_ = 1.0;
    std::string name_;
    std::optional<ckks::Polynomial> g_;
    std::optional<ckks::Polynomial> dg_;
};

using Layer = std::variant<Dense, Activation>;

/// The weights of one Dense layer in the clear.
struct DenseWeights {
    std::size_t inputs = 0;
    std::size_t outputs = 0;
    std::vector<double> w;  ///< outputs x inputs, row-major
    std::vector<double> b;  ///< outputs
    [[nodiscard]] double at(std::size_t row, std::size_t col) const {
        return w[row * inputs + col];
    }
};

/// Every Dense layer's weights, first layer first.
struct Weights {
    std::vector<DenseWeights> layers;
    /// Largest absolute difference to another set of the same shape.
    [[nodiscard]] double max_difference(const Weights& other) const {
        double worst = 0;
        for (std::size_t l = 0; l < layers.size() && l < other.layers.size(); ++l) {
            for (std::size_t i = 0; i < layers[l].w.size(); ++i)
                worst = std::max(worst, std::fabs(layers[l].w[i] - other.layers[l].w.at(i)));
            for (std::size_t i = 0; i < layers[l].b.size(); ++i)
                worst = std::max(worst, std::fabs(layers[l].b[i] - other.layers[l].b.at(i)));
        }
        return worst;
    }
};

/// Layers applied in order. The first and the last are Dense; widths chain.
class Sequential {
  public:
    /// @throws ShapeError when widths do not chain (naming both layers), a
    ///         Dense has 0 inputs or outputs, the first or last layer is not
    ///         Dense, or given weights have the wrong size.
    explicit Sequential(std::vector<Layer> layers, std::uint64_t seed = 1)
        : layers_(std::move(layers)) {
        constexpr const char* where = "ml::nn::Sequential";
        if (layers_.empty() || !std::holds_alternative<Dense>(layers_.front()) ||
            !std::holds_alternative<Dense>(layers_.back())) {
            throw ShapeError(cloak::detail::message(
                where, ": ", layers_.size(),
                " layers; a network starts and ends with a Dense layer, for example "
                "{Dense{2, 16}, Activation::square(), Dense{16, 1}}"));
        }
        std::mt19937_64 rng(seed);
        std::size_t width = std::get<Dense>(layers_.front()).inputs;
        for (std::size_t i = 0; i < layers_.size(); ++i) {
            if (const Dense* d = std::get_if<Dense>(&layers_[i])) {
                if (d->inputs == 0 || d->outputs == 0) {
                    throw ShapeError(cloak::detail::message(where, ": layer ", i, " is Dense{",
                                                            d->inputs, ", ", d->outputs,
                                                            "}; both sizes must be at least 1"));
                }
                if (d->inputs != width) {
                    throw ShapeError(cloak::detail::message(
                        where, ": layer ", i, " (Dense) takes ", d->inputs,
                        " inputs but the layer before it gives ", width, "; make them equal"));
                }
                DenseWeights w{d->inputs, d->outputs, {}, {}};
                if (d->weights) {
                    if (d->weights->size() != d->inputs * d->outputs) {
                        throw ShapeError(cloak::detail::message(
                            where, ": layer ", i, " has ", d->weights->size(), " weights; a ",
                            d->outputs, " x ", d->inputs, " layer needs ", d->inputs * d->outputs,
                            " (row-major)"));
                    }
                    w.w = *d->weights;
                } else {
                    const double a = std::sqrt(6.0 / static_cast<double>(d->inputs + d->outputs));
                    w.w.resize(d->inputs * d->outputs);
                    for (double& v : w.w)
                        v = a * ml::detail::uniform_symmetric(rng);
                }
                if (d->biases) {
                    if (d->biases->size() != d->outputs) {
                        throw ShapeError(cloak::detail::message(
                            where, ": layer ", i, " has ", d->biases->size(), " biases for ",
                            d->outputs, " outputs; pass one per output"));
                    }
                    w.b = *d->biases;
                } else {
                    w.b.assign(d->outputs, 0.0);
                }
                initial_.layers.push_back(std::move(w));
                width = d->outputs;
                widths_.push_back(d->inputs);
            }
        }
        widths_.push_back(width);
        std::size_t widest = 1;
        for (std::size_t w : widths_)
            widest = std::max(widest, w);
        block_ = std::bit_ceil(widest);
    }

    [[nodiscard]] const std::vector<Layer>& layers() const noexcept { return layers_; }
    [[nodiscard]] std::size_t inputs() const noexcept { return widths_.front(); }
    [[nodiscard]] std::size_t outputs() const noexcept { return widths_.back(); }
    /// P: slots per sample, the next power of two above every width.
    [[nodiscard]] std::size_t block() const noexcept { return block_; }
    [[nodiscard]] const Weights& initial_weights() const noexcept { return initial_; }

    /// The network's outputs for one sample, in double, with the same
    /// polynomials as the encrypted network.
    /// @throws ShapeError for a sample or weights of the wrong size.
    [[nodiscard]] std::vector<double> predict(const Weights& weights,
                                              std::span<const double> x) const {
        if (x.size() != inputs()) {
            throw ShapeError(cloak::detail::message("ml::nn::Sequential::predict: ", x.size(),
                                                    " features; the network takes ", inputs()));
        }
        if (weights.layers.size() != initial_.layers.size()) {
            throw ShapeError(cloak::detail::message(
                "ml::nn::Sequential::predict: weights for ", weights.layers.size(),
                " Dense layers; the network has ", initial_.layers.size()));
        }
        std::vector<double> a(x.begin(), x.end());
        std::size_t dense = 0;
        for (const Layer& layer : layers_) {
            if (std::holds_alternative<Dense>(layer)) {
                const DenseWeights& w = weights.layers[dense++];
                std::vector<double> z(w.outputs);
                for (std::size_t i = 0; i < w.outputs; ++i) {
                    double s = w.b[i];
                    for (std::size_t j = 0; j < w.inputs; ++j)
                        s += w.at(i, j) * a[j];
                    z[i] = s;
                }
                a = std::move(z);
            } else {
                const Activation& f = std::get<Activation>(layer);
                for (double& v : a)
                    v = f(v);
            }
        }
        return a;
    }

    /// Fraction of samples classified right: one output thresholded at 0.5
    /// (targets 0/1), or the largest of several outputs (labels 0/1 for two
    /// outputs, class indices 0 .. k - 1 for k > 2).
    [[nodiscard]] double accuracy(const Weights& weights, const Dataset& data) const {
        std::size_t right = 0;
        for (std::size_t i = 0; i < data.rows(); ++i) {
            const std::vector<double> out = predict(weights, data.row(i));
            const std::size_t label = out.size() == 1
                                          ? (data.labels()[i] > 0.5 ? 1 : 0)
                                          : detail::class_of(data.labels()[i], out.size());
            std::size_t predicted = 0;
            if (out.size() == 1) {
                predicted = out[0] >= 0.5 ? 1 : 0;
            } else {
                predicted = static_cast<std::size_t>(std::max_element(out.begin(), out.end()) -
                                                     out.begin());
            }
            right += predicted == label ? 1 : 0;
        }
        return data.rows() == 0 ? 0.0
                                : static_cast<double>(right) / static_cast<double>(data.rows());
    }

    [[nodiscard]] std::string to_string() const {
        std::ostringstream out;
        out << "Sequential{";
        for (std::size_t i = 0; i < layers_.size(); ++i) {
            if (i)
                out << ", ";
            if (const Dense* d = std::get_if<Dense>(&layers_[i])) {
                out << "Dense " << d->inputs << "->" << d->outputs
                    << (d->trainable ? "" : " (frozen, plaintext)");
            } else {
                out << std::get<Activation>(layers_[i]).name();
            }
        }
        out << "}";
        return out.str();
    }

  private:
    std::vector<Layer> layers_;
    std::vector<std::size_t> widths_;
    std::size_t block_ = 1;
    Weights initial_;
};

// ---------------------------------------------------------------------------
// Layout and data

/// How a mini-batch fills a ciphertext (see the top of this header).
struct Layout {
    std::size_t slots = 0;     ///< N/2
    std::size_t block = 0;     ///< P: slots per sample
    std::size_t batch = 0;     ///< B: samples per step
    std::size_t replicas = 0;  ///< R = slots / (P B)

    /// @throws ShapeError when the batch is not a power of two or P B exceeds
    ///         the slots (naming the most that fit).
    [[nodiscard]] static Layout of(const Sequential& net, std::size_t slots, std::size_t batch) {
        const std::size_t p = net.block();
        if (batch == 0 || !std::has_single_bit(batch)) {
            throw ShapeError(cloak::detail::message(
                "ml::nn::Layout: batch ", batch,
                " is not a power of two; the batch fills blocks of the slots (use ",
                batch == 0 ? 1 : std::bit_floor(batch), " or ",
                std::bit_ceil(std::max<std::size_t>(batch, 1)), ")"));
        }
        if (p * batch > slots) {
            throw ShapeError(cloak::detail::message(
                "ml::nn::Layout: a batch of ", batch, " samples of ", p, " slots each (", p * batch,
                " slots) exceeds the ", slots, " slots of a ciphertext; use a batch of at most ",
                slots / std::min(p, slots), " or a larger ring degree"));
        }
        return {slots, p, batch, slots / (p * batch)};
    }
    /// Samples one ciphertext holds (B R).
    [[nodiscard]] std::size_t blocks() const noexcept { return slots / block; }
};

namespace detail {

// The padded width of a layer side.
inline std::size_t padded(std::size_t w) {
    return std::bit_ceil(w);
}

// Tiles v (width w) with period w_p over each block of `layout.block` slots.
inline void put_tiled(std::vector<double>& slots, std::size_t block_index, std::size_t block,
                      std::span<const double> v, std::size_t period) {
    for (std::size_t u = 0; u < block; ++u) {
        const std::size_t j = u % period;
        slots[block_index * block + u] = j < v.size() ? v[j] : 0.0;
    }
}

// The first layer's inputs R_k = rotc(x, k), k < K0, and the targets, of one
// batch in slots; rows of the batch wrap around the dataset.
struct BatchSlots {
    std::vector<std::vector<double>> inputs;
    std::vector<double> targets;
};

inline BatchSlots batch_slots(const Sequential& net, const Layout& layout, const Dataset& data,
                              std::size_t batch_index, bool with_targets) {
    const Dense& first = std::get<Dense>(net.layers().front());
    const std::size_t np = padded(first.inputs);
    const std::size_t mp = padded(first.outputs);
    const std::size_t k0 = std::min(np, mp);
    const std::size_t out = net.outputs();
    const std::size_t op = padded(out);
    BatchSlots s;
    s.inputs.assign(k0, std::vector<double>(layout.slots, 0.0));
    if (with_targets)
        s.targets.assign(layout.slots, 0.0);
    std::vector<double> x(np, 0.0);
    std::vector<double> rotated(np, 0.0);
    std::vector<double> y(out, 0.0);
    for (std::size_t b = 0; b < layout.blocks(); ++b) {
        const std::size_t row = (batch_index * layout.batch + b % layout.batch) % data.rows();
        std::fill(x.begin(), x.end(), 0.0);
        for (std::size_t j = 0; j < first.inputs; ++j)
            x[j] = data.x(row, j);
        for (std::size_t k = 0; k < k0; ++k) {
            for (std::size_t j = 0; j < np; ++j)
                rotated[j] = x[(j + k) % np];
            put_tiled(s.inputs[k], b, layout.block, rotated, np);
        }
        if (with_targets) {
            const double label = data.labels()[row];
            if (out == 1) {
                y[0] = label;
            } else {
                std::fill(y.begin(), y.end(), 0.0);
                y[class_of(label, out)] = 1.0;
            }
            put_tiled(s.targets, b, layout.block, y, op);
        }
    }
    return s;
}

}  // namespace detail

/// One encrypted mini-batch: the first layer's rotated inputs and the targets.
struct EncryptedBatch {
    std::vector<ckks::Ciphertext> inputs;
    ckks::Ciphertext targets;
};

/// A dataset encrypted for training, batch after batch.
struct EncryptedTrainingData {
    Layout layout;
    std::vector<EncryptedBatch> batches;
    std::size_t rows = 0;
};

/// Options of encrypt().
struct EncryptOptions {
    /// Level of the ciphertexts (default: the context's highest). With a
    /// bootstrapper, its output_level() keeps them small.
    std::optional<std::size_t> level = std::nullopt;
};

namespace detail {

/// The checks of encrypt(): a dataset the network takes, normalized, and a
/// layout of this context.
inline void check_training_data(const char* where, const ckks::Context& context,
                                const Sequential& net, const Layout& layout, const Dataset& data) {
    if (data.rows() == 0)
        throw InvalidArgumentError(cloak::detail::message(where, ": the dataset is empty"));
    if (data.features() != net.inputs()) {
        throw InvalidArgumentError(
            cloak::detail::message(where, ": the dataset has ", data.features(),
                                   " features; the network takes ", net.inputs()));
    }
    for (std::size_t i = 0; i < data.values().size(); ++i) {
        if (!(std::fabs(data.values()[i]) <= 1.0)) {
            throw InvalidArgumentError(cloak::detail::message(
                where, ": feature ", i % data.features(), " of sample ", i / data.features(),
                " is ", data.values()[i], ", outside [-1, 1]; normalize first (ml::Normalizer)"));
        }
    }
    if (layout.slots != context.slots()) {
        throw ShapeError(cloak::detail::message(where, ": the layout has ", layout.slots,
                                                " slots, the context ", context.slots()));
    }
}

inline EncryptedBatch encrypt_batch(const ckks::Encryptor& encryptor, const ckks::Encoder& encoder,
                                    const Sequential& net, const Layout& layout,
                                    const Dataset& data, std::size_t index, std::size_t level) {
    const BatchSlots s = batch_slots(net, layout, data, index, true);
    EncryptedBatch batch;
    for (const std::vector<double>& v : s.inputs)
        batch.inputs.push_back(encryptor.encrypt(encoder.encode(v, {.level = level})));
    batch.targets = encryptor.encrypt(encoder.encode(s.targets, {.level = level}));
    return batch;
}

}  // namespace detail

/// The key owner's step: encrypts every mini-batch of `data` (features in
/// [-1, 1]: normalize first) in the layout, ceil(rows / batch) batches.
/// @throws InvalidArgumentError for an empty dataset, features outside [-1, 1],
///         or a feature count other than the network's inputs.
[[nodiscard]] inline EncryptedTrainingData encrypt(const ckks::Context& context,
                                                   const ckks::Encryptor& encryptor,
                                                   const ckks::Encoder& encoder,
                                                   const Sequential& net, const Layout& layout,
                                                   const Dataset& data,
                                                   const EncryptOptions& options = {}) {
    detail::check_training_data("ml::nn::encrypt", context, net, layout, data);
    const std::size_t level = options.level.value_or(context.max_level());
    EncryptedTrainingData out{layout, {}, data.rows()};
    const std::size_t count = (data.rows() + layout.batch - 1) / layout.batch;
    for (std::size_t i = 0; i < count; ++i)
        out.batches.push_back(
            detail::encrypt_batch(encryptor, encoder, net, layout, data, i, level));
    return out;
}

/// Encrypted batches delivered one at a time, so that a dataset need not be
/// held in memory whole (at N = 2^16 a batch of the 196-32-2 shape is 33
/// ciphertexts, 350 MB at level 9). Trainer::fit asks for batch(i), i in
/// [0, batches), when a step on it starts and lets it go after the step. A
/// source may read the batch from disk, receive it, or encrypt it then; every
/// batch must have the shape and the level of batch 0.
struct EncryptedBatchSource {
    Layout layout;
    std::size_t batches = 0;
    std::size_t rows = 0;
    std::function<std::shared_ptr<const EncryptedBatch>(std::size_t index)> batch;

    /// A view of batches held in memory (no copy; `data` must outlive it).
    [[nodiscard]] static EncryptedBatchSource of(const EncryptedTrainingData& data) {
        return {data.layout, data.batches.size(), data.rows, [&data](std::size_t i) {
                    // Aliases data.batches[i] and owns nothing.
                    return std::shared_ptr<const EncryptedBatch>(std::shared_ptr<void>(),
                                                                 &data.batches.at(i));
                }};
    }

    /// The key owner's side of a stream: batch i encrypted when training asks
    /// for it, as encrypt() encrypts it. The arguments must outlive the source.
    /// @throws as encrypt().
    [[nodiscard]] static EncryptedBatchSource encrypting(const ckks::Context& context,
                                                         const ckks::Encryptor& encryptor,
                                                         const ckks::Encoder& encoder,
                                                         const Sequential& net,
                                                         const Layout& layout, const Dataset& data,
                                                         const EncryptOptions& options = {}) {
        detail::check_training_data("ml::nn::EncryptedBatchSource::encrypting", context, net,
                                    layout, data);
        const std::size_t level = options.level.value_or(context.max_level());
        return {layout, (data.rows() + layout.batch - 1) / layout.batch, data.rows(),
                [&encryptor, &encoder, &net, layout, &data, level](std::size_t i) {
                    return std::make_shared<const EncryptedBatch>(
                        detail::encrypt_batch(encryptor, encoder, net, layout, data, i, level));
                }};
    }
};

// ---------------------------------------------------------------------------
// Backends: the same operations on ciphertexts and on doubles

namespace detail {

inline bool same_scale(double a, double b) {
    return std::fabs(a - b) <= std::ldexp(std::max(a, b), -30);
}

inline LevelError out_of_levels(const char* op, std::size_t level) {
    return LevelError(
        cloak::detail::message("ml::nn: ", op, " of a value at level ", level,
                               " needs a level (internal level plan broken; please report it)"));
}

/// Doubles in the slots, with the level and scale bookkeeping of ciphertexts.
class PlainBackend {
  public:
    struct Value {
        std::vector<double> v;
        std::size_t level = 0;
        double scale = 0;
        [[nodiscard]] bool empty() const noexcept { return v.empty(); }
    };

    PlainBackend(const ckks::Context& context, std::size_t refresh_level,
                 std::size_t packed_refresh_level = 0)
        : slots_(context.slots()),
          refresh_level_(refresh_level),
          packed_refresh_level_(packed_refresh_level) {
        for (std::size_t l = 0; l <= context.max_level(); ++l)
            primes_.push_back(static_cast<double>(context.level(l).q->values().back()));
        scale_ = context.scale();
    }

    [[nodiscard]] Value encode(std::vector<double> v, std::size_t level) const {
        return {std::move(v), level, scale_};
    }
    [[nodiscard]] std::vector<double> decode(const Value& x) const { return x.v; }
    [[nodiscard]] std::size_t level(const Value& x) const { return x.level; }
    [[nodiscard]] std::size_t refresh_level() const { return refresh_level_; }
    [[nodiscard]] std::size_t packed_refresh_level() const { return packed_refresh_level_; }
    [[nodiscard]] std::size_t slots() const { return slots_; }
    [[nodiscard]] double scale() const { return scale_; }

    [[nodiscard]] Value mul(const Value& a, const Value& b) {
        const std::size_t l = std::min(a.level, b.level);
        if (l == 0)
            throw out_of_levels("a product", 0);
        Value r{std::vector<double>(slots_), l - 1, a.scale * b.scale / primes_[l]};
        for (std::size_t i = 0; i < slots_; ++i)
            r.v[i] = a.v[i] * b.v[i];
        return r;
    }
    [[nodiscard]] Value mul(const Value& a, std::span<const double> c) {
        if (a.level == 0)
            throw out_of_levels("a plaintext product", 0);
        Value r{std::vector<double>(slots_), a.level - 1,
                a.scale * primes_[a.level] / primes_[a.level]};
        for (std::size_t i = 0; i < slots_; ++i)
            r.v[i] = a.v[i] * c[i];
        return r;
    }
    [[nodiscard]] Value mul_int(const Value& a, std::int64_t k) {
        Value r = a;
        for (double& x : r.v)
            x *= static_cast<double>(k);
        return r;
    }
    [[nodiscard]] Value neg(const Value& a) { return mul_int(a, -1); }
    // x c at (level, scale), level < x.level.
    [[nodiscard]] Value bring(const Value& x, double c, std::size_t level, double scale) {
        Value r = x;
        for (double& v : r.v)
            v *= c;
        r.level = level;
        r.scale = scale;
        return r;
    }
    // x c (slot by slot) at (level, scale), level < x.level.
    [[nodiscard]] Value bring(const Value& x, std::span<const double> c, std::size_t level,
                              double scale) {
        Value r = x;
        for (std::size_t i = 0; i < slots_; ++i)
            r.v[i] *= c[i];
        r.level = level;
        r.scale = scale;
        return r;
    }
    [[nodiscard]] Value drop(const Value& x, std::size_t level) {
        Value r = x;
        r.level = level;
        return r;
    }
    [[nodiscard]] Value add_aligned(Value a, const Value& b) {
        for (std::size_t i = 0; i < slots_; ++i)
            a.v[i] += b.v[i];
        return a;
    }
    [[nodiscard]] Value rot(const Value& a, std::int64_t k) {
        record_rotation(k);
        Value r = a;
        const auto n = static_cast<std::int64_t>(slots_);
        for (std::int64_t i = 0; i < n; ++i)
            r.v[static_cast<std::size_t>(i)] = a.v[static_cast<std::size_t>(((i + k) % n + n) % n)];
        return r;
    }
    [[nodiscard]] std::vector<Value> rot_many(const Value& a, std::span<const std::int64_t> ks) {
        std::vector<Value> out;
        for (std::int64_t k : ks)
            out.push_back(rot(a, k));
        return out;
    }
    [[nodiscard]] Value poly(const Value& x, const ckks::Polynomial& g, double bound) {
        const std::size_t depth = ckks::Evaluator::depth(g);
        if (x.level < depth)
            throw out_of_levels("a polynomial", x.level);
        Value r = x;
        for (double& v : r.v)
            v = g(v / bound);
        r.level = x.level - depth;
        return r;
    }
    [[nodiscard]] Value refresh(const Value& x) {
        Value r = x;
        r.level = refresh_level_;
        return r;
    }
    [[nodiscard]] Value refresh_packed(const Value& x) {
        Value r = x;
        r.level = packed_refresh_level_;
        return r;
    }

    [[nodiscard]] double prime(std::size_t level) const { return primes_[level]; }
    [[nodiscard]] const std::set<std::int64_t>& rotations() const { return rotations_; }

  private:
    void record_rotation(std::int64_t k) {
        const auto n = static_cast<std::int64_t>(slots_);
        const std::int64_t r = ((k % n) + n) % n;
        if (r != 0)
            rotations_.insert(k);
    }
    std::size_t slots_;
    std::size_t refresh_level_;
    std::size_t packed_refresh_level_;
    std::vector<double> primes_;
    double scale_ = 0;
    std::set<std::int64_t> rotations_;
};

/// Ciphertexts; rotations use the training evaluator's keys, or a
/// bootstrapper's when it holds the step (no key is generated twice). `packed`
/// bootstraps the packed weights (sparse slots, RefreshPolicy::packed).
class EncryptedBackend {
  public:
    using Value = ckks::Ciphertext;

    EncryptedBackend(const ckks::Evaluator& eval, const boot::Bootstrapper* bootstrapper,
                     const boot::Bootstrapper* packed = nullptr)
        : eval_(eval), encoder_(eval.context()), boot_(bootstrapper), packed_(packed) {}

    [[nodiscard]] std::size_t level(const Value& x) const { return x.level(); }
    [[nodiscard]] std::size_t refresh_level() const { return boot_ ? boot_->output_level() : 0; }
    [[nodiscard]] std::size_t packed_refresh_level() const {
        return packed_ ? packed_->output_level() : 0;
    }
    [[nodiscard]] double scale() const { return eval_.context().scale(); }
    [[nodiscard]] std::size_t slots() const { return eval_.context().slots(); }

    [[nodiscard]] Value mul(const Value& a, const Value& b) const {
        const std::size_t l = std::min(a.level(), b.level());
        if (l == 0)
            throw out_of_levels("a product", 0);
        Value r = eval_.multiply(eval_.drop_level_to(a, l), eval_.drop_level_to(b, l));
        eval_.rescale_inplace(r);
        return r;
    }
    [[nodiscard]] Value mul(const Value& a, std::span<const double> c) const {
        if (a.level() == 0)
            throw out_of_levels("a plaintext product", 0);
        Value r = eval_.multiply(a, c);
        eval_.rescale_inplace(r);
        return r;
    }
    [[nodiscard]] Value mul_int(const Value& a, std::int64_t k) const {
        return eval_.multiply_integer(a, k);
    }
    [[nodiscard]] Value neg(const Value& a) const { return eval_.negate(a); }
    [[nodiscard]] Value bring(const Value& x, double c, std::size_t level, double scale) const {
        return ml::detail::bring(eval_, encoder_, x, c, level, scale);
    }
    [[nodiscard]] Value bring(const Value& x, std::span<const double> c, std::size_t level,
                              double scale) const {
        return ml::detail::bring(eval_, encoder_, x, c, level, scale);
    }
    [[nodiscard]] Value drop(const Value& x, std::size_t level) const {
        return eval_.drop_level_to(x, level);
    }
    [[nodiscard]] Value add_aligned(Value a, const Value& b) const {
        Value c = b;
        c.set_scale(a.scale());
        eval_.add_inplace(a, c);
        return a;
    }
    [[nodiscard]] Value rot(const Value& a, std::int64_t k) const {
        return evaluator_for(k).rotate(a, k);
    }
    [[nodiscard]] std::vector<Value> rot_many(const Value& a,
                                              std::span<const std::int64_t> ks) const {
        bool all_own = true;
        for (std::int64_t k : ks)
            all_own = all_own && eval_.has_rotation_key(k);
        if (all_own)
            return eval_.rotate_hoisted(a, ks);
        std::vector<Value> out;
        for (std::int64_t k : ks)
            out.push_back(rot(a, k));
        return out;
    }
    [[nodiscard]] Value poly(const Value& x, const ckks::Polynomial& g, double bound) const {
        Value t = x;
        t.set_scale(x.scale() * bound);  // x / bound: a label, free
        return eval_.evaluate(g, t, {.target_scale = x.scale()});
    }
    [[nodiscard]] Value refresh(const Value& x) const { return boot_->bootstrap(x); }
    // The packed weights hold a message of period n = the packed bootstrapper's
    // slots: the same ciphertext read as n slots, bootstrapped, read back.
    [[nodiscard]] Value refresh_packed(const Value& x) const {
        const Value low = eval_.drop_level_to(x, 0);
        const Value out = packed_->bootstrap(with_slots(low, packed_->parameters().slots()));
        return with_slots(out, x.slots());
    }

  private:
    static Value with_slots(const Value& x, std::size_t slots) {
        return Value(std::vector<ring::Poly>(x.parts().begin(), x.parts().end()), x.scale(), slots);
    }
    const ckks::Evaluator& evaluator_for(std::int64_t k) const {
        if (eval_.has_rotation_key(k))
            return eval_;
        for (const boot::Bootstrapper* b : {boot_, packed_}) {
            if (b != nullptr && b->evaluator().has_rotation_key(k))
                return b->evaluator();
        }
        return eval_;
    }
    const ckks::Evaluator& eval_;
    ckks::Encoder encoder_;
    const boot::Bootstrapper* boot_;
    const boot::Bootstrapper* packed_;
};

}  // namespace detail

// ---------------------------------------------------------------------------
// Training options, the plan, reports

/// The update rule.
enum class Method {
    /// w -= lr g
    sgd,
    /// v = mu v - lr g; w += v
    momentum,
    /// Nesterov's momentum (Sutskever et al. 2013), kept in the look-ahead form
    /// phi = w + mu v: phi += mu^2 v - (1 + mu) lr g, v = mu v - lr g.
    nesterov,
};

struct Optimizer {
    Method method = Method::sgd;
    double learning_rate = 0.1;
    double momentum = 0.9;
    /// Multiplier of the learning rate at step t = 1, 2, ... (default 1).
    std::function<double(std::size_t)> schedule = nullptr;

    [[nodiscard]] static Optimizer sgd(double lr) { return {Method::sgd, lr, 0.0, nullptr}; }
    [[nodiscard]] static Optimizer with_momentum(double lr, double mu = 0.9) {
        return {Method::momentum, lr, mu, nullptr};
    }
    [[nodiscard]] static Optimizer nesterov(double lr, double mu = 0.9) {
        return {Method::nesterov, lr, mu, nullptr};
    }
    [[nodiscard]] double rate(std::size_t step) const {
        return learning_rate * (schedule ? schedule(step) : 1.0);
    }
};

/// The training loss.
enum class Loss {
    /// Half the squared error, the gradient out - y (any number of outputs).
    mse,
    /// Softmax cross-entropy on k >= 2 outputs (the logits), through the
    /// polynomial pieces of SoftmaxCrossEntropy; the gradient softmax(z) - y.
    softmax_cross_entropy,
};

/// Options of the softmax cross-entropy (see SoftmaxCrossEntropy).
struct SoftmaxOptions {
    /// B: every logit stays within B of the mean of its sample's logits,
    /// |z_i - mean_j z_j| <= B. exp is fitted on [-B, B] and 1/x on the sums
    /// that allows.
    double logit_bound = 4.0;
    /// Relative error the default degree and iteration count aim at.
    double relative_error = 0x1p-12;
    /// Degree of the Chebyshev interpolant of exp on [-B, B] (default: the
    /// smallest 2^j - 1 within relative_error; 15 for B = 4).
    std::optional<std::size_t> exp_degree = std::nullopt;
    /// Goldschmidt iterations for 1/sum (default: approx::inverse_iterations
    /// of the sums' interval and relative_error).
    std::optional<std::size_t> inverse_iterations = std::nullopt;
    /// Degree of the Chebyshev interpolant of log on the normalized sums, used
    /// only for the loss value (monitoring).
    std::size_t log_degree = 31;
};

/// The softmax cross-entropy of k >= 2 logits as the training evaluates it,
/// homomorphically and (here) in double, with the very same polynomials:
///  1. z' = z - mean(z) (softmax and the loss do not change; one level). Then
///     sum_i e^(z'_i) lies in [k, b] (k by Jensen, b the largest sum with every
///     |z'_i| <= B; b = 2 cosh B for k = 2).
///  2. e_i = exp(z'_i) / b by a Chebyshev interpolant on [-B, B] (the 1/b is in
///     its coefficients; ceil(log2(degree + 1)) levels).
///  3. S' = sum_i e_i in [k / b, 1] over the sample's outputs (rotations in the
///     sample's block; one level for the mask).
///  4. 1 / S' by Goldschmidt: y = 1 - S', 1/S' = prod_{j<n} (1 + y^(2^j)) up to a
///     relative -y^(2^n), at most (1 - k / b)^(2^n) (n levels).
///  5. softmax_i = e_i / S' (one level). The gradient is softmax - y.
/// The loss -log softmax_true = log b + log S' - z'_true takes log S' = log(1 - y)
/// from a Chebyshev interpolant on y in [0, 1 - k/b] (monitoring only).
/// Logits beyond the bound leave the fitted intervals (exp is extrapolated;
/// sums up to 2 b still converge, smaller ones converge more slowly).
class SoftmaxCrossEntropy {
  public:
    /// @throws InvalidArgumentError for fewer than 2 outputs, a bound that is
    ///         not positive and finite (or beyond 30), an error outside (0, 1),
    ///         a degree outside [1, 255] or iterations outside [1, 30].
    SoftmaxCrossEntropy(std::size_t outputs, const SoftmaxOptions& options) : k_(outputs) {
        constexpr const char* where = "ml::nn::SoftmaxCrossEntropy";
        if (outputs < 2) {
            throw InvalidArgumentError(cloak::detail::message(
                where, ": the network has ", outputs,
                " output; softmax cross-entropy needs at least 2 (one logit per class): end "
                "the network with Dense{h, 2} for two classes, or train one output with "
                "Loss::mse"));
        }
        bound_ = options.logit_bound;
        if (!(bound_ > 0 && bound_ <= 30)) {
            throw InvalidArgumentError(cloak::detail::message(
                where, ": logit bound ", bound_,
                " must be in (0, 30] (how far a logit may stray from its sample's mean; 4 is "
                "the default)"));
        }
        if (!(options.relative_error > 0 && options.relative_error < 1)) {
            throw InvalidArgumentError(cloak::detail::message(
                where, ": relative error ", options.relative_error, " must be in (0, 1)"));
        }
        const auto check_degree = [&](std::size_t d, const char* what) {
            if (d == 0 || d > 255) {
                throw InvalidArgumentError(cloak::detail::message(where, ": ", what, " degree ", d,
                                                                  " is outside [1, 255]"));
            }
        };
        // b: the largest sum of e^(z'_i) with sum z' = 0 and |z'_i| <= B, reached
        // at a vertex: m logits at B, k - 1 - m at -B, one in between.
        const double kk = static_cast<double>(k_);
        double b = kk;
        for (std::size_t m = 0; m < k_; ++m) {
            const double c =
                bound_ * (static_cast<double>(k_) - 1.0 - 2.0 * static_cast<double>(m));
            if (std::fabs(c) <= bound_ * (1 + 1e-12)) {
                b = std::max(b, static_cast<double>(m) * std::exp(bound_) +
                                    static_cast<double>(k_ - 1 - m) * std::exp(-bound_) +
                                    std::exp(c));
            }
        }
        b_ = b;
        const ckks::Interval normalized{kk / b_, 1.0};
        if (options.inverse_iterations) {
            iterations_ = *options.inverse_iterations;
            if (iterations_ == 0 || iterations_ > 30) {
                throw InvalidArgumentError(cloak::detail::message(
                    where, ": ", iterations_, " inverse iterations; pass 1 to 30"));
            }
        } else {
            iterations_ = approx::inverse_iterations(normalized, options.relative_error);
        }
        const auto make_exp = [&](std::size_t degree) {
            return approx::chebyshev_interpolant(
                [&](double t) { return std::exp(bound_ * t) / b_; }, {-1.0, 1.0}, degree);
        };
        if (options.exp_degree) {
            check_degree(*options.exp_degree, "exp");
            exp_ = make_exp(*options.exp_degree);
        } else {
            for (std::size_t degree = 3;; degree = 2 * degree + 1) {
                exp_ = make_exp(degree);
                double worst = 0;
                for (int i = -512; i <= 512; ++i) {
                    const double t = i / 512.0;
                    const double e = std::exp(bound_ * t) / b_;
                    worst = std::max(worst, std::fabs((*exp_)(t)-e) / e);
                }
                if (worst <= options.relative_error || degree >= 255)
                    break;
            }
        }
        check_degree(options.log_degree, "log");
        y_max_ = 1.0 - kk / b_;
        log_ = approx::chebyshev_interpolant([](double y) { return std::log1p(-y); }, {0.0, y_max_},
                                             options.log_degree);
    }

    [[nodiscard]] std::size_t outputs() const noexcept { return k_; }
    /// B: the logits' distance to their mean the polynomials are fitted for.
    [[nodiscard]] double logit_bound() const noexcept { return bound_; }
    /// [k, b]: where the sums of e^(z'_i) lie.
    [[nodiscard]] ckks::Interval sum_interval() const noexcept {
        return {static_cast<double>(k_), b_};
    }
    [[nodiscard]] std::size_t inverse_iterations() const noexcept { return iterations_; }
    /// exp(B t) / b on t in [-1, 1].
    [[nodiscard]] const ckks::Polynomial& exp_polynomial() const noexcept { return *exp_; }
    /// log(1 - y) on [0, 1 - k/b].
    [[nodiscard]] const ckks::Polynomial& log_polynomial() const noexcept { return *log_; }
    /// Levels from the logits to the probabilities: 1 + exp + 1 + n + 1.
    [[nodiscard]] std::size_t depth() const {
        return 3 + ckks::Evaluator::depth(*exp_) + iterations_;
    }
    /// The bound (1 - k/b)^(2^n) on the inverse's relative error.
    [[nodiscard]] double inverse_error() const {
        return approx::inverse_error(sum_interval(), iterations_);
    }

    /// The probabilities the training computes for logits z (k of them).
    /// @throws ShapeError for a size other than outputs().
    [[nodiscard]] std::vector<double> probabilities(std::span<const double> z) const {
        const Pieces p = pieces(z);
        std::vector<double> out(k_);
        for (std::size_t i = 0; i < k_; ++i)
            out[i] = p.e[i] * p.inverse;
        return out;
    }

    /// The loss -log softmax(z)_label the monitoring computes (polynomial log).
    /// @throws ShapeError for a size other than outputs(); InvalidArgumentError
    ///         for a label of outputs() or above.
    [[nodiscard]] double loss(std::span<const double> z, std::size_t label) const {
        if (label >= k_) {
            throw InvalidArgumentError(cloak::detail::message(
                "ml::nn::SoftmaxCrossEntropy::loss: label ", label, " of ", k_, " classes"));
        }
        const Pieces p = pieces(z);
        return std::log(b_) + (*log_)(p.y) - p.centred[label];
    }

    [[nodiscard]] std::string to_string() const {
        return cloak::detail::message(
            "softmax cross-entropy on ", k_, " outputs: logits within ", bound_,
            " of their mean, exp degree ", exp_->degree(), " on [", -bound_, ", ", bound_,
            "], sums in [", static_cast<double>(k_), ", ", b_, "], ", iterations_,
            " Goldschmidt iterations (relative error <= ", inverse_error(), "), ", depth(),
            " levels");
    }

  private:
    struct Pieces {
        std::vector<double> centred, e;
        double y = 0, inverse = 0;
    };
    Pieces pieces(std::span<const double> z) const {
        if (z.size() != k_) {
            throw ShapeError(cloak::detail::message("ml::nn::SoftmaxCrossEntropy: ", z.size(),
                                                    " logits for ", k_, " outputs"));
        }
        Pieces p;
        double mean = 0;
        for (double v : z)
            mean += v;
        mean /= static_cast<double>(k_);
        double sum = 0;
        for (double v : z) {
            p.centred.push_back(v - mean);
            p.e.push_back((*exp_)((v - mean) / bound_));
            sum += p.e.back();
        }
        p.y = 1.0 - sum;
        double inverse = 1.0 + p.y, power = p.y;
        for (std::size_t j = 1; j < iterations_; ++j) {
            power *= power;
            inverse *= 1.0 + power;
        }
        p.inverse = inverse;
        return p;
    }

    std::size_t k_ = 0;
    double bound_ = 0, b_ = 0, y_max_ = 0;
    std::size_t iterations_ = 0;
    std::optional<ckks::Polynomial> exp_, log_;
};

/// One epoch's training loss, decrypted by the key owner (reveal_loss_each_epoch).
struct EpochLoss {
    std::size_t epoch = 0;  ///< 1-based
    std::size_t steps = 0;  ///< batches averaged (the last epoch may be partial)
    /// Mean over the epoch's batches of the batch loss before its update: MSE,
    /// the mean over samples and outputs of (out - y)^2; softmax cross-entropy,
    /// the mean over samples of -log softmax(z)_label (polynomial log).
    double loss = 0;
};

/// Monitoring that REVEALS THE TRAINING LOSS: every step, the server computes
/// the batch loss homomorphically (one value), the key owner's decryptor
/// decrypts it, and once per epoch the mean goes to `callback`. Whoever sees
/// the callback's values learns the loss on the private data; leave
/// TrainingOptions::reveal_loss_each_epoch empty to reveal nothing.
struct RevealLoss {
    /// The key owner's decryptor (must outlive the training).
    const ckks::Decryptor* decryptor = nullptr;
    std::function<void(const EpochLoss&)> callback = nullptr;
};

/// Where the planner bootstraps.
enum class RefreshPolicy {
    /// Refresh every weight (and velocity) at the start of a step when its level
    /// cannot carry the whole step; refresh activations only where a step is
    /// deeper than the levels a bootstrap leaves.
    weights_first,
    /// Refresh whatever value runs out, when it runs out.
    just_in_time,
    /// Weights first, all in one bootstrap: the update writes every weight and
    /// velocity into its own block of P slots of one ciphertext of period
    /// n = bit_ceil(values x P) (the masks ride on the update's products: no
    /// level), a bootstrapper of n slots refreshes it when a step needs it,
    /// and a mask and log2(n / P) rotations unpack each value (one level).
    /// Needs a packed bootstrapper (Trainer::packed_slots()).
    packed,
    /// The cheapest of the policies the bootstrappers allow, by estimated cost
    /// (Plan::cost(); ties: weights first, then just in time) (default).
    fewest,
};

/// Progress after each step.
struct StepReport {
    std::size_t step = 0;  ///< 1-based
    std::size_t steps = 0;
    double elapsed_seconds = 0;
    std::size_t bootstraps = 0;  ///< so far
    std::size_t level = 0;       ///< lowest level among the weights after the step
};

struct TrainingOptions {
    Optimizer optimizer = {};
    /// Steps (mini-batches) in all; batches are taken in turn, wrapping around.
    std::size_t steps = 1;
    RefreshPolicy policy = RefreshPolicy::fewest;
    std::function<void(const StepReport&)> progress = nullptr;
    Loss loss = Loss::mse;
    /// The softmax's intervals, degrees and iterations (Loss::softmax_cross_entropy).
    SoftmaxOptions softmax = {};
    /// Set to decrypt the training loss each epoch: this REVEALS the loss (see
    /// RevealLoss). Empty (the default): nothing is decrypted during training.
    std::optional<RevealLoss> reveal_loss_each_epoch = std::nullopt;
    /// RefreshPolicy::packed: the period of the packed ciphertext, the slots of
    /// its bootstrapper. 0 (the default): the fewest, bit_ceil(values) x P. Any
    /// larger power of two up to the ring's slots is allowed; the ring's slots
    /// let one full-slot bootstrapper (one set of keys) refresh both the packed
    /// weights and activations, which halves the key memory of a plan that
    /// needs both, at the price of a full-slot bootstrap for the weights.
    std::size_t packed_slots = 0;
};

/// One bootstrap of the plan (or of a run).
struct RefreshEvent {
    std::size_t step = 0;   ///< 1-based
    std::string value;      ///< what was refreshed
    std::size_t level = 0;  ///< its level before
    bool packed = false;    ///< the packed weights, by the packed (sparse-slot) bootstrapper
    friend bool operator==(const RefreshEvent&, const RefreshEvent&) = default;
};

/// Estimated cost of a packed (sparse-slot) bootstrap in full-slot bootstraps:
/// it evaluates EvalMod, the bulk of a bootstrap, on one ciphertext instead of
/// two, with CoeffToSlot and SlotToCoeff on n slots (docs/neural_networks.md
/// has the measured ratio).
inline constexpr double packed_bootstrap_cost = 0.5;

/// The level plan: a dry run of the training on the parameters' levels.
struct Plan {
    RefreshPolicy policy = RefreshPolicy::weights_first;
    std::size_t steps = 0;
    std::size_t refresh_level = 0;  ///< levels a bootstrap leaves (0: no bootstrapping)
    std::size_t data_level = 0;
    /// Levels one step consumes on the weights (start level - end level),
    /// measured from weights at refresh_level (or data_level without bootstrapping).
    std::size_t step_depth = 0;
    std::vector<RefreshEvent> events;
    /// Lowest weight level after each step.
    std::vector<std::size_t> levels_after;
    /// Ciphertext products, rotations per step (counted on the dry run).
    std::size_t products_per_step = 0;
    std::size_t rotations_per_step = 0;
    /// Levels between the logits and the output gradient: 0 for MSE, the
    /// softmax's depth for softmax cross-entropy (part of step_depth).
    std::size_t loss_depth = 0;
    /// Whether the plan includes the loss monitoring (reveal_loss_each_epoch).
    bool monitored = false;
    /// Packed policy: values (weights and velocities) in the packed
    /// ciphertext, its period (the packed bootstrapper's slots), the levels of
    /// packing (0: the masks ride on the update) and unpacking, and the
    /// rotations of one unpacking.
    std::size_t packed_values = 0;
    std::size_t packed_slots = 0;
    std::size_t packed_block = 0;  ///< slots of one value (P)
    std::size_t pack_levels = 0;
    std::size_t unpack_levels = 0;
    std::size_t unpack_rotations = 0;
    std::size_t packed_refresh_level = 0;  ///< levels a packed bootstrap leaves

    [[nodiscard]] std::size_t bootstraps() const noexcept { return events.size(); }
    [[nodiscard]] std::size_t packed_bootstraps() const noexcept {
        return static_cast<std::size_t>(
            std::count_if(events.begin(), events.end(), [](const auto& e) { return e.packed; }));
    }
    /// Estimated cost in full-slot bootstraps (packed ones: packed_bootstrap_cost,
    /// or 1 when they bootstrap full slots).
    [[nodiscard]] double cost(std::size_t full_slots) const noexcept {
        const double packed = packed_slots < full_slots ? packed_bootstrap_cost : 1.0;
        const std::size_t p = packed_bootstraps();
        return static_cast<double>(bootstraps() - p) + packed * static_cast<double>(p);
    }

    [[nodiscard]] std::string to_string() const {
        std::ostringstream out;
        out << "level plan: " << steps << " steps, "
            << (policy == RefreshPolicy::weights_first ? "refresh weights first"
                : policy == RefreshPolicy::packed      ? "packed weights"
                                                       : "just in time")
            << ", one step consumes " << step_depth << " levels";
        if (policy == RefreshPolicy::packed)
            out << " (unpacking included)";
        if (loss_depth)
            out << ", the softmax cross-entropy takes " << loss_depth << " levels";
        if (monitored)
            out << ", loss monitored (revealed each epoch)";
        if (refresh_level)
            out << ", a bootstrap leaves " << refresh_level;
        else if (packed_refresh_level)
            out << ", a packed bootstrap leaves " << packed_refresh_level;
        else
            out << " (no bootstrapping; data at level " << data_level << ")";
        out << ", " << bootstraps() << " bootstraps in all";
        if (policy == RefreshPolicy::packed)
            out << " (" << packed_bootstraps() << " packed)";
        out << "; per step " << products_per_step << " ciphertext products, " << rotations_per_step
            << " rotations\n";
        if (policy == RefreshPolicy::packed) {
            out << "  packing: " << packed_values << " values of " << packed_block
                << " slots in one ciphertext of period " << packed_slots << ", packing "
                << pack_levels << " levels (masks in the update), unpacking " << unpack_levels
                << " level and " << unpack_rotations << " rotations\n";
        }
        std::size_t e = 0;
        for (std::size_t s = 1; s <= steps; ++s) {
            out << "  step " << s << ":";
            std::size_t count = 0;
            std::string names;
            for (; e < events.size() && events[e].step == s; ++e) {
                ++count;
                names += (names.empty() ? "" : ", ") + events[e].value + " (level " +
                         std::to_string(events[e].level) + ")";
            }
            if (count)
                out << " bootstrap " << count << ": " << names << ";";
            out << " weights end at level " << levels_after[s - 1] << "\n";
        }
        return out.str();
    }
    friend std::ostream& operator<<(std::ostream& out, const Plan& p) {
        return out << p.to_string();
    }
};

/// The weights after encrypted training, still encrypted, with the run's record.
struct EncryptedNetwork {
    struct Layer {
        std::vector<ckks::Ciphertext> diagonals;
        ckks::Ciphertext bias;
    };
    std::vector<Layer> layers;  ///< trainable Dense layers only
    std::vector<RefreshEvent> events;
    std::vector<std::size_t> levels_after;
    double seconds = 0;
    /// The decrypted loss of each epoch; empty unless reveal_loss_each_epoch is set.
    std::vector<double> revealed_losses;
};

namespace detail {

// Scales of v by a mask and a factor.
inline std::vector<double> scaled(const std::vector<double>& mask, double factor) {
    std::vector<double> out(mask.size());
    for (std::size_t i = 0; i < mask.size(); ++i)
        out[i] = mask[i] * factor;
    return out;
}

/// The training step written once for both backends.
template <typename Backend>
class Engine {
  public:
    using V = typename Backend::Value;

    struct DenseState {
        std::size_t index = 0;  // position in the layer list
        std::size_t m = 0, n = 0, mp = 0, np = 0, k = 0;
        bool trainable = true;
        std::vector<V> diag;  // trainable
        V bias;
        std::vector<V> vdiag;  // velocities
        V vbias;
        std::vector<std::vector<double>> plain_diag;  // frozen
        std::vector<double> plain_bias;
        std::vector<std::vector<double>> masks;  // valid entries of each diagonal
        std::vector<double> bias_mask;
        std::size_t first_value = 0;  // packed policy: index of diagonal 0 (the bias: + k)
        // forward caches
        std::vector<V> inputs;
    };

    Engine(Backend& be, const Sequential& net, const Layout& layout, const Optimizer& opt)
        : be_(be), net_(net), layout_(layout), opt_(opt) {}

    std::size_t products = 0;
    std::size_t rotations = 0;
    std::vector<RefreshEvent> events;
    std::size_t step = 0;
    std::size_t weight_need = 0;  // weights_first threshold (0: just in time)
    // The loss: MSE, or softmax cross-entropy through `softmax`'s polynomials.
    Loss loss = Loss::mse;
    const SoftmaxCrossEntropy* softmax = nullptr;
    // When set, every step leaves its batch loss in every slot of loss_value.
    bool monitor = false;
    V loss_value;

    // Diagonal k of W in slots (tiled with period max(mp, np) over every block).
    std::vector<double> diagonal_slots(const DenseWeights& w, std::size_t mp, std::size_t np,
                                       std::size_t k, bool mask) const {
        const std::size_t q = std::max(mp, np);
        std::vector<double> period(q);
        for (std::size_t u = 0; u < q; ++u) {
            const std::size_t row = u % mp;
            const std::size_t col = (u + k) % np;
            const bool valid = row < w.outputs && col < w.inputs;
            period[u] = valid ? (mask ? 1.0 : w.at(row, col)) : 0.0;
        }
        std::vector<double> slots(layout_.slots);
        for (std::size_t b = 0; b < layout_.blocks(); ++b)
            put_tiled(slots, b, layout_.block, period, q);
        return slots;
    }
    std::vector<double> bias_slots(const DenseWeights& w, std::size_t mp, bool mask) const {
        std::vector<double> period(mp, 0.0);
        for (std::size_t i = 0; i < w.outputs; ++i)
            period[i] = mask ? 1.0 : w.b[i];
        std::vector<double> slots(layout_.slots);
        for (std::size_t b = 0; b < layout_.blocks(); ++b)
            put_tiled(slots, b, layout_.block, period, mp);
        return slots;
    }

    // Sets up the layers' states; `encode` turns slots into a Value.
    bool all_plain = false;  // every layer's weights in the clear (inference)

    template <typename Encode>
    void init(const Weights& weights, Encode&& encode) {
        dense_.clear();
        weight_values_ = 0;
        holding = false;
        packed_velocities = false;
        std::size_t d = 0;
        for (std::size_t i = 0; i < net_.layers().size(); ++i) {
            const Dense* layer = std::get_if<Dense>(&net_.layers()[i]);
            if (!layer)
                continue;
            const DenseWeights& w = weights.layers.at(d++);
            DenseState s;
            s.index = i;
            s.m = w.outputs;
            s.n = w.inputs;
            s.mp = padded(s.m);
            s.np = padded(s.n);
            s.k = std::min(s.mp, s.np);
            s.trainable = layer->trainable && !all_plain;
            for (std::size_t k = 0; k < s.k; ++k) {
                if (s.trainable) {
                    s.diag.push_back(encode(diagonal_slots(w, s.mp, s.np, k, false)));
                } else {
                    s.plain_diag.push_back(diagonal_slots(w, s.mp, s.np, k, false));
                }
                s.masks.push_back(diagonal_slots(w, s.mp, s.np, k, true));
            }
            if (s.trainable)
                s.bias = encode(bias_slots(w, s.mp, false));
            else
                s.plain_bias = bias_slots(w, s.mp, false);
            s.bias_mask = bias_slots(w, s.mp, true);
            if (s.trainable) {
                s.first_value = weight_values_;
                weight_values_ += s.k + 1;
            }
            dense_.push_back(std::move(s));
        }
    }

    std::vector<DenseState>& layers() { return dense_; }

    // Reads the weights back from decoded slots (block 0).
    Weights read(const std::function<std::vector<double>(const V&)>& decode) const {
        Weights out;
        std::size_t d = 0;
        for (const DenseState& s : dense_) {
            DenseWeights w{s.n, s.m, std::vector<double>(s.m * s.n, 0.0),
                           std::vector<double>(s.m, 0.0)};
            const std::size_t q = std::max(s.mp, s.np);
            for (std::size_t k = 0; k < s.k; ++k) {
                const std::vector<double> v = s.trainable ? decode(s.diag[k]) : s.plain_diag[k];
                for (std::size_t u = 0; u < q; ++u) {
                    const std::size_t row = u % s.mp;
                    const std::size_t col = (u + k) % s.np;
                    if (row < s.m && col < s.n)
                        w.w[row * s.n + col] = v[u];
                }
            }
            const std::vector<double> b = s.trainable ? decode(s.bias) : s.plain_bias;
            for (std::size_t i = 0; i < s.m; ++i)
                w.b[i] = b[i];
            out.layers.push_back(std::move(w));
            ++d;
        }
        return out;
    }

    // ---- level management ------------------------------------------------------

    void ensure(V& v, std::size_t need, const std::string& what) {
        if (be_.level(v) >= need)
            return;
        const std::size_t top = be_.refresh_level();
        if (top == 0) {
            throw LevelError(cloak::detail::message(
                "ml::nn: ", what, " is at level ", be_.level(v),
                step ? cloak::detail::message(" in step ", step) : std::string(),
                " and the next operation needs ", need,
                "; the levels ran out: pass a boot::Bootstrapper to fit() or predict(), train "
                "fewer steps, or use parameters with more levels (Trainer::plan() says how "
                "many levels each step takes)"));
        }
        if (need > top) {
            throw ParameterError(
                cloak::detail::message("ml::nn::Trainer: ", what, " needs ", need,
                                       " levels for one operation, and a "
                                       "bootstrap leaves only ",
                                       top,
                                       "; use bootstrapping parameters with more user "
                                       "levels or a lower-degree activation"));
        }
        events.push_back({step, what, be_.level(v)});
        v = be_.refresh(v);
    }

    // ---- arithmetic with level alignment (identical on both backends) -----------

    V add(const V& a, const V& b) {
        const std::size_t la = be_.level(a), lb = be_.level(b);
        if (la > lb)
            return be_.add_aligned(be_.bring(a, 1.0, lb, scale_of(b)), b);
        if (lb > la)
            return be_.add_aligned(a, be_.bring(b, 1.0, la, scale_of(a)));
        if (same_scale(scale_of(a), scale_of(b)))
            return be_.add_aligned(a, b);
        if (la == 0) {
            // No level to align the scales: refresh one operand, then bring it down.
            V c = b;
            ensure(c, 1, "an operand of a sum at level 0");
            return be_.add_aligned(a, be_.bring(c, 1.0, 0, scale_of(a)));
        }
        const double s = scale_of(a);
        return be_.add_aligned(be_.bring(a, 1.0, la - 1, s), be_.bring(b, 1.0, la - 1, s));
    }
    V sub(const V& a, const V& b) { return add(a, be_.neg(b)); }
    // y + c x, at most one level below x.
    V axpy(double c, const V& x, const V& y) {
        const std::size_t lx = be_.level(x), ly = be_.level(y);
        if (lx == 0)
            throw out_of_levels("a constant product", 0);
        const std::size_t l = std::min(ly, lx - 1);
        const V yy = l < ly ? be_.drop(y, l) : y;
        return be_.add_aligned(yy, be_.bring(x, c, l, scale_of(yy)));
    }
    V mul(const V& a, const V& b) {
        ++products;
        return be_.mul(a, b);
    }
    V rot(const V& a, std::int64_t k) {
        ++rotations;
        return be_.rot(a, k);
    }

    // The in-tile cyclic rotation by k of a vector tiled with period p: one level
    // (the two rotations come from one hoisted decomposition).
    std::vector<double> tile_mask(std::size_t p, std::size_t k, bool low) const {
        std::vector<double> m(layout_.slots);
        for (std::size_t t = 0; t < layout_.slots; ++t) {
            const bool in = (t % layout_.block) % p + k < p;
            m[t] = in == low ? 1.0 : 0.0;
        }
        return m;
    }
    std::vector<double> low_mask(std::size_t p, std::size_t width) const {
        std::vector<double> m(layout_.slots);
        for (std::size_t t = 0; t < layout_.slots; ++t)
            m[t] = (t % layout_.block) % p < width ? 1.0 : 0.0;
        return m;
    }
    V rotc(const V& x, std::int64_t k, std::size_t p) {
        const auto pp = static_cast<std::int64_t>(p);
        const std::size_t kk = static_cast<std::size_t>(((k % pp) + pp) % pp);
        if (kk == 0)
            return x;
        const std::int64_t steps[2] = {static_cast<std::int64_t>(kk),
                                       static_cast<std::int64_t>(kk) - pp};
        rotations += 2;
        std::vector<V> r = be_.rot_many(x, steps);
        const V lo = be_.mul(r[0], tile_mask(p, kk, true));
        const V hi = be_.mul(r[1], tile_mask(p, kk, false));
        return add(lo, hi);
    }
    // Sum over t < hi / lo of rotations by t lo (plain rotations; valid where
    // the tile does not end), then mask the first lo slots of each hi-tile and
    // replicate them with period lo.
    V fold(V y, std::size_t lo, std::size_t hi, const std::string& what) {
        if (lo >= hi)
            return y;
        for (std::size_t t = lo; t < hi; t <<= 1)
            y = add(y, rot(y, static_cast<std::int64_t>(t)));
        ensure(y, 1, what);
        y = be_.mul(y, low_mask(hi, lo));
        for (std::size_t t = lo; t < hi; t <<= 1)
            y = add(y, rot(y, -static_cast<std::int64_t>(t)));
        return y;
    }
    // Sum over every block (all samples and replicas), left in every block.
    V sample_sum(V v) {
        for (std::size_t t = layout_.block; t < layout_.slots; t <<= 1)
            v = add(v, rot(v, static_cast<std::int64_t>(t)));
        return v;
    }

    V add_constant(const V& x, double c) {
        return add(x, encode_like(std::vector<double>(layout_.slots, c), x));
    }
    // The sum of the first `width` slots of each tile of `period` slots, times
    // `factor`, in every slot of the tile. Rotations by powers of two and the
    // partial sums they build add the window up at the tile's head (no level),
    // a mask keeps the heads (one level), rotations -1, -2, .., -period/2
    // spread each head over its tile. Slots of the tile past `width` (padding)
    // are left out of the sum.
    V window_sum(const V& x, std::size_t width, std::size_t period, double factor,
                 const std::string& what) {
        V acc;
        bool any = false;
        std::size_t offset = 0;
        V part = x;  // sum of `len` consecutive slots
        for (std::size_t len = 1; len <= width; len <<= 1) {
            if (width & len) {
                const V shifted = offset ? rot(part, static_cast<std::int64_t>(offset)) : part;
                acc = any ? add(acc, shifted) : shifted;
                any = true;
                offset += len;
            }
            if (2 * len <= width)
                part = add(part, rot(part, static_cast<std::int64_t>(len)));
        }
        ensure(acc, 1, what);
        acc = be_.mul(acc, scaled(low_mask(period, 1), factor));
        for (std::size_t t = 1; t < period; t <<= 1)
            acc = add(acc, rot(acc, -static_cast<std::int64_t>(t)));
        return acc;
    }
    // The sum over every slot, in every slot.
    V total(V v) {
        for (std::size_t t = 1; t < layout_.slots; t <<= 1)
            v = add(v, rot(v, static_cast<std::int64_t>(t)));
        return v;
    }

    // ---- the loss -----------------------------------------------------------------

    // softmax(z) - y for the logits `out` (tiled with period k_p in each block),
    // the steps of SoftmaxCrossEntropy; with `monitor`, the batch's mean loss
    // log b + log S' - z'_label in loss_value.
    V softmax_gradient(V out, const V& targets) {
        const SoftmaxCrossEntropy& sm = *softmax;
        const std::size_t k = net_.outputs();
        const std::size_t kp = padded(k);
        ensure(out, 1, "logits");
        const V minus_mean = window_sum(out, k, kp, -1.0 / static_cast<double>(k), "logits");
        V centred = add(out, minus_mean);
        ensure(centred, ckks::Evaluator::depth(sm.exp_polynomial()), "centred logits");
        V e = be_.poly(centred, sm.exp_polynomial(), sm.logit_bound());             // e^(z') / b
        const V y = add_constant(window_sum(e, k, kp, -1.0, "exponentials"), 1.0);  // 1 - S'
        // 1 / S' = prod_{j < n} (1 + y^(2^j)).
        V inverse = add_constant(y, 1.0);
        V power = y;
        for (std::size_t j = 1; j < sm.inverse_iterations(); ++j) {
            ensure(power, 1, "inverse power");
            power = mul(power, power);
            ensure(inverse, 1, "inverse product");
            V factor = add_constant(power, 1.0);
            ensure(factor, 1, "inverse factor");
            inverse = mul(inverse, factor);
        }
        ensure(e, 1, "exponentials");
        ensure(inverse, 1, "inverse");
        const V probabilities = mul(e, inverse);
        if (monitor) {
            const double n = static_cast<double>(layout_.batch * layout_.replicas);
            V yy = y;
            ensure(yy, ckks::Evaluator::depth(sm.log_polynomial()), "loss sums");
            V log_sum = be_.poly(yy, sm.log_polynomial(), 1.0);
            ensure(log_sum, 1, "loss logarithms");
            log_sum = be_.mul(log_sum, scaled(low_mask(layout_.block, 1), 1.0 / n));
            V t = targets;
            ensure(t, 1, "loss targets");
            t = be_.mul(t, scaled(low_mask(layout_.block, k), -1.0 / n));
            ensure(t, 1, "loss targets");
            ensure(centred, 1, "loss logits");
            loss_value =
                add_constant(total(add(log_sum, mul(t, centred))), std::log(sm.sum_interval().b));
        }
        return sub(probabilities, targets);
    }

    // The batch's mean over samples and outputs of (out - y)^2, from g = out - y.
    V squared_error(V g) {
        const std::size_t k = net_.outputs();
        const double n = static_cast<double>(layout_.batch * layout_.replicas * k);
        ensure(g, 1, "loss residual");
        V m = be_.mul(g, scaled(low_mask(layout_.block, k), 1.0 / n));
        ensure(m, 1, "loss residual");
        return total(mul(m, g));
    }

    // ---- the network ------------------------------------------------------------

    std::string name(const DenseState& s, const char* what, std::size_t k = SIZE_MAX) const {
        std::string out = "layer " + std::to_string(s.index + 1) + " " + what;
        if (k != SIZE_MAX)
            out += " " + std::to_string(k);
        return out;
    }

    V dense_forward(DenseState& s, const V* x, const std::vector<V>* first_inputs) {
        if (first_inputs) {
            s.inputs = *first_inputs;
        } else {
            V in = *x;
            if (s.k > 1)
                ensure(in, 2, name(s, "input"));
            s.inputs.clear();
            for (std::size_t k = 0; k < s.k; ++k)
                s.inputs.push_back(rotc(in, static_cast<std::int64_t>(k), s.np));
        }
        V y;
        for (std::size_t k = 0; k < s.k; ++k) {
            V term;
            if (s.trainable) {
                ensure(s.diag[k], 1, name(s, "diagonal", k));
                ensure(s.inputs[k], 1, name(s, "rotated input", k));
                term = mul(s.diag[k], s.inputs[k]);
            } else {
                ensure(s.inputs[k], 1, name(s, "rotated input", k));
                term = be_.mul(s.inputs[k], s.plain_diag[k]);
            }
            y = k == 0 ? term : add(y, term);
        }
        if (s.mp < s.np)
            y = fold(y, s.mp, s.np, name(s, "partial sums"));
        if (s.trainable)
            return add(y, s.bias);
        return add(y, encode_like(s.plain_bias, y));
    }

    // g_x from g_z through the layer (weights before the update).
    V dense_backward(DenseState& s, V g) {
        V acc;
        for (std::size_t k = 0; k < s.k; ++k) {
            ensure(g, 1, name(s, "output gradient"));
            V c;
            if (s.trainable) {
                ensure(s.diag[k], 1, name(s, "diagonal", k));
                c = mul(s.diag[k], g);
            } else {
                c = be_.mul(g, s.plain_diag[k]);
            }
            if (k != 0) {
                ensure(c, 1, name(s, "transposed product", k));
                c = rotc(c, -static_cast<std::int64_t>(k), std::max(s.mp, s.np));
            }
            acc = k == 0 ? c : add(acc, c);
        }
        if (s.np < s.mp)
            acc = fold(acc, s.np, s.mp, name(s, "input gradient"));
        return acc;
    }

    std::function<V(const std::vector<double>&, std::size_t, double)> encode_fn;
    V encode_like(const std::vector<double>& v, const V& like) {
        return encode_fn(v, be_.level(like), scale_of(like));
    }
    std::function<double(const V&)> scale_fn;
    double scale_of(const V& v) const { return scale_fn(v); }

    struct ActivationCache {
        V z;   // square: z itself
        V dz;  // polynomial: p'(z)
    };

    // Forward through the whole network; caches for the backward pass.
    V forward(const std::vector<V>& first_inputs, std::vector<ActivationCache>* caches) {
        V x;
        std::size_t d = 0;
        for (std::size_t i = 0; i < net_.layers().size(); ++i) {
            const Layer& layer = net_.layers()[i];
            if (std::holds_alternative<Dense>(layer)) {
                DenseState& s = dense_[d++];
                x = dense_forward(s, d == 1 ? nullptr : &x, d == 1 ? &first_inputs : nullptr);
            } else {
                const Activation& f = std::get<Activation>(layer);
                const std::string what = "layer " + std::to_string(i + 1) + " input";
                ActivationCache c;
                if (f.is_square()) {
                    ensure(x, 1, what);
                    if (caches)
                        c.z = x;
                    x = mul(x, x);
                } else {
                    ensure(x, std::max(f.depth(), caches ? f.derivative_depth() : 0), what);
                    if (caches)
                        c.dz = be_.poly(x, *f.scaled_derivative(), f.bound());
                    x = be_.poly(x, *f.scaled(), f.bound());
                }
                if (caches)
                    caches->push_back(std::move(c));
            }
        }
        return x;
    }

    void update(DenseState& s, std::vector<V> grads, V bias_grad, std::size_t t) {
        const double lr = opt_.rate(t);
        const double factor = lr / static_cast<double>(layout_.batch * layout_.replicas);
        const double mu = opt_.momentum;
        // The step lr / (B R) g, masked to the layer's real entries, is scaled
        // before the sum over the blocks: every value a bootstrap may meet stays
        // of the order of one sample's gradient.
        auto one = [&](V& w, V& v, V grad, const std::vector<double>& mask, const std::string& what,
                       std::size_t value) {
            if (packed) {
                pack_update(w, v, std::move(grad), mask, what, value, factor);
                return;
            }
            ensure(grad, 1, what + " gradient");
            // Landing on the context's scale: otherwise the weights' scale,
            // a power of the one the step started from, drifts step after step
            // until it under- or overflows (after about 10 steps at 9 levels).
            V step =
                sample_sum(be_.bring(grad, scaled(mask, factor), be_.level(grad) - 1, be_.scale()));
            if (opt_.method == Method::sgd) {
                w = sub(w, step);
                return;
            }
            if (!v.empty())
                ensure(v, 1, what + " velocity");
            if (opt_.method == Method::momentum) {
                v = v.empty() ? be_.neg(step) : axpy(mu, v, be_.neg(step));
                w = add(w, v);
                return;
            }
            // Nesterov, look-ahead form: w += mu^2 v - (1 + mu) step.
            ensure(step, 1, what + " step");
            const V ahead = v.empty() ? w : axpy(mu * mu, v, w);
            w = axpy(-(1.0 + mu), step, ahead);
            v = v.empty() ? be_.neg(step) : axpy(mu, v, be_.neg(step));
        };
        if (s.vdiag.size() < s.k)
            s.vdiag.resize(s.k);
        for (std::size_t k = 0; k < s.k; ++k) {
            one(s.diag[k], s.vdiag[k], std::move(grads[k]), s.masks[k], name(s, "diagonal", k),
                s.first_value + k);
        }
        one(s.bias, s.vbias, std::move(bias_grad), s.bias_mask, name(s, "bias"),
            s.first_value + s.k);
    }

    // ---- packed refresh (RefreshPolicy::packed) -----------------------------------
    //
    // Value j (weight j, velocity W + j; W weights in all) lives in block j of
    // every period of `packed_blocks() P` slots: every weight is P-periodic, so
    // masking it to the blocks j mod packed_blocks() packs it without a
    // rotation, and the update writes its result packed directly: the new
    // value is a sum of operands (the weight, the velocity, the step's sum
    // over the batch) times constants, and multiplying them by masks instead
    // of constants costs no extra level. The step is summed over the blocks
    // before it is scaled (the mask, lr / (B R), and the block mask multiply
    // once, after the sum), so that the packed update takes one level like the
    // unpacked one. Unpacking value j: the block mask, then the sum of
    // rotations by P, 2P, .., packed_blocks() P / 2 replicates it (one level).

    bool packed = false;
    std::size_t packed_need = 0;  // level the packed weights need at the start of a step
    bool holding = false;         // the weights live in packed_weights (between steps)
    bool packed_velocities = false;
    V packed_weights;

    struct PackTerm {
        V x;
        std::vector<double> c;
    };
    std::vector<PackTerm> pack_terms;

    std::size_t weight_values() const { return weight_values_; }
    std::size_t packed_values() const {
        return weight_values_ * (opt_.method == Method::sgd ? 1 : 2);
    }
    std::size_t packed_period = 0;  // slots of the packed ciphertext (0: the fewest)
    std::size_t packed_blocks() const {
        if (packed_period != 0)
            return packed_period / layout_.block;
        return std::bit_ceil(std::max<std::size_t>(packed_values(), 1));
    }
    std::string packed_name() const {
        return "packed weights (" + std::to_string(packed_values()) + " values, " +
               std::to_string(packed_blocks() * layout_.block) + " slots)";
    }
    std::vector<double> block_mask(std::size_t value) const {
        std::vector<double> m(layout_.slots);
        const std::size_t blocks = packed_blocks();
        for (std::size_t t = 0; t < layout_.slots; ++t)
            m[t] = (t / layout_.block) % blocks == value ? 1.0 : 0.0;
        return m;
    }

    void pack_update(V& w, V& v, V grad, const std::vector<double>& mask, const std::string& what,
                     std::size_t value, double factor) {
        const double mu = opt_.momentum;
        V sum = sample_sum(std::move(grad));
        if (be_.level(sum) == 0) {
            // The unscaled sum is far too large to bootstrap: the plan is infeasible.
            throw LevelError(cloak::detail::message(
                "ml::nn: the packed update of ", what, " meets the step at level 0 in step ", step,
                "; packing needs a level there (use another refresh policy)"));
        }
        ensure(w, 1, what);
        const std::vector<double> wm = block_mask(value);
        const bool velocity = opt_.method != Method::sgd;
        const std::vector<double> vm =
            velocity ? block_mask(weight_values_ + value) : std::vector<double>();
        // new w = w + a v - cw step, new v = mu v - step (sgd: no v).
        const double a = opt_.method == Method::nesterov ? mu * mu : mu;
        const double cw = opt_.method == Method::nesterov ? 1.0 + mu : 1.0;
        std::vector<double> cv(layout_.slots), cs(layout_.slots);
        for (std::size_t t = 0; t < layout_.slots; ++t) {
            const double vmt = velocity ? vm[t] : 0.0;
            cv[t] = a * wm[t] + mu * vmt;
            cs[t] = -factor * mask[t] * (cw * wm[t] + vmt);
        }
        pack_terms.push_back({w, wm});
        if (velocity && !v.empty()) {
            ensure(v, 1, what + " velocity");
            pack_terms.push_back({v, std::move(cv)});
        }
        pack_terms.push_back({std::move(sum), std::move(cs)});
        packed_velocities = packed_velocities || velocity;
    }

    // The sum of the terms, each brought one level below the lowest operand,
    // at the context's scale: the scale a step ends with is a power of the one
    // it starts from, so without this reset it would drift step after step
    // until an encoding fails.
    V combine_terms() {
        std::size_t lowest = SIZE_MAX;
        for (const PackTerm& t : pack_terms)
            lowest = std::min(lowest, be_.level(t.x));
        const double scale = be_.scale();
        if (lowest == 0)
            throw out_of_levels("packing", 0);
        V c;
        for (std::size_t i = 0; i < pack_terms.size(); ++i) {
            V y = be_.bring(pack_terms[i].x, pack_terms[i].c, lowest - 1, scale);
            c = i == 0 ? std::move(y) : be_.add_aligned(std::move(c), y);
        }
        pack_terms.clear();
        return c;
    }

    // Calls f(value index, weight, velocity) for every trainable value.
    template <typename F>
    void for_each_value(F&& f) {
        for (DenseState& s : dense_) {
            if (!s.trainable)
                continue;
            if (s.vdiag.size() < s.k)
                s.vdiag.resize(s.k);
            for (std::size_t k = 0; k < s.k; ++k)
                f(s.first_value + k, s.diag[k], s.vdiag[k], name(s, "diagonal", k));
            f(s.first_value + s.k, s.bias, s.vbias, name(s, "bias"));
        }
    }

    // At the start of a step: pack the weights if they cannot carry it,
    // bootstrap the packed ciphertext if it cannot, and unpack.
    void start_packed() {
        if (!holding) {
            if (weight_level() + 1 >= packed_need)
                return;
            bool velocities = false;
            for_each_value([&](std::size_t j, V& w, V& v, const std::string& what) {
                ensure(w, 1, what);
                pack_terms.push_back({w, block_mask(j)});
                if (!v.empty()) {
                    ensure(v, 1, what + " velocity");
                    pack_terms.push_back({v, block_mask(weight_values_ + j)});
                    velocities = true;
                }
            });
            packed_weights = combine_terms();
            packed_velocities = velocities;
            holding = true;
        }
        if (be_.level(packed_weights) < packed_need) {
            if (be_.packed_refresh_level() == 0) {
                throw LevelError(cloak::detail::message(
                    "ml::nn: the packed weights are at level ", be_.level(packed_weights),
                    " in step ", step, " and a step needs ", packed_need,
                    "; pass the packed bootstrapper to fit() (Trainer::packed_slots())"));
            }
            events.push_back({step, packed_name(), be_.level(packed_weights), true});
            packed_weights = be_.refresh_packed(packed_weights);
        }
        const std::size_t span = packed_blocks() * layout_.block;
        for_each_value([&](std::size_t j, V& w, V& v, const std::string&) {
            auto unpack = [&](std::size_t index) {
                V y = be_.mul(packed_weights, block_mask(index));
                for (std::size_t t = layout_.block; t < span; t <<= 1) {
                    y = add(y, rot(y, static_cast<std::int64_t>(t)));
                }
                return y;
            };
            w = unpack(j);
            if (packed_velocities)
                v = unpack(weight_values_ + j);
        });
        holding = false;
    }

    // After the last step: each weight rotated out of the packed ciphertext
    // into block 0, the block decrypt() reads (no level; the other blocks keep
    // the other values).
    void finish() {
        if (!packed || !holding)
            return;
        for_each_value([&](std::size_t j, V& w, V&, const std::string&) {
            V x = packed_weights;
            for (std::size_t bit = 1; bit <= j; bit <<= 1) {
                if (j & bit)
                    x = rot(x, static_cast<std::int64_t>(bit * layout_.block));
            }
            w = std::move(x);
        });
        holding = false;
    }

    // Bootstraps weights (and velocities) whose level cannot carry a step.
    void refresh_weights() {
        if (weight_need == 0)
            return;
        for (DenseState& s : dense_) {
            if (!s.trainable)
                continue;
            for (std::size_t k = 0; k < s.k; ++k) {
                ensure(s.diag[k], weight_need, name(s, "diagonal", k));
                if (!s.vdiag.empty() && !s.vdiag[k].empty())
                    ensure(s.vdiag[k], weight_need, name(s, "velocity", k));
            }
            ensure(s.bias, weight_need, name(s, "bias"));
            if (!s.vbias.empty())
                ensure(s.vbias, weight_need, name(s, "bias velocity"));
        }
    }

    std::size_t weight_level() const {
        if (holding)
            return be_.level(packed_weights);
        std::size_t level = SIZE_MAX;
        for (const DenseState& s : dense_) {
            if (!s.trainable)
                continue;
            for (const V& v : s.diag)
                level = std::min(level, be_.level(v));
            level = std::min(level, be_.level(s.bias));
        }
        return level == SIZE_MAX ? 0 : level;
    }

    // One SGD step on a batch: forward, MSE gradient, backward, update.
    void train_step(const std::vector<V>& inputs, const V& targets, std::size_t t) {
        step = t;
        if (packed)
            start_packed();
        else
            refresh_weights();
        std::vector<ActivationCache> caches;
        V out = forward(inputs, &caches);
        V g;
        if (loss == Loss::softmax_cross_entropy) {
            g = softmax_gradient(std::move(out), targets);
        } else {
            g = sub(out, targets);  // d(MSE / 2) / d out
            if (monitor)
                loss_value = squared_error(g);
        }
        // Backward, last layer first.
        std::size_t d = dense_.size();
        std::size_t a = caches.size();
        for (std::size_t i = net_.layers().size(); i-- > 0;) {
            const Layer& layer = net_.layers()[i];
            if (std::holds_alternative<Dense>(layer)) {
                DenseState& s = dense_[--d];
                std::vector<V> grads;
                V bias_grad;
                if (s.trainable) {
                    for (std::size_t k = 0; k < s.k; ++k) {
                        ensure(g, 1, name(s, "output gradient"));
                        ensure(s.inputs[k], 1, name(s, "rotated input", k));
                        grads.push_back(mul(g, s.inputs[k]));
                    }
                    bias_grad = g;
                }
                if (d > 0)
                    g = dense_backward(s, g);
                if (s.trainable)
                    update(s, std::move(grads), std::move(bias_grad), t);
                s.inputs.clear();
            } else {
                const Activation& f = std::get<Activation>(layer);
                ActivationCache& c = caches[--a];
                const std::string what = "layer " + std::to_string(i + 1) + " gradient";
                ensure(g, 1, what);
                if (f.is_square()) {
                    ensure(c.z, 1, "layer " + std::to_string(i + 1) + " cached input");
                    g = be_.mul_int(mul(g, c.z), 2);
                } else {
                    ensure(c.dz, 1, "layer " + std::to_string(i + 1) + " cached derivative");
                    g = mul(g, c.dz);
                }
            }
        }
        if (packed) {
            packed_weights = combine_terms();
            holding = true;
        }
    }

  private:
    Backend& be_;
    const Sequential& net_;
    const Layout& layout_;
    const Optimizer& opt_;
    std::vector<DenseState> dense_;
    std::size_t weight_values_ = 0;
};

}  // namespace detail

// ---------------------------------------------------------------------------
// The trainer

/// Trains a Sequential on encrypted mini-batches (see the top of this header).
class Trainer {
  public:
    /// @throws InvalidArgumentError for 0 steps, a learning rate that is not
    ///         positive, a momentum outside [0, 1), softmax cross-entropy on a
    ///         network with one output or with bad SoftmaxOptions, or a
    ///         reveal_loss_each_epoch without a decryptor.
    Trainer(Sequential net, TrainingOptions options)
        : net_(std::move(net)), options_(std::move(options)) {
        if (options_.steps == 0)
            throw InvalidArgumentError("ml::nn::Trainer: 0 steps; ask for at least 1");
        if (!(options_.optimizer.learning_rate > 0) ||
            !std::isfinite(options_.optimizer.learning_rate)) {
            throw InvalidArgumentError(cloak::detail::message("ml::nn::Trainer: learning rate ",
                                                              options_.optimizer.learning_rate,
                                                              " must be positive and finite"));
        }
        if (options_.optimizer.method != Method::sgd &&
            !(options_.optimizer.momentum >= 0 && options_.optimizer.momentum < 1)) {
            throw InvalidArgumentError(
                cloak::detail::message("ml::nn::Trainer: momentum ", options_.optimizer.momentum,
                                       " is outside [0, 1); 0.9 is the usual choice"));
        }
        if (options_.loss == Loss::softmax_cross_entropy)
            softmax_.emplace(net_.outputs(), options_.softmax);
        if (options_.reveal_loss_each_epoch && !options_.reveal_loss_each_epoch->decryptor) {
            throw InvalidArgumentError(
                "ml::nn::Trainer: reveal_loss_each_epoch is set without a decryptor; pass the "
                "key owner's (RevealLoss{.decryptor = &decryptor, .callback = ...}), or leave "
                "it empty to reveal nothing");
        }
    }

    /// The softmax's polynomials (Loss::softmax_cross_entropy), else empty.
    [[nodiscard]] const std::optional<SoftmaxCrossEntropy>& softmax() const noexcept {
        return softmax_;
    }

    [[nodiscard]] const Sequential& network() const noexcept { return net_; }
    [[nodiscard]] const TrainingOptions& options() const noexcept { return options_; }

    /// The rotation steps a training step needs (generate their Galois keys);
    /// with bootstrappers, only those their own keys do not cover. The packed
    /// policy's unpacking rotates by P, 2P, .. (the sum over the batch's
    /// steps): it adds no key.
    [[nodiscard]] std::vector<std::int64_t> rotations(
        const ckks::Context& context, const Layout& layout,
        const boot::Bootstrapper* bootstrapper = nullptr,
        const boot::Bootstrapper* packed_bootstrapper = nullptr) const {
        detail::PlainBackend be(context, context.max_level());
        detail::Engine<detail::PlainBackend> engine = plain_engine(be, layout);
        Dataset zeros = zero_data(layout);
        (void)run_plain(be, engine, zeros, layout, 1, context.max_level());
        std::vector<std::int64_t> out;
        for (std::int64_t k : be.rotations()) {
            bool covered = false;
            for (const boot::Bootstrapper* b : {bootstrapper, packed_bootstrapper})
                covered = covered || (b != nullptr && b->evaluator().has_rotation_key(k));
            if (!covered)
                out.push_back(k);
        }
        return out;
    }

    /// Values (weight diagonals and biases, and their velocities for momentum
    /// and Nesterov) the packed policy puts in one ciphertext.
    [[nodiscard]] std::size_t packed_values() const {
        std::size_t values = 0;
        for (const Layer& layer : net_.layers()) {
            if (const Dense* d = std::get_if<Dense>(&layer); d && d->trainable)
                values += std::min(std::bit_ceil(d->inputs), std::bit_ceil(d->outputs)) + 1;
        }
        return values * (options_.optimizer.method == Method::sgd ? 1 : 2);
    }

    /// The slots of the packed policy's bootstrapper: bit_ceil(packed_values())
    /// blocks of P slots, the period of the packed ciphertext. Build it as
    /// boot::Bootstrapper(context, keygen, boot::Parameters::preset(preset, n)).
    /// @throws ShapeError when the values do not fit in one ciphertext.
    [[nodiscard]] std::size_t packed_slots(const Layout& layout) const {
        const std::size_t n = std::bit_ceil(packed_values()) * layout.block;
        const std::size_t wanted = options_.packed_slots;
        if (wanted != 0 && n <= layout.slots) {
            if (!std::has_single_bit(wanted) || wanted < n || wanted > layout.slots) {
                throw ShapeError(cloak::detail::message(
                    "ml::nn::Trainer::packed_slots: TrainingOptions::packed_slots is ", wanted,
                    "; it must be a power of two from ", n, " (", packed_values(), " values of ",
                    layout.block, " slots) to the ring's ", layout.slots,
                    " slots, or 0 for the fewest"));
            }
            return wanted;
        }
        if (n > layout.slots) {
            throw ShapeError(cloak::detail::message(
                "ml::nn::Trainer::packed_slots: ", packed_values(), " values of ", layout.block,
                " slots need ", n, " slots; a ciphertext has ", layout.slots,
                "; use RefreshPolicy::weights_first or a larger ring degree"));
        }
        return n;
    }

    /// The level plan for the options' steps: a dry run on the context's
    /// primes with data at `data_level` and, when refresh_level > 0,
    /// full-slot bootstrapping that leaves refresh_level levels; when
    /// packed_refresh_level > 0, a packed bootstrapper (packed_slots() slots)
    /// that leaves packed_refresh_level levels. Picks the policy of the
    /// options (fewest: the cheapest by Plan::cost() of those the
    /// bootstrappers allow; the packed policy where it is feasible).
    /// @throws LevelError when the steps need more levels than the context has
    ///         and no bootstrapping is given; ParameterError when one operation needs
    ///         more levels than a bootstrap leaves, or for the packed policy
    ///         without packed_refresh_level.
    [[nodiscard]] Plan plan(const ckks::Context& context, const Layout& layout,
                            std::size_t data_level, std::size_t refresh_level,
                            std::size_t packed_refresh_level = 0) const {
        const RefreshPolicy wanted = options_.policy;
        if (wanted == RefreshPolicy::packed && packed_refresh_level == 0) {
            throw ParameterError(
                "ml::nn::Trainer::plan: RefreshPolicy::packed without a packed bootstrapper; "
                "pass its output level (and the bootstrapper to fit()), see packed_slots()");
        }
        if (wanted != RefreshPolicy::fewest) {
            return plan_with(context, layout, data_level, refresh_level, wanted,
                             packed_refresh_level);
        }
        std::optional<Plan> best;
        std::optional<LevelError> failure;
        const auto consider = [&](RefreshPolicy policy) {
            try {
                Plan p = plan_with(context, layout, data_level, refresh_level, policy,
                                   packed_refresh_level);
                if (!best || p.cost(context.slots()) < best->cost(context.slots()))
                    best = std::move(p);
            } catch (const LevelError& e) {
                if (!failure)
                    failure = e;
            }
        };
        if (refresh_level != 0)
            consider(RefreshPolicy::weights_first);
        consider(RefreshPolicy::just_in_time);
        if (packed_refresh_level != 0 &&
            std::bit_ceil(packed_values()) * layout.block <= layout.slots) {
            consider(RefreshPolicy::packed);
        }
        if (!best)
            throw *failure;
        return *best;
    }

    /// Trains on encrypted batches; nothing is decrypted. With a bootstrapper
    /// (whose context is the evaluator's), values are refreshed as the plan
    /// says; without one, the steps must fit in the data's levels.
    /// @throws KeyMissingError without a relinearization key or a rotation of
    ///         rotations(); LevelError / ParameterError as plan().
    [[nodiscard]] EncryptedNetwork fit(
        const ckks::Evaluator& eval, const EncryptedTrainingData& data,
        const boot::Bootstrapper* bootstrapper = nullptr,
        const boot::Bootstrapper* packed_bootstrapper = nullptr) const {
        return fit(eval, EncryptedBatchSource::of(data), bootstrapper, packed_bootstrapper);
    }

    /// As above, with the batches from a source, one at a time (a dataset
    /// larger than memory, or streamed as training goes).
    /// @throws InvalidArgumentError as above, and when the source gives no
    ///         batch or one of another shape or level than batch 0.
    [[nodiscard]] EncryptedNetwork fit(
        const ckks::Evaluator& eval, const EncryptedBatchSource& data,
        const boot::Bootstrapper* bootstrapper = nullptr,
        const boot::Bootstrapper* packed_bootstrapper = nullptr) const {
        constexpr const char* where = "ml::nn::Trainer::fit";
        if (data.batches == 0 || !data.batch)
            throw InvalidArgumentError(cloak::detail::message(where, ": no encrypted batches"));
        std::shared_ptr<const EncryptedBatch> current = data.batch(0);
        if (!current || current->inputs.empty()) {
            throw InvalidArgumentError(
                cloak::detail::message(where, ": the source gave no ciphertexts for batch 0"));
        }
        const std::size_t inputs = current->inputs.size();
        if (!eval.has_relin_key()) {
            throw KeyMissingError(cloak::detail::message(
                where,
                ": the evaluator has no relinearization key; build it with "
                "keygen.relin_key() and keygen.galois_keys(trainer.rotations(...))"));
        }
        const ckks::Context& context = eval.context();
        const std::size_t refresh = bootstrapper ? bootstrapper->output_level() : 0;
        std::size_t packed_refresh = 0;
        if (packed_bootstrapper) {
            const std::size_t n = packed_slots(data.layout);
            if (packed_bootstrapper->parameters().slots() != n) {
                throw InvalidArgumentError(cloak::detail::message(
                    where, ": the packed bootstrapper bootstraps ",
                    packed_bootstrapper->parameters().slots(), " slots; the packed weights need ",
                    n, " (boot::Parameters::preset(preset, trainer.packed_slots(layout)))"));
            }
            packed_refresh = packed_bootstrapper->output_level();
        }
        const std::size_t data_level = current->inputs.front().level();
        const Plan p = plan(context, data.layout, data_level, refresh, packed_refresh);
        const auto start = std::chrono::steady_clock::now();
        detail::EncryptedBackend be(eval, bootstrapper, packed_bootstrapper);
        detail::Engine<detail::EncryptedBackend> engine(be, net_, data.layout, options_.optimizer);
        configure(engine, options_.reveal_loss_each_epoch.has_value());
        configure_refresh(engine, p);
        const ckks::Encoder encoder(context);
        const ckks::Ciphertext zero = eval.multiply_integer(current->inputs.front(), 0);
        engine.scale_fn = [](const ckks::Ciphertext& c) { return c.scale(); };
        engine.encode_fn = [&](const std::vector<double>& v, std::size_t level, double scale) {
            ckks::Ciphertext z = eval.drop_level_to(zero, level);
            z.set_scale(scale);
            return eval.add(z, encoder.encode(v, {.level = level, .scale = scale}));
        };
        // The initial weights are public (seeded): trivial encryptions (m, 0).
        engine.init(net_.initial_weights(), [&](const std::vector<double>& v) {
            return engine.encode_fn(v, data_level, context.scale());
        });
        EncryptedNetwork out;
        EpochAverage losses(data.batches, options_.steps);
        for (std::size_t t = 1; t <= options_.steps; ++t) {
            const std::size_t index = (t - 1) % data.batches;
            if (t > 1 && data.batches > 1) {
                current.reset();  // at most one batch held at a time
                current = data.batch(index);
            }
            if (!current) {
                throw InvalidArgumentError(cloak::detail::message(
                    where, ": the source gave nothing for batch ", index, " of ", data.batches));
            }
            const bool same_shape = current->inputs.size() == inputs &&
                                    std::ranges::all_of(current->inputs,
                                                        [&](const ckks::Ciphertext& c) {
                                                            return c.level() == data_level;
                                                        }) &&
                                    current->targets.level() == data_level;
            if (!same_shape) {
                throw InvalidArgumentError(cloak::detail::message(
                    where, ": the source's batch ", index, " has ", current->inputs.size(),
                    " input ciphertexts, targets at level ", current->targets.level(),
                    "; batch 0 has ", inputs, ", every one at level ", data_level,
                    ": give every batch the same layout and level"));
            }
            engine.train_step(current->inputs, current->targets, t);
            out.levels_after.push_back(engine.weight_level());
            if (options_.reveal_loss_each_epoch) {
                // The key owner's step: one value, revealed (see RevealLoss).
                const RevealLoss& reveal = *options_.reveal_loss_each_epoch;
                const double value =
                    encoder.decode_real(reveal.decryptor->decrypt(engine.loss_value)).at(0);
                if (const std::optional<EpochLoss> epoch = losses.add(t, value)) {
                    out.revealed_losses.push_back(epoch->loss);
                    if (reveal.callback)
                        reveal.callback(*epoch);
                }
            }
            if (options_.progress) {
                options_.progress(
                    {t, options_.steps,
                     std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
                         .count(),
                     engine.events.size(), engine.weight_level()});
            }
        }
        engine.finish();
        for (auto& s : engine.layers()) {
            if (s.trainable)
                out.layers.push_back({s.diag, s.bias});
        }
        out.events = engine.events;
        out.seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        return out;
    }

    /// The key owner's step: the trained weights in the clear (frozen layers
    /// as they were).
    [[nodiscard]] Weights decrypt(const EncryptedNetwork& trained, const ckks::Decryptor& decryptor,
                                  const ckks::Encoder& encoder) const {
        Weights out = net_.initial_weights();
        std::size_t t = 0;
        std::size_t d = 0;
        for (const Layer& layer : net_.layers()) {
            const Dense* dense = std::get_if<Dense>(&layer);
            if (!dense)
                continue;
            DenseWeights& w = out.layers[d++];
            if (!dense->trainable)
                continue;
            const EncryptedNetwork::Layer& enc = trained.layers.at(t++);
            const std::size_t mp = std::bit_ceil(w.outputs), np = std::bit_ceil(w.inputs);
            const std::size_t q = std::max(mp, np);
            for (std::size_t k = 0; k < enc.diagonals.size(); ++k) {
                const std::vector<double> v =
                    encoder.decode_real(decryptor.decrypt(enc.diagonals[k]));
                for (std::size_t u = 0; u < q; ++u) {
                    const std::size_t row = u % mp, col = (u + k) % np;
                    if (row < w.outputs && col < w.inputs)
                        w.w[row * w.inputs + col] = v[u];
                }
            }
            const std::vector<double> b = encoder.decode_real(decryptor.decrypt(enc.bias));
            for (std::size_t i = 0; i < w.outputs; ++i)
                w.b[i] = b[i];
        }
        return out;
    }

    /// The same training in the clear: the same slots, polynomials, order of
    /// operations, levels and bootstrap points (refresh_level 0: none), in
    /// double. The reference an encrypted run is compared with.
    /// With `epoch_losses`, the loss of each epoch as the monitoring computes it
    /// (in the clear here: nothing is revealed).
    [[nodiscard]] Weights fit_plain(const Dataset& data, const ckks::Context& context,
                                    const Layout& layout, std::size_t data_level,
                                    std::size_t refresh_level, Plan* plan_out = nullptr,
                                    std::vector<double>* epoch_losses = nullptr,
                                    std::size_t packed_refresh_level = 0) const {
        const Plan p = plan(context, layout, data_level, refresh_level, packed_refresh_level);
        detail::PlainBackend be(context, refresh_level, packed_refresh_level);
        detail::Engine<detail::PlainBackend> engine = plain_engine(be, layout);
        configure_refresh(engine, p);
        engine.monitor = engine.monitor || epoch_losses != nullptr;
        (void)run_plain(be, engine, data, layout, options_.steps, data_level, epoch_losses);
        engine.finish();
        if (plan_out)
            *plan_out = p;
        return engine.read([](const detail::PlainBackend::Value& v) { return v.v; });
    }

  private:
    // Averages per-step losses over epochs of `per_epoch` steps.
    class EpochAverage {
      public:
        EpochAverage(std::size_t per_epoch, std::size_t steps)
            : per_epoch_(per_epoch), steps_(steps) {}
        // The epoch's mean when step t closes one.
        std::optional<EpochLoss> add(std::size_t t, double value) {
            sum_ += value;
            ++count_;
            if (t % per_epoch_ != 0 && t != steps_)
                return std::nullopt;
            EpochLoss e{(t - 1) / per_epoch_ + 1, count_, sum_ / static_cast<double>(count_)};
            sum_ = 0;
            count_ = 0;
            return e;
        }

      private:
        std::size_t per_epoch_, steps_;
        double sum_ = 0;
        std::size_t count_ = 0;
    };

    template <typename Engine>
    void configure(Engine& engine, bool monitor) const {
        engine.loss = options_.loss;
        engine.softmax = softmax_ ? &*softmax_ : nullptr;
        engine.monitor = monitor;
    }

    static std::size_t weight_need(const Plan& p) {
        return std::min(p.step_depth, p.refresh_level);
    }

    template <typename Backend>
    static void configure_refresh(detail::Engine<Backend>& engine, const Plan& p) {
        engine.weight_need = p.policy == RefreshPolicy::weights_first ? weight_need(p) : 0;
        engine.packed = p.policy == RefreshPolicy::packed;
        engine.packed_need = p.step_depth;
        engine.packed_period = p.packed_slots;
    }

    detail::Engine<detail::PlainBackend> plain_engine(detail::PlainBackend& be,
                                                      const Layout& layout) const {
        detail::Engine<detail::PlainBackend> engine(be, net_, layout, options_.optimizer);
        configure(engine, options_.reveal_loss_each_epoch.has_value());
        engine.scale_fn = [](const detail::PlainBackend::Value& v) { return v.scale; };
        engine.encode_fn = [&be](const std::vector<double>& v, std::size_t level, double scale) {
            detail::PlainBackend::Value x = be.encode(v, level);
            x.scale = scale;
            return x;
        };
        return engine;
    }

    Dataset zero_data(const Layout& layout) const {
        return Dataset(layout.batch, net_.inputs(),
                       std::vector<double>(layout.batch * net_.inputs(), 0.0),
                       std::vector<double>(layout.batch, 0.0));
    }

    // Runs `steps` plain steps; the lowest weight level after each.
    std::vector<std::size_t> run_plain(detail::PlainBackend& be,
                                       detail::Engine<detail::PlainBackend>& engine,
                                       const Dataset& data, const Layout& layout, std::size_t steps,
                                       std::size_t data_level,
                                       std::vector<double>* epoch_losses = nullptr) const {
        if (data.features() != net_.inputs()) {
            throw InvalidArgumentError(
                cloak::detail::message("ml::nn::Trainer: the dataset has ", data.features(),
                                       " features; the network takes ", net_.inputs()));
        }
        engine.init(net_.initial_weights(),
                    [&](const std::vector<double>& v) { return be.encode(v, data_level); });
        const std::size_t batches = (data.rows() + layout.batch - 1) / layout.batch;
        std::vector<std::vector<detail::PlainBackend::Value>> inputs(batches);
        std::vector<detail::PlainBackend::Value> targets(batches);
        for (std::size_t i = 0; i < batches; ++i) {
            detail::BatchSlots s = detail::batch_slots(net_, layout, data, i, true);
            for (std::vector<double>& v : s.inputs)
                inputs[i].push_back(be.encode(std::move(v), data_level));
            targets[i] = be.encode(std::move(s.targets), data_level);
        }
        std::vector<std::size_t> levels;
        EpochAverage losses(batches, steps);
        for (std::size_t t = 1; t <= steps; ++t) {
            const std::size_t b = (t - 1) % batches;
            engine.train_step(inputs[b], targets[b], t);
            levels.push_back(engine.weight_level());
            if (epoch_losses) {
                if (const std::optional<EpochLoss> e = losses.add(t, engine.loss_value.v.at(0)))
                    epoch_losses->push_back(e->loss);
            }
        }
        return levels;
    }

    Plan plan_with(const ckks::Context& context, const Layout& layout, std::size_t data_level,
                   std::size_t refresh_level, RefreshPolicy policy,
                   std::size_t packed_refresh_level = 0) const {
        Plan p;
        p.policy = policy;
        p.steps = options_.steps;
        p.refresh_level = refresh_level;
        p.data_level = data_level;
        p.loss_depth = softmax_ ? softmax_->depth() : 0;
        p.monitored = options_.reveal_loss_each_epoch.has_value();
        const Dataset zeros = zero_data(layout);
        if (policy == RefreshPolicy::packed) {
            // The depth of one step from the packed weights fresh out of a
            // bootstrap to the next packed weights: a step that packs the
            // initial weights and bootstraps them first.
            p.packed_refresh_level = packed_refresh_level;
            p.packed_values = packed_values();
            p.packed_slots = packed_slots(layout);
            p.pack_levels = 0;
            p.unpack_levels = 1;
            detail::PlainBackend be(context, refresh_level, packed_refresh_level);
            detail::Engine<detail::PlainBackend> engine = plain_engine(be, layout);
            engine.packed = true;
            engine.packed_need = SIZE_MAX;
            engine.packed_period = p.packed_slots;
            (void)run_plain(be, engine, zeros, layout, 1, data_level);
            p.step_depth = packed_refresh_level - engine.weight_level();
            p.products_per_step = engine.products;
            p.rotations_per_step = engine.rotations;
            // Every value, velocities included (the measured first step may have none yet).
            p.unpack_rotations =
                p.packed_values *
                static_cast<std::size_t>(std::countr_zero(p.packed_slots / layout.block));
            p.packed_block = layout.block;
            detail::PlainBackend run(context, refresh_level, packed_refresh_level);
            detail::Engine<detail::PlainBackend> planned = plain_engine(run, layout);
            configure_refresh(planned, p);
            p.levels_after = run_plain(run, planned, zeros, layout, options_.steps, data_level);
            p.events = planned.events;
            return p;
        }
        {
            // The depth of one step from weights at the top.
            const std::size_t top = refresh_level ? refresh_level : data_level;
            detail::PlainBackend be(context, refresh_level);
            detail::Engine<detail::PlainBackend> engine = plain_engine(be, layout);
            try {
                engine.init(net_.initial_weights(),
                            [&](const std::vector<double>& v) { return be.encode(v, top); });
                detail::BatchSlots s = detail::batch_slots(net_, layout, zeros, 0, true);
                std::vector<detail::PlainBackend::Value> in;
                for (std::vector<double>& v : s.inputs)
                    in.push_back(be.encode(std::move(v), data_level));
                engine.train_step(in, be.encode(std::move(s.targets), data_level), 1);
                p.step_depth = top - engine.weight_level();
                if (!engine.events.empty())
                    p.step_depth = top + 1;  // deeper than a bootstrap's levels
            } catch (const LevelError&) {
                p.step_depth = top + 1;
            }
            p.products_per_step = engine.products;
            p.rotations_per_step = engine.rotations;
        }
        detail::PlainBackend be(context, refresh_level);
        detail::Engine<detail::PlainBackend> engine = plain_engine(be, layout);
        engine.weight_need = policy == RefreshPolicy::weights_first ? weight_need(p) : 0;
        p.levels_after = run_plain(be, engine, zeros, layout, options_.steps, data_level);
        p.events = engine.events;
        return p;
    }

    Sequential net_;
    TrainingOptions options_;
    std::optional<SoftmaxCrossEntropy> softmax_;
};

// ---------------------------------------------------------------------------
// Encrypted inference of a trained MLP (the training layout, one sample a block)

/// Samples encrypted for inference: the first layer's rotated inputs of
/// slots / P samples per group of ciphertexts.
struct EncryptedInputs {
    Layout layout;
    std::vector<std::vector<ckks::Ciphertext>> groups;
    std::size_t rows = 0;
};

/// The client's step: encrypts `data`'s features (in [-1, 1]) in groups of
/// slots / P samples (the layout of a batch of that size, no replicas).
/// @throws as encrypt().
[[nodiscard]] inline EncryptedInputs encrypt_inputs(const ckks::Context& context,
                                                    const ckks::Encryptor& encryptor,
                                                    const ckks::Encoder& encoder,
                                                    const Sequential& net, const Dataset& data,
                                                    const EncryptOptions& options = {}) {
    const Layout layout = Layout::of(net, context.slots(), context.slots() / net.block());
    const EncryptedTrainingData batches =
        encrypt(context, encryptor, encoder, net, layout, data, options);
    EncryptedInputs out{layout, {}, data.rows()};
    for (const EncryptedBatch& b : batches.batches)
        out.groups.push_back(b.inputs);
    return out;
}

/// The network's outputs on encrypted inputs, one ciphertext per group (output
/// o of sample b at slot b P + o). `weights` are the model owner's, in the
/// clear on the server (plaintext products); pass a bootstrapper for networks
/// deeper than the inputs' levels.
/// @throws KeyMissingError without a rotation of inference_rotations();
///         LevelError when the levels run out without a bootstrapper.
[[nodiscard]] inline std::vector<ckks::Ciphertext> predict(
    const ckks::Evaluator& eval, const Sequential& net, const Weights& weights,
    const EncryptedInputs& inputs, const boot::Bootstrapper* bootstrapper = nullptr) {
    detail::EncryptedBackend be(eval, bootstrapper);
    const Optimizer unused;
    detail::Engine<detail::EncryptedBackend> engine(be, net, inputs.layout, unused);
    engine.all_plain = true;
    const ckks::Encoder encoder(eval.context());
    const ckks::Ciphertext zero = eval.multiply_integer(inputs.groups.at(0).at(0), 0);
    engine.scale_fn = [](const ckks::Ciphertext& c) { return c.scale(); };
    engine.encode_fn = [&](const std::vector<double>& v, std::size_t level, double scale) {
        ckks::Ciphertext z = eval.drop_level_to(zero, level);
        z.set_scale(scale);
        return eval.add(z, encoder.encode(v, {.level = level, .scale = scale}));
    };
    engine.init(weights, [](const std::vector<double>&) { return ckks::Ciphertext(); });
    std::vector<ckks::Ciphertext> out;
    for (const std::vector<ckks::Ciphertext>& group : inputs.groups)
        out.push_back(engine.forward(group, nullptr));
    return out;
}

/// The rotation steps predict() needs for `net` (plaintext weights).
[[nodiscard]] inline std::vector<std::int64_t> inference_rotations(const ckks::Context& context,
                                                                   const Sequential& net) {
    const Layout layout = Layout::of(net, context.slots(), context.slots() / net.block());
    detail::PlainBackend be(context, context.max_level());
    const Optimizer unused;
    detail::Engine<detail::PlainBackend> engine(be, net, layout, unused);
    engine.all_plain = true;
    engine.scale_fn = [](const detail::PlainBackend::Value& v) { return v.scale; };
    engine.encode_fn = [&be](const std::vector<double>& v, std::size_t level, double scale) {
        detail::PlainBackend::Value x = be.encode(v, level);
        x.scale = scale;
        return x;
    };
    engine.init(net.initial_weights(),
                [&](const std::vector<double>& v) { return be.encode(v, context.max_level()); });
    const Dataset zeros(1, net.inputs(), std::vector<double>(net.inputs(), 0.0), {0.0});
    detail::BatchSlots s = detail::batch_slots(net, layout, zeros, 0, false);
    std::vector<detail::PlainBackend::Value> in;
    for (std::vector<double>& v : s.inputs)
        in.push_back(be.encode(std::move(v), context.max_level()));
    (void)engine.forward(in, nullptr);
    return {be.rotations().begin(), be.rotations().end()};
}

/// The key owner's step: rows x outputs values, row-major.
[[nodiscard]] inline std::vector<double> decrypt_outputs(const ckks::Decryptor& decryptor,
                                                         const ckks::Encoder& encoder,
                                                         const Sequential& net,
                                                         const EncryptedInputs& inputs,
                                                         const std::vector<ckks::Ciphertext>& out) {
    std::vector<double> values;
    const std::size_t per = inputs.layout.blocks();
    for (std::size_t g = 0; g < out.size(); ++g) {
        const std::vector<double> slots = encoder.decode_real(decryptor.decrypt(out[g]));
        for (std::size_t b = 0; b < per && g * per + b < inputs.rows; ++b)
            for (std::size_t o = 0; o < net.outputs(); ++o)
                values.push_back(slots[b * inputs.layout.block + o]);
    }
    return values;
}

// ---------------------------------------------------------------------------
// Feature-major inference: CryptoNets packing (one ciphertext per feature,
// one sample per slot), for convolutional networks with plaintext weights.

/// A plaintext linear map on feature vectors: out_i = b_i + sum w_ij in_j over
/// the listed (j, w_ij) of row i. A convolution is one (convolution()).
struct LinearMap {
    std::size_t inputs = 0;
    std::vector<std::vector<std::pair<std::size_t, double>>> rows;
    std::vector<double> bias;

    /// A dense outputs x inputs matrix (row-major) and its biases.
    /// @throws ShapeError for sizes that disagree.
    [[nodiscard]] static LinearMap dense(std::size_t inputs, std::size_t outputs,
                                         std::span<const double> w, std::span<const double> b) {
        if (w.size() != inputs * outputs || b.size() != outputs) {
            throw ShapeError(cloak::detail::message(
                "ml::nn::LinearMap::dense: ", w.size(), " weights and ", b.size(), " biases for a ",
                outputs, " x ", inputs, " layer; pass ", inputs * outputs, " and ", outputs));
        }
        LinearMap m{inputs, std::vector<std::vector<std::pair<std::size_t, double>>>(outputs),
                    std::vector<double>(b.begin(), b.end())};
        for (std::size_t i = 0; i < outputs; ++i)
            for (std::size_t j = 0; j < inputs; ++j)
                m.rows[i].push_back({j, w[i * inputs + j]});
        return m;
    }

    /// A convolution of a channels x height x width input (zero-padded by
    /// `padding` at the bottom and right, as CryptoNets pads 28 x 28 to 29 x 29)
    /// with `filters` kernels of channels x k x k (weights filter-major), stride
    /// s: filters x oh x ow outputs, oh = (height + padding - k) / s + 1.
    /// @throws ShapeError for weights of the wrong size or a kernel larger than the input.
    [[nodiscard]] static LinearMap convolution(std::size_t channels, std::size_t height,
                                               std::size_t width, std::size_t filters,
                                               std::size_t k, std::size_t stride,
                                               std::size_t padding, std::span<const double> w,
                                               std::span<const double> b) {
        if (w.size() != filters * channels * k * k || b.size() != filters || k > height + padding ||
            k > width + padding || stride == 0) {
            throw ShapeError(cloak::detail::message(
                "ml::nn::LinearMap::convolution: ", w.size(), " weights, ", b.size(),
                " biases, kernel ", k, ", stride ", stride, " for ", channels, " x ", height, " x ",
                width, " inputs; pass filters x channels x k x k = ", filters * channels * k * k,
                " weights and ", filters, " biases"));
        }
        const std::size_t oh = (height + padding - k) / stride + 1;
        const std::size_t ow = (width + padding - k) / stride + 1;
        LinearMap m{channels * height * width, {}, {}};
        for (std::size_t f = 0; f < filters; ++f) {
            for (std::size_t y = 0; y < oh; ++y) {
                for (std::size_t x = 0; x < ow; ++x) {
                    std::vector<std::pair<std::size_t, double>> row;
                    for (std::size_t c = 0; c < channels; ++c)
                        for (std::size_t dy = 0; dy < k; ++dy)
                            for (std::size_t dx = 0; dx < k; ++dx) {
                                const std::size_t iy = y * stride + dy, ix = x * stride + dx;
                                if (iy < height && ix < width)
                                    row.push_back({(c * height + iy) * width + ix,
                                                   w[((f * channels + c) * k + dy) * k + dx]});
                            }
                    m.rows.push_back(std::move(row));
                    m.bias.push_back(b[f]);
                }
            }
        }
        return m;
    }

    [[nodiscard]] std::size_t outputs() const noexcept { return rows.size(); }

    [[nodiscard]] std::vector<double> apply(std::span<const double> x) const {
        std::vector<double> out(bias);
        for (std::size_t i = 0; i < rows.size(); ++i)
            for (const auto& [j, w] : rows[i])
                out[i] += w * x[j];
        return out;
    }
};

/// A feature-major network: linear maps, each optionally followed by x^2.
struct FeatureMajorNetwork {
    struct Stage {
        LinearMap map;
        bool square = false;
    };
    std::vector<Stage> stages;

    /// Levels: one per map, one per square.
    [[nodiscard]] std::size_t depth() const {
        std::size_t d = 0;
        for (const Stage& s : stages)
            d += 1 + (s.square ? 1 : 0);
        return d;
    }

    [[nodiscard]] std::vector<double> predict(std::span<const double> x) const {
        std::vector<double> a(x.begin(), x.end());
        for (const Stage& s : stages) {
            a = s.map.apply(a);
            if (s.square)
                for (double& v : a)
                    v *= v;
        }
        return a;
    }

    /// The CryptoNets shape (Gilad-Bachrach et al. 2016) for 28 x 28 inputs:
    /// convolution 5 x 5, stride 2, 5 maps on the image padded to 29 x 29 (845
    /// outputs), square, dense 845 -> 100, square, dense 100 -> 10. Seeded
    /// weights (a shape to time, not a trained model).
    [[nodiscard]] static FeatureMajorNetwork cryptonets(std::uint64_t seed = 1) {
        std::mt19937_64 rng(seed);
        const auto draw = [&](std::size_t n, double a) {
            std::vector<double> v(n);
            for (double& x : v)
                x = a * ml::detail::uniform_symmetric(rng);
            return v;
        };
        FeatureMajorNetwork net;
        net.stages.push_back(
            {LinearMap::convolution(1, 28, 28, 5, 5, 2, 1, draw(125, 0.2), draw(5, 0.1)), true});
        net.stages.push_back({LinearMap::dense(845, 100, draw(84500, 0.03), draw(100, 0.1)), true});
        net.stages.push_back({LinearMap::dense(100, 10, draw(1000, 0.1), draw(10, 0.1)), false});
        return net;
    }

    /// The server's step: one ciphertext per input feature (sample j in slot
    /// j), one per output. Each map is a sum of plaintext-constant products,
    /// rescaled once per output; each square a product. No rotation keys.
    /// @throws ShapeError for a feature count other than the first map's inputs;
    ///         LevelError when the inputs have fewer than depth() levels.
    [[nodiscard]] std::vector<ckks::Ciphertext> evaluate(
        const ckks::Evaluator& eval, const std::vector<ckks::Ciphertext>& inputs) const {
        if (stages.empty() || inputs.size() != stages.front().map.inputs) {
            throw ShapeError(cloak::detail::message(
                "ml::nn::FeatureMajorNetwork::evaluate: ", inputs.size(),
                " input ciphertexts; the network takes ",
                stages.empty() ? 0 : stages.front().map.inputs, " (one per feature)"));
        }
        if (inputs.front().level() < depth()) {
            throw LevelError(cloak::detail::message(
                "ml::nn::FeatureMajorNetwork::evaluate: the inputs are at level ",
                inputs.front().level(), " and the network needs ", depth(),
                "; encrypt them at a higher level or use parameters with more levels"));
        }
        const ckks::Encoder encoder(eval.context());
        std::vector<ckks::Ciphertext> a = inputs;
        for (const Stage& s : stages) {
            const std::size_t level = a.front().level();
            const double prime = eval.prime_at(level);
            std::vector<ckks::Ciphertext> next(s.map.outputs());
            core::parallel_for(s.map.outputs(), core::parallel_threshold, [&](std::size_t i) {
                ckks::Ciphertext acc;
                for (const auto& [j, w] : s.map.rows[i]) {
                    if (w == 0.0)
                        continue;
                    ckks::Ciphertext term = eval.multiply(
                        a[j],
                        encoder.encode(w, {.level = level, .scale = prime, .slots = a[j].slots()}));
                    if (acc.empty())
                        acc = std::move(term);
                    else
                        eval.add_inplace(acc, term);
                }
                if (acc.empty())
                    acc = eval.multiply(
                        a.front(),
                        encoder.encode(
                            0.0, {.level = level, .scale = prime, .slots = a.front().slots()}));
                eval.rescale_inplace(acc);
                acc = eval.add(acc, s.map.bias[i]);
                if (s.square) {
                    acc = eval.square(acc);
                    eval.rescale_inplace(acc);
                }
                next[i] = std::move(acc);
            });
            a = std::move(next);
        }
        return a;
    }
};

}  // namespace cloak::inline v0::ml::nn
