// cloak: CKKS encryption and decryption.
//
// Public-key encryption of m: (v b + e0 + m, v a + e1) for a fresh ternary v and
// Gaussian e0, e1. Secret-key encryption: (-a s + e + m, a) with a from a fresh
// seed, kept so that a serialized ciphertext can store the seed instead of a.
//
// Noise-flooding decryption (Decryptor::decrypt with NoiseFlooding): a CKKS
// decryption m + e reveals the error e, and from e and the ciphertext anyone can
// solve for the secret key (Li and Micciancio, "On the security of homomorphic
// encryption on approximate numbers", Eurocrypt 2021). Before a decryption is
// shared, Gaussian noise of standard deviation
//     sigma = sqrt(12 q) * 2^(s / 2) * B
// is added to every coefficient, for an error bound B (coefficient units), q
// decryptions the adversary sees and statistical security s bits: the bound
// OpenFHE's NOISE_FLOODING_DECRYPT uses (after Li, Micciancio, Schultz and
// Sorrell, "Securing approximate homomorphic encryption using differential
// privacy", Crypto 2022). docs/security.md has the precision it costs.
#pragma once

#include <sodium.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>
#include <variant>
#include <vector>

#include <cloak/ckks/ciphertext.hpp>
#include <cloak/ckks/context.hpp>
#include <cloak/ckks/keys.hpp>
#include <cloak/core/error.hpp>
#include <cloak/core/parallel.hpp>
#include <cloak/core/random.hpp>
#include <cloak/ring/arith.hpp>
#include <cloak/ring/poly.hpp>

namespace cloak::inline v0::ckks {

class Encryptor {
  public:
    /// Encrypts with the public key.
    Encryptor(const Context& context, PublicKey public_key)
        : context_(context), key_(std::move(public_key)) {}

    /// Encrypts with the secret key (smaller error; the secret must stay with the owner).
    Encryptor(const Context& context, const SecretKey& secret_key)
        : context_(context), key_(secret_key) {}

    /// Encrypts a plaintext at its level and scale.
    /// @throws InvalidArgumentError for a plaintext of another context.
    [[nodiscard]] Ciphertext encrypt(const Plaintext& plaintext) const {
        const std::size_t level = context_.level_of(plaintext.poly(), "ckks::Encryptor::encrypt");
        const auto& basis = context_.level(level).q;
        std::vector<ring::Poly> parts;
        std::optional<core::Seed> seed;
        if (const auto* pk = std::get_if<PublicKey>(&key_)) {
            // Over Q_l ∪ P, then divided by P: the error v e + e0 + e1 s shrinks to
            // the rounding of the division.
            const detail::LevelData& data = context_.level(level);
            core::Prng prng = core::Prng::from_entropy();
            std::vector<std::int64_t> v(context_.degree());
            core::sample_ternary(prng, v);
            ring::Poly ephemeral = ring::Poly::from_signed(data.qp, v);
            sodium_memzero(v.data(), v.size() * sizeof(std::int64_t));
            ephemeral.to_evaluation();
            ring::Poly c0 = context_.key_at_level(pk->b, level);
            ring::Poly c1 = context_.key_at_level(pk->a, level);
            ring::multiply_inplace(c0, ephemeral);
            ring::multiply_inplace(c1, ephemeral);
            // v, e0 and e1 would give the message from c0: wiped, like the key.
            detail::wipe(ephemeral);
            for (ring::Poly* c : {&c0, &c1}) {
                ring::Poly e = KeyGenerator::error_poly(data.qp);
                ring::add_inplace(*c, e);
                detail::wipe(e);
            }
            data.mod_down->apply(c0);
            data.mod_down->apply(c1);
            ring::add_inplace(c0, plaintext.poly());
            parts.push_back(std::move(c0));
            parts.push_back(std::move(c1));
        } else {
            const SecretKey& sk = std::get<SecretKey>(key_);
            seed = core::random_seed();
            ring::Poly a = KeyGenerator::uniform_poly(basis, *seed, 0);
            ring::Poly s = sk.poly();
            s.truncate(basis);
            ring::Poly c0 = KeyGenerator::error_poly(basis);
            ring::multiply_inplace(s, a);
            ring::sub_inplace(c0, s);
            detail::wipe(s);  // a s, from which s follows
            ring::add_inplace(c0, plaintext.poly());
            parts.push_back(std::move(c0));
            parts.push_back(std::move(a));
        }
        Ciphertext result(std::move(parts), plaintext.scale(), plaintext.slots());
        result.set_public_seed(seed);
        return result;
    }

  private:
    Context context_;
    std::variant<PublicKey, SecretKey> key_;
};

/// Statistical security of noise flooding when NoiseFlooding leaves it unset
/// (OpenFHE's default).
inline constexpr int default_flooding_security = 30;

/// How much noise Decryptor::decrypt adds before a decryption is shared.
struct NoiseFlooding {
    /// log2 of a bound B on the ciphertext's error, in coefficient units (the
    /// largest |e_j| of the decrypted polynomial minus the exact message).
    /// Measure it with Decryptor::noise_bits on the same computation run on
    /// inputs the key owner knows, and add a margin (docs/security.md).
    double noise_bits = 0;
    /// Statistical security s in bits (default 30; 40 costs 5 bits more).
    std::optional<int> statistical_security = std::nullopt;
    /// Decryptions of related ciphertexts an adversary may see (default 1).
    std::optional<std::size_t> queries = std::nullopt;

    /// The standard deviation sqrt(12 q) 2^(s/2) 2^noise_bits of the noise added.
    /// @throws InvalidArgumentError for noise_bits outside [0, 60], s outside
    ///         [1, 128] or q = 0.
    [[nodiscard]] double sigma() const {
        const int s = statistical_security.value_or(default_flooding_security);
        const std::size_t q = queries.value_or(1);
        if (!(noise_bits >= 0 && noise_bits <= 60) || s < 1 || s > 128 || q == 0) {
            throw InvalidArgumentError(cloak::detail::message(
                "ckks::NoiseFlooding: noise_bits ", noise_bits, ", statistical security ", s,
                ", queries ", q,
                "; pass noise_bits in [0, 60] (from Decryptor::noise_bits), a security of 1 to "
                "128 bits and at least 1 query"));
        }
        return std::sqrt(12.0 * static_cast<double>(q)) * std::exp2(s / 2.0 + noise_bits);
    }
};

class Decryptor {
  public:
    /// @throws ShapeError for a secret key of another context.
    Decryptor(const Context& context, const SecretKey& secret_key)
        : context_(context), secret_(secret_over_q(context, secret_key)) {}
    // SecretKey wipes, locks and unlocks its words through copies and assignments.
    Decryptor(const Decryptor&) = default;
    Decryptor& operator=(const Decryptor&) = default;
    ~Decryptor() = default;

    /// decrypt(ciphertext) plus rounded Gaussian noise of standard deviation
    /// flooding.sigma() on every coefficient: the form of a decryption that is
    /// shared with anyone but the key owner (Li and Micciancio 2021).
    /// @throws InvalidArgumentError as decrypt does, for invalid flooding fields,
    ///         or when sigma sqrt(N) reaches the ciphertext's scale (no bit of the
    ///         message would survive; use a larger scale).
    [[nodiscard]] Plaintext decrypt(const Ciphertext& ciphertext,
                                    const NoiseFlooding& flooding) const {
        const double sigma = flooding.sigma();
        const double n = static_cast<double>(context_.degree());
        if (!(sigma * std::sqrt(n) < ciphertext.scale()) || sigma > core::max_wide_gaussian_sigma) {
            throw InvalidArgumentError(cloak::detail::message(
                "ckks::Decryptor::decrypt: flooding noise sigma 2^", std::log2(sigma),
                " times sqrt(N) reaches the ciphertext's scale 2^", std::log2(ciphertext.scale()),
                ": no bit of precision would be left; use a larger scale or a smaller "
                "statistical security"));
        }
        Plaintext plaintext = decrypt(ciphertext);
        core::Prng prng = core::Prng::from_entropy();
        std::vector<std::int64_t> noise(context_.degree());
        core::sample_wide_gaussian(prng, sigma, noise);
        ring::Poly flood = ring::Poly::from_signed(plaintext.poly().basis_ptr(), noise);
        sodium_memzero(noise.data(), noise.size() * sizeof(std::int64_t));
        if (plaintext.poly().form() == ring::Form::evaluation) {
            flood.to_evaluation();
        }
        ring::add_inplace(plaintext.poly(), flood);
        detail::wipe(flood);  // with it, anyone could subtract the flooding again
        return plaintext;
    }

    /// log2 of the largest coefficient of decrypt(ciphertext) - expected (at
    /// least 0): the error bound NoiseFlooding::noise_bits asks for, measured on
    /// a computation whose exact result the key owner knows. Encode `expected`
    /// at the ciphertext's level, scale and slots.
    /// @throws InvalidArgumentError when `expected` is not at the ciphertext's
    ///         level (or of another context).
    [[nodiscard]] double noise_bits(const Ciphertext& ciphertext, const Plaintext& expected) const {
        Plaintext decrypted = decrypt(ciphertext);
        ring::Poly& error = decrypted.poly();
        if (expected.poly().basis_ptr() != error.basis_ptr()) {
            throw InvalidArgumentError(cloak::detail::message(
                "ckks::Decryptor::noise_bits: the expected plaintext is at level ",
                expected.level(), ", the ciphertext at level ", ciphertext.level(),
                "; encode it with {.level = ciphertext.level(), .scale = ciphertext.scale()}"));
        }
        ring::Poly reference = expected.poly();
        error.to_coefficient();
        reference.to_coefficient();
        ring::sub_inplace(error, reference);
        // The error is far below q0 / 2: limb 0, centred, is its exact value.
        const std::uint64_t q0 = error.modulus(0).value();
        std::uint64_t largest = 1;
        for (const std::uint64_t x : error.limb(0)) {
            largest = std::max(largest, std::min(x, q0 - x));
        }
        return std::log2(static_cast<double>(largest));
    }

    /// c0 + c1 s (+ c2 s^2 for an unrelinearized product), as a plaintext.
    /// @throws InvalidArgumentError for a ciphertext of another context or an empty one.
    [[nodiscard]] Plaintext decrypt(const Ciphertext& ciphertext) const {
        if (ciphertext.empty()) {
            throw InvalidArgumentError("ckks::Decryptor::decrypt: the ciphertext is empty");
        }
        const std::size_t level = context_.level_of(ciphertext[0], "ckks::Decryptor::decrypt");
        ring::Poly result = ciphertext[ciphertext.size() - 1];
        // Horner, limb by limb on the first l + 1 limbs of s (no copy of the key):
        // ((c_k s + c_{k-1}) s + ...) + c0.
        for (std::size_t part = ciphertext.size() - 1; part-- > 0;) {
            const ring::Poly& c = ciphertext[part];
            core::parallel_for(level + 1, context_.degree(), [&](std::size_t i) {
                const core::Modulus& q = result.modulus(i);
                ring::multiply(result.limb(i), secret_.poly().limb(i), result.limb(i), q);
                ring::add(result.limb(i), c.limb(i), result.limb(i), q.value());
            });
        }
        return Plaintext(std::move(result), ciphertext.scale(), ciphertext.slots());
    }

  private:
    // s over Q_L only (a ciphertext at level l uses its first l + 1 limbs), copied
    // into a buffer of exactly that size: truncating a copy of the whole key would
    // leave its P limbs in the vector's spare capacity, where no wipe reaches.
    static SecretKey secret_over_q(const Context& context, const SecretKey& secret_key) {
        const auto& basis = context.level(context.max_level()).q;
        const ring::Poly& s = secret_key.poly();
        if (secret_key.empty() || !s.basis().starts_with(*basis)) {
            throw ShapeError(
                "ckks::Decryptor: the secret key is empty or not over this context's primes; "
                "pass the key of this context's KeyGenerator");
        }
        return SecretKey(ring::Poly(basis, s.form(), s.data().first(basis->size() * s.degree())));
    }

    Context context_;
    SecretKey secret_;  // s over Q_L, evaluation form: locked while it lives, wiped after
};

}  // namespace cloak::inline v0::ckks
