// cloak: CKKS bootstrapping: refresh a ciphertext at level 0 to a high level.
//
// The circuit (Cheon, Han, Kim, Kim, Song 2018; Chen, Chillotti, Song 2019;
// Han, Ki 2020; Bossuat, Mouchet, Troncoso-Pastoriza, Hubaux 2021):
//
// 1. ModRaise. A level-0 ciphertext (c0, c1) mod q0 decrypts to m (centered mod
//    q0). Lifting c0 and c1 to their centered representatives and reducing them
//    modulo every prime of the top level gives a ciphertext of P = m + q0 I,
//    where I(X) has small integer coefficients: |I| <= about sqrt(h / 12) times
//    a few for a sparse secret of weight h (the c1 s term), plus 1/2.
// 2. CoeffToSlot. The inverse of the encoding, as a homomorphic special FFT in
//    coeffs_to_slots_levels levels (boot/dft.hpp), followed by a conjugation:
//    re holds P_k / (q0 K) and im holds P_{k+n} / (q0 K) in slot k (bit-reversed
//    order), both real and in [-1, 1].
// 3. EvalMod. y -> sin(2 pi K y) = sin(2 pi P_k / q0): a Chebyshev interpolant of
//    cos(2 pi (K y - 1/4) / 2^r) on [-1, 1], then r double angles cos(2a) =
//    2 cos(a)^2 - 1 (Han, Ki 2020). For m << q0, sin(2 pi P / q0) / (2 pi) =
//    m / q0 up to (2 pi)^2 / 6 (m / q0)^3; the optional arcsine correction
//    z + z^3 / 6 (Bossuat et al. 2021, section 6) removes that term.
// 4. SlotToCoeff. The forward special FFT in slots_to_coeffs_levels levels,
//    scaled by q0 / (2 pi), applied to re + i im: a ciphertext of m again,
//    labelled with the input's scale.
//
// Scales. The circuit computes at one scale S = 2^log_eval_mod_prime, close to
// its primes, whatever the user's scale: the raised ciphertext is relabelled
// to S (a label only: the plaintext P is what it is), CoeffToSlot's matrices
// carry the factor S / (2 q0 K) that maps P / S to P / (2 q0 K), and EvalMod's
// cosine lands on the scale from which r squarings return exactly to S. The
// output is labelled so that it decodes to the input's message at the input's
// scale.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <complex>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <numbers>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <cloak/approx/chebyshev.hpp>
#include <cloak/boot/dft.hpp>
#include <cloak/boot/encapsulation.hpp>
#include <cloak/boot/parameters.hpp>
#include <cloak/ckks/ciphertext.hpp>
#include <cloak/ckks/context.hpp>
#include <cloak/ckks/encoder.hpp>
#include <cloak/ckks/evaluator.hpp>
#include <cloak/ckks/keys.hpp>
#include <cloak/ckks/linear_transform.hpp>
#include <cloak/ckks/polynomial.hpp>
#include <cloak/core/error.hpp>
#include <cloak/ring/base_conversion.hpp>
#include <cloak/ring/poly.hpp>

namespace cloak::inline v0::boot {

/// The real and imaginary halves of the coefficients after CoeffToSlot.
struct SlotHalves {
    ckks::Ciphertext re;
    ckks::Ciphertext im;
};

/// What the bootstrapper's keys cost.
struct KeyReport {
    std::size_t rotation_keys = 0;       // Galois keys of rotations
    std::size_t conjugation_keys = 0;    // 1
    std::size_t encapsulation_keys = 0;  // 2 with sparse-secret encapsulation, else 0
    std::size_t bytes = 0;               // Galois, relinearization and encapsulation keys
    double seconds = 0;                  // generation time
};

/// Every key a Bootstrapper uses. Made by Bootstrapper::generate_keys, or
/// loaded by io::load_bootstrapping_keys (io/boot.hpp), which also streams them
/// to and from a bundle one key at a time.
struct BootstrappingKeys {
    ckks::RelinKey relin;
    /// The rotations of CoeffToSlot, SlotToCoeff and the trace, and conjugation:
    /// Bootstrapper::required_galois_elements.
    ckks::GaloisKeys galois;
    /// The two keys of sparse-secret encapsulation, when the parameters use it.
    std::optional<EncapsulationKeys> encapsulation;
};

/// Refreshes level-0 ciphertexts; holds the rotation, conjugation and
/// relinearization keys it needs and an Evaluator over them.
class Bootstrapper {
  public:
    /// Generates exactly the keys the circuit needs (rotations of CoeffToSlot and
    /// SlotToCoeff, conjugation, relinearization) and encodes the transforms.
    /// @throws InvalidArgumentError when `context` was not built from
    ///         `params.ckks()` or `keygen` belongs to another context.
    Bootstrapper(const ckks::Context& context, const ckks::KeyGenerator& keygen,
                 const Parameters& params)
        : Bootstrapper(context, params) {
        const auto start = std::chrono::steady_clock::now();
        set_keys(generate_keys(context, keygen, params));
        keys_.seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }

    /// A bootstrapper without keys (a server's, which holds no secret key):
    /// encodes the transforms; bootstrap() needs keys from set_keys, typically
    /// io::load_bootstrapping_keys(stream, bootstrapper).
    /// @throws InvalidArgumentError when `context` was not built from `params.ckks()`.
    Bootstrapper(const ckks::Context& context, const Parameters& params)
        : context_(context),
          params_(params),
          evaluator_(context),
          converter_(context.level(0).q, context.level(context.max_level()).q),
          cosine_(make_cosine(params)) {
        Plan plan = make_plan(context, params);
        coeffs_to_slots_ = std::move(plan.coeffs_to_slots);
        slots_to_coeffs_ = std::move(plan.slots_to_coeffs);
        trace_steps_ = std::move(plan.trace_steps);
        rotations_ = std::move(plan.rotations);
        galois_elements_ = galois_elements_of(rotations_, context.degree());

        // Encode every transform now, at the level it will meet.
        const std::size_t top = context.max_level();
        for (std::size_t i = 0; i < coeffs_to_slots_.size(); ++i) {
            coeffs_to_slots_[i].prepare(top - i);
        }
        const std::size_t stc_top = params.output_level() + params.slots_to_coeffs_levels();
        for (std::size_t i = 0; i < slots_to_coeffs_.size(); ++i) {
            slots_to_coeffs_[i].prepare(stc_top - i);
        }
    }

    /// The Galois elements whose keys bootstrapping with `params` needs, ascending:
    /// the rotations of the FFTs and of the trace, and conjugation (2N - 1). Builds
    /// the transforms' diagonals but encodes nothing.
    /// @throws InvalidArgumentError when `context` was not built from `params.ckks()`.
    [[nodiscard]] static std::vector<std::uint64_t> required_galois_elements(
        const ckks::Context& context, const Parameters& params) {
        return galois_elements_of(make_plan(context, params).rotations, context.degree());
    }

    /// Every key bootstrapping with `params` needs, generated from `keygen`'s secret.
    /// @throws InvalidArgumentError when `context` was not built from `params.ckks()`.
    [[nodiscard]] static BootstrappingKeys generate_keys(const ckks::Context& context,
                                                         const ckks::KeyGenerator& keygen,
                                                         const Parameters& params) {
        const Plan plan = make_plan(context, params);
        BootstrappingKeys keys;
        keys.relin = keygen.relin_key();
        keys.galois = keygen.galois_keys(plan.rotations, /*conjugate=*/true);
        if (params.encapsulation_hamming_weight() != 0) {
            keys.encapsulation = SparseSecretEncapsulation::generate_keys(
                context, keygen, params.encapsulation_hamming_weight(),
                params.log_encapsulation_prime());
        }
        return keys;
    }

    /// Installs the keys (replacing any held): an Evaluator over them and the
    /// encapsulation switches. Galois keys beyond those needed are kept.
    /// @throws KeyMissingError naming the first Galois element (and its rotation)
    ///         without a key, or the missing encapsulation keys.
    /// @throws InvalidArgumentError for keys of the wrong shape or primes, or
    ///         encapsulation keys for parameters that do not encapsulate.
    void set_keys(BootstrappingKeys keys) {
        const char* where = "boot::Bootstrapper::set_keys";
        const std::size_t q_count = context_.parameters().q_primes().size();
        const std::size_t digits =
            (q_count + context_.parameters().digit_size() - 1) / context_.parameters().digit_size();
        const auto check_key = [&](const ckks::SwitchingKey& key, const std::string& name) {
            bool ok = key.b.size() == digits && key.a.size() == digits;
            for (const auto* half : {&key.b, &key.a}) {
                for (const ring::Poly& p : *half) {
                    ok = ok && !p.empty() && p.form() == ring::Form::evaluation &&
                         p.degree() == context_.degree() &&
                         std::ranges::equal(p.basis().values(), context_.key_basis()->values());
                }
            }
            if (!ok) {
                throw InvalidArgumentError(cloak::detail::message(
                    where, ": the ", name, " is not ", digits,
                    " (b, a) pairs over this context's Q_L P in evaluation form; it was made "
                    "for other parameters"));
            }
        };
        check_key(keys.relin.key, "relinearization key");
        for (std::uint64_t element : galois_elements_) {
            if (!keys.galois.has(element)) {
                throw KeyMissingError(cloak::detail::message(
                    where, ": no key for ", describe_galois_element(element),
                    "; generate every one of required_galois_elements() (generate_keys does)"));
            }
        }
        for (const auto& [element, key] : keys.galois.keys) {
            check_key(key, cloak::detail::message("key of ", describe_galois_element(element)));
        }
        const bool encapsulates = params_.encapsulation_hamming_weight() != 0;
        if (encapsulates != keys.encapsulation.has_value()) {
            if (encapsulates) {
                throw KeyMissingError(cloak::detail::message(
                    where, ": these parameters bootstrap through sparse-secret encapsulation (h = ",
                    params_.encapsulation_hamming_weight(),
                    ") and the keys lack its two switching keys"));
            }
            throw InvalidArgumentError(cloak::detail::message(
                where,
                ": the keys hold encapsulation keys, but these parameters do not "
                "encapsulate; they were made for other parameters"));
        }
        KeyReport report;
        const auto bytes_of = [](const ckks::SwitchingKey& key) {
            std::size_t bytes = 0;
            for (const auto* half : {&key.b, &key.a}) {
                for (const ring::Poly& p : *half) {
                    bytes += p.data().size_bytes();
                }
            }
            return bytes;
        };
        const std::uint64_t conjugation = ckks::conjugation_galois_element(context_.degree());
        for (const auto& [element, key] : keys.galois.keys) {
            report.bytes += bytes_of(key);
            (element == conjugation ? report.conjugation_keys : report.rotation_keys) += 1;
        }
        report.bytes += bytes_of(keys.relin.key);
        std::shared_ptr<const SparseSecretEncapsulation> encapsulation;
        if (keys.encapsulation) {
            encapsulation = std::make_shared<const SparseSecretEncapsulation>(
                context_, std::move(*keys.encapsulation), params_.log_encapsulation_prime());
            report.encapsulation_keys = 2;
            report.bytes += encapsulation->bytes();
        }
        evaluator_ = ckks::Evaluator(context_, std::move(keys.relin), std::move(keys.galois));
        encapsulation_ = std::move(encapsulation);
        keys_ = report;
        has_keys_ = true;
    }

    /// Whether the bootstrapper holds its keys (bootstrap() needs them).
    [[nodiscard]] bool has_keys() const noexcept { return has_keys_; }
    /// The Galois elements whose keys it needs, ascending (required_galois_elements).
    [[nodiscard]] const std::vector<std::uint64_t>& galois_elements() const noexcept {
        return galois_elements_;
    }

    /// "Galois element 25 (rotation by 2)" or "... (conjugation)", for messages.
    [[nodiscard]] std::string describe_galois_element(std::uint64_t element) const {
        if (element == ckks::conjugation_galois_element(context_.degree())) {
            return cloak::detail::message("Galois element ", element, " (conjugation)");
        }
        for (std::int64_t step : rotations_) {
            if (ckks::rotation_galois_element(step, context_.degree()) == element) {
                return cloak::detail::message("Galois element ", element, " (rotation by ", step,
                                              ")");
            }
        }
        return cloak::detail::message("Galois element ", element);
    }

    [[nodiscard]] const Parameters& parameters() const noexcept { return params_; }
    [[nodiscard]] const ckks::Context& context() const noexcept { return context_; }
    /// An evaluator holding the bootstrapping keys (relinearization included).
    [[nodiscard]] const ckks::Evaluator& evaluator() const noexcept { return evaluator_; }
    /// The rotation steps whose keys were generated, ascending.
    [[nodiscard]] const std::vector<std::int64_t>& rotations() const noexcept { return rotations_; }
    [[nodiscard]] const KeyReport& keys() const noexcept { return keys_; }
    /// The level of a bootstrapped ciphertext.
    [[nodiscard]] std::size_t output_level() const noexcept { return params_.output_level(); }
    /// The cosine interpolant EvalMod evaluates before its double angles.
    [[nodiscard]] const ckks::Polynomial& cosine() const noexcept { return cosine_; }

    /// A ciphertext of the same message at output_level() and the same scale.
    /// A ciphertext above level 0 is first dropped to level 0.
    /// @throws InvalidArgumentError for a ciphertext of another context, an
    ///         unrelinearized one, or one packing other than parameters().slots() slots.
    [[nodiscard]] ckks::Ciphertext bootstrap(const ckks::Ciphertext& ct) const {
        const char* where = "boot::Bootstrapper::bootstrap";
        check_input(ct, where);
        require_keys(where);
        if (ct.slots() != params_.slots()) {
            throw InvalidArgumentError(cloak::detail::message(
                where, ": the ciphertext packs ", ct.slots(), " slots; these parameters bootstrap ",
                params_.slots(), " slots (encode with .slots = ", params_.slots(), ")"));
        }
        const ckks::Ciphertext raised = mod_raise_encapsulated(evaluator_.drop_level_to(ct, 0));
        SlotHalves halves = coeffs_to_slots(raised);
        halves.re = eval_mod(halves.re);
        if (!halves.im.empty()) {
            halves.im = eval_mod(halves.im);
        }
        return slots_to_coeffs(halves, ct.scale());
    }

    /// Iterative bootstrapping, Meta-BTS (Bae, Cheon, Cho, Kim, Kim, "META-BTS:
    /// bootstrapping precision beyond the limit", CCS 2022): bootstrap ct to ct1,
    /// take the error ct - ct1 at level 0, scale it up by 2^gain_bits (an exact
    /// integer product), bootstrap it, and add it back scaled down. The second
    /// bootstrap's error is divided by 2^gain_bits, so the precision roughly
    /// doubles for twice the time.
    ///
    /// The result is at output_level() with scale ct.scale() * 2^gain_bits: a
    /// ciphertext at the user's scale could not hold that precision (its own
    /// rescaling noise is larger). gain_bits must leave the first bootstrap's
    /// error times 2^gain_bits below 1: 20 fits every preset (their minimum
    /// precision is above 20.5 bits).
    /// @throws InvalidArgumentError for iterations outside [1, 2] or gain_bits
    ///         outside [1, 30], and as bootstrap(ct).
    [[nodiscard]] ckks::Ciphertext bootstrap(const ckks::Ciphertext& ct, std::size_t iterations,
                                             int gain_bits = default_meta_gain_bits) const {
        const char* where = "boot::Bootstrapper::bootstrap";
        if (iterations < 1 || iterations > 2) {
            throw InvalidArgumentError(cloak::detail::message(
                where, ": iterations = ", iterations,
                " is outside [1, 2]; a third iteration would need the error scaled above q0"));
        }
        if (gain_bits < 1 || gain_bits > 30) {
            throw InvalidArgumentError(cloak::detail::message(
                where, ": gain_bits = ", gain_bits,
                " is outside [1, 30]; keep it below the first bootstrap's precision (20 is safe)"));
        }
        const ckks::Ciphertext first = bootstrap(ct);
        if (iterations == 1) {
            return first;
        }
        const ckks::Ciphertext low = evaluator_.drop_level_to(ct, 0);
        const std::int64_t gain = std::int64_t{1} << gain_bits;
        ckks::Ciphertext error = evaluator_.multiply_integer(
            evaluator_.sub(low, evaluator_.drop_level_to(first, 0)), gain);
        ckks::Ciphertext correction = bootstrap(error);
        const double scale = ct.scale() * static_cast<double>(gain);
        correction.set_scale(scale);
        ckks::Ciphertext result = evaluator_.multiply_integer(first, gain);
        result.set_scale(scale);
        return evaluator_.add(result, correction);  // G (low + e1) + G (-e1) + delta
    }

    /// ModRaise: a level-0 ciphertext of m becomes a top-level ciphertext of
    /// m + q0 I (centered lifts of c0 and c1), with the same scale label.
    /// @throws LevelError for a ciphertext above level 0.
    [[nodiscard]] ckks::Ciphertext mod_raise(const ckks::Ciphertext& ct) const {
        const char* where = "boot::Bootstrapper::mod_raise";
        check_input(ct, where);
        if (ct.level() != 0) {
            throw LevelError(cloak::detail::message(
                where, ": the ciphertext is at level ", ct.level(),
                "; ModRaise lifts level-0 ciphertexts (call evaluator.drop_level_to(ct, 0))"));
        }
        std::vector<ring::Poly> parts;
        for (const ring::Poly& part : ct.parts()) {
            ring::Poly coefficients = part;
            coefficients.to_coefficient();
            ring::Poly raised = converter_.convert_centered(coefficients);
            raised.to_evaluation();
            parts.push_back(std::move(raised));
        }
        return ckks::Ciphertext(std::move(parts), ct.scale(), ct.slots());
    }

    /// ModRaise through the ephemeral sparse secret when the parameters
    /// encapsulate (switch to it, raise, switch back), plain mod_raise otherwise.
    /// @throws LevelError for a ciphertext above level 0.
    [[nodiscard]] ckks::Ciphertext mod_raise_encapsulated(const ckks::Ciphertext& ct) const {
        if (params_.encapsulation_hamming_weight() == 0) {
            return mod_raise(ct);
        }
        check_input(ct, "boot::Bootstrapper::mod_raise_encapsulated");
        require_keys("boot::Bootstrapper::mod_raise_encapsulated");
        return encapsulation_->to_dense(mod_raise(encapsulation_->to_sparse(ct)));
    }

    /// CoeffToSlot of a top-level ciphertext whose plaintext polynomial is P:
    /// re slot k holds P_{br(k)} / (q0 K) and im slot k holds P_{br(k) + n} / (q0 K),
    /// br the bit reversal of log2(n) bits, at scale circuit_scale(),
    /// coeffs_to_slots_levels() levels lower. The input's scale is ignored.
    /// With sparse slots (n < N/2) P is first traced to the subring of its n-slot
    /// packing (P_k read at multiples of N / (2n)), and re holds both halves in
    /// 2n slots: re in slots [0, n), im in [n, 2n); im is then empty.
    /// @throws LevelError for a ciphertext below the top level.
    [[nodiscard]] SlotHalves coeffs_to_slots(const ckks::Ciphertext& ct) const {
        const char* where = "boot::Bootstrapper::coeffs_to_slots";
        check_input(ct, where);
        require_keys(where);
        if (ct.level() != context_.max_level()) {
            throw LevelError(cloak::detail::message(where, ": the ciphertext is at level ",
                                                    ct.level(), "; CoeffToSlot starts at level ",
                                                    context_.max_level(), " (after mod_raise)"));
        }
        ckks::Ciphertext x = ct;
        x.set_scale(params_.circuit_scale());
        // The trace: the sum of the rotations by n, 2n, ..., N/4 keeps the part of
        // P in the subring of n-slot packings (times N / (2n)) and cancels q0 I's
        // other coefficients.
        for (std::int64_t step : trace_steps_) {
            x = evaluator_.add(x, evaluator_.rotate(x, step));
        }
        const bool sparse = !trace_steps_.empty();
        for (std::size_t k = 0; k < coeffs_to_slots_.size(); ++k) {
            if (sparse && k + 1 == coeffs_to_slots_.size()) {
                x = with_slots(x, 2 * params_.slots());
            }
            x = coeffs_to_slots_[k].apply(evaluator_, x);
        }
        const ckks::Ciphertext conjugate = evaluator_.conjugate(x);
        SlotHalves halves;
        halves.re = evaluator_.add(x, conjugate);
        if (!sparse) {
            halves.im = multiply_by_i(evaluator_.sub(conjugate, x));  // (x - conj x) / i
        }
        return halves;
    }

    /// EvalMod: slot y (in [-1, 1]) becomes eval_mod_function(y), about
    /// eval_mod_gain() 2 pi (K y - round(K y)) near the integers, at the input's
    /// scale (exactly when r = 0), eval_mod_levels() lower.
    /// @throws LevelError when fewer than eval_mod_levels() levels are left.
    [[nodiscard]] ckks::Ciphertext eval_mod(const ckks::Ciphertext& y) const {
        const char* where = "boot::Bootstrapper::eval_mod";
        check_input(y, where);
        require_keys(where);
        const std::size_t needed = params_.eval_mod_levels();
        if (y.level() < needed) {
            throw LevelError(cloak::detail::message(
                where, ": the ciphertext is at level ", y.level(), "; EvalMod needs ", needed,
                " levels (cosine ", params_.cosine_levels(), " + double angles ",
                params_.double_angle(), ")"));
        }
        // The r squarings map scale s to s^2 / q_l: walk back from S to the
        // scale the cosine must land on.
        const std::size_t after_cosine = y.level() - params_.cosine_levels();
        double target = y.scale();
        for (std::size_t i = params_.double_angle(); i-- > 0;) {
            target = std::sqrt(target * evaluator_.prime_at(after_cosine - i));
        }
        ckks::Ciphertext c = evaluator_.evaluate(cosine_, y, {.target_scale = target});
        for (std::size_t i = 0; i < params_.double_angle(); ++i) {
            c = evaluator_.rescale(evaluator_.square(c));
            c = evaluator_.add(evaluator_.multiply_integer(c, 2), -1.0);
        }
        if (params_.arcsine_correction()) {
            // arcsin(z) = z + z^3 / 6 + O(z^5), computed as 6 z + z^3 = 6 arcsin(z):
            // the 1/6 rides on SlotToCoeff's matrices. Evaluated as a polynomial
            // so that it lands exactly on the circuit scale: Meta-BTS subtracts
            // the output from the input, which needs their scales equal.
            c = evaluator_.evaluate(ckks::Polynomial::power({0.0, 6.0, 0.0, 1.0}), c,
                                    {.target_scale = y.scale()});
        }
        return c;
    }

    /// The function eval_mod computes, in plain double: sin(2 pi K y), or with the
    /// arcsine correction 6 z + z^3 for z = sin(2 pi K y).
    [[nodiscard]] double eval_mod_function(double y) const noexcept {
        const double z = std::sin(2.0 * std::numbers::pi * params_.k() * y);
        return params_.arcsine_correction() ? 6.0 * z + z * z * z : z;
    }

    /// eval_mod's slope at the integers, in units of 2 pi: 6 with the arcsine
    /// correction, 1 without; SlotToCoeff divides by it.
    [[nodiscard]] double eval_mod_gain() const noexcept {
        return params_.arcsine_correction() ? 6.0 : 1.0;
    }

    /// SlotToCoeff: from re and im (as after eval_mod, at the same level and
    /// scale s), the ciphertext whose plaintext has coefficients
    /// q0 / (2 pi eval_mod_gain()) (re_k, im_k) (k in bit-reversed order, as coeffs_to_slots
    /// left them) times s / circuit_scale(), labelled with `output_scale`.
    /// @throws LevelError when fewer than slots_to_coeffs_levels() levels are left.
    [[nodiscard]] ckks::Ciphertext slots_to_coeffs(const SlotHalves& halves,
                                                   double output_scale) const {
        const char* where = "boot::Bootstrapper::slots_to_coeffs";
        const bool sparse = !trace_steps_.empty();
        check_input(halves.re, where);
        require_keys(where);
        if (!sparse) {
            check_input(halves.im, where);
        }
        if (halves.re.level() < slots_to_coeffs_.size()) {
            throw LevelError(cloak::detail::message(where, ": the ciphertext is at level ",
                                                    halves.re.level(), "; SlotToCoeff needs ",
                                                    slots_to_coeffs_.size(), " levels"));
        }
        // Sparse: re holds [re, im] in 2n slots and the first matrix combines them.
        ckks::Ciphertext x =
            sparse ? halves.re : evaluator_.add(halves.re, multiply_by_i(halves.im));
        const double ratio = x.scale() / params_.circuit_scale();
        for (std::size_t k = 0; k < slots_to_coeffs_.size(); ++k) {
            x = slots_to_coeffs_[k].apply(evaluator_, x);
            if (sparse && k == 0) {
                x = with_slots(x, params_.slots());
            }
        }
        x.set_scale(output_scale * ratio);
        return x;
    }

  private:
    // The transforms (not yet encoded), the trace's steps and every rotation.
    struct Plan {
        std::vector<ckks::LinearTransform> coeffs_to_slots;
        std::vector<ckks::LinearTransform> slots_to_coeffs;
        std::vector<std::int64_t> trace_steps;  // n, 2n, ..., N/4 (sparse slots only)
        std::vector<std::int64_t> rotations;    // ascending, distinct
    };

    static Plan make_plan(const ckks::Context& context, const Parameters& params) {
        const char* where = "boot::Bootstrapper";
        if (!(context.parameters() == params.ckks())) {
            throw InvalidArgumentError(cloak::detail::message(
                where,
                ": the context was not built from these bootstrapping parameters; build it as "
                "ckks::Context(params.ckks())"));
        }
        Plan plan;
        const std::size_t n = params.slots();
        const double q0 = static_cast<double>(context.parameters().q_primes()[0]);
        const double scale = params.circuit_scale();
        // Sparse slots (n < N/2): a trace multiplies the subring part by
        // N / (2n) first, and the two halves share one ciphertext of 2n slots
        // (dft.hpp, widen), so EvalMod runs once.
        const std::size_t trace_gain = context.slots() / n;
        const bool sparse = trace_gain > 1;
        const std::complex<double> i(0.0, 1.0);
        // CoeffToSlot: slots P / S -> P / (2 q0 K) (the conjugate doubles it).
        std::vector<SlotDiagonals> cts = coeffs_to_slots_matrices(
            n, params.coeffs_to_slots_levels(),
            scale / (2.0 * q0 * params.k() * static_cast<double>(trace_gain)));
        if (sparse) {
            cts.back() = widen(cts.back(), n, 1.0, 0.0, -i, 0.0);
        }
        for (std::size_t k = 0; k < cts.size(); ++k) {
            const std::size_t width = sparse && k + 1 == cts.size() ? 2 * n : n;
            plan.coeffs_to_slots.push_back(
                ckks::LinearTransform::from_diagonals(context, width, cts[k]));
        }
        // SlotToCoeff: sin(2 pi P / q0) at scale S -> q0 / (2 pi) times it, as the
        // plaintext's coefficients.
        const double gain = params.arcsine_correction() ? 6.0 : 1.0;  // eval_mod_gain()
        std::vector<SlotDiagonals> stc = slots_to_coeffs_matrices(
            n, params.slots_to_coeffs_levels(), q0 / (2.0 * std::numbers::pi * scale * gain));
        if (sparse) {
            stc.front() = widen(stc.front(), n, 1.0, i, 1.0, i);
        }
        for (std::size_t k = 0; k < stc.size(); ++k) {
            const std::size_t width = sparse && k == 0 ? 2 * n : n;
            plan.slots_to_coeffs.push_back(
                ckks::LinearTransform::from_diagonals(context, width, stc[k]));
        }
        for (std::size_t step = n; step < context.slots(); step *= 2) {
            plan.trace_steps.push_back(static_cast<std::int64_t>(step));
        }
        for (const auto* group : {&plan.coeffs_to_slots, &plan.slots_to_coeffs}) {
            for (const ckks::LinearTransform& t : *group) {
                const std::vector<std::int64_t> s = t.required_rotations();
                plan.rotations.insert(plan.rotations.end(), s.begin(), s.end());
            }
        }
        plan.rotations.insert(plan.rotations.end(), plan.trace_steps.begin(),
                              plan.trace_steps.end());
        std::sort(plan.rotations.begin(), plan.rotations.end());
        plan.rotations.erase(std::unique(plan.rotations.begin(), plan.rotations.end()),
                             plan.rotations.end());
        return plan;
    }

    // The Galois elements of the rotations and of conjugation, ascending, distinct.
    static std::vector<std::uint64_t> galois_elements_of(std::span<const std::int64_t> rotations,
                                                         std::size_t degree) {
        std::vector<std::uint64_t> elements;
        for (std::int64_t step : rotations) {
            const std::uint64_t element = ckks::rotation_galois_element(step, degree);
            if (element != 1) {
                elements.push_back(element);
            }
        }
        elements.push_back(ckks::conjugation_galois_element(degree));
        std::sort(elements.begin(), elements.end());
        elements.erase(std::unique(elements.begin(), elements.end()), elements.end());
        return elements;
    }

    void require_keys(const char* where) const {
        if (!has_keys_) {
            throw KeyMissingError(cloak::detail::message(
                where,
                ": this bootstrapper holds no keys; construct it with a KeyGenerator, or load "
                "a bundle into it with io::load_bootstrapping_keys (io/boot.hpp)"));
        }
    }

    // cos(2 pi (K y - 1/4) / 2^r) on [-1, 1]: after r double angles, sin(2 pi K y).
    // With r = 0 that is sin(2 pi K y) itself, odd: interpolated as an odd series,
    // whose evaluation skips the even half (about half the products).
    static ckks::Polynomial make_cosine(const Parameters& params) {
        const double k = params.k();
        const std::size_t degree = params.cosine_degree();
        if (params.double_angle() == 0 && degree % 2 == 1) {
            return approx::chebyshev_interpolant(
                [k](double y) { return std::sin(2.0 * std::numbers::pi * k * y); },
                {.a = -1.0, .b = 1.0}, degree, approx::Parity::odd);
        }
        const double r_scale = std::exp2(static_cast<double>(params.double_angle()));
        return approx::chebyshev_interpolant(
            [k, r_scale](double y) {
                return std::cos(2.0 * std::numbers::pi * (k * y - 0.25) / r_scale);
            },
            {.a = -1.0, .b = 1.0}, degree);
    }

    void check_input(const ckks::Ciphertext& ct, const char* where) const {
        if (ct.empty()) {
            throw InvalidArgumentError(cloak::detail::message(where, ": the ciphertext is empty"));
        }
        (void)context_.level_of(ct[0], where);
        if (ct.size() != 2) {
            throw InvalidArgumentError(cloak::detail::message(
                where, ": a ciphertext of ", ct.size(), " parts; relinearize it first"));
        }
    }

    // The same ciphertext labelled with another slot count (its plaintext is
    // periodic in both views).
    static ckks::Ciphertext with_slots(const ckks::Ciphertext& ct, std::size_t slots) {
        std::vector<ring::Poly> parts(ct.parts().begin(), ct.parts().end());
        return ckks::Ciphertext(std::move(parts), ct.scale(), slots);
    }

    // Slots times i: the product by the monomial X^(N/2), which every slot
    // evaluates to i (5^j = 1 mod 4); exact, no level, no scale change.
    ckks::Ciphertext multiply_by_i(const ckks::Ciphertext& ct) const {
        const ckks::Encoder encoder(context_);
        const ckks::Plaintext monomial =
            encoder.encode(std::complex<double>(0.0, 1.0),
                           {.level = ct.level(), .scale = 1.0, .slots = ct.slots()});
        return evaluator_.multiply(ct, monomial);
    }

    ckks::Context context_;
    Parameters params_;
    ckks::Evaluator evaluator_;
    ring::BaseConverter converter_;
    std::vector<ckks::LinearTransform> coeffs_to_slots_;
    std::vector<ckks::LinearTransform> slots_to_coeffs_;
    ckks::Polynomial cosine_;
    std::vector<std::int64_t> rotations_;
    std::vector<std::int64_t> trace_steps_;  // n, 2n, ..., N/4 (sparse slots only)
    std::vector<std::uint64_t> galois_elements_;
    std::shared_ptr<const SparseSecretEncapsulation> encapsulation_;
    KeyReport keys_;
    bool has_keys_ = false;
};

}  // namespace cloak::inline v0::boot
