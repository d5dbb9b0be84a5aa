// Tests of small neural networks on encrypted data (ml/nn.hpp): the packed
// slot algorithm against a textbook mini-batch trainer, encrypted training
// against the same algorithm in the clear (with and without bootstrapping),
// the level plan against the levels a run consumes, inference, and bad input.
// Small insecure parameters (N = 2^12).
#include <catch2/catch.hpp>

#include <cloak/boot/bootstrapper.hpp>
#include <cloak/boot/parameters.hpp>
#include <cloak/ckks/encoder.hpp>
#include <cloak/ckks/encryptor.hpp>
#include <cloak/ckks/evaluator.hpp>
#include <cloak/ckks/keys.hpp>
#include <cloak/ml/dataset.hpp>
#include <cloak/ml/nn.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <random>
#include <span>
#include <string>
#include <vector>

namespace {

using namespace cloak;
using ml::nn::Activation;
using ml::nn::Dense;

ckks::Parameters small_parameters(std::size_t levels) {
    std::vector<int> log_q(levels + 1, 40);
    log_q[0] = 60;
    return ckks::Parameters::from({.log_n = 12,
                                   .log_q = log_q,
                                   .log_p = {60, 60},
                                   .log_scale = 40,
                                   .security = rlwe::Security::insecure_for_testing_only});
}

// A textbook mini-batch trainer (loops over samples), independent of the
// packing: MSE / 2 (or the softmax cross-entropy with the same polynomials),
// the same batches, update rules and polynomials.
ml::nn::Weights reference_training(const ml::nn::Sequential& net, const ml::Dataset& data,
                                   std::size_t batch, std::size_t steps,
                                   const ml::nn::Optimizer& opt,
                                   const ml::nn::SoftmaxCrossEntropy* softmax = nullptr) {
    ml::nn::Weights w = net.initial_weights();
    ml::nn::Weights v = w;
    for (auto& l : v.layers) {
        std::fill(l.w.begin(), l.w.end(), 0.0);
        std::fill(l.b.begin(), l.b.end(), 0.0);
    }
    const std::size_t batches = (data.rows() + batch - 1) / batch;
    for (std::size_t t = 1; t <= steps; ++t) {
        ml::nn::Weights grad = v;
        for (auto& l : grad.layers) {
            std::fill(l.w.begin(), l.w.end(), 0.0);
            std::fill(l.b.begin(), l.b.end(), 0.0);
        }
        for (std::size_t s = 0; s < batch; ++s) {
            const std::size_t row = (((t - 1) % batches) * batch + s) % data.rows();
            // Forward, keeping every layer's input.
            std::vector<std::vector<double>> values{
                std::vector<double>(data.row(row).begin(), data.row(row).end())};
            std::size_t d = 0;
            for (const ml::nn::Layer& layer : net.layers()) {
                const std::vector<double>& a = values.back();
                std::vector<double> z;
                if (std::holds_alternative<Dense>(layer)) {
                    const auto& l = w.layers[d++];
                    z.assign(l.outputs, 0.0);
                    for (std::size_t i = 0; i < l.outputs; ++i) {
                        z[i] = l.b[i];
                        for (std::size_t j = 0; j < l.inputs; ++j)
                            z[i] += l.at(i, j) * a[j];
                    }
                } else {
                    for (double x : a)
                        z.push_back(std::get<Activation>(layer)(x));
                }
                values.push_back(z);
            }
            std::vector<double> g = values.back();
            if (softmax)
                g = softmax->probabilities(g);
            if (g.size() == 1) {
                g[0] -= data.labels()[row];
            } else {
                g[static_cast<std::size_t>(std::lround(data.labels()[row]))] -= 1.0;
            }
            d = w.layers.size();
            for (std::size_t i = net.layers().size(); i-- > 0;) {
                const std::vector<double>& in = values[i];
                if (std::holds_alternative<Dense>(net.layers()[i])) {
                    const auto& l = w.layers[--d];
                    auto& gl = grad.layers[d];
                    std::vector<double> gx(l.inputs, 0.0);
                    for (std::size_t r = 0; r < l.outputs; ++r) {
                        gl.b[r] += g[r];
                        for (std::size_t c = 0; c < l.inputs; ++c) {
                            gl.w[r * l.inputs + c] += g[r] * in[c];
                            gx[c] += l.at(r, c) * g[r];
                        }
                    }
                    g = gx;
                } else {
                    for (std::size_t j = 0; j < g.size(); ++j)
                        g[j] *= std::get<Activation>(net.layers()[i]).derivative(in[j]);
                }
            }
        }
        const double lr = opt.rate(t) / static_cast<double>(batch);
        const double mu = opt.momentum;
        for (std::size_t l = 0; l < w.layers.size(); ++l) {
            auto apply = [&](std::vector<double>& wv, std::vector<double>& vv,
                             const std::vector<double>& gv) {
                for (std::size_t i = 0; i < wv.size(); ++i) {
                    const double step = lr * gv[i];
                    if (opt.method == ml::nn::Method::sgd) {
                        wv[i] -= step;
                    } else if (opt.method == ml::nn::Method::momentum) {
                        vv[i] = mu * vv[i] - step;
                        wv[i] += vv[i];
                    } else {
                        wv[i] += mu * mu * vv[i] - (1 + mu) * step;
                        vv[i] = mu * vv[i] - step;
                    }
                }
            };
            apply(w.layers[l].w, v.layers[l].w, grad.layers[l].w);
            apply(w.layers[l].b, v.layers[l].b, grad.layers[l].b);
        }
    }
    return w;
}

ml::Dataset circles(std::size_t points, std::uint64_t seed) {
    const ml::Dataset raw = ml::synthetic_circles(points, seed);
    std::vector<double> values(raw.values().begin(), raw.values().end());
    for (double& x : values)
        x = std::clamp(x / 1.2, -1.0, 1.0);
    return ml::Dataset(raw.rows(), 2, values,
                       std::vector<double>(raw.labels().begin(), raw.labels().end()));
}

// Three classes: the circles' inner class split by the sign of the first feature.
ml::Dataset three_classes(std::size_t points, std::uint64_t seed) {
    const ml::Dataset two = circles(points, seed);
    std::vector<double> labels(two.labels().begin(), two.labels().end());
    for (std::size_t i = 0; i < two.rows(); ++i)
        if (labels[i] > 0.5 && two.x(i, 0) < 0)
            labels[i] = 2;
    // Class indices beyond 0/1: a Dataset holds them as Task::regression labels.
    return ml::Dataset(two.rows(), 2, std::vector<double>(two.values().begin(), two.values().end()),
                       labels, ml::Task::regression);
}

double true_cross_entropy(std::span<const double> z, std::size_t label) {
    double m = z[0];
    for (double v : z)
        m = std::max(m, v);
    double s = 0;
    for (double v : z)
        s += std::exp(v - m);
    return std::log(s) + m - z[label];
}

}  // namespace

TEST_CASE("ml/nn/packing: the slot algorithm equals textbook mini-batch training", "[ml][nn]") {
    const ckks::Context context(small_parameters(4));
    const ml::Dataset data = circles(96, 3);
    struct Case {
        std::vector<ml::nn::Layer> layers;
        ml::nn::Optimizer opt;
        std::size_t batch;
    };
    const std::vector<Case> cases = {
        {{Dense{2, 4}, Activation::square(), Dense{4, 1}}, ml::nn::Optimizer::sgd(0.5), 16},
        {{Dense{2, 5}, Activation::sigmoid(3, 8), Dense{5, 1}},
         ml::nn::Optimizer::with_momentum(0.3, 0.8),
         32},
        {{Dense{2, 3}, Activation::tanh(5, 4), Dense{3, 4}, Activation::square(), Dense{4, 2}},
         ml::nn::Optimizer::nesterov(0.2, 0.9),
         8},
        {{Dense{2, 8}, Activation::relu(4, 4), Dense{8, 8}, Activation::square(), Dense{8, 1}},
         ml::nn::Optimizer::sgd(0.1),
         64},
    };
    for (std::size_t c = 0; c < cases.size(); ++c) {
        const ml::nn::Sequential net(cases[c].layers, 7 + c);
        const ml::nn::Layout layout = ml::nn::Layout::of(net, context.slots(), cases[c].batch);
        // Plenty of levels and a "bootstrap" that is the identity in the clear.
        const ml::nn::Trainer trainer(net, {.optimizer = cases[c].opt, .steps = 5});
        const ml::nn::Weights packed = trainer.fit_plain(data, context, layout, 4, 4);
        const ml::nn::Weights reference =
            reference_training(net, data, cases[c].batch, 5, cases[c].opt);
        INFO("case " << c << ": " << net.to_string());
        CHECK(packed.max_difference(reference) < 1e-9);
        CHECK(packed.max_difference(net.initial_weights()) > 1e-3);  // it trained
    }
}

TEST_CASE("ml/nn/logN=12 encrypted 2-4-1 training equals the same algorithm in the clear",
          "[ml][nn]") {
    // 18 levels: exactly two steps (the weights end at level 0).
    const ckks::Context context(small_parameters(18));
    const ml::Dataset data = circles(64, 5);
    const ml::nn::Sequential net({Dense{2, 4}, Activation::square(), Dense{4, 1}}, 11);
    const ml::nn::Layout layout = ml::nn::Layout::of(net, context.slots(), 32);
    REQUIRE(layout.block == 4);
    REQUIRE(layout.replicas == 16);
    std::size_t reports = 0;
    const ml::nn::Trainer trainer(net, {.optimizer = ml::nn::Optimizer::nesterov(0.5, 0.5),
                                        .steps = 2,
                                        .progress = [&](const ml::nn::StepReport& r) {
                                            ++reports;
                                            CHECK(r.step == reports);
                                            CHECK(r.bootstraps == 0);
                                        }});
    ml::nn::Plan plan;
    const ml::nn::Weights plain = trainer.fit_plain(data, context, layout, 18, 0, &plan);
    REQUIRE(plan.bootstraps() == 0);
    REQUIRE(plan.step_depth > 0);
    REQUIRE(plan.levels_after.size() == 2);
    CHECK(plan.levels_after == std::vector<std::size_t>{9, 0});

    ckks::KeyGenerator keygen(context);
    const ckks::Encoder encoder(context);
    const ckks::Encryptor encryptor(context, keygen.public_key());
    const ckks::Decryptor decryptor(context, keygen.secret_key());
    const ckks::Evaluator eval(context, keygen.relin_key(),
                               keygen.galois_keys(trainer.rotations(context, layout)));
    const ml::nn::EncryptedTrainingData encrypted =
        ml::nn::encrypt(context, encryptor, encoder, net, layout, data);
    const ml::nn::EncryptedNetwork trained = trainer.fit(eval, encrypted);
    REQUIRE(reports == 2);
    CHECK(trained.levels_after == plan.levels_after);
    CHECK(trained.events.empty());
    const ml::nn::Weights decrypted = trainer.decrypt(trained, decryptor, encoder);
    const double difference = decrypted.max_difference(plain);
    INFO("max |encrypted - plain| = " << difference);
    CHECK(difference < 1e-5);  // measured 1e-7
    CHECK(plain.max_difference(net.initial_weights()) > 1e-2);

    // The same training from a source that encrypts each batch when a step
    // asks for it (one batch in memory at a time): batches asked for in turn,
    // fresh encryptions, the same weights within the same floor.
    const ml::nn::EncryptedBatchSource encrypting =
        ml::nn::EncryptedBatchSource::encrypting(context, encryptor, encoder, net, layout, data);
    REQUIRE(encrypting.batches == 2);
    std::vector<std::size_t> asked;
    ml::nn::EncryptedBatchSource counted = encrypting;
    counted.batch = [&](std::size_t i) {
        asked.push_back(i);
        return encrypting.batch(i);
    };
    reports = 0;  // the progress callback counts this run's steps again
    const ml::nn::Weights streamed =
        trainer.decrypt(trainer.fit(eval, counted), decryptor, encoder);
    CHECK(asked == std::vector<std::size_t>{0, 1});
    CHECK(reports == 2);
    INFO("max |streamed - plain| = " << streamed.max_difference(plain));
    CHECK(streamed.max_difference(plain) < 1e-5);

    // A source whose batch 1 lacks an input ciphertext, or gives nothing.
    ml::nn::EncryptedBatchSource broken = ml::nn::EncryptedBatchSource::of(encrypted);
    broken.batch = [&](std::size_t i) {
        auto b = std::make_shared<ml::nn::EncryptedBatch>(encrypted.batches.at(i));
        if (i == 1)
            b->inputs.pop_back();
        return std::shared_ptr<const ml::nn::EncryptedBatch>(std::move(b));
    };
    reports = 0;
    CHECK_THROWS_WITH(trainer.fit(eval, broken),
                      Catch::Contains("batch 1 has 1 input ciphertexts") &&
                          Catch::Contains("batch 0 has 2, every one at level 18"));
    broken.batch = [&](std::size_t i) {
        return i == 0 ? ml::nn::EncryptedBatchSource::of(encrypted).batch(0) : nullptr;
    };
    reports = 0;
    CHECK_THROWS_WITH(trainer.fit(eval, broken),
                      Catch::Contains("the source gave nothing for batch 1 of 2"));
    const ml::Dataset unnormalized(1, 2, std::vector<double>{1.5, 0.0}, std::vector<double>{1.0});
    CHECK_THROWS_WITH(ml::nn::EncryptedBatchSource::encrypting(context, encryptor, encoder, net,
                                                               layout, unnormalized),
                      Catch::Contains("feature 0 of sample 0 is 1.5, outside [-1, 1]"));
}

TEST_CASE("ml/nn/logN=12 training with bootstrapping follows the plan and matches the clear",
          "[ml][nn][boot]") {
    // Insecure test chain: 9 user levels above the bootstrapping circuit.
    boot::ParametersLiteral literal{.log_n = 12,
                                    .log_q0 = 48,
                                    .log_q_user = std::vector<int>(9, 40),
                                    .log_p = {61, 61, 61, 61},
                                    .log_scale = 40,
                                    .secret = ckks::SecretDistribution::sparse_ternary,
                                    .hamming_weight = 64,
                                    .security = rlwe::Security::insecure_for_testing_only};
    const boot::Parameters params = boot::Parameters::from(literal);
    const ckks::Context context(params.ckks());
    const ml::Dataset data = circles(64, 9);
    const ml::nn::Sequential net({Dense{2, 4}, Activation::square(), Dense{4, 1}}, 13);
    const ml::nn::Layout layout = ml::nn::Layout::of(net, context.slots(), 32);
    const ml::nn::Trainer trainer(net, {.optimizer = ml::nn::Optimizer::sgd(0.5), .steps = 2});
    const std::size_t top = params.output_level();
    ml::nn::Plan plan;
    const ml::nn::Weights plain = trainer.fit_plain(data, context, layout, top, top, &plan);
    INFO(plan.to_string());
    REQUIRE(plan.step_depth <= top);
    REQUIRE(plan.bootstraps() > 0);  // the weights are refreshed inside the run

    ckks::KeyGenerator keygen(context);
    const boot::Bootstrapper bootstrapper(context, keygen, params);
    const ckks::Encoder encoder(context);
    const ckks::Encryptor encryptor(context, keygen.public_key());
    const ckks::Decryptor decryptor(context, keygen.secret_key());
    const ckks::Evaluator eval(
        context, keygen.relin_key(),
        keygen.galois_keys(trainer.rotations(context, layout, &bootstrapper)));
    const ml::nn::EncryptedTrainingData encrypted =
        ml::nn::encrypt(context, encryptor, encoder, net, layout, data, {.level = top});
    const ml::nn::EncryptedNetwork trained = trainer.fit(eval, encrypted, &bootstrapper);
    CHECK(trained.events == plan.events);
    CHECK(trained.levels_after == plan.levels_after);
    const ml::nn::Weights decrypted = trainer.decrypt(trained, decryptor, encoder);
    const double difference = decrypted.max_difference(plain);
    INFO("max |encrypted - plain| = " << difference << " after " << trained.events.size()
                                      << " bootstraps");
    CHECK(difference < 1e-5);  // measured 1e-8

    // Packed refresh: every weight in one ciphertext (5 values x P = 4 -> 8
    // blocks, 32 slots), refreshed by one sparse-slot bootstrap, unpacked by
    // masks and rotations; the same SGD as above.
    const ml::nn::Trainer packed_trainer(net, {.optimizer = ml::nn::Optimizer::sgd(0.5),
                                               .steps = 2,
                                               .policy = ml::nn::RefreshPolicy::packed});
    const std::size_t n = packed_trainer.packed_slots(layout);
    REQUIRE(packed_trainer.packed_values() == 5);  // (2 + 1) + (1 + 1)
    REQUIRE(n == 32);
    ml::nn::Plan packed_plan;
    const ml::nn::Weights packed_plain =
        packed_trainer.fit_plain(data, context, layout, top, top, &packed_plan, nullptr, top);
    INFO(packed_plan.to_string());
    CHECK(packed_plan.policy == ml::nn::RefreshPolicy::packed);
    CHECK(packed_plan.packed_bootstraps() == 1);  // step 2 (step 1 starts from the data's level)
    CHECK(packed_plan.bootstraps() == 1);         // and no full-slot one
    CHECK(packed_plan.events.front().step == 2);
    CHECK(packed_plan.step_depth == top);  // unpacking (1) + the step (8): it ends at level 0
    CHECK(packed_plan.levels_after == std::vector<std::size_t>{1, 0});
    CHECK(packed_plan.to_string().find("unpacking 1 level and 15 rotations") != std::string::npos);
    CHECK(packed_plain.max_difference(plain) < 1e-12);  // the order of sums only
    // With both bootstrappers the packed plan is the cheapest (1 packed
    // bootstrap against 3 full-slot ones).
    const ml::nn::Trainer fewest(net, {.optimizer = ml::nn::Optimizer::sgd(0.5), .steps = 2});
    CHECK(fewest.plan(context, layout, top, top, top).policy == ml::nn::RefreshPolicy::packed);
    CHECK(fewest.plan(context, layout, top, top).policy != ml::nn::RefreshPolicy::packed);
    // The packed weights at the ring's period (TrainingOptions::packed_slots),
    // so that the full-slot bootstrapper refreshes them too: 512 blocks, 9
    // unpacking rotations a value, the same weights as the fewest period.
    const ml::nn::Trainer full_period(net, {.optimizer = ml::nn::Optimizer::sgd(0.5),
                                            .steps = 2,
                                            .policy = ml::nn::RefreshPolicy::packed,
                                            .packed_slots = context.slots()});
    REQUIRE(full_period.packed_slots(layout) == context.slots());
    ml::nn::Plan full_period_plan;
    const ml::nn::Weights full_period_plain =
        full_period.fit_plain(data, context, layout, top, top, &full_period_plan, nullptr, top);
    INFO(full_period_plan.to_string());
    CHECK(full_period_plan.packed_slots == context.slots());
    CHECK(full_period_plan.packed_bootstraps() == 1);
    CHECK(full_period_plan.bootstraps() == 1);
    CHECK(full_period_plan.levels_after == packed_plan.levels_after);
    CHECK(full_period_plan.to_string().find("of period 2048") != std::string::npos);
    CHECK(full_period_plan.to_string().find("unpacking 1 level and 45 rotations") !=
          std::string::npos);
    CHECK(full_period_plain.max_difference(plain) < 1e-12);
    for (const std::size_t bad : {std::size_t{48}, std::size_t{16}, std::size_t{4096}}) {
        const ml::nn::Trainer t(net,
                                {.policy = ml::nn::RefreshPolicy::packed, .packed_slots = bad});
        CHECK_THROWS_WITH(
            t.packed_slots(layout),
            Catch::Contains("TrainingOptions::packed_slots is " + std::to_string(bad)) &&
                Catch::Contains("a power of two from 32") && Catch::Contains("ring's 2048 slots"));
        CHECK_THROWS_AS(t.plan(context, layout, top, top, top), ShapeError);
    }
    // Momentum and Nesterov (velocities packed too), 4 steps in the clear: the
    // same weights as refreshing every value on its own, one packed bootstrap
    // per step after the first, the levels the plan states.
    for (const ml::nn::Optimizer& opt :
         {ml::nn::Optimizer::with_momentum(0.25, 0.9), ml::nn::Optimizer::nesterov(0.25, 0.9)}) {
        const ml::nn::Trainer a(net, {.optimizer = opt, .steps = 4});
        const ml::nn::Trainer b(
            net, {.optimizer = opt, .steps = 4, .policy = ml::nn::RefreshPolicy::weights_first});
        ml::nn::Plan p;
        const ml::nn::Weights wa = a.fit_plain(data, context, layout, top, top, &p, nullptr, top);
        CHECK(p.policy == ml::nn::RefreshPolicy::packed);
        CHECK(p.packed_values == 10);
        CHECK(p.packed_slots == 64);
        CHECK(p.bootstraps() == 3);
        CHECK(p.packed_bootstraps() == 3);
        CHECK(p.levels_after == std::vector<std::size_t>{1, 0, 0, 0});
        CHECK(wa.max_difference(b.fit_plain(data, context, layout, top, top)) < 1e-12);
    }

    literal.slots = n;
    const boot::Bootstrapper packed_bootstrapper(context, keygen, boot::Parameters::from(literal));
    // The training keys above and the two bootstrappers' cover every rotation.
    const ml::nn::EncryptedNetwork packed_trained =
        packed_trainer.fit(eval, encrypted, &bootstrapper, &packed_bootstrapper);
    CHECK(packed_trained.events == packed_plan.events);
    CHECK(packed_trained.levels_after == packed_plan.levels_after);
    const ml::nn::Weights packed_decrypted =
        packed_trainer.decrypt(packed_trained, decryptor, encoder);
    INFO("max |packed encrypted - plain| = " << packed_decrypted.max_difference(packed_plain));
    CHECK(packed_decrypted.max_difference(packed_plain) < 1e-5);  // measured 1e-8
    CHECK(packed_decrypted.max_difference(decrypted) < 1e-5);     // the unpacked encrypted run
    CHECK_THROWS_AS(packed_trainer.fit(eval, encrypted, nullptr, &bootstrapper),
                    InvalidArgumentError);
}

TEST_CASE("ml/nn/errors name the value, the limit and the fix", "[ml][nn]") {
    using Catch::Matchers::Contains;
    CHECK_THROWS_AS(ml::nn::Sequential({Dense{2, 4}, Activation::square(), Dense{3, 1}}),
                    ShapeError);
    CHECK_THROWS_WITH(ml::nn::Sequential({Dense{2, 4}, Activation::square(), Dense{3, 1}}),
                      Contains("takes 3 inputs") && Contains("gives 4"));
    CHECK_THROWS_AS(ml::nn::Sequential({Activation::square(), Dense{3, 1}}), ShapeError);
    CHECK_THROWS_AS(ml::nn::Sequential({Dense{2, 4, true, std::vector<double>(7, 0.0)}}),
                    ShapeError);
    CHECK_THROWS_AS(Activation::polynomial(ckks::Polynomial::power({0.0, 1.0}), 4.0),
                    InvalidArgumentError);
    CHECK_THROWS_AS(Activation::polynomial(ckks::Polynomial::power({0.0, 1.0, 1.0}), -1.0),
                    InvalidArgumentError);

    const ckks::Context context(small_parameters(6));
    const ml::nn::Sequential net({Dense{2, 16}, Activation::square(), Dense{16, 1}});
    CHECK_THROWS_WITH(ml::nn::Layout::of(net, context.slots(), 256),
                      Contains("4096 slots") && Contains("at most 128"));
    CHECK_THROWS_AS(ml::nn::Layout::of(net, context.slots(), 100), ShapeError);
    CHECK_THROWS_AS(ml::nn::Trainer(net, {.steps = 0}), InvalidArgumentError);
    CHECK_THROWS_AS(ml::nn::Trainer(net, {.optimizer = ml::nn::Optimizer::sgd(-1.0)}),
                    InvalidArgumentError);

    // Too few levels and no bootstrapping: the plan says so before any work.
    const ml::nn::Layout layout = ml::nn::Layout::of(net, context.slots(), 64);
    const ml::nn::Trainer trainer(net, {.steps = 3});
    CHECK_THROWS_AS(trainer.plan(context, layout, 6, 0), LevelError);
    CHECK_THROWS_WITH(trainer.plan(context, layout, 6, 0), Contains("pass a boot::Bootstrapper"));
    // A bootstrap that leaves fewer levels than one operation needs.
    const ml::nn::Sequential deep({Dense{2, 4}, Activation::sigmoid(15, 8), Dense{4, 1}});
    const ml::nn::Trainer deep_trainer(deep, {.steps = 1});
    CHECK_THROWS_AS(deep_trainer.plan(context, ml::nn::Layout::of(deep, context.slots(), 64), 6, 3),
                    ParameterError);
}

TEST_CASE("ml/nn/logN=12 encrypted inference equals plaintext inference", "[ml][nn]") {
    const ckks::Context context(small_parameters(10));
    ckks::KeyGenerator keygen(context);
    const ckks::Encoder encoder(context);
    const ckks::Encryptor encryptor(context, keygen.public_key());
    const ckks::Decryptor decryptor(context, keygen.secret_key());
    const ml::Dataset data = circles(300, 4);

    SECTION("MLP, one sample a block, plaintext weights") {
        const ml::nn::Sequential net({Dense{2, 8}, Activation::sigmoid(3, 8), Dense{8, 4},
                                      Activation::square(), Dense{4, 2}},
                                     3);
        const ckks::Evaluator eval(context, keygen.relin_key(),
                                   keygen.galois_keys(ml::nn::inference_rotations(context, net)));
        const ml::nn::EncryptedInputs inputs =
            ml::nn::encrypt_inputs(context, encryptor, encoder, net, data);
        REQUIRE(inputs.groups.size() == 2);  // 256 samples a ciphertext
        const std::vector<double> out =
            ml::nn::decrypt_outputs(decryptor, encoder, net, inputs,
                                    ml::nn::predict(eval, net, net.initial_weights(), inputs));
        REQUIRE(out.size() == 600);
        double worst = 0;
        for (std::size_t i = 0; i < data.rows(); ++i) {
            const std::vector<double> expected = net.predict(net.initial_weights(), data.row(i));
            for (std::size_t o = 0; o < 2; ++o)
                worst = std::max(worst, std::fabs(out[2 * i + o] - expected[o]));
        }
        INFO("max error " << worst);
        CHECK(worst < 1e-5);  // measured 4e-7
    }

    SECTION("CNN, CryptoNets packing (one ciphertext per pixel)") {
        // 1 x 6 x 6 images, 2 filters 3 x 3 stride 1 padding 1 (2 x 5 x 5), square,
        // dense 50 -> 4, square, dense 4 -> 2.
        std::mt19937_64 rng(5);
        const auto draw = [&](std::size_t n, double a) {
            std::vector<double> v(n);
            for (double& x : v)
                x = a * (2.0 * std::generate_canonical<double, 53>(rng) - 1.0);
            return v;
        };
        ml::nn::FeatureMajorNetwork net;
        net.stages.push_back(
            {ml::nn::LinearMap::convolution(1, 6, 6, 2, 3, 1, 1, draw(18, 0.5), draw(2, 0.1)),
             true});
        net.stages.push_back({ml::nn::LinearMap::dense(50, 4, draw(200, 0.2), draw(4, 0.1)), true});
        net.stages.push_back({ml::nn::LinearMap::dense(4, 2, draw(8, 0.5), draw(2, 0.1)), false});
        REQUIRE(net.stages[0].map.outputs() == 50);
        REQUIRE(net.depth() == 5);
        const std::size_t images = context.slots();
        std::vector<std::vector<double>> pixels(36, std::vector<double>(images));
        for (auto& p : pixels)
            p = draw(images, 1.0);
        std::vector<ckks::Ciphertext> in;
        for (const auto& p : pixels)
            in.push_back(encryptor.encrypt(encoder.encode(p)));
        const ckks::Evaluator eval(context, keygen.relin_key());
        const std::vector<ckks::Ciphertext> out = net.evaluate(eval, in);
        REQUIRE(out.size() == 2);
        std::vector<std::vector<double>> decoded;
        for (const auto& c : out)
            decoded.push_back(encoder.decode_real(decryptor.decrypt(c)));
        double worst = 0;
        for (std::size_t s = 0; s < images; s += 7) {
            std::vector<double> x(36);
            for (std::size_t j = 0; j < 36; ++j)
                x[j] = pixels[j][s];
            const std::vector<double> expected = net.predict(x);
            for (std::size_t o = 0; o < 2; ++o)
                worst = std::max(worst, std::fabs(decoded[o][s] - expected[o]));
        }
        INFO("max error " << worst);
        CHECK(worst < 1e-6);
        CHECK_THROWS_AS(net.evaluate(eval, std::vector<ckks::Ciphertext>(in.begin(), in.end() - 1)),
                        ShapeError);
    }
}

TEST_CASE("ml/nn/softmax: the polynomial softmax and loss against the true ones", "[ml][nn]") {
    // Defaults: B = 4, exp degree 15, 2^-12 for the inverse.
    for (std::size_t k : {2, 3, 10}) {
        const ml::nn::SoftmaxCrossEntropy sm(k, {});
        INFO(sm.to_string());
        REQUIRE(sm.exp_polynomial().degree() == 15);
        CHECK(sm.inverse_error() <= 0x1p-12);
        std::mt19937_64 rng(k);
        double worst_p = 0, worst_loss = 0;
        for (int trial = 0; trial < 2000; ++trial) {
            // Logits within B of their mean (the stated interval).
            std::vector<double> z(k);
            double mean = 0;
            for (double& v : z) {
                v = 4.0 * (2.0 * std::generate_canonical<double, 53>(rng) - 1.0);
                mean += v / static_cast<double>(k);
            }
            double spread = 0;
            for (double v : z)
                spread = std::max(spread, std::fabs(v - mean));
            for (double& v : z)
                v = mean + (v - mean) * std::min(1.0, 4.0 / spread) + 1.5;  // any shift
            const std::vector<double> p = sm.probabilities(z);
            for (std::size_t i = 0; i < k; ++i) {
                const double truth = std::exp(-true_cross_entropy(z, i));
                worst_p = std::max(worst_p, std::fabs(p[i] - truth));
            }
            const std::size_t label = static_cast<std::size_t>(trial) % k;
            worst_loss =
                std::max(worst_loss, std::fabs(sm.loss(z, label) - true_cross_entropy(z, label)));
        }
        INFO("k = " << k << ": max |p - softmax| = " << worst_p
                    << ", max |loss - CE| = " << worst_loss);
        CHECK(-std::log2(worst_p) >= 12);  // measured 12.9 to 16 bits
        CHECK(worst_loss < 1e-4);
    }
    // The depth: centring 1 + exp 4 + sum 1 + Goldschmidt + product 1.
    const ml::nn::SoftmaxCrossEntropy two(2, {.logit_bound = 2, .exp_degree = 7});
    CHECK(two.inverse_iterations() == 5);
    CHECK(two.depth() == 3 + 3 + 5);
    CHECK(two.sum_interval().a == 2.0);
    CHECK(two.sum_interval().b == Approx(2 * std::cosh(2.0)));
}

TEST_CASE("ml/nn/softmax: the slot algorithm equals textbook softmax training", "[ml][nn]") {
    const ckks::Context context(small_parameters(8));
    struct Case {
        std::vector<ml::nn::Layer> layers;
        ml::Dataset data;
        ml::nn::Optimizer opt;
        std::size_t batch;
    };
    const std::vector<Case> cases = {
        {{Dense{2, 4}, Activation::square(), Dense{4, 2}},
         circles(64, 3),
         ml::nn::Optimizer::sgd(0.5),
         64},
        {{Dense{2, 5}, Activation::tanh(5, 4), Dense{5, 3}},
         three_classes(32, 4),
         ml::nn::Optimizer::with_momentum(0.3, 0.8),
         32},
    };
    for (std::size_t c = 0; c < cases.size(); ++c) {
        const ml::nn::Sequential net(cases[c].layers, 3 + c);
        const ml::nn::Layout layout = ml::nn::Layout::of(net, context.slots(), cases[c].batch);
        const ml::nn::Trainer trainer(
            net,
            {.optimizer = cases[c].opt, .steps = 3, .loss = ml::nn::Loss::softmax_cross_entropy});
        std::vector<double> losses;
        const ml::nn::Weights packed =
            trainer.fit_plain(cases[c].data, context, layout, 8, 8, nullptr, &losses);
        const ml::nn::SoftmaxCrossEntropy& sm = *trainer.softmax();
        const ml::nn::Weights reference =
            reference_training(net, cases[c].data, cases[c].batch, 3, cases[c].opt, &sm);
        INFO("case " << c << ": " << net.to_string());
        CHECK(packed.max_difference(reference) < 1e-9);
        CHECK(packed.max_difference(net.initial_weights()) > 1e-3);
        // One batch an epoch: epoch t's loss is the loss before step t.
        REQUIRE(losses.size() == 3);
        for (std::size_t t = 0; t < 3; ++t) {
            const ml::nn::Weights before =
                reference_training(net, cases[c].data, cases[c].batch, t, cases[c].opt, &sm);
            double polynomial = 0, truth = 0;
            for (std::size_t i = 0; i < cases[c].data.rows(); ++i) {
                const std::vector<double> z = net.predict(before, cases[c].data.row(i));
                const auto label = static_cast<std::size_t>(cases[c].data.labels()[i]);
                polynomial += sm.loss(z, label);
                truth += true_cross_entropy(z, label);
            }
            const auto rows = static_cast<double>(cases[c].data.rows());
            CHECK(losses[t] == Approx(polynomial / rows).epsilon(1e-9));
            CHECK(losses[t] == Approx(truth / rows).epsilon(1e-4));
        }
        CHECK(losses[2] < losses[0]);  // it learns
    }
}

TEST_CASE("ml/nn/logN=12 encrypted softmax training equals the same algorithm in the clear",
          "[ml][nn]") {
    const ml::Dataset data = three_classes(32, 6);
    const ml::nn::Sequential net({Dense{2, 4}, Activation::square(), Dense{4, 3}}, 5);
    const ml::nn::SoftmaxOptions softmax{.logit_bound = 2, .exp_degree = 7, .log_degree = 15};
    std::vector<ml::nn::EpochLoss> revealed;
    ml::nn::TrainingOptions options{.optimizer = ml::nn::Optimizer::sgd(0.5),
                                    .steps = 1,
                                    .loss = ml::nn::Loss::softmax_cross_entropy,
                                    .softmax = softmax};
    // The plan (no bootstrapping) says how many levels a step takes.
    const ml::nn::Trainer probe(net, options);
    const ckks::Context probe_context(small_parameters(40));
    const ml::nn::Layout probe_layout = ml::nn::Layout::of(net, probe_context.slots(), 32);
    const ml::nn::Plan probe_plan = probe.plan(probe_context, probe_layout, 40, 0);
    INFO(probe_plan.to_string());
    CHECK(probe_plan.loss_depth == 3 + 3 + 5);
    // The fewest levels that carry the monitored step without bootstrapping.
    std::size_t levels = probe_plan.step_depth;
    for (;; ++levels) {
        try {
            const ckks::Context c(small_parameters(levels));
            std::vector<double> losses;  // with the monitoring's levels
            (void)probe.fit_plain(data, c, ml::nn::Layout::of(net, c.slots(), 32), levels, 0,
                                  nullptr, &losses);
            break;
        } catch (const LevelError&) {
        }
    }

    const ckks::Context context(small_parameters(levels));
    const ml::nn::Layout layout = ml::nn::Layout::of(net, context.slots(), 32);
    ckks::KeyGenerator keygen(context);
    const ckks::Encoder encoder(context);
    const ckks::Encryptor encryptor(context, keygen.public_key());
    const ckks::Decryptor decryptor(context, keygen.secret_key());
    options.reveal_loss_each_epoch =
        ml::nn::RevealLoss{.decryptor = &decryptor,
                           .callback = [&](const ml::nn::EpochLoss& e) { revealed.push_back(e); }};
    const ml::nn::Trainer trainer(net, options);
    std::vector<double> clear_losses;
    ml::nn::Plan plan;
    const ml::nn::Weights plain =
        trainer.fit_plain(data, context, layout, levels, 0, &plan, &clear_losses);
    REQUIRE(plan.bootstraps() == 0);
    CHECK(plan.monitored);
    const ckks::Evaluator eval(context, keygen.relin_key(),
                               keygen.galois_keys(trainer.rotations(context, layout)));
    const ml::nn::EncryptedNetwork trained =
        trainer.fit(eval, ml::nn::encrypt(context, encryptor, encoder, net, layout, data));
    const ml::nn::Weights decrypted = trainer.decrypt(trained, decryptor, encoder);
    const double difference = decrypted.max_difference(plain);
    INFO("max |encrypted - plain| = " << difference);
    CHECK(difference < 1e-5);
    CHECK(plain.max_difference(net.initial_weights()) > 1e-2);
    // The revealed loss: the plaintext loss of the same algorithm, and the true one.
    REQUIRE(revealed.size() == 1);
    REQUIRE(trained.revealed_losses.size() == 1);
    CHECK(revealed[0].epoch == 1);
    CHECK(revealed[0].steps == 1);
    REQUIRE(clear_losses.size() == 1);
    double truth = 0;
    for (std::size_t i = 0; i < data.rows(); ++i)
        truth += true_cross_entropy(net.predict(net.initial_weights(), data.row(i)),
                                    static_cast<std::size_t>(data.labels()[i]));
    truth /= static_cast<double>(data.rows());
    INFO("revealed " << revealed[0].loss << ", clear " << clear_losses[0] << ", true " << truth);
    CHECK(std::fabs(revealed[0].loss - clear_losses[0]) < 1e-5);
    CHECK(std::fabs(revealed[0].loss - truth) < 1e-4);
}

TEST_CASE("ml/nn/softmax and monitoring: bad options give clear errors", "[ml][nn]") {
    using Catch::Matchers::Contains;
    const ml::nn::Sequential one({Dense{2, 4}, Activation::square(), Dense{4, 1}});
    CHECK_THROWS_AS(ml::nn::Trainer(one, {.loss = ml::nn::Loss::softmax_cross_entropy}),
                    InvalidArgumentError);
    CHECK_THROWS_WITH(ml::nn::Trainer(one, {.loss = ml::nn::Loss::softmax_cross_entropy}),
                      Contains("1 output") && Contains("at least 2") && Contains("Dense{h, 2}"));
    const ml::nn::Sequential three({Dense{2, 4}, Activation::square(), Dense{4, 3}});
    CHECK_THROWS_WITH(ml::nn::Trainer(three, {.loss = ml::nn::Loss::softmax_cross_entropy,
                                              .softmax = {.logit_bound = -1}}),
                      Contains("logit bound -1"));
    CHECK_THROWS_AS(ml::nn::Trainer(three, {.loss = ml::nn::Loss::softmax_cross_entropy,
                                            .softmax = {.inverse_iterations = 0}}),
                    InvalidArgumentError);
    CHECK_THROWS_WITH(ml::nn::Trainer(three, {.reveal_loss_each_epoch = ml::nn::RevealLoss{}}),
                      Contains("without a decryptor"));
    // Labels beyond the classes.
    const ckks::Context context(small_parameters(4));
    const ml::nn::Trainer trainer(three, {.loss = ml::nn::Loss::softmax_cross_entropy});
    const ml::Dataset bad(2, 2, {0.1, 0.2, 0.3, 0.4}, {0.0, 3.0}, ml::Task::regression);
    CHECK_THROWS_WITH(
        trainer.fit_plain(bad, context, ml::nn::Layout::of(three, context.slots(), 2), 4, 4),
        Contains("label 3") && Contains("0 to 2"));
}

TEST_CASE("ml/nn/logN=12 MSE monitoring reveals the plaintext loss", "[ml][nn]") {
    const ml::Dataset data = circles(32, 8);
    const ml::nn::Sequential net({Dense{2, 2}, Activation::square(), Dense{2, 1}}, 4);
    const ckks::Context context(small_parameters(8));
    const ml::nn::Layout layout = ml::nn::Layout::of(net, context.slots(), 16);
    ckks::KeyGenerator keygen(context);
    const ckks::Encoder encoder(context);
    const ckks::Encryptor encryptor(context, keygen.public_key());
    const ckks::Decryptor decryptor(context, keygen.secret_key());
    const ml::nn::Trainer trainer(
        net, {.optimizer = ml::nn::Optimizer::sgd(0.5),
              .steps = 1,
              .reveal_loss_each_epoch = ml::nn::RevealLoss{.decryptor = &decryptor}});
    std::vector<double> clear;
    (void)trainer.fit_plain(data, context, layout, 8, 0, nullptr, &clear);
    const ckks::Evaluator eval(context, keygen.relin_key(),
                               keygen.galois_keys(trainer.rotations(context, layout)));
    const ml::nn::EncryptedNetwork trained =
        trainer.fit(eval, ml::nn::encrypt(context, encryptor, encoder, net, layout, data));
    // One step of an epoch of two batches: the first batch's MSE, reported at the end.
    REQUIRE(trained.revealed_losses.size() == 1);
    REQUIRE(clear.size() == 1);
    double truth = 0;
    for (std::size_t i = 0; i < 16; ++i) {
        const double r = net.predict(net.initial_weights(), data.row(i))[0] - data.labels()[i];
        truth += r * r / 16;
    }
    INFO("revealed " << trained.revealed_losses[0] << ", clear " << clear[0] << ", true " << truth);
    CHECK(clear[0] == Approx(truth).epsilon(1e-12));
    CHECK(std::fabs(trained.revealed_losses[0] - truth) < 1e-6);
}
