// cloak: bootstrapping-key bundles, written and read one key at a time.
//
//     // Client (holds the secret key): generates each key, writes it, frees it.
//     io::save_bootstrapping_keys(stream, context, keygen, params);
//     // Server (no secret key):
//     boot::Bootstrapper bootstrapper(context, params);
//     io::load_bootstrapping_keys(stream, bootstrapper);
//
// A bundle is a header frame (type bootstrapping_keys) that lists every key it
// holds, then one frame per key (type bootstrapping_key), each checked by its
// own checksum, so that a multi-gigabyte key set never sits in memory twice:
// the writer holds one key's bytes at a time, the reader one key's payload.
// Every frame carries the ckks::Parameters fingerprint of io/format.hpp.
//
// Payload layouts (integers little-endian; "switching key" as for a RelinKey in
// io/serialize.hpp: seed, a kind, digit count, b parts, a parts unless seeded):
//   header  32-byte bootstrapping fingerprint (io::fingerprint(boot::Parameters)),
//           32-byte bundle id (random; every key repeats it),
//           9 x 8 bytes: slots, K (f64), cosine degree, double angles, arcsine
//           correction, CoeffToSlot levels, SlotToCoeff levels, encapsulation
//           Hamming weight, log2 p' (the fields the fingerprint covers beside the
//           chain, stored for messages), u64 p' (0 without encapsulation keys),
//           u8 relinearization key present, u8 encapsulation keys present,
//           u64 G, G u64 Galois elements (odd, in (1, 2N), increasing)
//   key     32-byte bundle id, u32 position, u8 kind (1 relinearization, 2 Galois,
//           3 encapsulation s -> s', 4 encapsulation s' -> s), u64 Galois element
//           (0 for other kinds), switching key: over Q_L P with the context's
//           digits, except kind 3: one digit over {q0, p'}
// Keys follow in the header's order: relinearization, Galois keys by increasing
// element, then s -> s' and s' -> s.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <istream>
#include <memory>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <cloak/boot/bootstrapper.hpp>
#include <cloak/boot/encapsulation.hpp>
#include <cloak/boot/parameters.hpp>
#include <cloak/ckks/context.hpp>
#include <cloak/ckks/keys.hpp>
#include <cloak/core/error.hpp>
#include <cloak/core/random.hpp>
#include <cloak/io/format.hpp>
#include <cloak/io/serialize.hpp>
#include <cloak/ring/basis.hpp>

namespace cloak::inline v0::io {

/// What a bootstrapping-key bundle holds; its header lists it before any key.
struct BootstrappingKeyList {
    bool relin = false;
    std::vector<std::uint64_t> galois_elements;  ///< increasing
    bool encapsulation = false;                  ///< both encapsulation keys

    [[nodiscard]] std::size_t key_count() const noexcept {
        return (relin ? 1 : 0) + galois_elements.size() + (encapsulation ? 2 : 0);
    }
};

namespace detail {

enum class BootKeyKind : std::uint8_t {
    relin = 1,
    galois = 2,
    encapsulation_down = 3,  // s -> s' at level 0, over {q0, p'}
    encapsulation_up = 4,    // s' -> s over Q_L P
};

inline std::string_view boot_key_name(BootKeyKind kind) noexcept {
    switch (kind) {
        case BootKeyKind::relin:
            return "the relinearization key";
        case BootKeyKind::galois:
            return "a Galois key";
        case BootKeyKind::encapsulation_down:
            return "the encapsulation key s -> s'";
        case BootKeyKind::encapsulation_up:
            return "the encapsulation key s' -> s";
    }
    return "an unknown key";
}

struct BootKeyEntry {
    BootKeyKind kind;
    std::uint64_t element;  // Galois element, 0 for other kinds
};

inline std::vector<BootKeyEntry> entries_of(const BootstrappingKeyList& list) {
    std::vector<BootKeyEntry> entries;
    if (list.relin) {
        entries.push_back({BootKeyKind::relin, 0});
    }
    for (std::uint64_t element : list.galois_elements) {
        entries.push_back({BootKeyKind::galois, element});
    }
    if (list.encapsulation) {
        entries.push_back({BootKeyKind::encapsulation_down, 0});
        entries.push_back({BootKeyKind::encapsulation_up, 0});
    }
    return entries;
}

/// The bootstrapping fields the fingerprint covers beside the chain, as stored.
struct BootSummaryField {
    std::string_view name;
    std::uint64_t value;  // K as its f64 bit pattern
};

inline constexpr std::size_t boot_summary_fields = 9;

inline std::array<BootSummaryField, boot_summary_fields> boot_summary(
    const boot::Parameters& params) {
    return {{{"slots", params.slots()},
             {"K", std::bit_cast<std::uint64_t>(params.k())},
             {"cosine degree", params.cosine_degree()},
             {"double angles", params.double_angle()},
             {"arcsine correction", params.arcsine_correction() ? 1u : 0u},
             {"CoeffToSlot levels", params.coeffs_to_slots_levels()},
             {"SlotToCoeff levels", params.slots_to_coeffs_levels()},
             {"encapsulation Hamming weight", params.encapsulation_hamming_weight()},
             {"log2 p'", static_cast<std::uint64_t>(params.log_encapsulation_prime())}}};
}

/// Bytes of the header payload before the Galois elements, and of a key
/// payload before its switching key.
inline constexpr std::uint64_t bundle_header_fixed_bytes =
    fingerprint_bytes + 32 + 8 * boot_summary_fields + 8 + 1 + 1 + 8;
inline constexpr std::uint64_t bundle_key_fixed_bytes = 32 + 4 + 1 + 8;

/// {q0, p'}: the basis of the s -> s' key.
inline std::shared_ptr<const ring::RnsBasis> encapsulation_basis(const ckks::Context& context,
                                                                 std::uint64_t special_prime) {
    const std::uint64_t special[] = {special_prime};
    return context.level(0).q->concat(*ring::RnsBasis::create(context.degree(), special));
}

}  // namespace detail

/// The fingerprint of bootstrapping parameters: BLAKE2b-256 of the domain string
/// "cloak.boot.Parameters.fingerprint.v1", the chain's io::fingerprint and the
/// nine circuit fields (slots, K as its f64 bit pattern, cosine degree, double
/// angles, arcsine correction, CoeffToSlot and SlotToCoeff levels, encapsulation
/// weight, log2 p'), each a u64.
[[nodiscard]] inline Fingerprint fingerprint(const boot::Parameters& params) {
    detail::ByteWriter w;
    static constexpr std::string_view domain = "cloak.boot.Parameters.fingerprint.v1";
    w.raw({reinterpret_cast<const std::uint8_t*>(domain.data()), domain.size()});
    w.raw(fingerprint(params.ckks()));
    for (const auto& field : detail::boot_summary(params)) {
        w.u64(field.value);
    }
    return detail::blake2b({w.bytes()});
}

/// Writes a bundle key by key: the constructor writes the header (the list of
/// keys to come), then each write_* call writes one key, in the list's order
/// (relinearization, Galois keys by increasing element, encapsulation), and
/// finish() checks that every announced key was written. Only the key being
/// written is ever serialized in memory.
class BootstrappingKeyWriter {
  public:
    /// @throws InvalidArgumentError when `context` was not built from
    ///         params.ckks(), or for Galois elements not odd in (1, 2N) and increasing,
    ///         or encapsulation keys for parameters that do not encapsulate.
    /// @throws SerializationError when the stream fails.
    BootstrappingKeyWriter(std::ostream& out, const ckks::Context& context,
                           const boot::Parameters& params, BootstrappingKeyList list)
        : out_(out),
          context_(context),
          print_(fingerprint(context.parameters())),
          id_(core::random_seed()) {
        if (!(context.parameters() == params.ckks())) {
            throw InvalidArgumentError(cloak::detail::message(
                where_,
                ": the context was not built from these bootstrapping parameters; build "
                "it as ckks::Context(params.ckks())"));
        }
        const std::uint64_t two_n = 2 * static_cast<std::uint64_t>(context.degree());
        for (std::size_t k = 0; k < list.galois_elements.size(); ++k) {
            const std::uint64_t element = list.galois_elements[k];
            if (element % 2 == 0 || element <= 1 || element >= two_n ||
                (k > 0 && element <= list.galois_elements[k - 1])) {
                throw InvalidArgumentError(cloak::detail::message(
                    where_, ": Galois element ", element, " at position ", k,
                    " is not odd in (1, 2N = ", two_n, ") or not above the previous one"));
            }
        }
        if (list.encapsulation) {
            if (params.encapsulation_hamming_weight() == 0) {
                throw InvalidArgumentError(cloak::detail::message(
                    where_,
                    ": encapsulation keys listed, but these parameters do not encapsulate"));
            }
            special_prime_ = boot::SparseSecretEncapsulation::special_prime_for(
                context, params.log_encapsulation_prime());
        }
        entries_ = detail::entries_of(list);
        detail::ByteWriter w;
        w.raw(fingerprint(params));
        w.raw(id_);
        for (const auto& field : detail::boot_summary(params)) {
            w.u64(field.value);
        }
        w.u64(special_prime_);
        w.u8(list.relin ? 1 : 0);
        w.u8(list.encapsulation ? 1 : 0);
        w.u64(list.galois_elements.size());
        for (std::uint64_t element : list.galois_elements) {
            w.u64(element);
        }
        detail::write_object(out_, ObjectType::bootstrapping_keys, print_, w.bytes(), where_);
        bytes_ += header_bytes + w.size() + checksum_bytes;
    }

    void write_relin(const ckks::RelinKey& key) {
        write_key({detail::BootKeyKind::relin, 0}, key.key, context_.key_basis(),
                  detail::digit_count(context_));
    }

    void write_galois(std::uint64_t element, const ckks::SwitchingKey& key) {
        write_key({detail::BootKeyKind::galois, element}, key, context_.key_basis(),
                  detail::digit_count(context_));
    }

    /// Both encapsulation keys (s -> s', then s' -> s).
    /// @throws InvalidArgumentError when their p' is not the parameters'.
    void write_encapsulation(const boot::EncapsulationKeys& keys) {
        if (keys.special_prime != special_prime_ || keys.down.b.empty()) {
            throw InvalidArgumentError(cloak::detail::message(
                where_, ": the encapsulation keys use p' = ", keys.special_prime,
                "; these parameters' p' is ", special_prime_));
        }
        write_key({detail::BootKeyKind::encapsulation_down, 0}, keys.down,
                  keys.down.b[0].basis_ptr(), 1);
        write_key({detail::BootKeyKind::encapsulation_up, 0}, keys.up, context_.key_basis(),
                  detail::digit_count(context_));
    }

    /// @throws InvalidArgumentError when announced keys were not written.
    void finish() const {
        if (written_ != entries_.size()) {
            throw InvalidArgumentError(cloak::detail::message(
                where_, ": ", written_, " of the ", entries_.size(),
                " keys the header announces were written; the bundle is incomplete"));
        }
    }

    /// Bytes written so far.
    [[nodiscard]] std::uint64_t bytes_written() const noexcept { return bytes_; }

  private:
    void write_key(detail::BootKeyEntry entry, const ckks::SwitchingKey& key,
                   const std::shared_ptr<const ring::RnsBasis>& basis, std::size_t digits) {
        if (written_ >= entries_.size() || entries_[written_].kind != entry.kind ||
            entries_[written_].element != entry.element) {
            throw InvalidArgumentError(cloak::detail::message(
                where_, ": ", detail::boot_key_name(entry.kind),
                entry.kind == detail::BootKeyKind::galois
                    ? cloak::detail::message(" of element ", entry.element)
                    : std::string(),
                " is not the next key the header announces (key ", written_, " of ",
                entries_.size(), "); write keys in the list's order"));
        }
        if (entry.kind == detail::BootKeyKind::encapsulation_down) {
            const auto expected = detail::encapsulation_basis(context_, special_prime_);
            if (!std::ranges::equal(basis->values(), expected->values())) {
                throw InvalidArgumentError(
                    cloak::detail::message(where_, ": the s -> s' key is not over {q0, p'}"));
            }
        }
        detail::ByteWriter w;  // one key's bytes at a time
        w.raw(id_);
        w.u32(static_cast<std::uint32_t>(written_));
        w.u8(static_cast<std::uint8_t>(entry.kind));
        w.u64(entry.element);
        detail::write_switching_key(w, key, basis, digits, where_);
        detail::write_object(out_, ObjectType::bootstrapping_key, print_, w.bytes(), where_);
        bytes_ += header_bytes + w.size() + checksum_bytes;
        ++written_;
    }

    static constexpr std::string_view where_ = "io::save (boot::BootstrappingKeys)";
    std::ostream& out_;
    ckks::Context context_;
    Fingerprint print_;
    core::Seed id_;
    std::uint64_t special_prime_ = 0;
    std::vector<detail::BootKeyEntry> entries_;
    std::size_t written_ = 0;
    std::uint64_t bytes_ = 0;
};

/// Generates every key bootstrapping with `params` needs and writes each as
/// soon as it is made (never more than one key in memory): the client's way to
/// ship bootstrapping keys of gigabytes.
/// @throws InvalidArgumentError when `context` was not built from params.ckks()
///         or `keygen` belongs to another context.
/// @throws SerializationError when the stream fails.
inline void save_bootstrapping_keys(std::ostream& out, const ckks::Context& context,
                                    const ckks::KeyGenerator& keygen,
                                    const boot::Parameters& params) {
    BootstrappingKeyList list;
    list.relin = true;
    list.galois_elements = boot::Bootstrapper::required_galois_elements(context, params);
    list.encapsulation = params.encapsulation_hamming_weight() != 0;
    BootstrappingKeyWriter writer(out, context, params, list);
    writer.write_relin(keygen.relin_key());
    for (std::uint64_t element : list.galois_elements) {
        writer.write_galois(element, keygen.galois_key(element));
    }
    if (list.encapsulation) {
        writer.write_encapsulation(boot::SparseSecretEncapsulation::generate_keys(
            context, keygen, params.encapsulation_hamming_weight(),
            params.log_encapsulation_prime()));
    }
    writer.finish();
}

/// Writes keys already in memory (Bootstrapper::generate_keys, or any subset:
/// an empty relinearization key is left out), one key's bytes at a time.
/// @throws InvalidArgumentError as BootstrappingKeyWriter does.
/// @throws SerializationError when the stream fails.
inline void save(std::ostream& out, const boot::BootstrappingKeys& keys,
                 const ckks::Context& context, const boot::Parameters& params) {
    BootstrappingKeyList list;
    list.relin = !keys.relin.key.b.empty();
    for (const auto& entry : keys.galois.keys) {
        list.galois_elements.push_back(entry.first);
    }
    list.encapsulation = keys.encapsulation.has_value();
    BootstrappingKeyWriter writer(out, context, params, list);
    if (list.relin) {
        writer.write_relin(keys.relin);
    }
    for (const auto& [element, key] : keys.galois.keys) {
        writer.write_galois(element, key);
    }
    if (keys.encapsulation) {
        writer.write_encapsulation(*keys.encapsulation);
    }
    writer.finish();
}

/// Bytes of the bundle save_bootstrapping_keys writes for `params` (every key
/// seeded): docs/serialization.md has the formula.
[[nodiscard]] inline std::uint64_t bootstrapping_keys_bytes(const ckks::Context& context,
                                                            const boot::Parameters& params) {
    const std::uint64_t frame = header_bytes + checksum_bytes;
    const std::uint64_t galois =
        boot::Bootstrapper::required_galois_elements(context, params).size();
    const std::uint64_t key =
        frame + detail::bundle_key_fixed_bytes +
        detail::seeded_switching_key_bytes(*context.key_basis(), detail::digit_count(context));
    std::uint64_t total =
        frame + detail::bundle_header_fixed_bytes + 8 * galois + (1 + galois) * key;
    if (params.encapsulation_hamming_weight() != 0) {
        const auto basis =
            detail::encapsulation_basis(context, boot::SparseSecretEncapsulation::special_prime_for(
                                                     context, params.log_encapsulation_prime()));
        total += frame + detail::bundle_key_fixed_bytes +
                 detail::seeded_switching_key_bytes(*basis, 1) + key;
    }
    return total;
}

namespace detail {

struct BundleHeader {
    core::Seed id{};
    BootstrappingKeyList list;
    std::uint64_t special_prime = 0;
};

/// Reads the header frame and checks it against `params`: the chain's
/// fingerprint (in the frame), the bootstrapping fingerprint (naming the first
/// circuit field that differs), p', and the Galois elements' validity.
inline BundleHeader read_bundle_header(std::istream& in, const ckks::Context& context,
                                       const boot::Parameters& params, std::string_view where) {
    const std::uint64_t n = context.degree();
    const Object object =
        read_object(in, ObjectType::bootstrapping_keys, fingerprint(context.parameters()),
                    bundle_header_fixed_bytes + 8 * (n - 1), where);
    ByteReader r(object.payload, where);
    BundleHeader header;
    Fingerprint stored{};
    const auto stored_bytes = r.take(fingerprint_bytes, "the bootstrapping fingerprint");
    std::copy(stored_bytes.begin(), stored_bytes.end(), stored.begin());
    const auto id = r.take(header.id.size(), "the bundle id");
    std::copy(id.begin(), id.end(), header.id.begin());
    const auto expected_summary = boot_summary(params);
    std::array<std::uint64_t, boot_summary_fields> summary{};
    for (std::uint64_t& value : summary) {
        value = r.u64("the bootstrapping parameters");
    }
    const Fingerprint expected = fingerprint(params);
    if (stored != expected) {
        std::string difference = "the circuit fields agree, the fingerprint does not";
        for (std::size_t k = 0; k < boot_summary_fields; ++k) {
            if (summary[k] != expected_summary[k].value) {
                const bool is_k = expected_summary[k].name == "K";
                difference =
                    is_k ? cloak::detail::message(
                               "K is ", std::bit_cast<double>(summary[k]), " in the bundle and ",
                               std::bit_cast<double>(expected_summary[k].value), " here")
                         : cloak::detail::message(expected_summary[k].name, " is ", summary[k],
                                                  " in the bundle and ", expected_summary[k].value,
                                                  " here");
                break;
            }
        }
        throw SerializationError(cloak::detail::message(
            where, ": bootstrapping parameters mismatch (", difference, "; fingerprints ",
            hex(stored), "... and ", hex(expected),
            "...): the keys were made for other bootstrapping parameters; load them into a "
            "boot::Bootstrapper built from the parameters they were saved with"));
    }
    header.special_prime = r.u64("p'");
    const std::uint8_t relin = r.u8("the relinearization flag");
    const std::uint8_t encapsulation = r.u8("the encapsulation flag");
    if (relin > 1 || encapsulation > 1) {
        throw SerializationError(cloak::detail::message(where, ": key flags ", int{relin}, " and ",
                                                        int{encapsulation},
                                                        " are not 0 or 1; the header is corrupt"));
    }
    header.list.relin = relin == 1;
    header.list.encapsulation = encapsulation == 1;
    if (header.list.encapsulation) {
        if (params.encapsulation_hamming_weight() == 0) {
            throw SerializationError(cloak::detail::message(
                where,
                ": the bundle holds encapsulation keys, but these parameters do not "
                "encapsulate; the header is corrupt"));
        }
        const std::uint64_t expected_prime = boot::SparseSecretEncapsulation::special_prime_for(
            context, params.log_encapsulation_prime());
        if (header.special_prime != expected_prime) {
            throw SerializationError(cloak::detail::message(
                where, ": the encapsulation keys use p' = ", header.special_prime,
                "; these parameters' p' is ", expected_prime, "; the header is corrupt"));
        }
    } else if (header.special_prime != 0) {
        throw SerializationError(cloak::detail::message(
            where, ": p' = ", header.special_prime,
            " without encapsulation keys (expected 0); the header is corrupt"));
    }
    const std::uint64_t count = r.u64("the Galois key count");
    if (count > n - 1 || count * 8 != r.remaining()) {
        throw SerializationError(cloak::detail::message(
            where, ": the header announces ", count, " Galois keys in ", r.remaining(),
            " bytes; at most N - 1 = ", n - 1, " keys, 8 bytes each"));
    }
    for (std::uint64_t k = 0; k < count; ++k) {
        const std::uint64_t element = r.u64("a Galois element");
        const auto& elements = header.list.galois_elements;
        if (element % 2 == 0 || element <= 1 || element >= 2 * n ||
            (!elements.empty() && element <= elements.back())) {
            throw SerializationError(cloak::detail::message(
                where, ": Galois element ", element, " at position ", k, " is not odd in (1, 2N = ",
                2 * n, ") or not above the previous one; the header is corrupt"));
        }
        header.list.galois_elements.push_back(element);
    }
    r.expect_end();
    return header;
}

/// Reads the keys the header lists, one frame at a time.
inline boot::BootstrappingKeys read_bundle_keys(std::istream& in, const ckks::Context& context,
                                                const BundleHeader& header,
                                                std::string_view where) {
    const Fingerprint print = fingerprint(context.parameters());
    const std::size_t digits = digit_count(context);
    const std::uint64_t max_key =
        bundle_key_fixed_bytes + max_switching_key_bytes(*context.key_basis(), digits);
    std::shared_ptr<const ring::RnsBasis> down_basis;
    if (header.list.encapsulation) {
        down_basis = encapsulation_basis(context, header.special_prime);
    }
    const std::vector<BootKeyEntry> entries = entries_of(header.list);
    boot::BootstrappingKeys keys;
    boot::EncapsulationKeys encapsulation;
    encapsulation.special_prime = header.special_prime;
    for (std::size_t k = 0; k < entries.size(); ++k) {
        const BootKeyEntry& entry = entries[k];
        const Object object = read_object(in, ObjectType::bootstrapping_key, print, max_key, where);
        ByteReader r(object.payload, where);
        const auto id = r.take(header.id.size(), "the bundle id");
        if (!std::equal(id.begin(), id.end(), header.id.begin())) {
            throw SerializationError(cloak::detail::message(
                where, ": key ", k, " has bundle id ", hex(id), "..., the header ", hex(header.id),
                "...: it belongs to another bundle (files spliced or concatenated)"));
        }
        const std::uint32_t position = r.u32("the key position");
        const std::uint8_t kind = r.u8("the key kind");
        const std::uint64_t element = r.u64("the Galois element");
        if (position != k || kind != static_cast<std::uint8_t>(entry.kind) ||
            element != entry.element) {
            throw SerializationError(cloak::detail::message(
                where, ": key ", k, " is key ", position, " of kind ", int{kind}, " (element ",
                element, "), but the header lists ", boot_key_name(entry.kind), " (kind ",
                static_cast<int>(entry.kind), ", element ", entry.element,
                ") there; the keys are out of order or the data is corrupt"));
        }
        switch (entry.kind) {
            case BootKeyKind::relin:
                keys.relin.key = read_switching_key(r, context.key_basis(), digits);
                break;
            case BootKeyKind::galois:
                keys.galois.keys.emplace(element,
                                         read_switching_key(r, context.key_basis(), digits));
                break;
            case BootKeyKind::encapsulation_down:
                encapsulation.down = read_switching_key(r, down_basis, 1);
                break;
            case BootKeyKind::encapsulation_up:
                encapsulation.up = read_switching_key(r, context.key_basis(), digits);
                break;
        }
        r.expect_end();
    }
    if (header.list.encapsulation) {
        keys.encapsulation = std::move(encapsulation);
    }
    return keys;
}

}  // namespace detail

/// Reads a bundle saved under `params`, whatever keys it lists (a bundle
/// written by a BootstrappingKeyWriter may hold a subset), checking every frame
/// and every key as it arrives.
/// @throws SerializationError naming what was wrong: the frame checks of
///         io::load, bootstrapping parameters that differ (the field named), a
///         corrupt header, a key out of order or from another bundle, a
///         truncated or corrupt key.
[[nodiscard]] inline boot::BootstrappingKeys read_bootstrapping_keys(
    std::istream& in, const ckks::Context& context, const boot::Parameters& params) {
    constexpr std::string_view where = "io::read_bootstrapping_keys";
    if (!(context.parameters() == params.ckks())) {
        throw InvalidArgumentError(cloak::detail::message(
            where, ": the context was not built from these bootstrapping parameters"));
    }
    const detail::BundleHeader header = detail::read_bundle_header(in, context, params, where);
    return detail::read_bundle_keys(in, context, header, where);
}

/// Reads a bundle into `bootstrapper` (built without keys, from the parameters
/// the bundle was saved with). The header must list exactly the keys it needs,
/// checked before any key is read; then each key is read and checked in turn.
/// @throws SerializationError as read_bootstrapping_keys does, and naming the
///         first Galois element the bootstrapper needs and the bundle lacks (or
///         holds without need), a missing relinearization or encapsulation key.
inline void load_bootstrapping_keys(std::istream& in, boot::Bootstrapper& bootstrapper) {
    constexpr std::string_view where = "io::load_bootstrapping_keys";
    const ckks::Context& context = bootstrapper.context();
    const boot::Parameters& params = bootstrapper.parameters();
    const detail::BundleHeader header = detail::read_bundle_header(in, context, params, where);
    const std::vector<std::uint64_t>& needed = bootstrapper.galois_elements();
    const std::vector<std::uint64_t>& listed = header.list.galois_elements;
    for (std::uint64_t element : needed) {
        if (!std::binary_search(listed.begin(), listed.end(), element)) {
            throw SerializationError(cloak::detail::message(
                where, ": the bundle has no key for ",
                bootstrapper.describe_galois_element(element),
                ", which this bootstrapper needs (it lists ", listed.size(), " Galois keys, ",
                needed.size(), " needed); save the bundle with io::save_bootstrapping_keys"));
        }
    }
    for (std::uint64_t element : listed) {
        if (!std::binary_search(needed.begin(), needed.end(), element)) {
            throw SerializationError(cloak::detail::message(
                where, ": the bundle holds a key for Galois element ", element,
                ", which these bootstrapping parameters do not use; it was written for another "
                "circuit"));
        }
    }
    if (!header.list.relin) {
        throw SerializationError(cloak::detail::message(
            where, ": the bundle has no relinearization key, which bootstrapping needs"));
    }
    if ((params.encapsulation_hamming_weight() != 0) != header.list.encapsulation) {
        throw SerializationError(cloak::detail::message(
            where,
            ": the bundle has no encapsulation keys; these parameters bootstrap through "
            "sparse-secret encapsulation and need both"));
    }
    boot::BootstrappingKeys keys = detail::read_bundle_keys(in, context, header, where);
    try {
        bootstrapper.set_keys(std::move(keys));
    } catch (const SerializationError&) {
        throw;
    } catch (const Error& error) {
        throw SerializationError(cloak::detail::message(
            where, ": the keys do not fit the bootstrapper: ", error.what()));
    }
}

/// save_bootstrapping_keys into a file (created or truncated).
inline void save_bootstrapping_keys_file(const std::string& path, const ckks::Context& context,
                                         const ckks::KeyGenerator& keygen,
                                         const boot::Parameters& params) {
    std::ofstream out = detail::open_for_writing(path);
    save_bootstrapping_keys(out, context, keygen, params);
    detail::finish_writing(out, path);
}

/// load_bootstrapping_keys from a file that holds exactly one bundle.
inline void load_bootstrapping_keys_file(const std::string& path,
                                         boot::Bootstrapper& bootstrapper) {
    std::ifstream in = detail::open_for_reading(path);
    load_bootstrapping_keys(in, bootstrapper);
    detail::expect_end_of_file(in, path);
}

}  // namespace cloak::inline v0::io
