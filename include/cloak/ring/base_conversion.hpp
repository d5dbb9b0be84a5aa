// cloak: moving RNS polynomials between bases.
//
// - BaseConverter: fast base conversion (Bajard, Eynard, Hasan, Zucca, SAC 2016,
//   section 2): for x in [0, Q) given by residues x_i mod q_i,
//       conv(x) = sum_i [x_i (Q/q_i)^-1]_{q_i} (Q/q_i)  mod p_j,
//   which equals x + e Q for an integer 0 <= e < L (L = number of q_i). No
//   correction of e is attempted: hybrid key switching tolerates it (the e Q
//   term vanishes against the gadget, Han and Ki 2020, section 3).
// - Rescaler: exact divide-and-round by the last prime, the CKKS rescale
//   (Cheon, Han, Kim, Kim, Song, SAC 2018, section 3.3).
// - ModDown: divide by the special modulus P with rounding, the last step of key
//   switching (Gentry, Halevi, Smart 2012; Han and Ki 2020).
// - mod_up: raise one key-switching digit to the whole basis Q_l ∪ P.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include <cloak/core/error.hpp>
#include <cloak/core/modarith.hpp>
#include <cloak/core/parallel.hpp>
#include <cloak/ring/arith.hpp>
#include <cloak/ring/basis.hpp>
#include <cloak/ring/poly.hpp>

namespace cloak::inline v0::ring {

/// Fast base conversion from one RNS basis to another (approximate: see above).
class BaseConverter {
  public:
    /// @throws InvalidArgumentError for different degrees.
    BaseConverter(std::shared_ptr<const RnsBasis> from, std::shared_ptr<const RnsBasis> to)
        : from_(std::move(from)), to_(std::move(to)) {
        if (from_->degree() != to_->degree()) {
            throw InvalidArgumentError(
                cloak::detail::message("ring::BaseConverter: degrees differ (", from_->degree(),
                                       " and ", to_->degree(), ")"));
        }
        const std::size_t l = from_->size();
        const std::size_t k = to_->size();
        inverse_punctured_.resize(l);
        punctured_in_target_.resize(k * l);
        for (std::size_t i = 0; i < l; ++i) {
            const core::Modulus& qi = from_->modulus(i);
            std::uint64_t punctured_mod_qi = 1;  // (Q / q_i) mod q_i
            for (std::size_t m = 0; m < l; ++m) {
                if (m != i) {
                    punctured_mod_qi =
                        core::mul_mod(punctured_mod_qi, qi.reduce(from_->modulus(m).value()), qi);
                }
            }
            inverse_punctured_[i] =
                core::ShoupConstant(core::inverse_mod(punctured_mod_qi, qi.value()), qi.value());
            for (std::size_t j = 0; j < k; ++j) {
                const core::Modulus& pj = to_->modulus(j);
                std::uint64_t punctured_mod_pj = 1;  // (Q / q_i) mod p_j
                for (std::size_t m = 0; m < l; ++m) {
                    if (m != i) {
                        punctured_mod_pj = core::mul_mod(punctured_mod_pj,
                                                         pj.reduce(from_->modulus(m).value()), pj);
                    }
                }
                punctured_in_target_[j * l + i] = punctured_mod_pj;
            }
        }
    }

    [[nodiscard]] const RnsBasis& from() const noexcept { return *from_; }
    [[nodiscard]] const RnsBasis& to() const noexcept { return *to_; }

    /// Converts coefficient-form limbs: `in` holds from().size() limbs of N words,
    /// `out` to().size() limbs, each limb after the other.
    /// @throws ShapeError for spans of the wrong sizes.
    void convert(std::span<const std::uint64_t> in, std::span<std::uint64_t> out) const {
        const std::size_t n = from_->degree();
        const std::size_t l = from_->size();
        const std::size_t k = to_->size();
        if (in.size() != l * n || out.size() != k * n) {
            throw ShapeError(cloak::detail::message("ring::BaseConverter::convert: ", in.size(),
                                                    " input and ", out.size(), " output words for ",
                                                    l, " -> ", k, " limbs of N = ", n));
        }
        // y_i = x_i (Q/q_i)^-1 mod q_i, one limb per thread.
        std::vector<std::uint64_t> scaled(l * n);
        core::parallel_for(l, n, [&](std::size_t i) {
            multiply_scalar(in.subspan(i * n, n), inverse_punctured_[i],
                            std::span<std::uint64_t>(scaled.data() + i * n, n),
                            from_->modulus(i).value());
        });
        // out_j = sum_i y_i (Q/q_i mod p_j), accumulated in 128 bits per block of
        // coefficients so the accumulators stay in L1.
        constexpr std::size_t block = 256;
        core::parallel_for(k, n * l, [&](std::size_t j) {
            const core::Modulus& pj = to_->modulus(j);
            const std::uint64_t* weights = punctured_in_target_.data() + j * l;
            std::uint64_t* target = out.data() + j * n;
            core::uint128_t acc[block];
            for (std::size_t start = 0; start < n; start += block) {
                const std::size_t count = std::min(block, n - start);
                std::fill(acc, acc + count, core::uint128_t{0});
                for (std::size_t i = 0; i < l; ++i) {
                    const std::uint64_t w = weights[i];
                    const std::uint64_t* y = scaled.data() + i * n + start;
                    for (std::size_t c = 0; c < count; ++c) {
                        acc[c] += static_cast<core::uint128_t>(y[c]) * w;
                    }
                    if ((i + 1) % max_lazy_terms == 0) {  // keep the sums below 2^128
                        for (std::size_t c = 0; c < count; ++c) {
                            acc[c] = pj.reduce(acc[c]);
                        }
                    }
                }
                for (std::size_t c = 0; c < count; ++c) {
                    target[start + c] = pj.reduce(acc[c]);
                }
            }
        });
    }

  private:
    std::shared_ptr<const RnsBasis> from_;
    std::shared_ptr<const RnsBasis> to_;
    std::vector<core::ShoupConstant> inverse_punctured_;  // (Q/q_i)^-1 mod q_i
    std::vector<std::uint64_t> punctured_in_target_;      // [j * L + i] = Q/q_i mod p_j
};

/// Exact divide-and-round by the last prime of a basis: a over {q_0..q_l}
/// becomes round(a / q_l) over {q_0..q_{l-1}}, where a is read as its
/// representative in [0, Q) (any representative gives the same result mod
/// q_0..q_{l-1}, since Q / q_l vanishes there). Rounding adds q_l / 2 first.
class Rescaler {
  public:
    /// @throws InvalidArgumentError when `to` is not `from` minus its last prime.
    Rescaler(std::shared_ptr<const RnsBasis> from, std::shared_ptr<const RnsBasis> to)
        : from_(std::move(from)), to_(std::move(to)) {
        if (from_->size() < 2 || to_->size() + 1 != from_->size() || !from_->starts_with(*to_)) {
            throw InvalidArgumentError(
                cloak::detail::message("ring::Rescaler: the target basis (", to_->size(),
                                       " primes) must be the source basis (", from_->size(),
                                       " primes) without its last prime"));
        }
        const std::size_t l = to_->size();
        const core::Modulus& last = from_->modulus(l);
        half_last_ = last.value() / 2;
        inverse_last_.resize(l);
        half_last_mod_.resize(l);
        for (std::size_t i = 0; i < l; ++i) {
            const core::Modulus& qi = to_->modulus(i);
            inverse_last_[i] = core::ShoupConstant(
                core::inverse_mod(qi.reduce(last.value()), qi.value()), qi.value());
            half_last_mod_[i] = qi.reduce(half_last_);
        }
    }

    [[nodiscard]] const std::shared_ptr<const RnsBasis>& target() const noexcept { return to_; }

    /// a = round(a / q_l), in place, in either form; a loses its last limb.
    /// @throws ShapeError when a is not over the source basis.
    void apply(Poly& a) const {
        if (a.empty() || !(a.basis() == *from_)) {
            throw ShapeError(cloak::detail::message("ring::Rescaler::apply: Poly of ", a.limbs(),
                                                    " primes given to a rescaler from ",
                                                    from_->size(), " primes"));
        }
        const std::size_t n = a.degree();
        const std::size_t l = to_->size();
        const core::Modulus& last = from_->modulus(l);
        // r = (a_l + q_l/2) mod q_l, in coefficient form.
        std::vector<std::uint64_t> rounded(a.limb(l).begin(), a.limb(l).end());
        const bool evaluation = a.form() == Form::evaluation;
        if (evaluation) {
            from_->ntt(l).inverse(rounded);
        }
        for (std::uint64_t& v : rounded) {
            v = core::add_mod(v, half_last_, last.value());
        }
        core::parallel_for(l, n * 8, [&](std::size_t i) {
            const core::Modulus& qi = to_->modulus(i);
            const std::uint64_t q = qi.value();
            std::vector<std::uint64_t> correction(n);
            for (std::size_t c = 0; c < n; ++c) {
                correction[c] = core::sub_mod(qi.reduce(rounded[c]), half_last_mod_[i], q);
            }
            if (evaluation) {
                to_->ntt(i).forward(correction);
            }
            std::span<std::uint64_t> limb = a.limb(i);
            const core::ShoupConstant w = inverse_last_[i];
            for (std::size_t c = 0; c < n; ++c) {
                limb[c] = core::mul_shoup(limb[c] + q - correction[c], w.value, w.quotient, q);
            }
        });
        a.truncate(to_);
    }

  private:
    std::shared_ptr<const RnsBasis> from_;
    std::shared_ptr<const RnsBasis> to_;
    std::uint64_t half_last_ = 0;
    std::vector<core::ShoupConstant> inverse_last_;  // q_l^-1 mod q_i
    std::vector<std::uint64_t> half_last_mod_;       // (q_l / 2) mod q_i
};

/// Division by the special modulus P with rounding: a over Q_l ∪ P (the Q
/// primes first) becomes round(a / P) + e over Q_l, with |e| <= k / 2 + 1 for k
/// primes in P (the fast base conversion's overflow). Input and output in
/// evaluation form.
class ModDown {
  public:
    /// @throws InvalidArgumentError unless extended == q followed by p.
    ModDown(std::shared_ptr<const RnsBasis> extended, std::shared_ptr<const RnsBasis> q,
            std::shared_ptr<const RnsBasis> p)
        : extended_(std::move(extended)), q_(std::move(q)), p_(std::move(p)), p_to_q_(p_, q_) {
        if (!(*extended_ == *q_->concat(*p_))) {
            throw InvalidArgumentError(
                "ring::ModDown: the extended basis must be Q_l followed by P");
        }
        const std::size_t l = q_->size();
        const std::size_t k = p_->size();
        inverse_p_.resize(l);
        half_p_mod_q_.resize(l);
        half_p_mod_p_.resize(k);
        // P / 2 = (P - 1) / 2 for odd P, as residues: ((P - 1) / 2) mod m.
        for (std::size_t i = 0; i < l; ++i) {
            const core::Modulus& qi = q_->modulus(i);
            std::uint64_t p_mod = 1;
            for (std::size_t j = 0; j < k; ++j) {
                p_mod = core::mul_mod(p_mod, qi.reduce(p_->modulus(j).value()), qi);
            }
            inverse_p_[i] = core::ShoupConstant(core::inverse_mod(p_mod, qi.value()), qi.value());
            half_p_mod_q_[i] = half_of_odd(p_mod, qi);
        }
        for (std::size_t j = 0; j < k; ++j) {
            half_p_mod_p_[j] = half_of_odd(0, p_->modulus(j));  // P = 0 mod p_j
        }
    }

    [[nodiscard]] const std::shared_ptr<const RnsBasis>& target() const noexcept { return q_; }

    /// a over Q_l ∪ P (evaluation form) becomes round(a / P) over Q_l.
    /// @throws ShapeError for a Poly over another basis or in coefficient form.
    void apply(Poly& a) const {
        if (a.empty() || !(a.basis() == *extended_) || a.form() != Form::evaluation) {
            throw ShapeError(
                cloak::detail::message("ring::ModDown::apply: needs a Poly over Q_l ∪ P (",
                                       extended_->size(), " primes) in evaluation form; got ",
                                       a.limbs(), " primes in ", form_name(a.form()), " form"));
        }
        const std::size_t n = a.degree();
        const std::size_t l = q_->size();
        const std::size_t k = p_->size();
        // The P part, plus P/2 for rounding, back to coefficients.
        std::vector<std::uint64_t> p_part(a.data().begin() + static_cast<std::ptrdiff_t>(l * n),
                                          a.data().end());
        core::parallel_for(k, n * 8, [&](std::size_t j) {
            std::span<std::uint64_t> limb(p_part.data() + j * n, n);
            p_->ntt(j).inverse(limb);
            const std::uint64_t p = p_->modulus(j).value();
            for (std::uint64_t& v : limb) {
                v = core::add_mod(v, half_p_mod_p_[j], p);
            }
        });
        std::vector<std::uint64_t> converted(l * n);
        p_to_q_.convert(p_part, converted);
        core::parallel_for(l, n * 8, [&](std::size_t i) {
            const std::uint64_t q = q_->modulus(i).value();
            std::span<std::uint64_t> correction(converted.data() + i * n, n);
            for (std::uint64_t& v : correction) {
                v = core::sub_mod(v, half_p_mod_q_[i], q);
            }
            q_->ntt(i).forward(correction);
            std::span<std::uint64_t> limb = a.limb(i);
            const core::ShoupConstant w = inverse_p_[i];
            for (std::size_t c = 0; c < n; ++c) {
                limb[c] = core::mul_shoup(limb[c] + q - correction[c], w.value, w.quotient, q);
            }
        });
        a.truncate(q_);
    }

  private:
    // (P - 1) / 2 mod m from P mod m: (P - 1) * 2^-1 mod m, m odd.
    static std::uint64_t half_of_odd(std::uint64_t p_mod_m, const core::Modulus& m) {
        const std::uint64_t minus_one = core::sub_mod(p_mod_m, 1, m.value());
        return core::mul_mod(minus_one, (m.value() + 1) / 2, m);
    }

    std::shared_ptr<const RnsBasis> extended_;
    std::shared_ptr<const RnsBasis> q_;
    std::shared_ptr<const RnsBasis> p_;
    BaseConverter p_to_q_;
    std::vector<core::ShoupConstant> inverse_p_;  // P^-1 mod q_i
    std::vector<std::uint64_t> half_p_mod_q_;
    std::vector<std::uint64_t> half_p_mod_p_;
};

/// Raises digit d of a polynomial over Q_l to Q_l ∪ P: the digit's primes keep
/// their evaluation-form limbs, every other prime gets the fast base conversion
/// of the digit (from its coefficient form), then its NTT.
///   eval, coeff: the same polynomial over Q_l, in evaluation and coefficient form
///   first, converter: the digit starts at prime `first` of Q_l; converter maps the
///                     digit's primes to `complement` (all other primes of Q_l ∪ P,
///                     in the order of `complement_index`)
///   out: a Poly over Q_l ∪ P, written in evaluation form.
/// @throws ShapeError for inconsistent shapes.
inline void mod_up(const Poly& eval, const Poly& coeff, std::size_t first,
                   const BaseConverter& converter, std::span<const std::size_t> complement_index,
                   Poly& out) {
    const std::size_t n = eval.degree();
    const std::size_t digit = converter.from().size();
    if (eval.form() != Form::evaluation || coeff.form() != Form::coefficient ||
        !(eval.basis() == coeff.basis()) || first + digit > eval.limbs() ||
        complement_index.size() != converter.to().size() ||
        out.limbs() != digit + complement_index.size() || out.degree() != n) {
        throw ShapeError(cloak::detail::message(
            "ring::mod_up: inconsistent shapes (", eval.limbs(), " primes in, digit [", first, ", ",
            first + digit, "), ", complement_index.size(), " complement primes, ", out.limbs(),
            " primes out)"));
    }
    out.set_form(Form::evaluation);
    for (std::size_t i = 0; i < digit; ++i) {
        std::copy(eval.limb(first + i).begin(), eval.limb(first + i).end(),
                  out.limb(first + i).begin());
    }
    std::vector<std::uint64_t> converted(complement_index.size() * n);
    converter.convert(coeff.data().subspan(first * n, digit * n), converted);
    core::parallel_for(complement_index.size(), n * 8, [&](std::size_t j) {
        const std::size_t target = complement_index[j];
        std::span<std::uint64_t> limb = out.limb(target);
        std::copy(converted.begin() + static_cast<std::ptrdiff_t>(j * n),
                  converted.begin() + static_cast<std::ptrdiff_t>((j + 1) * n), limb.begin());
        out.basis().ntt(target).forward(limb);
    });
}

}  // namespace cloak::inline v0::ring
