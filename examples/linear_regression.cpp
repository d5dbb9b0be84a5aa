// Linear regression trained on encrypted data: the regression twin of the main
// demo (examples/logistic_regression.cpp).
//
// The key owner normalizes and encrypts features and targets; the server runs
// Nesterov's accelerated gradient on the mean squared error (optionally ridge)
// on the ciphertexts; the key owner decrypts the model. Printed: MSE and R^2
// of the decrypted model beside the same training in the clear and the exact
// least-squares solution.
//
//   linear_regression                  synthetic 1579 x 18, 10 iterations, 128-bit
//   linear_regression --data FILE [--label COL]   your CSV/TSV (label: name or index)
//   --iterations T   --ridge L   --rate A (default 1 / L, L the largest eigenvalue of
//   the data's second moment, computed by the key owner)   --json   --smoke
#include <cloak/cloak.hpp>
#include <cloak/ml/linear_regression.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <optional>
#include <string>
#include <vector>

using namespace cloak;

int main(int argc, char** argv) {
    try {
        std::optional<std::string> file, label;
        std::size_t iterations = ml::default_linear_iterations;
        double ridge = 0;
        std::optional<double> rate;
        bool json = false, smoke = false;
        for (int i = 1; i < argc; ++i) {
            const std::string arg = argv[i];
            const auto value = [&]() -> std::string {
                if (i + 1 >= argc)
                    throw InvalidArgumentError(arg + " needs a value");
                return argv[++i];
            };
            if (arg == "--data") {
                file = value();
            } else if (arg == "--label") {
                label = value();
            } else if (arg == "--iterations") {
                iterations = std::stoul(value());
            } else if (arg == "--ridge") {
                ridge = std::stod(value());
            } else if (arg == "--rate") {
                rate = std::stod(value());
            } else if (arg == "--json") {
                json = true;
            } else if (arg == "--smoke") {
                smoke = true;
                iterations = 2;
            } else {
                throw InvalidArgumentError("unknown argument " + arg +
                                           "; use --data FILE --label COL --iterations T --ridge L "
                                           "--rate A --json --smoke");
            }
        }
        const auto start = std::chrono::steady_clock::now();
        const auto since = [](auto t) {
            return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
        };
        ml::LoadOptions load{.task = ml::Task::regression};
        if (label) {
            char* end = nullptr;
            const long index = std::strtol(label->c_str(), &end, 10);
            load.label = *end == '\0' ? ml::Column(static_cast<int>(index)) : ml::Column(*label);
        }
        const ml::Dataset raw = file    ? ml::Dataset::load_csv(*file, load)
                                : smoke ? ml::synthetic_linear(256, 6, 1).data
                                        : ml::synthetic_linear().data;
        const ml::Dataset data = ml::Normalizer::fit(raw).transform(raw);

        const ml::LinearRegression trainer(
            {.iterations = iterations,
             .learning_rate = rate ? *rate : ml::LinearRegression::suggested_rate(data),
             .ridge = ridge,
             .progress = [&](const ml::IterationReport& r) {
                 if (!json) {
                     std::printf("  iteration %zu/%zu  %6.1f s  %2zu levels left\n", r.iteration,
                                 r.iterations, r.elapsed_seconds, r.level);
                 }
             }});
        const ckks::Context context(trainer.parameters(
            smoke ? rlwe::Security::insecure_for_testing_only : rlwe::Security::classical128));
        if (!json) {
            std::printf("cloak: linear regression on encrypted data, %zu samples x %zu features\n",
                        data.rows(), data.features());
            std::printf("  parameters: %s\n", context.parameters().to_string().c_str());
        }
        ckks::KeyGenerator keygen(context);
        const ckks::Encoder encoder(context);
        const ckks::Encryptor encryptor(context, keygen.public_key());
        const ckks::Decryptor decryptor(context, keygen.secret_key());
        const ml::EncryptedDataset encrypted = ml::encrypt(context, encryptor, encoder, data);
        const ckks::Evaluator eval(context, keygen.relin_key(),
                                   keygen.galois_keys(encrypted.packing.rotations(), false));
        const ml::Model model = trainer.fit(eval, encrypted).decrypt(decryptor, encoder);
        const double seconds = since(start);

        const std::vector<double> y(data.labels().begin(), data.labels().end());
        const ml::Model plain = trainer.fit_plain(data);
        const ml::Model exact{ml::plain::ridge_closed_form(data, ridge)};
        const auto report = [&](const ml::Model& m) {
            const std::vector<double> p = m.scores(data);
            return std::pair{ml::mse(p, y), ml::r2(p, y)};
        };
        const auto [mse, r2] = report(model);
        const auto [plain_mse, plain_r2] = report(plain);
        const auto [exact_mse, exact_r2] = report(exact);
        if (json) {
            std::printf(
                "{\"rows\": %zu, \"features\": %zu, \"iterations\": %zu, \"seconds\": %.2f, "
                "\"encrypted\": {\"mse\": %.6f, \"r2\": %.6f}, \"plaintext_same\": "
                "{\"mse\": %.6f, \"r2\": %.6f}, \"least_squares\": {\"mse\": %.6f, "
                "\"r2\": %.6f}}\n",
                data.rows(), data.features(), iterations, seconds, mse, r2, plain_mse, plain_r2,
                exact_mse, exact_r2);
            return 0;
        }
        std::printf("  whole run %.1f s\n\n  %-34s %10s %8s\n", seconds, "model", "MSE", "R^2");
        std::printf("  %-34s %10.5f %8.4f\n", "encrypted training (decrypted)", mse, r2);
        std::printf("  %-34s %10.5f %8.4f\n", "plaintext, same algorithm", plain_mse, plain_r2);
        std::printf("  %-34s %10.5f %8.4f\n", "exact least squares", exact_mse, exact_r2);
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "linear_regression: %s\n", e.what());
        return 1;
    }
}
