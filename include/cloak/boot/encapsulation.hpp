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

/// The two keys of sparse-secret encapsulation and the switches that use them.
class SparseSecretEncapsulation {
  public:
    /// Draws the ephemeral sparse secret (weight `hamming_weight`), a prime p' of
    /// `log_special_prime` bits outside the chain, and both switching keys.
    /// @throws ParameterError for a weight of 0 or above N.
    SparseSecretEncapsulation(const ckks::Context& context, const ckks::KeyGenerator& keygen,
                              std::size_t hamming_weight, int log_special_prime)
        : context_(context) {
        const std::size_t n = context.degree();
        if (hamming_weight == 0 || hamming_weight > n) {
            throw ParameterError(cloak::detail::message(
                "boot::SparseSecretEncapsulation: Hamming weight ", hamming_weight,
                " is outside [1, N = ", n, "]; 32 is the usual choice"));
        }
        const ckks::Parameters& params = context.parameters();
        std::vector<std::uint64_t> chain(params.q_primes().begin(), params.q_primes().end());
        chain.insert(chain.end(), params.p_primes().begin(), params.p_primes().end());
        const std::vector<std::uint64_t> special = core::generate_ntt_primes(
            log_special_prime, 1, 2 * static_cast<std::uint64_t>(n), chain);
        q0_ = context.level(0).q;
        special_ = ring::RnsBasis::create(n, special);
        extended_ = q0_->concat(*special_);
        lift_ = std::make_unique<ring::BaseConverter>(q0_, special_);
        mod_down_ = std::make_unique<ring::ModDown>(extended_, q0_, special_);

        // The ephemeral sparse secret, over {q0, p'} and over Q_L P.
        core::Prng prng = core::Prng::from_entropy();
        std::vector<std::int64_t> coefficients(n);
        core::sample_sparse_ternary(prng, hamming_weight, coefficients);
        ring::Poly sparse = ring::Poly::from_signed(extended_, coefficients);
        ring::Poly sparse_top = ring::Poly::from_signed(context.key_basis(), coefficients);
        sodium_memzero(coefficients.data(), coefficients.size() * sizeof(std::int64_t));
        sparse.to_evaluation();
        sparse_top.to_evaluation();

        // Step 1's key: b = -a s' + e + p' s over {q0, p'} (p' s vanishes mod p').
        ring::Poly dense = lift(keygen.secret_key().poly().limb(0));
        down_seed_ = core::random_seed();
        down_a_ = ckks::KeyGenerator::uniform_poly(extended_, down_seed_, 0);
        down_b_ = ckks::KeyGenerator::error_poly(extended_);
        ring::Poly as = down_a_;
        ring::multiply_inplace(as, sparse);
        ring::sub_inplace(down_b_, as);
        const std::vector<std::uint64_t> p_factor{q0_->modulus(0).reduce(special[0]), 0};
        ring::multiply_scalar_inplace(dense, p_factor);
        ring::add_inplace(down_b_, dense);
        wipe(dense);
        wipe(sparse);
        wipe(as);

        // Step 3's key: s' -> s over Q_L P.
        up_ = keygen.switching_key(sparse_top);
        wipe(sparse_top);
    }

    SparseSecretEncapsulation(const SparseSecretEncapsulation&) = delete;
    SparseSecretEncapsulation& operator=(const SparseSecretEncapsulation&) = delete;

    /// The prime p' of step 1's key.
    [[nodiscard]] std::uint64_t special_prime() const noexcept {
        return special_->modulus(0).value();
    }
    /// Bytes of both keys.
    [[nodiscard]] std::size_t bytes() const noexcept {
        std::size_t total = down_a_.data().size_bytes() + down_b_.data().size_bytes();
        for (const auto* half : {&up_.b, &up_.a}) {
            for (const ring::Poly& p : *half) {
                total += p.data().size_bytes();
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
        ring::Poly raised = lift(ct[1].limb(0));
        ring::Poly u0 = raised;
        ring::multiply_inplace(u0, down_b_);
        ring::multiply_inplace(raised, down_a_);
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
        auto [u0, u1] = ckks::switch_key(context_, digits, up_);
        ring::add_inplace(u0, ct[0]);
        std::vector<ring::Poly> parts;
        parts.push_back(std::move(u0));
        parts.push_back(std::move(u1));
        return ckks::Ciphertext(std::move(parts), ct.scale(), ct.slots());
    }

  private:
    // x (one limb mod q0, evaluation form) over {q0, p'}, its centered lift on p'.
    [[nodiscard]] ring::Poly lift(std::span<const std::uint64_t> limb) const {
        const ring::Poly eval(q0_, ring::Form::evaluation, limb);
        ring::Poly coefficient = eval;
        coefficient.to_coefficient();
        ring::Poly out(extended_, ring::Form::evaluation);
        const std::size_t complement[] = {1};
        ring::mod_up(eval, coefficient, 0, *lift_, complement, out);
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
    core::Seed down_seed_{};
    ring::Poly down_a_;
    ring::Poly down_b_;
    ckks::SwitchingKey up_;
};

}  // namespace cloak::inline v0::boot
