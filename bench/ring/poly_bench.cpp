// Benchmarks of RNS polynomial kernels at N = 2^16: whole-Poly NTT (24 limbs),
// pointwise multiply, fast base conversion 24 -> 8 limbs, rescale, ModDown.
// Single-threaded unless the name says threads:all.
#include <benchmark/benchmark.h>
#include <omp.h>

#include <cloak/core/primes.hpp>
#include <cloak/ring/arith.hpp>
#include <cloak/ring/base_conversion.hpp>
#include <cloak/ring/basis.hpp>
#include <cloak/ring/poly.hpp>

#include <random>
#include <string>

namespace {

using cloak::ring::Form;
using cloak::ring::Poly;
using cloak::ring::RnsBasis;

constexpr std::size_t degree = std::size_t{1} << 16;

// 40-bit primes, the size of CKKS level primes (below 2^50: the IFMA NTT runs).
std::shared_ptr<const RnsBasis> basis_of(std::size_t count,
                                         std::span<const std::uint64_t> exclude = {}) {
    return RnsBasis::create(degree,
                            cloak::core::generate_ntt_primes(40, count, 2 * degree, exclude));
}

Poly random_poly(const std::shared_ptr<const RnsBasis>& basis, Form form) {
    Poly p(basis, form);
    std::mt19937_64 rng(1);
    for (std::size_t i = 0; i < p.limbs(); ++i) {
        for (std::uint64_t& v : p.limb(i)) {
            v = rng() % basis->modulus(i).value();
        }
    }
    return p;
}

void set_threads(bool all) {
    omp_set_num_threads(all ? omp_get_num_procs() : 1);
}

void poly_ntt_forward(benchmark::State& state, bool all_threads) {
    set_threads(all_threads);
    const auto basis = basis_of(24);
    const Poly original = random_poly(basis, Form::coefficient);
    Poly p = original;
    for (auto _ : state) {
        p.to_evaluation();
        benchmark::DoNotOptimize(p.data().data());
        p.set_form(Form::coefficient);  // transform the same buffer again
    }
}

void poly_multiply(benchmark::State& state) {
    set_threads(false);
    const auto basis = basis_of(24);
    Poly a = random_poly(basis, Form::evaluation);
    const Poly b = random_poly(basis, Form::evaluation);
    for (auto _ : state) {
        cloak::ring::multiply_inplace(a, b);
        benchmark::DoNotOptimize(a.data().data());
    }
}

void base_conversion(benchmark::State& state) {
    set_threads(false);
    const auto from = basis_of(24);
    const auto to = basis_of(8, from->values());
    const cloak::ring::BaseConverter converter(from, to);
    const Poly x = random_poly(from, Form::coefficient);
    std::vector<std::uint64_t> out(8 * degree);
    for (auto _ : state) {
        converter.convert(x.data(), out);
        benchmark::DoNotOptimize(out.data());
    }
}

void rescale(benchmark::State& state) {
    set_threads(false);
    const auto from = basis_of(24);
    const cloak::ring::Rescaler rescaler(from, from->prefix(23));
    const Poly x = random_poly(from, Form::evaluation);
    for (auto _ : state) {
        state.PauseTiming();
        Poly p = x;
        state.ResumeTiming();
        rescaler.apply(p);
        benchmark::DoNotOptimize(p.data().data());
    }
}

void mod_down(benchmark::State& state) {
    set_threads(false);
    const auto q = basis_of(24);
    const auto p = RnsBasis::create(degree, cloak::core::generate_ntt_primes(60, 4, 2 * degree));
    const auto extended = q->concat(*p);
    const cloak::ring::ModDown down(extended, q, p);
    const Poly x = random_poly(extended, Form::evaluation);
    for (auto _ : state) {
        state.PauseTiming();
        Poly y = x;
        state.ResumeTiming();
        down.apply(y);
        benchmark::DoNotOptimize(y.data().data());
    }
}

const bool registered = [] {
    const std::string n = "/N:" + std::to_string(degree);
    benchmark::RegisterBenchmark(("ring.poly_ntt_forward" + n + "/L:24").c_str(), poly_ntt_forward,
                                 false)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("ring.poly_ntt_forward" + n + "/L:24/threads:all").c_str(),
                                 poly_ntt_forward, true)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    benchmark::RegisterBenchmark(("ring.poly_multiply" + n + "/L:24").c_str(), poly_multiply)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("ring.base_conversion" + n + "/from:24/to:8").c_str(),
                                 base_conversion)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("ring.rescale" + n + "/L:24").c_str(), rescale)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("ring.mod_down" + n + "/Q:24/P:4").c_str(), mod_down)
        ->Unit(benchmark::kMillisecond);
    return true;
}();

}  // namespace
