// cloak: the versioned binary format every serialized object shares.
//
// One object on the wire (all integers little-endian, fixed width):
//
//     offset  size  field
//          0     6  magic "CLOAK\0"
//          6     2  format version (u16), currently 1
//          8     2  object type (u16, io::ObjectType)
//         10    32  parameters fingerprint: BLAKE2b-256 of the canonical encoding
//                   of the ckks::Parameters the object belongs to
//         42     8  payload length in bytes (u64)
//         50     n  payload (per object type; see io/serialize.hpp)
//       50+n    32  checksum: BLAKE2b-256 (libsodium crypto_generichash) of the
//                   50 header bytes and the payload
//
// Readers check the header field by field before they read the payload, bound
// the payload length by the largest object of that type the context allows
// before they allocate anything, and read the payload in chunks, so a lying
// length field fails at the end of the stream without a large allocation.
//
// Polynomial coefficients are packed to the bit width of their prime: limb i of
// a polynomial takes N * bit_count(q_i - 1) bits, least significant bit first,
// with no padding between coefficients (N is a multiple of 8, so every limb
// ends on a byte boundary). docs/serialization.md has the payload layouts.
#pragma once

#include <sodium.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <ios>
#include <istream>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <cloak/ckks/parameters.hpp>
#include <cloak/core/bits.hpp>
#include <cloak/core/error.hpp>
#include <cloak/core/random.hpp>

namespace cloak::inline v0::io {

/// The six bytes every serialized object starts with.
inline constexpr std::array<std::uint8_t, 6> magic = {'C', 'L', 'O', 'A', 'K', '\0'};
/// The format version this cloak writes and the only one it reads.
inline constexpr std::uint16_t format_version = 1;
inline constexpr std::size_t fingerprint_bytes = 32;
inline constexpr std::size_t checksum_bytes = 32;
/// magic + version + type + fingerprint + payload length.
inline constexpr std::size_t header_bytes = 6 + 2 + 2 + fingerprint_bytes + 8;

static_assert(crypto_generichash_BYTES_MIN <= fingerprint_bytes &&
              fingerprint_bytes <= crypto_generichash_BYTES_MAX);
static_assert(header_bytes == 50);

/// What a serialized object holds; the numeric values never change.
enum class ObjectType : std::uint16_t {
    parameters = 1,
    plaintext = 2,
    ciphertext = 3,
    public_key = 4,
    secret_key = 5,
    relin_key = 6,
    galois_keys = 7,  ///< the index of a set of Galois keys; one galois_key object follows per key
    galois_key = 8,   ///< one Galois key (its element and its switching key)
    model = 9,        ///< ml::Model: plaintext weights and an optional normalizer
    encrypted_model = 10,  ///< ml::EncryptedModel: encrypted weights and their packing
    bootstrapping_keys =
        11,  ///< a bootstrapping-key bundle's header; one bootstrapping_key follows per key
    bootstrapping_key = 12,  ///< one key of a bootstrapping-key bundle
};

/// Name of an object type, for messages ("ciphertext", or "unknown").
constexpr std::string_view object_type_name(ObjectType type) noexcept {
    switch (type) {
        case ObjectType::parameters:
            return "ckks::Parameters";
        case ObjectType::plaintext:
            return "ckks::Plaintext";
        case ObjectType::ciphertext:
            return "ckks::Ciphertext";
        case ObjectType::public_key:
            return "ckks::PublicKey";
        case ObjectType::secret_key:
            return "ckks::SecretKey";
        case ObjectType::relin_key:
            return "ckks::RelinKey";
        case ObjectType::galois_keys:
            return "ckks::GaloisKeys";
        case ObjectType::galois_key:
            return "one Galois key of ckks::GaloisKeys";
        case ObjectType::model:
            return "ml::Model";
        case ObjectType::encrypted_model:
            return "ml::EncryptedModel";
        case ObjectType::bootstrapping_keys:
            return "boot::BootstrappingKeys";
        case ObjectType::bootstrapping_key:
            return "one key of boot::BootstrappingKeys";
    }
    return "unknown";
}

/// BLAKE2b-256 of the canonical encoding of a parameter set.
using Fingerprint = std::array<std::uint8_t, fingerprint_bytes>;

namespace detail {

/// Appends little-endian integers, doubles and bit-packed coefficients to a buffer.
class ByteWriter {
  public:
    void u8(std::uint8_t x) { bytes_.push_back(x); }
    void u16(std::uint16_t x) { little_endian(x, 2); }
    void u32(std::uint32_t x) { little_endian(x, 4); }
    void u64(std::uint64_t x) { little_endian(x, 8); }
    /// The IEEE 754 binary64 bit pattern, as a u64.
    void f64(double x) { u64(std::bit_cast<std::uint64_t>(x)); }
    void raw(std::span<const std::uint8_t> data) {
        bytes_.insert(bytes_.end(), data.begin(), data.end());
    }

    /// The values, `bits` bits each (1 to 64), least significant bit first; the
    /// last byte is padded with zero bits.
    void packed(std::span<const std::uint64_t> values, int bits) {
        bytes_.reserve(bytes_.size() + (values.size() * static_cast<std::size_t>(bits) + 7) / 8);
        std::uint64_t buffer = 0;  // fewer than 8 + 32 pending bits at any time
        int pending = 0;
        const auto put = [&](std::uint64_t value, int width) {
            buffer |= value << pending;
            pending += width;
            while (pending >= 8) {
                bytes_.push_back(static_cast<std::uint8_t>(buffer));
                buffer >>= 8;
                pending -= 8;
            }
        };
        for (std::uint64_t value : values) {
            if (bits > 32) {
                put(value & 0xFFFFFFFFu, 32);
                put((value >> 32) & low_mask(bits - 32), bits - 32);
            } else {
                put(value & low_mask(bits), bits);
            }
        }
        if (pending > 0) {
            bytes_.push_back(static_cast<std::uint8_t>(buffer));
        }
    }

    [[nodiscard]] std::vector<std::uint8_t>& bytes() noexcept { return bytes_; }
    [[nodiscard]] std::size_t size() const noexcept { return bytes_.size(); }

    /// Overwrites the buffer with zeros (for payloads that hold a secret).
    void wipe() noexcept {
        if (!bytes_.empty()) {
            sodium_memzero(bytes_.data(), bytes_.size());
        }
    }

    static constexpr std::uint64_t low_mask(int bits) noexcept {
        return bits >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << bits) - 1;
    }

  private:
    void little_endian(std::uint64_t x, int count) {
        for (int i = 0; i < count; ++i) {
            bytes_.push_back(static_cast<std::uint8_t>(x >> (8 * i)));
        }
    }

    std::vector<std::uint8_t> bytes_;
};

/// Reads a payload whose checksum has been verified; every read is bounds
/// checked, so a crafted payload with a valid checksum still fails cleanly.
class ByteReader {
  public:
    ByteReader(std::span<const std::uint8_t> bytes, std::string_view where)
        : bytes_(bytes), where_(where) {}

    [[nodiscard]] std::uint8_t u8(std::string_view field) { return take(1, field)[0]; }
    [[nodiscard]] std::uint16_t u16(std::string_view field) {
        return static_cast<std::uint16_t>(little_endian(take(2, field)));
    }
    [[nodiscard]] std::uint32_t u32(std::string_view field) {
        return static_cast<std::uint32_t>(little_endian(take(4, field)));
    }
    [[nodiscard]] std::uint64_t u64(std::string_view field) {
        return little_endian(take(8, field));
    }
    [[nodiscard]] double f64(std::string_view field) { return std::bit_cast<double>(u64(field)); }

    /// The next `count` bytes.
    /// @throws SerializationError when fewer remain.
    [[nodiscard]] std::span<const std::uint8_t> take(std::size_t count, std::string_view field) {
        if (count > remaining()) {
            throw SerializationError(cloak::detail::message(
                where_, ": the payload ends while reading ", field, " (", count,
                " bytes needed at offset ", position_, ", ", remaining(), " left of ",
                bytes_.size(), "); the object was written by a faulty writer"));
        }
        const auto out = bytes_.subspan(position_, count);
        position_ += count;
        return out;
    }

    /// out.size() values of `bits` bits each (as ByteWriter::packed wrote them),
    /// each checked to be below `modulus`.
    /// @throws SerializationError for a value >= modulus, nonzero padding bits or
    ///         too few bytes; the message names the field, index and modulus.
    void packed_below(std::span<std::uint64_t> out, int bits, std::uint64_t modulus,
                      std::string_view field) {
        const std::size_t total_bits = out.size() * static_cast<std::size_t>(bits);
        const auto data = take((total_bits + 7) / 8, field);
        std::size_t next = 0;
        std::uint64_t buffer = 0;  // fewer than 8 + 32 pending bits at any time
        int pending = 0;
        const auto get = [&](int width) {
            while (pending < width) {
                buffer |= std::uint64_t{data[next++]} << pending;
                pending += 8;
            }
            const std::uint64_t value = buffer & ByteWriter::low_mask(width);
            buffer >>= width;
            pending -= width;
            return value;
        };
        for (std::size_t j = 0; j < out.size(); ++j) {
            std::uint64_t value = 0;
            if (bits > 32) {
                value = get(32);
                value |= get(bits - 32) << 32;
            } else {
                value = get(bits);
            }
            if (value >= modulus) {
                throw SerializationError(cloak::detail::message(
                    where_, ": ", field, ", coefficient ", j, " = ", value,
                    " is not below its modulus ", modulus, "; the data is corrupt"));
            }
            out[j] = value;
        }
        if (buffer != 0) {
            throw SerializationError(cloak::detail::message(
                where_, ": ", field, " has nonzero padding bits; the data is corrupt"));
        }
    }

    [[nodiscard]] std::size_t remaining() const noexcept { return bytes_.size() - position_; }

    /// @throws SerializationError when bytes are left over.
    void expect_end() const {
        if (remaining() != 0) {
            throw SerializationError(cloak::detail::message(
                where_, ": ", remaining(), " bytes are left over after the ", position_,
                " bytes of the object; the payload length or the object type is wrong"));
        }
    }

    [[nodiscard]] std::string_view where() const noexcept { return where_; }

  private:
    static std::uint64_t little_endian(std::span<const std::uint8_t> bytes) noexcept {
        std::uint64_t x = 0;
        for (std::size_t i = 0; i < bytes.size(); ++i) {
            x |= std::uint64_t{bytes[i]} << (8 * i);
        }
        return x;
    }

    std::span<const std::uint8_t> bytes_;
    std::string_view where_;
    std::size_t position_ = 0;
};

/// BLAKE2b-256 of several byte ranges, in order.
inline std::array<std::uint8_t, 32> blake2b(
    std::initializer_list<std::span<const std::uint8_t>> parts) {
    core::detail::ensure_sodium("io::blake2b");
    crypto_generichash_state state;
    crypto_generichash_init(&state, nullptr, 0, 32);
    for (const auto& part : parts) {
        crypto_generichash_update(&state, part.data(), part.size());
    }
    std::array<std::uint8_t, 32> out{};
    crypto_generichash_final(&state, out.data(), out.size());
    return out;
}

/// Lower-case hexadecimal of the first `count` bytes.
inline std::string hex(std::span<const std::uint8_t> bytes, std::size_t count = 8) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (std::size_t i = 0; i < std::min(count, bytes.size()); ++i) {
        out += digits[bytes[i] >> 4];
        out += digits[bytes[i] & 15];
    }
    return out;
}

}  // namespace detail

/// The fingerprint of a parameter set: BLAKE2b-256 of a canonical encoding of
/// everything that makes two parameter sets incompatible (a domain string, log N,
/// the primes of Q and of P, the scale, dnum, the secret distribution and its
/// Hamming weight, the security level). Two equal Parameters have equal
/// fingerprints, on every platform.
[[nodiscard]] inline Fingerprint fingerprint(const ckks::Parameters& parameters) {
    detail::ByteWriter w;
    static constexpr std::string_view domain = "cloak.ckks.Parameters.fingerprint.v1";
    w.raw({reinterpret_cast<const std::uint8_t*>(domain.data()), domain.size()});
    w.u32(static_cast<std::uint32_t>(parameters.log_n()));
    w.u32(static_cast<std::uint32_t>(parameters.q_primes().size()));
    for (std::uint64_t q : parameters.q_primes()) {
        w.u64(q);
    }
    w.u32(static_cast<std::uint32_t>(parameters.p_primes().size()));
    for (std::uint64_t p : parameters.p_primes()) {
        w.u64(p);
    }
    w.f64(parameters.log_scale());
    w.u64(parameters.dnum());
    w.u8(static_cast<std::uint8_t>(parameters.secret_distribution()));
    w.u64(parameters.hamming_weight());
    w.u8(static_cast<std::uint8_t>(parameters.security()));
    return detail::blake2b({w.bytes()});
}

namespace detail {

/// Largest payload the format accepts for ckks::Parameters.
inline constexpr std::size_t max_parameter_primes = 1024;

/// Writes one object: header, payload, checksum.
/// @throws SerializationError when the stream fails.
inline void write_object(std::ostream& out, ObjectType type, const Fingerprint& fingerprint,
                         std::span<const std::uint8_t> payload, std::string_view where) {
    ByteWriter header;
    header.raw(magic);
    header.u16(format_version);
    header.u16(static_cast<std::uint16_t>(type));
    header.raw(fingerprint);
    header.u64(payload.size());
    const auto checksum = blake2b({header.bytes(), payload});
    out.write(reinterpret_cast<const char*>(header.bytes().data()),
              static_cast<std::streamsize>(header.size()));
    out.write(reinterpret_cast<const char*>(payload.data()),
              static_cast<std::streamsize>(payload.size()));
    out.write(reinterpret_cast<const char*>(checksum.data()),
              static_cast<std::streamsize>(checksum.size()));
    if (!out) {
        throw SerializationError(cloak::detail::message(
            where, ": the output stream failed while writing ",
            header_bytes + payload.size() + checksum_bytes,
            " bytes (disk full, closed file or a stream in a failed state)"));
    }
}

/// Reads exactly out.size() bytes.
/// @throws SerializationError at the end of the stream or on a stream error.
inline void read_exactly(std::istream& in, std::span<std::uint8_t> out, std::string_view where,
                         std::string_view what) {
    std::streamsize got = 0;
    try {
        in.read(reinterpret_cast<char*>(out.data()), static_cast<std::streamsize>(out.size()));
        got = in.gcount();
    } catch (const std::ios_base::failure& error) {
        throw SerializationError(cloak::detail::message(where, ": the stream failed reading ", what,
                                                        ": ", error.what()));
    }
    if (static_cast<std::size_t>(got) != out.size()) {
        throw SerializationError(cloak::detail::message(
            where, ": truncated data: the stream ends after ", got, " of the ", out.size(),
            " bytes of ", what, "; the object was cut short (incomplete file or transfer)"));
    }
}

/// A payload read and checked against its checksum.
struct Object {
    Fingerprint fingerprint{};
    std::vector<std::uint8_t> payload;
    bool secret = false;  // wipe the payload on destruction

    Object() = default;
    Object(const Object&) = delete;
    Object& operator=(const Object&) = delete;
    Object(Object&&) noexcept = default;
    Object& operator=(Object&&) noexcept = default;
    ~Object() {
        if (secret && !payload.empty()) {
            sodium_memzero(payload.data(), payload.size());
        }
    }
};

/// Reads one object of type `type`, validating in this order: magic, version,
/// type, fingerprint (when `expected` is given), payload length against
/// `max_payload`, the payload (in chunks, so a lying length allocates at most
/// one chunk beyond what the stream really holds), and the checksum.
/// @throws SerializationError naming the first check that failed.
inline Object read_object(std::istream& in, ObjectType type,
                          const std::optional<Fingerprint>& expected, std::uint64_t max_payload,
                          std::string_view where, bool secret = false) {
    std::array<std::uint8_t, header_bytes> header{};
    read_exactly(in, header, where, "the 50-byte header");
    if (!std::equal(magic.begin(), magic.end(), header.begin())) {
        throw SerializationError(cloak::detail::message(
            where, ": wrong magic bytes (", hex(std::span(header).first(6), 6),
            " instead of 434c4f414b00, \"CLOAK\\0\"); this is not a cloak object, or the stream "
            "is not positioned at the start of one"));
    }
    ByteReader fields{std::span<const std::uint8_t>(header).subspan(6), where};
    const std::uint16_t version = fields.u16("the format version");
    if (version != format_version) {
        throw SerializationError(cloak::detail::message(
            where, ": format version ", version, " is not supported; this cloak reads version ",
            format_version, " only (write the object with a matching cloak version)"));
    }
    const std::uint16_t stored_type = fields.u16("the object type");
    if (stored_type != static_cast<std::uint16_t>(type)) {
        throw SerializationError(cloak::detail::message(
            where, ": wrong object type ", stored_type, " (",
            object_type_name(static_cast<ObjectType>(stored_type)), "); expected ",
            static_cast<std::uint16_t>(type), " (", object_type_name(type),
            "); load it with the matching io::load<T>"));
    }
    Object object;
    object.secret = secret;
    const auto stored_fingerprint = fields.take(fingerprint_bytes, "the fingerprint");
    std::copy(stored_fingerprint.begin(), stored_fingerprint.end(), object.fingerprint.begin());
    if (expected && object.fingerprint != *expected) {
        throw SerializationError(cloak::detail::message(
            where, ": parameters mismatch: the object was saved under parameters with fingerprint ",
            hex(object.fingerprint), "..., but the context's parameters have fingerprint ",
            hex(*expected),
            "...; load it with a ckks::Context built from the parameters it was saved with "
            "(io::load<ckks::Parameters> reads saved parameters)"));
    }
    const std::uint64_t length = fields.u64("the payload length");
    if (length > max_payload) {
        throw SerializationError(cloak::detail::message(
            where, ": payload length ", length, " bytes exceeds the largest ",
            object_type_name(type), " these parameters allow (", max_payload,
            " bytes); the length field is corrupt"));
    }
    // Chunked reads: memory grows only as fast as the stream delivers bytes.
    constexpr std::size_t chunk = std::size_t{1} << 20;
    const auto size = static_cast<std::size_t>(length);
    object.payload.reserve(std::min(size, chunk));
    while (object.payload.size() < size) {
        const std::size_t start = object.payload.size();
        const std::size_t count = std::min(chunk, size - start);
        object.payload.resize(start + count);
        std::streamsize got = 0;
        try {
            in.read(reinterpret_cast<char*>(object.payload.data() + start),
                    static_cast<std::streamsize>(count));
            got = in.gcount();
        } catch (const std::ios_base::failure& error) {
            throw SerializationError(cloak::detail::message(
                where, ": the stream failed reading the payload: ", error.what()));
        }
        if (static_cast<std::size_t>(got) != count) {
            throw SerializationError(cloak::detail::message(
                where, ": truncated data: the stream ends after ",
                start + static_cast<std::size_t>(got), " of the ", size,
                " payload bytes the header announces; the object was cut short or its length "
                "field is corrupt"));
        }
    }
    std::array<std::uint8_t, checksum_bytes> stored_checksum{};
    read_exactly(in, stored_checksum, where, "the 32-byte checksum");
    const auto checksum = blake2b({header, object.payload});
    if (sodium_memcmp(checksum.data(), stored_checksum.data(), checksum_bytes) != 0) {
        throw SerializationError(cloak::detail::message(
            where, ": bad checksum (stored ", hex(stored_checksum), "..., computed ", hex(checksum),
            "...): the ", header_bytes + size + checksum_bytes,
            " bytes were altered in storage or transit"));
    }
    return object;
}

}  // namespace detail
}  // namespace cloak::inline v0::io
