// Tests of the security features: noise-flooding decryption (its noise has the
// stated standard deviation and the result keeps a stated precision), the
// wide Gaussian sampler behind it, and secret-key hygiene (wiping, no printing).
#include <catch2/catch.hpp>

#include <cloak/ckks/encoder.hpp>
#include <cloak/ckks/encryptor.hpp>
#include <cloak/ckks/evaluator.hpp>
#include <cloak/ckks/keys.hpp>
#include <cloak/core/locked_memory.hpp>
#include <cloak/core/random.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <ostream>
#include <random>
#include <vector>

namespace {

using namespace cloak;

// N = 2^12 with a 60-bit q0 and a 2^50 scale: room for the flooding noise
// (insecure: 170 bits of QP; the bound at 2^12 is 109).
struct FloodingFixture {
    ckks::Context context{
        ckks::Parameters::from({.log_n = 12,
                                .log_q = {60, 50},
                                .log_p = {60},
                                .log_scale = 50,
                                .security = rlwe::Security::insecure_for_testing_only})};
    ckks::KeyGenerator keygen{context};
    ckks::Encoder encoder{context};
    ckks::Encryptor encryptor{context, keygen.public_key()};
    ckks::Decryptor decryptor{context, keygen.secret_key()};
};

FloodingFixture& flooding_fixture() {
    static FloodingFixture f;
    return f;
}

std::vector<double> random_values(std::size_t n, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> uniform(-1, 1);
    std::vector<double> v(n);
    for (double& x : v) {
        x = uniform(rng);
    }
    return v;
}

// The centred coefficients of a - b (both small next to q0).
std::vector<double> coefficient_difference(const ckks::Plaintext& a, const ckks::Plaintext& b) {
    ring::Poly difference = a.poly();
    ring::Poly other = b.poly();
    difference.to_coefficient();
    other.to_coefficient();
    ring::sub_inplace(difference, other);
    const std::uint64_t q0 = difference.modulus(0).value();
    std::vector<double> out;
    for (const std::uint64_t x : difference.limb(0)) {
        out.push_back(x > q0 / 2 ? -static_cast<double>(q0 - x) : static_cast<double>(x));
    }
    return out;
}

}  // namespace

TEST_CASE("security/flooding/logN=12 sigma is sqrt(12 q) 2^(s/2) B", "[security]") {
    const ckks::NoiseFlooding flooding{.noise_bits = 5};
    REQUIRE(flooding.sigma() == Approx(std::sqrt(12.0) * std::exp2(15 + 5)));
    const ckks::NoiseFlooding strict{.noise_bits = 5, .statistical_security = 40, .queries = 4};
    REQUIRE(strict.sigma() == Approx(std::sqrt(48.0) * std::exp2(20 + 5)));
    REQUIRE_THROWS_AS((ckks::NoiseFlooding{.noise_bits = -1}.sigma()), InvalidArgumentError);
    REQUIRE_THROWS_AS((ckks::NoiseFlooding{.noise_bits = 1, .queries = 0}.sigma()),
                      InvalidArgumentError);
    REQUIRE_THROWS_AS((ckks::NoiseFlooding{.noise_bits = 1, .statistical_security = 0}.sigma()),
                      InvalidArgumentError);

    // Noise that would leave no bit of the message is refused, naming the scale.
    FloodingFixture& f = flooding_fixture();
    const ckks::Ciphertext c = f.encryptor.encrypt(f.encoder.encode(0.5));
    REQUIRE_THROWS_WITH(f.decryptor.decrypt(c, {.noise_bits = 40}), Catch::Contains("scale 2^50"));
}

TEST_CASE("security/flooding/logN=12 the added noise has the stated distribution", "[security]") {
    FloodingFixture& f = flooding_fixture();
    const auto x = random_values(f.context.slots(), 1);
    const ckks::Ciphertext c = f.encryptor.encrypt(f.encoder.encode(x));
    const ckks::NoiseFlooding flooding{.noise_bits = 4};
    const double sigma = flooding.sigma();  // 2^(15 + 4) sqrt(12) ~ 2^20.8

    const auto noise =
        coefficient_difference(f.decryptor.decrypt(c, flooding), f.decryptor.decrypt(c));
    const auto n = static_cast<double>(noise.size());
    double sum = 0;
    double squares = 0;
    double largest = 0;
    std::size_t within_one_sigma = 0;
    for (const double e : noise) {
        sum += e;
        squares += e * e;
        largest = std::max(largest, std::abs(e));
        within_one_sigma += std::abs(e) <= sigma ? 1 : 0;
    }
    const double mean = sum / n;
    const double measured = std::sqrt(squares / n - mean * mean);
    INFO("sigma " << sigma << ", measured " << measured << ", mean " << mean << ", max "
                  << largest / sigma << " sigma");
    // 4096 samples: the sample deviation is within 4 / sqrt(2 n) ~ 4.4% with
    // overwhelming probability, the mean within 4 sigma / sqrt(n), and the
    // fraction within one sigma (0.6827) within 4 binomial deviations (2.9%).
    REQUIRE(std::abs(measured / sigma - 1) < 0.045);
    REQUIRE(std::abs(mean) < 4 * sigma / std::sqrt(n));
    REQUIRE(std::abs(static_cast<double>(within_one_sigma) / n - 0.6827) < 0.03);
    REQUIRE(largest < 8.6 * sigma);

    // Two flooded decryptions differ (fresh noise each time).
    REQUIRE_FALSE(f.decryptor.decrypt(c, flooding).poly() ==
                  f.decryptor.decrypt(c, flooding).poly());
}

TEST_CASE("security/flooding/logN=12 precision floor at 30 and 40 bits of security", "[security]") {
    FloodingFixture& f = flooding_fixture();
    const auto x = random_values(f.context.slots(), 2);
    const ckks::Ciphertext c = f.encryptor.encrypt(f.encoder.encode(x));

    // The key owner measures the error bound on a ciphertext whose message it knows.
    const double bits = f.decryptor.noise_bits(
        c, f.encoder.encode(x, {.level = c.level(), .scale = c.scale(), .slots = c.slots()}));
    INFO("fresh public-key encryption: error bound 2^" << bits);
    REQUIRE(bits >= 1);
    REQUIRE(bits <= 8);

    const double plain = ckks::precision_bits(f.encoder.decode_real(f.decryptor.decrypt(c)), x);
    const double s30 = ckks::precision_bits(
        f.encoder.decode_real(f.decryptor.decrypt(c, {.noise_bits = bits + 1})), x);
    const double s40 =
        ckks::precision_bits(f.encoder.decode_real(f.decryptor.decrypt(
                                 c, {.noise_bits = bits + 1, .statistical_security = 40})),
                             x);
    INFO("precision: " << plain << " bits plain, " << s30 << " flooded (s = 30), " << s40
                       << " flooded (s = 40)");
    // Measured: 37.7 to 38.1 bits plain, 19.0 to 19.1 flooded at s = 30 and 14.0
    // to 14.1 at s = 40 (bound 2^5.7, plus the 1-bit margin). The slot error's
    // deviation is sigma sqrt(N / 2) / scale, so s = 40 costs 5 bits more.
    REQUIRE(plain >= 35);
    REQUIRE(s30 >= 17);
    REQUIRE(s40 >= 12);
    REQUIRE(s30 <= plain - 12);  // the flooding noise is really there
    REQUIRE(s40 < s30);

    // A plaintext at another level is refused.
    REQUIRE_THROWS_AS(
        f.decryptor.noise_bits(c, f.encoder.encode(x, {.level = 0, .scale = c.scale()})),
        InvalidArgumentError);
}

TEST_CASE("security/random/wide Gaussian has the requested deviation", "[security]") {
    core::Prng prng(core::Seed{7});
    std::vector<std::int64_t> samples(1 << 14);
    const double sigma = std::exp2(30.5);
    core::sample_wide_gaussian(prng, sigma, samples);
    double squares = 0;
    double sum = 0;
    for (const std::int64_t v : samples) {
        sum += static_cast<double>(v);
        squares += static_cast<double>(v) * static_cast<double>(v);
    }
    const auto n = static_cast<double>(samples.size());
    REQUIRE(std::abs(std::sqrt(squares / n) / sigma - 1) < 4 / std::sqrt(2 * n));
    REQUIRE(std::abs(sum / n) < 4 * sigma / std::sqrt(n));
    REQUIRE_THROWS_AS(core::sample_wide_gaussian(prng, 0.0, samples), InvalidArgumentError);
    REQUIRE_THROWS_AS(core::sample_wide_gaussian(prng, 0x1p53, samples), InvalidArgumentError);
}

namespace {
template <typename T>
concept Printable = requires(std::ostream& out, const T& value) {
    out << value;
};
}  // namespace

// A secret key cannot reach a stream by accident: it has no operator<< (and
// io::save refuses it: tests/compile_fail/).
static_assert(!Printable<ckks::SecretKey>);
static_assert(!Printable<ckks::Decryptor>);

TEST_CASE("security/secret_key/logN=12 wiping, copies and assignments", "[security]") {
    FloodingFixture& f = flooding_fixture();
    ckks::SecretKey key = f.keygen.secret_key();
    REQUIRE(key.poly() == f.keygen.secret_key().poly());
    const auto nonzero = [](const ckks::SecretKey& k) {
        return std::any_of(k.poly().data().begin(), k.poly().data().end(),
                           [](std::uint64_t w) { return w != 0; });
    };
    REQUIRE(nonzero(key));

    // wipe() (also what the destructor and the assignments run) zeroes every word.
    ckks::SecretKey copy = key;
    copy.wipe();
    REQUIRE_FALSE(nonzero(copy));
    REQUIRE(nonzero(key));  // the copy had its own words

    // Assignments replace the key (after wiping the old one) and keep working keys.
    copy = key;
    REQUIRE(copy.poly() == key.poly());
    ckks::SecretKey moved;
    moved = std::move(copy);
    REQUIRE(moved.poly() == key.poly());
    const ckks::SecretKey& alias = moved;
    moved = alias;  // self-assignment keeps the key
    REQUIRE(moved.poly() == key.poly());

    // A Decryptor assigned from another decrypts with the other's key.
    const ckks::Ciphertext c = f.encryptor.encrypt(f.encoder.encode(0.25));
    const ckks::KeyGenerator other_keys(f.context);
    ckks::Decryptor decryptor(f.context, other_keys.secret_key());
    decryptor = f.decryptor;
    REQUIRE(f.encoder.decode_real(decryptor.decrypt(c)) ==
            f.encoder.decode_real(f.decryptor.decrypt(c)));
}

TEST_CASE("security/locked_memory: pages are counted, a shared page stays locked", "[security]") {
    const std::size_t page = core::detail::page_size();
    // Pages of our own (aligned_alloc of whole pages shares none with other data).
    void* raw = std::aligned_alloc(page, 3 * page);
    REQUIRE(raw != nullptr);
    auto* bytes = static_cast<unsigned char*>(raw);
    const std::size_t before = core::locked_page_count();
    CHECK_FALSE(core::lock_memory(nullptr, 8));
    CHECK_FALSE(core::lock_memory(bytes, 0));
    if (!core::lock_memory(bytes, 100)) {
        WARN("mlock is refused here (RLIMIT_MEMLOCK); locking is best effort");
        CHECK(core::locked_page_count() == before);
        std::free(raw);
        return;
    }
    CHECK(core::locked_page_count() == before + 1);
    REQUIRE(core::lock_memory(bytes + 64, 8));  // the same page
    CHECK(core::locked_page_count() == before + 1);
    REQUIRE(core::lock_memory(bytes + page - 4, 8));  // that page and the next
    CHECK(core::locked_page_count() == before + 2);
    core::unlock_memory(bytes, 100);
    CHECK(core::locked_page_count() == before + 2);  // the other ranges still hold them
    core::unlock_memory(bytes + page - 4, 8);
    CHECK(core::locked_page_count() == before + 1);
    core::unlock_memory(bytes + 64, 8);
    CHECK(core::locked_page_count() == before);
    std::free(raw);
}

TEST_CASE("security/secret_key/logN=12 locked while it lives, copies and moves too", "[security]") {
    FloodingFixture& f = flooding_fixture();
    const std::size_t before = core::locked_page_count();
    {
        ckks::SecretKey key = f.keygen.secret_key();
        if (!key.locked()) {
            WARN("mlock is refused here (RLIMIT_MEMLOCK); secret keys are not locked");
            return;
        }
        const std::size_t pages =
            key.poly().data().size_bytes() / core::detail::page_size();  // 192 at N = 2^12
        CHECK(core::locked_page_count() >= before + pages);
        ckks::SecretKey moved = std::move(key);
        CHECK(moved.locked());
        CHECK_FALSE(key.locked());  // NOLINT(bugprone-use-after-move): the lock moved
        // A copy needs a lock of its own, which a low RLIMIT_MEMLOCK may refuse
        // once other keys hold theirs: expect what a probe of its size gets.
        const auto can_lock = [](std::size_t bytes) {
            std::vector<std::uint64_t> probe(bytes / 8);
            const bool ok = core::lock_memory(probe.data(), bytes);
            if (ok) {
                core::unlock_memory(probe.data(), bytes);
            }
            return ok;
        };
        ckks::SecretKey assigned;
        CHECK_FALSE(assigned.locked());
        const bool expected = can_lock(moved.poly().data().size_bytes());
        assigned = moved;
        CHECK(assigned.locked() == expected);
        assigned = std::move(moved);
        CHECK(assigned.locked());  // the lock moved with the buffer
        CHECK(assigned.poly() == f.keygen.secret_key().poly());
    }
    CHECK(core::locked_page_count() == before);
}
