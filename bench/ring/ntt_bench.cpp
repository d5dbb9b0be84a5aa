// Benchmarks of the negacyclic NTT on one prime, named as SEAL's figures are
// compared (docs/performance.md): ring.ntt_forward/N:<n> and ring.ntt_inverse/N:<n>
// run the scalar backend on a 60-bit prime; ring.ntt_forward_ifma/N:<n> and
// ring.ntt_inverse_ifma/N:<n> the AVX-512 IFMA backend on a 49-bit prime.
#include <benchmark/benchmark.h>

#include <cloak/core/primes.hpp>
#include <cloak/ring/backend.hpp>
#include <cloak/ring/ntt.hpp>

#include <random>
#include <string>
#include <vector>

namespace {

using cloak::ring::Backend;

// The first prime q = 1 mod 2N below 2^bits: a prime of exactly `bits` bits
// (generate_ntt_primes alternates above and below 2^bits, above first).
std::uint64_t prime_below(int bits, std::size_t n) {
    return cloak::core::generate_ntt_primes(bits, 2, 2 * n)[1];
}

void run_ntt(benchmark::State& state, std::size_t n, int prime_bits, bool forward,
             Backend backend) {
    if (backend == Backend::avx512ifma && !cloak::ring::avx512ifma_available()) {
        state.SkipWithError("this CPU has no AVX-512 IFMA");
        return;
    }
    const std::uint64_t q = prime_below(prime_bits, n);
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
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
    state.counters["prime_bits"] = static_cast<double>(cloak::core::bit_count(q));
}

const bool registered = [] {
    for (int log_n = 12; log_n <= 17; ++log_n) {
        const std::size_t n = std::size_t{1} << log_n;
        const std::string suffix = "/N:" + std::to_string(n);
        benchmark::RegisterBenchmark(("ring.ntt_forward" + suffix).c_str(), run_ntt, n, 60, true,
                                     Backend::scalar)
            ->Unit(benchmark::kMicrosecond);
        benchmark::RegisterBenchmark(("ring.ntt_inverse" + suffix).c_str(), run_ntt, n, 60, false,
                                     Backend::scalar)
            ->Unit(benchmark::kMicrosecond);
        benchmark::RegisterBenchmark(("ring.ntt_forward_ifma" + suffix).c_str(), run_ntt, n, 49,
                                     true, Backend::avx512ifma)
            ->Unit(benchmark::kMicrosecond);
        benchmark::RegisterBenchmark(("ring.ntt_inverse_ifma" + suffix).c_str(), run_ntt, n, 49,
                                     false, Backend::avx512ifma)
            ->Unit(benchmark::kMicrosecond);
    }
    return true;
}();

}  // namespace
