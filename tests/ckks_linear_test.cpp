// Tests of encrypted linear algebra: plaintext matrix times encrypted vector
// (ckks/linear_transform.hpp) and encrypted matrix products, transposes and
// sums (ckks/matrix.hpp), at small insecure parameters for speed: N = 2^11,
// log_q {60, 40 x 4}, log_p {60}, scale 2^40. Precision is -log2(max abs
// error) against the plaintext result, printed and held to a floor.
#include <catch2/catch.hpp>

#include <cloak/ckks/encoder.hpp>
#include <cloak/ckks/encryptor.hpp>
#include <cloak/ckks/evaluator.hpp>
#include <cloak/ckks/keys.hpp>
#include <cloak/ckks/linear_transform.hpp>
#include <cloak/ckks/matrix.hpp>

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdint>
#include <map>
#include <random>
#include <thread>
#include <vector>

namespace {

using namespace cloak;

std::vector<std::int64_t> linear_steps() {
    std::vector<std::int64_t> steps;
    const auto add = [&](const std::vector<std::int64_t>& more) {
        steps.insert(steps.end(), more.begin(), more.end());
    };
    for (std::size_t n : {4, 16, 64}) {
        add(ckks::LinearTransform::rotations_for(n));
    }
    const std::vector<std::size_t> tridiagonal{0, 1, 63};
    add(ckks::LinearTransform::rotations_for(64, tridiagonal));
    for (std::size_t d : {4, 8}) {
        add(ckks::MatrixEvaluator::rotations(d));
    }
    add(ckks::replicate_rotations(64));
    std::sort(steps.begin(), steps.end());
    steps.erase(std::unique(steps.begin(), steps.end()), steps.end());
    return steps;
}

// One set of keys for the whole file: key generation is the slow part.
struct Fixture {
    ckks::Context context{
        ckks::Parameters::from({.log_n = 11,
                                .log_q = {60, 40, 40, 40, 40},
                                .log_p = {60},
                                .log_scale = 40,
                                .security = rlwe::Security::insecure_for_testing_only})};
    ckks::KeyGenerator keygen{context};
    ckks::PublicKey public_key = keygen.public_key();
    ckks::Encoder encoder{context};
    ckks::Encryptor encryptor{context, public_key};
    ckks::Decryptor decryptor{context, keygen.secret_key()};
    std::vector<std::int64_t> steps = linear_steps();
    ckks::GaloisKeys galois_keys = keygen.galois_keys(steps);
    ckks::Evaluator evaluator{context, keygen.relin_key(), galois_keys};
};

Fixture& fixture() {
    static Fixture f;
    return f;
}

std::vector<double> random_vector(std::size_t n, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> uniform(-1, 1);
    std::vector<double> v(n);
    for (double& x : v) {
        x = uniform(rng);
    }
    return v;
}

// y = M x for a row-major rows x cols matrix.
template <typename T>
std::vector<T> multiply(const std::vector<T>& m, std::size_t rows, std::size_t cols,
                        const std::vector<T>& x) {
    std::vector<T> y(rows);
    for (std::size_t i = 0; i < rows; ++i) {
        for (std::size_t j = 0; j < cols; ++j) {
            y[i] += m[i * cols + j] * x[j];
        }
    }
    return y;
}

ckks::Ciphertext encrypt(const std::vector<double>& values, std::size_t slots) {
    Fixture& f = fixture();
    return f.encryptor.encrypt(f.encoder.encode(values, {.slots = slots}));
}

std::vector<double> decrypt(const ckks::Ciphertext& c) {
    Fixture& f = fixture();
    return f.encoder.decode_real(f.decryptor.decrypt(c));
}

// Precision over the first expected.size() slots.
double precision(const ckks::Ciphertext& c, const std::vector<double>& expected) {
    std::vector<double> actual = decrypt(c);
    actual.resize(expected.size());
    return ckks::precision_bits(actual, expected);
}

}  // namespace

TEST_CASE("ckks/linear/matvec/logN=11 dense n = 4, 16, 64", "[ckks][linear]") {
    Fixture& f = fixture();
    // Measured over 15 runs: n = 4: 32.3-34.4, n = 16: 30.2-31.8, n = 64: 27.6-28.4 bits.
    const std::map<std::size_t, double> floors{{4, 29}, {16, 27}, {64, 25}};
    for (const auto& [n, floor] : floors) {
        const auto m = random_vector(n * n, 100 + n);
        const auto x = random_vector(n, 200 + n);
        const auto transform = ckks::LinearTransform::from_dense(f.context, n, m);
        REQUIRE(transform.dimension() == n);
        REQUIRE(transform.diagonals().size() == n);
        REQUIRE(transform.required_rotations() == ckks::LinearTransform::rotations_for(n));
        const ckks::Ciphertext cx = encrypt(x, n);
        const ckks::Ciphertext y = transform.apply(f.evaluator, cx);
        REQUIRE(cx.level() - y.level() == ckks::LinearTransform::levels_consumed());
        REQUIRE(y.scale() == Approx(cx.scale()).epsilon(1e-15));
        const double bits = precision(y, multiply(m, n, n, x));
        WARN("matvec n = " << n << " (n1 = " << transform.baby_steps() << ", "
                           << transform.rotation_count() << " rotations): " << bits << " bits");
        REQUIRE(bits >= floor);
        // The diagonals were encoded once, at the ciphertext's level.
        REQUIRE(transform.is_prepared(cx.level()));
        REQUIRE_FALSE(transform.is_prepared(cx.level() - 1));
    }
}

TEST_CASE("ckks/linear/matvec/logN=11 complex matrix, eager encoding, lower level",
          "[ckks][linear]") {
    Fixture& f = fixture();
    constexpr std::size_t n = 16;
    const auto re = random_vector(n * n, 1);
    const auto im = random_vector(n * n, 2);
    std::vector<std::complex<double>> m(n * n);
    for (std::size_t k = 0; k < m.size(); ++k) {
        m[k] = {re[k], im[k]};
    }
    const auto xr = random_vector(n, 3);
    const auto xi = random_vector(n, 4);
    std::vector<std::complex<double>> x(n);
    for (std::size_t k = 0; k < n; ++k) {
        x[k] = {xr[k], xi[k]};
    }
    const auto transform = ckks::LinearTransform::from_dense(f.context, n, m);
    transform.prepare(2);
    REQUIRE(transform.is_prepared(2));
    const ckks::Ciphertext cx =
        f.evaluator.drop_level_to(f.encryptor.encrypt(f.encoder.encode(x, {.slots = n})), 2);
    const ckks::Ciphertext y = transform.apply(f.evaluator, cx);
    REQUIRE(y.level() == 1);
    const double bits =
        ckks::precision_bits(f.encoder.decode(f.decryptor.decrypt(y)), multiply(m, n, n, x));
    WARN("complex matvec n = 16 at level 2: " << bits << " bits");
    REQUIRE(bits >= 26);  // measured 29.1-30.0
}

TEST_CASE("ckks/linear/matvec/logN=11 sparse diagonals and a callable", "[ckks][linear]") {
    Fixture& f = fixture();
    constexpr std::size_t n = 64;
    // A tridiagonal (cyclic) matrix: diagonals 0, 1 and -1 = 63.
    const auto d0 = random_vector(n, 5);
    const auto d1 = random_vector(n, 6);
    const auto dm = random_vector(n, 7);
    const auto transform = ckks::LinearTransform::from_diagonals(
        f.context, n, std::map<std::size_t, std::vector<double>>{{0, d0}, {1, d1}, {63, dm}});
    const std::vector<std::size_t> indices{0, 1, 63};
    REQUIRE(transform.required_rotations() == ckks::LinearTransform::rotations_for(n, indices));
    REQUIRE(transform.rotation_count() == 2);
    std::vector<double> m(n * n);
    for (std::size_t j = 0; j < n; ++j) {
        m[j * n + j] = d0[j];
        m[j * n + (j + 1) % n] = d1[j];
        m[j * n + (j + n - 1) % n] = dm[j];
    }
    const auto x = random_vector(n, 8);
    const ckks::Ciphertext cx = encrypt(x, n);
    const double bits = precision(transform.apply(f.evaluator, cx), multiply(m, n, n, x));
    WARN("tridiagonal matvec n = 64 (" << transform.rotation_count() << " rotations): " << bits
                                       << " bits");
    REQUIRE(bits >= 27);  // measured 29.9-30.6

    // The same matrix from a callable finds the same three diagonals.
    const auto from_callable = ckks::LinearTransform::from_function(
        f.context, n, n, [&](std::size_t i, std::size_t j) { return m[i * n + j]; });
    REQUIRE(from_callable.diagonals().size() == 3);
    REQUIRE(precision(from_callable.apply(f.evaluator, cx), multiply(m, n, n, x)) >= 27);
}

TEST_CASE("ckks/linear/matvec/logN=11 rectangular shapes pad to a power of two", "[ckks][linear]") {
    Fixture& f = fixture();
    for (const auto& [rows, cols] : {std::pair<std::size_t, std::size_t>{5, 12}, {12, 5}, {3, 3}}) {
        const auto m = random_vector(rows * cols, rows * 100 + cols);
        const auto x = random_vector(cols, cols);
        const auto transform = ckks::LinearTransform::from_dense(f.context, rows, cols, m);
        const std::size_t n = transform.dimension();
        REQUIRE(n == ckks::LinearTransform::dimension_for(rows, cols));
        REQUIRE(transform.rows() == rows);
        REQUIRE(transform.cols() == cols);
        const ckks::Ciphertext y = transform.apply(f.evaluator, encrypt(x, n));
        // The first `rows` slots hold M x, the padding rows hold zeros.
        std::vector<double> expected = multiply(m, rows, cols, x);
        expected.resize(n, 0.0);
        const double bits = precision(y, expected);
        WARN("rectangular " << rows << " x " << cols << " (padded to " << n << "): " << bits
                            << " bits");
        REQUIRE(bits >= 27);  // measured 30.4-34.5
    }
}

TEST_CASE("ckks/linear/matvec/logN=11 a vector repeated over more slots", "[ckks][linear]") {
    Fixture& f = fixture();
    constexpr std::size_t n = 16;
    constexpr std::size_t slots = 256;
    const auto m = random_vector(n * n, 9);
    const auto x = random_vector(n, 10);
    std::vector<double> repeated(slots);
    for (std::size_t j = 0; j < slots; ++j) {
        repeated[j] = x[j % n];
    }
    const auto transform = ckks::LinearTransform::from_dense(f.context, n, m);
    const ckks::Ciphertext y = transform.apply(f.evaluator, encrypt(repeated, slots));
    REQUIRE(y.slots() == slots);
    const auto mx = multiply(m, n, n, x);
    std::vector<double> expected(slots);
    for (std::size_t j = 0; j < slots; ++j) {
        expected[j] = mx[j % n];
    }
    const double bits = precision(y, expected);
    WARN("matvec n = 16 repeated over 256 slots: " << bits << " bits");
    REQUIRE(bits >= 25);  // measured 27.6-28.3
}

TEST_CASE("ckks/linear/errors name the shape, the step and the level", "[ckks][linear]") {
    Fixture& f = fixture();
    const std::size_t slots = f.context.slots();  // 1024
    // A matrix larger than the slots.
    const std::vector<double> big(2048 * 2, 0.5);
    REQUIRE_THROWS_AS(ckks::LinearTransform::from_dense(f.context, 2, 2048, big), ShapeError);
    REQUIRE_THROWS_WITH(ckks::LinearTransform::from_dense(f.context, 2, 2048, big),
                        Catch::Contains("n = 2048") && Catch::Contains("1024 slots"));
    REQUIRE_THROWS_AS(
        ckks::LinearTransform::from_function(f.context, slots * 2, slots * 2,
                                             [](std::size_t, std::size_t) { return 1.0; }),
        ShapeError);
    REQUIRE_THROWS_AS(ckks::LinearTransform::from_diagonals(
                          f.context, 2048, std::map<std::size_t, std::vector<double>>{}),
                      ShapeError);
    // Sizes that disagree, bad indices, non-powers of two.
    const std::vector<double> nine(9, 1.0);
    REQUIRE_THROWS_WITH(ckks::LinearTransform::from_dense(f.context, 4, nine),
                        Catch::Contains("9 values for a 4 x 4 matrix"));
    REQUIRE_THROWS_AS(ckks::LinearTransform::from_diagonals(
                          f.context, 6, std::map<std::size_t, std::vector<double>>{}),
                      InvalidArgumentError);
    REQUIRE_THROWS_WITH(
        ckks::LinearTransform::from_diagonals(
            f.context, 8, std::map<std::size_t, std::vector<double>>{{8, std::vector<double>(8)}}),
        Catch::Contains("diagonal index 8"));
    REQUIRE_THROWS_WITH(
        ckks::LinearTransform::from_diagonals(
            f.context, 8, std::map<std::size_t, std::vector<double>>{{1, std::vector<double>(7)}}),
        Catch::Contains("holds 7 values"));
    REQUIRE_THROWS_WITH(
        ckks::LinearTransform::from_dense(f.context, 4, random_vector(16, 1), {.baby_steps = 3}),
        Catch::Contains("baby_steps = 3"));
    std::vector<double> nan(16, 0.0);
    nan[6] = std::nan("");
    REQUIRE_THROWS_WITH(ckks::LinearTransform::from_dense(f.context, 4, nan),
                        Catch::Contains("entry (1, 2) is not finite"));

    const auto transform = ckks::LinearTransform::from_dense(f.context, 16, random_vector(256, 2));
    // A ciphertext with fewer slots than the transform.
    REQUIRE_THROWS_AS(transform.apply(f.evaluator, encrypt(random_vector(8, 3), 8)), ShapeError);
    REQUIRE_THROWS_WITH(transform.apply(f.evaluator, encrypt(random_vector(8, 3), 8)),
                        Catch::Contains("packs 8 slots") && Catch::Contains("n = 16"));
    // A ciphertext at level 0.
    const ckks::Ciphertext cx = encrypt(random_vector(16, 4), 16);
    REQUIRE_THROWS_AS(transform.apply(f.evaluator, f.evaluator.drop_level_to(cx, 0)), LevelError);
    REQUIRE_THROWS_WITH(transform.apply(f.evaluator, f.evaluator.drop_level_to(cx, 0)),
                        Catch::Contains("level 0"));
    REQUIRE_THROWS_AS(transform.prepare(0), LevelError);
    // A missing rotation key: the evaluator's KeyMissingError names the step.
    std::vector<std::int64_t> steps = transform.required_rotations();
    const std::int64_t missing = steps.back();
    steps.pop_back();
    const ckks::Evaluator partial(f.context, f.keygen.relin_key(), f.keygen.galois_keys(steps));
    REQUIRE_THROWS_AS(transform.apply(partial, cx), KeyMissingError);
    REQUIRE_THROWS_WITH(transform.apply(partial, cx),
                        Catch::Contains("rotation by " + std::to_string(missing)) &&
                            Catch::Contains("required_rotations"));
    // An evaluator of another context.
    const ckks::Context other(f.context.parameters());
    const ckks::Evaluator foreign(other);
    REQUIRE_THROWS_WITH(transform.apply(foreign, cx), Catch::Contains("another ckks::Context"));
}

namespace {

// Row-major d x d helpers for the matrix tests.
std::vector<double> matrix_product(const std::vector<double>& a, const std::vector<double>& b,
                                   std::size_t d) {
    std::vector<double> c(d * d);
    for (std::size_t i = 0; i < d; ++i) {
        for (std::size_t k = 0; k < d; ++k) {
            for (std::size_t j = 0; j < d; ++j) {
                c[i * d + j] += a[i * d + k] * b[k * d + j];
            }
        }
    }
    return c;
}

}  // namespace

TEST_CASE("ckks/linear/matmul/logN=11 JKLS product of 4 x 4 and 8 x 8 matrices", "[ckks][linear]") {
    Fixture& f = fixture();
    for (std::size_t d : {4, 8}) {
        const ckks::MatrixEvaluator matrices(f.context, d);
        REQUIRE(matrices.slots() == d * d);
        const auto a = random_vector(d * d, 300 + d);
        const auto b = random_vector(d * d, 400 + d);
        const ckks::Ciphertext ca = encrypt(a, d * d);
        const ckks::Ciphertext cb = encrypt(b, d * d);
        const ckks::Ciphertext c = matrices.multiply(f.evaluator, ca, cb);
        REQUIRE(ca.level() - c.level() == ckks::MatrixEvaluator::multiply_levels);
        const double bits = precision(c, matrix_product(a, b, d));
        WARN("JKLS product d = " << d << ": " << bits << " bits");
        REQUIRE(bits >= (d == 4 ? 27 : 25));  // measured d = 4: 29.8-31.2, d = 8: 28.1-29.0
        // Operands at different levels meet at the lower one.
        const ckks::Ciphertext lower = f.evaluator.drop_level_to(cb, ca.level() - 1);
        const ckks::Ciphertext c2 = matrices.multiply(f.evaluator, ca, lower);
        REQUIRE(c2.level() == lower.level() - ckks::MatrixEvaluator::multiply_levels);
        REQUIRE(precision(c2, matrix_product(a, b, d)) >= 25);
    }
}

TEST_CASE("ckks/linear/matrix/logN=11 sigma, tau, phi, psi permutations", "[ckks][linear]") {
    Fixture& f = fixture();
    constexpr std::size_t d = 8;
    const ckks::MatrixEvaluator matrices(f.context, d);
    const auto a = random_vector(d * d, 11);
    const ckks::Ciphertext ca = encrypt(a, d * d);
    std::vector<double> sigma(d * d), tau(d * d), phi3(d * d), psi5(d * d);
    for (std::size_t i = 0; i < d; ++i) {
        for (std::size_t j = 0; j < d; ++j) {
            sigma[i * d + j] = a[i * d + (i + j) % d];
            tau[i * d + j] = a[((i + j) % d) * d + j];
            phi3[i * d + j] = a[i * d + (j + 3) % d];
            psi5[i * d + j] = a[((i + 5) % d) * d + j];
        }
    }
    REQUIRE(precision(matrices.sigma().apply(f.evaluator, ca), sigma) >= 25);
    REQUIRE(precision(matrices.tau().apply(f.evaluator, ca), tau) >= 25);
    REQUIRE(precision(matrices.phi(3).apply(f.evaluator, ca), phi3) >= 25);
    REQUIRE(precision(matrices.psi(f.evaluator, ca, 5), psi5) >= 25);
    REQUIRE(matrices.sigma().diagonals().size() == 2 * d - 1);
    REQUIRE(matrices.tau().diagonals().size() == d);
    REQUIRE(matrices.phi(3).diagonals().size() == 2);
}

TEST_CASE("ckks/linear/matrix/logN=11 transpose, row and column sums", "[ckks][linear]") {
    Fixture& f = fixture();
    constexpr std::size_t d = 8;
    const ckks::MatrixEvaluator matrices(f.context, d);
    const auto a = random_vector(d * d, 12);
    const ckks::Ciphertext ca = encrypt(a, d * d);
    std::vector<double> transposed(d * d), rows(d * d), columns(d * d);
    for (std::size_t i = 0; i < d; ++i) {
        for (std::size_t j = 0; j < d; ++j) {
            transposed[i * d + j] = a[j * d + i];
            for (std::size_t k = 0; k < d; ++k) {
                rows[i * d + j] += a[i * d + k];
                columns[i * d + j] += a[k * d + j];
            }
        }
    }
    const ckks::Ciphertext t = matrices.transpose(f.evaluator, ca);
    REQUIRE(ca.level() - t.level() == ckks::MatrixEvaluator::transpose_levels);
    const double transpose_bits = precision(t, transposed);
    WARN("transpose d = 8: " << transpose_bits << " bits");
    REQUIRE(transpose_bits >= 26);  // measured 29.5-30.7

    // First-column layout: slot d i holds row i's sum, no level used.
    const ckks::Ciphertext r = matrices.row_sums(f.evaluator, ca);
    REQUIRE(r.level() == ca.level());
    const std::vector<double> r_slots = decrypt(r);
    std::vector<double> first_column(d), expected_first(d);
    for (std::size_t i = 0; i < d; ++i) {
        first_column[i] = r_slots[i * d];
        expected_first[i] = rows[i * d];
    }
    const double row_bits = ckks::precision_bits(first_column, expected_first);
    // Replicated layout: every slot of row i, one level.
    const ckks::Ciphertext rr = matrices.row_sums(f.evaluator, ca, ckks::RowSumLayout::replicated);
    REQUIRE(ca.level() - rr.level() ==
            ckks::MatrixEvaluator::row_sums_levels(ckks::RowSumLayout::replicated));
    const double replicated_bits = precision(rr, rows);
    const ckks::Ciphertext c = matrices.column_sums(f.evaluator, ca);
    REQUIRE(c.level() == ca.level());
    const double column_bits = precision(c, columns);
    WARN("row sums d = 8: " << row_bits << " bits (first column), " << replicated_bits
                            << " bits (replicated); column sums: " << column_bits << " bits");
    // Measured 28.7-30.1 (first column), 29.0-29.3 (replicated), 28.5-29.3 (columns).
    REQUIRE(row_bits >= 25);
    REQUIRE(replicated_bits >= 25);
    REQUIRE(column_bits >= 25);
}

TEST_CASE("ckks/linear/replicate/logN=11 one slot over a window", "[ckks][linear]") {
    Fixture& f = fixture();
    constexpr std::size_t slots = 64;
    const auto x = random_vector(slots, 13);
    const ckks::Ciphertext cx = encrypt(x, slots);
    for (const auto& [index, window] :
         {std::pair<std::size_t, std::size_t>{5, 16}, {60, 8}, {17, 64}, {3, 1}}) {
        const ckks::Ciphertext r = ckks::replicate(f.evaluator, cx, index, window);
        REQUIRE(cx.level() - r.level() == ckks::replicate_levels);
        REQUIRE(r.scale() == Approx(cx.scale()).epsilon(1e-15));
        std::vector<double> expected(slots, 0.0);
        for (std::size_t k = 0; k < window; ++k) {
            expected[(index + k) % slots] = x[index];
        }
        const double bits = precision(r, expected);
        WARN("replicate slot " << index << " over " << window << " slots: " << bits << " bits");
        REQUIRE(bits >= 24);  // measured 26.8 (window 64) to 32.7 (window 1)
    }
}

TEST_CASE("ckks/linear/matrix errors name the shape, the step and the level", "[ckks][linear]") {
    Fixture& f = fixture();
    REQUIRE_THROWS_AS(ckks::MatrixEvaluator(f.context, 6), InvalidArgumentError);
    REQUIRE_THROWS_AS(ckks::MatrixEvaluator(f.context, 64), ShapeError);
    REQUIRE_THROWS_WITH(ckks::MatrixEvaluator(f.context, 64),
                        Catch::Contains("d^2 = 4096") && Catch::Contains("1024 slots"));
    const ckks::MatrixEvaluator matrices(f.context, 4);
    REQUIRE_THROWS_AS(matrices.phi(4), InvalidArgumentError);
    const ckks::Ciphertext ca = encrypt(random_vector(16, 14), 16);
    // Too few slots.
    REQUIRE_THROWS_WITH(matrices.transpose(f.evaluator, encrypt(random_vector(8, 15), 8)),
                        Catch::Contains("packs 8 slots") && Catch::Contains("d^2 = 16"));
    // Too few levels for a product.
    const ckks::Ciphertext low = f.evaluator.drop_level_to(ca, 2);
    REQUIRE_THROWS_AS(matrices.multiply(f.evaluator, low, ca), LevelError);
    REQUIRE_THROWS_WITH(matrices.multiply(f.evaluator, low, ca),
                        Catch::Contains("level 2") && Catch::Contains("consumes 3"));
    REQUIRE_THROWS_AS(ckks::replicate(f.evaluator, f.evaluator.drop_level_to(ca, 0), 1, 4),
                      LevelError);
    REQUIRE_THROWS_WITH(ckks::replicate(f.evaluator, ca, 16, 4), Catch::Contains("slot 16 of 16"));
    REQUIRE_THROWS_WITH(ckks::replicate(f.evaluator, ca, 1, 32), Catch::Contains("window 32"));
    // A missing key: the product names the step.
    std::vector<std::int64_t> steps = ckks::MatrixEvaluator::multiply_rotations(4);
    const std::int64_t missing = steps.back();
    steps.pop_back();
    const ckks::Evaluator partial(f.context, f.keygen.relin_key(), f.keygen.galois_keys(steps));
    REQUIRE_THROWS_AS(matrices.multiply(partial, ca, ca), KeyMissingError);
    REQUIRE_THROWS_WITH(matrices.multiply(partial, ca, ca),
                        Catch::Contains("rotation by " + std::to_string(missing)));
}

TEST_CASE("ckks/linear/logN=11 automatic scale mode and concurrent lazy encoding",
          "[ckks][linear]") {
    Fixture& f = fixture();
    const ckks::Evaluator automatic(f.context, f.keygen.relin_key(), f.galois_keys,
                                    ckks::ScaleMode::automatic);
    constexpr std::size_t d = 4;
    constexpr std::size_t n = d * d;
    const auto m = random_vector(n * n, 15);
    const auto x = random_vector(n, 16);
    const auto y = random_vector(n, 17);
    std::vector<double> xy(n);
    for (std::size_t i = 0; i < n; ++i) {
        xy[i] = x[i] * y[i];
    }
    const ckks::Ciphertext cx = encrypt(x, n);
    const ckks::Ciphertext cy = encrypt(y, n);
    // A product awaiting its rescale is rescaled first, then transformed.
    const ckks::Ciphertext product = automatic.multiply(cx, cy);
    const auto transform = ckks::LinearTransform::from_dense(f.context, n, m);
    const ckks::Ciphertext z = transform.apply(automatic, product);
    REQUIRE(z.level() == cx.level() - 2);
    REQUIRE(precision(z, multiply(m, n, n, xy)) >= 24);
    // The matrix product in automatic mode lands at the same level as in manual mode.
    const ckks::MatrixEvaluator matrices(f.context, d);
    const ckks::Ciphertext c = matrices.multiply(automatic, cx, cy);
    REQUIRE(c.level() == cx.level() - ckks::MatrixEvaluator::multiply_levels);
    REQUIRE(precision(c, matrix_product(x, y, d)) >= 24);

    // Threads applying one transform encode its diagonals once and agree.
    const auto shared = ckks::LinearTransform::from_dense(f.context, n, m);
    std::vector<ckks::Ciphertext> results(4);
    std::vector<std::thread> threads;
    for (std::size_t t = 0; t < results.size(); ++t) {
        threads.emplace_back([&, t] { results[t] = shared.apply(f.evaluator, cx); });
    }
    for (std::thread& thread : threads) {
        thread.join();
    }
    for (const ckks::Ciphertext& r : results) {
        REQUIRE(r[0] == results[0][0]);
        REQUIRE(r[1] == results[0][1]);
    }
    REQUIRE(precision(results[0], multiply(m, n, n, x)) >= 25);
}
