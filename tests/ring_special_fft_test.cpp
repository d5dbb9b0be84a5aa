// Tests of ring/special_fft.hpp against a direct evaluation in long double.
#include <catch2/catch.hpp>

#include <cloak/ring/special_fft.hpp>

#include <cmath>
#include <complex>
#include <numbers>
#include <random>
#include <vector>

namespace {

// slot_j = sum_k c_k zeta^(5^j k), zeta = exp(2 pi i / 4n), evaluated term by term.
std::vector<std::complex<long double>> direct_embedding(
    const std::vector<std::complex<double>>& c) {
    const std::size_t n = c.size();
    const std::uint64_t order = 4 * n;
    std::vector<std::complex<long double>> slots(n);
    std::uint64_t five_to_j = 1;
    for (std::size_t j = 0; j < n; ++j) {
        std::complex<long double> sum = 0;
        for (std::size_t k = 0; k < n; ++k) {
            const long double angle = 2 * std::numbers::pi_v<long double> *
                                      static_cast<long double>(five_to_j * k % order) /
                                      static_cast<long double>(order);
            sum += std::complex<long double>(c[k].real(), c[k].imag()) *
                   std::complex<long double>(std::cos(angle), std::sin(angle));
        }
        slots[j] = sum;
        five_to_j = five_to_j * 5 % order;
    }
    return slots;
}

}  // namespace

TEST_CASE("ring/special_fft/embed equals the canonical embedding, project inverts it", "[fft]") {
    const cloak::ring::SpecialFft fft(1 << 12);
    std::mt19937_64 rng(5);
    std::uniform_real_distribution<double> uniform(-1, 1);
    for (std::size_t n : {1, 2, 4, 8, 64, 512, 2048}) {
        std::vector<std::complex<double>> c(n);
        for (auto& value : c) {
            value = {uniform(rng), uniform(rng)};
        }
        std::vector<std::complex<double>> slots = c;
        fft.embed(slots);
        const auto expected = direct_embedding(c);
        double max_error = 0;
        for (std::size_t j = 0; j < n; ++j) {
            const std::complex<long double> got(slots[j].real(), slots[j].imag());
            max_error = std::max(max_error, static_cast<double>(std::abs(got - expected[j])));
        }
        INFO("slots = " << n << ", embedding error 2^" << std::log2(max_error));
        REQUIRE(max_error < std::ldexp(1.0, -40));

        fft.project(slots);
        double round_trip = 0;
        for (std::size_t k = 0; k < n; ++k) {
            round_trip = std::max(round_trip, std::abs(slots[k] - c[k]));
        }
        REQUIRE(round_trip < std::ldexp(1.0, -48));
    }
}

TEST_CASE("ring/special_fft/rotation group and bad sizes", "[fft]") {
    const cloak::ring::SpecialFft fft(1 << 10);
    REQUIRE(fft.rotation_element(0) == 1);
    REQUIRE(fft.rotation_element(1) == 5);
    REQUIRE(fft.rotation_element(2) == 25);
    REQUIRE(fft.rotation_element(512) == 1);  // the group has order N/2
    std::vector<std::complex<double>> values(3);
    REQUIRE_THROWS_AS(fft.embed(values), cloak::InvalidArgumentError);
    values.resize(1024);
    REQUIRE_THROWS_WITH(fft.project(values),
                        Catch::Contains("1024 slots") && Catch::Contains("N/2 = 512"));
    REQUIRE_THROWS_WITH(cloak::ring::SpecialFft(1000), Catch::Contains("N = 1000"));
}
