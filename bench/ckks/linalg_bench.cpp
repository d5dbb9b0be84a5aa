// Benchmarks of encrypted linear algebra (ckks/linear_transform.hpp,
// ckks/matrix.hpp), single thread, at the 128-bit presets:
//   ckks.matvec/n:256/N:<n>         256 x 256 dense plaintext matrix times an
//                                   encrypted vector (BSGS diagonals, 1 level),
//                                   diagonals already encoded at the level
//   ckks.matvec_encode/n:256/N:<n>  encoding those 256 diagonals at one level
//   ckks.matmul/d:64/N:8192         64 x 64 encrypted matrix product (JKLS, 3
//                                   levels: the whole depth of N13_QP218)
// and the same at n = 64 and d = 16, cheap enough for a quick run.
// with the ciphertexts at the top level. The counter `bits` is the precision of
// the result (-log2 of the max error against the plaintext product).
// Memory: the matrix product needs 189 Galois keys (2.6 MB each at
// N = 2^13); the 256 x 256 product 30 keys and 256 encoded diagonals (N = 2^15:
// 110 MB per key, 5 MB per diagonal).
#include <benchmark/benchmark.h>
#include <omp.h>

#include <cloak/ckks/encoder.hpp>
#include <cloak/ckks/encryptor.hpp>
#include <cloak/ckks/evaluator.hpp>
#include <cloak/ckks/keys.hpp>
#include <cloak/ckks/linear_transform.hpp>
#include <cloak/ckks/matrix.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace {

using namespace cloak;

std::vector<double> uniform_values(std::size_t count, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> uniform(-1, 1);
    std::vector<double> values(count);
    for (double& v : values) {
        v = uniform(rng);
    }
    return values;
}

ckks::Parameters preset(int log_n) {
    switch (log_n) {
        case 13:
            return ckks::Parameters::preset(ckks::Preset::N13_QP218);
        case 14:
            return ckks::Parameters::preset(ckks::Preset::N14_QP438);
        case 15:
            return ckks::Parameters::preset(ckks::Preset::N15_QP881);
        default:
            return ckks::Parameters::preset(ckks::Preset::N16_QP1747);
    }
}

// Keys for one operation at one ring degree, made on first use.
struct Setup {
    ckks::Context context;
    ckks::KeyGenerator keygen;
    ckks::Encoder encoder;
    ckks::Encryptor encryptor;
    ckks::Decryptor decryptor;
    ckks::Evaluator evaluator;

    Setup(const ckks::Parameters& params, const std::vector<std::int64_t>& steps)
        : context(params),
          keygen(context),
          encoder(context),
          encryptor(context, keygen.public_key()),
          decryptor(context, keygen.secret_key()),
          evaluator(context, keygen.relin_key(), keygen.galois_keys(steps)) {}

    double bits(const ckks::Ciphertext& c, const std::vector<double>& expected) const {
        std::vector<double> actual = encoder.decode_real(decryptor.decrypt(c));
        actual.resize(expected.size());
        return ckks::precision_bits(actual, expected);
    }
};

Setup& setup(const std::string& key, int log_n, const std::vector<std::int64_t>& steps) {
    static std::map<std::string, std::unique_ptr<Setup>> setups;
    auto& slot = setups[key + "/" + std::to_string(log_n)];
    if (!slot) {
        slot = std::make_unique<Setup>(preset(log_n), steps);
    }
    return *slot;
}

struct MatVec {
    std::size_t n;
    std::vector<double> matrix;
    std::vector<double> x;
    std::vector<double> expected;

    explicit MatVec(std::size_t size)
        : n(size),
          matrix(uniform_values(size * size, 1)),
          x(uniform_values(size, 2)),
          expected(size) {
        for (std::size_t i = 0; i < n; ++i) {
            for (std::size_t j = 0; j < n; ++j) {
                expected[i] += matrix[i * n + j] * x[j];
            }
        }
    }
};

void matvec(benchmark::State& state, int log_n, std::size_t n, bool encode_only) {
    omp_set_num_threads(1);
    const MatVec data(n);
    Setup& s = setup("matvec" + std::to_string(n), log_n, ckks::LinearTransform::rotations_for(n));
    const auto transform = ckks::LinearTransform::from_dense(s.context, n, data.matrix);
    const ckks::Ciphertext x = s.encryptor.encrypt(s.encoder.encode(data.x, {.slots = n}));
    if (encode_only) {
        for (auto _ : state) {
            transform.clear_cache();
            transform.prepare(x.level());
        }
        return;
    }
    transform.prepare(x.level());
    ckks::Ciphertext y;
    for (auto _ : state) {
        y = transform.apply(s.evaluator, x);
        benchmark::DoNotOptimize(y);
    }
    state.counters["bits"] = s.bits(y, data.expected);
    state.counters["rotations"] = static_cast<double>(transform.rotation_count());
}

void matmul(benchmark::State& state, int log_n, std::size_t d) {
    omp_set_num_threads(1);
    Setup& s =
        setup("matmul" + std::to_string(d), log_n, ckks::MatrixEvaluator::multiply_rotations(d));
    const ckks::MatrixEvaluator matrices(s.context, d);
    const auto a = uniform_values(d * d, 3);
    const auto b = uniform_values(d * d, 4);
    std::vector<double> expected(d * d);
    for (std::size_t i = 0; i < d; ++i) {
        for (std::size_t k = 0; k < d; ++k) {
            for (std::size_t j = 0; j < d; ++j) {
                expected[i * d + j] += a[i * d + k] * b[k * d + j];
            }
        }
    }
    const ckks::Ciphertext ca = s.encryptor.encrypt(s.encoder.encode(a, {.slots = d * d}));
    const ckks::Ciphertext cb = s.encryptor.encrypt(s.encoder.encode(b, {.slots = d * d}));
    ckks::Ciphertext c = matrices.multiply(s.evaluator, ca, cb);  // encodes the permutations
    for (auto _ : state) {
        c = matrices.multiply(s.evaluator, ca, cb);
        benchmark::DoNotOptimize(c);
    }
    state.counters["bits"] = s.bits(c, expected);
}

const bool registered = [] {
    for (int log_n : {14, 15}) {
        for (std::size_t n : {64, 256}) {
            const std::string suffix =
                "/n:" + std::to_string(n) + "/N:" + std::to_string(1 << log_n);
            benchmark::RegisterBenchmark(("ckks.matvec" + suffix).c_str(), matvec, log_n, n, false)
                ->Unit(benchmark::kMillisecond)
                ->UseRealTime();
            benchmark::RegisterBenchmark(("ckks.matvec_encode" + suffix).c_str(), matvec, log_n, n,
                                         true)
                ->Unit(benchmark::kMillisecond)
                ->UseRealTime();
        }
    }
    for (std::size_t d : {16, 64}) {
        benchmark::RegisterBenchmark(("ckks.matmul/d:" + std::to_string(d) + "/N:8192").c_str(),
                                     matmul, 13, d)
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime();
    }
    return true;
}();

}  // namespace
