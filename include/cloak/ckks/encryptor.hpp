// cloak: CKKS encryption and decryption.
//
// Public-key encryption of m: (v b + e0 + m, v a + e1) for a fresh ternary v and
// Gaussian e0, e1. Secret-key encryption: (-a s + e + m, a) with a from a fresh
// seed, kept so that a serialized ciphertext can store the seed instead of a.
#pragma once

#include <sodium.h>

#include <cstddef>
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
            ephemeral.to_evaluation();
            ring::Poly c0 = context_.key_at_level(pk->b, level);
            ring::Poly c1 = context_.key_at_level(pk->a, level);
            ring::multiply_inplace(c0, ephemeral);
            ring::multiply_inplace(c1, ephemeral);
            ring::add_inplace(c0, KeyGenerator::error_poly(data.qp));
            ring::add_inplace(c1, KeyGenerator::error_poly(data.qp));
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

class Decryptor {
  public:
    Decryptor(const Context& context, const SecretKey& secret_key)
        : context_(context), secret_(secret_key.poly()) {
        // Keep s over Q_L only: a ciphertext at level l uses its first l + 1 limbs.
        secret_.truncate(context_.level(context_.max_level()).q);
    }
    Decryptor(const Decryptor&) = default;
    Decryptor& operator=(const Decryptor&) = default;
    ~Decryptor() { sodium_memzero(secret_.data().data(), secret_.data().size_bytes()); }

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
                ring::multiply(result.limb(i), secret_.limb(i), result.limb(i), q);
                ring::add(result.limb(i), c.limb(i), result.limb(i), q.value());
            });
        }
        return Plaintext(std::move(result), ciphertext.scale(), ciphertext.slots());
    }

  private:
    Context context_;
    ring::Poly secret_;  // s over Q_L, evaluation form; wiped on destruction
};

}  // namespace cloak::inline v0::ckks
