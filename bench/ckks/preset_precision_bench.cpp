// The precision each named preset gives, reported as benchmark counters
// (fresh_bits: public-key encryption; product_bits: multiply + relinearize +
// rescale; both -log2 of the max error over all slots, values uniform in [-1, 1]).
// Run: ckks_bench --benchmark_filter=preset_precision
#include <benchmark/benchmark.h>

#include <cloak/ckks/encoder.hpp>
#include <cloak/ckks/encryptor.hpp>
#include <cloak/ckks/evaluator.hpp>
#include <cloak/ckks/keys.hpp>

#include <random>
#include <string>
#include <vector>

namespace {

using namespace cloak;

void preset_precision(benchmark::State& state, ckks::Preset preset) {
    const ckks::Context context(ckks::Parameters::preset(preset));
    const ckks::KeyGenerator keygen(context);
    const ckks::Encoder encoder(context);
    const ckks::Encryptor encryptor(context, keygen.public_key());
    const ckks::Decryptor decryptor(context, keygen.secret_key());
    const ckks::Evaluator evaluator(context, keygen.relin_key());
    std::mt19937_64 rng(7);
    std::uniform_real_distribution<double> uniform(-1, 1);
    std::vector<double> x(context.slots());
    std::vector<double> y(context.slots());
    std::vector<double> xy(context.slots());
    for (std::size_t i = 0; i < x.size(); ++i) {
        x[i] = uniform(rng);
        y[i] = uniform(rng);
        xy[i] = x[i] * y[i];
    }
    double fresh_bits = 0;
    double product_bits = 0;
    for (auto _ : state) {
        const ckks::Ciphertext cx = encryptor.encrypt(encoder.encode(x));
        const ckks::Ciphertext cy = encryptor.encrypt(encoder.encode(y));
        fresh_bits = ckks::precision_bits(encoder.decode_real(decryptor.decrypt(cx)), x);
        const ckks::Ciphertext z = evaluator.rescale(evaluator.multiply(cx, cy));
        product_bits = ckks::precision_bits(encoder.decode_real(decryptor.decrypt(z)), xy);
    }
    state.counters["fresh_bits"] = fresh_bits;
    state.counters["product_bits"] = product_bits;
    state.counters["log_qp"] = context.parameters().log_qp();
}

const bool registered = [] {
    const std::pair<const char*, ckks::Preset> presets[] = {
        {"N13_QP218", ckks::Preset::N13_QP218},
        {"N14_QP438", ckks::Preset::N14_QP438},
        {"N15_QP881", ckks::Preset::N15_QP881},
        {"N16_QP1747", ckks::Preset::N16_QP1747}};
    for (const auto& [name, preset] : presets) {
        benchmark::RegisterBenchmark((std::string("ckks.preset_precision/") + name).c_str(),
                                     preset_precision, preset)
            ->Iterations(1)
            ->Unit(benchmark::kMillisecond);
    }
    return true;
}();

}  // namespace
