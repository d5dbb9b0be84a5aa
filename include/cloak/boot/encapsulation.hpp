// cloak: sparse-secret encapsulation for bootstrapping (Bossuat, Troncoso-Pastoriza,
// Hubaux, "Bootstrapping for approximate homomorphic encryption with negligible
// failure-probability by using sparse-secret encapsulation", ACNS 2022).
//
// ModRaise turns a level-0 ciphertext of m into one of m + q0 I, and EvalMod must
// cover |I| up to K. With a dense ternary secret (about 2N/3 non-zero
// coefficients) I reaches a few hundred at N = 2^16, which would need a cosine of
// very high degree. Encapsulation keeps the user's secret s dense and bootstraps
// through an ephemeral sparse secret s' of weight h (32 by default):
//
// 1. At level 0, switch (c0, c1) mod q0 from s to s' with a key over the small
//    modulus q0 p' (p' one extra prime outside the chain):
//        b = -a s' + e + p' s  (mod q0 p'),   (u0, u1) = round((c1 b, c1 a) / p').
//    The sparse secret only ever protects this ~110-bit modulus.
// 2. ModRaise under s': |I| <= (h + 1) / 2 in the worst case (|c1 s'| <= h q0 / 2
//    coefficient-wise), so K = 16 leaves no failure at all for h = 32, and its
//    distribution (a sum of h terms in [-1/2, 1/2]) keeps |I| below 10 except
//    with probability far below 2^-100.
// 3. At the top level, switch back from s' to s with an ordinary hybrid key
//    over Q_L P that encrypts s' under s (the dense secret protects it).
//
// Security: the key of step 1 is an RLWE sample under s' with modulus q0 p'
// (log2 about 111 bits at the N = 2^16 preset); Bossuat et al. 2022, section 5,
// estimate such keys (N = 2^16, h = 32, a level-0 modulus of this size) far
// above 128 bits. The key of step 3 is an encryption under the dense s within
// the chain's 128-bit bound. See docs/bootstrapping.md.
#pragma once

#include <sodium.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include <cloak/ckks/ciphertext.hpp>
#include <cloak/ckks/context.hpp>
#include <cloak/ckks/key_switch.hpp>
#include <cloak/ckks/keys.hpp>
#include <cloak/core/error.hpp>
#include <cloak/core/primes.hpp>
#include <cloak/core/random.hpp>
#include <cloak/ring/arith.hpp>
#include <cloak/ring/base_conversion.hpp>
#include <cloak/ring/basis.hpp>
#include <cloak/ring/poly.hpp>

namespace cloak::inline v0::boot {

/// The two switching keys of sparse-secret encapsulation, as they are stored:
/// `down` (step 1, s -> s') is one digit over {q0, p'}, its `a` regenerated from
/// its seed (stream 0); `up` (step 3, s' -> s) is an ordinary hybrid key over Q_L P.
struct EncapsulationKeys {
    std::uint64_t special_prime = 0;  ///< p'
    ckks::SwitchingKey down;
    ckks::SwitchingKey up;
};

/// The two keys of sparse-secret encapsulation and the switches that use them.
class SparseSecretEncapsulation {
  public:
    /// Draws the ephemeral sparse secret (weight `hamming_weight`), a prime p' of
    /// `log_special_prime` bits outside the chain, and both switching keys.
    /// @throws ParameterError for a weight of 0 or above N.
    SparseSecretEncapsulation(const ckks::Context& context, const ckks::KeyGenerator& keygen,
                              std::size_t hamming_weight, int log_special_prime)
        : SparseSecretEncapsulation(
              context, generate_keys(context, keygen, hamming_weight, log_special_prime),
              log_special_prime) {}

    /// Uses keys made by generate_keys (for example loaded by
    /// io::load_bootstrapping_keys); needs no secret key.
    /// @throws InvalidArgumentError when p' is not the prime of `log_special_prime`
    ///         bits this context chooses, or a key has the wrong shape or primes.
    SparseSecretEncapsulation(const ckks::Context& context, EncapsulationKeys keys,
                              int log_special_prime)
        : context_(context) {
        const char* where = "boot::SparseSecretEncapsulation";
        const std::uint64_t expected = special_prime_for(context, log_special_prime);
        if (keys.special_prime != expected) {
            throw InvalidArgumentError(
                cloak::detail::message(where, ": the keys use p' = ", keys.special_prime, "; a ",
                                       log_special_prime, "-bit p' for this context is ", expected,
                                       "; the keys were made for other parameters"));
        }
        const std::size_t n = context.degree();
        q0_ = context.level(0).q;
        const std::uint64_t special[] = {expected};
        special_ = ring::RnsBasis::create(n, special);
        extended_ = q0_->concat(*special_);
        lift_ = std::make_unique<ring::BaseConverter>(q0_, special_);
        mod_down_ = std::make_unique<ring::ModDown>(extended_, q0_, special_);
        const auto same_primes = [](const ring::Poly& p, const ring::RnsBasis& basis) {
            return !p.empty() && p.form() == ring::Form::evaluation &&
                   p.degree() == basis.degree() &&
                   std::ranges::equal(p.basis().values(), basis.values());
        };
        const ckks::SwitchingKey& down = keys.down;
        if (down.b.size() != 1 || down.a.size() != 1 || !same_primes(down.b[0], *extended_) ||
            !same_primes(down.a[0], *extended_)) {
            throw InvalidArgumentError(cloak::detail::message(
                where,
                ": the s -> s' key must be one (b, a) pair in evaluation form over {q0, p'}"));
        }
        const std::size_t digits =
            (context.parameters().q_primes().size() + context.parameters().digit_size() - 1) /
            context.parameters().digit_size();
        if (keys.up.b.size() != digits || keys.up.a.size() != digits) {
            throw InvalidArgumentError(
                cloak::detail::message(where, ": the s' -> s key has ", keys.up.b.size(),
                                       " digits; this context's keys have ", digits));
        }
        for (const auto* half : {&keys.up.b, &keys.up.a}) {
            for (const ring::Poly& p : *half) {
                if (!same_primes(p, *context.key_basis())) {
                    throw InvalidArgumentError(cloak::detail::message(
                        where,
                        ": the s' -> s key is not over this context's Q_L P in evaluation form"));
                }
            }
        }
        // Over this object's own bases (the ring operations compare basis objects).
        keys.down.b[0] = ring::Poly(extended_, ring::Form::evaluation, keys.down.b[0].data());
        keys.down.a[0] = ring::Poly(extended_, ring::Form::evaluation, keys.down.a[0].data());
        for (auto* half : {&keys.up.b, &keys.up.a}) {
            for (ring::Poly& p : *half) {
                if (p.basis_ptr() != context.key_basis()) {
                    p = ring::Poly(context.key_basis(), ring::Form::evaluation, p.data());
                }
            }
        }
        keys_ = std::move(keys);
    }

    /// The prime p' of `log_special_prime` bits outside the chain that the
    /// encapsulation keys of `context` use (deterministic).
    [[nodiscard]] static std::uint64_t special_prime_for(const ckks::Context& context,
                                                         int log_special_prime) {
        const ckks::Parameters& params = context.parameters();
        std::vector<std::uint64_t> chain(params.q_primes().begin(), params.q_primes().end());
        chain.insert(chain.end(), params.p_primes().begin(), params.p_primes().end());
        return core::generate_ntt_primes(
            log_special_prime, 1, 2 * static_cast<std::uint64_t>(context.degree()), chain)[0];
    }

    /// Draws the ephemeral sparse secret and makes both keys (the secret is wiped).
    /// @throws ParameterError for a weight of 0 or above N.
    [[nodiscard]] static EncapsulationKeys generate_keys(const ckks::Context& context,
                                                         const ckks::KeyGenerator& keygen,
                                                         std::size_t hamming_weight,
                                                         int log_special_prime) {
        const std::size_t n = context.degree();
        if (hamming_weight == 0 || hamming_weight > n) {
            throw ParameterError(cloak::detail::message(
                "boot::SparseSecretEncapsulation: Hamming weight ", hamming_weight,
                " is outside [1, N = ", n, "]; 32 is the usual choice"));
        }
        EncapsulationKeys keys;
        keys.special_prime = special_prime_for(context, log_special_prime);
        const auto q0 = context.level(0).q;
        const std::uint64_t special_values[] = {keys.special_prime};
        const auto special = ring::RnsBasis::create(n, special_values);
        const auto extended = q0->concat(*special);

        // The ephemeral sparse secret, over {q0, p'} and over Q_L P.
        core::Prng prng = core::Prng::from_entropy();
        std::vector<std::int64_t> coefficients(n);
        core::sample_sparse_ternary(prng, hamming_weight, coefficients);
        ring::Poly sparse = ring::Poly::from_signed(extended, coefficients);
        ring::Poly sparse_top = ring::Poly::from_signed(context.key_basis(), coefficients);
        sodium_memzero(coefficients.data(), coefficients.size() * sizeof(std::int64_t));
        sparse.to_evaluation();
        sparse_top.to_evaluation();

        // Step 1's key: b = -a s' + e + p' s over {q0, p'} (p' s vanishes mod p').
        const ring::BaseConverter lift_converter(q0, special);
        ring::Poly dense = lift(keygen.secret_key().poly().limb(0), q0, extended, lift_converter);
        keys.down.seed = core::random_seed();
        ring::Poly a = ckks::KeyGenerator::uniform_poly(extended, keys.down.seed, 0);
        ring::Poly b = ckks::KeyGenerator::error_poly(extended);
        ring::Poly as = a;
        ring::multiply_inplace(as, sparse);
        ring::sub_inplace(b, as);
        const std::vector<std::uint64_t> p_factor{q0->modulus(0).reduce(keys.special_prime), 0};
        ring::multiply_scalar_inplace(dense, p_factor);
        ring::add_inplace(b, dense);
        wipe(dense);
        wipe(sparse);
        wipe(as);
        keys.down.b.push_back(std::move(b));
        keys.down.a.push_back(std::move(a));

        // Step 3's key: s' -> s over Q_L P.
        keys.up = keygen.switching_key(sparse_top);
        wipe(sparse_top);
        return keys;
    }

    SparseSecretEncapsulation(const SparseSecretEncapsulation&) = delete;
    SparseSecretEncapsulation& operator=(const SparseSecretEncapsulation&) = delete;

    /// The prime p' of step 1's key.
    [[nodiscard]] std::uint64_t special_prime() const noexcept { return keys_.special_prime; }
    /// Both keys (to save them: io/boot.hpp).
    [[nodiscard]] const EncapsulationKeys& keys() const noexcept { return keys_; }
    /// Bytes of both keys.
    [[nodiscard]] std::size_t bytes() const noexcept {
        std::size_t total = 0;
        for (const auto* key : {&keys_.down, &keys_.up}) {
            for (const auto* half : {&key->b, &key->a}) {
                for (const ring::Poly& p : *half) {
                    total += p.data().size_bytes();
                }
            }
        }
        return total;
    }

    /// Step 1: a level-0 ciphertext under s becomes one under s' (same message,
    /// a rounding error of about sqrt(h / 12) per coefficient added).
    /// @throws LevelError for a ciphertext above level 0.
    [[nodiscard]] ckks::Ciphertext to_sparse(const ckks::Ciphertext& ct) const {
        if (ct.level() != 0 || ct.size() != 2) {
            throw LevelError(cloak::detail::message(
                "boot::SparseSecretEncapsulation::to_sparse: a ciphertext of ", ct.size(),
                " parts at level ", ct.level(), "; it takes relinearized level-0 ciphertexts"));
        }
        ring::Poly raised = lift(ct[1].limb(0), q0_, extended_, *lift_);
        ring::Poly u0 = raised;
        ring::multiply_inplace(u0, keys_.down.b[0]);
        ring::multiply_inplace(raised, keys_.down.a[0]);
        mod_down_->apply(u0);
        mod_down_->apply(raised);
        ring::add_inplace(u0, ct[0]);
        std::vector<ring::Poly> parts;
        parts.push_back(std::move(u0));
        parts.push_back(std::move(raised));
        return ckks::Ciphertext(std::move(parts), ct.scale(), ct.slots());
    }

    /// Step 3: a ciphertext under s' (any level) becomes one under s.
    [[nodiscard]] ckks::Ciphertext to_dense(const ckks::Ciphertext& ct) const {
        if (ct.size() != 2) {
            throw InvalidArgumentError(cloak::detail::message(
                "boot::SparseSecretEncapsulation::to_dense: a ciphertext of ", ct.size(),
                " parts; relinearize it first"));
        }
        const ckks::RaisedDigits digits = ckks::raise_digits(context_, ct[1]);
        auto [u0, u1] = ckks::switch_key(context_, digits, keys_.up);
        ring::add_inplace(u0, ct[0]);
        std::vector<ring::Poly> parts;
        parts.push_back(std::move(u0));
        parts.push_back(std::move(u1));
        return ckks::Ciphertext(std::move(parts), ct.scale(), ct.slots());
    }

  private:
    // x (one limb mod q0, evaluation form) over {q0, p'}, its centered lift on p'.
    [[nodiscard]] static ring::Poly lift(std::span<const std::uint64_t> limb,
                                         const std::shared_ptr<const ring::RnsBasis>& q0,
                                         const std::shared_ptr<const ring::RnsBasis>& extended,
                                         const ring::BaseConverter& converter) {
        const ring::Poly eval(q0, ring::Form::evaluation, limb);
        ring::Poly coefficient = eval;
        coefficient.to_coefficient();
        ring::Poly out(extended, ring::Form::evaluation);
        const std::size_t complement[] = {1};
        ring::mod_up(eval, coefficient, 0, converter, complement, out);
        return out;
    }

    static void wipe(ring::Poly& p) {
        if (!p.empty()) {
            sodium_memzero(p.data().data(), p.data().size_bytes());
        }
    }

    ckks::Context context_;
    std::shared_ptr<const ring::RnsBasis> q0_;
    std::shared_ptr<const ring::RnsBasis> special_;
    std::shared_ptr<const ring::RnsBasis> extended_;
    std::unique_ptr<ring::BaseConverter> lift_;
    std::unique_ptr<ring::ModDown> mod_down_;
    EncapsulationKeys keys_;
};

}  // namespace cloak::inline v0::boot
