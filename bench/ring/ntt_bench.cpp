// Benchmarks of the negacyclic NTT on one prime: ring.ntt_forward/N:<n> and
// ring.ntt_inverse/N:<n> (scalar), with the AVX-512 IFMA variants beside them.
#include <benchmark/benchmark.h>

#include <cloak/core/primes.hpp>
#include <cloak/ring/ntt.hpp>

#include <random>
#include <string>
#include <vector>

namespace {

using cloak::ring::NttBackend;

void run_ntt(benchmark::State& state, std::size_t n, int prime_bits, bool forward,
             NttBackend backend) {
    if (backend == NttBackend::avx512ifma && !cloak::ring::avx512ifma_available()) {
        state.SkipWithError("this CPU has no AVX-512 IFMA");
        return;
    }
    const auto q = cloak::core::generate_ntt_primes(prime_bits, 1, 2 * n)[0];
    const cloak::ring::NttTables tables(n, cloak::core::Modulus(q));
    std::vector<std::uint64_t> values(n);
    std::mt19937_64 rng(1);
    for (auto& v : values) {
        v = rng() % q;
    }
    for (auto _ : state) {
        if (forward) {
            tables.forward(values, backend);
        } else {
            tables.inverse(values, backend);
        }
        benchmark::DoNotOptimize(values.data());
        benchmark::ClobberMemory();
    }
}

const bool registered = [] {
    for (int log_n = 12; log_n <= 17; ++log_n) {
        const std::size_t n = std::size_t{1} << log_n;
        const std::string suffix = "/N:" + std::to_string(n);
        benchmark::RegisterBenchmark(("ring.ntt_forward" + suffix).c_str(), run_ntt, n, 60, true,
                                     NttBackend::scalar)
            ->Unit(benchmark::kMicrosecond);
        benchmark::RegisterBenchmark(("ring.ntt_inverse" + suffix).c_str(), run_ntt, n, 60, false,
                                     NttBackend::scalar)
            ->Unit(benchmark::kMicrosecond);
        benchmark::RegisterBenchmark(("ring.ntt_forward_ifma" + suffix).c_str(), run_ntt, n, 49,
                                     true, NttBackend::avx512ifma)
            ->Unit(benchmark::kMicrosecond);
        benchmark::RegisterBenchmark(("ring.ntt_inverse_ifma" + suffix).c_str(), run_ntt, n, 49,
                                     false, NttBackend::avx512ifma)
            ->Unit(benchmark::kMicrosecond);
    }
    return true;
}();

}  // namespace
