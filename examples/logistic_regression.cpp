// cloak's main demo: logistic regression trained on encrypted data.
//
// The key owner (a hospital, say) normalizes and encrypts its records; the
// server trains on the ciphertexts with Nesterov's accelerated gradient and a
// polynomial sigmoid (Kim et al. 2018) and never sees a feature, a label or a
// weight; the key owner decrypts the final model. The demo plays both parties
// and prints the decrypted model's accuracy and AUC beside training in the
// clear with the same algorithm and polynomial, and with the exact sigmoid.
//
//   logistic_regression                      synthetic 1579 x 18 (the iDASH 2017
//                                            shape), 7 iterations, degree-3 sigmoid,
//                                            128-bit-secure parameters
//   logistic_regression --data FILE [--label COL]   your CSV/TSV (label: name or
//                                            index, default the last column)
//   --iterations T   --degree 3|5|7   --json (one JSON summary)
//   --dp-epsilon E   differential privacy: Gaussian noise on the encrypted
//                    gradient for an (E, 1e-5) budget over the whole training
//   --smoke          small insecure parameters and 2 iterations (the ctest run)
#include <cloak/cloak.hpp>
#include <cloak/ml/dataset.hpp>
#include <cloak/ml/logistic_regression.hpp>
#include <cloak/ml/metrics.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <optional>
#include <string>
#include <vector>

using namespace cloak;

namespace {

struct Arguments {
    std::optional<std::string> data;
    std::optional<std::string> label;
    std::size_t iterations = ml::default_iterations;
    std::size_t degree = 3;
    std::optional<double> dp_epsilon;
    bool json = false;
    bool smoke = false;
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
        } else if (arg == "--iterations") {
            a.iterations = std::stoul(value());
        } else if (arg == "--degree") {
            a.degree = std::stoul(value());
        } else if (arg == "--dp-epsilon") {
            a.dp_epsilon = std::stod(value());
        } else if (arg == "--json") {
            a.json = true;
        } else if (arg == "--smoke") {
            a.smoke = true;
            a.iterations = 2;
        } else {
            throw InvalidArgumentError(
                "unknown argument " + arg +
                "; use --data FILE --label COL --iterations T --degree 3|5|7 --dp-epsilon E --json "
                "--smoke");
        }
    }
    return a;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// A label column given as a number is an index, anything else a name.
ml::Column column(const std::string& text) {
    char* end = nullptr;
    const long index = std::strtol(text.c_str(), &end, 10);
    if (!text.empty() && *end == '\0')
        return ml::Column(static_cast<int>(index));
    return ml::Column(text);
}

int run(const Arguments& args) {
    const auto start = std::chrono::steady_clock::now();
    const bool verbose = !args.json;

    // --- the key owner: data, normalization ---------------------------------------------
    ml::Dataset raw =
        args.data ? ml::Dataset::load_csv(
                        *args.data,
                        {.label = args.label ? std::optional(column(*args.label)) : std::nullopt})
        : args.smoke ? ml::synthetic_logistic(256, 6, 1).data
                     : ml::synthetic_logistic().data;
    const ml::Normalizer normalizer = ml::Normalizer::fit(raw);
    const ml::Dataset data = normalizer.transform(raw);

    ml::LogisticRegressionOptions options{
        .iterations = args.iterations,
        .sigmoid = ml::kim_sigmoid(args.degree),
        .progress = [&](const ml::IterationReport& r) {
            if (verbose) {
                std::printf("  iteration %zu/%zu  %7.1f s  %2zu levels left\n", r.iteration,
                            r.iterations, r.elapsed_seconds, r.level);
            }
        }};
    // The reference trained in the clear has no privacy noise.
    const ml::LogisticRegression reference(options);
    if (args.dp_epsilon) {
        options.privacy = ml::DifferentialPrivacy{.epsilon = *args.dp_epsilon};
    }
    const ml::LogisticRegression trainer(options);
    const ckks::Parameters params =
        args.smoke ? trainer.parameters(rlwe::Security::insecure_for_testing_only)
                   : trainer.parameters();
    if (verbose) {
        std::printf("cloak: logistic regression on encrypted data\n");
        std::printf("  data: %zu samples x %zu features%s\n", data.rows(), data.features(),
                    args.data ? "" : " (synthetic, seeded)");
        std::printf("  parameters: %s\n", params.to_string().c_str());
    }
    const ckks::Context context(params);
    ckks::KeyGenerator keygen(context);
    const ml::Packing packing = ml::Packing::of(data.rows(), data.features(), context.slots());
    const ckks::Encoder encoder(context);
    const ckks::Encryptor encryptor(context, keygen.public_key());
    const ckks::Decryptor decryptor(context, keygen.secret_key());
    const ckks::Evaluator evaluator(context, keygen.relin_key(),
                                    keygen.galois_keys(packing.rotations(), false));
    const double keys_seconds = seconds_since(start);
    if (verbose) {
        std::printf("  keys: public, relinearization, %zu rotations  %.1f s\n",
                    packing.rotations().size(), keys_seconds);
    }
    const auto encrypt_start = std::chrono::steady_clock::now();
    const ml::EncryptedDataset encrypted = ml::encrypt(context, encryptor, encoder, data);
    const double encrypt_seconds = seconds_since(encrypt_start);
    if (verbose) {
        std::printf("  encrypted %zu samples into %zu ciphertexts (%zu per ciphertext)  %.1f s\n",
                    data.rows(), packing.ciphertexts, packing.samples_per_ciphertext,
                    encrypt_seconds);
        std::printf("  training: %zu Nesterov iterations, degree-%zu sigmoid, %zu levels each\n",
                    args.iterations, args.degree, trainer.levels_per_iteration());
    }

    // --- the server: training without decrypting ---------------------------------------
    const auto train_start = std::chrono::steady_clock::now();
    const ml::EncryptedModel encrypted_model = trainer.fit(evaluator, encrypted);
    const double train_seconds = seconds_since(train_start);

    // --- the key owner: decrypt the model, compare ---------------------------------------
    // The model keeps the normalization statistics: it predicts on raw features.
    const ml::Model model = encrypted_model.decrypt(decryptor, encoder, normalizer);
    const double total_seconds = seconds_since(start);
    const ml::Model same_in_clear = reference.fit_plain(data);
    const std::vector<double> exact_weights =
        ml::plain::logistic_regression(data, {.iterations = args.iterations});
    const std::vector<double> labels(data.labels().begin(), data.labels().end());
    const auto report = [&](const std::vector<double>& weights) {
        const std::vector<double> p = ml::Model{weights}.probabilities(data);
        return std::pair{ml::accuracy(p, labels), ml::auc(p, labels)};
    };
    const ml::Metrics raw_metrics = model.evaluate(raw);  // normalizes raw inputs itself
    const double accuracy = raw_metrics.accuracy;
    const double auc = raw_metrics.auc;
    const auto [plain_accuracy, plain_auc] = report(same_in_clear.weights);
    const auto [exact_accuracy, exact_auc] = report(exact_weights);
    double weight_error = 0;
    for (std::size_t j = 0; j < model.weights.size(); ++j) {
        weight_error =
            std::max(weight_error, std::fabs(model.weights[j] - same_in_clear.weights[j]));
    }

    if (args.json) {
        std::printf(
            "{\"rows\": %zu, \"features\": %zu, \"iterations\": %zu, \"degree\": %zu, "
            "\"log_n\": %d, \"log_qp\": %.1f, \"secure\": %s, \"seconds\": {\"keys\": %.2f, "
            "\"encrypt\": %.2f, \"train\": %.2f, \"total\": %.2f}, \"encrypted\": {\"accuracy\": "
            "%.4f, \"auc\": %.4f}, \"plaintext_same_polynomial\": {\"accuracy\": %.4f, \"auc\": "
            "%.4f}, \"plaintext_exact_sigmoid\": {\"accuracy\": %.4f, \"auc\": %.4f}, "
            "\"weight_precision_bits\": %.1f}\n",
            data.rows(), data.features(), args.iterations, args.degree,
            context.parameters().log_n(), context.parameters().log_qp(),
            args.smoke ? "false" : "true", keys_seconds, encrypt_seconds, train_seconds,
            total_seconds, accuracy, auc, plain_accuracy, plain_auc, exact_accuracy, exact_auc,
            -std::log2(weight_error));
        return 0;
    }
    std::printf("  trained in %.1f s; whole run %.1f s\n", train_seconds, total_seconds);
    if (encrypted_model.privacy) {
        std::printf(
            "  differential privacy: (%.2f, %.0e)-DP, gradient noise sigma %.4g "
            "(sensitivity %.4g)\n",
            encrypted_model.privacy->epsilon, encrypted_model.privacy->delta,
            encrypted_model.privacy->sigma, encrypted_model.privacy->sensitivity);
    }
    std::printf("\n  %-36s %9s %7s\n", "model", "accuracy", "AUC");
    std::printf("  %-36s %8.1f%% %7.4f\n", "encrypted training (decrypted)", 100 * accuracy, auc);
    std::printf("  %-36s %8.1f%% %7.4f\n",
                args.dp_epsilon ? "plaintext, same algorithm, no noise"
                                : "plaintext, same algorithm + polynomial",
                100 * plain_accuracy, plain_auc);
    std::printf("  %-36s %8.1f%% %7.4f\n", "plaintext, exact sigmoid", 100 * exact_accuracy,
                exact_auc);
    std::printf("  encrypted vs plaintext weights: max difference 2^%.1f\n",
                std::log2(weight_error));
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(parse(argc, argv));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "logistic_regression: %s\n", e.what());
        return 1;
    }
}
