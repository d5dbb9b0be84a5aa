// Tests of bootstrapping (boot/): the homomorphic FFT matrices against the
// encoder's special FFT in double, ModRaise exactly (the raised plaintext is
// m + q0 I with I small and integer), CoeffToSlot against the raised
// plaintext's coefficients, EvalMod on known values, the CoeffToSlot ->
// SlotToCoeff round trip, and the whole bootstrap (precision floor in bits,
// levels left). The insecure preset N = 2^12 (sparse secret h = 64) keeps the
// file in seconds; precision is printed.
#include <catch2/catch.hpp>

#include <cloak/boot/bootstrapper.hpp>
#include <cloak/boot/dft.hpp>
#include <cloak/boot/parameters.hpp>
#include <cloak/ckks/encoder.hpp>
#include <cloak/ckks/encryptor.hpp>
#include <cloak/ckks/evaluator.hpp>
#include <cloak/ckks/keys.hpp>
#include <cloak/core/bits.hpp>
#include <cloak/core/modarith.hpp>
#include <cloak/ring/special_fft.hpp>

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdint>
#include <numbers>
#include <random>
#include <vector>

namespace {

using namespace cloak;

struct BootFixture {
    boot::Parameters params = boot::Parameters::preset(boot::Preset::N12_insecure);
    ckks::Context context{params.ckks()};
    ckks::KeyGenerator keygen{context};
    ckks::Encoder encoder{context};
    ckks::Encryptor encryptor{context, keygen.secret_key()};
    ckks::Decryptor decryptor{context, keygen.secret_key()};
    boot::Bootstrapper bootstrapper{context, keygen, params};
};

BootFixture& boot_fixture() {
    static BootFixture f;
    return f;
}

// A dense uniform ternary secret at N = 2^12 (insecure size), bootstrapped
// through sparse-secret encapsulation, as the secure N = 2^16 preset is.
struct DenseBootFixture {
    boot::Parameters params =
        boot::Parameters::from({.log_n = 12,
                                .log_q0 = 48,
                                .log_q_user = {40, 40},
                                .log_p = {61, 61, 61, 61},
                                .log_scale = 40,
                                .security = rlwe::Security::insecure_for_testing_only});
    ckks::Context context{params.ckks()};
    ckks::KeyGenerator keygen{context};
    ckks::Encoder encoder{context};
    ckks::Encryptor encryptor{context, keygen.secret_key()};
    ckks::Decryptor decryptor{context, keygen.secret_key()};
    boot::Bootstrapper bootstrapper{context, keygen, params};
};

DenseBootFixture& dense_boot_fixture() {
    static DenseBootFixture f;
    return f;
}

std::vector<double> uniform_values(std::size_t n, double lo, double hi, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> uniform(lo, hi);
    std::vector<double> v(n);
    for (double& x : v)
        x = uniform(rng);
    return v;
}

std::vector<std::complex<double>> complex_values(std::size_t n, std::uint64_t seed) {
    const std::vector<double> re = uniform_values(n, -1, 1, seed);
    const std::vector<double> im = uniform_values(n, -1, 1, seed + 1);
    std::vector<std::complex<double>> v(n);
    for (std::size_t i = 0; i < n; ++i)
        v[i] = {re[i], im[i]};
    return v;
}

// The plaintext polynomial's centered coefficients times `factor`.
std::vector<double> coefficients(const BootFixture& f, const ckks::Plaintext& pt, double factor) {
    ring::Poly poly = pt.poly();
    poly.to_coefficient();
    const std::size_t n = f.context.degree();
    std::vector<double> out(n);
    f.context.level(pt.level()).crt->compose_centered(poly.data(), n, factor, out);
    return out;
}

std::size_t bit_reverse(std::size_t k, std::size_t n) {
    return static_cast<std::size_t>(core::reverse_bits(k, core::log2_floor(n)));
}

struct Precision {
    double min_bits;
    double mean_bits;
};

template <typename T>
Precision precision(const std::vector<T>& actual, const std::vector<T>& expected) {
    double worst = 0, sum = 0;
    for (std::size_t i = 0; i < actual.size(); ++i) {
        const double e = std::abs(actual[i] - expected[i]);
        worst = std::max(worst, e);
        sum += e;
    }
    return {-std::log2(worst), -std::log2(sum / static_cast<double>(actual.size()))};
}

}  // namespace

TEST_CASE("boot/dft: the factored special FFT equals the encoder's, n = 2 .. 2048", "[boot]") {
    const ring::SpecialFft fft(4096);
    for (std::size_t n : {2u, 8u, 64u, 2048u}) {
        const std::size_t stages = static_cast<std::size_t>(core::log2_floor(n));
        for (std::size_t levels = 1; levels <= std::min<std::size_t>(stages, 4); ++levels) {
            const std::vector<std::complex<double>> c = complex_values(n, 7 * n + levels);
            std::vector<std::complex<double>> z = c;
            fft.embed(z);
            // CoeffToSlot: embed(c) -> 0.5 c, bit-reversed.
            const auto cts = boot::coeffs_to_slots_matrices(n, levels, 0.5);
            REQUIRE(cts.size() == levels);
            const auto u = boot::apply_slot_matrices(cts, z);
            double err = 0;
            for (std::size_t k = 0; k < n; ++k)
                err = std::max(err, std::abs(u[k] - 0.5 * c[bit_reverse(k, n)]));
            CHECK(err < 1e-12);
            // SlotToCoeff: bit-reversed c -> 3 embed(c).
            std::vector<std::complex<double>> reversed(n);
            for (std::size_t k = 0; k < n; ++k)
                reversed[k] = c[bit_reverse(k, n)];
            const auto stc = boot::slots_to_coeffs_matrices(n, levels, 3.0);
            const auto w = boot::apply_slot_matrices(stc, reversed);
            err = 0;
            for (std::size_t k = 0; k < n; ++k)
                err = std::max(err, std::abs(w[k] - 3.0 * z[k]));
            CHECK(err < 1e-10 * std::sqrt(static_cast<double>(n)));
            // At most 2^(k+1) - 1 diagonals for a group of k stages.
            for (const auto& m : cts)
                CHECK(m.size() <= 2 * n);
        }
    }
}

TEST_CASE("boot/parameters: the N12 preset's chain and levels", "[boot]") {
    const boot::Parameters p = boot::Parameters::preset(boot::Preset::N12_insecure);
    CHECK(p.ckks().log_n() == 12);
    CHECK(p.slots() == 2048);
    CHECK(p.cosine_levels() == 8);  // degree 191
    CHECK(p.eval_mod_levels() == 8 + 0 + 2);
    CHECK(p.bootstrapping_levels() == 3 + 10 + 3);
    CHECK(p.encapsulation_hamming_weight() == 0);  // the secret is already sparse
    CHECK(p.ckks().max_level() == p.output_level() + p.bootstrapping_levels());
    CHECK(p.output_level() == 3);
    CHECK_THROWS_AS(boot::Parameters::from({.log_n = 12,
                                            .log_q0 = 55,
                                            .log_q_user = {},
                                            .log_p = {61},
                                            .log_scale = 40,
                                            .security = rlwe::Security::insecure_for_testing_only}),
                    ParameterError);
}

TEST_CASE("boot/mod_raise: the raised plaintext is m + q0 I, I small and integer", "[boot]") {
    BootFixture& f = boot_fixture();
    const std::vector<double> x = uniform_values(f.context.slots(), -1, 1, 11);
    const ckks::Ciphertext ct = f.encryptor.encrypt(f.encoder.encode(x, {.level = 0}));
    const ckks::Ciphertext raised = f.bootstrapper.mod_raise(ct);
    REQUIRE(raised.level() == f.context.max_level());

    ring::Poly m = f.decryptor.decrypt(ct).poly();
    m.to_coefficient();
    ring::Poly big = f.decryptor.decrypt(raised).poly();
    big.to_coefficient();
    const std::uint64_t q0 = f.context.parameters().q_primes()[0];
    const std::size_t n = f.context.degree();
    std::int64_t largest = 0;
    bool exact = true;
    for (std::size_t k = 0; k < n; ++k) {
        const std::uint64_t r = m.limb(0)[k];
        const std::int64_t centered =
            r > q0 / 2 ? -static_cast<std::int64_t>(q0 - r) : static_cast<std::int64_t>(r);
        const auto residue = [](std::int64_t v, const core::Modulus& q) {
            const auto qv = static_cast<std::int64_t>(q.value());
            return static_cast<std::uint64_t>(((v % qv) + qv) % qv);
        };
        // Find I from limb 1, then check every limb.
        std::int64_t found = 1000;
        for (std::int64_t i = -64; i <= 64 && found == 1000; ++i) {
            const core::Modulus& q1 = big.modulus(1);
            const std::uint64_t expected =
                (residue(centered, q1) + core::mul_mod(q1.reduce(q0), residue(i, q1), q1)) %
                q1.value();
            if (expected == big.limb(1)[k])
                found = i;
        }
        REQUIRE(found != 1000);
        largest = std::max(largest, std::abs(found));
        for (std::size_t j = 0; j < big.limbs(); ++j) {
            const core::Modulus& q = big.modulus(j);
            const std::uint64_t expected =
                (residue(centered, q) + core::mul_mod(q.reduce(q0), residue(found, q), q)) %
                q.value();
            exact = exact && expected == big.limb(j)[k];
        }
    }
    CHECK(exact);
    UNSCOPED_INFO("largest |I| = " << largest);
    CHECK(static_cast<double>(largest) < f.params.k());
    WARN("boot/mod_raise N=2^12 h=64: largest |I| = " << largest << " (K = " << f.params.k()
                                                      << ")");
}

TEST_CASE("boot/coeffs_to_slots: slots hold the raised coefficients / (q0 K)", "[boot]") {
    BootFixture& f = boot_fixture();
    const std::vector<double> x = uniform_values(f.context.slots(), -1, 1, 12);
    const ckks::Ciphertext raised =
        f.bootstrapper.mod_raise(f.encryptor.encrypt(f.encoder.encode(x, {.level = 0})));
    const double q0 = static_cast<double>(f.context.parameters().q_primes()[0]);
    const std::vector<double> expected =
        coefficients(f, f.decryptor.decrypt(raised), 1.0 / (q0 * f.params.k()));

    const boot::SlotHalves halves = f.bootstrapper.coeffs_to_slots(raised);
    CHECK(halves.re.level() == f.context.max_level() - f.params.coeffs_to_slots_levels());
    const std::size_t n = f.context.slots();
    const auto re = f.encoder.decode(f.decryptor.decrypt(halves.re));
    const auto im = f.encoder.decode(f.decryptor.decrypt(halves.im));
    std::vector<std::complex<double>> actual, wanted;
    for (std::size_t k = 0; k < n; ++k) {
        actual.push_back(re[k]);
        wanted.push_back(expected[bit_reverse(k, n)]);
        actual.push_back(im[k]);
        wanted.push_back(expected[bit_reverse(k, n) + n]);
    }
    const Precision p = precision(actual, wanted);
    WARN("boot/coeffs_to_slots N=2^12: " << p.min_bits << " bits min, " << p.mean_bits
                                         << " bits mean (values in [-1, 1])");
    CHECK(p.min_bits > 30);
}

TEST_CASE("boot/eval_mod: 6 sin(2 pi K y) + sin^3 on y = (I + small) / K", "[boot]") {
    BootFixture& f = boot_fixture();
    const std::size_t n = f.context.slots();
    const double k = f.params.k();
    std::mt19937_64 rng(13);
    std::uniform_int_distribution<int> integer(-static_cast<int>(k) + 1, static_cast<int>(k) - 1);
    std::uniform_real_distribution<double> small(-0.01, 0.01);
    std::vector<double> y(n), expected(n);
    for (std::size_t i = 0; i < n; ++i) {
        y[i] = (integer(rng) + small(rng)) / k;
        expected[i] = f.bootstrapper.eval_mod_function(y[i]);
    }
    const std::size_t level = f.context.max_level() - f.params.coeffs_to_slots_levels();
    const ckks::Ciphertext ct = f.encryptor.encrypt(
        f.encoder.encode(y, {.level = level, .scale = f.params.circuit_scale()}));
    const ckks::Ciphertext out = f.bootstrapper.eval_mod(ct);
    CHECK(out.level() == level - f.params.eval_mod_levels());
    CHECK(std::fabs(out.scale() / f.params.circuit_scale() - 1) < 1e-2);
    const std::vector<double> actual = f.encoder.decode_real(f.decryptor.decrypt(out));
    const Precision p = precision(actual, expected);
    WARN("boot/eval_mod N=2^12 K=" << k << ": " << p.min_bits << " bits min, " << p.mean_bits
                                   << " bits mean");
    CHECK(p.min_bits > 30);
}

TEST_CASE("boot/round trip: SlotToCoeff undoes CoeffToSlot", "[boot]") {
    BootFixture& f = boot_fixture();
    const std::vector<std::complex<double>> z = complex_values(f.context.slots(), 14);
    const ckks::Ciphertext ct = f.encryptor.encrypt(f.encoder.encode(z));
    boot::SlotHalves halves = f.bootstrapper.coeffs_to_slots(ct);
    const std::size_t stc_level = f.params.output_level() + f.params.slots_to_coeffs_levels();
    halves.re = f.bootstrapper.evaluator().drop_level_to(halves.re, stc_level);
    halves.im = f.bootstrapper.evaluator().drop_level_to(halves.im, stc_level);
    // CoeffToSlot leaves P / (q0 K), SlotToCoeff multiplies by q0 / (2 pi g), g the
    // EvalMod gain: a label of scale / (2 pi K g) decodes to z.
    const double gain = f.bootstrapper.eval_mod_gain();
    const ckks::Ciphertext back = f.bootstrapper.slots_to_coeffs(
        halves, ct.scale() / (2 * std::numbers::pi * f.params.k() * gain));
    CHECK(back.level() == f.params.output_level());
    const auto actual = f.encoder.decode(f.decryptor.decrypt(back));
    const Precision p = precision(actual, z);
    WARN("boot/round trip N=2^12: " << p.min_bits << " bits min, " << p.mean_bits << " bits mean");
    // The label divides by 2 pi K g, which multiplies SlotToCoeff's noise (about 2^-45 of
    // the circuit scale) by q0 K 2 pi g / scale, about 2^20: 18 bits seen.
    CHECK(p.min_bits > 15);
}

TEST_CASE("boot/bootstrap: N=2^12, 2048 slots, h=64, values in [-1, 1]", "[boot]") {
    BootFixture& f = boot_fixture();
    const boot::KeyReport& keys = f.bootstrapper.keys();
    WARN("boot keys N=2^12: " << keys.rotation_keys << " rotations + " << keys.conjugation_keys
                              << " conjugation, " << keys.bytes / 1048576.0 << " MiB, "
                              << keys.seconds << " s");
    const std::vector<double> x = uniform_values(f.context.slots(), -1, 1, 15);
    const ckks::Ciphertext ct = f.encryptor.encrypt(f.encoder.encode(x, {.level = 0}));
    const ckks::Ciphertext out = f.bootstrapper.bootstrap(ct);
    CHECK(out.level() == f.params.output_level());
    CHECK(out.level() == 3);
    CHECK(out.scale() == ct.scale());  // exactly: Meta-BTS subtracts them
    const std::vector<double> actual = f.encoder.decode_real(f.decryptor.decrypt(out));
    const Precision p = precision(actual, x);
    WARN("boot/bootstrap N=2^12: " << p.min_bits << " bits min, " << p.mean_bits
                                   << " bits mean, level " << out.level());
    CHECK(p.min_bits > 24);
    CHECK(p.mean_bits > 26);

    // Complex values come back too.
    const std::vector<std::complex<double>> z = complex_values(f.context.slots(), 16);
    const ckks::Ciphertext out2 =
        f.bootstrapper.bootstrap(f.encryptor.encrypt(f.encoder.encode(z, {.level = 0})));
    const Precision pz = precision(f.encoder.decode(f.decryptor.decrypt(out2)), z);
    WARN("boot/bootstrap complex N=2^12: " << pz.min_bits << " bits min, " << pz.mean_bits
                                           << " bits mean");
    CHECK(pz.min_bits > 24);
}

TEST_CASE("boot/chain: bootstrap, square, bootstrap again", "[boot]") {
    BootFixture& f = boot_fixture();
    const ckks::Evaluator& eval = f.bootstrapper.evaluator();
    const std::vector<double> x = uniform_values(f.context.slots(), -1, 1, 17);
    ckks::Ciphertext ct =
        f.bootstrapper.bootstrap(f.encryptor.encrypt(f.encoder.encode(x, {.level = 0})));
    ct = eval.rescale(eval.square(ct));
    ct = f.bootstrapper.bootstrap(eval.drop_level_to(ct, 0));
    CHECK(ct.level() == f.params.output_level());
    ct = eval.rescale(eval.square(ct));
    std::vector<double> expected(x.size());
    for (std::size_t i = 0; i < x.size(); ++i)
        expected[i] = std::pow(x[i], 4);
    const Precision p = precision(f.encoder.decode_real(f.decryptor.decrypt(ct)), expected);
    WARN("boot/chain N=2^12 (x^4 through two bootstraps): " << p.min_bits << " bits min, "
                                                            << p.mean_bits << " bits mean");
    CHECK(p.min_bits > 22);
}

TEST_CASE("boot/errors: wrong level, wrong slots, another context", "[boot]") {
    BootFixture& f = boot_fixture();
    const ckks::Ciphertext top = f.encryptor.encrypt(f.encoder.encode(0.5));
    CHECK_THROWS_AS(f.bootstrapper.mod_raise(top), LevelError);
    const ckks::Ciphertext sparse =
        f.encryptor.encrypt(f.encoder.encode(std::vector<double>{0.5, 0.25}, {.slots = 2}));
    CHECK_THROWS_AS(f.bootstrapper.bootstrap(sparse), InvalidArgumentError);
    const ckks::Ciphertext zero_level = f.encryptor.encrypt(f.encoder.encode(0.5, {.level = 0}));
    CHECK_THROWS_AS(f.bootstrapper.coeffs_to_slots(zero_level), LevelError);
    CHECK_THROWS_AS(f.bootstrapper.eval_mod(zero_level), LevelError);
}

TEST_CASE("boot/parameters: the secure N16 preset", "[boot]") {
    const boot::Parameters p = boot::Parameters::preset(boot::Preset::N16_dense);
    CHECK(p.ckks().log_n() == 16);
    CHECK(p.slots() == 32768);
    CHECK(p.ckks().secret_distribution() == ckks::SecretDistribution::uniform_ternary);
    CHECK(p.ckks().security() == rlwe::Security::classical128);
    CHECK(p.ckks().log_qp() <= 1747.0);
    CHECK(p.output_level() == 9);
    CHECK(p.encapsulation_hamming_weight() == 32);
    CHECK(p.ckks().max_level() == 9 + 16);
    // Every special prime is below 2^50 (IFMA kernels), every digit below P.
    for (std::uint64_t prime : p.ckks().p_primes())
        CHECK(prime < (std::uint64_t{1} << 50));
    CHECK(p.ckks().dnum() == 4);
    CHECK(p.overflow_bound() < p.k());
}

TEST_CASE("boot/parameters: K must cover the ModRaise overflow", "[boot]") {
    // A dense secret at N = 2^12 raised without encapsulation: I has deviation
    // sqrt(2730 / 12) = 15, far beyond K = 16.
    const boot::ParametersLiteral dense_without = {
        .log_n = 12,
        .log_q0 = 48,
        .log_q_user = {40},
        .log_p = {61, 61, 61, 61},
        .log_scale = 40,
        .security = rlwe::Security::insecure_for_testing_only,
        .encapsulation_hamming_weight = 0};
    try {
        (void)boot::Parameters::from(dense_without);
        FAIL("no ParameterError");
    } catch (const ParameterError& e) {
        const std::string what = e.what();
        CHECK(what.find("K = 16") != std::string::npos);
        CHECK(what.find("overflow bound of about 91") != std::string::npos);
        CHECK(what.find("encapsulation") != std::string::npos);
    }
    boot::ParametersLiteral sparse_192 = dense_without;
    sparse_192.secret = ckks::SecretDistribution::sparse_ternary;
    sparse_192.hamming_weight = 192;  // 6 sqrt(16) + 1/2 = 24.5 > 16
    CHECK_THROWS_AS(boot::Parameters::from(sparse_192), ParameterError);
    sparse_192.k = 25;
    CHECK(boot::Parameters::from(sparse_192).k() == 25);
}

TEST_CASE("boot/encapsulation: a dense secret bootstraps through a sparse one", "[boot]") {
    DenseBootFixture& f = dense_boot_fixture();
    CHECK(f.params.encapsulation_hamming_weight() == 32);
    CHECK(f.bootstrapper.keys().encapsulation_keys == 2);
    const std::vector<std::complex<double>> z = complex_values(f.context.slots(), 21);
    const ckks::Ciphertext ct = f.encryptor.encrypt(f.encoder.encode(z, {.level = 0}));

    // ModRaise through s' leaves m + q0 I with |I| <= 16 (the sparse bound), where
    // a raise under the dense secret itself would reach about 6 * 15.
    const ckks::Ciphertext raised = f.bootstrapper.mod_raise_encapsulated(ct);
    REQUIRE(raised.level() == f.context.max_level());
    ring::Poly m = f.decryptor.decrypt(ct).poly();
    m.to_coefficient();
    ckks::Ciphertext two_limbs = f.bootstrapper.evaluator().drop_level_to(raised, 1);
    ring::Poly big = f.decryptor.decrypt(two_limbs).poly();
    big.to_coefficient();
    const std::uint64_t q0 = f.context.parameters().q_primes()[0];
    const core::Modulus& q1 = big.modulus(1);
    std::int64_t largest = 0;
    bool found_all = true;
    for (std::size_t k = 0; k < f.context.degree(); ++k) {
        // big = m + q0 I + e (e the switching noise, small): I from limb 1 within +-40.
        const std::uint64_t r = m.limb(0)[k];
        const std::int64_t centered =
            r > q0 / 2 ? -static_cast<std::int64_t>(q0 - r) : static_cast<std::int64_t>(r);
        bool found = false;
        for (std::int64_t i = -40; i <= 40 && !found; ++i) {
            const auto residue = [&](std::int64_t v) {
                const auto qv = static_cast<std::int64_t>(q1.value());
                return static_cast<std::uint64_t>(((v % qv) + qv) % qv);
            };
            const std::uint64_t expected =
                (residue(centered) + core::mul_mod(q1.reduce(q0), residue(i), q1)) % q1.value();
            const std::uint64_t got = big.limb(1)[k];
            const std::uint64_t diff = got >= expected ? got - expected : expected - got;
            if (std::min(diff, q1.value() - diff) < (std::uint64_t{1} << 20)) {
                found = true;
                largest = std::max(largest, i < 0 ? -i : i);
            }
        }
        found_all = found_all && found;
    }
    CHECK(found_all);
    CHECK(largest <= 16);
    CHECK(largest >= 1);

    const ckks::Ciphertext out = f.bootstrapper.bootstrap(ct);
    CHECK(out.level() == f.params.output_level());
    const Precision p = precision(f.encoder.decode(f.decryptor.decrypt(out)), z);
    WARN("boot/encapsulation N=2^12 dense: " << p.min_bits << " bits min, " << p.mean_bits
                                             << " bits mean, |I| <= " << largest);
    CHECK(p.min_bits > 24);
    CHECK(p.mean_bits > 26);
}

TEST_CASE("boot/meta-bts: two iterations about double the precision", "[boot]") {
    DenseBootFixture& f = dense_boot_fixture();
    const std::vector<std::complex<double>> z = complex_values(f.context.slots(), 23);
    const ckks::Ciphertext ct = f.encryptor.encrypt(f.encoder.encode(z, {.level = 0}));
    // Against the input's own decryption: Meta-BTS removes the bootstrapping error,
    // not the input's encryption noise.
    const std::vector<std::complex<double>> input = f.encoder.decode(f.decryptor.decrypt(ct));
    const ckks::Ciphertext once = f.bootstrapper.bootstrap(ct, 1);
    const ckks::Ciphertext twice = f.bootstrapper.bootstrap(ct, 2);
    CHECK(twice.level() == f.params.output_level());
    CHECK(twice.scale() == Approx(ct.scale() * std::exp2(boot::default_meta_gain_bits)));
    const Precision p1 = precision(f.encoder.decode(f.decryptor.decrypt(once)), input);
    const Precision p2 = precision(f.encoder.decode(f.decryptor.decrypt(twice)), input);
    WARN("boot/meta-bts N=2^12 dense: 1 iteration "
         << p1.min_bits << " / " << p1.mean_bits << " bits, 2 iterations " << p2.min_bits << " / "
         << p2.mean_bits << " (min / mean)");
    CHECK(p2.min_bits > p1.min_bits + 12);
    CHECK(p2.mean_bits > 40);
    CHECK_THROWS_AS(f.bootstrapper.bootstrap(ct, 3), InvalidArgumentError);
    CHECK_THROWS_AS(f.bootstrapper.bootstrap(ct, 2, 40), InvalidArgumentError);
}

TEST_CASE("boot/bootstrap: a constant message (one large coefficient)", "[boot]") {
    // Every slot 0.9: the plaintext has a single coefficient 0.9 scale, the worst
    // case for EvalMod's sine (m / q0 = 0.9 / 2^8), which the arcsine correction fixes.
    DenseBootFixture& f = dense_boot_fixture();
    const std::vector<double> x(f.context.slots(), 0.9);
    const ckks::Ciphertext out =
        f.bootstrapper.bootstrap(f.encryptor.encrypt(f.encoder.encode(x, {.level = 0})));
    const Precision p = precision(f.encoder.decode_real(f.decryptor.decrypt(out)), x);
    WARN("boot/bootstrap constant 0.9 N=2^12 dense: " << p.min_bits << " bits min");
    CHECK(p.min_bits > 21);
}

TEST_CASE("boot/bootstrap: N=2^16 secure preset, dense secret, full slots", "[boot][large]") {
    const boot::Parameters params = boot::Parameters::preset(boot::Preset::N16_dense);
    const ckks::Context context(params.ckks());
    const ckks::KeyGenerator keygen(context);
    const boot::Bootstrapper bootstrapper(context, keygen, params);
    const ckks::Encoder encoder(context);
    const ckks::Encryptor encryptor(context, keygen.secret_key());
    const ckks::Decryptor decryptor(context, keygen.secret_key());
    const std::vector<std::complex<double>> z = complex_values(context.slots(), 25);
    const ckks::Ciphertext ct = encryptor.encrypt(encoder.encode(z, {.level = 0}));
    const ckks::Ciphertext out = bootstrapper.bootstrap(ct);
    CHECK(out.level() == 9);
    const Precision p = precision(encoder.decode(decryptor.decrypt(out)), z);
    WARN("boot/bootstrap N=2^16 dense: " << p.min_bits << " bits min, " << p.mean_bits
                                         << " bits mean");
    CHECK(p.min_bits > 21);
    CHECK(p.mean_bits > 24);
}

TEST_CASE("boot/sparse: 256 and 1024 of 2048 slots, one EvalMod on both halves", "[boot]") {
    BootFixture& f = boot_fixture();
    for (const std::size_t n : {std::size_t{256}, std::size_t{1024}}) {
        const boot::Parameters params = boot::Parameters::preset(boot::Preset::N12_insecure, n);
        REQUIRE(params.ckks() == f.params.ckks());  // same chain: the same context serves
        const boot::Bootstrapper sparse(f.context, f.keygen, params);
        // The trace's rotations n, 2n, ..., N/4 are among the keys.
        for (std::size_t step = n; step < f.context.slots(); step *= 2)
            CHECK(std::binary_search(sparse.rotations().begin(), sparse.rotations().end(),
                                     static_cast<std::int64_t>(step)));
        const std::vector<std::complex<double>> z = complex_values(n, 31 + n);
        const ckks::Ciphertext ct =
            f.encryptor.encrypt(f.encoder.encode(z, {.level = 0, .slots = n}));
        const boot::SlotHalves halves = sparse.coeffs_to_slots(sparse.mod_raise(ct));
        CHECK(halves.im.empty());
        CHECK(halves.re.slots() == 2 * n);
        const ckks::Ciphertext out = sparse.bootstrap(ct);
        CHECK(out.slots() == n);
        CHECK(out.level() == params.output_level());
        CHECK(out.scale() == ct.scale());  // exactly: Meta-BTS subtracts them
        const Precision p = precision(f.encoder.decode(f.decryptor.decrypt(out)), z);
        WARN("boot/sparse N=2^12, " << n << " slots: " << p.min_bits << " bits min, " << p.mean_bits
                                    << " bits mean");
        CHECK(p.min_bits > 25);
        CHECK(p.mean_bits > 27);
        // A full-slot ciphertext is not this bootstrapper's.
        const ckks::Ciphertext full = f.encryptor.encrypt(
            f.encoder.encode(complex_values(f.context.slots(), 3), {.level = 0}));
        CHECK_THROWS_AS(sparse.bootstrap(full), InvalidArgumentError);
    }
    CHECK_THROWS_AS(boot::Parameters::preset(boot::Preset::N12_insecure, 100), ParameterError);
    CHECK_THROWS_AS(boot::Parameters::preset(boot::Preset::N12_insecure, 4096), ParameterError);
    // 4 slots have 2 FFT stages: 3 + 3 levels do not fit.
    try {
        (void)boot::Parameters::preset(boot::Preset::N12_insecure, 4);
        FAIL("no ParameterError");
    } catch (const ParameterError& e) {
        CHECK(std::string(e.what()).find("use at most 2 levels") != std::string::npos);
    }
}

TEST_CASE("boot/dft: widened matrices act on both halves of 2n slots", "[boot]") {
    const std::size_t n = 8;
    std::vector<boot::SlotDiagonals> m = boot::coeffs_to_slots_matrices(n, 1, 1.0);
    const std::complex<double> i(0.0, 1.0);
    const boot::SlotDiagonals wide = boot::widen(m[0], n, 1.0, 0.0, -i, 0.0);
    const std::vector<std::complex<double>> v = complex_values(n, 41);
    std::vector<std::complex<double>> replicated(v);
    replicated.insert(replicated.end(), v.begin(), v.end());
    const auto narrow_out = boot::apply_slot_matrices(m, v);
    const auto wide_out = boot::apply_slot_matrices({wide}, replicated);
    for (std::size_t r = 0; r < n; ++r) {
        CHECK(std::abs(wide_out[r] - narrow_out[r]) < 1e-12);
        CHECK(std::abs(wide_out[r + n] - (-i) * narrow_out[r]) < 1e-12);
    }
}

TEST_CASE("boot/parameters: a level budget beyond the 128-bit bound names what fits", "[boot]") {
    boot::ParametersLiteral literal = boot::Parameters::preset_literal(boot::Preset::N16_dense);
    literal.log_q_user = std::vector<int>(20, 40);  // 11 levels more than fit
    try {
        (void)boot::Parameters::from(literal);
        FAIL("no SecurityError");
    } catch (const SecurityError& e) {
        const std::string what = e.what();
        CHECK(what.find("bootstrapping needs 16 levels") != std::string::npos);
        CHECK(what.find("the 20 user levels need 800 bits") != std::string::npos);
        CHECK(what.find("9 user levels of 40 bits are available") != std::string::npos);
    }
}
