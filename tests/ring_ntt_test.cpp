// Tests of ring/ntt.hpp: round trips, the evaluation ordering, negacyclic
// products against NTL, identical backends, and bad input.
#include <catch2/catch.hpp>

#include <NTL/ZZ_pX.h>

#include <cloak/core/primes.hpp>
#include <cloak/ring/ntt.hpp>

#include <random>
#include <string>
#include <vector>

namespace {

using cloak::ring::NttBackend;
using cloak::ring::NttTables;

std::vector<std::uint64_t> random_values(std::size_t n, std::uint64_t q, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<std::uint64_t> v(n);
    for (auto& x : v) {
        x = rng() % q;
    }
    return v;
}

std::vector<NttBackend> backends_for(const NttTables& tables) {
    std::vector<NttBackend> backends{NttBackend::scalar};
    if (tables.supports_avx512ifma() && cloak::ring::avx512ifma_available()) {
        backends.push_back(NttBackend::avx512ifma);
    }
    return backends;
}

// c = a * b mod (X^N + 1, q) through NTL.
std::vector<std::uint64_t> ntl_negacyclic_product(const std::vector<std::uint64_t>& a,
                                                  const std::vector<std::uint64_t>& b,
                                                  std::uint64_t q) {
    NTL::ZZ_p::init(NTL::conv<NTL::ZZ>(std::to_string(q).c_str()));
    const long n = static_cast<long>(a.size());
    NTL::ZZ_pX pa;
    NTL::ZZ_pX pb;
    for (long i = 0; i < n; ++i) {
        NTL::SetCoeff(pa, i,
                      NTL::conv<NTL::ZZ_p>(NTL::conv<NTL::ZZ>(std::to_string(a[i]).c_str())));
        NTL::SetCoeff(pb, i,
                      NTL::conv<NTL::ZZ_p>(NTL::conv<NTL::ZZ>(std::to_string(b[i]).c_str())));
    }
    NTL::ZZ_pX modulus;
    NTL::SetCoeff(modulus, n, 1);
    NTL::SetCoeff(modulus, 0, 1);
    const NTL::ZZ_pX product = NTL::MulMod(pa, pb, NTL::ZZ_pXModulus(modulus));
    std::vector<std::uint64_t> c(a.size());
    for (long i = 0; i < n; ++i) {
        const NTL::ZZ value = NTL::rep(NTL::coeff(product, i));
        c[static_cast<std::size_t>(i)] = NTL::conv<unsigned long>(value);
    }
    return c;
}

void check_products(int log_n, int bits) {
    const std::size_t n = std::size_t{1} << log_n;
    const std::uint64_t q = cloak::core::generate_ntt_primes(bits, 1, 2 * n)[0];
    const NttTables tables(n, cloak::core::Modulus(q));
    const auto a = random_values(n, q, 10 + static_cast<std::uint64_t>(log_n));
    const auto b = random_values(n, q, 20 + static_cast<std::uint64_t>(bits));
    const auto expected = ntl_negacyclic_product(a, b, q);
    for (NttBackend backend : backends_for(tables)) {
        auto fa = a;
        auto fb = b;
        tables.forward(fa, backend);
        tables.forward(fb, backend);
        const cloak::core::Modulus modulus(q);
        for (std::size_t i = 0; i < n; ++i) {
            fa[i] = cloak::core::mul_mod(fa[i], fb[i], modulus);
        }
        tables.inverse(fa, backend);
        INFO("N = 2^" << log_n << ", q = " << q << " (" << bits << " bits), backend "
                      << static_cast<int>(backend));
        REQUIRE(fa == expected);
    }
}

}  // namespace

TEST_CASE("ring/ntt/round trip and evaluation order at N=1024", "[ntt]") {
    const std::size_t n = 1024;
    for (int bits : {30, 49, 60, 61}) {
        const std::uint64_t q = cloak::core::generate_ntt_primes(bits, 1, 2 * n)[0];
        const cloak::core::Modulus modulus(q);
        const NttTables tables(n, modulus);
        const auto a = random_values(n, q, static_cast<std::uint64_t>(bits));
        for (NttBackend backend : backends_for(tables)) {
            auto values = a;
            tables.forward(values, backend);
            // output[i] = a(psi^(2 rev(i) + 1)), evaluated directly by Horner's rule.
            for (std::size_t i = 0; i < n; i += 31) {
                const std::uint64_t point = cloak::core::pow_mod(
                    tables.root(), 2 * cloak::core::reverse_bits(i, 10) + 1, modulus);
                std::uint64_t value = 0;
                for (std::size_t k = n; k-- > 0;) {
                    value =
                        cloak::core::add_mod(cloak::core::mul_mod(value, point, modulus), a[k], q);
                }
                REQUIRE(values[i] == value);
            }
            for (std::uint64_t v : values) {
                REQUIRE(v < q);
            }
            tables.inverse(values, backend);
            REQUIRE(values == a);
        }
    }
}

TEST_CASE("ring/ntt/negacyclic product equals NTL for N=2^10..2^14", "[ntt]") {
    for (int log_n = 10; log_n <= 14; ++log_n) {
        for (int bits : {30, 50, 60, 61}) {
            check_products(log_n, bits);
        }
    }
    check_products(12, 49);  // an IFMA-sized prime
}

TEST_CASE("ring/ntt/negacyclic product equals NTL for N=2^15..2^16", "[ntt]") {
    for (int log_n = 15; log_n <= 16; ++log_n) {
        for (int bits : {30, 49, 50, 60, 61}) {
            check_products(log_n, bits);
        }
    }
}

TEST_CASE("ring/ntt/backends give bit-identical results at every N", "[ntt]") {
    if (!cloak::ring::avx512ifma_available()) {
        WARN("this CPU has no AVX-512 IFMA: only the scalar backend is tested");
        return;
    }
    for (int log_n = 10; log_n <= 17; ++log_n) {
        const std::size_t n = std::size_t{1} << log_n;
        const std::uint64_t q = cloak::core::generate_ntt_primes(49, 1, 2 * n)[0];
        const NttTables tables(n, cloak::core::Modulus(q));
        REQUIRE(tables.supports_avx512ifma());
        auto scalar = random_values(n, q, 99);
        auto vector = scalar;
        tables.forward(scalar, NttBackend::scalar);
        tables.forward(vector, NttBackend::avx512ifma);
        REQUIRE(scalar == vector);
        tables.inverse(scalar, NttBackend::scalar);
        tables.inverse(vector, NttBackend::avx512ifma);
        REQUIRE(scalar == vector);
    }
}

TEST_CASE("ring/ntt/bad input names the value and the limit", "[ntt]") {
    using cloak::InvalidArgumentError;
    const std::uint64_t q = cloak::core::generate_ntt_primes(40, 1, 2048)[0];
    const cloak::core::Modulus modulus(q);
    REQUIRE_THROWS_WITH(NttTables(1000, modulus),
                        Catch::Contains("N = 1000") && Catch::Contains("power of two"));
    REQUIRE_THROWS_WITH(NttTables(512, modulus), Catch::Contains("[2^10, 2^17]"));
    REQUIRE_THROWS_AS(NttTables(1 << 18, modulus), InvalidArgumentError);
    REQUIRE_THROWS_WITH(NttTables(1024, cloak::core::Modulus(q + 2048)),
                        Catch::Contains(std::to_string(q + 2048)) && Catch::Contains("not prime"));
    REQUIRE_THROWS_WITH(NttTables(2048, modulus), Catch::Contains("not 1 mod 2N = 4096"));
    const NttTables tables(1024, modulus);
    std::vector<std::uint64_t> wrong(1000);
    REQUIRE_THROWS_AS(tables.forward(wrong), cloak::ShapeError);
    REQUIRE_THROWS_WITH(tables.inverse(wrong), Catch::Contains("1000 values"));
    const std::uint64_t big = cloak::core::generate_ntt_primes(55, 1, 2048)[0];
    const NttTables wide(1024, cloak::core::Modulus(big));
    std::vector<std::uint64_t> values(1024);
    REQUIRE_FALSE(wide.supports_avx512ifma());
    REQUIRE_THROWS_AS(wide.forward(values, NttBackend::avx512ifma), InvalidArgumentError);
    REQUIRE_THROWS_WITH(wide.forward(values, NttBackend::avx512ifma),
                        Catch::Contains("q < 2^50") || Catch::Contains("lacks AVX-512 IFMA"));
}
