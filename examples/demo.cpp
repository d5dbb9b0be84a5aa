// cloak's main demo (./build.sh demo).
//
// Until the CKKS layer lands, the most real thing to show is the ring arithmetic
// everything else stands on: a negacyclic product of two polynomials in
// Z_q[X]/(X^N + 1) computed through the NTT, checked coefficient by coefficient
// against the schoolbook definition, with the measured times of both.
#include <cloak/cloak.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <random>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

double microseconds_since(Clock::time_point start) {
    return std::chrono::duration<double, std::micro>(Clock::now() - start).count();
}

// The definition: c = a * b mod (X^N + 1), so X^N wraps around to -1.
std::vector<std::uint64_t> schoolbook_product(const std::vector<std::uint64_t>& a,
                                              const std::vector<std::uint64_t>& b,
                                              const cloak::core::Modulus& q) {
    const std::size_t n = a.size();
    std::vector<std::uint64_t> c(n, 0);
    for (std::size_t i = 0; i < n; ++i) {
        for (std::size_t j = 0; j < n; ++j) {
            const std::uint64_t term = cloak::core::mul_mod(a[i], b[j], q);
            const std::size_t k = (i + j) % n;
            c[k] = i + j < n ? cloak::core::add_mod(c[k], term, q.value())
                             : cloak::core::sub_mod(c[k], term, q.value());
        }
    }
    return c;
}

}  // namespace

int main() {
    const std::size_t n = 4096;
    const std::uint64_t prime = cloak::core::generate_ntt_primes(60, 1, 2 * n)[0];
    const cloak::core::Modulus q(prime);
    const cloak::ring::NttTables ntt(n, q);
    std::printf("cloak demo: negacyclic product in Z_q[X]/(X^%zu + 1), q = %llu (%d bits)\n", n,
                static_cast<unsigned long long>(prime), q.bits());

    std::mt19937_64 rng(2026);
    std::vector<std::uint64_t> a(n);
    std::vector<std::uint64_t> b(n);
    for (std::size_t i = 0; i < n; ++i) {
        a[i] = rng() % prime;
        b[i] = rng() % prime;
    }

    auto start = Clock::now();
    const std::vector<std::uint64_t> expected = schoolbook_product(a, b, q);
    const double schoolbook_us = microseconds_since(start);

    start = Clock::now();
    std::vector<std::uint64_t> fa = a;
    std::vector<std::uint64_t> fb = b;
    ntt.forward(fa);
    ntt.forward(fb);
    for (std::size_t i = 0; i < n; ++i) {
        fa[i] = cloak::core::mul_mod(fa[i], fb[i], q);
    }
    ntt.inverse(fa);
    const double ntt_us = microseconds_since(start);

    std::size_t mismatches = 0;
    for (std::size_t i = 0; i < n; ++i) {
        mismatches += fa[i] != expected[i] ? 1 : 0;
    }
    std::printf("  schoolbook product: %10.1f us\n", schoolbook_us);
    std::printf("  NTT product:        %10.1f us (%.0fx faster)\n", ntt_us, schoolbook_us / ntt_us);
    std::printf("  coefficients that differ: %zu of %zu\n", mismatches, n);
    if (mismatches != 0) {
        std::puts("cloak demo: FAILED");
        return 1;
    }
    std::puts("cloak demo: the NTT product equals the definition exactly");
    return 0;
}
