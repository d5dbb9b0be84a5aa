// Benchmarks of encrypted logistic regression (ml/logistic_regression.hpp):
//   ml.logistic/synthetic:1579x18/iterations:7   the README demo's training: keys,
//                                                encryption, 7 Nesterov iterations,
//                                                decryption (one run)
//   ml.logistic_cv5/data:<file>/iterations:<t>   5-fold cross-validation on a file of
//                                                ../shared/data (when present): per
//                                                fold, normalize on the training part,
//                                                encrypt it, train, decrypt, test
// Counters: seconds per fold (encrypt + train + decrypt, keys made once), mean
// test accuracy and AUC of the encrypted-trained models, and the same for
// plaintext training with the same algorithm and polynomial. Each runs once
// (Iterations(1)): they take seconds to minutes.
#include <benchmark/benchmark.h>
#include <omp.h>

#include <cloak/cloak.hpp>
#include <cloak/ml/dataset.hpp>
#include <cloak/ml/logistic_regression.hpp>
#include <cloak/ml/metrics.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

namespace {

using namespace cloak;

#ifndef CLOAK_SHARED_DATA_DIR
#define CLOAK_SHARED_DATA_DIR "../shared/data"
#endif

std::filesystem::path shared_data() {
    if (const char* dir = std::getenv("CLOAK_SHARED_DATA"))
        return dir;
    return CLOAK_SHARED_DATA_DIR;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

struct Scores {
    double accuracy = 0;
    double auc = 0;
};

Scores score(const ml::Model& model, const ml::Dataset& data) {
    const std::vector<double> p = model.probabilities(data);
    const std::vector<double> labels(data.labels().begin(), data.labels().end());
    return {ml::accuracy(p, labels), ml::auc(p, labels)};
}

void synthetic(benchmark::State& state) {
    omp_set_num_threads(omp_get_num_procs());
    for (auto _ : state) {
        const auto start = std::chrono::steady_clock::now();
        const ml::Dataset data = ml::synthetic_logistic().data;
        const ml::LogisticRegression trainer({.iterations = 7});
        const ckks::Context context(trainer.parameters());
        ckks::KeyGenerator keygen(context);
        const ml::Packing packing = ml::Packing::of(data.rows(), data.features(), context.slots());
        const ckks::Encoder encoder(context);
        const ckks::Encryptor encryptor(context, keygen.public_key());
        const ckks::Decryptor decryptor(context, keygen.secret_key());
        const ckks::Evaluator eval(context, keygen.relin_key(),
                                   keygen.galois_keys(packing.rotations(), false));
        state.counters["keys_s"] = seconds_since(start);
        const auto train_start = std::chrono::steady_clock::now();
        const ml::Model model = trainer.fit(eval, ml::encrypt(context, encryptor, encoder, data))
                                    .decrypt(decryptor, encoder);
        state.counters["train_s"] = seconds_since(train_start);
        const Scores encrypted = score(model, data);
        const Scores plain = score(trainer.fit_plain(data), data);
        state.counters["accuracy"] = encrypted.accuracy;
        state.counters["auc"] = encrypted.auc;
        state.counters["plain_accuracy"] = plain.accuracy;
        state.counters["plain_auc"] = plain.auc;
    }
}

void cross_validation(benchmark::State& state, const std::string& file, std::size_t iterations,
                      double rate) {
    omp_set_num_threads(omp_get_num_procs());
    const std::filesystem::path path = shared_data() / file;
    if (!std::filesystem::exists(path)) {
        state.SkipWithError(("no " + path.string() + "; set CLOAK_SHARED_DATA").c_str());
        for (auto _ : state) {
        }
        return;
    }
    const ml::Dataset raw = ml::Dataset::load_csv(path);
    const ml::LogisticRegression trainer(
        {.iterations = iterations,
         .learning_rate = [rate](std::size_t t) { return rate / static_cast<double>(t + 1); }});
    for (auto _ : state) {
        const ckks::Context context(trainer.parameters());
        ckks::KeyGenerator keygen(context);
        const ml::Packing shape = ml::Packing::of(raw.rows(), raw.features(), context.slots());
        const ckks::Encoder encoder(context);
        const ckks::Encryptor encryptor(context, keygen.public_key());
        const ckks::Decryptor decryptor(context, keygen.secret_key());
        const ckks::Evaluator eval(context, keygen.relin_key(),
                                   keygen.galois_keys(shape.rotations(), false));
        Scores encrypted, plain;
        double fold_seconds = 0;
        const auto folds = ml::k_fold(raw, 5, 1);
        for (const ml::Partition& fold : folds) {
            const ml::Dataset train_raw = raw.subset(fold.train);
            const ml::Normalizer normalizer = ml::Normalizer::fit(train_raw);
            const ml::Dataset train = normalizer.transform(train_raw);
            const ml::Dataset test = normalizer.transform(raw.subset(fold.test));
            const auto start = std::chrono::steady_clock::now();
            const ml::Model model =
                trainer.fit(eval, ml::encrypt(context, encryptor, encoder, train))
                    .decrypt(decryptor, encoder);
            fold_seconds += seconds_since(start);
            const Scores e = score(model, test);
            const Scores p = score(trainer.fit_plain(train), test);
            encrypted.accuracy += e.accuracy / 5;
            encrypted.auc += e.auc / 5;
            plain.accuracy += p.accuracy / 5;
            plain.auc += p.auc / 5;
        }
        state.counters["fold_s"] = fold_seconds / 5;
        state.counters["accuracy"] = encrypted.accuracy;
        state.counters["auc"] = encrypted.auc;
        state.counters["plain_accuracy"] = plain.accuracy;
        state.counters["plain_auc"] = plain.auc;
        state.counters["log_n"] = context.parameters().log_n();
    }
}

const bool registered = [] {
    benchmark::RegisterBenchmark("ml.logistic/synthetic:1579x18/iterations:7", synthetic)
        ->Iterations(1)
        ->Repetitions(1)
        ->Unit(benchmark::kSecond)
        ->UseRealTime();
    for (const char* file : {"edin.tsv", "lbw.tsv", "pcs.tsv", "uis.tsv"}) {
        for (const auto& [iterations, rate] : {std::pair{4, 20.0}, std::pair{5, 20.0}}) {
            const std::string name = std::string("ml.logistic_cv5/data:") + file +
                                     "/iterations:" + std::to_string(iterations);
            benchmark::RegisterBenchmark(
                name.c_str(),
                [file = std::string(file), iterations = iterations,
                 rate = rate](benchmark::State& state) {
                    cross_validation(state, file, static_cast<std::size_t>(iterations), rate);
                })
                ->Iterations(1)
                ->Repetitions(1)
                ->Unit(benchmark::kSecond)
                ->UseRealTime();
        }
    }
    return true;
}();

}  // namespace
