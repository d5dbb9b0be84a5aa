// The loaders under fuzzing, their round-trip check and the seed corpus.
// Small insecure parameters (N = 2^10, as in tests/io_test.cpp) keep each
// iteration in the milliseconds; bootstrapping-key bundles use the smallest
// bootstrapping parameters (tests/io_test.cpp, tiny_boot_parameters) and seeds
// of two keys each.
#include "fuzz.hpp"

#include <cloak/boot/bootstrapper.hpp>
#include <cloak/ckks/encoder.hpp>
#include <cloak/ckks/encryptor.hpp>
#include <cloak/ckks/evaluator.hpp>
#include <cloak/ckks/keys.hpp>
#include <cloak/io/boot.hpp>
#include <cloak/io/ml.hpp>
#include <cloak/io/serialize.hpp>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace cloak_fuzz {
namespace {

using namespace cloak;

const ckks::Context& context() {
    static const ckks::Context instance(
        ckks::Parameters::from({.log_n = 10,
                                .log_q = {35, 25, 25},
                                .log_p = {35},
                                .log_scale = 25,
                                .security = rlwe::Security::insecure_for_testing_only}));
    return instance;
}

const boot::Parameters& boot_parameters() {
    static const boot::Parameters instance =
        boot::Parameters::from({.log_n = 10,
                                .log_q0 = 25,
                                .log_q_user = {20},
                                .log_p = {20},
                                .log_scale = 20,
                                .dnum = 1,
                                .security = rlwe::Security::insecure_for_testing_only,
                                .slots = 2,
                                .cosine_degree = 2,
                                .arcsine_correction = false,
                                .coeffs_to_slots_levels = 1,
                                .slots_to_coeffs_levels = 1,
                                .log_coeffs_to_slots_prime = 20,
                                .log_eval_mod_prime = 20,
                                .log_slots_to_coeffs_prime = 20,
                                .log_encapsulation_prime = 20});
    return instance;
}

const ckks::Context& boot_context() {
    static const ckks::Context instance(boot_parameters().ckks());
    return instance;
}

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
    return !x.encapsulation || (same_key(x.encapsulation->down, y.encapsulation->down) &&
                                same_key(x.encapsulation->up, y.encapsulation->up));
}

[[noreturn]] void finding(std::string_view what) {
    std::fprintf(stderr, "cloak fuzz finding: %.*s\n", static_cast<int>(what.size()), what.data());
    std::abort();
}

template <typename T>
std::string save_bytes(const T& object) {
    std::ostringstream out;
    if constexpr (std::is_same_v<T, ckks::SecretKey>) {
        io::save_secret_key(out, object, context());
    } else if constexpr (std::is_same_v<T, boot::BootstrappingKeys>) {
        io::save(out, object, boot_context(), boot_parameters());
    } else if constexpr (std::is_same_v<T, ckks::Parameters> || std::is_same_v<T, ml::Model>) {
        io::save(out, object);
    } else {
        io::save(out, object, context());
    }
    return out.str();
}

template <typename T>
T load_bytes(std::istream& in) {
    if constexpr (std::is_same_v<T, ckks::SecretKey>) {
        return io::load_secret_key(in, context());
    } else if constexpr (std::is_same_v<T, boot::BootstrappingKeys>) {
        return io::read_bootstrapping_keys(in, boot_context(), boot_parameters());
    } else if constexpr (std::is_same_v<T, ckks::Parameters> || std::is_same_v<T, ml::Model>) {
        return io::load<T>(in);
    } else {
        return io::load<T>(in, context());
    }
}

/// Loads `bytes` as a T: either an object, which must then save and load again
/// (to an equal object where T compares), or a SerializationError.
template <typename T>
void load_one(const std::string& bytes) {
    std::istringstream in(bytes);
    std::optional<T> object;
    try {
        object.emplace(load_bytes<T>(in));
    } catch (const SerializationError&) {
        return;  // the contract: corrupt bytes end in a SerializationError
    } catch (const std::exception& error) {
        finding(std::string("a loader threw something other than SerializationError: ") +
                error.what());
    }
    try {
        std::istringstream again(save_bytes(*object));
        const T back = load_bytes<T>(again);
        if constexpr (std::is_same_v<T, ckks::Parameters>) {
            if (!(back == *object)) {
                finding("parameters changed in a save/load round trip");
            }
        } else if constexpr (std::is_same_v<T, ckks::Ciphertext>) {
            if (back.parts() != object->parts() || back.scale() != object->scale() ||
                back.slots() != object->slots()) {
                finding("a ciphertext changed in a save/load round trip");
            }
        } else if constexpr (std::is_same_v<T, ml::Model>) {
            if (back.weights != object->weights || back.normalizer != object->normalizer) {
                finding("a model changed in a save/load round trip");
            }
        } else if constexpr (std::is_same_v<T, boot::BootstrappingKeys>) {
            if (!same_keys(back, *object)) {
                finding("bootstrapping keys changed in a save/load round trip");
            }
        }
    } catch (const std::exception& error) {
        finding(std::string("a loaded object did not save and load again: ") + error.what());
    }
}

/// Recomputes the checksum of every complete frame in `bytes`, in order.
bool repair_checksums(std::string& bytes) {
    bool changed = false;
    std::size_t position = 0;
    while (bytes.size() - position >= io::header_bytes + io::checksum_bytes) {
        std::uint64_t length = 0;
        for (std::size_t k = 0; k < 8; ++k) {
            length |= std::uint64_t{static_cast<std::uint8_t>(bytes[position + 42 + k])} << (8 * k);
        }
        const std::size_t available =
            bytes.size() - position - io::header_bytes - io::checksum_bytes;
        if (length > available) {
            break;
        }
        const auto* start = reinterpret_cast<const std::uint8_t*>(bytes.data() + position);
        const auto checksum =
            io::detail::blake2b({std::span<const std::uint8_t>(start, io::header_bytes + length)});
        const std::size_t at = position + io::header_bytes + length;
        for (std::size_t k = 0; k < checksum.size(); ++k) {
            changed = changed || bytes[at + k] != static_cast<char>(checksum[k]);
            bytes[at + k] = static_cast<char>(checksum[k]);
        }
        position = at + io::checksum_bytes;
    }
    return changed;
}

template <typename T>
void fuzz_one(const std::uint8_t* data, std::size_t size) {
    std::string bytes(reinterpret_cast<const char*>(data), size);
    load_one<T>(bytes);
    if (repair_checksums(bytes)) {
        load_one<T>(bytes);
    }
}

void write_file(const std::filesystem::path& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) {
        throw std::runtime_error("cannot write " + path.string());
    }
}

}  // namespace

std::string_view name(Target target) {
    switch (target) {
        case Target::parameters:
            return "parameters";
        case Target::plaintext:
            return "plaintext";
        case Target::ciphertext:
            return "ciphertext";
        case Target::public_key:
            return "public_key";
        case Target::relin_key:
            return "relin_key";
        case Target::galois_keys:
            return "galois_keys";
        case Target::secret_key:
            return "secret_key";
        case Target::model:
            return "model";
        case Target::encrypted_model:
            return "encrypted_model";
        case Target::bootstrapping_keys:
            return "bootstrapping_keys";
    }
    return "unknown";
}

/// Calls f.template operator()<T>() with the type that `target` loads.
template <typename F>
void dispatch(Target target, F&& f) {
    switch (target) {
        case Target::parameters:
            return f.template operator()<ckks::Parameters>();
        case Target::plaintext:
            return f.template operator()<ckks::Plaintext>();
        case Target::ciphertext:
            return f.template operator()<ckks::Ciphertext>();
        case Target::public_key:
            return f.template operator()<ckks::PublicKey>();
        case Target::relin_key:
            return f.template operator()<ckks::RelinKey>();
        case Target::galois_keys:
            return f.template operator()<ckks::GaloisKeys>();
        case Target::secret_key:
            return f.template operator()<ckks::SecretKey>();
        case Target::model:
            return f.template operator()<ml::Model>();
        case Target::encrypted_model:
            return f.template operator()<ml::EncryptedModel>();
        case Target::bootstrapping_keys:
            return f.template operator()<boot::BootstrappingKeys>();
    }
}

int run(Target target, const std::uint8_t* data, std::size_t size) {
    dispatch(target, [&]<typename T>() { fuzz_one<T>(data, size); });
    return 0;
}

void write_corpus(const std::string& directory) {
    const ckks::Context& ctx = context();
    const ckks::KeyGenerator keygen(ctx);
    const ckks::PublicKey public_key = keygen.public_key();
    const ckks::Encoder encoder(ctx);
    const ckks::Encryptor encryptor(ctx, public_key);
    const ckks::Encryptor secret_encryptor(ctx, keygen.secret_key());
    const ckks::RelinKey relin_key = keygen.relin_key();
    const ckks::Evaluator evaluator(ctx, relin_key);
    std::vector<double> values(ctx.slots());
    for (std::size_t i = 0; i < values.size(); ++i) {
        values[i] = static_cast<double>(i % 7) / 8 - 0.4;
    }
    const ckks::Plaintext full = encoder.encode(values);
    const ckks::Plaintext small =
        encoder.encode(std::span<const double>(values).first(8), {.level = 0, .slots = 8});

    ml::Model model{{0.5, -1.25, 0.75, 2.0}, std::nullopt};
    ml::Model normalized = model;
    normalized.normalizer =
        ml::Normalizer(ml::Scaling::min_max, {0.5, 2.0, 0.125}, {-1.0, 0.25, 0.0}, true);
    ml::EncryptedModel encrypted_model{secret_encryptor.encrypt(full),
                                       ml::Packing::of(100, 3, ctx.slots()), std::nullopt};
    ml::EncryptedModel private_model = encrypted_model;
    private_model.weights = encryptor.encrypt(small);
    private_model.privacy = ml::PrivacyReport{1.0, 1e-5, 0.3, 0.02};
    ckks::GaloisKeys one_key = keygen.galois_keys({1});

    // Bundles of two keys each (a full one at these parameters is 14 keys,
    // 239 KB): the relinearization key and one Galois key; the two encapsulation keys.
    const ckks::Context& boot_ctx = boot_context();
    const ckks::KeyGenerator boot_keygen(boot_ctx);
    boot::BootstrappingKeys relin_and_rotation;
    relin_and_rotation.relin = boot_keygen.relin_key();
    relin_and_rotation.galois.keys.emplace(5, boot_keygen.galois_key(5));
    boot::BootstrappingKeys encapsulation;
    encapsulation.encapsulation = boot::SparseSecretEncapsulation::generate_keys(
        boot_ctx, boot_keygen, boot_parameters().encapsulation_hamming_weight(),
        boot_parameters().log_encapsulation_prime());

    std::vector<std::pair<Target, std::string>> seeds = {
        {Target::parameters, save_bytes(ctx.parameters())},
        {Target::parameters, save_bytes(ckks::Parameters::preset(ckks::Preset::N13_QP218))},
        {Target::plaintext, save_bytes(full)},
        {Target::plaintext, save_bytes(small)},
        {Target::ciphertext, save_bytes(encryptor.encrypt(small))},
        {Target::ciphertext, save_bytes(secret_encryptor.encrypt(small))},
        {Target::ciphertext, save_bytes(evaluator.multiply_no_relin(encryptor.encrypt(small),
                                                                    encryptor.encrypt(small)))},
        {Target::public_key, save_bytes(public_key)},
        {Target::relin_key, save_bytes(relin_key)},
        {Target::galois_keys, save_bytes(one_key)},
        {Target::galois_keys, save_bytes(ckks::GaloisKeys{})},
        {Target::secret_key, save_bytes(keygen.secret_key())},
        {Target::model, save_bytes(model)},
        {Target::model, save_bytes(normalized)},
        {Target::encrypted_model, save_bytes(encrypted_model)},
        {Target::encrypted_model, save_bytes(private_model)},
        {Target::bootstrapping_keys, save_bytes(relin_and_rotation)},
        {Target::bootstrapping_keys, save_bytes(encapsulation)},
    };
    std::size_t index = 0;
    for (const auto& seed : seeds) {
        const Target target = seed.first;
        const std::string& bytes = seed.second;
        const auto folder = std::filesystem::path(directory) / std::string(name(target));
        std::filesystem::create_directories(folder);
        write_file(folder / ("seed-" + std::to_string(index++)), bytes);
        // Each seed must load (and round trip): a seed that fails would only test
        // the first check.
        dispatch(target, [&]<typename T>() {
            std::istringstream in(bytes);
            (void)load_bytes<T>(in);
            load_one<T>(bytes);
        });
    }
}

}  // namespace cloak_fuzz
