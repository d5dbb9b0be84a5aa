// Tests of fast base conversion, rescaling and ModUp/ModDown against exact CRT
// arithmetic in GMP: every coefficient is composed into the integer it stands
// for, and the kernels' outputs are checked against the exact integer results
// with the error bounds the headers document.
#include <gmpxx.h>
#include <omp.h>
#include <catch2/catch.hpp>

#include <cloak/core/primes.hpp>
#include <cloak/ring/arith.hpp>
#include <cloak/ring/base_conversion.hpp>
#include <cloak/ring/basis.hpp>
#include <cloak/ring/poly.hpp>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace {

using cloak::ring::Form;
using cloak::ring::Poly;
using cloak::ring::RnsBasis;

std::shared_ptr<const RnsBasis> make_basis(std::size_t n, int bits, std::size_t count,
                                           std::span<const std::uint64_t> exclude = {}) {
    return RnsBasis::create(n, cloak::core::generate_ntt_primes(bits, count, 2 * n, exclude));
}

Poly random_poly(const std::shared_ptr<const RnsBasis>& basis, Form form, std::mt19937_64& rng) {
    Poly p(basis, form);
    for (std::size_t i = 0; i < p.limbs(); ++i) {
        for (std::uint64_t& v : p.limb(i)) {
            v = rng() % basis->modulus(i).value();
        }
    }
    return p;
}

mpz_class big(std::uint64_t x) {
    return mpz_class(static_cast<unsigned long>(x));
}

// Exact CRT over a list of moduli, with GMP.
class Crt {
  public:
    explicit Crt(std::span<const std::uint64_t> moduli) : moduli_(moduli.begin(), moduli.end()) {
        for (std::uint64_t q : moduli_) {
            product_ *= big(q);
        }
        for (std::uint64_t q : moduli_) {
            const mpz_class punctured = product_ / big(q);
            mpz_class reduced = punctured % big(q);
            mpz_class inverse;
            mpz_invert(inverse.get_mpz_t(), reduced.get_mpz_t(), big(q).get_mpz_t());
            weights_.push_back(punctured * inverse);
        }
    }

    [[nodiscard]] const mpz_class& product() const { return product_; }

    // The integer in [0, Q) whose residues are limb i, word j of `words` (N per limb).
    [[nodiscard]] mpz_class compose(std::span<const std::uint64_t> words, std::size_t n,
                                    std::size_t j) const {
        mpz_class x = 0;
        for (std::size_t i = 0; i < moduli_.size(); ++i) {
            x += big(words[i * n + j]) * weights_[i];
        }
        return x % product_;
    }
    [[nodiscard]] mpz_class compose(const Poly& p, std::size_t j) const {
        return compose(p.data(), p.degree(), j);
    }

    // Residues of x (any sign) in every modulus.
    [[nodiscard]] std::vector<std::uint64_t> residues(const mpz_class& x) const {
        std::vector<std::uint64_t> out;
        for (std::uint64_t q : moduli_) {
            mpz_class r = x % big(q);
            if (r < 0) {
                r += big(q);
            }
            out.push_back(r.get_ui());
        }
        return out;
    }

  private:
    std::vector<std::uint64_t> moduli_;
    mpz_class product_ = 1;
    std::vector<mpz_class> weights_;
};

// ModDown applied to a copy.
Poly lowered(const cloak::ring::ModDown& mod_down, Poly a) {
    mod_down.apply(a);
    return a;
}

mpz_class centered(const mpz_class& x, const mpz_class& q) {
    return x > q / 2 ? mpz_class(x - q) : x;
}

// round(x / d) for any sign, d > 0 odd: floor((2x + d) / (2d)).
mpz_class round_div(const mpz_class& x, const mpz_class& d) {
    mpz_class r;
    const mpz_class numerator = 2 * x + d;
    const mpz_class denominator = 2 * d;
    mpz_fdiv_q(r.get_mpz_t(), numerator.get_mpz_t(), denominator.get_mpz_t());
    return r;
}

mpz_class mod(const mpz_class& x, const mpz_class& q) {
    mpz_class r = x % q;
    return r < 0 ? mpz_class(r + q) : r;
}

// Poly over `basis` whose coefficient j is values[j] (any integers).
Poly poly_of(const std::shared_ptr<const RnsBasis>& basis, const std::vector<mpz_class>& values,
             Form form) {
    const Crt crt(basis->values());
    Poly p(basis, Form::coefficient);
    for (std::size_t j = 0; j < values.size(); ++j) {
        const auto r = crt.residues(values[j]);
        for (std::size_t i = 0; i < basis->size(); ++i) {
            p.limb(i)[j] = r[i];
        }
    }
    if (form == Form::evaluation) {
        p.to_evaluation();
    }
    return p;
}

}  // namespace

TEST_CASE("ring/base_conversion/N=1024/from=5/to=3 fast conversion is x + e Q, 0 <= e < 5",
          "[baseconv]") {
    std::mt19937_64 rng(21);
    const std::size_t n = 1024;
    const auto from = make_basis(n, 50, 5);
    const auto to = make_basis(n, 45, 3, from->values());
    Poly x = random_poly(from, Form::coefficient, rng);
    // Edge values: 0, 1, Q - 1, and the residues all q_i - 1.
    const Crt crt(from->values());
    const auto set_coefficient = [&](std::size_t j, const mpz_class& value) {
        const auto r = crt.residues(value);
        for (std::size_t i = 0; i < from->size(); ++i) {
            x.limb(i)[j] = r[i];
        }
    };
    set_coefficient(0, 0);
    set_coefficient(1, 1);
    set_coefficient(2, crt.product() - 1);
    for (std::size_t i = 0; i < from->size(); ++i) {
        x.limb(i)[3] = from->modulus(i).value() - 1;
    }
    const cloak::ring::BaseConverter converter(from, to);
    const Poly out = converter.convert(x);
    REQUIRE(out.basis_ptr() == to);
    REQUIRE(out.form() == Form::coefficient);
    std::vector<int> seen(5, 0);
    for (std::size_t j = 0; j < n; ++j) {
        const mpz_class value = crt.compose(x, j);
        // One e in [0, L) must explain every target prime.
        int found = -1;
        for (int e = 0; e < 5 && found < 0; ++e) {
            bool all = true;
            for (std::size_t t = 0; t < 3; ++t) {
                const mpz_class expected =
                    (value + e * crt.product()) % big(to->modulus(t).value());
                all = all && big(out.limb(t)[j]) == expected;
            }
            found = all ? e : -1;
        }
        INFO("coefficient " << j);
        REQUIRE(found >= 0);
        ++seen[static_cast<std::size_t>(found)];
    }
    REQUIRE(seen[0] > 0);  // x = 0 gives e = 0
    REQUIRE(seen[1] + seen[2] + seen[3] > 0);

    // The span interface gives the same words.
    std::vector<std::uint64_t> words(3 * n);
    converter.convert(x.data(), words);
    REQUIRE(std::equal(words.begin(), words.end(), out.data().begin()));

    // Every backend gives the same words (sources below 2^52: IFMA where the CPU has it).
    REQUIRE(converter.supports_avx512ifma());
    using cloak::ring::Backend;
    REQUIRE(converter.convert(x, Backend::scalar) == out);
    REQUIRE(converter.convert_centered(x, Backend::scalar) == converter.convert_centered(x));
    if (cloak::ring::avx512ifma_available()) {
        REQUIRE(converter.convert(x, Backend::avx512ifma) == out);
    }
    const auto wide = make_basis(n, 60, 2, from->values());
    const cloak::ring::BaseConverter from_wide(wide, to);
    REQUIRE(!from_wide.supports_avx512ifma());
    const Poly w = random_poly(wide, Form::coefficient, rng);
    if (cloak::ring::avx512ifma_available()) {
        REQUIRE_THROWS_WITH(from_wide.convert(w, Backend::avx512ifma),
                            Catch::Contains("below 2^52"));
    }
    REQUIRE_THROWS_AS(converter.convert(x.data(), std::span(words).first(n)), cloak::ShapeError);
    REQUIRE_THROWS_WITH(converter.convert(x.data(), std::span(words).first(n)),
                        Catch::Contains("5 -> 3 limbs") && Catch::Contains("3072"));
}

TEST_CASE("ring/base_conversion/N=1024/from=5/to=3 centered conversion is exact", "[baseconv]") {
    std::mt19937_64 rng(22);
    const std::size_t n = 1024;
    const auto from = make_basis(n, 58, 5);
    const auto to = make_basis(n, 30, 3, from->values());
    const Crt crt(from->values());
    std::vector<mpz_class> values(n);
    gmp_randclass random(gmp_randinit_default);
    random.seed(22);
    for (auto& v : values) {
        v = random.get_z_range(crt.product());
    }
    values[0] = 0;
    values[1] = 1;
    values[2] = crt.product() - 1;  // -1
    // Q/2 -+ 2^-30 Q: outside the documented eps window (eps < 2^-40), exact.
    const mpz_class margin = crt.product() >> 30;
    values[3] = crt.product() / 2 - margin;
    values[4] = crt.product() / 2 + margin;
    // Q/2 -+ 1000: inside the window, either representative is allowed.
    values[5] = crt.product() / 2 - 1000;
    values[6] = crt.product() / 2 + 1000;
    const Poly x = poly_of(from, values, Form::coefficient);
    const cloak::ring::BaseConverter converter(from, to);
    const Poly out = converter.convert_centered(x);
    for (std::size_t j = 0; j < n; ++j) {
        const mpz_class expected = centered(values[j], crt.product());
        for (std::size_t t = 0; t < 3; ++t) {
            INFO("coefficient " << j << ", target prime " << t);
            const mpz_class p = big(to->modulus(t).value());
            if (j == 5 || j == 6) {
                REQUIRE((big(out.limb(t)[j]) == mod(values[j], p) ||
                         big(out.limb(t)[j]) == mod(values[j] - crt.product(), p)));
            } else {
                REQUIRE(big(out.limb(t)[j]) == mod(expected, p));
            }
        }
    }
    std::vector<std::uint64_t> words(3 * n);
    converter.convert_centered(x.data(), words);
    REQUIRE(std::equal(words.begin(), words.end(), out.data().begin()));

    // One prime to many (the ModRaise of bootstrapping): the centered lift.
    const auto single = from->prefix(1);
    const Poly y = random_poly(single, Form::coefficient, rng);
    const Poly lifted = cloak::ring::BaseConverter(single, to).convert_centered(y);
    const std::uint64_t q0 = single->modulus(0).value();
    for (std::size_t j = 0; j < n; ++j) {
        const mpz_class expected = centered(big(y.limb(0)[j]), big(q0));
        REQUIRE(big(lifted.limb(1)[j]) == mod(expected, big(to->modulus(1).value())));
    }

    Poly evaluation = x;
    evaluation.to_evaluation();
    REQUIRE_THROWS_WITH(converter.convert(evaluation), Catch::Contains("needs coefficient form"));
    REQUIRE_THROWS_WITH(converter.convert_centered(out),
                        Catch::Contains("converter from N = 1024 with 5 primes"));
    REQUIRE_THROWS_AS(cloak::ring::BaseConverter(from, make_basis(2048, 40, 1)),
                      cloak::InvalidArgumentError);
}

TEST_CASE("ring/base_conversion/N=1024/from=70/to=2 long sums reduce before overflowing",
          "[baseconv]") {
    std::mt19937_64 rng(23);
    const std::size_t n = 1024;
    // 70 primes of 61 bits are not available at 2N = 2048 near one size, so mix
    // widths: the 128-bit partial sums see products of up to 122 bits.
    std::vector<std::uint64_t> primes = cloak::core::generate_ntt_primes(61, 30, 2 * n);
    const auto more = cloak::core::generate_ntt_primes(59, 40, 2 * n, primes);
    primes.insert(primes.end(), more.begin(), more.end());
    const auto from = RnsBasis::create(n, primes);
    const auto to = make_basis(n, 40, 2, from->values());
    const Crt crt(from->values());
    const Poly x = random_poly(from, Form::coefficient, rng);
    const cloak::ring::BaseConverter converter(from, to);
    const Poly fast = converter.convert(x);
    const Poly exact = converter.convert_centered(x);
    for (std::size_t j = 0; j < n; j += 17) {
        const mpz_class value = crt.compose(x, j);
        const mpz_class value_centered = centered(value, crt.product());
        for (std::size_t t = 0; t < 2; ++t) {
            const mpz_class p = big(to->modulus(t).value());
            REQUIRE(big(exact.limb(t)[j]) == mod(value_centered, p));
            bool matched = false;
            for (int e = 0; e < 70 && !matched; ++e) {
                matched = big(fast.limb(t)[j]) == mod(value + e * crt.product(), p);
            }
            REQUIRE(matched);
        }
    }
}

TEST_CASE("ring/rescale/N=1024/L=4 equals round(x / q_l) in both forms", "[baseconv]") {
    std::mt19937_64 rng(24);
    const std::size_t n = 1024;
    const auto target = make_basis(n, 45, 3);
    // A last prime wider than the others: its residues need reducing mod q_i.
    const auto basis = target->concat(*make_basis(n, 60, 1, target->values()));
    const Crt crt(basis->values());
    const Crt target_crt(target->values());
    const mpz_class last = big(basis->modulus(3).value());
    Poly x = random_poly(basis, Form::coefficient, rng);
    // Edge values around 0 and +-Q/2, and exact halves of q_l.
    std::vector<mpz_class> edges{0,
                                 1,
                                 crt.product() - 1,
                                 crt.product() / 2,
                                 crt.product() / 2 + 1,
                                 last / 2,
                                 last / 2 + 1,
                                 crt.product() - last / 2,
                                 crt.product() - last / 2 - 1};
    for (std::size_t e = 0; e < edges.size(); ++e) {
        const auto r = crt.residues(edges[e]);
        for (std::size_t i = 0; i < 4; ++i) {
            x.limb(i)[e] = r[i];
        }
    }
    const Poly coefficient = cloak::ring::rescale(x);
    REQUIRE(coefficient.basis_ptr() == target);
    REQUIRE(coefficient.form() == Form::coefficient);
    Poly evaluation = x;
    evaluation.to_evaluation();
    cloak::ring::rescale_inplace(evaluation);
    REQUIRE(evaluation.form() == Form::evaluation);
    REQUIRE(evaluation.basis_ptr() == target);
    evaluation.to_coefficient();
    REQUIRE(evaluation == coefficient);
    for (std::size_t j = 0; j < n; ++j) {
        const mpz_class value = crt.compose(x, j);
        // Read as [0, Q) and as the centered representative: the same result.
        const mpz_class plain = mod(round_div(value, last), target_crt.product());
        const mpz_class from_centered =
            mod(round_div(centered(value, crt.product()), last), target_crt.product());
        INFO("coefficient " << j);
        REQUIRE(plain == from_centered);
        REQUIRE(target_crt.compose(coefficient, j) == plain);
    }

    // Small values divide as integers do: round(c * q_l + r) for |r| < q_l / 2.
    std::vector<mpz_class> small(n);
    for (std::size_t j = 0; j < n; ++j) {
        const long c = static_cast<long>(rng() % 2001) - 1000;
        const mpz_class r = mpz_class(static_cast<long>(rng() % 1000001) - 500000);
        small[j] = c * last + r;
    }
    const Poly rescaled_small = cloak::ring::rescale(poly_of(basis, small, Form::evaluation));
    Poly back = rescaled_small;
    back.to_coefficient();
    for (std::size_t j = 0; j < n; ++j) {
        REQUIRE(centered(target_crt.compose(back, j), target_crt.product()) ==
                round_div(small[j], last));
    }

    Poly single = random_poly(basis->prefix(1), Form::coefficient, rng);
    REQUIRE_THROWS_AS(cloak::ring::rescale_inplace(single), cloak::ShapeError);
    REQUIRE_THROWS_WITH(cloak::ring::rescale_inplace(single),
                        Catch::Contains("1 primes") && Catch::Contains("at least 2 limbs"));
    Poly empty;
    REQUIRE_THROWS_AS(cloak::ring::rescale_inplace(empty), cloak::ShapeError);
}

TEST_CASE("ring/mod_up/N=2048/Q=6/P=2 raises a digit to its centered lift on every prime",
          "[baseconv]") {
    std::mt19937_64 rng(25);
    const std::size_t n = 2048;
    const auto q = make_basis(n, 50, 6);
    const auto p = make_basis(n, 60, 2, q->values());
    const auto extended = q->concat(*p);
    const auto digit = q->subbasis(2, 2);  // digit 1 of dnum = 3
    const cloak::ring::ModUp mod_up(digit, extended);
    REQUIRE(mod_up.digit_positions()[0] == 2);
    REQUIRE(mod_up.digit_positions()[1] == 3);

    const Poly x = random_poly(q, Form::coefficient, rng);
    Poly x_evaluation = x;
    x_evaluation.to_evaluation();
    // The digit's limbs of a Poly over Q_l are a contiguous subspan.
    const auto digit_words = x.data().subspan(2 * n, 2 * n);
    const auto digit_words_evaluation = x_evaluation.data().subspan(2 * n, 2 * n);

    Poly raised;
    mod_up.apply(digit_words, Form::coefficient, raised, Form::coefficient);
    REQUIRE(raised.basis_ptr() == extended);
    REQUIRE(raised.form() == Form::coefficient);
    // The centered lift of the digit on every prime.
    const Crt digit_crt(digit->values());
    for (std::size_t j = 0; j < n; ++j) {
        const mpz_class value = centered(digit_crt.compose(digit_words, n, j), digit_crt.product());
        REQUIRE(raised.limb(2)[j] == x.limb(2)[j]);
        REQUIRE(raised.limb(3)[j] == x.limb(3)[j]);
        for (std::size_t t = 0; t < extended->size(); ++t) {
            INFO("coefficient " << j << ", prime " << t);
            REQUIRE(big(raised.limb(t)[j]) == mod(value, big(extended->modulus(t).value())));
        }
    }
    // Every combination of input and output forms gives the same polynomial.
    Poly raised_evaluation = raised;
    raised_evaluation.to_evaluation();
    Poly out;
    mod_up.apply(digit_words_evaluation, Form::evaluation, out, Form::evaluation);
    REQUIRE(out == raised_evaluation);
    mod_up.apply(digit_words_evaluation, Form::evaluation, out, Form::coefficient);
    REQUIRE(out == raised);
    mod_up.apply(digit_words, Form::coefficient, out, Form::evaluation);
    REQUIRE(out == raised_evaluation);
    // The free function for callers that hold the Poly in both forms.
    const std::vector<std::size_t> complement{0, 1, 4, 5, 6, 7};
    const cloak::ring::BaseConverter to_complement(digit, extended->select(complement));
    Poly free_out(extended, Form::coefficient);
    cloak::ring::mod_up(x_evaluation, x, 2, to_complement, complement, free_out);
    REQUIRE(free_out == raised_evaluation);
    REQUIRE_THROWS_AS(cloak::ring::mod_up(x, x, 2, to_complement, complement, free_out),
                      cloak::ShapeError);
    REQUIRE_THROWS_WITH(
        cloak::ring::mod_up(x_evaluation, x, 1, to_complement, complement, free_out),
        Catch::Contains("converter's prime 0"));
    // The Poly overloads.
    Poly digit_poly(digit, Form::evaluation, digit_words_evaluation);
    REQUIRE(mod_up.apply(digit_poly) == raised_evaluation);

    REQUIRE_THROWS_AS(mod_up.apply(x, out), cloak::ShapeError);
    REQUIRE_THROWS_WITH(mod_up.apply(x.data(), Form::coefficient, out),
                        Catch::Contains(std::to_string(6 * n) + " words for a digit of 2 limbs"));
    REQUIRE_THROWS_WITH(mod_up.apply(digit_poly, digit_poly), Catch::Contains("same Poly"));
    const auto stranger = make_basis(n, 40, 1, extended->values());
    REQUIRE_THROWS_AS(cloak::ring::ModUp(stranger, extended), cloak::InvalidArgumentError);
    REQUIRE_THROWS_WITH(cloak::ring::ModUp(stranger, extended),
                        Catch::Contains(std::to_string(stranger->values()[0])) &&
                            Catch::Contains("not in the target basis"));
    // A digit equal to the whole target is a copy.
    const cloak::ring::ModUp identity(q, q);
    REQUIRE(identity.apply(x, Form::coefficient) == x);
}

TEST_CASE("ring/mod_down/N=2048/Q=4/P=3 equals round(a / P) exactly in both forms", "[baseconv]") {
    std::mt19937_64 rng(26);
    const std::size_t n = 2048;
    const auto q = make_basis(n, 45, 4);
    const auto p = make_basis(n, 61, 3, q->values());
    const auto extended = q->concat(*p);
    const cloak::ring::ModDown mod_down(extended, q);
    REQUIRE(mod_down.target_basis() == q);
    REQUIRE(*mod_down.special_basis() == *p);
    const Crt full(extended->values());
    const Crt q_crt(q->values());
    const Crt p_crt(p->values());

    const Poly a = random_poly(extended, Form::coefficient, rng);
    Poly down = lowered(mod_down, a);
    REQUIRE(down.basis_ptr() == q);
    REQUIRE(down.form() == Form::coefficient);
    Poly a_evaluation = a;
    a_evaluation.to_evaluation();
    mod_down.apply(a_evaluation);
    REQUIRE(a_evaluation.form() == Form::evaluation);
    a_evaluation.to_coefficient();
    REQUIRE(a_evaluation == down);
    for (std::size_t j = 0; j < n; ++j) {
        const mpz_class value = full.compose(a, j);
        INFO("coefficient " << j);
        REQUIRE(q_crt.compose(down, j) == mod(round_div(value, p_crt.product()), q_crt.product()));
    }

    REQUIRE_THROWS_AS(mod_down.apply(down), cloak::ShapeError);
    REQUIRE_THROWS_WITH(mod_down.apply(down),
                        Catch::Contains("4 primes") && Catch::Contains("from 7 primes"));
    REQUIRE_THROWS_AS(cloak::ring::ModDown(extended, extended), cloak::InvalidArgumentError);
    REQUIRE_THROWS_WITH(cloak::ring::ModDown(extended, p),
                        Catch::Contains("proper prefix") && Catch::Contains("Q_l.concat(P)"));
    // Naming P: it must be the rest of the extended basis.
    REQUIRE(cloak::ring::ModDown(extended, q, p).special_basis()->size() == 3);
    REQUIRE_THROWS_WITH(cloak::ring::ModDown(extended, q, p->prefix(2)),
                        Catch::Contains("followed by the special basis (2 primes)"));
}

TEST_CASE("ring/mod_up_mod_down/N=2048/Q=5/P=2/dnum=1,5 ModDown(P * ModUp(a) + r) is a",
          "[baseconv]") {
    std::mt19937_64 rng(27);
    const std::size_t n = 2048;
    const auto q = make_basis(n, 50, 5);
    const auto p = make_basis(n, 55, 2, q->values());
    const auto extended = q->concat(*p);
    const Crt q_crt(q->values());
    const Crt p_crt(p->values());
    const cloak::ring::ModDown mod_down(extended, q);
    std::vector<std::uint64_t> p_residues;  // P mod every prime of Q ∪ P
    for (std::uint64_t m : extended->values()) {
        p_residues.push_back(mod(p_crt.product(), big(m)).get_ui());
    }
    const Poly a = random_poly(q, Form::evaluation, rng);

    // dnum = 1: the digit is all of Q, so ModDown(P * ModUp(a)) = a exactly.
    const cloak::ring::ModUp whole(q, extended);
    Poly raised = whole.apply(a);
    cloak::ring::multiply_scalar_inplace(raised, p_residues);
    REQUIRE(lowered(mod_down, raised) == a);

    // Plus an error r with |r| < P/2: still a exactly (rounding removes it).
    std::vector<mpz_class> noise(n);
    gmp_randclass random(gmp_randinit_default);
    random.seed(27);
    const mpz_class bound = p_crt.product() / 2 - p_crt.product() / 1000000;
    for (auto& r : noise) {
        r = random.get_z_range(2 * bound) - bound;
    }
    noise[0] = bound;
    noise[1] = -bound;
    Poly noisy = raised;
    cloak::ring::add_inplace(noisy, poly_of(extended, noise, Form::evaluation));
    REQUIRE(lowered(mod_down, noisy) == a);

    // dnum = 5 (one prime per digit): ModDown(P * ModUp(digit)) is the ModUp
    // value on Q, which is the digit exactly on its own prime.
    for (std::size_t d = 0; d < 5; ++d) {
        const cloak::ring::ModUp up(q->subbasis(d, 1), extended);
        Poly digit_raised;
        up.apply(a.data().subspan(d * n, n), Form::evaluation, digit_raised, Form::evaluation);
        Poly expected = digit_raised;
        expected.keep_first_limbs(5);
        cloak::ring::multiply_scalar_inplace(digit_raised, p_residues);
        const Poly result = lowered(mod_down, digit_raised);
        REQUIRE(result == expected);
        REQUIRE(std::equal(result.limb(d).begin(), result.limb(d).end(), a.limb(d).begin()));
    }
}

TEST_CASE("ring/threads/N=8192/Q=8/P=3 conversions give identical results for 1 and 2 threads",
          "[baseconv]") {
    std::mt19937_64 rng(28);
    const std::size_t n = 8192;
    const auto q = make_basis(n, 50, 8);
    const auto p = make_basis(n, 55, 3, q->values());
    const auto extended = q->concat(*p);
    const Poly x = random_poly(q, Form::evaluation, rng);
    const cloak::ring::ModUp mod_up(q->subbasis(4, 4), extended);
    const cloak::ring::ModDown mod_down(extended, q);
    const cloak::ring::BaseConverter converter(q, p);
    const auto run = [&](int threads) {
        omp_set_num_threads(threads);
        Poly raised;
        mod_up.apply(x.data().subspan(4 * n, 4 * n), Form::evaluation, raised);
        Poly down = lowered(mod_down, raised);
        cloak::ring::rescale_inplace(down);
        Poly coefficients = x;
        coefficients.to_coefficient();
        const Poly converted = converter.convert(coefficients);
        const Poly centered_conversion = converter.convert_centered(coefficients);
        return std::vector<Poly>{down, converted, centered_conversion};
    };
    const auto one = run(1);
    const auto two = run(2);
    omp_set_num_threads(omp_get_num_procs());
    REQUIRE(one == two);
}

TEST_CASE("ring/rescale/N=65536/L=24 and mod_down/Q=24/P=8 against GMP", "[baseconv][large]") {
    std::mt19937_64 rng(29);
    const std::size_t n = std::size_t{1} << 16;
    const auto q = make_basis(n, 40, 24);
    const auto p = make_basis(n, 60, 8, q->values());
    const auto extended = q->concat(*p);
    const Crt q_crt(q->values());
    const Crt q23_crt(q->prefix(23)->values());
    const Crt p_crt(p->values());
    const Crt full(extended->values());

    const Poly x = random_poly(q, Form::coefficient, rng);
    Poly x_evaluation = x;
    x_evaluation.to_evaluation();
    Poly rescaled = cloak::ring::rescale(x_evaluation);
    rescaled.to_coefficient();
    const mpz_class last = big(q->modulus(23).value());
    for (std::size_t j = 0; j < n; j += 61) {
        REQUIRE(q23_crt.compose(rescaled, j) ==
                mod(round_div(q_crt.compose(x, j), last), q23_crt.product()));
    }

    const Poly a = random_poly(extended, Form::coefficient, rng);
    Poly a_evaluation = a;
    a_evaluation.to_evaluation();
    Poly down = lowered(cloak::ring::ModDown(extended, q), a_evaluation);
    down.to_coefficient();
    for (std::size_t j = 0; j < n; j += 61) {
        REQUIRE(q_crt.compose(down, j) ==
                mod(round_div(full.compose(a, j), p_crt.product()), q_crt.product()));
    }
}

TEST_CASE("ring/base_conversion/N=1024/from=1 one source prime, both backends, exact",
          "[baseconv]") {
    std::mt19937_64 rng(23);
    const std::size_t n = 1024;
    // 60-bit source into 40- and 61-bit targets: q above and below p.
    const auto source = make_basis(n, 60, 1);
    const auto small = cloak::core::generate_ntt_primes(40, 2, 2 * n, source->values());
    const auto large = cloak::core::generate_ntt_primes(61, 1, 2 * n, source->values());
    const std::vector<std::uint64_t> target_primes = {small[0], large[0], small[1]};
    const auto targets = RnsBasis::create(n, target_primes);
    const std::uint64_t q = source->modulus(0).value();
    Poly x = random_poly(source, Form::coefficient, rng);
    const std::uint64_t edges[] = {0, 1, q / 2 - 1, q / 2, q / 2 + 1, q - 1};
    for (std::size_t j = 0; j < std::size(edges); ++j)
        x.limb(0)[j] = edges[j];
    const cloak::ring::BaseConverter converter(source, targets);
    for (const auto backend : {cloak::ring::Backend::scalar, cloak::ring::Backend::automatic}) {
        const Poly plain = converter.convert(x, backend);
        const Poly lifted = converter.convert_centered(x, backend);
        for (std::size_t t = 0; t < targets->size(); ++t) {
            const mpz_class p = big(targets->modulus(t).value());
            for (std::size_t j = 0; j < n; ++j) {
                INFO("coefficient " << j << " = " << x.limb(0)[j] << ", target " << t);
                const mpz_class value = big(x.limb(0)[j]);
                REQUIRE(big(plain.limb(t)[j]) == mod(value, p));
                REQUIRE(big(lifted.limb(t)[j]) == mod(centered(value, big(q)), p));
            }
        }
    }
}
