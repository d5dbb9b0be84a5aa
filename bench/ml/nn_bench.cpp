// Benchmarks of ml/nn.hpp: one encrypted training step of the 2-16-1 network
// (batch 256, insecure N = 2^13 with 9 user levels, bootstraps as planned), and
// encrypted inference of the CryptoNets-shaped CNN on 28 x 28 inputs at a
// 128-bit-secure N = 2^14 (8192 images a batch, one ciphertext per pixel).
// Counters: predictions per hour and seconds per batch (the latency of one
// prediction in this packing).
#include <benchmark/benchmark.h>

#include <cloak/cloak.hpp>

#include <random>
#include <vector>

using namespace cloak;

namespace {

void cryptonets_inference(benchmark::State& state) {
    const ckks::Context context(ckks::Parameters::from(
        {.log_n = 14, .log_q = {60, 40, 40, 40, 40, 40}, .log_p = {60}, .log_scale = 40}));
    ckks::KeyGenerator keygen(context);
    const ckks::Encoder encoder(context);
    const ckks::Encryptor encryptor(context, keygen.public_key());
    const ckks::Evaluator eval(context, keygen.relin_key());
    const ml::nn::FeatureMajorNetwork net = ml::nn::FeatureMajorNetwork::cryptonets();
    std::mt19937_64 rng(1);
    std::vector<ckks::Ciphertext> pixels;
    for (std::size_t j = 0; j < 784; ++j) {
        std::vector<double> v(context.slots());
        for (double& x : v)
            x = std::generate_canonical<double, 53>(rng);
        pixels.push_back(encryptor.encrypt(encoder.encode(v)));
    }
    for (auto _ : state) {
        benchmark::DoNotOptimize(net.evaluate(eval, pixels));
    }
    state.counters["predictions_per_hour"] = benchmark::Counter(
        static_cast<double>(context.slots()) * 3600.0 * static_cast<double>(state.iterations()),
        benchmark::Counter::kIsRate);
    state.counters["images_per_batch"] = static_cast<double>(context.slots());
}
BENCHMARK(cryptonets_inference)
    ->Name("ml.cryptonets_inference/N:16384")
    ->Unit(benchmark::kSecond)
    ->Iterations(1)
    ->UseRealTime();

void mlp_training_step(benchmark::State& state) {
    const boot::Parameters params =
        boot::Parameters::from({.log_n = 13,
                                .log_q0 = 48,
                                .log_q_user = std::vector<int>(9, 40),
                                .log_p = {61, 61, 61, 61},
                                .log_scale = 40,
                                .secret = ckks::SecretDistribution::sparse_ternary,
                                .hamming_weight = 64,
                                .security = rlwe::Security::insecure_for_testing_only});
    const ckks::Context context(params.ckks());
    const ml::Dataset raw = ml::synthetic_circles(1024, 1);
    const ml::Dataset data = ml::Normalizer::fit(raw, {.clip = true}).transform(raw);
    const ml::nn::Sequential net(
        {ml::nn::Dense{2, 16}, ml::nn::Activation::square(), ml::nn::Dense{16, 1}});
    const ml::nn::Layout layout = ml::nn::Layout::of(net, context.slots(), 256);
    const std::size_t steps = static_cast<std::size_t>(state.range(0));
    const ml::nn::Trainer trainer(net, {.optimizer = ml::nn::Optimizer::sgd(1.0), .steps = steps});
    ckks::KeyGenerator keygen(context);
    const boot::Bootstrapper bootstrapper(context, keygen, params);
    const ckks::Encoder encoder(context);
    const ckks::Encryptor encryptor(context, keygen.public_key());
    const ckks::Evaluator eval(
        context, keygen.relin_key(),
        keygen.galois_keys(trainer.rotations(context, layout, &bootstrapper)));
    const ml::nn::EncryptedTrainingData encrypted = ml::nn::encrypt(
        context, encryptor, encoder, net, layout, data, {.level = params.output_level()});
    std::size_t bootstraps = 0;
    for (auto _ : state) {
        const ml::nn::EncryptedNetwork trained = trainer.fit(eval, encrypted, &bootstrapper);
        bootstraps = trained.events.size();
    }
    state.counters["bootstraps"] = static_cast<double>(bootstraps);
    state.counters["steps"] = static_cast<double>(steps);
}
BENCHMARK(mlp_training_step)
    ->Name("ml.mlp_training_2_16_1_batch256/N:8192")
    ->Arg(2)
    ->Unit(benchmark::kSecond)
    ->Iterations(1)
    ->UseRealTime();

}  // namespace
