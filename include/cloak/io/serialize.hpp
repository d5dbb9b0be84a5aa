// cloak: saving and loading parameters, plaintexts, ciphertexts and keys.
//
//     io::save(stream, ciphertext, context);
//     ckks::Ciphertext back = io::load<ckks::Ciphertext>(stream, context);
//     io::save(stream, context.parameters());       // parameters need no context
//     ckks::Parameters p = io::load<ckks::Parameters>(stream);
//     io::save_secret_key(stream, secret_key, context);   // never through io::save
//
// Every object is one frame of io/format.hpp (header, payload, checksum); Galois
// keys are an index frame followed by one frame per key, so they are written and
// read one key at a time. Objects whose uniform half comes from a seed (public
// keys, switching keys, secret-key encryptions) store the 32-byte seed instead,
// after checking that the seed really regenerates it.
//
// Payload layouts (integers little-endian; a "poly" is a form byte, 0 for
// coefficient and 1 for evaluation, then its limbs packed to bit_count(q_i - 1)
// bits per coefficient):
//   Parameters   u8 log_n, u16 #q, u8 bits of each q, u16 #p, u8 bits of each p,
//                f64 log_scale, u64 dnum, u8 secret, u64 hamming weight,
//                u8 security, u64 each q prime, u64 each p prime
//   Plaintext    u32 level, f64 scale, u64 slots, poly over Q_level
//   Ciphertext   u32 level, f64 scale, u64 slots, u8 parts (2 or 3), u8 c1 kind
//                (0 stored, 1 seeded), c0, then c1 or its 32-byte seed, then c2
//   PublicKey    32-byte seed, u8 a kind (0 stored, 1 seeded), b, [a]
//   SecretKey    u8 kind: 1 = ternary, 2 bits per coefficient (00 = 0, 01 = 1,
//                10 = -1), N / 4 bytes; 0 = the evaluation-form poly over Q_L ∪ P
//   RelinKey     switching key: 32-byte seed, u8 a kind, u16 digits, b_0..b_{d-1},
//                [a_0..a_{d-1}], all over Q_L ∪ P
//   GaloisKeys   u64 count, then count u64 Galois elements in increasing order;
//                followed by count galois_key frames: u64 element, switching key
#pragma once

#include <sodium.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <istream>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <cloak/ckks/ciphertext.hpp>
#include <cloak/ckks/context.hpp>
#include <cloak/ckks/keys.hpp>
#include <cloak/ckks/parameters.hpp>
#include <cloak/core/bits.hpp>
#include <cloak/core/error.hpp>
#include <cloak/core/random.hpp>
#include <cloak/io/format.hpp>
#include <cloak/ring/poly.hpp>

namespace cloak::inline v0::io {

namespace detail {

template <typename T>
inline constexpr bool always_false = false;

/// Bits per packed coefficient of prime q: enough for q - 1.
inline int coefficient_bits(std::uint64_t q) noexcept {
    return core::bit_count(q - 1);
}

/// Bytes of a packed polynomial over `basis`: its form byte and its limbs.
inline std::uint64_t poly_bytes(const ring::RnsBasis& basis) noexcept {
    std::uint64_t bytes = 1;
    for (std::uint64_t q : basis.values()) {
        bytes += (basis.degree() * static_cast<std::uint64_t>(coefficient_bits(q)) + 7) / 8;
    }
    return bytes;
}

/// Number of key-switching digits of the context (as KeyGenerator makes them).
inline std::size_t digit_count(const ckks::Context& context) noexcept {
    const std::size_t q_count = context.parameters().q_primes().size();
    const std::size_t size = context.parameters().digit_size();
    return (q_count + size - 1) / size;
}

inline void write_poly(ByteWriter& w, const ring::Poly& poly) {
    w.u8(static_cast<std::uint8_t>(poly.form()));
    for (std::size_t i = 0; i < poly.limbs(); ++i) {
        w.packed(poly.limb(i), coefficient_bits(poly.modulus(i).value()));
    }
}

/// A polynomial over `basis` (the context's own basis object, so that level_of
/// recognises it), every coefficient checked below its prime.
inline ring::Poly read_poly(ByteReader& r, const std::shared_ptr<const ring::RnsBasis>& basis,
                            std::string_view name) {
    const std::uint8_t form = r.u8("a polynomial's form byte");
    if (form > static_cast<std::uint8_t>(ring::Form::evaluation)) {
        throw SerializationError(
            cloak::detail::message(r.where(), ": ", name, " has form byte ", int{form},
                                   "; expected 0 (coefficient) or 1 (evaluation)"));
    }
    ring::Poly poly(basis, static_cast<ring::Form>(form));
    for (std::size_t i = 0; i < poly.limbs(); ++i) {
        const std::uint64_t q = poly.modulus(i).value();
        const std::string field = cloak::detail::message(name, " limb ", i);
        r.packed_below(poly.limb(i), coefficient_bits(q), q, field);
    }
    return poly;
}

inline void write_seed(ByteWriter& w, const core::Seed& seed) {
    w.raw(seed);
}

inline core::Seed read_seed(ByteReader& r, std::string_view field) {
    core::Seed seed{};
    const auto bytes = r.take(seed.size(), field);
    std::copy(bytes.begin(), bytes.end(), seed.begin());
    return seed;
}

/// 0 = stored explicitly, 1 = regenerated from the seed.
inline bool read_seeded_flag(ByteReader& r, std::string_view field) {
    const std::uint8_t kind = r.u8(field);
    if (kind > 1) {
        throw SerializationError(cloak::detail::message(r.where(), ": ", field, " is ", int{kind},
                                                        "; expected 0 (stored) or 1 (seeded)"));
    }
    return kind == 1;
}

/// Checks that `poly` was made by this context (its basis is the context's own
/// basis object, as Context::level_of requires), so that the fingerprint written
/// is the one of the parameters it was really made under.
inline void require_basis(const ring::Poly& poly,
                          const std::shared_ptr<const ring::RnsBasis>& expected,
                          std::string_view where, std::string_view name) {
    if (poly.empty() || poly.basis_ptr() != expected) {
        throw InvalidArgumentError(cloak::detail::message(
            where, ": ", name, poly.empty() ? " is empty" : " was made by another ckks::Context",
            "; save an object with the Context it was made with (or loaded into)"));
    }
}

inline void require_finite_scale(double scale, std::string_view where) {
    if (!(std::isfinite(scale) && scale > 0)) {
        throw SerializationError(cloak::detail::message(
            where, ": scale ", scale, " is not finite and positive; the data is corrupt"));
    }
}

inline void require_slots(std::uint64_t slots, const ckks::Context& context,
                          std::string_view where) {
    if (slots == 0 || !core::is_power_of_two(slots) || slots > context.slots()) {
        throw SerializationError(cloak::detail::message(
            where, ": slots = ", slots, " is not a power of two in [1, N/2 = ", context.slots(),
            "]; the data is corrupt"));
    }
}

inline std::size_t read_level(ByteReader& r, const ckks::Context& context) {
    const std::uint32_t level = r.u32("the level");
    if (level > context.max_level()) {
        throw SerializationError(cloak::detail::message(
            r.where(), ": level ", level, " is above the context's max level ", context.max_level(),
            "; the data is corrupt or made for other parameters"));
    }
    return level;
}

// ---- switching keys --------------------------------------------------------

/// A switching key of `digits` (b, a) pairs over `basis`, its a parts replaced
/// by the seed when the seed regenerates them exactly.
inline void write_switching_key(ByteWriter& w, const ckks::SwitchingKey& key,
                                const std::shared_ptr<const ring::RnsBasis>& basis,
                                std::size_t digits, std::string_view where) {
    if (key.b.size() != digits || key.a.size() != digits) {
        throw InvalidArgumentError(cloak::detail::message(
            where, ": the switching key has ", key.b.size(), " b and ", key.a.size(),
            " a polynomials; this Context's keys have ", digits, " digits"));
    }
    bool seeded = true;
    for (std::size_t d = 0; d < digits; ++d) {
        require_basis(key.b[d], basis, where, "a switching key's b part");
        require_basis(key.a[d], basis, where, "a switching key's a part");
        seeded = seeded && key.a[d] == ckks::KeyGenerator::uniform_poly(basis, key.seed, d);
    }
    write_seed(w, key.seed);
    w.u8(seeded ? 1 : 0);
    w.u16(static_cast<std::uint16_t>(digits));
    for (const ring::Poly& b : key.b) {
        write_poly(w, b);
    }
    if (!seeded) {
        for (const ring::Poly& a : key.a) {
            write_poly(w, a);
        }
    }
}

inline void write_switching_key(ByteWriter& w, const ckks::SwitchingKey& key,
                                const ckks::Context& context, std::string_view where) {
    write_switching_key(w, key, context.key_basis(), digit_count(context), where);
}

inline ckks::SwitchingKey read_switching_key(ByteReader& r,
                                             const std::shared_ptr<const ring::RnsBasis>& basis,
                                             std::size_t expected_digits) {
    ckks::SwitchingKey key;
    key.seed = read_seed(r, "the switching key's seed");
    const bool seeded = read_seeded_flag(r, "the switching key's a kind");
    const std::uint16_t digits = r.u16("the digit count");
    if (digits != expected_digits) {
        throw SerializationError(cloak::detail::message(
            r.where(), ": the switching key has ", digits, " digits; this context's keys have ",
            expected_digits, "; the data is corrupt"));
    }
    for (std::size_t d = 0; d < digits; ++d) {
        key.b.push_back(read_poly(r, basis, "switching key b"));
    }
    for (std::size_t d = 0; d < digits; ++d) {
        key.a.push_back(seeded ? ckks::KeyGenerator::uniform_poly(basis, key.seed, d)
                               : read_poly(r, basis, "switching key a"));
    }
    return key;
}

inline ckks::SwitchingKey read_switching_key(ByteReader& r, const ckks::Context& context) {
    return read_switching_key(r, context.key_basis(), digit_count(context));
}

/// Bytes of a switching key of `digits` digits over `basis`, stored (not seeded).
inline std::uint64_t max_switching_key_bytes(const ring::RnsBasis& basis, std::size_t digits) {
    return 32 + 1 + 2 + 2 * digits * poly_bytes(basis);
}

/// Bytes of a seeded switching key: seed, kind, digit count and the b parts.
inline std::uint64_t seeded_switching_key_bytes(const ring::RnsBasis& basis, std::size_t digits) {
    return 32 + 1 + 2 + digits * poly_bytes(basis);
}

inline std::uint64_t max_switching_key_bytes(const ckks::Context& context) {
    return max_switching_key_bytes(*context.key_basis(), digit_count(context));
}

// ---- codecs: one per object type -------------------------------------------

template <typename T>
struct Codec;

template <>
struct Codec<ckks::Plaintext> {
    static constexpr ObjectType type = ObjectType::plaintext;
    static constexpr std::string_view load_name = "io::load<ckks::Plaintext>";

    static std::uint64_t max_payload(const ckks::Context& context) {
        return 4 + 8 + 8 + poly_bytes(*context.level(context.max_level()).q);
    }
    static void write(ByteWriter& w, const ckks::Plaintext& plaintext,
                      const ckks::Context& context) {
        const std::size_t level = plaintext.level();
        if (plaintext.empty() || level > context.max_level()) {
            throw InvalidArgumentError(
                "io::save: the plaintext is empty or has more primes than this Context's "
                "max level; save it with the Context it was made with");
        }
        require_basis(plaintext.poly(), context.level(level).q, "io::save", "the plaintext");
        w.u32(static_cast<std::uint32_t>(level));
        w.f64(plaintext.scale());
        w.u64(plaintext.slots());
        write_poly(w, plaintext.poly());
    }
    static ckks::Plaintext read(ByteReader& r, const ckks::Context& context) {
        const std::size_t level = read_level(r, context);
        const double scale = r.f64("the scale");
        require_finite_scale(scale, r.where());
        const std::uint64_t slots = r.u64("the slot count");
        require_slots(slots, context, r.where());
        ring::Poly poly = read_poly(r, context.level(level).q, "the plaintext");
        return ckks::Plaintext(std::move(poly), scale, static_cast<std::size_t>(slots));
    }
};

template <>
struct Codec<ckks::Ciphertext> {
    static constexpr ObjectType type = ObjectType::ciphertext;
    static constexpr std::string_view load_name = "io::load<ckks::Ciphertext>";

    static std::uint64_t max_payload(const ckks::Context& context) {
        return 4 + 8 + 8 + 1 + 1 + 32 + 3 * poly_bytes(*context.level(context.max_level()).q);
    }
    static void write(ByteWriter& w, const ckks::Ciphertext& ciphertext,
                      const ckks::Context& context) {
        if (ciphertext.size() < 2 || ciphertext.size() > 3) {
            throw InvalidArgumentError(
                cloak::detail::message("io::save: the ciphertext has ", ciphertext.size(),
                                       " parts; only ciphertexts of 2 or 3 parts can be saved"));
        }
        const std::size_t level = ciphertext.level();
        if (level > context.max_level()) {
            throw InvalidArgumentError(cloak::detail::message(
                "io::save: the ciphertext is at level ", level, ", above this Context's max ",
                context.max_level(), "; save it with the Context it was made with"));
        }
        const auto& basis = context.level(level).q;
        for (const ring::Poly& part : ciphertext.parts()) {
            require_basis(part, basis, "io::save", "a ciphertext part");
        }
        // The seed is only a hint (operations do not clear it): trust it only when
        // it regenerates c1 exactly.
        const auto& seed = ciphertext.public_seed();
        const bool seeded =
            seed && ciphertext[1] == ckks::KeyGenerator::uniform_poly(basis, *seed, 0);
        w.u32(static_cast<std::uint32_t>(level));
        w.f64(ciphertext.scale());
        w.u64(ciphertext.slots());
        w.u8(static_cast<std::uint8_t>(ciphertext.size()));
        w.u8(seeded ? 1 : 0);
        write_poly(w, ciphertext[0]);
        if (seeded) {
            write_seed(w, *seed);
        } else {
            write_poly(w, ciphertext[1]);
        }
        if (ciphertext.size() == 3) {
            write_poly(w, ciphertext[2]);
        }
    }
    static ckks::Ciphertext read(ByteReader& r, const ckks::Context& context) {
        const std::size_t level = read_level(r, context);
        const double scale = r.f64("the scale");
        require_finite_scale(scale, r.where());
        const std::uint64_t slots = r.u64("the slot count");
        require_slots(slots, context, r.where());
        const std::uint8_t parts = r.u8("the part count");
        if (parts < 2 || parts > 3) {
            throw SerializationError(cloak::detail::message(r.where(), ": the ciphertext has ",
                                                            int{parts}, " parts; expected 2 or 3"));
        }
        const bool seeded = read_seeded_flag(r, "the c1 kind");
        const auto& basis = context.level(level).q;
        std::vector<ring::Poly> polys;
        polys.push_back(read_poly(r, basis, "c0"));
        std::optional<core::Seed> seed;
        if (seeded) {
            seed = read_seed(r, "the seed of c1");
            polys.push_back(ckks::KeyGenerator::uniform_poly(basis, *seed, 0));
        } else {
            polys.push_back(read_poly(r, basis, "c1"));
        }
        if (parts == 3) {
            polys.push_back(read_poly(r, basis, "c2"));
        }
        ckks::Ciphertext ciphertext(std::move(polys), scale, static_cast<std::size_t>(slots));
        ciphertext.set_public_seed(seed);
        return ciphertext;
    }
};

template <>
struct Codec<ckks::PublicKey> {
    static constexpr ObjectType type = ObjectType::public_key;
    static constexpr std::string_view load_name = "io::load<ckks::PublicKey>";

    static std::uint64_t max_payload(const ckks::Context& context) {
        return 32 + 1 + 2 * poly_bytes(*context.key_basis());
    }
    static void write(ByteWriter& w, const ckks::PublicKey& key, const ckks::Context& context) {
        const auto& basis = context.key_basis();
        require_basis(key.b, basis, "io::save", "the public key's b");
        require_basis(key.a, basis, "io::save", "the public key's a");
        const bool seeded = key.a == ckks::KeyGenerator::uniform_poly(basis, key.seed, 0);
        write_seed(w, key.seed);
        w.u8(seeded ? 1 : 0);
        write_poly(w, key.b);
        if (!seeded) {
            write_poly(w, key.a);
        }
    }
    static ckks::PublicKey read(ByteReader& r, const ckks::Context& context) {
        const auto& basis = context.key_basis();
        ckks::PublicKey key;
        key.seed = read_seed(r, "the public key's seed");
        const bool seeded = read_seeded_flag(r, "the public key's a kind");
        key.b = read_poly(r, basis, "the public key's b");
        key.a = seeded ? ckks::KeyGenerator::uniform_poly(basis, key.seed, 0)
                       : read_poly(r, basis, "the public key's a");
        return key;
    }
};

template <>
struct Codec<ckks::RelinKey> {
    static constexpr ObjectType type = ObjectType::relin_key;
    static constexpr std::string_view load_name = "io::load<ckks::RelinKey>";

    static std::uint64_t max_payload(const ckks::Context& context) {
        return max_switching_key_bytes(context);
    }
    static void write(ByteWriter& w, const ckks::RelinKey& key, const ckks::Context& context) {
        write_switching_key(w, key.key, context, "io::save (ckks::RelinKey)");
    }
    static ckks::RelinKey read(ByteReader& r, const ckks::Context& context) {
        return ckks::RelinKey{read_switching_key(r, context)};
    }
};

/// The secret key: refused by io::save and io::load; used by save_secret_key and
/// load_secret_key only.
template <>
struct Codec<ckks::SecretKey> {
    static constexpr ObjectType type = ObjectType::secret_key;
    static constexpr std::string_view load_name = "io::load_secret_key";

    static std::uint64_t max_payload(const ckks::Context& context) {
        return 1 + poly_bytes(*context.key_basis());
    }
    static void write(ByteWriter& w, const ckks::SecretKey& key, const ckks::Context& context) {
        const auto& basis = context.key_basis();
        require_basis(key.poly(), basis, "io::save_secret_key", "the secret key");
        // Ternary secrets (every distribution cloak draws) take 2 bits per
        // coefficient; anything else is stored as the polynomial itself.
        ring::Poly s = key.poly();
        s.to_coefficient();
        const std::size_t n = s.degree();
        std::vector<std::uint64_t> codes(n);
        bool ternary = key.poly().form() == ring::Form::evaluation;
        for (std::size_t j = 0; j < n && ternary; ++j) {
            const std::uint64_t c = s.limb(0)[j];
            const std::uint64_t q0 = s.modulus(0).value();
            const std::uint64_t code = c == 0 ? 0 : c == 1 ? 1 : c == q0 - 1 ? 2 : 3;
            ternary = code != 3;
            for (std::size_t i = 1; i < s.limbs() && ternary; ++i) {
                const std::uint64_t qi = s.modulus(i).value();
                const std::uint64_t expected = code == 0 ? 0 : code == 1 ? 1 : qi - 1;
                ternary = s.limb(i)[j] == expected;
            }
            codes[j] = code;
        }
        if (ternary) {
            w.u8(1);
            w.packed(codes, 2);
        } else {
            w.u8(0);
            write_poly(w, key.poly());
        }
        sodium_memzero(codes.data(), codes.size() * sizeof(std::uint64_t));
        sodium_memzero(s.data().data(), s.data().size_bytes());
    }
    static ckks::SecretKey read(ByteReader& r, const ckks::Context& context) {
        const auto& basis = context.key_basis();
        const std::uint8_t kind = r.u8("the secret key kind");
        if (kind == 0) {
            return ckks::SecretKey(read_poly(r, basis, "the secret key"));
        }
        if (kind != 1) {
            throw SerializationError(cloak::detail::message(r.where(), ": secret key kind ",
                                                            int{kind},
                                                            "; expected 0 (polynomial) or 1 "
                                                            "(ternary)"));
        }
        const std::size_t n = context.degree();
        std::vector<std::uint64_t> codes(n);
        r.packed_below(codes, 2, 3, "the ternary secret");
        std::vector<std::int64_t> values(n);
        for (std::size_t j = 0; j < n; ++j) {
            values[j] = codes[j] == 2 ? -1 : static_cast<std::int64_t>(codes[j]);
        }
        ring::Poly s = ring::Poly::from_signed(basis, values);
        sodium_memzero(codes.data(), codes.size() * sizeof(std::uint64_t));
        sodium_memzero(values.data(), values.size() * sizeof(std::int64_t));
        s.to_evaluation();
        return ckks::SecretKey(std::move(s));
    }
};

// ---- frames ----------------------------------------------------------------

template <typename T>
void save_object(std::ostream& out, const T& object, const ckks::Context& context,
                 bool secret = false) {
    ByteWriter w;
    try {
        Codec<T>::write(w, object, context);
        write_object(out, Codec<T>::type, fingerprint(context.parameters()), w.bytes(), "io::save");
    } catch (...) {
        if (secret) {
            w.wipe();
        }
        throw;
    }
    if (secret) {
        w.wipe();
    }
}

template <typename T>
T load_object(std::istream& in, const ckks::Context& context, bool secret = false) {
    const Object object = read_object(in, Codec<T>::type, fingerprint(context.parameters()),
                                      Codec<T>::max_payload(context), Codec<T>::load_name, secret);
    ByteReader r(object.payload, Codec<T>::load_name);
    T result = Codec<T>::read(r, context);
    r.expect_end();
    return result;
}

// ---- objects that belong to no parameter set ----------------------------------

/// Codecs of objects that need no context (a plaintext ml::Model): specialized
/// beside the type's own header (io/ml.hpp), with `type`, `load_name`,
/// `max_payload`, `write(w, object)` and `read(r)`.
template <typename T>
struct StandaloneCodec;

/// The fingerprint field of an object that belongs to no parameter set: all zeros.
inline constexpr Fingerprint no_parameters{};

template <typename T>
void save_standalone(std::ostream& out, const T& object) {
    ByteWriter w;
    StandaloneCodec<T>::write(w, object);
    write_object(out, StandaloneCodec<T>::type, no_parameters, w.bytes(), "io::save");
}

template <typename T>
T load_standalone(std::istream& in) {
    const Object object =
        read_object(in, StandaloneCodec<T>::type, no_parameters, StandaloneCodec<T>::max_payload,
                    StandaloneCodec<T>::load_name);
    ByteReader r(object.payload, StandaloneCodec<T>::load_name);
    T result = StandaloneCodec<T>::read(r);
    r.expect_end();
    return result;
}

// ---- Galois keys: an index, then one frame per key --------------------------

inline void save_galois_keys(std::ostream& out, const ckks::GaloisKeys& keys,
                             const ckks::Context& context) {
    const Fingerprint print = fingerprint(context.parameters());
    {
        ByteWriter w;
        w.u64(keys.keys.size());
        for (const auto& entry : keys.keys) {
            w.u64(entry.first);
        }
        write_object(out, ObjectType::galois_keys, print, w.bytes(), "io::save (ckks::GaloisKeys)");
    }
    for (const auto& [element, key] : keys.keys) {
        ByteWriter w;  // one key's bytes at a time
        w.u64(element);
        write_switching_key(w, key, context, "io::save (ckks::GaloisKeys)");
        write_object(out, ObjectType::galois_key, print, w.bytes(), "io::save (ckks::GaloisKeys)");
    }
}

inline ckks::GaloisKeys load_galois_keys(std::istream& in, const ckks::Context& context) {
    constexpr std::string_view where = "io::load<ckks::GaloisKeys>";
    const Fingerprint print = fingerprint(context.parameters());
    // Galois elements are odd and below 2N, and 1 needs no key: at most N - 1 keys.
    const std::uint64_t n = context.degree();
    std::vector<std::uint64_t> elements;
    {
        const Object index =
            read_object(in, ObjectType::galois_keys, print, 8 + 8 * (n - 1), where);
        ByteReader r(index.payload, where);
        const std::uint64_t count = r.u64("the key count");
        if (count > n - 1 || count * 8 != r.remaining()) {
            throw SerializationError(cloak::detail::message(
                where, ": the index announces ", count, " keys in ", r.remaining(),
                " bytes; at most N - 1 = ", n - 1, " keys, 8 bytes each"));
        }
        for (std::uint64_t k = 0; k < count; ++k) {
            const std::uint64_t element = r.u64("a Galois element");
            if (element % 2 == 0 || element <= 1 || element >= 2 * n ||
                (!elements.empty() && element <= elements.back())) {
                throw SerializationError(cloak::detail::message(
                    where, ": Galois element ", element, " at position ", k,
                    " is not odd in (1, 2N = ", 2 * n,
                    ") or not above the previous one; the index is corrupt"));
            }
            elements.push_back(element);
        }
    }
    ckks::GaloisKeys keys;
    const std::uint64_t max_key = 8 + max_switching_key_bytes(context);
    for (std::size_t k = 0; k < elements.size(); ++k) {
        const Object object = read_object(in, ObjectType::galois_key, print, max_key, where);
        ByteReader r(object.payload, where);
        const std::uint64_t element = r.u64("the Galois element");
        if (element != elements[k]) {
            throw SerializationError(cloak::detail::message(
                where, ": key ", k, " is for Galois element ", element, " but the index lists ",
                elements[k], "; the keys are out of order or from another set"));
        }
        ckks::SwitchingKey key = read_switching_key(r, context);
        r.expect_end();
        keys.keys.emplace(element, std::move(key));
    }
    return keys;
}

// ---- parameters --------------------------------------------------------------

inline void write_parameters(ByteWriter& w, const ckks::Parameters& parameters) {
    const ckks::ParametersLiteral& literal = parameters.literal();
    w.u8(static_cast<std::uint8_t>(literal.log_n));
    w.u16(static_cast<std::uint16_t>(literal.log_q.size()));
    for (int bits : literal.log_q) {
        w.u8(static_cast<std::uint8_t>(bits));
    }
    w.u16(static_cast<std::uint16_t>(literal.log_p.size()));
    for (int bits : literal.log_p) {
        w.u8(static_cast<std::uint8_t>(bits));
    }
    w.f64(parameters.log_scale());
    w.u64(parameters.dnum());
    w.u8(static_cast<std::uint8_t>(parameters.secret_distribution()));
    w.u64(parameters.hamming_weight());
    w.u8(static_cast<std::uint8_t>(parameters.security()));
    for (std::uint64_t q : parameters.q_primes()) {
        w.u64(q);
    }
    for (std::uint64_t p : parameters.p_primes()) {
        w.u64(p);
    }
}

inline std::vector<int> read_prime_sizes(ByteReader& r, std::string_view name) {
    const std::uint16_t count = r.u16(name);
    if (count == 0 || count > max_parameter_primes) {
        throw SerializationError(cloak::detail::message(r.where(), ": ", count, " ", name,
                                                        "; expected 1 to ", max_parameter_primes));
    }
    std::vector<int> bits(count);
    for (int& b : bits) {
        b = r.u8(name);
    }
    return bits;
}

inline ckks::Parameters read_parameters(ByteReader& r) {
    ckks::ParametersLiteral literal;
    literal.log_n = r.u8("log_n");
    literal.log_q = read_prime_sizes(r, "q prime sizes");
    literal.log_p = read_prime_sizes(r, "p prime sizes");
    literal.log_scale = r.f64("log_scale");
    literal.dnum = static_cast<std::size_t>(r.u64("dnum"));
    const std::uint8_t secret = r.u8("the secret distribution");
    if (secret > static_cast<std::uint8_t>(ckks::SecretDistribution::sparse_ternary)) {
        throw SerializationError(cloak::detail::message(r.where(), ": secret distribution ",
                                                        int{secret}, " is unknown"));
    }
    literal.secret = static_cast<ckks::SecretDistribution>(secret);
    literal.hamming_weight = static_cast<std::size_t>(r.u64("the Hamming weight"));
    const std::uint8_t security = r.u8("the security level");
    if (security > static_cast<std::uint8_t>(rlwe::Security::insecure_for_testing_only)) {
        throw SerializationError(
            cloak::detail::message(r.where(), ": security level ", int{security}, " is unknown"));
    }
    literal.security = static_cast<rlwe::Security>(security);
    std::vector<std::uint64_t> q(literal.log_q.size());
    std::vector<std::uint64_t> p(literal.log_p.size());
    for (std::uint64_t& prime : q) {
        prime = r.u64("a q prime");
    }
    for (std::uint64_t& prime : p) {
        prime = r.u64("a p prime");
    }
    r.expect_end();
    std::optional<ckks::Parameters> parameters;
    try {
        parameters = ckks::Parameters::from(literal);
    } catch (const Error& error) {
        throw SerializationError(cloak::detail::message(
            r.where(), ": the stored parameters are invalid: ", error.what()));
    }
    if (parameters->q_primes() != q || parameters->p_primes() != p) {
        throw SerializationError(cloak::detail::message(
            r.where(),
            ": the primes this cloak chooses for the stored sizes differ from the "
            "stored primes; the parameters were saved by an incompatible version"));
    }
    return *parameters;
}

/// Reads a parameters frame, rebuilds the parameters and checks that their
/// fingerprint is the one in the header (and `expected`, when given).
inline ckks::Parameters load_parameters(std::istream& in,
                                        const std::optional<Fingerprint>& expected) {
    constexpr std::string_view where = "io::load<ckks::Parameters>";
    const Object object =
        read_object(in, ObjectType::parameters, expected, 64 + 18 * max_parameter_primes, where);
    ByteReader r(object.payload, where);
    ckks::Parameters parameters = read_parameters(r);
    if (fingerprint(parameters) != object.fingerprint) {
        throw SerializationError(cloak::detail::message(
            where, ": the rebuilt parameters have fingerprint ", hex(fingerprint(parameters)),
            "..., the header says ", hex(object.fingerprint),
            "...; the data is corrupt or from an incompatible version"));
    }
    return parameters;
}

}  // namespace detail

/// Writes the parameters (they need no context to load).
/// @throws SerializationError when the stream fails.
inline void save(std::ostream& out, const ckks::Parameters& parameters) {
    detail::ByteWriter w;
    detail::write_parameters(w, parameters);
    detail::write_object(out, ObjectType::parameters, fingerprint(parameters), w.bytes(),
                         "io::save (ckks::Parameters)");
}

/// Writes a plaintext, ciphertext, public key, relinearization key or Galois keys
/// made with `context`. Secret keys are refused at compile time: use
/// io::save_secret_key. Ciphertexts from secret-key encryption, public keys and
/// switching keys store the seed of their uniform part instead of the part
/// itself when the seed regenerates it exactly.
/// @throws InvalidArgumentError for an object not made by (or loaded into) this context.
/// @throws SerializationError when the stream fails.
template <typename T>
void save(std::ostream& out, const T& object, const ckks::Context& context) {
    if constexpr (std::is_same_v<T, ckks::SecretKey>) {
        static_assert(detail::always_false<T>,
                      "io::save refuses a ckks::SecretKey so that a secret is never written by "
                      "accident; call io::save_secret_key(stream, secret_key, context)");
    } else if constexpr (std::is_same_v<T, ckks::GaloisKeys>) {
        detail::save_galois_keys(out, object, context);
    } else if constexpr (std::is_same_v<T, ckks::Parameters>) {
        save(out, object);
    } else if constexpr (requires { detail::StandaloneCodec<T>::type; }) {
        (void)context;
        detail::save_standalone(out, object);
    } else if constexpr (requires { detail::Codec<T>::type; }) {
        detail::save_object(out, object, context);
    } else {
        static_assert(detail::always_false<T>,
                      "io::save: no serialized form for this type (Parameters, Plaintext, "
                      "Ciphertext, PublicKey, RelinKey and GaloisKeys have one)");
    }
}

/// Without a context only parameters can be written; every other object needs
/// the context it was made with, whose parameters' fingerprint it carries.
template <typename T>
void save(std::ostream& out, const T& object) {
    if constexpr (requires { detail::StandaloneCodec<T>::type; }) {
        detail::save_standalone(out, object);
    } else {
        static_assert(detail::always_false<T>,
                      "io::save(stream, object) needs the object's ckks::Context: call "
                      "io::save(stream, object, context) (only ckks::Parameters and ml::Model "
                      "save without one)");
    }
}

/// Reads an object of type T saved under the parameters of `context`.
/// @throws SerializationError for anything wrong with the bytes: magic, version,
///         type, parameters fingerprint, length, truncation, checksum, level,
///         scale, slots, coefficients not below their modulus; the message says which.
template <typename T>
[[nodiscard]] T load(std::istream& in, const ckks::Context& context) {
    if constexpr (std::is_same_v<T, ckks::SecretKey>) {
        static_assert(detail::always_false<T>,
                      "io::load refuses a ckks::SecretKey, as io::save does; call "
                      "io::load_secret_key(stream, context)");
    } else if constexpr (std::is_same_v<T, ckks::GaloisKeys>) {
        return detail::load_galois_keys(in, context);
    } else if constexpr (std::is_same_v<T, ckks::Parameters>) {
        return detail::load_parameters(in, fingerprint(context.parameters()));
    } else if constexpr (requires { detail::StandaloneCodec<T>::type; }) {
        (void)context;
        return detail::load_standalone<T>(in);
    } else if constexpr (requires { detail::Codec<T>::type; }) {
        return detail::load_object<T>(in, context);
    } else {
        static_assert(detail::always_false<T>, "io::load: no serialized form for this type");
    }
}

/// Reads parameters saved by io::save(stream, parameters), rebuilding them (and
/// checking that the rebuilt primes and fingerprint match the stored ones).
/// @throws SerializationError for corrupt bytes or parameters this cloak rejects.
template <typename T>
[[nodiscard]] T load(std::istream& in) {
    if constexpr (requires { detail::StandaloneCodec<T>::type; }) {
        return detail::load_standalone<T>(in);
    } else {
        static_assert(std::is_same_v<T, ckks::Parameters>,
                      "io::load<T>(stream) without a context reads ckks::Parameters and ml::Model "
                      "only; pass the ckks::Context: io::load<T>(stream, context)");
        return detail::load_parameters(in, std::nullopt);
    }
}

/// Writes the secret key: the only way to serialize one, so that a secret is
/// never written by a generic call. Ternary secrets take 2 bits per coefficient
/// (N / 4 bytes). The buffer is wiped after writing; protect the stream itself.
/// @throws InvalidArgumentError for a key not over this context's primes.
/// @throws SerializationError when the stream fails.
inline void save_secret_key(std::ostream& out, const ckks::SecretKey& secret_key,
                            const ckks::Context& context) {
    detail::save_object(out, secret_key, context, /*secret=*/true);
}

/// Reads a secret key written by save_secret_key; the payload buffer is wiped.
/// @throws SerializationError as io::load does.
[[nodiscard]] inline ckks::SecretKey load_secret_key(std::istream& in,
                                                     const ckks::Context& context) {
    return detail::load_object<ckks::SecretKey>(in, context, /*secret=*/true);
}

// ---- files -------------------------------------------------------------------

namespace detail {

inline std::ofstream open_for_writing(const std::string& path) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out) {
        throw SerializationError(
            cloak::detail::message("io::save_file: cannot open \"", path,
                                   "\" for writing; check the directory exists "
                                   "and is writable"));
    }
    return out;
}

inline std::ifstream open_for_reading(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw SerializationError(cloak::detail::message("io::load_file: cannot open \"", path,
                                                        "\" for reading; check the path"));
    }
    return in;
}

inline void finish_writing(std::ofstream& out, const std::string& path) {
    out.close();
    if (!out) {
        throw SerializationError(cloak::detail::message("io::save_file: writing \"", path,
                                                        "\" failed when closing it (disk full?)"));
    }
}

inline void expect_end_of_file(std::ifstream& in, const std::string& path) {
    if (in.peek() != std::ifstream::traits_type::eof()) {
        throw SerializationError(
            cloak::detail::message("io::load_file: \"", path,
                                   "\" has bytes after the object; it is not one cloak "
                                   "object (or was appended to)"));
    }
}

}  // namespace detail

/// io::save into a file (created or truncated).
template <typename T>
void save_file(const std::string& path, const T& object, const ckks::Context& context) {
    std::ofstream out = detail::open_for_writing(path);
    save(out, object, context);
    detail::finish_writing(out, path);
}

/// io::save of parameters or an ml::Model (no context) into a file.
template <typename T>
void save_file(const std::string& path, const T& object) {
    std::ofstream out = detail::open_for_writing(path);
    save(out, object);
    detail::finish_writing(out, path);
}

/// io::load from a file that holds exactly one object.
template <typename T>
[[nodiscard]] T load_file(const std::string& path, const ckks::Context& context) {
    std::ifstream in = detail::open_for_reading(path);
    T object = load<T>(in, context);
    detail::expect_end_of_file(in, path);
    return object;
}

template <typename T>
[[nodiscard]] T load_file(const std::string& path) {
    std::ifstream in = detail::open_for_reading(path);
    T object = load<T>(in);
    detail::expect_end_of_file(in, path);
    return object;
}

inline void save_secret_key_file(const std::string& path, const ckks::SecretKey& secret_key,
                                 const ckks::Context& context) {
    std::ofstream out = detail::open_for_writing(path);
    save_secret_key(out, secret_key, context);
    detail::finish_writing(out, path);
}

[[nodiscard]] inline ckks::SecretKey load_secret_key_file(const std::string& path,
                                                          const ckks::Context& context) {
    std::ifstream in = detail::open_for_reading(path);
    ckks::SecretKey key = load_secret_key(in, context);
    detail::expect_end_of_file(in, path);
    return key;
}

}  // namespace cloak::inline v0::io
