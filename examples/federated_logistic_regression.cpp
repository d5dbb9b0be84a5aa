// Federated logistic regression with encrypted aggregation, three parties in
// one process.
//
// Three hospitals hold disjoint parts of one dataset. Each round, every party
// runs a few local Nesterov steps from the current global model on its own
// data, encrypts its model weighted by its sample count under the shared
// public key, and sends it to the aggregator. The aggregator adds the three
// ciphertexts without decrypting them; the key owner decrypts only the sum
// and divides by the total count (FedAvg, McMahan et al. 2017). No party's
// model is ever seen by anyone. Printed: the accuracy after each round beside
// one model trained on all the data at once.
//
//   federated_logistic_regression [--rounds R] [--local-steps S]
#include <cloak/cloak.hpp>
#include <cloak/ml/dataset.hpp>
#include <cloak/ml/federated.hpp>
#include <cloak/ml/metrics.hpp>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

using namespace cloak;

int main(int argc, char** argv) {
    try {
        std::size_t rounds = 5;
        std::size_t local_steps = 3;
        for (int i = 1; i + 1 < argc; i += 2) {
            const std::string arg = argv[i];
            if (arg == "--rounds") {
                rounds = std::stoul(argv[i + 1]);
            } else if (arg == "--local-steps") {
                local_steps = std::stoul(argv[i + 1]);
            } else {
                throw InvalidArgumentError("unknown argument " + arg +
                                           "; use --rounds R --local-steps S");
            }
        }

        // One synthetic population, split among three parties (seeded).
        const ml::Dataset all = ml::synthetic_logistic(1500, 10, 7).data;
        const auto folds = ml::k_fold(all, 3, 7);
        std::vector<ml::Dataset> parties;
        for (const ml::Partition& fold : folds)
            parties.push_back(all.subset(fold.test));

        // The key owner makes the keys; the parties and the aggregator get the
        // public key and the evaluator only. One level suffices: updates are added.
        const ckks::Context context(ckks::Parameters::from(
            {.log_n = 13, .log_q = {60, 40}, .log_p = {60}, .log_scale = 40}));
        ckks::KeyGenerator keygen(context);
        const ckks::Encoder encoder(context);
        const ckks::Encryptor encryptor(context, keygen.public_key());
        const ckks::Decryptor decryptor(context, keygen.secret_key());
        const ckks::Evaluator aggregator(context);

        const std::vector<double> labels(all.labels().begin(), all.labels().end());
        const auto accuracy = [&](const std::vector<double>& w) {
            return ml::accuracy(ml::predict_probabilities(w, all), labels);
        };
        std::printf("federated logistic regression: 3 parties (%zu, %zu, %zu samples), %s\n",
                    parties[0].rows(), parties[1].rows(), parties[2].rows(),
                    context.parameters().to_string().c_str());

        std::vector<double> global(all.features() + 1, 0.0);
        for (std::size_t round = 1; round <= rounds; ++round) {
            std::vector<ml::EncryptedUpdate> updates;
            for (const ml::Dataset& party : parties) {
                const std::vector<double> local = ml::plain::logistic_regression(
                    party, {.iterations = local_steps, .initial_weights = global});
                updates.push_back(ml::encrypt_update(encryptor, encoder, local,
                                                     static_cast<double>(party.rows())));
            }
            const ml::EncryptedUpdate sum = ml::aggregate(aggregator, updates);
            global = ml::decrypt_average(decryptor, encoder, sum);
            std::printf("  round %zu: global model accuracy %.1f%%\n", round,
                        100 * accuracy(global));
        }
        const std::vector<double> central =
            ml::plain::logistic_regression(all, {.iterations = rounds * local_steps});
        std::printf("  one model on all the data (%zu steps): accuracy %.1f%%\n",
                    rounds * local_steps, 100 * accuracy(central));
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "federated_logistic_regression: %s\n", e.what());
        return 1;
    }
}
