// Tests of io/: round trips of every object (parameters, plaintexts, ciphertexts,
// keys, ml models), seed compression, and loaders that fail cleanly on every
// flipped byte, every truncation and lying lengths.
// Small insecure parameters (N = 2^10) keep the byte-by-byte loops short.
#include <catch2/catch.hpp>

#include <cloak/boot/bootstrapper.hpp>
#include <cloak/boot/parameters.hpp>
#include <cloak/ckks/encoder.hpp>
#include <cloak/ckks/encryptor.hpp>
#include <cloak/ckks/evaluator.hpp>
#include <cloak/ckks/keys.hpp>
#include <cloak/io/boot.hpp>
#include <cloak/io/ml.hpp>
#include <cloak/io/serialize.hpp>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <random>
#include <sstream>
#include <streambuf>
#include <string>
#include <vector>

namespace {

using namespace cloak;

ckks::Parameters small_parameters(double log_scale = 25) {
    return ckks::Parameters::from({.log_n = 10,
                                   .log_q = {35, 25, 25},
                                   .log_p = {35},
                                   .log_scale = log_scale,
                                   .security = rlwe::Security::insecure_for_testing_only});
}

struct Fixture {
    ckks::Context context{small_parameters()};
    ckks::KeyGenerator keygen{context};
    ckks::PublicKey public_key = keygen.public_key();
    ckks::RelinKey relin_key = keygen.relin_key();
    ckks::GaloisKeys galois_keys = keygen.galois_keys({1, 3, -1}, true);
    ckks::Encoder encoder{context};
    ckks::Encryptor encryptor{context, public_key};
    ckks::Encryptor secret_encryptor{context, keygen.secret_key()};
    ckks::Decryptor decryptor{context, keygen.secret_key()};
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

template <typename T>
std::string saved(const T& object, const ckks::Context& context) {
    std::ostringstream out;
    io::save(out, object, context);
    return out.str();
}

template <typename T>
T loaded(const std::string& bytes, const ckks::Context& context) {
    std::istringstream in(bytes);
    T object = io::load<T>(in, context);
    REQUIRE(in.peek() == std::char_traits<char>::eof());
    return object;
}

// Packed bytes of a polynomial over `basis`: a form byte and N * bits / 8 per limb.
std::size_t packed_bytes(const ring::RnsBasis& basis) {
    std::size_t bytes = 1;
    for (std::uint64_t q : basis.values()) {
        bytes += basis.degree() * static_cast<std::size_t>(core::bit_count(q - 1)) / 8;
    }
    return bytes;
}

constexpr std::size_t frame = io::header_bytes + io::checksum_bytes;  // 82

// Every single-byte change, every truncation and a few lying lengths must throw
// SerializationError.
template <typename Load>
void require_robust(const std::string& bytes, Load load) {
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        std::string corrupt = bytes;
        corrupt[i] = static_cast<char>(corrupt[i] ^ 0x5a);
        std::istringstream in(corrupt);
        INFO("byte " << i << " of " << bytes.size() << " flipped");
        REQUIRE_THROWS_AS(load(in), SerializationError);
    }
    for (std::size_t length = 0; length < bytes.size(); ++length) {
        std::istringstream in(bytes.substr(0, length));
        INFO("truncated to " << length << " of " << bytes.size() << " bytes");
        REQUIRE_THROWS_AS(load(in), SerializationError);
    }
    for (std::uint64_t lie :
         {std::numeric_limits<std::uint64_t>::max(), std::uint64_t{1} << 40, std::uint64_t{1} << 62,
          std::uint64_t{bytes.size()}, std::uint64_t{bytes.size() - frame + 1},
          std::uint64_t{bytes.size() - frame - 1}, std::uint64_t{0}}) {
        std::string corrupt = bytes;
        for (std::size_t k = 0; k < 8; ++k) {
            corrupt[42 + k] = static_cast<char>(lie >> (8 * k));
        }
        std::istringstream in(corrupt);
        INFO("length field set to " << lie);
        REQUIRE_THROWS_AS(load(in), SerializationError);
    }
}

}  // namespace

TEST_CASE("io/parameters/logN=10 round trip without a context", "[io]") {
    const ckks::Parameters parameters = small_parameters();
    std::ostringstream out;
    io::save(out, parameters);
    std::istringstream in(out.str());
    const ckks::Parameters back = io::load<ckks::Parameters>(in);
    REQUIRE(back == parameters);
    REQUIRE(io::fingerprint(back) == io::fingerprint(parameters));

    // A preset (secure, default literal fields) too.
    const auto preset = ckks::Parameters::preset(ckks::Preset::N13_QP218);
    std::ostringstream preset_out;
    io::save(preset_out, preset);
    std::istringstream preset_in(preset_out.str());
    REQUIRE(io::load<ckks::Parameters>(preset_in) == preset);

    // Fingerprints separate every field.
    REQUIRE(io::fingerprint(small_parameters(24)) != io::fingerprint(parameters));

    require_robust(out.str(), [](std::istream& s) { return io::load<ckks::Parameters>(s); });
}

TEST_CASE("io/plaintext/logN=10 round trip at every level", "[io]") {
    Fixture& f = fixture();
    const auto x = random_vector(256, 1);
    for (std::size_t level = 0; level <= f.context.max_level(); ++level) {
        const ckks::Plaintext p = f.encoder.encode(x, {.level = level, .slots = 256});
        const std::string bytes = saved(p, f.context);
        REQUIRE(bytes.size() == frame + 4 + 8 + 8 + packed_bytes(*f.context.level(level).q));
        const auto back = loaded<ckks::Plaintext>(bytes, f.context);
        REQUIRE(back.poly() == p.poly());
        REQUIRE(back.poly().basis_ptr() == f.context.level(level).q);
        REQUIRE(back.scale() == p.scale());
        REQUIRE(back.slots() == 256);
    }
}

TEST_CASE("io/ciphertext/logN=10 round trip decrypts to the same values", "[io]") {
    Fixture& f = fixture();
    const auto x = random_vector(f.context.slots(), 2);
    const ckks::Plaintext p = f.encoder.encode(x);
    for (const ckks::Encryptor* encryptor : {&f.encryptor, &f.secret_encryptor}) {
        const ckks::Ciphertext c = encryptor->encrypt(p);
        const auto back = loaded<ckks::Ciphertext>(saved(c, f.context), f.context);
        REQUIRE(back.size() == 2);
        REQUIRE(back[0] == c[0]);
        REQUIRE(back[1] == c[1]);
        REQUIRE(back.scale() == c.scale());
        REQUIRE(back.slots() == c.slots());
        const auto values = f.encoder.decode_real(f.decryptor.decrypt(back));
        REQUIRE(values == f.encoder.decode_real(f.decryptor.decrypt(c)));
        const double bits = ckks::precision_bits(values, x);
        INFO("precision after load " << bits << " bits");
        REQUIRE(bits >= 10);
    }

    // Three parts (unrelinearized product), a lower level, and a ciphertext whose
    // seed no longer describes c1 (it must be stored in full, and still load).
    const ckks::Evaluator evaluator(f.context, f.relin_key, f.galois_keys);
    ckks::Ciphertext c = f.secret_encryptor.encrypt(p);
    const ckks::Ciphertext product = evaluator.multiply_no_relin(c, c);
    REQUIRE(product.size() == 3);
    const auto product_back = loaded<ckks::Ciphertext>(saved(product, f.context), f.context);
    REQUIRE(product_back.parts() == product.parts());

    const ckks::Ciphertext dropped = evaluator.drop_level_to(c, 0);
    const std::string dropped_bytes = saved(dropped, f.context);
    const auto dropped_back = loaded<ckks::Ciphertext>(dropped_bytes, f.context);
    REQUIRE(dropped_back.parts() == dropped.parts());
    REQUIRE(dropped_back.level() == 0);

    const ckks::Ciphertext sum = evaluator.add(c, c);  // keeps the stale seed hint
    const auto sum_back = loaded<ckks::Ciphertext>(saved(sum, f.context), f.context);
    REQUIRE(sum_back.parts() == sum.parts());
    REQUIRE_FALSE(sum_back.public_seed().has_value());
}

TEST_CASE("io/ciphertext/logN=10 seed compression halves a secret-key encryption", "[io]") {
    Fixture& f = fixture();
    const ckks::Plaintext p = f.encoder.encode(random_vector(f.context.slots(), 3));
    const ckks::Ciphertext public_encrypted = f.encryptor.encrypt(p);
    const ckks::Ciphertext secret_encrypted = f.secret_encryptor.encrypt(p);
    REQUIRE(secret_encrypted.public_seed().has_value());

    const std::size_t poly = packed_bytes(*f.context.level(f.context.max_level()).q);
    const std::size_t fixed = frame + 4 + 8 + 8 + 1 + 1;
    const std::size_t full = saved(public_encrypted, f.context).size();
    const std::size_t seeded = saved(secret_encrypted, f.context).size();
    INFO("public-key encryption " << full << " bytes, secret-key encryption " << seeded);
    REQUIRE(full == fixed + 2 * poly);
    REQUIRE(seeded == fixed + poly + 32);
    REQUIRE(2 * seeded < full + 2 * fixed + 64);

    // The loaded ciphertext keeps its seed, so saving it again compresses again.
    const auto back = loaded<ckks::Ciphertext>(saved(secret_encrypted, f.context), f.context);
    REQUIRE(back.public_seed() == secret_encrypted.public_seed());
    REQUIRE(saved(back, f.context).size() == seeded);

    // A seed that does not regenerate c1 is never trusted.
    ckks::Ciphertext forged = public_encrypted;
    forged.set_public_seed(core::random_seed());
    REQUIRE(saved(forged, f.context).size() == full);
}

TEST_CASE("io/keys/logN=10 public, relinearization and Galois keys round trip", "[io]") {
    Fixture& f = fixture();
    const std::size_t key_poly = packed_bytes(*f.context.key_basis());
    const std::size_t digits = f.relin_key.key.b.size();

    const std::string public_bytes = saved(f.public_key, f.context);
    REQUIRE(public_bytes.size() == frame + 32 + 1 + key_poly);
    const auto public_back = loaded<ckks::PublicKey>(public_bytes, f.context);
    REQUIRE(public_back.b == f.public_key.b);
    REQUIRE(public_back.a == f.public_key.a);
    REQUIRE(public_back.seed == f.public_key.seed);
    REQUIRE(public_back.a.basis_ptr() == f.context.key_basis());

    // A public key whose seed does not regenerate a is stored in full: twice the size.
    ckks::PublicKey unseeded = f.public_key;
    unseeded.seed[0] ^= 1;
    const std::string unseeded_bytes = saved(unseeded, f.context);
    REQUIRE(unseeded_bytes.size() == frame + 32 + 1 + 2 * key_poly);
    REQUIRE(loaded<ckks::PublicKey>(unseeded_bytes, f.context).a == f.public_key.a);

    const std::string relin_bytes = saved(f.relin_key, f.context);
    REQUIRE(relin_bytes.size() == frame + 32 + 1 + 2 + digits * key_poly);
    const auto relin_back = loaded<ckks::RelinKey>(relin_bytes, f.context);
    REQUIRE(relin_back.key.b == f.relin_key.key.b);
    REQUIRE(relin_back.key.a == f.relin_key.key.a);

    const std::string galois_bytes = saved(f.galois_keys, f.context);
    const std::size_t count = f.galois_keys.keys.size();
    REQUIRE(galois_bytes.size() ==
            frame + 8 + 8 * count + count * (frame + 8 + 32 + 1 + 2 + digits * key_poly));
    const auto galois_back = loaded<ckks::GaloisKeys>(galois_bytes, f.context);
    REQUIRE(galois_back.keys.size() == count);
    for (const auto& [element, key] : f.galois_keys.keys) {
        REQUIRE(galois_back.has(element));
        REQUIRE(galois_back.keys.at(element).b == key.b);
        REQUIRE(galois_back.keys.at(element).a == key.a);
    }

    // The loaded keys work: multiply and rotate, then decrypt.
    const ckks::Evaluator evaluator(f.context, relin_back, galois_back);
    const auto x = random_vector(f.context.slots(), 4);
    const ckks::Ciphertext c = ckks::Encryptor(f.context, public_back).encrypt(f.encoder.encode(x));
    const ckks::Ciphertext rotated =
        evaluator.rotate(evaluator.rescale(evaluator.multiply(c, c)), 1);
    std::vector<double> expected(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) {
        const double v = x[(i + 1) % x.size()];
        expected[i] = v * v;
    }
    const double bits =
        ckks::precision_bits(f.encoder.decode_real(f.decryptor.decrypt(rotated)), expected);
    INFO("x^2 rotated by 1 with loaded keys: " << bits << " bits");
    REQUIRE(bits >= 8);
}

TEST_CASE("io/secret_key/logN=10 explicit save and load, 2 bits per coefficient", "[io]") {
    Fixture& f = fixture();
    std::ostringstream out;
    io::save_secret_key(out, f.keygen.secret_key(), f.context);
    REQUIRE(out.str().size() == frame + 1 + f.context.degree() / 4);
    std::istringstream in(out.str());
    const ckks::SecretKey back = io::load_secret_key(in, f.context);
    REQUIRE(back.poly() == f.keygen.secret_key().poly());

    const ckks::Ciphertext c = f.encryptor.encrypt(f.encoder.encode(0.25));
    const ckks::Decryptor decryptor(f.context, back);
    REQUIRE(f.encoder.decode_real(decryptor.decrypt(c)) ==
            f.encoder.decode_real(f.decryptor.decrypt(c)));

    // The generic calls refuse a secret key at compile time (static_assert), and
    // secret-key bytes are not loadable as another type.
    std::istringstream as_public(out.str());
    REQUIRE_THROWS_WITH(io::load<ckks::PublicKey>(as_public, f.context),
                        Catch::Contains("wrong object type 5"));

    require_robust(out.str(), [&](std::istream& s) { return io::load_secret_key(s, f.context); });
}

TEST_CASE("io/errors/logN=10 parameters mismatch names both fingerprints", "[io]") {
    Fixture& f = fixture();
    const ckks::Context other(small_parameters(24));
    const std::string bytes = saved(f.encryptor.encrypt(f.encoder.encode(0.5)), f.context);
    const std::string expected = io::detail::hex(io::fingerprint(f.context.parameters()));
    const std::string actual = io::detail::hex(io::fingerprint(other.parameters()));
    std::istringstream in(bytes);
    REQUIRE_THROWS_WITH(io::load<ckks::Ciphertext>(in, other),
                        Catch::Contains("parameters mismatch") && Catch::Contains(expected) &&
                            Catch::Contains(actual));

    // A second Context built from the same parameters loads it.
    const ckks::Context same(f.context.parameters());
    REQUIRE(loaded<ckks::Ciphertext>(bytes, same).level() == same.max_level());

    // Saving with the wrong context is refused.
    std::ostringstream out;
    REQUIRE_THROWS_AS(io::save(out, f.public_key, other), InvalidArgumentError);
}

TEST_CASE("io/errors/logN=10 each failure says what was wrong", "[io]") {
    Fixture& f = fixture();
    const std::string bytes = saved(f.encryptor.encrypt(f.encoder.encode(0.5)), f.context);
    const auto message_of = [&](std::string data) {
        std::istringstream in(data);
        try {
            (void)io::load<ckks::Ciphertext>(in, f.context);
        } catch (const SerializationError& error) {
            return std::string(error.what());
        }
        FAIL("no SerializationError");
        return std::string();
    };
    std::string corrupt = bytes;
    corrupt[0] = 'X';
    REQUIRE_THAT(message_of(corrupt), Catch::Contains("magic"));
    corrupt = bytes;
    corrupt[6] = 2;
    REQUIRE_THAT(message_of(corrupt), Catch::Contains("format version 2"));
    corrupt = bytes;
    corrupt[8] = 4;
    REQUIRE_THAT(message_of(corrupt), Catch::Contains("wrong object type 4"));
    corrupt = bytes;
    corrupt[49] = 0x7f;
    REQUIRE_THAT(message_of(corrupt), Catch::Contains("payload length"));
    REQUIRE_THAT(message_of(bytes.substr(0, 100)), Catch::Contains("truncated"));
    REQUIRE_THAT(message_of(bytes.substr(0, 20)), Catch::Contains("truncated"));
    corrupt = bytes;
    corrupt[1000] ^= 1;
    REQUIRE_THAT(message_of(corrupt), Catch::Contains("checksum"));
    REQUIRE_THAT(message_of(""), Catch::Contains("truncated"));

    // Payload checks behind a valid checksum: re-frame a crafted payload.
    const auto reframe = [&](std::string payload) {
        std::ostringstream out;
        io::detail::write_object(
            out, io::ObjectType::ciphertext, io::fingerprint(f.context.parameters()),
            {reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size()}, "test");
        return out.str();
    };
    const std::string payload = bytes.substr(io::header_bytes, bytes.size() - frame);
    REQUIRE(loaded<ckks::Ciphertext>(reframe(payload), f.context).size() == 2);
    std::string crafted = payload;
    crafted[0] = 9;  // level 9
    REQUIRE_THAT(message_of(reframe(crafted)), Catch::Contains("level 9 is above"));
    crafted = payload;
    for (std::size_t k = 4; k < 12; ++k) {
        crafted[k] = k == 11 ? '\x7f' : '\xff';  // NaN scale
    }
    REQUIRE_THAT(message_of(reframe(crafted)), Catch::Contains("not finite and positive"));
    crafted = payload;
    crafted[12] = 3;  // 3 slots
    crafted[13] = 0;
    REQUIRE_THAT(message_of(reframe(crafted)), Catch::Contains("slots = 3"));
    crafted = payload;
    crafted[20] = 4;  // 4 parts
    REQUIRE_THAT(message_of(reframe(crafted)), Catch::Contains("4 parts"));
    crafted = payload;
    for (std::size_t k = 23; k < 23 + 5; ++k) {
        crafted[k] = '\xff';  // c0's first coefficient: all ones, above q0
    }
    REQUIRE_THAT(message_of(reframe(crafted)), Catch::Contains("not below its modulus"));
    REQUIRE_THAT(message_of(reframe(payload + "x")), Catch::Contains("left over"));
    REQUIRE_THAT(message_of(reframe(payload.substr(0, payload.size() - 1))),
                 Catch::Contains("payload ends"));
}

TEST_CASE("io/robustness/logN=10 every flipped byte and truncation of a ciphertext", "[io]") {
    Fixture& f = fixture();
    // A small ciphertext: level 0, stored in full (public-key encryption).
    const ckks::Ciphertext c =
        f.encryptor.encrypt(f.encoder.encode(random_vector(8, 5), {.level = 0, .slots = 8}));
    const std::string bytes = saved(c, f.context);
    INFO("ciphertext of " << bytes.size() << " bytes");
    require_robust(bytes,
                   [&](std::istream& s) { return io::load<ckks::Ciphertext>(s, f.context); });
    // And a seeded one.
    const std::string seeded = saved(
        f.secret_encryptor.encrypt(f.encoder.encode(random_vector(8, 6), {.level = 0, .slots = 8})),
        f.context);
    require_robust(seeded,
                   [&](std::istream& s) { return io::load<ckks::Ciphertext>(s, f.context); });
}

TEST_CASE("io/robustness/logN=10 every flipped byte and truncation of a public key", "[io]") {
    Fixture& f = fixture();
    const std::string bytes = saved(f.public_key, f.context);
    require_robust(bytes, [&](std::istream& s) { return io::load<ckks::PublicKey>(s, f.context); });
}

TEST_CASE("io/robustness/logN=10 Galois keys: flipped bytes, truncations, reordering", "[io]") {
    Fixture& f = fixture();
    ckks::GaloisKeys one;
    one.keys.emplace(*f.galois_keys.keys.begin());
    const std::string bytes = saved(one, f.context);
    // Every 7th byte and every 7th length: a full pass is the same code as the
    // public key's, and a Galois key is dnum times larger.
    for (std::size_t i = 0; i < bytes.size(); i += 7) {
        std::string corrupt = bytes;
        corrupt[i] = static_cast<char>(corrupt[i] ^ 0x01);
        std::istringstream in(corrupt);
        INFO("byte " << i);
        REQUIRE_THROWS_AS(io::load<ckks::GaloisKeys>(in, f.context), SerializationError);
        std::istringstream cut(bytes.substr(0, i));
        REQUIRE_THROWS_AS(io::load<ckks::GaloisKeys>(cut, f.context), SerializationError);
    }
    // Keys of another set behind this index are refused.
    const std::string all = saved(f.galois_keys, f.context);
    const std::size_t index_size = frame + 8 + 8;
    std::istringstream spliced(
        bytes.substr(0, index_size) +
        all.substr(frame + 8 + 8 * f.galois_keys.keys.size() + (bytes.size() - index_size)));
    REQUIRE_THROWS_WITH(io::load<ckks::GaloisKeys>(spliced, f.context),
                        Catch::Contains("Galois element"));
}

TEST_CASE("io/files/logN=10 save_file and load_file", "[io]") {
    Fixture& f = fixture();
    const auto directory = std::filesystem::temp_directory_path();
    const std::string path = (directory / "cloak_io_test_ciphertext.bin").string();
    const std::string parameters_path = (directory / "cloak_io_test_parameters.bin").string();
    const std::string secret_path = (directory / "cloak_io_test_secret.bin").string();
    const ckks::Ciphertext c = f.secret_encryptor.encrypt(f.encoder.encode(0.75));
    io::save_file(path, c, f.context);
    io::save_file(parameters_path, f.context.parameters());
    io::save_secret_key_file(secret_path, f.keygen.secret_key(), f.context);

    const ckks::Context context(io::load_file<ckks::Parameters>(parameters_path));
    const auto back = io::load_file<ckks::Ciphertext>(path, context);
    const ckks::Decryptor decryptor(context, io::load_secret_key_file(secret_path, context));
    const auto values = ckks::Encoder(context).decode_real(decryptor.decrypt(back));
    REQUIRE(values == f.encoder.decode_real(f.decryptor.decrypt(c)));

    REQUIRE_THROWS_AS(io::load_file<ckks::Ciphertext>(
                          (directory / "cloak_io_test_missing.bin").string(), context),
                      SerializationError);
    std::filesystem::remove(path);
    std::filesystem::remove(parameters_path);
    std::filesystem::remove(secret_path);
}

// ---- ml models ----------------------------------------------------------------

namespace {

ml::Model normalized_model() {
    ml::Model model{{0.5, -1.25, 0.75, 2.0}, std::nullopt};
    model.normalizer =
        ml::Normalizer(ml::Scaling::min_max, {0.5, 2.0, 0.125}, {-1.0, 0.25, 0.0}, true);
    return model;
}

std::string saved_model(const ml::Model& model) {
    std::ostringstream out;
    io::save(out, model);
    return out.str();
}

std::string model_message(const std::string& bytes) {
    std::istringstream in(bytes);
    try {
        (void)io::load<ml::Model>(in);
    } catch (const SerializationError& error) {
        return error.what();
    }
    return "no SerializationError";
}

// A model frame around a crafted payload (valid checksum, zero fingerprint).
std::string model_frame(const io::detail::ByteWriter& w) {
    std::ostringstream out;
    io::detail::write_object(out, io::ObjectType::model, io::detail::no_parameters,
                             const_cast<io::detail::ByteWriter&>(w).bytes(), "test");
    return out.str();
}

}  // namespace

TEST_CASE("io/ml/Model round trip with and without its normalizer", "[io][ml]") {
    const ml::Model bare{{0.5, -1.25, 0.75, 2.0}, std::nullopt};
    const std::string bare_bytes = saved_model(bare);
    REQUIRE(bare_bytes.size() == frame + 8 + 4 * 8 + 1);
    std::istringstream bare_in(bare_bytes);
    const ml::Model bare_back = io::load<ml::Model>(bare_in);
    REQUIRE(bare_back.weights == bare.weights);
    REQUIRE_FALSE(bare_back.normalizer.has_value());

    const ml::Model model = normalized_model();
    const std::string bytes = saved_model(model);
    REQUIRE(bytes.size() == frame + 8 + 4 * 8 + 1 + 2 + 2 * 3 * 8);
    // No parameters: the fingerprint field is all zeros.
    REQUIRE(bytes.substr(10, 32) == std::string(32, '\0'));
    std::istringstream in(bytes);
    const ml::Model back = io::load<ml::Model>(in);
    REQUIRE(back.weights == model.weights);
    REQUIRE(back.normalizer == model.normalizer);
    const std::vector<double> raw{3.0, -0.5, 4.0};
    REQUIRE(back.predict_raw(raw) == model.predict_raw(raw));

    // With a context (ignored) and through files.
    Fixture& f = fixture();
    REQUIRE(loaded<ml::Model>(saved(model, f.context), f.context).weights == model.weights);
    const auto path = (std::filesystem::temp_directory_path() / "cloak_io_test_model.bin").string();
    io::save_file(path, model);
    REQUIRE(io::load_file<ml::Model>(path).normalizer == model.normalizer);
    std::filesystem::remove(path);

    require_robust(bytes, [](std::istream& s) { return io::load<ml::Model>(s); });
}

TEST_CASE("io/ml/Model bad fields and bad models name the problem", "[io][ml]") {
    // Saving refuses what could not be loaded back.
    ml::Model nan_weight{{1.0, std::numeric_limits<double>::quiet_NaN()}, std::nullopt};
    std::ostringstream out;
    REQUIRE_THROWS_AS(io::save(out, nan_weight), InvalidArgumentError);
    ml::Model mismatch = normalized_model();
    mismatch.weights.push_back(1.0);  // 5 weights, 3 normalizer features
    REQUIRE_THROWS_WITH(io::save(out, mismatch), Catch::Contains("3 features"));
    REQUIRE_THROWS_AS(io::save(out, ml::Model{}), InvalidArgumentError);

    // Crafted payloads behind a valid checksum.
    io::detail::ByteWriter huge;
    huge.u64(std::uint64_t{1} << 40);
    REQUIRE_THAT(model_message(model_frame(huge)), Catch::Contains("weight count 1099511627776"));
    io::detail::ByteWriter lying;
    lying.u64(1000);  // 1000 weights announced, 1 present
    lying.f64(1.0);
    lying.u8(0);
    REQUIRE_THAT(model_message(model_frame(lying)), Catch::Contains("exceeds the 9 bytes left"));
    io::detail::ByteWriter infinite;
    infinite.u64(1);
    infinite.f64(std::numeric_limits<double>::infinity());
    infinite.u8(0);
    REQUIRE_THAT(model_message(model_frame(infinite)), Catch::Contains("not finite"));
    io::detail::ByteWriter zero_scale;
    zero_scale.u64(2);
    zero_scale.f64(0.5);
    zero_scale.f64(0.25);
    zero_scale.u8(1);
    zero_scale.u8(0);  // max_abs
    zero_scale.u8(0);
    zero_scale.f64(0.0);  // scale 0
    zero_scale.f64(0.0);
    REQUIRE_THAT(model_message(model_frame(zero_scale)),
                 Catch::Contains("normalizer is invalid") && Catch::Contains("scale 0"));

    // A model frame with a fingerprint is refused (a model belongs to no parameters).
    std::string bytes = saved_model(normalized_model());
    bytes[10] = 1;
    REQUIRE_THAT(model_message(bytes), Catch::Contains("parameters mismatch"));
}

TEST_CASE("io/ml/logN=10 EncryptedModel round trip decrypts to the same model", "[io][ml]") {
    Fixture& f = fixture();
    const ml::Packing packing = ml::Packing::of(100, 3, f.context.slots());
    std::vector<double> replicated(f.context.slots());
    const std::vector<double> weights{0.5, -0.25, 0.125, 0.75};
    for (std::size_t i = 0; i < replicated.size(); ++i) {
        replicated[i] = i % packing.block < weights.size() ? weights[i % packing.block] : 0.0;
    }
    ml::EncryptedModel model{f.secret_encryptor.encrypt(f.encoder.encode(replicated)), packing,
                             ml::PrivacyReport{1.0, 1e-5, 0.25, 0.02}};
    const std::string bytes = saved(model, f.context);
    const std::size_t poly = packed_bytes(*f.context.level(f.context.max_level()).q);
    REQUIRE(bytes.size() == frame + 16 + (4 + 8 + 8 + 1 + 1 + poly + 32) + 1 + 32);
    const auto back = loaded<ml::EncryptedModel>(bytes, f.context);
    REQUIRE(back.weights.parts() == model.weights.parts());
    REQUIRE(back.weights.scale() == model.weights.scale());
    REQUIRE(back.packing.block == packing.block);
    REQUIRE(back.packing.ciphertexts == packing.ciphertexts);
    REQUIRE(back.packing.rows == 100);
    REQUIRE(back.privacy->epsilon == 1.0);
    REQUIRE(back.privacy->sensitivity == 0.02);
    const ml::Model decrypted = back.decrypt(f.decryptor, f.encoder);
    REQUIRE(decrypted.weights == model.decrypt(f.decryptor, f.encoder).weights);
    REQUIRE(ckks::precision_bits(decrypted.weights, weights) >= 15);

    // A packing training never makes is refused on save; another context on load.
    ml::EncryptedModel odd = model;
    odd.packing.block = 8;
    std::ostringstream out;
    REQUIRE_THROWS_AS(io::save(out, odd, f.context), InvalidArgumentError);
    const ckks::Context other(small_parameters(24));
    std::istringstream in(bytes);
    REQUIRE_THROWS_WITH(io::load<ml::EncryptedModel>(in, other),
                        Catch::Contains("parameters mismatch"));

    // Every flipped byte and truncation of a small one (level 0, 8 slots, no report).
    ml::EncryptedModel small{
        f.encryptor.encrypt(f.encoder.encode(weights, {.level = 0, .slots = 8})), packing,
        std::nullopt};
    require_robust(saved(small, f.context),
                   [&](std::istream& s) { return io::load<ml::EncryptedModel>(s, f.context); });
}

// ---- bootstrapping-key bundles --------------------------------------------------

namespace {

// The smallest bootstrapping parameters the format serves: N = 2^10, 2 slots,
// one FFT level each way, a degree-2 cosine, 20-bit primes and one digit, a
// dense secret with encapsulation, so that the bundle holds every kind of key
// (10 Galois keys of about 19 KB; fuzz/ uses the same parameters).
boot::Parameters tiny_boot_parameters(double k = 16, std::size_t slots = 2) {
    return boot::Parameters::from({.log_n = 10,
                                   .log_q0 = 25,
                                   .log_q_user = {20},
                                   .log_p = {20},
                                   .log_scale = 20,
                                   .dnum = 1,
                                   .security = rlwe::Security::insecure_for_testing_only,
                                   .slots = slots,
                                   .k = k,
                                   .cosine_degree = 2,
                                   .arcsine_correction = false,
                                   .coeffs_to_slots_levels = 1,
                                   .slots_to_coeffs_levels = 1,
                                   .log_coeffs_to_slots_prime = 20,
                                   .log_eval_mod_prime = 20,
                                   .log_slots_to_coeffs_prime = 20,
                                   .log_encapsulation_prime = 20});
}

struct TinyBoot {
    boot::Parameters params = tiny_boot_parameters();
    ckks::Context context{params.ckks()};
    ckks::KeyGenerator keygen{context};
    std::string bundle = streamed(context, keygen, params);
    boot::Bootstrapper keyless{context, params};

    static std::string streamed(const ckks::Context& context, const ckks::KeyGenerator& keygen,
                                const boot::Parameters& params) {
        std::ostringstream out;
        io::save_bootstrapping_keys(out, context, keygen, params);
        return out.str();
    }
};

TinyBoot& tiny_boot() {
    static TinyBoot f;
    return f;
}

// A stream over the first `size` bytes of `bytes`, without copying them.
class ViewStream : public std::istream {
  public:
    ViewStream(const std::string& bytes, std::size_t size) : std::istream(&buffer_) {
        char* start = const_cast<char*>(bytes.data());
        buffer_.view(start, size);
    }

  private:
    struct Buffer : std::streambuf {
        void view(char* start, std::size_t size) { setg(start, start, start + size); }
    };
    Buffer buffer_;
};

bool same_key(const ckks::SwitchingKey& x, const ckks::SwitchingKey& y) {
    return x.b == y.b && x.a == y.a && x.seed == y.seed;
}

bool same_keys(const boot::BootstrappingKeys& x, const boot::BootstrappingKeys& y) {
    if (!same_key(x.relin.key, y.relin.key) || x.galois.keys.size() != y.galois.keys.size() ||
        x.encapsulation.has_value() != y.encapsulation.has_value()) {
        return false;
    }
    for (const auto& [element, key] : x.galois.keys) {
        if (!y.galois.has(element) || !same_key(key, y.galois.keys.at(element))) {
            return false;
        }
    }
    return !x.encapsulation || (x.encapsulation->special_prime == y.encapsulation->special_prime &&
                                same_key(x.encapsulation->down, y.encapsulation->down) &&
                                same_key(x.encapsulation->up, y.encapsulation->up));
}

std::uint64_t length_field(const std::string& bytes, std::size_t frame_start) {
    std::uint64_t length = 0;
    for (std::size_t k = 0; k < 8; ++k) {
        length |= std::uint64_t{static_cast<std::uint8_t>(bytes[frame_start + 42 + k])} << (8 * k);
    }
    return length;
}

// Start offsets of the frames of a bundle.
std::vector<std::size_t> frame_starts(const std::string& bytes) {
    std::vector<std::size_t> starts;
    for (std::size_t at = 0; at < bytes.size(); at += frame + length_field(bytes, at)) {
        starts.push_back(at);
    }
    return starts;
}

// Bytes of a seeded switching-key frame in a bundle over `basis` with `digits` digits.
std::size_t bundle_key_frame(const ring::RnsBasis& basis, std::size_t digits) {
    return frame + 45 + 35 + digits * packed_bytes(basis);
}

}  // namespace

TEST_CASE("io/boot/logN=12 bundle round trip: the same keys bit for bit, and they bootstrap",
          "[io][bootkeys]") {
    // The N = 2^12 insecure preset bootstrapping 8 slots (14 Galois keys rather
    // than 32 for 2048 slots). Equal keys make every bootstrap bit-exact: the
    // circuit is deterministic given its keys.
    const boot::Parameters params = boot::Parameters::preset(boot::Preset::N12_insecure, 8);
    const ckks::Context context(params.ckks());
    const ckks::KeyGenerator keygen(context);
    const boot::BootstrappingKeys keys = boot::Bootstrapper::generate_keys(context, keygen, params);
    std::ostringstream out;
    io::save(out, keys, context, params);
    const std::string bundle = out.str();

    // The documented size (docs/serialization.md), from the formula.
    const std::size_t galois = keys.galois.keys.size();
    CHECK(galois == 14);
    const std::size_t digits = io::detail::digit_count(context);
    const std::size_t key = bundle_key_frame(*context.key_basis(), digits);
    CHECK(bundle.size() == frame + 154 + 8 * galois + (1 + galois) * key);
    CHECK(bundle.size() == io::bootstrapping_keys_bytes(context, params));
    CHECK(bundle.size() == 50345253);

    std::istringstream in(bundle);
    boot::BootstrappingKeys back = io::read_bootstrapping_keys(in, context, params);
    CHECK(in.peek() == std::char_traits<char>::eof());
    CHECK(same_keys(back, keys));

    // A bootstrapper without a secret key, given the loaded keys.
    boot::Bootstrapper server(context, params);
    CHECK_FALSE(server.has_keys());
    server.set_keys(std::move(back));
    REQUIRE(server.has_keys());
    const ckks::Encoder encoder(context);
    const ckks::Encryptor encryptor(context, keygen.secret_key());
    const ckks::Decryptor decryptor(context, keygen.secret_key());
    const std::vector<double> x = random_vector(8, 41);
    const ckks::Ciphertext ct = encryptor.encrypt(encoder.encode(x, {.level = 0, .slots = 8}));
    const std::vector<double> y = encoder.decode_real(decryptor.decrypt(server.bootstrap(ct)));
    double worst = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
        worst = std::max(worst, std::abs(y[i] - x[i]));
    }
    INFO("bootstrapped with loaded keys: " << -std::log2(worst) << " bits");
    CHECK(-std::log2(worst) > 24);
}

TEST_CASE("io/boot/logN=10 streamed bundle: documented size, loads into a keyless bootstrapper",
          "[io][bootkeys]") {
    TinyBoot& f = tiny_boot();
    const std::vector<std::uint64_t> elements =
        boot::Bootstrapper::required_galois_elements(f.context, f.params);
    CHECK(elements ==
          std::vector<std::uint64_t>{5, 25, 625, 1025, 1505, 1537, 1793, 1921, 1985, 2047});
    const std::size_t key =
        bundle_key_frame(*f.context.key_basis(), io::detail::digit_count(f.context));
    const auto down_basis = io::detail::encapsulation_basis(
        f.context, boot::SparseSecretEncapsulation::special_prime_for(f.context, 20));
    const std::size_t down = bundle_key_frame(*down_basis, 1);
    CHECK(f.bundle.size() == frame + 154 + 8 * 10 + (1 + 10 + 1) * key + down);
    CHECK(f.bundle.size() == io::bootstrapping_keys_bytes(f.context, f.params));
    CHECK(f.bundle.size() == 238851);
    CHECK(frame_starts(f.bundle).size() == 1 + 1 + 10 + 2);

    // A bootstrapper without keys refuses to bootstrap, and loads the bundle.
    boot::Bootstrapper server(f.context, f.params);
    const ckks::Encoder encoder(f.context);
    const ckks::Encryptor encryptor(f.context, f.keygen.secret_key());
    const ckks::Decryptor decryptor(f.context, f.keygen.secret_key());
    const std::vector<double> x = {0.25, -0.5};
    const ckks::Ciphertext ct = encryptor.encrypt(encoder.encode(x, {.level = 0, .slots = 2}));
    REQUIRE_THROWS_AS(server.bootstrap(ct), KeyMissingError);
    REQUIRE_THROWS_WITH(server.bootstrap(ct), Catch::Contains("holds no keys"));
    std::istringstream in(f.bundle);
    io::load_bootstrapping_keys(in, server);
    REQUIRE(server.has_keys());
    CHECK(server.keys().rotation_keys == 9);
    CHECK(server.keys().conjugation_keys == 1);
    CHECK(server.keys().encapsulation_keys == 2);

    // The loaded encapsulation keys work: s -> s', ModRaise, s' -> s, and back
    // at level 0 the raise's q0 I vanishes, leaving the message.
    const ckks::Ciphertext raised = server.mod_raise_encapsulated(ct);
    const ckks::Ciphertext low = server.evaluator().drop_level_to(raised, 0);
    const std::vector<double> y = encoder.decode_real(decryptor.decrypt(low));
    CHECK(std::abs(y[0] - x[0]) < 1e-2);
    CHECK(std::abs(y[1] - x[1]) < 1e-2);

    // Files too.
    const auto path = std::filesystem::temp_directory_path() / "cloak_io_test_bootstrapping.keys";
    io::save_bootstrapping_keys_file(path.string(), f.context, f.keygen, f.params);
    CHECK(std::filesystem::file_size(path) == f.bundle.size());
    boot::Bootstrapper from_file(f.context, f.params);
    io::load_bootstrapping_keys_file(path.string(), from_file);
    CHECK(from_file.has_keys());
    std::filesystem::remove(path);
}

TEST_CASE("io/boot/logN=10 bundle errors name what was wrong", "[io][bootkeys]") {
    TinyBoot& f = tiny_boot();
    const std::vector<std::uint64_t> needed = f.keyless.galois_elements();
    const auto message_of = [&](const std::string& bytes) -> std::string {
        boot::Bootstrapper server(f.context, f.params);
        std::istringstream in(bytes);
        try {
            io::load_bootstrapping_keys(in, server);
        } catch (const SerializationError& error) {
            return error.what();
        }
        FAIL("no SerializationError");
        return "";
    };
    // A header announcing another set of keys (the check runs before any key).
    const auto header_only = [&](io::BootstrappingKeyList list) {
        std::ostringstream out;
        const io::BootstrappingKeyWriter writer(out, f.context, f.params, std::move(list));
        return out.str();
    };
    io::BootstrappingKeyList list{true, needed, true};
    list.galois_elements.erase(list.galois_elements.begin() + 1);  // 25 = 5^2
    CHECK_THAT(message_of(header_only(list)),
               Catch::Contains("no key for Galois element 25 (rotation by 2)"));
    list = {true, needed, true};
    list.galois_elements.insert(list.galois_elements.begin(), 3);
    CHECK_THAT(
        message_of(header_only(list)),
        Catch::Contains("Galois element 3, which these bootstrapping parameters do not use"));
    CHECK_THAT(message_of(header_only({false, needed, true})),
               Catch::Contains("no relinearization key"));
    CHECK_THAT(message_of(header_only({true, needed, false})),
               Catch::Contains("no encapsulation keys"));

    // Other bootstrapping parameters over the same chain: the field is named.
    {
        const boot::Parameters other = tiny_boot_parameters(20);
        boot::Bootstrapper server(f.context, other);
        std::istringstream in(f.bundle);
        REQUIRE_THROWS_WITH(io::load_bootstrapping_keys(in, server),
                            Catch::Contains("bootstrapping parameters mismatch (K is 16 in the "
                                            "bundle and 20 here"));
        const boot::Parameters four = tiny_boot_parameters(16, 4);
        boot::Bootstrapper four_slots(f.context, four);
        std::istringstream again(f.bundle);
        REQUIRE_THROWS_WITH(io::load_bootstrapping_keys(again, four_slots),
                            Catch::Contains("slots is 2 in the bundle and 4 here"));
    }
    // Another chain: the frame's parameters fingerprint.
    {
        boot::ParametersLiteral literal =
            boot::Parameters::preset_literal(boot::Preset::N12_insecure);
        literal.slots = 8;
        const boot::Parameters n12 = boot::Parameters::from(literal);
        const ckks::Context context(n12.ckks());
        boot::Bootstrapper server(context, n12);
        std::istringstream in(f.bundle);
        REQUIRE_THROWS_WITH(io::load_bootstrapping_keys(in, server),
                            Catch::Contains("parameters mismatch"));
    }
    const std::vector<std::size_t> starts = frame_starts(f.bundle);
    // Truncated in the middle of a key.
    CHECK_THAT(message_of(f.bundle.substr(0, starts[3] + 1000)), Catch::Contains("truncated data"));
    // A key of another bundle (same parameters, another secret) spliced in.
    const std::string other =
        TinyBoot::streamed(f.context, ckks::KeyGenerator(f.context), f.params);
    CHECK_THAT(message_of(f.bundle.substr(0, starts[2]) + other.substr(starts[2])),
               Catch::Contains("belongs to another bundle"));
    // Two Galois keys swapped.
    const std::string swapped =
        f.bundle.substr(0, starts[2]) + f.bundle.substr(starts[3], starts[4] - starts[3]) +
        f.bundle.substr(starts[2], starts[3] - starts[2]) + f.bundle.substr(starts[4]);
    CHECK_THAT(message_of(swapped), Catch::Contains("out of order"));

    // Writer misuse is the caller's error.
    std::ostringstream out;
    io::BootstrappingKeyWriter writer(out, f.context, f.params, {true, needed, true});
    REQUIRE_THROWS_WITH(writer.write_galois(needed[0], f.keygen.galois_key(needed[0])),
                        Catch::Contains("is not the next key"));
    REQUIRE_THROWS_WITH(writer.finish(), Catch::Contains("0 of the 13 keys"));
    // And set_keys names a missing key.
    boot::BootstrappingKeys keys = boot::Bootstrapper::generate_keys(f.context, f.keygen, f.params);
    keys.galois.keys.erase(ckks::conjugation_galois_element(f.context.degree()));
    boot::Bootstrapper server(f.context, f.params);
    REQUIRE_THROWS_AS(server.set_keys(keys), KeyMissingError);
    REQUIRE_THROWS_WITH(server.set_keys(keys),
                        Catch::Contains("no key for Galois element 2047 (conjugation)"));
}

TEST_CASE("io/robustness/logN=10 bundle: every header byte, sampled key bytes, lying lengths",
          "[io][bootkeys]") {
    TinyBoot& f = tiny_boot();
    std::string bytes = f.bundle;
    const std::vector<std::size_t> starts = frame_starts(bytes);
    const auto require_error = [&](std::size_t size) {
        boot::Bootstrapper& server = f.keyless;
        ViewStream in(bytes, size);
        REQUIRE_THROWS_AS(io::load_bootstrapping_keys(in, server), SerializationError);
        REQUIRE_FALSE(server.has_keys());
    };
    const auto flip_and_cut = [&](std::size_t i) {
        INFO("byte " << i << " of " << bytes.size() << " flipped, or the bundle cut there");
        bytes[i] = static_cast<char>(bytes[i] ^ 0x5a);
        require_error(bytes.size());
        bytes[i] = static_cast<char>(bytes[i] ^ 0x5a);
        require_error(i);
    };
    // Every byte of the header frame.
    for (std::size_t i = 0; i < starts[1]; ++i) {
        flip_and_cut(i);
    }
    // In each key frame: its 50-byte frame header and the key's 45 leading bytes
    // (bundle id, position, kind, element) (every byte in the first two keys,
    // every 11th after), 8 bytes spread over the switching key and the last 8
    // checksum bytes; the full pass is the same code.
    for (std::size_t k = 1; k < starts.size(); ++k) {
        const std::size_t start = starts[k];
        const std::size_t end = k + 1 < starts.size() ? starts[k + 1] : bytes.size();
        for (std::size_t i = start; i < start + io::header_bytes + 45; i += k < 3 ? 1 : 11) {
            flip_and_cut(i);
        }
        for (std::size_t j = 0; j < 8; ++j) {
            flip_and_cut(start + io::header_bytes + 45 + j * (end - start - frame - 45) / 8);
        }
        for (std::size_t i = end - 8; i < end; ++i) {
            flip_and_cut(i);
        }
    }
    // Lying length fields in the header frame and in a key frame.
    for (const std::size_t start : {starts[0], starts[2]}) {
        const std::uint64_t real = length_field(bytes, start);
        for (std::uint64_t lie : {std::numeric_limits<std::uint64_t>::max(), std::uint64_t{1} << 40,
                                  std::uint64_t{1} << 62, std::uint64_t{bytes.size()}, real + 1,
                                  real - 1, std::uint64_t{0}}) {
            const std::string saved_bytes = bytes;
            for (std::size_t k = 0; k < 8; ++k) {
                bytes[start + 42 + k] = static_cast<char>(lie >> (8 * k));
            }
            INFO("length field of the frame at " << start << " set to " << lie);
            require_error(bytes.size());
            bytes = saved_bytes;
        }
    }
    // The intact bundle still loads (the loop restored every byte).
    boot::Bootstrapper server(f.context, f.params);
    ViewStream in(bytes, bytes.size());
    io::load_bootstrapping_keys(in, server);
    CHECK(server.has_keys());
}
