// Tests of core/modarith.hpp and core/primes.hpp; GMP is the oracle.
#include <gmpxx.h>
#include <catch2/catch.hpp>

#include <cloak/core/modarith.hpp>
#include <cloak/core/primes.hpp>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace {

using cloak::core::Modulus;
using cloak::core::uint128_t;

mpz_class to_mpz(std::uint64_t x) {
    mpz_class r;
    mpz_import(r.get_mpz_t(), 1, 1, sizeof(x), 0, 0, &x);
    return r;
}

mpz_class to_mpz(uint128_t x) {
    return (to_mpz(static_cast<std::uint64_t>(x >> 64)) << 64) +
           to_mpz(static_cast<std::uint64_t>(x));
}

std::uint64_t to_u64(const mpz_class& x) {
    std::uint64_t r = 0;
    mpz_export(&r, nullptr, 1, sizeof(r), 0, 0, x.get_mpz_t());
    return r;
}

// Moduli at the edges of the accepted range: tiny, word-sized, and near 2^61.
std::vector<std::uint64_t> edge_moduli() {
    return {2,
            3,
            97,
            (1ULL << 30) - 35,
            cloak::core::generate_ntt_primes(50, 1, 1 << 17)[0],
            cloak::core::generate_ntt_primes(60, 1, 1 << 17)[0],
            (1ULL << 61) - 1,
            (1ULL << 61) - 3};
}

// Operands 0, 1, q-1, q-2, q/2 and random ones, plus full-word values for the
// functions that accept any 64-bit input.
std::vector<std::uint64_t> edge_values(std::uint64_t q, std::mt19937_64& rng) {
    std::vector<std::uint64_t> v{0, 1, q - 1, q / 2};
    if (q > 2) {
        v.push_back(q - 2);
    }
    for (int i = 0; i < 20; ++i) {
        v.push_back(rng() % q);
    }
    return v;
}

}  // namespace

TEST_CASE("core/modarith/add sub neg mul match GMP on edge values", "[modarith]") {
    std::mt19937_64 rng(7);
    for (std::uint64_t q : edge_moduli()) {
        const Modulus modulus(q);
        const mpz_class big_q = to_mpz(q);
        for (std::uint64_t a : edge_values(q, rng)) {
            for (std::uint64_t b : edge_values(q, rng)) {
                INFO("q = " << q << ", a = " << a << ", b = " << b);
                const mpz_class sum = (to_mpz(a) + to_mpz(b)) % big_q;
                const mpz_class diff = ((to_mpz(a) - to_mpz(b)) % big_q + big_q) % big_q;
                const mpz_class product = to_mpz(a) * to_mpz(b) % big_q;
                REQUIRE(cloak::core::add_mod(a, b, q) == to_u64(sum));
                REQUIRE(cloak::core::sub_mod(a, b, q) == to_u64(diff));
                REQUIRE(cloak::core::mul_mod(a, b, modulus) == to_u64(product));
            }
            REQUIRE(cloak::core::neg_mod(a, q) == to_u64((big_q - to_mpz(a)) % big_q));
        }
    }
}

TEST_CASE("core/modarith/Barrett reduction of 64- and 128-bit words matches GMP", "[modarith]") {
    std::mt19937_64 rng(11);
    for (std::uint64_t q : edge_moduli()) {
        const Modulus modulus(q);
        std::vector<std::uint64_t> words{0, 1, q - 1, q, q + 1, ~0ULL, ~0ULL - 1, 1ULL << 63};
        for (int i = 0; i < 50; ++i) {
            words.push_back(rng());
        }
        for (std::uint64_t x : words) {
            INFO("q = " << q << ", x = " << x);
            REQUIRE(modulus.reduce(x) == x % q);
        }
        std::vector<uint128_t> wide{0, ~static_cast<uint128_t>(0),
                                    static_cast<uint128_t>(q) * q - 1,
                                    static_cast<uint128_t>(q - 1) * (q - 1)};
        for (int i = 0; i < 200; ++i) {
            wide.push_back((static_cast<uint128_t>(rng()) << 64) | rng());
        }
        for (uint128_t x : wide) {
            INFO("q = " << q << ", x = " << to_mpz(x).get_str());
            REQUIRE(modulus.reduce(x) == to_u64(to_mpz(x) % to_mpz(q)));
        }
    }
}

TEST_CASE("core/modarith/Shoup multiplication and its lazy variant", "[modarith]") {
    std::mt19937_64 rng(13);
    for (std::uint64_t q : edge_moduli()) {
        for (std::uint64_t w : edge_values(q, rng)) {
            const std::uint64_t w_shoup = cloak::core::shoup_precompute(w, q);
            REQUIRE(to_mpz(w_shoup) == (to_mpz(w) << 64) / to_mpz(q));
            // Any 64-bit x is allowed, not only reduced ones: lazy NTT inputs are in [0, 4q).
            std::vector<std::uint64_t> xs{0, 1, q - 1, 2 * q - 1, ~0ULL};
            if (q < (1ULL << 62)) {
                xs.push_back(4 * q - 1);
            }
            for (int i = 0; i < 20; ++i) {
                xs.push_back(rng());
            }
            for (std::uint64_t x : xs) {
                INFO("q = " << q << ", w = " << w << ", x = " << x);
                const std::uint64_t expected = to_u64(to_mpz(x) * to_mpz(w) % to_mpz(q));
                const std::uint64_t lazy = cloak::core::mul_shoup_lazy(x, w, w_shoup, q);
                REQUIRE(lazy < 2 * q);
                REQUIRE(lazy % q == expected);
                REQUIRE(cloak::core::mul_shoup(x, w, w_shoup, q) == expected);
            }
        }
    }
}

TEST_CASE("core/modarith/pow and inverse match GMP", "[modarith]") {
    std::mt19937_64 rng(17);
    for (std::uint64_t q : edge_moduli()) {
        const Modulus modulus(q);
        for (std::uint64_t a : edge_values(q, rng)) {
            const std::uint64_t e = rng();
            mpz_class expected;
            mpz_powm(expected.get_mpz_t(), to_mpz(a).get_mpz_t(), to_mpz(e).get_mpz_t(),
                     to_mpz(q).get_mpz_t());
            REQUIRE(cloak::core::pow_mod(a, e, modulus) == to_u64(expected));
            REQUIRE(cloak::core::pow_mod(a, 0, modulus) == 1 % q);
            if (a != 0 && gcd(to_mpz(a), to_mpz(q)) == 1) {
                mpz_class inverse;
                mpz_invert(inverse.get_mpz_t(), to_mpz(a).get_mpz_t(), to_mpz(q).get_mpz_t());
                REQUIRE(cloak::core::inverse_mod(a, q) == to_u64(inverse));
            }
        }
    }
}

TEST_CASE("core/modarith/bad input names the value and the limit", "[modarith]") {
    using cloak::InvalidArgumentError;
    REQUIRE_THROWS_AS(Modulus(1), InvalidArgumentError);
    REQUIRE_THROWS_WITH(Modulus(1ULL << 61), Catch::Contains("2305843009213693952") &&
                                                 Catch::Contains("at most 61 bits"));
    REQUIRE_THROWS_AS(cloak::core::inverse_mod(6, 9), InvalidArgumentError);
    REQUIRE_THROWS_WITH(cloak::core::inverse_mod(6, 9), Catch::Contains("gcd is 3"));
    REQUIRE_THROWS_WITH(cloak::core::inverse_mod(0, 97), Catch::Contains("no inverse"));
}

TEST_CASE("core/primes/Miller-Rabin agrees with GMP", "[primes]") {
    std::mt19937_64 rng(19);
    std::vector<std::uint64_t> candidates{0,
                                          1,
                                          2,
                                          3,
                                          4,
                                          561,
                                          1105,
                                          3215031751ULL,
                                          3825123056546413051ULL,  // pseudoprime to bases 2..23
                                          (1ULL << 61) - 1,
                                          ~0ULL,
                                          ~0ULL - 58};
    for (int i = 0; i < 2000; ++i) {
        candidates.push_back(rng() | 1);
        candidates.push_back(rng() >> (rng() % 60));
    }
    for (std::uint64_t n : candidates) {
        INFO("n = " << n);
        const bool gmp_says_prime = mpz_probab_prime_p(to_mpz(n).get_mpz_t(), 50) != 0;
        REQUIRE(cloak::core::is_prime(n) == gmp_says_prime);
    }
}

TEST_CASE("core/primes/NTT-friendly primes alternate around 2^bits", "[primes]") {
    for (int bits : {20, 30, 40, 50, 55, 60, 61}) {
        for (std::uint64_t two_n : {std::uint64_t{1} << 11, std::uint64_t{1} << 17}) {
            if (bits == 20 && two_n == (1 << 17)) {
                continue;  // only a handful of candidates exist; checked below
            }
            const std::size_t count = bits >= 40 ? 12 : 4;
            INFO("bits = " << bits << ", 2N = " << two_n);
            const auto primes = cloak::core::generate_ntt_primes(bits, count, two_n);
            REQUIRE(primes.size() == count);
            const std::uint64_t center = 1ULL << bits;
            for (std::size_t i = 0; i < primes.size(); ++i) {
                const std::uint64_t q = primes[i];
                REQUIRE(mpz_probab_prime_p(to_mpz(q).get_mpz_t(), 50) != 0);
                REQUIRE(q % two_n == 1);
                REQUIRE(cloak::core::bit_count(q) <= 61);
                for (std::size_t j = 0; j < i; ++j) {
                    REQUIRE(primes[j] != q);
                }
                if (bits < 61) {
                    // Alternation: even positions above 2^bits, odd ones below.
                    REQUIRE((q > center) == (i % 2 == 0));
                } else {
                    REQUIRE(q < center);
                }
            }
            // Nearest first on each side: no skipped prime of the form k*2N+1.
            const std::uint64_t first_above = primes[0];
            for (std::uint64_t c = center + 1; c < first_above && bits < 61; c += two_n) {
                REQUIRE_FALSE(cloak::core::is_prime(c));
            }
        }
    }
    // Excluded primes are skipped, so a second call can extend a basis.
    const auto first = cloak::core::generate_ntt_primes(50, 3, 1 << 14);
    const auto more = cloak::core::generate_ntt_primes(50, 3, 1 << 14, first);
    for (std::uint64_t q : more) {
        REQUIRE(std::find(first.begin(), first.end(), q) == first.end());
    }
}

TEST_CASE("core/primes/smallest primitive 2N-th root of unity", "[primes]") {
    for (int log_n : {10, 12, 16, 17}) {
        const std::uint64_t two_n = 2ULL << log_n;
        const auto primes = cloak::core::generate_ntt_primes(50, 2, two_n);
        for (std::uint64_t p : primes) {
            const Modulus q(p);
            const std::uint64_t root = cloak::core::minimal_primitive_root(two_n, q);
            INFO("2N = " << two_n << ", q = " << p << ", root = " << root);
            REQUIRE(cloak::core::pow_mod(root, two_n, q) == 1);
            REQUIRE(cloak::core::pow_mod(root, two_n / 2, q) == p - 1);
            if (log_n == 10) {
                // Exhaustive check that no smaller element has order exactly 2N.
                for (std::uint64_t x = 2; x < root && x < 100000; ++x) {
                    REQUIRE_FALSE(cloak::core::is_primitive_root(x, two_n, q));
                }
            }
        }
    }
}

TEST_CASE("core/primes/bad input names the value and the limit", "[primes]") {
    using cloak::InvalidArgumentError;
    REQUIRE_THROWS_AS(cloak::core::generate_ntt_primes(19, 1, 2048), InvalidArgumentError);
    REQUIRE_THROWS_WITH(cloak::core::generate_ntt_primes(62, 1, 2048),
                        Catch::Contains("62 bits") && Catch::Contains("[20, 61]"));
    REQUIRE_THROWS_WITH(cloak::core::generate_ntt_primes(40, 1, 3000),
                        Catch::Contains("3000") && Catch::Contains("power of two"));
    // N = 2^16 leaves only a few 20-bit primes of the form k * 2^17 + 1.
    REQUIRE_THROWS_WITH(cloak::core::generate_ntt_primes(20, 10, 1 << 17),
                        Catch::Contains("were requested"));
    REQUIRE_THROWS_WITH(cloak::core::minimal_primitive_root(2048, Modulus(97)),
                        Catch::Contains("97") && Catch::Contains("1 mod 2048"));
    REQUIRE_THROWS_WITH(cloak::core::minimal_primitive_root(2048, Modulus(2049)),
                        Catch::Contains("2049"));
}
