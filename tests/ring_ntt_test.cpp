// Tests of ring/ntt.hpp: round trips, the evaluation order, negacyclic products
// against NTL, bit-identical backends, and bad input.
#include <catch2/catch.hpp>

#include <NTL/ZZ_pX.h>

#include <cloak/core/primes.hpp>
#include <cloak/ring/backend.hpp>
#include <cloak/ring/ntt.hpp>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace {

using cloak::core::Modulus;
using cloak::ring::Backend;
using cloak::ring::NttTables;

std::vector<std::uint64_t> random_values(std::size_t n, std::uint64_t q, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<std::uint64_t> v(n);
    for (auto& x : v) {
        x = rng() % q;
    }
    return v;
}

// Random values with the extremes planted: runs of q - 1 and of 0, which push
// every lazy bound to its edge.
std::vector<std::uint64_t> edgy_values(std::size_t n, std::uint64_t q, std::uint64_t seed) {
    auto v = random_values(n, q, seed);
    for (std::size_t i = 0; i < n / 8; ++i) {
        v[i] = q - 1;
        v[n / 2 + i] = 0;
        v[n - 1 - i] = q - 1;
    }
    return v;
}

std::uint64_t prime(int bits, std::size_t n) {
    return cloak::core::generate_ntt_primes(bits, 1, 2 * n)[0];
}

// The largest prime q = 1 mod 2N below 2^50: the widest modulus the IFMA path takes.
std::uint64_t widest_ifma_prime(std::size_t n) {
    std::uint64_t q = (std::uint64_t{1} << 50) - 2 * n + 1;
    while (!cloak::core::is_prime(q)) {
        q -= 2 * n;
    }
    return q;
}

// Every backend that can run these tables: scalar always, IFMA where it fits.
std::vector<Backend> backends_for(const NttTables& tables) {
    std::vector<Backend> backends{Backend::scalar};
    if (tables.supports_avx512ifma()) {
        backends.push_back(Backend::avx512ifma);
    }
    return backends;
}

std::string name(Backend backend) {
    return std::string(cloak::ring::backend_name(backend));
}

// c = a * b mod (X^N + 1, q): NTL's product, reduced by X^N = -1 by hand.
std::vector<std::uint64_t> ntl_negacyclic_product(const std::vector<std::uint64_t>& a,
                                                  const std::vector<std::uint64_t>& b,
                                                  std::uint64_t q) {
    NTL::ZZ_p::init(NTL::conv<NTL::ZZ>(static_cast<unsigned long>(q)));
    const long n = static_cast<long>(a.size());
    NTL::ZZ_pX pa;
    NTL::ZZ_pX pb;
    pa.SetLength(n);
    pb.SetLength(n);
    for (long i = 0; i < n; ++i) {
        pa[i] = NTL::conv<NTL::ZZ_p>(NTL::conv<NTL::ZZ>(static_cast<unsigned long>(a[i])));
        pb[i] = NTL::conv<NTL::ZZ_p>(NTL::conv<NTL::ZZ>(static_cast<unsigned long>(b[i])));
    }
    pa.normalize();
    pb.normalize();
    const NTL::ZZ_pX product = pa * pb;
    std::vector<std::uint64_t> c(a.size());
    for (long i = 0; i < n; ++i) {
        const NTL::ZZ_p value = NTL::coeff(product, i) - NTL::coeff(product, i + n);
        c[static_cast<std::size_t>(i)] = NTL::conv<unsigned long>(NTL::rep(value));
    }
    return c;
}

// a * b through forward NTTs, a pointwise product and an inverse NTT, on every
// backend, against NTL.
void check_product(int log_n, std::uint64_t q) {
    const std::size_t n = std::size_t{1} << log_n;
    const Modulus modulus(q);
    const NttTables tables(n, modulus);
    const auto a = random_values(n, q, 10 + static_cast<std::uint64_t>(log_n));
    const auto b = edgy_values(n, q, 20 + q % 1000);
    const auto expected = ntl_negacyclic_product(a, b, q);
    for (Backend backend : backends_for(tables)) {
        INFO("N = 2^" << log_n << ", q = " << q << " (" << modulus.bits() << " bits), backend "
                      << name(backend));
        auto fa = a;
        auto fb = b;
        tables.forward(fa, backend);
        tables.forward(fb, backend);
        for (std::size_t i = 0; i < n; ++i) {
            fa[i] = cloak::core::mul_mod(fa[i], fb[i], modulus);
        }
        tables.inverse(fa, backend);
        REQUIRE(fa == expected);
    }
}

void check_products(int log_n) {
    const std::size_t n = std::size_t{1} << log_n;
    for (int bits : {30, 50, 60, 61}) {
        check_product(log_n, prime(bits, n));
    }
    check_product(log_n, prime(49, n));          // IFMA-sized
    check_product(log_n, widest_ifma_prime(n));  // the IFMA bound's edge
}

}  // namespace

TEST_CASE("ring/ntt/evaluation order at N=1024", "[ntt]") {
    const std::size_t n = 1024;
    for (int bits : {30, 49, 60, 61}) {
        const std::uint64_t q = prime(bits, n);
        const Modulus modulus(q);
        const NttTables tables(n, modulus);
        const auto a = random_values(n, q, static_cast<std::uint64_t>(bits));
        // output[i] = a(psi^(2 rev(i) + 1)), evaluated directly by Horner's rule.
        std::vector<std::uint64_t> expected(n);
        for (std::size_t i = 0; i < n; ++i) {
            const std::uint64_t point = cloak::core::pow_mod(
                tables.root(), 2 * cloak::core::reverse_bits(i, 10) + 1, modulus);
            std::uint64_t value = 0;
            for (std::size_t k = n; k-- > 0;) {
                value = cloak::core::add_mod(cloak::core::mul_mod(value, point, modulus), a[k], q);
            }
            expected[i] = value;
        }
        for (Backend backend : backends_for(tables)) {
            INFO("q = " << q << " (" << bits << " bits), backend " << name(backend));
            auto values = a;
            tables.forward(values, backend);
            REQUIRE(values == expected);
        }
    }
}

TEST_CASE("ring/ntt/round trip is the identity at every N and prime size", "[ntt]") {
    for (int log_n = 10; log_n <= 17; ++log_n) {
        const std::size_t n = std::size_t{1} << log_n;
        for (int bits : {20, 30, 40, 49, 50, 55, 60, 61}) {
            const std::uint64_t q = prime(bits, n);
            const NttTables tables(n, Modulus(q));
            const auto original = edgy_values(n, q, static_cast<std::uint64_t>(log_n * 100 + bits));
            for (Backend backend : backends_for(tables)) {
                INFO("N = 2^" << log_n << ", q = " << q << " (" << bits << " bits), backend "
                              << name(backend));
                auto values = original;
                tables.forward(values, backend);
                bool reduced = true;
                for (std::uint64_t v : values) {
                    reduced = reduced && v < q;
                }
                REQUIRE(reduced);
                tables.inverse(values, backend);
                REQUIRE(values == original);
            }
        }
    }
}

TEST_CASE("ring/ntt/negacyclic product equals NTL for N=2^10..2^14", "[ntt]") {
    for (int log_n = 10; log_n <= 14; ++log_n) {
        check_products(log_n);
    }
}

// Fast enough for the default suite: the whole [ntt] set takes about 0.7 s in
// Release and 2 s under ASan+UBSan on the project's machine.
TEST_CASE("ring/ntt/negacyclic product equals NTL for N=2^15..2^16", "[ntt]") {
    for (int log_n = 15; log_n <= 16; ++log_n) {
        check_products(log_n);
    }
}

TEST_CASE("ring/ntt/backends give bit-identical results", "[ntt]") {
    if (!cloak::ring::avx512ifma_available()) {
        WARN("this CPU has no AVX-512 IFMA: only the scalar backend is tested");
        return;
    }
    for (int log_n = 10; log_n <= 17; ++log_n) {
        const std::size_t n = std::size_t{1} << log_n;
        for (std::uint64_t q : {prime(20, n), prime(30, n), prime(49, n), widest_ifma_prime(n)}) {
            INFO("N = 2^" << log_n << ", q = " << q);
            const NttTables tables(n, Modulus(q));
            REQUIRE(tables.supports_avx512ifma());
            REQUIRE(tables.resolve_backend(Backend::automatic) == Backend::avx512ifma);
            for (const auto& input :
                 {edgy_values(n, q, 99), random_values(n, q, 7),
                  std::vector<std::uint64_t>(n, q - 1), std::vector<std::uint64_t>(n, 0)}) {
                auto scalar = input;
                auto vector = input;
                tables.forward(scalar, Backend::scalar);
                tables.forward(vector, Backend::avx512ifma);
                REQUIRE(scalar == vector);
                tables.inverse(scalar, Backend::scalar);
                tables.inverse(vector, Backend::avx512ifma);
                REQUIRE(scalar == vector);
                REQUIRE(vector == input);
                // And across: evaluations from one backend invert on the other.
                tables.forward(scalar, Backend::scalar);
                tables.inverse(scalar, Backend::avx512ifma);
                REQUIRE(scalar == input);
            }
        }
    }
}

TEST_CASE("ring/ntt/automatic runs scalar for primes of 50 bits and more", "[ntt]") {
    const std::size_t n = 4096;
    const NttTables wide(n, Modulus(prime(55, n)));
    REQUIRE_FALSE(wide.supports_avx512ifma());
    REQUIRE(wide.resolve_backend() == Backend::scalar);
    const NttTables edge(n, Modulus(prime(50, n)));  // the first prime above 2^50
    REQUIRE(edge.modulus().value() > (std::uint64_t{1} << 50));
    REQUIRE_FALSE(edge.supports_avx512ifma());
}

TEST_CASE("ring/ntt/bad input names the value and the limit", "[ntt]") {
    using cloak::InvalidArgumentError;
    const std::uint64_t q = prime(40, 1024);
    const Modulus modulus(q);

    // Degree: not a power of two, or outside [2^10, 2^17].
    REQUIRE_THROWS_AS(NttTables(1000, modulus), InvalidArgumentError);
    REQUIRE_THROWS_WITH(NttTables(1000, modulus),
                        Catch::Contains("N = 1000") && Catch::Contains("power of two"));
    REQUIRE_THROWS_AS(NttTables(512, modulus), InvalidArgumentError);
    REQUIRE_THROWS_WITH(NttTables(512, modulus),
                        Catch::Contains("N = 512") && Catch::Contains("[2^10, 2^17]"));
    REQUIRE_THROWS_WITH(NttTables(std::size_t{1} << 18, modulus), Catch::Contains("N = 262144"));
    REQUIRE_THROWS_AS(NttTables(0, modulus), InvalidArgumentError);

    // Modulus: not prime, or not 1 mod 2N.
    std::uint64_t composite = q + 2048;
    while (cloak::core::is_prime(composite)) {
        composite += 2048;
    }
    REQUIRE_THROWS_AS(NttTables(1024, Modulus(composite)), InvalidArgumentError);
    REQUIRE_THROWS_WITH(NttTables(1024, Modulus(composite)),
                        Catch::Contains(std::to_string(composite)) && Catch::Contains("not prime"));
    std::uint64_t wrong_form = q;  // q = 1 mod 2048, but is it 1 mod 4096?
    while (wrong_form % 4096 == 1 || !cloak::core::is_prime(wrong_form)) {
        wrong_form += 2048;
    }
    REQUIRE_THROWS_AS(NttTables(2048, Modulus(wrong_form)), InvalidArgumentError);
    REQUIRE_THROWS_WITH(
        NttTables(2048, Modulus(wrong_form)),
        Catch::Contains(std::to_string(wrong_form)) && Catch::Contains("not 1 mod 2N = 4096"));

    // Spans of the wrong size, on every backend.
    const NttTables tables(1024, modulus);
    for (Backend backend : {Backend::automatic, Backend::scalar, Backend::avx512ifma}) {
        for (std::size_t size : {std::size_t{0}, std::size_t{1000}, std::size_t{2048}}) {
            std::vector<std::uint64_t> wrong(size);
            REQUIRE_THROWS_AS(tables.forward(wrong, backend), cloak::ShapeError);
            REQUIRE_THROWS_WITH(tables.forward(wrong, backend),
                                Catch::Contains("span of " + std::to_string(size) + " values") &&
                                    Catch::Contains("degree 1024"));
            REQUIRE_THROWS_AS(tables.inverse(wrong, backend), cloak::ShapeError);
        }
    }

    // The IFMA backend asked for by name where it cannot run.
    const std::uint64_t big = prime(55, 1024);
    const NttTables wide(1024, Modulus(big));
    std::vector<std::uint64_t> values(1024);
    REQUIRE_THROWS_AS(wide.forward(values, Backend::avx512ifma), InvalidArgumentError);
    REQUIRE_THROWS_AS(wide.inverse(values, Backend::avx512ifma), InvalidArgumentError);
    if (cloak::ring::avx512ifma_available()) {
        REQUIRE_THROWS_WITH(wide.forward(values, Backend::avx512ifma),
                            Catch::Contains("q < 2^50") && Catch::Contains(std::to_string(big)));
    } else {
        REQUIRE_THROWS_WITH(wide.forward(values, Backend::avx512ifma),
                            Catch::Contains("lacks AVX-512 IFMA"));
        REQUIRE_THROWS_WITH(tables.forward(values, Backend::avx512ifma),
                            Catch::Contains("lacks AVX-512 IFMA"));
    }
}

#ifndef NDEBUG
TEST_CASE("ring/ntt/debug builds reject unreduced input", "[ntt]") {
    const std::uint64_t q = prime(40, 1024);
    const NttTables tables(1024, Modulus(q));
    std::vector<std::uint64_t> values(1024, 1);
    values[77] = q;
    REQUIRE_THROWS_WITH(tables.forward(values), Catch::Contains("value " + std::to_string(q)) &&
                                                    Catch::Contains("index 77"));
    REQUIRE_THROWS_AS(tables.inverse(values), cloak::InvalidArgumentError);
}
#endif

TEST_CASE("ring/backend/CLOAK_BACKEND values", "[ntt]") {
    using cloak::ring::detail::parse_environment_backend;
    CHECK(parse_environment_backend(nullptr).valid);
    CHECK(parse_environment_backend(nullptr).backend == Backend::automatic);
    CHECK(parse_environment_backend("").backend == Backend::automatic);
    CHECK(parse_environment_backend("automatic").backend == Backend::automatic);
    CHECK(parse_environment_backend("avx512ifma").backend == Backend::automatic);
    CHECK(parse_environment_backend("scalar").backend == Backend::scalar);
    CHECK_FALSE(parse_environment_backend("SCALAR ").valid);
    CHECK_FALSE(parse_environment_backend("cuda").valid);
}
