// Tests of ckks/parameters.hpp: validation, prime choice, security bound, presets.
#include <catch2/catch.hpp>

#include <cloak/ckks/parameters.hpp>

#include <algorithm>
#include <cmath>
#include <set>

using cloak::ckks::Parameters;
using cloak::ckks::Preset;

TEST_CASE("ckks/parameters/logN=14/logQP=360 chooses distinct NTT primes", "[parameters]") {
    const Parameters p = Parameters::from(
        {.log_n = 14, .log_q = {60, 40, 40, 40, 40, 40, 40}, .log_p = {60}, .log_scale = 40});
    REQUIRE(p.degree() == 16384);
    REQUIRE(p.slots() == 8192);
    REQUIRE(p.max_level() == 6);
    REQUIRE(p.q_primes().size() == 7);
    REQUIRE(p.p_primes().size() == 1);
    REQUIRE(p.dnum() == 7);  // one prime per digit with a single special prime
    REQUIRE(p.is_secure());
    std::set<std::uint64_t> all(p.q_primes().begin(), p.q_primes().end());
    all.insert(p.p_primes().begin(), p.p_primes().end());
    REQUIRE(all.size() == 8);
    for (std::uint64_t q : all) {
        REQUIRE(cloak::core::is_prime(q));
        REQUIRE(q % (2 * p.degree()) == 1);
    }
    // Level primes sit around 2^40, alternately above and below, within 2^-20 relative.
    double product_of_pair = std::log2(static_cast<double>(p.q_primes()[1])) +
                             std::log2(static_cast<double>(p.q_primes()[2]));
    REQUIRE(std::abs(product_of_pair - 80) < 1e-5);
    REQUIRE(p.q_primes()[1] > (1ULL << 40));
    REQUIRE(p.q_primes()[2] < (1ULL << 40));
    REQUIRE(std::abs(p.log_qp() - 360) < 0.01);
    REQUIRE(p.scale() == std::exp2(40));
}

TEST_CASE("ckks/parameters/presets sit at the 128-bit bound", "[parameters]") {
    struct Case {
        Preset preset;
        int log_n;
        int bound;
    };
    for (const Case& c : {Case{Preset::N13_QP218, 13, 218}, Case{Preset::N14_QP438, 14, 438},
                          Case{Preset::N15_QP881, 15, 881}, Case{Preset::N16_QP1747, 16, 1747}}) {
        const Parameters p = Parameters::preset(c.preset);
        INFO(p);
        REQUIRE(p.log_n() == c.log_n);
        REQUIRE(p.log_qp() <= c.bound);
        REQUIRE(p.log_qp() > c.bound - 4);
        REQUIRE(p.is_secure());
        // P is at least about each digit's product, so key switching adds little noise.
        for (std::size_t first = 0; first < p.q_primes().size(); first += p.digit_size()) {
            double log_digit = 0;
            for (std::size_t i = first; i < std::min(first + p.digit_size(), p.q_primes().size());
                 ++i) {
                log_digit += std::log2(static_cast<double>(p.q_primes()[i]));
            }
            REQUIRE(log_digit < p.log_p() + 1);
        }
    }
}

TEST_CASE("ckks/parameters/security bound and its loud opt-in", "[parameters]") {
    const cloak::ckks::ParametersLiteral too_big{.log_n = 14,
                                                 .log_q = {60, 40, 40, 40, 40, 40, 40, 40, 40, 40},
                                                 .log_p = {60},
                                                 .log_scale = 40};
    REQUIRE_THROWS_AS(Parameters::from(too_big), cloak::SecurityError);
    REQUIRE_THROWS_WITH(Parameters::from(too_big),
                        Catch::Contains("480") && Catch::Contains("bound 438") &&
                            Catch::Contains("insecure_for_testing_only"));
    auto opted_in = too_big;
    opted_in.security = cloak::rlwe::Security::insecure_for_testing_only;
    const Parameters p = Parameters::from(opted_in);
    REQUIRE_FALSE(p.is_secure());
    REQUIRE(p.to_string().rfind("INSECURE", 0) == 0);
    REQUIRE(Parameters::preset(Preset::N14_QP438).to_string().find("INSECURE") ==
            std::string::npos);

    // A sparse secret below the weight we consider safe needs the opt-in too.
    REQUIRE_THROWS_WITH(Parameters::from({.log_n = 14,
                                          .log_q = {60, 40},
                                          .log_p = {60},
                                          .log_scale = 40,
                                          .secret = cloak::ckks::SecretDistribution::sparse_ternary,
                                          .hamming_weight = 64}),
                        Catch::Contains("Hamming weight 64") && Catch::Contains("192"));
}

TEST_CASE("ckks/parameters/bad literals name the value and the limit", "[parameters]") {
    using cloak::ParameterError;
    const auto with = [](auto edit) {
        cloak::ckks::ParametersLiteral lit{
            .log_n = 14, .log_q = {60, 40, 40}, .log_p = {60}, .log_scale = 40};
        edit(lit);
        return lit;
    };
    REQUIRE_THROWS_WITH(Parameters::from(with([](auto& l) { l.log_n = 9; })),
                        Catch::Contains("log_n = 9") && Catch::Contains("[10, 17]"));
    REQUIRE_THROWS_WITH(Parameters::from(with([](auto& l) { l.log_q = {}; })),
                        Catch::Contains("log_q is empty"));
    REQUIRE_THROWS_WITH(Parameters::from(with([](auto& l) { l.log_p = {}; })),
                        Catch::Contains("log_p is empty"));
    REQUIRE_THROWS_WITH(Parameters::from(with([](auto& l) {
                            l.log_q = {60, 62};
                        })),
                        Catch::Contains("log_q[1] = 62 bits") && Catch::Contains("[20, 61]"));
    REQUIRE_THROWS_WITH(Parameters::from(with([](auto& l) { l.log_scale = 60; })),
                        Catch::Contains("log_scale = 60") && Catch::Contains("log_q[0] = 60"));
    REQUIRE_THROWS_WITH(Parameters::from(with([](auto& l) { l.dnum = 4; })),
                        Catch::Contains("dnum = 4") && Catch::Contains("[1, 3]"));
    REQUIRE_THROWS_AS(Parameters::from(with([](auto& l) { l.log_p = {19}; })), ParameterError);
    // Too many small primes for the ring degree.
    REQUIRE_THROWS_WITH(Parameters::from(with([](auto& l) {
                            l.log_n = 16;
                            l.log_q = std::vector<int>(12, 21);
                            l.log_scale = 20;
                        })),
                        Catch::Contains("cannot find 12 primes of 21 bits"));
}
