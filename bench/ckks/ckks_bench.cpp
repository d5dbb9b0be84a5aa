// Benchmarks of the CKKS scheme: encode, decode, encrypt (public and secret
// key), decrypt, add, multiply + relinearize + rescale, rotate, conjugate and 8
// hoisted rotations, at N = 2^14 with SEAL's comparison moduli {60, 40 x 6, 60}
// and at the 128-bit presets for N = 2^15 and 2^16. Names:
// ckks.<op>/N:<n>, single thread; the suffix threads:all uses every core.
#include <benchmark/benchmark.h>
#include <omp.h>

#include <cloak/ckks/encoder.hpp>
#include <cloak/ckks/encryptor.hpp>
#include <cloak/ckks/evaluator.hpp>
#include <cloak/ckks/keys.hpp>

#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace {

using namespace cloak;

struct Setup {
    ckks::Context context;
    ckks::KeyGenerator keygen;
    ckks::PublicKey public_key;
    ckks::Encoder encoder;
    ckks::Encryptor encryptor;
    ckks::Encryptor secret_encryptor;
    ckks::Decryptor decryptor;
    ckks::Evaluator evaluator;
    std::vector<double> values;
    ckks::Plaintext plaintext;
    ckks::Ciphertext x;
    ckks::Ciphertext y;

    explicit Setup(const ckks::Parameters& params)
        : context(params),
          keygen(context),
          public_key(keygen.public_key()),
          encoder(context),
          encryptor(context, public_key),
          secret_encryptor(context, keygen.secret_key()),
          decryptor(context, keygen.secret_key()),
          evaluator(context, keygen.relin_key(),
                    keygen.galois_keys({1, 2, 3, 4, 5, 6, 7, 8}, true)) {
        std::mt19937_64 rng(1);
        std::uniform_real_distribution<double> uniform(-1, 1);
        values.resize(context.slots());
        for (double& v : values) {
            v = uniform(rng);
        }
        plaintext = encoder.encode(values);
        x = encryptor.encrypt(plaintext);
        y = encryptor.encrypt(plaintext);
    }
};

// Key generation is slow at N = 2^16: one setup per parameter set, made on first use.
Setup& setup(int log_n) {
    static std::map<int, std::unique_ptr<Setup>> setups;
    auto& slot = setups[log_n];
    if (!slot) {
        const ckks::Parameters params =
            log_n == 14   ? ckks::Parameters::from({.log_n = 14,
                                                    .log_q = {60, 40, 40, 40, 40, 40, 40},
                                                    .log_p = {60},
                                                    .log_scale = 40})
            : log_n == 15 ? ckks::Parameters::preset(ckks::Preset::N15_QP881)
                          : ckks::Parameters::preset(ckks::Preset::N16_QP1747);
        slot = std::make_unique<Setup>(params);
    }
    return *slot;
}

template <typename Op>
void run(benchmark::State& state, int log_n, bool all_threads, Op op) {
    omp_set_num_threads(all_threads ? omp_get_num_procs() : 1);
    Setup& s = setup(log_n);
    for (auto _ : state) {
        op(s);
    }
}

void register_all(int log_n) {
    const std::string n = "/N:" + std::to_string(1 << log_n);
    const auto add = [&](const std::string& name, auto op, bool threads = false) {
        benchmark::RegisterBenchmark(
            ("ckks." + name + n + (threads ? "/threads:all" : "")).c_str(),
            [=](benchmark::State& state) { run(state, log_n, threads, op); })
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime();
    };
    add("encode", [](Setup& s) { benchmark::DoNotOptimize(s.encoder.encode(s.values)); });
    add("decode", [](Setup& s) { benchmark::DoNotOptimize(s.encoder.decode(s.plaintext)); });
    add("encrypt_public",
        [](Setup& s) { benchmark::DoNotOptimize(s.encryptor.encrypt(s.plaintext)); });
    add("encrypt_secret",
        [](Setup& s) { benchmark::DoNotOptimize(s.secret_encryptor.encrypt(s.plaintext)); });
    add("decrypt", [](Setup& s) { benchmark::DoNotOptimize(s.decryptor.decrypt(s.x)); });
    add("add", [](Setup& s) { benchmark::DoNotOptimize(s.evaluator.add(s.x, s.y)); });
    add("multiply_no_relin",
        [](Setup& s) { benchmark::DoNotOptimize(s.evaluator.multiply_no_relin(s.x, s.y)); });
    const auto product = [](Setup& s) {
        benchmark::DoNotOptimize(s.evaluator.rescale(s.evaluator.multiply(s.x, s.y)));
    };
    add("multiply_relin_rescale", product);
    add("multiply_relin_rescale", product, true);
    add("rotate", [](Setup& s) { benchmark::DoNotOptimize(s.evaluator.rotate(s.x, 1)); });
    add(
        "rotate", [](Setup& s) { benchmark::DoNotOptimize(s.evaluator.rotate(s.x, 1)); }, true);
    add("conjugate", [](Setup& s) { benchmark::DoNotOptimize(s.evaluator.conjugate(s.x)); });
    const std::vector<std::int64_t> steps{1, 2, 3, 4, 5, 6, 7, 8};
    add("rotate_hoisted_8",
        [steps](Setup& s) { benchmark::DoNotOptimize(s.evaluator.rotate_hoisted(s.x, steps)); });
}

const bool registered = [] {
    for (int log_n : {14, 15, 16}) {
        register_all(log_n);
    }
    return true;
}();

}  // namespace
