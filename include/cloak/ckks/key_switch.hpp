// cloak: hybrid key switching (Han and Ki, CT-RSA 2020) with hoisting
// (Halevi and Shoup, CRYPTO 2018, section 5).
//
// To switch c * s' to s at level l: split c into its digits (consecutive groups
// of primes of Q_l), raise each digit to Q_l ∪ P (ModUp: fast base conversion),
// take the inner product with the key's (b_d, a_d), and divide by P (ModDown).
// Raising is the expensive half and does not depend on the key, so rotations of
// one ciphertext by many steps raise once ("hoisting") and apply each rotation
// as a permutation of the raised digits in evaluation form.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include <cloak/ckks/context.hpp>
#include <cloak/ckks/keys.hpp>
#include <cloak/core/error.hpp>
#include <cloak/core/parallel.hpp>
#include <cloak/ring/arith.hpp>
#include <cloak/ring/automorphism.hpp>
#include <cloak/ring/base_conversion.hpp>
#include <cloak/ring/poly.hpp>

namespace cloak::inline v0::ckks {

/// The digits of one polynomial at level l, each raised to Q_l ∪ P, in
/// evaluation form: the reusable half of key switching.
struct RaisedDigits {
    std::size_t level = 0;
    std::vector<ring::Poly> digits;
};

/// Decomposes and raises c (over Q_l, evaluation form).
inline RaisedDigits raise_digits(const Context& context, const ring::Poly& c) {
    const std::size_t level = context.level_of(c, "ckks::raise_digits");
    const detail::LevelData& data = context.level(level);
    ring::Poly coefficient = c;
    coefficient.to_coefficient();
    RaisedDigits raised;
    raised.level = level;
    for (const detail::DigitPlan& digit : data.digits) {
        ring::Poly out(data.qp, ring::Form::evaluation);
        ring::mod_up(c, coefficient, digit.first, *digit.converter, digit.complement, out);
        raised.digits.push_back(std::move(out));
    }
    return raised;
}

/// Inner product of raised digits with a switching key, optionally through the
/// automorphism `sigma` (applied to the digits as a slot permutation), then
/// ModDown: returns (u0, u1) over Q_l with u0 + u1 s = sigma(c) s' + small error.
inline std::pair<ring::Poly, ring::Poly> switch_key(const Context& context,
                                                    const RaisedDigits& raised,
                                                    const SwitchingKey& key,
                                                    const ring::Automorphism* sigma = nullptr) {
    const detail::LevelData& data = context.level(raised.level);
    const std::size_t n = context.degree();
    const std::size_t q_limbs = raised.level + 1;
    const std::size_t limbs = data.qp->size();
    const std::size_t key_q_limbs = context.max_level() + 1;
    if (key.b.size() < raised.digits.size()) {
        throw InvalidArgumentError(cloak::detail::message(
            "ckks::switch_key: the key has ", key.b.size(), " digits but level ", raised.level,
            " needs ", raised.digits.size(), "; the key was made for other parameters"));
    }
    // Hoisted rotations read the raised digits through the automorphism's slot
    // permutation (evaluation form) inside the inner product, instead of raising
    // the rotated polynomial again or materialising permuted digits.
    const std::vector<ring::Poly>* digits = &raised.digits;
    const std::span<const std::uint32_t> source =
        sigma != nullptr ? sigma->evaluation_source() : std::span<const std::uint32_t>();
    ring::Poly u0(data.qp, ring::Form::evaluation);
    ring::Poly u1(data.qp, ring::Form::evaluation);
    const std::size_t terms = digits->size();
    core::parallel_for(limbs, n * terms * 2, [&](std::size_t t) {
        // Limb t of Q_l ∪ P is limb t of the key's Q_L ∪ P for q primes, and limb
        // L + 1 + (t - l - 1) for the special primes.
        const std::size_t key_limb = t < q_limbs ? t : key_q_limbs + (t - q_limbs);
        std::vector<const std::uint64_t*> digit_limbs(terms);
        std::vector<const std::uint64_t*> b_limbs(terms);
        std::vector<const std::uint64_t*> a_limbs(terms);
        for (std::size_t d = 0; d < terms; ++d) {
            digit_limbs[d] = (*digits)[d].limb(t).data();
            b_limbs[d] = key.b[d].limb(key_limb).data();
            a_limbs[d] = key.a[d].limb(key_limb).data();
        }
        const core::Modulus& modulus = data.qp->modulus(t);
        ring::inner_product_pair(digit_limbs, b_limbs, a_limbs, u0.limb(t), u1.limb(t), modulus,
                                 source);
    });
    data.mod_down->apply(u0);
    data.mod_down->apply(u1);
    return {std::move(u0), std::move(u1)};
}

}  // namespace cloak::inline v0::ckks
