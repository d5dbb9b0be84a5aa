// Tests of ring/crt.hpp: exact composition against GMP.
#include <gmpxx.h>
#include <catch2/catch.hpp>

#include <cloak/core/primes.hpp>
#include <cloak/ring/crt.hpp>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

TEST_CASE("ring/crt/centered composition equals GMP for 1 to 30 moduli", "[crt]") {
    std::mt19937_64 rng(3);
    for (std::size_t count : {1, 2, 3, 7, 30}) {
        const auto moduli = cloak::core::generate_ntt_primes(count == 30 ? 55 : 60, count, 1 << 12);
        mpz_class product = 1;
        for (std::uint64_t q : moduli) {
            product *= mpz_class(std::to_string(q));
        }
        const cloak::ring::CrtComposer crt(moduli);
        // Values: random over all of (-Q/2, Q/2], small ones (the CKKS case: x << Q),
        // and the edges 0, +-1, +-Q/2.
        const std::size_t n = 64;
        std::vector<mpz_class> values;
        gmp_randclass gmp_rng(gmp_randinit_default);
        gmp_rng.seed(static_cast<unsigned long>(count));
        values.push_back(0);
        values.push_back(1);
        values.push_back(-1);
        values.push_back(product / 2);
        values.push_back(-(product / 2) + 1);
        while (values.size() < n) {
            mpz_class v = gmp_rng.get_z_range(product) - product / 2;
            if (values.size() % 2 == 0) {
                v = gmp_rng.get_z_bits(
                        static_cast<mp_bitcnt_t>(rng() % std::min<std::size_t>(100, 50 * count))) *
                    (rng() % 2 == 0 ? 1 : -1);
            }
            values.push_back(v);
        }
        std::vector<std::uint64_t> residues(count * n);
        for (std::size_t i = 0; i < count; ++i) {
            const mpz_class q(std::to_string(moduli[i]));
            for (std::size_t j = 0; j < n; ++j) {
                mpz_class r = values[j] % q;
                if (r < 0) {
                    r += q;
                }
                residues[i * n + j] = std::stoull(r.get_str());
            }
        }
        std::vector<double> out(n);
        const double factor = std::ldexp(1.0, -40);
        crt.compose_centered(residues, n, factor, out);
        for (std::size_t j = 0; j < n; ++j) {
            const double expected = values[j].get_d() * factor;
            INFO("moduli = " << count << ", value = " << values[j].get_str());
            REQUIRE(out[j] == Approx(expected).epsilon(1e-15).margin(1e-300));
        }
    }
}

TEST_CASE("ring/crt/bad shapes", "[crt]") {
    const auto moduli = cloak::core::generate_ntt_primes(40, 2, 2048);
    const cloak::ring::CrtComposer crt(moduli);
    std::vector<std::uint64_t> residues(10);
    std::vector<double> out(4);
    REQUIRE_THROWS_AS(crt.compose_centered(residues, 4, 1.0, out), cloak::ShapeError);
    REQUIRE_THROWS_WITH(crt.compose_centered(residues, 4, 1.0, out),
                        Catch::Contains("10 residues") && Catch::Contains("2 moduli"));
    REQUIRE_THROWS_AS(cloak::ring::CrtComposer(std::vector<std::uint64_t>{}),
                      cloak::InvalidArgumentError);
}

TEST_CASE("ring/crt/round_to_residues is exact up to 2^1000 and inverts composition", "[crt]") {
    const auto primes = cloak::core::generate_ntt_primes(60, 20, 1 << 12);
    std::vector<cloak::core::Modulus> moduli(primes.begin(), primes.end());
    const std::vector<double> values{0.0,
                                     0.49,
                                     -0.5,
                                     2.5,
                                     -1e6,
                                     0x1p62 + 4096,
                                     -0x1p63,
                                     0x1.fffffffffffffp63,
                                     1e20,
                                     -3.75e30,
                                     std::ldexp(1.0, 1000)};
    std::vector<std::uint64_t> residues(primes.size() * values.size());
    cloak::ring::round_to_residues(values, moduli, residues);
    for (std::size_t j = 0; j < values.size(); ++j) {
        // GMP holds the rounded double exactly.
        const mpz_class exact(std::round(values[j]));
        for (std::size_t i = 0; i < primes.size(); ++i) {
            const mpz_class q(std::to_string(primes[i]));
            mpz_class r = exact % q;
            if (r < 0) {
                r += q;
            }
            INFO("value " << values[j] << " mod " << primes[i]);
            REQUIRE(residues[i * values.size() + j] == std::stoull(r.get_str()));
        }
    }
    const cloak::ring::CrtComposer crt(primes);
    std::vector<double> back(values.size());
    crt.compose_centered(residues, values.size(), 1.0, back);
    for (std::size_t j = 0; j < values.size(); ++j) {
        REQUIRE(back[j] == std::round(values[j]));
    }
    std::vector<double> bad{1.0, std::nan("")};
    std::vector<std::uint64_t> out(primes.size() * 2);
    REQUIRE_THROWS_WITH(cloak::ring::round_to_residues(bad, moduli, out),
                        Catch::Contains("index 1") && Catch::Contains("not finite"));
}
