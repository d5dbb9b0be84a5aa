// Tests of the homomorphic iterative circuits (approx/circuits.hpp): 1/x by
// Goldschmidt, 1/sqrt(x) and sqrt(x) by a Chebyshev start and Newton, softmax
// over windows. Each result is compared with the function in double over random
// inputs of the interval (precision floor in bits, printed with -s), the levels
// consumed with the stated depth, the output scale with the target; then bad
// input. Small insecure parameters (N = 2^12, 20 levels of 40 bits); inputs are
// encrypted at exactly the levels a circuit states, which checks the depth and
// keeps the file fast.
#include <catch2/catch.hpp>

#include <cloak/approx/circuits.hpp>
#include <cloak/ckks/encoder.hpp>
#include <cloak/ckks/encryptor.hpp>
#include <cloak/ckks/evaluator.hpp>
#include <cloak/ckks/keys.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace {

using namespace cloak;

constexpr std::size_t softmax_window = 8;

// Softmax over windows of 8 slots and over one window of 16 slots.
std::vector<std::int64_t> rotations() {
    std::vector<std::int64_t> steps = approx::softmax_rotations(softmax_window);
    for (std::int64_t step : approx::softmax_rotations(16))
        steps.push_back(step);
    return steps;
}

struct CircuitFixture {
    ckks::Context context{
        ckks::Parameters::from({.log_n = 12,
                                .log_q = {60, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40,
                                          40, 40, 40, 40, 40, 40, 40, 40, 40, 40},
                                .log_p = {60, 60, 60},
                                .log_scale = 40,
                                .security = rlwe::Security::insecure_for_testing_only})};
    ckks::KeyGenerator keygen{context};
    ckks::Encoder encoder{context};
    ckks::Encryptor encryptor{context, keygen.secret_key()};
    ckks::Decryptor decryptor{context, keygen.secret_key()};
    ckks::RelinKey relin_key = keygen.relin_key();  // key generation is the slow part
    ckks::Evaluator evaluator{context, relin_key, keygen.galois_keys(rotations())};
};

CircuitFixture& fixture() {
    static CircuitFixture f;
    return f;
}

// Encrypted at exactly `level` (and `slots` slots, default all).
ckks::Ciphertext encrypt_at(const std::vector<double>& x, std::size_t level,
                            std::size_t slots = 0) {
    CircuitFixture& f = fixture();
    return f.encryptor.encrypt(
        f.encoder.encode(x, {.level = level, .slots = slots == 0 ? f.context.slots() : slots}));
}

std::vector<double> uniform_values(std::size_t n, double lo, double hi, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> uniform(lo, hi);
    std::vector<double> v(n);
    for (double& x : v)
        x = uniform(rng);
    return v;
}

struct Measured {
    double bits;           // -log2 max |result - expected|
    double relative_bits;  // -log2 max |result / expected - 1|
    std::size_t levels_used;
    double scale;
};

Measured measure(const ckks::Ciphertext& in, const ckks::Ciphertext& out,
                 const std::vector<double>& expected) {
    CircuitFixture& f = fixture();
    const std::vector<double> got = f.encoder.decode_real(f.decryptor.decrypt(out));
    double worst_relative = 0.0;
    for (std::size_t i = 0; i < expected.size(); ++i) {
        worst_relative = std::max(worst_relative, std::fabs(got[i] / expected[i] - 1.0));
    }
    return {ckks::precision_bits(got, expected), -std::log2(worst_relative),
            in.level() - out.level(), out.scale()};
}

std::vector<double> map_values(const std::vector<double>& x,
                               const std::function<double(double)>& f) {
    std::vector<double> y(x.size());
    std::transform(x.begin(), x.end(), y.begin(), f);
    return y;
}

std::vector<double> softmax_windows(const std::vector<double>& x, std::size_t window) {
    std::vector<double> y(x.size());
    for (std::size_t start = 0; start < x.size(); start += window) {
        double sum = 0.0;
        for (std::size_t j = start; j < start + window; ++j)
            sum += std::exp(x[j]);
        for (std::size_t j = start; j < start + window; ++j)
            y[j] = std::exp(x[j]) / sum;
    }
    return y;
}

}  // namespace

TEST_CASE("approx/inverse/logN=12 Goldschmidt on [1, 8], [0.05, 1], [10, 1000]",
          "[approx][circuits]") {
    CircuitFixture& f = fixture();
    struct Case {
        ckks::Interval interval;
        double target_scale;  // outputs down to 1/1000 keep their relative bits at 2^50
        double relative_floor;
    };
    for (const Case c : {Case{{1.0, 8.0}, 0x1p40, 21.0}, Case{{0.05, 1.0}, 0x1p40, 21.0},
                         Case{{10.0, 1000.0}, 0x1p50, 20.0}}) {
        const ckks::Interval interval = c.interval;
        const auto x = uniform_values(f.context.slots(), interval.a, interval.b, 21);
        const approx::InverseOptions options{.interval = interval, .target_scale = c.target_scale};
        const std::size_t k = approx::inverse_iterations(interval);
        const ckks::Ciphertext cx = encrypt_at(x, k + 1);
        const ckks::Ciphertext cy = approx::inverse(f.evaluator, cx, options);
        const Measured m = measure(cx, cy, map_values(x, [](double v) { return 1.0 / v; }));
        INFO("1/x on [" << interval.a << ", " << interval.b << "] at scale 2^"
                        << std::log2(c.target_scale) << ", " << k << " iterations: " << m.bits
                        << " bits, " << m.relative_bits << " bits relative, " << m.levels_used
                        << " levels");
        CHECK(approx::inverse_error(interval, k) <= approx::default_circuit_error);
        CHECK(approx::inverse_depth(options) == k + 1);
        CHECK(m.levels_used == k + 1);
        CHECK(m.scale == c.target_scale);
        CHECK(m.relative_bits >= c.relative_floor);
    }
}

TEST_CASE("approx/inverse/logN=12 error follows (1 - a/b)^(2^k), chosen scale, automatic mode",
          "[approx][circuits]") {
    CircuitFixture& f = fixture();
    const ckks::Interval interval{0.5, 4.0};
    const auto x = uniform_values(f.context.slots(), interval.a, interval.b, 22);
    const auto expected = map_values(x, [](double v) { return 1.0 / v; });
    for (std::size_t k : {2, 3, 4, 9}) {
        const ckks::Ciphertext cx = encrypt_at(x, k + 1);
        const ckks::Ciphertext cy = approx::inverse(
            f.evaluator, cx, {.interval = interval, .iterations = k, .target_scale = 0x1p38});
        const Measured m = measure(cx, cy, expected);
        const double bound = approx::inverse_error(interval, k);
        INFO(k << " iterations: " << m.relative_bits << " bits relative, bound "
               << -std::log2(bound) << " bits");
        CHECK(m.levels_used == k + 1);
        CHECK(m.scale == 0x1p38);
        // At scale 2^38 the output's own rounding leaves about 23 bits.
        CHECK(m.relative_bits >= std::min(-std::log2(bound) - 0.1, 21.0));
    }

    // Automatic mode: a product awaiting its rescale is rescaled first.
    const ckks::Evaluator automatic(f.context, f.relin_key, ckks::ScaleMode::automatic);
    const auto half = uniform_values(f.context.slots(), 1.0, 2.0, 23);
    const std::size_t depth = approx::inverse_depth({.interval = {0.5, 8.0}});
    const ckks::Ciphertext c1 = encrypt_at(half, depth + 1);
    const ckks::Ciphertext c2 = encrypt_at(x, depth + 1);
    const ckks::Ciphertext product = automatic.multiply(c1, c2);  // in [0.5, 8], pending
    const ckks::Ciphertext cy = approx::inverse(automatic, product, {.interval = {0.5, 8.0}});
    std::vector<double> inverse_product(x.size());
    for (std::size_t i = 0; i < x.size(); ++i)
        inverse_product[i] = 1.0 / (half[i] * x[i]);
    const Measured m = measure(c1, cy, inverse_product);
    INFO("automatic mode: " << m.relative_bits << " bits relative");
    CHECK(m.levels_used == depth + 1);
    CHECK(cy.level() == 0);
    CHECK(m.relative_bits >= 22.0);
}

TEST_CASE("approx/inverse_sqrt/logN=12 Chebyshev start and Newton on [1, 16], [0.1, 1], [1, 1000]",
          "[approx][circuits]") {
    CircuitFixture& f = fixture();
    for (const ckks::Interval interval :
         {ckks::Interval{1.0, 16.0}, ckks::Interval{0.1, 1.0}, ckks::Interval{1.0, 1000.0}}) {
        const auto x = uniform_values(f.context.slots(), interval.a, interval.b, 31);
        const approx::InverseSqrtOptions options{.interval = interval};
        const approx::InverseSqrtPlan plan = approx::inverse_sqrt_plan(options);
        const ckks::Ciphertext cx = encrypt_at(x, plan.depth + 1);
        const ckks::Ciphertext cy = approx::inverse_sqrt(f.evaluator, cx, options);
        const Measured m =
            measure(cx, cy, map_values(x, [](double v) { return 1.0 / std::sqrt(v); }));
        INFO("1/sqrt on [" << interval.a << ", " << interval.b << "]: degree "
                           << plan.initial.degree() << " (error " << plan.initial_error << "), "
                           << plan.iterations << " Newton steps, " << m.bits << " bits, "
                           << m.relative_bits << " bits relative, " << m.levels_used << " levels");
        CHECK(plan.error <= approx::default_circuit_error);
        CHECK(approx::inverse_sqrt_depth(options) == plan.depth);
        CHECK(plan.depth == ckks::Evaluator::depth(plan.initial) + 2 * plan.iterations);
        CHECK(m.levels_used == plan.depth);
        CHECK(m.scale == f.context.scale());
        CHECK(m.relative_bits >= 20.0);

        const ckks::Ciphertext cs = approx::sqrt(f.evaluator, cx, options);
        const Measured s = measure(cx, cs, map_values(x, [](double v) { return std::sqrt(v); }));
        INFO("sqrt: " << s.bits << " bits, " << s.relative_bits << " bits relative");
        CHECK(approx::sqrt_depth(options) == plan.depth + 1);
        CHECK(s.levels_used == plan.depth + 1);
        CHECK(cs.level() == 0);
        CHECK(s.scale == f.context.scale());
        CHECK(s.relative_bits >= 20.0);
    }
}

TEST_CASE("approx/inverse_sqrt/logN=12 chosen degree and iterations", "[approx][circuits]") {
    CircuitFixture& f = fixture();
    const ckks::Interval interval{0.5, 2.0};
    const auto x = uniform_values(f.context.slots(), interval.a, interval.b, 32);
    const auto expected = map_values(x, [](double v) { return 1.0 / std::sqrt(v); });
    for (std::size_t degree : {3, 7}) {
        for (std::size_t iterations : {1, 2, 3}) {
            const approx::InverseSqrtOptions options{
                .interval = interval, .iterations = iterations, .degree = degree};
            const approx::InverseSqrtPlan plan = approx::inverse_sqrt_plan(options);
            const ckks::Ciphertext cx = encrypt_at(x, plan.depth);
            const ckks::Ciphertext cy = approx::inverse_sqrt(f.evaluator, cx, options);
            const Measured m = measure(cx, cy, expected);
            INFO("degree " << degree << ", " << iterations << " steps: " << m.relative_bits
                           << " bits relative, bound " << -std::log2(plan.error) << " bits");
            CHECK(plan.initial.degree() == degree);
            CHECK(m.levels_used == plan.depth);
            CHECK(m.relative_bits >= std::min(-std::log2(plan.error) - 0.5, 24.0));
        }
    }
}

TEST_CASE("approx/softmax/logN=12 windows of 8 slots, of all 16 slots, of 1 slot",
          "[approx][circuits]") {
    CircuitFixture& f = fixture();
    const approx::SoftmaxOptions options{.window = softmax_window, .input_interval = {-4.0, 0.0}};
    const auto x = uniform_values(f.context.slots(), -4.0, 0.0, 41);
    const ckks::Ciphertext cx = encrypt_at(x, approx::softmax_depth(options, f.context.slots()));
    const ckks::Ciphertext cy = approx::softmax(f.evaluator, cx, options);
    const Measured m = measure(cx, cy, softmax_windows(x, softmax_window));
    INFO("softmax, window 8, inputs in [-4, 0]: " << m.bits << " bits, " << m.relative_bits
                                                  << " bits relative, " << m.levels_used
                                                  << " levels");
    CHECK(approx::softmax_depth(options, f.context.slots()) == m.levels_used);
    CHECK(m.scale == f.context.scale());
    CHECK(m.bits >= 22.0);

    // One window over 16 sparse slots: no mask.
    const auto x16 = uniform_values(16, -2.0, 0.0, 42);
    const approx::SoftmaxOptions all{.window = 16, .input_interval = {-2.0, 0.0}};
    const ckks::Ciphertext c16 = encrypt_at(x16, approx::softmax_depth(all, 16), 16);
    const ckks::Ciphertext s16 = approx::softmax(f.evaluator, c16, all);
    const Measured m16 = measure(c16, s16, softmax_windows(x16, 16));
    INFO("softmax, one window of 16 slots, inputs in [-2, 0]: "
         << m16.bits << " bits, " << m16.relative_bits << " bits relative, " << m16.levels_used
         << " levels");
    CHECK(approx::softmax_depth(all, 16) == m16.levels_used);
    CHECK(approx::softmax_depth(all, 16) == approx::softmax_depth(all, 32));
    CHECK(m16.bits >= 22.0);

    // Windows of one slot: every output is 1 (no rotation at all).
    const approx::SoftmaxOptions single{.window = 1, .input_interval = {-2.0, 0.0}};
    CHECK(approx::softmax_rotations(1).empty());
    const ckks::Ciphertext c1 = encrypt_at(x16, approx::softmax_depth(single, 16), 16);
    const Measured m1 =
        measure(c1, approx::softmax(f.evaluator, c1, single), std::vector<double>(16, 1.0));
    INFO("softmax, windows of 1 slot: " << m1.bits << " bits");
    CHECK(m1.levels_used == approx::softmax_depth(single, 16));
    CHECK(m1.bits >= 20.0);
}

TEST_CASE("approx/circuits bad input", "[approx][circuits]") {
    CircuitFixture& f = fixture();
    const auto x = uniform_values(f.context.slots(), 1.0, 2.0, 51);
    const ckks::Ciphertext cx = encrypt_at(x, f.context.max_level());
    const ckks::Ciphertext low = f.evaluator.drop_level_to(cx, 3);

    // Intervals.
    CHECK_THROWS_AS(approx::inverse(f.evaluator, cx, {.interval = {2.0, 1.0}}),
                    InvalidArgumentError);
    CHECK_THROWS_WITH(approx::inverse(f.evaluator, cx, {.interval = {2.0, 1.0}}),
                      Catch::Contains("[2, 1]") && Catch::Contains("0 < a < b"));
    CHECK_THROWS_WITH(approx::inverse(f.evaluator, cx, {.interval = {0.0, 1.0}}),
                      Catch::Contains("0 < a < b"));
    CHECK_THROWS_AS(approx::inverse_sqrt(f.evaluator, cx, {.interval = {-1.0, 1.0}}),
                    InvalidArgumentError);
    CHECK_THROWS_AS(approx::sqrt(f.evaluator, cx, {}), InvalidArgumentError);
    CHECK_THROWS_WITH(approx::softmax(f.evaluator, cx, {.window = 8, .input_interval = {1.0, 1.0}}),
                      Catch::Contains("a < b"));
    CHECK_THROWS_WITH(
        approx::softmax(
            f.evaluator, cx,
            {.window = 8, .input_interval = {-4.0, 0.0}, .sum_interval = ckks::Interval{0.0, 8.0}}),
        Catch::Contains("sum_interval [0, 8]") && Catch::Contains("0 < a < b"));

    // Iterations: 0, above 30, and a default above 30.
    CHECK_THROWS_WITH(approx::inverse(f.evaluator, cx, {.interval = {1.0, 2.0}, .iterations = 0}),
                      Catch::Contains("0 iterations") && Catch::Contains("1 to 30"));
    CHECK_THROWS_WITH(approx::inverse(f.evaluator, cx, {.interval = {1.0, 2.0}, .iterations = 31}),
                      Catch::Contains("31 iterations"));
    CHECK_THROWS_WITH(
        approx::inverse_sqrt(f.evaluator, cx, {.interval = {1.0, 2.0}, .iterations = 0}),
        Catch::Contains("0 iterations"));
    CHECK_THROWS_WITH(approx::inverse_depth({.interval = {1e-9, 1e3}}),
                      Catch::Contains("44 Goldschmidt iterations") && Catch::Contains("above 30") &&
                          Catch::Contains("narrow the interval"));
    CHECK_THROWS_WITH(
        approx::softmax(f.evaluator, cx,
                        {.window = 8, .input_interval = {-4.0, 0.0}, .inverse_iterations = 40}),
        Catch::Contains("40 iterations"));
    CHECK_THROWS_WITH(approx::softmax_depth({.window = 8, .input_interval = {-30.0, 0.0}}, 2048),
                      Catch::Contains("Goldschmidt iterations") && Catch::Contains("above 30"));

    // A degree that cannot start Newton, and degrees out of range.
    CHECK_THROWS_WITH(approx::inverse_sqrt_plan({.interval = {0.001, 100.0}, .degree = 1}),
                      Catch::Contains("raise the degree"));
    CHECK_THROWS_WITH(approx::inverse_sqrt_plan({.interval = {1.0, 2.0}, .degree = 0}),
                      Catch::Contains("degree 0"));
    CHECK_THROWS_WITH(
        approx::softmax_depth({.window = 8, .input_interval = {-4, 0}, .exp_degree = 5000}, 2048),
        Catch::Contains("degree 5000") && Catch::Contains("2047"));

    // Levels, checked before any work.
    const std::size_t depth = approx::inverse_depth({.interval = {1.0, 2.0}});
    CHECK_THROWS_AS(approx::inverse(f.evaluator, low, {.interval = {1.0, 2.0}}), LevelError);
    CHECK_THROWS_WITH(
        approx::inverse(f.evaluator, low, {.interval = {1.0, 2.0}}),
        Catch::Contains("needs " + std::to_string(depth) + " levels") && Catch::Contains("has 3"));
    CHECK_THROWS_AS(approx::inverse_sqrt(f.evaluator, low, {.interval = {1.0, 2.0}}), LevelError);
    CHECK_THROWS_AS(approx::sqrt(f.evaluator, low, {.interval = {1.0, 2.0}}), LevelError);
    CHECK_THROWS_WITH(
        approx::softmax(f.evaluator, low, {.window = 8, .input_interval = {-4.0, 0.0}}),
        Catch::Contains("needs") && Catch::Contains("has 3"));

    // Windows.
    CHECK_THROWS_WITH(approx::softmax(f.evaluator, cx, {.window = 6, .input_interval = {-4, 0}}),
                      Catch::Contains("window 6") && Catch::Contains("power of two"));
    CHECK_THROWS_WITH(approx::softmax(f.evaluator, cx, {.window = 4096, .input_interval = {-4, 0}}),
                      Catch::Contains("window 4096") && Catch::Contains("2048 slots"));
    CHECK_THROWS_AS(approx::softmax_rotations(0), InvalidArgumentError);
    CHECK(approx::softmax_rotations(8) == std::vector<std::int64_t>{-7, 1, 2, 4});

    // Target scale; keys.
    CHECK_THROWS_WITH(
        approx::inverse(f.evaluator, cx, {.interval = {1.0, 2.0}, .target_scale = -1.0}),
        Catch::Contains("target scale -1"));
    const ckks::Evaluator no_keys(f.context);
    CHECK_THROWS_AS(approx::inverse(no_keys, cx, {.interval = {1.0, 2.0}}), KeyMissingError);
    const ckks::Evaluator no_rotations(f.context, f.relin_key);
    CHECK_THROWS_AS(approx::softmax(no_rotations, cx, {.window = 8, .input_interval = {-4.0, 0.0}}),
                    KeyMissingError);
}
