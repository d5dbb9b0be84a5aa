// cloak: the CKKS evaluator: arithmetic, relinearization, rescaling, rotations.
//
// Ciphertexts stay in evaluation form, so additions and products are pointwise.
// Scales are tracked exactly: a product's scale is the product of the scales,
// rescaling divides it by the exact prime dropped. Manual mode: operands must
// match in level and scale (within 2^-40 relative), or a clear error says how to
// fix them. Every method is const and keeps no mutable state, so one Evaluator
// serves many threads at once.
#pragma once

#include <cmath>
#include <complex>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include <cloak/ckks/ciphertext.hpp>
#include <cloak/ckks/context.hpp>
#include <cloak/ckks/encoder.hpp>
#include <cloak/ckks/key_switch.hpp>
#include <cloak/ckks/keys.hpp>
#include <cloak/ckks/polynomial.hpp>
#include <cloak/core/bits.hpp>
#include <cloak/core/error.hpp>
#include <cloak/ring/arith.hpp>
#include <cloak/ring/automorphism.hpp>
#include <cloak/ring/crt.hpp>

namespace cloak::inline v0::ckks {

/// How the Evaluator manages scales and levels.
enum class ScaleMode {
    /// The caller rescales; operands of different levels or scales raise a
    /// LevelError or ScaleMismatchError that says how to fix them.
    manual,
    /// Products are rescaled lazily, before the next multiplication; operands at
    /// different levels or scales are matched by bringing the higher one down
    /// with a constant multiplication that lands exactly on the other's scale
    /// (Kim, Papadimitriou, Polyakov 2020, section 4: per-level scale factors).
    /// A ciphertext counts as awaiting a rescale when its scale exceeds
    /// 2^(1.5 log_scale).
    automatic,
};

/// Options of Evaluator::evaluate.
struct EvaluateOptions {
    /// Scale of the result (default: the input ciphertext's scale). The result
    /// lands on it exactly, whatever the scales of the intermediate powers.
    std::optional<double> target_scale = std::nullopt;
    /// Slot weights w: the result is w_j p(x_j) in slot j (slots past the end of
    /// w get 0), at no extra level: w rides on the leaf constants (a mask that
    /// keeps some slots and zeroes the others costs nothing this way).
    std::optional<std::vector<double>> slot_weights = std::nullopt;
};

namespace detail {
class PolynomialEvaluation;
}

class Evaluator {
  public:
    /// Additions, plaintext products and rescaling only.
    explicit Evaluator(const Context& context, ScaleMode mode = ScaleMode::manual)
        : context_(context), encoder_(context), mode_(mode) {}
    /// Adds ciphertext products (relinearization).
    Evaluator(const Context& context, RelinKey relin_key, ScaleMode mode = ScaleMode::manual)
        : context_(context), encoder_(context), relin_key_(std::move(relin_key)), mode_(mode) {}
    /// Adds rotations and conjugation for the Galois keys given.
    Evaluator(const Context& context, RelinKey relin_key, GaloisKeys galois_keys,
              ScaleMode mode = ScaleMode::manual)
        : context_(context),
          encoder_(context),
          relin_key_(std::move(relin_key)),
          galois_keys_(std::move(galois_keys)),
          mode_(mode) {
        // Every key is kept in "hoisting form", sigma^-1 applied to it once here, so
        // that rotations permute their two outputs instead of every raised digit
        // (see apply_galois); and the slot permutation of sigma, built once.
        const std::uint64_t two_n = 2 * static_cast<std::uint64_t>(context_.degree());
        for (auto& [element, key] : galois_keys_.keys) {
            std::uint64_t inverse = 1;  // element^(N - 1) = element^-1 in (Z / 2N)^*
            for (std::size_t i = 0; i + 1 < context_.degree(); ++i) {
                inverse = inverse * element % two_n;
            }
            const ring::Automorphism undo(context_.degree(), inverse);
            for (std::vector<ring::Poly>* half : {&key.b, &key.a}) {
                for (ring::Poly& poly : *half) {
                    poly = undo.apply(poly);
                }
            }
            automorphisms_.emplace(element, ring::Automorphism(context_.degree(), element));
        }
    }

    [[nodiscard]] ScaleMode scale_mode() const noexcept { return mode_; }

    /// True when the Evaluator holds a relinearization key (ciphertext products).
    [[nodiscard]] bool has_relin_key() const noexcept { return relin_key_.has_value(); }

    /// True when the Evaluator holds the Galois key of a rotation by `steps`
    /// (steps taken modulo the slots; 0 needs none).
    [[nodiscard]] bool has_rotation_key(std::int64_t steps) const {
        const std::uint64_t element = rotation_galois_element(steps, context_.degree());
        return element == 1 || galois_keys_.keys.count(element) != 0;
    }

    /// True when the Evaluator holds the conjugation key.
    [[nodiscard]] bool has_conjugation_key() const {
        return galois_keys_.keys.count(conjugation_galois_element(context_.degree())) != 0;
    }

    /// The prime q_l that rescaling a ciphertext at `level` divides by.
    /// @throws LevelError for a level above the context's highest.
    [[nodiscard]] double prime_at(std::size_t level) const {
        return static_cast<double>(context_.level(level).q->values().back());
    }

    /// Automatic mode's rule: a ciphertext awaits a rescale when its scale
    /// exceeds 2^(1.5 log_scale) (a product not rescaled yet).
    [[nodiscard]] bool rescale_pending(const Ciphertext& a) const {
        return a.scale() > std::exp2(1.5 * context_.parameters().log_scale());
    }

    [[nodiscard]] const Context& context() const noexcept { return context_; }

    // ---- addition and subtraction ----------------------------------------------

    /// @throws LevelError, ScaleMismatchError for operands that do not match.
    [[nodiscard]] Ciphertext add(const Ciphertext& a, const Ciphertext& b) const {
        Ciphertext result = a;
        add_inplace(result, b);
        return result;
    }

    void add_inplace(Ciphertext& a, const Ciphertext& b) const {
        if (mode_ == ScaleMode::automatic) {
            Ciphertext matched = b;
            match_for_addition(a, matched);
            add_matched(a, matched);
            return;
        }
        add_matched(a, b);
    }

    // a += b for operands already at one level and scale.
    void add_matched(Ciphertext& a, const Ciphertext& b) const {
        check_compatible(a, b, "ckks::Evaluator::add");
        for (std::size_t i = 0; i < b.size(); ++i) {
            if (i < a.size()) {
                ring::add_inplace(a[i], b[i]);
            } else {
                a.parts().push_back(b[i]);
            }
        }
    }

    [[nodiscard]] Ciphertext sub(const Ciphertext& a, const Ciphertext& b) const {
        Ciphertext result = a;
        sub_inplace(result, b);
        return result;
    }

    void sub_inplace(Ciphertext& a, const Ciphertext& b) const {
        if (mode_ == ScaleMode::automatic) {
            Ciphertext matched = b;
            match_for_addition(a, matched);
            Ciphertext negated = negate(matched);
            add_matched(a, negated);
            return;
        }
        check_compatible(a, b, "ckks::Evaluator::sub");
        for (std::size_t i = 0; i < b.size(); ++i) {
            if (i < a.size()) {
                ring::sub_inplace(a[i], b[i]);
            } else {
                ring::Poly negated = b[i];
                ring::negate_inplace(negated);
                a.parts().push_back(std::move(negated));
            }
        }
    }

    [[nodiscard]] Ciphertext negate(const Ciphertext& a) const {
        Ciphertext result = a;
        negate_inplace(result);
        return result;
    }

    void negate_inplace(Ciphertext& a) const {
        check_ciphertext(a, "ckks::Evaluator::negate");
        for (ring::Poly& part : a.parts()) {
            ring::negate_inplace(part);
        }
    }

    /// Adds a plaintext of the same level and scale.
    [[nodiscard]] Ciphertext add(const Ciphertext& a, const Plaintext& b) const {
        Ciphertext result = a;
        add_inplace(result, b);
        return result;
    }

    void add_inplace(Ciphertext& a, const Plaintext& b) const {
        check_plain(a, b, "ckks::Evaluator::add");
        ring::add_inplace(a[0], b.poly());
    }

    [[nodiscard]] Ciphertext sub(const Ciphertext& a, const Plaintext& b) const {
        Ciphertext result = a;
        check_plain(result, b, "ckks::Evaluator::sub");
        ring::sub_inplace(result[0], b.poly());
        return result;
    }

    /// Adds a constant to every slot (encoded at the ciphertext's level and scale).
    [[nodiscard]] Ciphertext add(const Ciphertext& a, std::complex<double> constant) const {
        check_ciphertext(a, "ckks::Evaluator::add");
        return add(a, encoder_.encode(
                          constant, {.level = a.level(), .scale = a.scale(), .slots = a.slots()}));
    }

    [[nodiscard]] Ciphertext add(const Ciphertext& a, double constant) const {
        return add(a, std::complex<double>(constant, 0.0));
    }

    /// Adds a vector slot by slot (encoded at the ciphertext's level and scale).
    [[nodiscard]] Ciphertext add(const Ciphertext& a, std::span<const double> values) const {
        check_ciphertext(a, "ckks::Evaluator::add");
        return add(a, encoder_.encode(
                          values, {.level = a.level(), .scale = a.scale(), .slots = a.slots()}));
    }

    [[nodiscard]] Ciphertext sub(const Ciphertext& a, double constant) const {
        return add(a, std::complex<double>(-constant, 0.0));
    }

    // ---- multiplication ------------------------------------------------------------

    /// The three-part product (d0, d1, d2) with d0 + d1 s + d2 s^2 = m_a m_b.
    [[nodiscard]] Ciphertext multiply_no_relin(const Ciphertext& a, const Ciphertext& b) const {
        if (mode_ == ScaleMode::automatic) {
            Ciphertext x = a;
            Ciphertext y = b;
            rescale_if_pending(x);
            rescale_if_pending(y);
            match_levels(x, y);
            return multiply_matched(x, y);
        }
        return multiply_matched(a, b);
    }

  private:
    Ciphertext multiply_matched(const Ciphertext& a, const Ciphertext& b) const {
        check_same_level(a, b, "ckks::Evaluator::multiply");
        if (a.size() != 2 || b.size() != 2) {
            throw InvalidArgumentError(cloak::detail::message(
                "ckks::Evaluator::multiply: operands of ", a.size(), " and ", b.size(),
                " parts; relinearize three-part ciphertexts first"));
        }
        ring::Poly d0 = a[0];
        ring::multiply_inplace(d0, b[0]);
        ring::Poly d1 = a[0];
        ring::multiply_inplace(d1, b[1]);
        ring::multiply_accumulate(d1, a[1], b[0]);
        ring::Poly d2 = a[1];
        ring::multiply_inplace(d2, b[1]);
        std::vector<ring::Poly> parts;
        parts.push_back(std::move(d0));
        parts.push_back(std::move(d1));
        parts.push_back(std::move(d2));
        return Ciphertext(std::move(parts), a.scale() * b.scale(), a.slots());
    }

  public:
    /// Product, relinearized; scale a.scale() * b.scale() until rescaled.
    /// @throws KeyMissingError without a relinearization key.
    [[nodiscard]] Ciphertext multiply(const Ciphertext& a, const Ciphertext& b) const {
        Ciphertext product = multiply_no_relin(a, b);
        relinearize_inplace(product);
        return product;
    }

    void multiply_inplace(Ciphertext& a, const Ciphertext& b) const { a = multiply(a, b); }

    [[nodiscard]] Ciphertext square(const Ciphertext& a) const { return multiply(a, a); }

    /// Product with a plaintext of the same level; scales multiply.
    [[nodiscard]] Ciphertext multiply(const Ciphertext& a, const Plaintext& b) const {
        check_ciphertext(a, "ckks::Evaluator::multiply");
        if (context_.level_of(b.poly(), "ckks::Evaluator::multiply") != a.level()) {
            throw LevelError(cloak::detail::message(
                "ckks::Evaluator::multiply: level mismatch (ciphertext level ", a.level(),
                ", plaintext level ", b.level(), "); encode the plaintext at level ", a.level()));
        }
        Ciphertext result = a;
        for (ring::Poly& part : result.parts()) {
            ring::multiply_inplace(part, b.poly());
        }
        result.set_scale(a.scale() * b.scale());
        return result;
    }

    /// Product with a constant, encoded at the scale of the prime the next
    /// rescale divides by, so that after rescale() the scale is a.scale() exactly.
    [[nodiscard]] Ciphertext multiply(const Ciphertext& a, std::complex<double> constant) const {
        check_ciphertext(a, "ckks::Evaluator::multiply");
        if (mode_ == ScaleMode::automatic && rescale_pending(a)) {
            return multiply(rescale(a), constant);
        }
        const double prime = static_cast<double>(context_.level(a.level()).q->values().back());
        return multiply(
            a, encoder_.encode(constant, {.level = a.level(), .scale = prime, .slots = a.slots()}));
    }

    [[nodiscard]] Ciphertext multiply(const Ciphertext& a, double constant) const {
        return multiply(a, std::complex<double>(constant, 0.0));
    }

    /// Product with a vector slot by slot, encoded like a constant (see above).
    [[nodiscard]] Ciphertext multiply(const Ciphertext& a, std::span<const double> values) const {
        check_ciphertext(a, "ckks::Evaluator::multiply");
        if (mode_ == ScaleMode::automatic && rescale_pending(a)) {
            return multiply(rescale(a), values);
        }
        const double prime = static_cast<double>(context_.level(a.level()).q->values().back());
        return multiply(
            a, encoder_.encode(values, {.level = a.level(), .scale = prime, .slots = a.slots()}));
    }

    /// Product with an integer: no level used, the scale is unchanged.
    [[nodiscard]] Ciphertext multiply_integer(const Ciphertext& a, std::int64_t k) const {
        check_ciphertext(a, "ckks::Evaluator::multiply_integer");
        Ciphertext result = a;
        for (ring::Poly& part : result.parts()) {
            ring::multiply_integer_inplace(part, k);
        }
        return result;
    }

    // ---- relinearization, rescaling, levels -------------------------------------------

    void relinearize_inplace(Ciphertext& a) const {
        if (a.size() == 2) {
            return;
        }
        if (!relin_key_) {
            throw KeyMissingError(
                "ckks::Evaluator::relinearize: no relinearization key; construct the Evaluator "
                "with keygen.relin_key()");
        }
        const RaisedDigits raised = raise_digits(context_, a[2]);
        auto [u0, u1] = switch_key(context_, raised, relin_key_->key);
        ring::add_inplace(a[0], u0);
        ring::add_inplace(a[1], u1);
        a.parts().pop_back();
    }

    [[nodiscard]] Ciphertext relinearize(const Ciphertext& a) const {
        Ciphertext result = a;
        relinearize_inplace(result);
        return result;
    }

    /// Divides by the last prime q_l (rounding): one level down, scale / q_l.
    /// @throws LevelError at level 0.
    void rescale_inplace(Ciphertext& a) const {
        check_ciphertext(a, "ckks::Evaluator::rescale");
        if (a.level() == 0) {
            throw LevelError(
                "ckks::Evaluator::rescale: the ciphertext is at level 0, no prime is left to "
                "divide by; bootstrap it or use parameters with more levels");
        }
        const detail::LevelData& data = context_.level(a.level());
        const double prime = static_cast<double>(data.q->values().back());
        for (ring::Poly& part : a.parts()) {
            data.rescaler->apply(part);
        }
        a.set_scale(a.scale() / prime);
    }

    [[nodiscard]] Ciphertext rescale(const Ciphertext& a) const {
        Ciphertext result = a;
        rescale_inplace(result);
        return result;
    }

    /// Drops primes down to `level` without dividing (the scale is unchanged).
    /// @throws LevelError when level is above the ciphertext's.
    void drop_level_to_inplace(Ciphertext& a, std::size_t level) const {
        check_ciphertext(a, "ckks::Evaluator::drop_level_to");
        if (level > a.level()) {
            throw LevelError(cloak::detail::message(
                "ckks::Evaluator::drop_level_to: cannot raise a ciphertext from level ", a.level(),
                " to level ", level, "; levels only go down (bootstrapping raises them)"));
        }
        for (ring::Poly& part : a.parts()) {
            part.truncate(context_.level(level).q);
        }
    }

    [[nodiscard]] Ciphertext drop_level_to(const Ciphertext& a, std::size_t level) const {
        Ciphertext result = a;
        drop_level_to_inplace(result, level);
        return result;
    }

    /// One level down with the scale set to `target_scale` exactly: the
    /// ciphertext (at level l >= 1) is multiplied by the integer closest to
    /// target_scale * q_l / scale and rescaled (Kim, Papadimitriou, Polyakov 2020). The value is
    /// unchanged up to a relative 2^-(log2 q_l) rounding of that integer.
    /// @throws LevelError at level 0; ScaleMismatchError when the scales are too
    ///         far apart for the integer to be at least 1.
    [[nodiscard]] Ciphertext match_scale(const Ciphertext& a, double target_scale) const {
        check_ciphertext(a, "ckks::Evaluator::match_scale");
        if (a.level() == 0) {
            throw LevelError(
                "ckks::Evaluator::match_scale: the ciphertext is at level 0, and matching a "
                "scale uses one level; bootstrap it or match scales before the last level");
        }
        if (!(target_scale > 0) || !std::isfinite(target_scale)) {
            throw InvalidArgumentError(
                cloak::detail::message("ckks::Evaluator::match_scale: target scale ", target_scale,
                                       " must be positive and finite"));
        }
        Ciphertext result = a;
        adjust(result, a.level() - 1, target_scale);
        result.set_scale(target_scale);
        return result;
    }

    // ---- rotations -------------------------------------------------------------------

    /// Rotates the slots left by `steps` (right for negative steps).
    /// @throws KeyMissingError when the Galois key for that step was not generated.
    [[nodiscard]] Ciphertext rotate(const Ciphertext& a, std::int64_t steps) const {
        check_relinearized(a, "ckks::Evaluator::rotate");
        const std::uint64_t element = rotation_galois_element(steps, context_.degree());
        if (element == 1) {
            return a;
        }
        return apply_galois(a, element, steps, nullptr);
    }

    /// Complex conjugation of every slot.
    [[nodiscard]] Ciphertext conjugate(const Ciphertext& a) const {
        check_relinearized(a, "ckks::Evaluator::conjugate");
        return apply_galois(a, conjugation_galois_element(context_.degree()), std::nullopt,
                            nullptr);
    }

    /// Rotations by several steps from one decomposition (Halevi-Shoup hoisting):
    /// the digits of c1 are raised once and each rotation permutes them.
    [[nodiscard]] std::vector<Ciphertext> rotate_hoisted(
        const Ciphertext& a, std::span<const std::int64_t> steps) const {
        check_relinearized(a, "ckks::Evaluator::rotate_hoisted");
        const RaisedDigits raised = raise_digits(context_, a[1]);
        std::vector<Ciphertext> results;
        results.reserve(steps.size());
        for (std::int64_t step : steps) {
            const std::uint64_t element = rotation_galois_element(step, context_.degree());
            results.push_back(element == 1 ? a : apply_galois(a, element, step, &raised));
        }
        return results;
    }

    /// Sum of the slots over windows of `window` slots (a power of two): slot i
    /// receives sum_{j < window} slot (i + j). Uses rotations by 1, 2, 4, ...
    [[nodiscard]] Ciphertext rotate_and_sum(const Ciphertext& a, std::size_t window) const {
        if (window == 0 || !core::is_power_of_two(window) || window > a.slots()) {
            throw InvalidArgumentError(cloak::detail::message(
                "ckks::Evaluator::rotate_and_sum: window ", window,
                " must be a power of two from 1 to the ", a.slots(), " slots"));
        }
        Ciphertext sum = a;
        for (std::size_t step = 1; step < window; step <<= 1) {
            add_inplace(sum, rotate(sum, static_cast<std::int64_t>(step)));
        }
        return sum;
    }

    // ---- polynomials ---------------------------------------------------------------

    /// p(x) slot by slot (Bossuat et al. 2021, section 5: baby-step giant-step in the
    /// Chebyshev basis with per-node scale management), defined in
    /// ckks/polynomial_evaluator.hpp. Uses depth(p) levels: ceil(log2(degree + 1)),
    /// plus one for a Chebyshev interval whose width is not 2 (the change of
    /// variable t = (2x - a - b) / (b - a) is a constant product). A power-basis
    /// polynomial is evaluated through its Chebyshev form on [-1, 1]; keep its
    /// input in [-1, 1] or pass a Chebyshev series on the input's interval.
    /// @throws InvalidArgumentError for degree 0, LevelError without enough levels,
    ///         KeyMissingError without a relinearization key (degree >= 2).
    [[nodiscard]] Ciphertext evaluate(const Polynomial& p, const Ciphertext& x,
                                      const EvaluateOptions& options = {}) const;

    /// Levels evaluate(p, x) consumes.
    [[nodiscard]] static std::size_t depth(const Polynomial& p) noexcept {
        const std::size_t product_depth = core::ceil_log2(p.degree() + 1);
        const bool rescaled_variable =
            p.basis() == PolynomialBasis::chebyshev && p.interval().b - p.interval().a != 2.0;
        return product_depth + (rescaled_variable ? 1 : 0);
    }

  private:
    // sigma(a) switched back to s. With the key K in hoisting form K' = sigma^-1(K):
    // sum_d sigma(d_d) K_d = sigma(sum_d d_d K'_d), and ModDown commutes with sigma,
    // so the result is sigma(c0 + ModDown(sum_d d_d(c1) K'_d)): the digits of c1
    // itself (raised here, or once for many steps by rotate_hoisted) and two
    // permutations at the end, whatever the number of digits.
    Ciphertext apply_galois(const Ciphertext& a, std::uint64_t element,
                            std::optional<std::int64_t> step, const RaisedDigits* hoisted) const {
        const auto found = galois_keys_.keys.find(element);
        if (found == galois_keys_.keys.end()) {
            if (step) {
                throw KeyMissingError(cloak::detail::message(
                    "ckks::Evaluator::rotate: no Galois key for a rotation by ", *step,
                    " (element ", element, "); add ", *step,
                    " to keygen.galois_keys({...}) and rebuild the Evaluator"));
            }
            throw KeyMissingError(
                "ckks::Evaluator::conjugate: no conjugation key; call keygen.galois_keys(steps, "
                "/*conjugate=*/true)");
        }
        const ring::Automorphism& sigma = automorphisms_.at(element);
        auto [u0, u1] = hoisted != nullptr
                            ? switch_key(context_, *hoisted, found->second)
                            : switch_key(context_, raise_digits(context_, a[1]), found->second);
        ring::add_inplace(u0, a[0]);
        std::vector<ring::Poly> parts(2);
        sigma.apply(u0, parts[0]);
        sigma.apply(u1, parts[1]);
        return Ciphertext(std::move(parts), a.scale(), a.slots());
    }

    // ---- exact-scale helpers for polynomial evaluation ------------------------------

    friend class detail::PolynomialEvaluation;

    // An encryption of zero (all parts zero) at `level` with the given scale.
    Ciphertext zero(std::size_t level, double scale, std::size_t slots) const {
        std::vector<ring::Poly> parts;
        parts.emplace_back(context_.level(level).q, ring::Form::evaluation);
        parts.emplace_back(context_.level(level).q, ring::Form::evaluation);
        return Ciphertext(std::move(parts), scale, slots);
    }

    // The residues of round(value) modulo the primes of `level`.
    std::vector<std::uint64_t> residues(double value, std::size_t level) const {
        const auto& moduli = context_.level(level).q->moduli();
        std::vector<std::uint64_t> out(moduli.size());
        const double values[1] = {value};
        ring::round_to_residues(values, moduli, out);
        return out;
    }

    // a += c in every slot, encoded at a's own scale (round(c * scale)).
    void add_constant_inplace(Ciphertext& a, double c) const {
        if (c == 0.0)
            return;
        ring::add_scalar_inplace(a[0], residues(c * a.scale(), a.level()));
    }

    // acc += c * b with c encoded at scale acc.scale() / b.scale(), so the term
    // lands on acc's scale; b may sit at a higher level (its prefix is read).
    void multiply_constant_accumulate(Ciphertext& acc, const Ciphertext& b, double c) const {
        const std::vector<std::uint64_t> scalar =
            residues(c * acc.scale() / b.scale(), acc.level());
        for (std::size_t i = 0; i < b.size(); ++i) {
            if (i == acc.size()) {
                acc.parts().emplace_back(context_.level(acc.level()).q, ring::Form::evaluation);
            }
            ring::multiply_scalar_accumulate(acc[i], b[i], scalar);
        }
    }

    // ---- automatic mode -------------------------------------------------------------

    void rescale_if_pending(Ciphertext& a) const {
        if (rescale_pending(a) && a.level() > 0) {
            rescale_inplace(a);
        }
    }

    // Brings a (at a level above `level`) to `level` with scale exactly
    // `target_scale`: drop to level + 1, multiply by the integer closest to
    // target_scale * q_{level+1} / a.scale(), rescale.
    void adjust(Ciphertext& a, std::size_t level, double target_scale) const {
        drop_level_to_inplace(a, level + 1);
        const double prime = static_cast<double>(context_.level(level + 1).q->values().back());
        const double factor = std::round(target_scale * prime / a.scale());
        if (!(factor >= 1)) {
            throw ScaleMismatchError(cloak::detail::message(
                "ckks::Evaluator (automatic mode): cannot bring scale 2^", std::log2(a.scale()),
                " to 2^", std::log2(target_scale), " at level ", level,
                "; the scales are too far apart, rescale or re-encrypt one operand"));
        }
        const Plaintext constant =
            encoder_.encode(1.0, {.level = level + 1, .scale = factor, .slots = a.slots()});
        for (ring::Poly& part : a.parts()) {
            ring::multiply_inplace(part, constant.poly());
        }
        a.set_scale(a.scale() * factor);
        rescale_inplace(a);
    }

    // Equal levels for a product: the higher operand comes down to the lower
    // one's level at its own nominal scale (its scale divided by the dropped
    // primes' ratio is not needed: the product's scale is tracked exactly).
    void match_levels(Ciphertext& a, Ciphertext& b) const {
        if (a.level() > b.level()) {
            adjust(a, b.level(), b.scale());
        } else if (b.level() > a.level()) {
            adjust(b, a.level(), a.scale());
        }
    }

    // Equal levels and scales for a sum.
    void match_for_addition(Ciphertext& a, Ciphertext& b) const {
        check_ciphertext(a, "ckks::Evaluator::add");
        check_ciphertext(b, "ckks::Evaluator::add");
        if (rescale_pending(a) != rescale_pending(b)) {
            rescale_if_pending(a);
            rescale_if_pending(b);
        }
        if (a.level() != b.level()) {
            match_levels(a, b);
        } else if (std::fabs(a.scale() - b.scale()) >
                   std::ldexp(std::max(a.scale(), b.scale()), -40)) {
            if (a.level() == 0) {
                throw ScaleMismatchError(cloak::detail::message(
                    "ckks::Evaluator::add (automatic mode): scales 2^", std::log2(a.scale()),
                    " and 2^", std::log2(b.scale()),
                    " differ at level 0, where no level is left to match them"));
            }
            const double target = a.scale();
            adjust(b, a.level() - 1, target);
            adjust(a, a.level() - 1, target);
        }
    }

    void check_ciphertext(const Ciphertext& a, const char* where) const {
        if (a.empty()) {
            throw InvalidArgumentError(cloak::detail::message(where, ": the ciphertext is empty"));
        }
        (void)context_.level_of(a[0], where);
    }

    void check_relinearized(const Ciphertext& a, const char* where) const {
        check_ciphertext(a, where);
        if (a.size() != 2) {
            throw InvalidArgumentError(cloak::detail::message(where, ": a ciphertext of ", a.size(),
                                                              " parts; relinearize it first"));
        }
    }

    void check_same_level(const Ciphertext& a, const Ciphertext& b, const char* where) const {
        check_ciphertext(a, where);
        check_ciphertext(b, where);
        if (a.level() != b.level()) {
            throw LevelError(cloak::detail::message(
                where, ": level mismatch (lhs level ", a.level(), ", rhs level ", b.level(),
                "); call drop_level_to or rescale the higher one"));
        }
    }

    static void check_scales(double a, double b, std::size_t level, const char* where) {
        if (std::fabs(a - b) > std::ldexp(std::max(a, b), -40)) {
            throw ScaleMismatchError(cloak::detail::message(
                where, ": scale mismatch: 2^", std::log2(a), " vs 2^", std::log2(b), " at level ",
                level, "; call rescale(), or match_scale() to bring one onto the other's scale"));
        }
    }

    void check_compatible(const Ciphertext& a, const Ciphertext& b, const char* where) const {
        check_same_level(a, b, where);
        check_scales(a.scale(), b.scale(), a.level(), where);
    }

    void check_plain(const Ciphertext& a, const Plaintext& b, const char* where) const {
        check_ciphertext(a, where);
        const std::size_t level = context_.level_of(b.poly(), where);
        if (level != a.level()) {
            throw LevelError(cloak::detail::message(
                where, ": level mismatch (ciphertext level ", a.level(), ", plaintext level ",
                level, "); encode the plaintext at level ", a.level()));
        }
        check_scales(a.scale(), b.scale(), a.level(), where);
    }

    Context context_;
    Encoder encoder_;
    std::optional<RelinKey> relin_key_;
    GaloisKeys galois_keys_;
    std::map<std::uint64_t, ring::Automorphism> automorphisms_;  // one per Galois key
    ScaleMode mode_ = ScaleMode::manual;
};

}  // namespace cloak::inline v0::ckks

// The definition of Evaluator::evaluate.
#include <cloak/ckks/polynomial_evaluator.hpp>
