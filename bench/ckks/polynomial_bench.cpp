// Benchmarks of homomorphic polynomial evaluation (Evaluator::evaluate):
//   ckks.evaluate_chebyshev/degree:<d>/N:<n>   a Chebyshev series of degree d on
//                                              [-1, 1] (the interpolant of a
//                                              smooth function), ceil(log2(d+1))
//                                              levels, at the 128-bit presets
// single thread, and with every core under threads:all. The counter `bits` is
// the precision of the result against the plaintext polynomial.
#include <benchmark/benchmark.h>
#include <omp.h>

#include <cloak/ckks/encoder.hpp>
#include <cloak/ckks/encryptor.hpp>
#include <cloak/ckks/evaluator.hpp>
#include <cloak/ckks/keys.hpp>
#include <cloak/ckks/polynomial.hpp>

#include <cmath>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace {

using namespace cloak;

// Chebyshev interpolant of sin(3t) / 2 + e^t / 8 on [-1, 1].
ckks::Polynomial smooth_series(std::size_t degree) {
    const std::size_t n = degree + 1;
    std::vector<double> c(n, 0.0);
    for (std::size_t k = 0; k < n; ++k) {
        const double theta = M_PI * (static_cast<double>(k) + 0.5) / static_cast<double>(n);
        const double t = std::cos(theta);
        const double value = 0.5 * std::sin(3 * t) + std::exp(t) / 8;
        for (std::size_t j = 0; j < n; ++j) {
            c[j] += 2.0 / static_cast<double>(n) * value * std::cos(static_cast<double>(j) * theta);
        }
    }
    c[0] /= 2;
    c[degree] = 1e-9;  // keep the full degree
    return ckks::Polynomial::chebyshev(c, {-1.0, 1.0});
}

struct Setup {
    ckks::Context context;
    ckks::KeyGenerator keygen;
    ckks::Encoder encoder;
    ckks::Encryptor encryptor;
    ckks::Decryptor decryptor;
    ckks::Evaluator evaluator;
    std::vector<double> values;
    ckks::Ciphertext x;

    explicit Setup(const ckks::Parameters& params)
        : context(params),
          keygen(context),
          encoder(context),
          encryptor(context, keygen.secret_key()),
          decryptor(context, keygen.secret_key()),
          evaluator(context, keygen.relin_key()) {
        std::mt19937_64 rng(3);
        std::uniform_real_distribution<double> uniform(-1, 1);
        values.resize(context.slots());
        for (double& v : values)
            v = uniform(rng);
        x = encryptor.encrypt(encoder.encode(values));
    }
};

Setup& setup(int log_n) {
    static std::map<int, std::unique_ptr<Setup>> setups;
    auto& slot = setups[log_n];
    if (!slot) {
        slot = std::make_unique<Setup>(
            log_n == 14   ? ckks::Parameters::preset(ckks::Preset::N14_QP438)
            : log_n == 15 ? ckks::Parameters::preset(ckks::Preset::N15_QP881)
                          : ckks::Parameters::preset(ckks::Preset::N16_QP1747));
    }
    return *slot;
}

void run(benchmark::State& state, int log_n, std::size_t degree, bool all_threads) {
    omp_set_num_threads(all_threads ? omp_get_num_procs() : 1);
    Setup& s = setup(log_n);
    const ckks::Polynomial p = smooth_series(degree);
    ckks::Ciphertext y;
    for (auto _ : state) {
        y = s.evaluator.evaluate(p, s.x);
        benchmark::DoNotOptimize(y);
    }
    std::vector<double> expected(s.values.size());
    for (std::size_t i = 0; i < expected.size(); ++i)
        expected[i] = p(s.values[i]);
    state.counters["bits"] =
        ckks::precision_bits(s.encoder.decode_real(s.decryptor.decrypt(y)), expected);
    state.counters["levels"] = static_cast<double>(s.x.level() - y.level());
}

const bool registered = [] {
    for (int log_n : {14, 16}) {
        for (std::size_t degree : {63, 255}) {
            for (bool threads : {false, true}) {
                const std::string name =
                    "ckks.evaluate_chebyshev/degree:" + std::to_string(degree) +
                    "/N:" + std::to_string(1 << log_n) + (threads ? "/threads:all" : "");
                benchmark::RegisterBenchmark(
                    name.c_str(),
                    [=](benchmark::State& state) { run(state, log_n, degree, threads); })
                    ->Unit(benchmark::kMillisecond)
                    ->UseRealTime();
            }
        }
    }
    return true;
}();

}  // namespace
