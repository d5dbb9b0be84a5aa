// Homomorphic evaluation of the approx/ presets at N = 2^15 (preset N15_QP881,
// 18 levels, scale 2^40), one thread:
//   approx.<preset>/N:32768
// Counters: bits_poly, the precision against the plaintext polynomial (the
// encryption's own error), bits_function, against the function itself (the
// approximation error dominates), and levels, the levels used.
#include <benchmark/benchmark.h>
#include <omp.h>

#include <cloak/approx/approx.hpp>
#include <cloak/ckks/encoder.hpp>
#include <cloak/ckks/encryptor.hpp>
#include <cloak/ckks/evaluator.hpp>
#include <cloak/ckks/keys.hpp>

#include <cmath>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace {

using namespace cloak;

struct Setup {
    ckks::Context context{ckks::Parameters::preset(ckks::Preset::N15_QP881)};
    ckks::KeyGenerator keygen{context};
    ckks::Encoder encoder{context};
    ckks::Encryptor encryptor{context, keygen.secret_key()};
    ckks::Decryptor decryptor{context, keygen.secret_key()};
    ckks::Evaluator evaluator{context, keygen.relin_key()};
};

Setup& setup() {
    static Setup s;
    return s;
}

void run(benchmark::State& state, const ckks::Polynomial& p,
         const std::function<double(double)>& f) {
    omp_set_num_threads(1);
    Setup& s = setup();
    std::mt19937_64 rng(5);
    std::uniform_real_distribution<double> uniform(p.interval().a, p.interval().b);
    if (p.basis() == ckks::PolynomialBasis::power)
        uniform = std::uniform_real_distribution<double>(-1, 1);
    std::vector<double> x(s.context.slots());
    for (double& v : x)
        v = uniform(rng);
    const ckks::Ciphertext cx = s.encryptor.encrypt(s.encoder.encode(x));
    ckks::Ciphertext y;
    for (auto _ : state) {
        y = s.evaluator.evaluate(p, cx);
    }
    const std::vector<double> out = s.encoder.decode_real(s.decryptor.decrypt(y));
    std::vector<double> poly(x.size()), function(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) {
        poly[i] = p(x[i]);
        function[i] = f(x[i]);
    }
    state.counters["bits_poly"] = ckks::precision_bits(out, poly);
    state.counters["bits_function"] = ckks::precision_bits(out, function);
    state.counters["levels"] = static_cast<double>(cx.level() - y.level());
}

// The composite sign of Lee et al. 2021 (alpha = 2^-8, 12 bits): inputs in
// [-1, -alpha] and [alpha, 1], each polynomial of the chain in turn.
void sign(benchmark::State& state) {
    omp_set_num_threads(1);
    Setup& s = setup();
    const std::vector<ckks::Polynomial> chain = approx::sign_composite();
    std::mt19937_64 rng(6);
    std::uniform_real_distribution<double> uniform(std::ldexp(1.0, -8), 1.0);
    std::vector<double> x(s.context.slots());
    for (std::size_t i = 0; i < x.size(); ++i)
        x[i] = i % 2 ? uniform(rng) : -uniform(rng);
    const ckks::Ciphertext cx = s.encryptor.encrypt(s.encoder.encode(x));
    ckks::Ciphertext y;
    for (auto _ : state) {
        y = cx;
        for (const ckks::Polynomial& p : chain)
            y = s.evaluator.evaluate(p, y);
    }
    const std::vector<double> out = s.encoder.decode_real(s.decryptor.decrypt(y));
    std::vector<double> poly(x.size()), function(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) {
        poly[i] = approx::composite(chain, x[i]);
        function[i] = x[i] > 0 ? 1.0 : -1.0;
    }
    state.counters["bits_poly"] = ckks::precision_bits(out, poly);
    state.counters["bits_function"] = ckks::precision_bits(out, function);
    state.counters["levels"] = static_cast<double>(cx.level() - y.level());
}

const bool registered = [] {
    benchmark::RegisterBenchmark("approx.sign_composite/N:32768", sign)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    const auto sigmoid = [](double x) { return 1.0 / (1.0 + std::exp(-x)); };
    const auto relu = [](double x) { return x > 0 ? x : 0.0; };
    const auto gelu = [](double x) { return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))); };
    struct Case {
        std::string name;
        ckks::Polynomial p;
        std::function<double(double)> f;
    };
    const std::vector<Case> cases = {
        {"sigmoid_d3_ls", approx::sigmoid(), sigmoid},
        {"sigmoid_d7_ls", approx::sigmoid({.degree = 7}), sigmoid},
        {"sigmoid_d15_minimax", approx::sigmoid({.degree = 15, .method = approx::Method::minimax}),
         sigmoid},
        {"tanh_d7_ls", approx::tanh(), [](double x) { return std::tanh(x); }},
        {"exp_d7_minimax", approx::exp(), [](double x) { return std::exp(x); }},
        {"exp_d15_minimax", approx::exp({.degree = 15}), [](double x) { return std::exp(x); }},
        {"relu_d6_ls", approx::relu(), relu},
        {"gelu_d6_ls", approx::gelu(), gelu},
        {"sigmoid_d5_ls", approx::sigmoid({.degree = 5}), sigmoid},
        {"sigmoid_d3_minimax", approx::sigmoid({.degree = 3, .method = approx::Method::minimax}),
         sigmoid},
        {"sigmoid_d7_minimax", approx::sigmoid({.degree = 7, .method = approx::Method::minimax}),
         sigmoid},
        {"tanh_d7_minimax", approx::tanh({.method = approx::Method::minimax}),
         [](double x) { return std::tanh(x); }},
        {"tanh_d15_minimax", approx::tanh({.degree = 15, .method = approx::Method::minimax}),
         [](double x) { return std::tanh(x); }},
        {"exp_d7_ls", approx::exp({.method = approx::Method::least_squares}),
         [](double x) { return std::exp(x); }},
        {"relu_d6_minimax", approx::relu({.method = approx::Method::minimax}), relu},
        {"relu_d15_minimax", approx::relu({.degree = 15, .method = approx::Method::minimax}), relu},
        {"gelu_d6_minimax", approx::gelu({.method = approx::Method::minimax}), gelu},
        {"gelu_d15_minimax", approx::gelu({.degree = 15, .method = approx::Method::minimax}), gelu},
    };
    for (const Case& c : cases) {
        benchmark::RegisterBenchmark(
            ("approx." + c.name + "/N:32768").c_str(),
            [p = c.p, f = c.f](benchmark::State& state) { run(state, p, f); })
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime();
    }
    return true;
}();

}  // namespace
