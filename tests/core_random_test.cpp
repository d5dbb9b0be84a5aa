// Tests of core/random.hpp: determinism of seeded streams and the statistics of
// every sampler, each within 4 standard deviations of its exact expectation.
#include <catch2/catch.hpp>

#include <cloak/core/random.hpp>

#include <cmath>
#include <map>
#include <vector>

using cloak::core::Prng;
using cloak::core::Seed;

namespace {

Seed fixed_seed(std::uint8_t first) {
    Seed seed{};
    seed[0] = first;
    seed[31] = 7;
    return seed;
}

// |observed - expected| within 4 standard deviations of a binomial count.
bool within_four_sigma(double count, double trials, double p) {
    const double sigma = std::sqrt(trials * p * (1 - p));
    return std::abs(count - trials * p) <= 4 * sigma;
}

}  // namespace

TEST_CASE("core/random/seeded streams are deterministic and separated", "[random]") {
    Prng a(fixed_seed(1));
    Prng b(fixed_seed(1));
    Prng other_stream(fixed_seed(1), 1);
    Prng other_seed(fixed_seed(2));
    std::vector<std::uint64_t> xa(3000), xb(3000), xc(3000), xd(3000);
    for (std::size_t i = 0; i < xa.size(); ++i) {  // crosses several 4 KiB refills
        xa[i] = a.next_u64();
        xb[i] = b.next_u64();
        xc[i] = other_stream.next_u64();
        xd[i] = other_seed.next_u64();
    }
    REQUIRE(xa == xb);
    REQUIRE(xa != xc);
    REQUIRE(xa != xd);
    Prng copy = a;
    REQUIRE(copy.next_u64() == a.next_u64());
    REQUIRE(cloak::core::random_seed() != cloak::core::random_seed());
}

TEST_CASE("core/random/ternary frequencies are 1/3 each", "[random]") {
    Prng prng(fixed_seed(3));
    const std::size_t trials = 1 << 20;
    std::vector<std::int64_t> values(trials);
    cloak::core::sample_ternary(prng, values);
    std::map<std::int64_t, double> counts;
    for (std::int64_t v : values) {
        counts[v] += 1;
    }
    REQUIRE(counts.size() == 3);
    for (std::int64_t v : {-1, 0, 1}) {
        INFO("value " << v << ": " << counts[v] / trials);
        REQUIRE(within_four_sigma(counts[v], trials, 1.0 / 3));
    }
}

TEST_CASE("core/random/sparse ternary has the exact Hamming weight", "[random]") {
    Prng prng(fixed_seed(4));
    std::vector<double> position_hits(1024, 0);
    double positives = 0;
    double nonzeros = 0;
    const int repeats = 400;
    for (std::size_t h :
         {std::size_t{0}, std::size_t{1}, std::size_t{64}, std::size_t{192}, std::size_t{1024}}) {
        for (int r = 0; r < repeats; ++r) {
            std::vector<std::int64_t> values(1024);
            cloak::core::sample_sparse_ternary(prng, h, values);
            std::size_t weight = 0;
            for (std::size_t i = 0; i < values.size(); ++i) {
                REQUIRE((values[i] == -1 || values[i] == 0 || values[i] == 1));
                if (values[i] != 0) {
                    ++weight;
                    if (h == 64) {
                        position_hits[i] += 1;
                        positives += values[i] > 0 ? 1 : 0;
                        nonzeros += 1;
                    }
                }
            }
            REQUIRE(weight == h);
        }
    }
    REQUIRE(within_four_sigma(positives, nonzeros, 0.5));
    // Every position is chosen with probability 64/1024 per draw; allow for the
    // maximum over 1024 positions (a 5-sigma band).
    for (double hits : position_hits) {
        const double p = 64.0 / 1024;
        REQUIRE(std::abs(hits - repeats * p) <= 5 * std::sqrt(repeats * p * (1 - p)));
    }
    std::vector<std::int64_t> small(10);
    REQUIRE_THROWS_WITH(cloak::core::sample_sparse_ternary(prng, 11, small),
                        Catch::Contains("Hamming weight 11") && Catch::Contains("10"));
}

TEST_CASE("core/random/Gaussian sigma=3.2 variance within 2 percent, tail cut", "[random]") {
    const double sigma = cloak::core::default_gaussian_sigma;
    const int bound = cloak::core::gaussian_tail_bound(sigma);
    REQUIRE(bound == 20);
    // Exact variance of the truncated discrete distribution.
    double total = 0;
    double second_moment = 0;
    for (int k = -bound; k <= bound; ++k) {
        const double rho = std::exp(-static_cast<double>(k) * k / (2 * sigma * sigma));
        total += rho;
        second_moment += rho * k * k;
    }
    const double exact_variance = second_moment / total;
    Prng prng(fixed_seed(5));
    const std::size_t trials = 1 << 20;
    std::vector<std::int64_t> values(trials);
    cloak::core::sample_gaussian(prng, values);
    double sum = 0;
    double squares = 0;
    std::int64_t largest = 0;
    for (std::int64_t v : values) {
        sum += static_cast<double>(v);
        squares += static_cast<double>(v * v);
        largest = std::max(largest, v < 0 ? -v : v);
    }
    const double mean = sum / trials;
    const double variance = squares / trials - mean * mean;
    INFO("variance " << variance << " vs exact " << exact_variance);
    REQUIRE(std::abs(variance / exact_variance - 1) < 0.02);
    REQUIRE(std::abs(mean) < 4 * std::sqrt(exact_variance / trials));
    REQUIRE(largest <= bound);

    std::vector<std::int64_t> wide(1 << 16);
    cloak::core::sample_gaussian(prng, wide, 10.0);
    double wide_squares = 0;
    for (std::int64_t v : wide) {
        wide_squares += static_cast<double>(v * v);
    }
    REQUIRE(std::abs(wide_squares / wide.size() / 100.0 - 1) < 0.05);
    REQUIRE_THROWS_WITH(cloak::core::sample_gaussian(prng, wide, -1.0),
                        Catch::Contains("sigma = -1"));
    REQUIRE_THROWS_AS(cloak::core::sample_gaussian(prng, wide, std::nan("")),
                      cloak::InvalidArgumentError);
}

TEST_CASE("core/random/uniform mod q has no modulo bias", "[random]") {
    Prng prng(fixed_seed(6));
    // q about 2^64 / 1.5: a naive x % q would make values below 2^64 - q (half of
    // the range) twice as likely as the others, putting 2/3 of draws below q/2.
    const std::uint64_t q = 0xAAAAAAAAAAAAAAABULL;
    const std::size_t trials = 1 << 18;
    std::vector<std::uint64_t> values(trials);
    cloak::core::sample_uniform_mod(prng, q, values);
    double below_half = 0;
    for (std::uint64_t v : values) {
        REQUIRE(v < q);
        below_half += v < q / 2 ? 1 : 0;
    }
    REQUIRE(within_four_sigma(below_half, trials, 0.5));
    for (std::uint64_t small_q : {std::uint64_t{3}, std::uint64_t{7681}}) {
        std::vector<std::uint64_t> draws(1 << 18);
        cloak::core::sample_uniform_mod(prng, small_q, draws);
        const std::size_t buckets = small_q == 3 ? 3 : 16;
        std::vector<double> counts(buckets, 0);
        for (std::uint64_t v : draws) {
            REQUIRE(v < small_q);
            counts[v * buckets / small_q] += 1;
        }
        for (std::size_t b = 0; b < buckets; ++b) {
            // Bucket b holds the values v with floor(v * buckets / q) = b.
            const double size = std::ceil(static_cast<double>((b + 1) * small_q) / buckets) -
                                std::ceil(static_cast<double>(b * small_q) / buckets);
            REQUIRE(within_four_sigma(counts[b], draws.size(), size / small_q));
        }
    }
    REQUIRE_THROWS_WITH(cloak::core::sample_uniform_mod(prng, 1, values),
                        Catch::Contains("modulus 1"));
}
