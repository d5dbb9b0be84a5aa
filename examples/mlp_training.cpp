// A small neural network trained on encrypted data, with bootstrapping.
//
// The key owner encrypts a dataset no line can separate (two concentric
// circles, 1024 seeded points); the server trains a 2-16-1 network with a
// square activation on the ciphertexts by mini-batch SGD, the
// weights encrypted from the first step to the last, bootstrapping them (and,
// where the plan says so, activations) when their levels run out. The key owner
// decrypts the network and compares it with the same training in the clear and
// with encrypted logistic regression on the same data, which a hidden layer
// should beat by far (a linear model stays near 50 percent on circles).
//
//   mlp_training                 128-bit-secure bootstrapping (N = 2^16, dense
//                                secret, boot::Preset::N16_dense), 2-16-1, batch
//                                256, 4 epochs (16 steps)
//   mlp_training --data FILE [--label COL]   your CSV (features normalized here)
//   --hidden H  --epochs E  --batch B  --lr R  --optimizer sgd|momentum|nesterov
//   --preset n12|n13|n16 (n12, n13: insecure, 9 user levels)  --json
//   --loss mse|softmax   mse (default): one output; softmax: two outputs (the
//                        logits) and softmax cross-entropy through polynomials
//   --reveal-loss-each-epoch   the key owner decrypts the training loss once per
//                        epoch and it is printed: this REVEALS the loss (off by default)
//   --policy fewest|packed|weights-first|just-in-time   where to bootstrap (default
//                fewest: the cheapest; packed: all weights in one sparse-slot
//                bootstrap per refresh)
//   --profile-bootstrap   time one packed bootstrap by phase (ModRaise, trace,
//                CoeffToSlot, EvalMod, SlotToCoeff), wall and CPU seconds
//   --smoke      N = 2^12, insecure, 128 points, one epoch of 2 steps (the ctest run)
//   --digits     the MNIST 3-vs-8 shape of Han et al. 2019 on SYNTHETIC data (MNIST
//                is not shipped): 1579 seeded 14 x 14 images of two stroke shapes,
//                a 196-32-2 network (one-hot targets under MSE), batch 128, SGD
//                lr 0.03, one epoch (13 steps); no
//                logistic-regression comparison
//   --max-steps S   stop after S steps (time part of an epoch)
//   --points P   synthetic samples (after --digits: fewer images, less memory)
//   --plan       print the whole level plan (every step's bootstraps) and stop
//                before any key is made
//   --stream     encrypt each batch when training reaches it (one batch in memory;
//                on by --digits); its encryption is timed apart from training
#include <cloak/cloak.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <exception>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <sys/resource.h>

using namespace cloak;

namespace {

struct Arguments {
    std::optional<std::string> data;
    std::optional<std::string> label;
    std::size_t hidden = 16;
    std::size_t epochs = 4;
    std::size_t batch = 256;
    std::size_t points = 1024;
    double lr = 1.0;
    std::string preset = "n16";
    std::string optimizer = "sgd";
    std::string loss = "mse";
    bool reveal_loss = false;
    std::string policy = "fewest";
    bool json = false;
    bool smoke = false;
    bool digits = false;
    std::size_t max_steps = 0;
    bool profile = false;
    bool plan_only = false;
    bool stream = false;
};

Arguments parse(int argc, char** argv) {
    Arguments a;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        const auto value = [&]() -> std::string {
            if (i + 1 >= argc)
                throw InvalidArgumentError(arg + " needs a value");
            return argv[++i];
        };
        if (arg == "--data") {
            a.data = value();
        } else if (arg == "--label") {
            a.label = value();
        } else if (arg == "--hidden") {
            a.hidden = std::stoul(value());
        } else if (arg == "--epochs") {
            a.epochs = std::stoul(value());
        } else if (arg == "--batch") {
            a.batch = std::stoul(value());
        } else if (arg == "--lr") {
            a.lr = std::stod(value());
        } else if (arg == "--optimizer") {
            a.optimizer = value();
        } else if (arg == "--policy") {
            a.policy = value();
        } else if (arg == "--preset") {
            a.preset = value();
        } else if (arg == "--loss") {
            a.loss = value();
        } else if (arg == "--reveal-loss-each-epoch") {
            a.reveal_loss = true;
        } else if (arg == "--digits") {
            a.digits = true;
            a.points = 1579;
            a.hidden = 32;
            a.batch = 128;
            a.epochs = 1;
            a.lr = 0.03;      // larger rates leave the square's and the loss's intervals
            a.stream = true;  // 13 batches of 33 ciphertexts: 4.5 GiB at N = 2^16
        } else if (arg == "--points") {
            a.points = std::stoul(value());
        } else if (arg == "--max-steps") {
            a.max_steps = std::stoul(value());
        } else if (arg == "--stream") {
            a.stream = true;
        } else if (arg == "--plan") {
            a.plan_only = true;
        } else if (arg == "--profile-bootstrap") {
            a.profile = true;
        } else if (arg == "--json") {
            a.json = true;
        } else if (arg == "--smoke") {
            a.smoke = true;
            a.preset = "n12";
            a.points = 128;
            a.batch = 64;
            a.hidden = 8;
            a.epochs = 1;
        } else {
            throw InvalidArgumentError(
                "unknown argument " + arg +
                "; use --data FILE --label COL --hidden H --epochs E --batch B --lr R "
                "--optimizer sgd|momentum|nesterov --preset n12|n13|n16 --loss mse|softmax "
                "--reveal-loss-each-epoch --digits --max-steps S --points P "
                "--policy fewest|packed|weights-first|just-in-time --profile-bootstrap --plan "
                "--stream --json --smoke");
        }
    }
    if (a.policy != "fewest" && a.policy != "packed" && a.policy != "weights-first" &&
        a.policy != "just-in-time") {
        throw InvalidArgumentError("--policy " + a.policy +
                                   ": use fewest, packed, weights-first or just-in-time");
    }
    if (a.preset != "n12" && a.preset != "n13" && a.preset != "n16") {
        throw InvalidArgumentError("--preset " + a.preset + ": use n12, n13 (insecure) or n16");
    }
    if (a.loss != "mse" && a.loss != "softmax")
        throw InvalidArgumentError("--loss " + a.loss + ": use mse or softmax");
    return a;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// 14 x 14 seeded images of two classes shaped like MNIST's 3 and 8 (synthetic:
// MNIST is not shipped): class 1 two stacked rings, class 0 only their right
// parts (open on the left); random shift up to 1.5 pixels, ring radius
// 2.2-3.2, stroke width 0.7-1.2, intensity 0.7-1, pixel noise U(0, 0.15),
// values in [0, 1].
ml::Dataset synthetic_digits(std::size_t rows, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    std::vector<double> values, labels;
    for (std::size_t r = 0; r < rows; ++r) {
        const bool eight = u(rng) < 0.5;
        const double dx = 3 * u(rng) - 1.5, dy = 3 * u(rng) - 1.5;
        const double radius = 2.2 + u(rng), width = 0.7 + 0.5 * u(rng);
        const double ink = 0.7 + 0.3 * u(rng);
        for (int i = 0; i < 14; ++i) {
            for (int j = 0; j < 14; ++j) {
                double v = 0;
                for (const double cy : {6.5 - radius + dy, 6.5 + radius + dy}) {
                    const double cx = 6.5 + dx;
                    const double x = j - cx, y = i - cy;
                    if (!eight && x < -0.3 * radius)
                        continue;
                    const double d = std::hypot(x, y) - radius;
                    v = std::max(v, ink * std::exp(-(d / width) * (d / width)));
                }
                values.push_back(std::min(1.0, v + 0.15 * u(rng)));
            }
        }
        labels.push_back(eight ? 1.0 : 0.0);
    }
    return ml::Dataset(rows, 196, std::move(values), std::move(labels));
}

// CPU seconds of the process, all threads (on a loaded machine the wall time
// overstates the cost; CPU time / threads is what a quiet machine would take
// at best).
double cpu_seconds() {
    return static_cast<double>(std::clock()) / CLOCKS_PER_SEC;
}

// The process's peak resident memory so far, in GiB.
double peak_gib() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return static_cast<double>(usage.ru_maxrss) / (1024.0 * 1024.0);
}

// One packed bootstrap, phase by phase. The trace (inside CoeffToSlot) is
// timed apart on the same rotate-and-adds.
void profile_bootstrap(const ckks::Context& context, const ckks::Encryptor& encryptor,
                       const ckks::Encoder& encoder, const boot::Bootstrapper& b) {
    const std::size_t n = b.parameters().slots();
    const ckks::Ciphertext ct =
        encryptor.encrypt(encoder.encode(std::vector<double>(n, 0.25), {.level = 0, .slots = n}));
    auto wall = std::chrono::steady_clock::now();
    double cpu = cpu_seconds();
    const auto lap = [&](const char* what) {
        std::printf("    %-34s %6.2f s wall  %6.2f s CPU\n", what, seconds_since(wall),
                    cpu_seconds() - cpu);
        wall = std::chrono::steady_clock::now();
        cpu = cpu_seconds();
    };
    std::printf("  packed bootstrap of %zu slots (N/2 = %zu), by phase:\n", n, context.slots());
    const ckks::Ciphertext raised = b.mod_raise_encapsulated(ct);
    lap("ModRaise (with encapsulation)");
    ckks::Ciphertext x = raised;
    for (std::size_t step = n; step < context.slots(); step *= 2)
        x = b.evaluator().add(x, b.evaluator().rotate(x, static_cast<std::int64_t>(step)));
    lap("trace alone (part of CoeffToSlot)");
    boot::SlotHalves halves = b.coeffs_to_slots(raised);
    lap("CoeffToSlot (trace included)");
    halves.re = b.eval_mod(halves.re);
    lap("EvalMod");
    const ckks::Ciphertext out = b.slots_to_coeffs(halves, ct.scale());
    lap("SlotToCoeff");
    (void)out;
}

ml::Column column(const std::string& text) {
    char* end = nullptr;
    const long index = std::strtol(text.c_str(), &end, 10);
    if (!text.empty() && *end == '\0')
        return ml::Column(static_cast<int>(index));
    return ml::Column(text);
}

// The bootstrapping parameters: the 128-bit-secure N16_dense preset by
// default; the insecure presets with 9 user levels for quick runs. `slots`:
// a sparse-slot bootstrapper of the same chain (0: full slots).
boot::Parameters parameters(const std::string& preset, std::size_t slots = 0) {
    boot::ParametersLiteral literal =
        preset == "n16"
            ? boot::Parameters::preset_literal(boot::Preset::N16_dense)
            : boot::ParametersLiteral{.log_n = preset == "n12" ? 12 : 13,
                                      .log_q0 = 48,
                                      .log_q_user = std::vector<int>(9, 40),
                                      .log_p = {61, 61, 61, 61},
                                      .log_scale = 40,
                                      .secret = ckks::SecretDistribution::sparse_ternary,
                                      .hamming_weight = 64,
                                      .security = rlwe::Security::insecure_for_testing_only};
    if (slots != 0)
        literal.slots = slots;
    return boot::Parameters::from(literal);
}

ml::nn::RefreshPolicy policy_of(const std::string& name) {
    if (name == "packed")
        return ml::nn::RefreshPolicy::packed;
    if (name == "weights-first")
        return ml::nn::RefreshPolicy::weights_first;
    if (name == "just-in-time")
        return ml::nn::RefreshPolicy::just_in_time;
    return ml::nn::RefreshPolicy::fewest;
}

int run(const Arguments& args) {
    const auto start = std::chrono::steady_clock::now();
    const bool verbose = !args.json;

    // --- the key owner: data, normalization to [-1, 1] -------------------------------
    const ml::Dataset raw =
        args.data ? ml::Dataset::load_csv(
                        *args.data,
                        {.label = args.label ? std::optional(column(*args.label)) : std::nullopt})
        : args.digits ? synthetic_digits(args.points, 1)
                      : ml::synthetic_circles(args.points, 1);
    const ml::Normalizer normalizer = ml::Normalizer::fit(raw, {.clip = true});
    const ml::Dataset data = normalizer.transform(raw);

    const bool softmax = args.loss == "softmax";
    const ml::nn::Sequential net({ml::nn::Dense{data.features(), args.hidden},
                                  ml::nn::Activation::square(),
                                  ml::nn::Dense{args.hidden, softmax || args.digits ? 2u : 1u}});
    const boot::Parameters params = parameters(args.preset);
    const ckks::Context context(params.ckks());
    const ml::nn::Layout layout = ml::nn::Layout::of(net, context.slots(), args.batch);
    const std::size_t steps_per_epoch = (data.rows() + args.batch - 1) / args.batch;
    const std::size_t steps = args.max_steps
                                  ? std::min(args.max_steps, args.epochs * steps_per_epoch)
                                  : args.epochs * steps_per_epoch;
    std::size_t last_bootstraps = 0;
    // The key owner's keys (the monitoring needs its decryptor).
    ckks::KeyGenerator keygen(context);
    const ckks::Decryptor decryptor(context, keygen.secret_key());
    double last_elapsed = 0;
    double last_cpu = cpu_seconds();
    // With --stream the key owner's encryption of each batch runs inside the
    // steps; the step lines leave it out (wall and CPU).
    double encrypt_seconds = 0;
    double encrypt_cpu = 0;
    ml::nn::TrainingOptions options{
        .optimizer = args.optimizer == "nesterov"   ? ml::nn::Optimizer::nesterov(args.lr, 0.9)
                     : args.optimizer == "momentum" ? ml::nn::Optimizer::with_momentum(args.lr, 0.9)
                                                    : ml::nn::Optimizer::sgd(args.lr),
        .steps = steps,
        .policy = policy_of(args.policy),
        .progress =
            [&](const ml::nn::StepReport& r) {
                const double elapsed = r.elapsed_seconds - (args.stream ? encrypt_seconds : 0.0);
                if (verbose) {
                    const double cpu = cpu_seconds() - (args.stream ? encrypt_cpu : 0.0);
                    std::printf(
                        "  step %3zu/%zu  %8.1f s (this step %5.1f s, CPU %5.1f s)  %3zu "
                        "bootstraps (+%zu)  %zu levels left  peak %.1f GiB\n",
                        r.step, r.steps, elapsed, elapsed - last_elapsed, cpu - last_cpu,
                        r.bootstraps, r.bootstraps - last_bootstraps, r.level, peak_gib());
                    std::fflush(stdout);
                    last_cpu = cpu;
                }
                last_bootstraps = r.bootstraps;
                last_elapsed = elapsed;
            },
        .loss = softmax ? ml::nn::Loss::softmax_cross_entropy : ml::nn::Loss::mse};
    if (args.reveal_loss) {
        // Decrypts one value per step; prints the epoch's mean. REVEALS the loss.
        options.reveal_loss_each_epoch = ml::nn::RevealLoss{
            .decryptor = &decryptor, .callback = [&](const ml::nn::EpochLoss& e) {
                if (verbose) {
                    std::printf("  epoch %zu: training loss %.6f (%s, REVEALED by decryption)\n",
                                e.epoch, e.loss, softmax ? "cross-entropy" : "mean squared error");
                    std::fflush(stdout);
                }
            }};
    }
    const std::size_t top = params.output_level();
    // Both bootstrappers are offered to the planner: the full-slot one and the
    // packed (sparse-slot) one that refreshes every weight in one bootstrap.
    const auto packed_slots_of = [&](const ml::nn::Trainer& t) -> std::size_t {
        try {
            return t.packed_slots(layout);
        } catch (const ShapeError&) {
            return 0;  // the weights do not fit in one ciphertext
        }
    };
    const auto plan_of = [&](const ml::nn::Trainer& t) {
        return t.plan(context, layout, top, top, packed_slots_of(t) ? top : 0);
    };
    const auto needs_both = [](const ml::nn::Plan& p) {
        return p.policy == ml::nn::RefreshPolicy::packed && p.bootstraps() > p.packed_bootstraps();
    };
    // A plan that needs both bootstrappers gets one: the packed weights take
    // the ring's period and the full-slot bootstrapper refreshes them too (each
    // bootstrapper holds gigabytes of keys at N = 2^16).
    if (needs_both(plan_of(ml::nn::Trainer(net, options))))
        options.packed_slots = context.slots();
    const ml::nn::Trainer trainer(net, options);
    const std::size_t packed_slots = packed_slots_of(trainer);
    const ml::nn::Plan plan = plan_of(trainer);
    // Build only the bootstrappers the plan uses (each holds its own keys).
    const bool needs_full = plan.bootstraps() > plan.packed_bootstraps() ||
                            plan.policy != ml::nn::RefreshPolicy::packed;
    const bool needs_packed = plan.policy == ml::nn::RefreshPolicy::packed;
    const bool shared = needs_full && needs_packed && packed_slots == context.slots();
    const std::size_t full_top = needs_full ? top : 0;
    const std::size_t packed_top = needs_packed ? top : 0;
    if (verbose) {
        std::printf("cloak: a %s trained on encrypted data\n", net.to_string().c_str());
        std::printf("  data: %zu samples x %zu features%s\n", data.rows(), data.features(),
                    args.data     ? ""
                    : args.digits ? " (SYNTHETIC 14 x 14 3-vs-8-like images, seeded; not MNIST)"
                                  : " (two concentric circles, seeded)");
        std::printf("  parameters: %s\n", params.to_string().c_str());
        std::printf("  layout: %zu slots per sample, batch %zu (x%zu replicas), %zu steps\n",
                    layout.block, layout.batch, layout.replicas, steps);
        const std::string text = plan.to_string();
        std::printf("  %s  ...\n", text.substr(0, text.find("  step")).c_str());
    }
    if (args.plan_only) {
        std::printf("%s", plan.to_string().c_str());
        return 0;
    }

    // Keys: the bootstrapper's own, plus the rotations training needs beyond them.
    const auto keys_start = std::chrono::steady_clock::now();
    std::optional<boot::Bootstrapper> bootstrapper;
    std::optional<boot::Bootstrapper> packed;
    if (needs_full)
        bootstrapper.emplace(context, keygen, params);
    if (needs_packed && !shared) {
        packed.emplace(
            context, keygen,
            packed_slots == context.slots() ? params : parameters(args.preset, packed_slots));
    }
    const boot::Bootstrapper* full_ptr = bootstrapper ? &*bootstrapper : nullptr;
    const boot::Bootstrapper* packed_ptr = shared ? full_ptr : packed ? &*packed : nullptr;
    const std::vector<std::int64_t> steps_needed =
        trainer.rotations(context, layout, full_ptr, packed_ptr);
    const ckks::Evaluator evaluator(context, keygen.relin_key(), keygen.galois_keys(steps_needed));
    const ckks::Encoder encoder(context);
    const ckks::Encryptor encryptor(context, keygen.public_key());
    const double keys_seconds = seconds_since(keys_start);
    if (verbose) {
        std::printf(
            "  keys: %s%s%s + %zu training rotations  %.1f s, peak %.1f GiB\n",
            needs_full ? "full-slot bootstrapping" : "",
            shared                       ? " (it refreshes the packed weights too)"
            : needs_full && needs_packed ? " + "
                                         : "",
            needs_packed && !shared
                ? ("packed bootstrapping (" + std::to_string(packed_slots) + " slots)").c_str()
                : "",
            steps_needed.size(), keys_seconds, peak_gib());
    }
    if (args.profile && packed_ptr)
        profile_bootstrap(context, encryptor, encoder, *packed_ptr);
    // Every batch encrypted up front, or (--stream) each one when training
    // reaches it: one batch in memory at a time, its encryption timed apart.
    const auto encrypt_start = std::chrono::steady_clock::now();
    ml::nn::EncryptedTrainingData encrypted;
    ml::nn::EncryptedBatchSource source;
    if (args.stream) {
        const ml::nn::EncryptedBatchSource encrypting = ml::nn::EncryptedBatchSource::encrypting(
            context, encryptor, encoder, net, layout, data, {.level = top});
        source = encrypting;
        source.batch = [&encrypt_seconds, &encrypt_cpu, encrypting](std::size_t i) {
            const auto batch_start = std::chrono::steady_clock::now();
            const double cpu_start = cpu_seconds();
            auto batch = encrypting.batch(i);
            encrypt_seconds += seconds_since(batch_start);
            encrypt_cpu += cpu_seconds() - cpu_start;
            return batch;
        };
    } else {
        encrypted = ml::nn::encrypt(context, encryptor, encoder, net, layout, data, {.level = top});
        source = ml::nn::EncryptedBatchSource::of(encrypted);
        encrypt_seconds = seconds_since(encrypt_start);
    }

    // --- the server: training, nothing decrypted -------------------------------------
    const auto train_start = std::chrono::steady_clock::now();
    last_cpu = cpu_seconds();  // step 1's CPU time leaves out keys and encryption
    const ml::nn::EncryptedNetwork trained = trainer.fit(evaluator, source, full_ptr, packed_ptr);
    // Streamed batches were encrypted inside the steps: the key owner's time.
    const double train_seconds = seconds_since(train_start) - (args.stream ? encrypt_seconds : 0.0);

    // --- the key owner: decrypt and compare ---------------------------------------------
    const ml::nn::Weights weights = trainer.decrypt(trained, decryptor, encoder);
    std::vector<double> clear_losses;
    const ml::nn::Weights clear =
        trainer.fit_plain(data, context, layout, top, full_top, nullptr,
                          args.reveal_loss ? &clear_losses : nullptr, packed_top);
    const double accuracy = net.accuracy(weights, data);
    const double clear_accuracy = net.accuracy(clear, data);
    const double difference = weights.max_difference(clear);

    // Encrypted logistic regression on the same data, in the same context.
    const auto lr_start = std::chrono::steady_clock::now();
    double lr_accuracy = std::nan("");
    if (!args.digits) {
        const ml::LogisticRegression logistic({.iterations = 3});
        const ml::Packing packing = ml::Packing::of(data.rows(), data.features(), context.slots());
        const ckks::Evaluator lr_evaluator(context, keygen.relin_key(),
                                           keygen.galois_keys(packing.rotations()));
        const ml::EncryptedModel lr_model =
            logistic.fit(lr_evaluator, ml::encrypt(context, encryptor, encoder, data));
        const std::vector<double> lr_p = lr_model.decrypt(decryptor, encoder).probabilities(data);
        lr_accuracy =
            ml::accuracy(lr_p, std::vector<double>(data.labels().begin(), data.labels().end()));
    }
    const double lr_seconds = seconds_since(lr_start);
    const double per_step = train_seconds / static_cast<double>(steps);

    if (args.json) {
        std::string losses = "[";
        for (std::size_t e = 0; e < trained.revealed_losses.size(); ++e)
            losses += (e ? ", " : "") + std::to_string(trained.revealed_losses[e]);
        losses += "]";
        std::printf("{\"loss\": \"%s\", \"revealed_losses\": %s, ", args.loss.c_str(),
                    losses.c_str());
        std::printf(
            "\"rows\": %zu, \"features\": %zu, \"hidden\": %zu, \"batch\": %zu, \"steps\": %zu, "
            "\"log_n\": %d, \"secure\": %s, \"bootstraps\": %zu, \"planned_bootstraps\": %zu, "
            "\"seconds\": {\"keys\": %.2f, \"encrypt\": %.2f, \"train\": %.2f, \"per_step\": "
            "%.2f, \"logistic\": %.2f, \"total\": %.2f}, \"accuracy\": {\"encrypted\": %.4f, "
            "\"plaintext_same_algorithm\": %.4f, \"encrypted_logistic_regression\": %s}, "
            "\"weight_difference\": %.3g, \"streamed\": %s, \"peak_memory_gib\": %.2f}\n",
            data.rows(), data.features(), args.hidden, args.batch, steps,
            context.parameters().log_n(), args.preset == "n16" ? "true" : "false",
            trained.events.size(), plan.bootstraps(), keys_seconds, encrypt_seconds, train_seconds,
            per_step, lr_seconds, seconds_since(start), accuracy, clear_accuracy,
            // Not run with --digits: null, not a NaN (which is no JSON).
            std::isnan(lr_accuracy) ? "null" : std::to_string(lr_accuracy).c_str(), difference,
            args.stream ? "true" : "false", peak_gib());
        return 0;
    }
    std::printf("  trained in %.1f s (%.2f s per step, %zu bootstraps, plan said %zu)\n",
                train_seconds, per_step, trained.events.size(), plan.bootstraps());
    std::printf(
        "  data encrypted in %.1f s (%s)\n", encrypt_seconds,
        args.stream ? "batch by batch as training reached it, not counted above" : "up front");
    std::printf("\n  %-46s %9s\n", "model", "accuracy");
    std::printf("  %-46s %8.1f%%\n",
                softmax ? "2-layer network, softmax CE, encrypted training"
                        : "2-layer network, encrypted training (decrypted)",
                100 * accuracy);
    std::printf("  %-46s %8.1f%%\n", "same network and algorithm in the clear",
                100 * clear_accuracy);
    if (args.digits) {
        std::printf("  %-46s %9s\n", "logistic regression, encrypted training", "not run");
    } else {
        std::printf("  %-46s %8.1f%%\n", "logistic regression, encrypted training",
                    100 * lr_accuracy);
    }
    std::printf("  encrypted vs clear weights: max difference %.2g\n", difference);
    for (std::size_t e = 0; e < trained.revealed_losses.size() && e < clear_losses.size(); ++e) {
        std::printf("  epoch %zu loss: revealed %.6f, same algorithm in the clear %.6f\n", e + 1,
                    trained.revealed_losses[e], clear_losses[e]);
    }
    std::printf("  whole run %.1f s%s\n", seconds_since(start),
                args.preset == "n16" ? "" : " (INSECURE parameters: a demo, not a deployment)");
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(parse(argc, argv));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "mlp_training: %s\n", e.what());
        return 1;
    }
}
