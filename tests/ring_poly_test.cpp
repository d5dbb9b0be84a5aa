// Tests of the RNS layer: basis, Poly, arithmetic, automorphisms, base
// conversion, rescale and ModDown; GMP is the oracle for exact arithmetic.
#include <gmpxx.h>
#include <omp.h>
#include <catch2/catch.hpp>

#include <cloak/core/primes.hpp>
#include <cloak/ring/arith.hpp>
#include <cloak/ring/automorphism.hpp>
#include <cloak/ring/base_conversion.hpp>
#include <cloak/ring/basis.hpp>
#include <cloak/ring/poly.hpp>

#include <numeric>
#include <random>
#include <string>
#include <vector>

namespace {

using cloak::ring::Form;
using cloak::ring::Poly;
using cloak::ring::RnsBasis;

mpz_class big(std::uint64_t x) {
    return mpz_class(std::to_string(x));
}

std::uint64_t small(const mpz_class& x) {
    return std::stoull(x.get_str());
}

mpz_class product_of(std::span<const std::uint64_t> moduli) {
    mpz_class p = 1;
    for (std::uint64_t q : moduli) {
        p *= big(q);
    }
    return p;
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

// The integer in [0, Q) with the given residues at coefficient j.
mpz_class compose(const Poly& p, std::size_t j) {
    const mpz_class q = product_of(p.basis().values());
    mpz_class x = 0;
    for (std::size_t i = 0; i < p.limbs(); ++i) {
        const mpz_class qi = big(p.basis().modulus(i).value());
        const mpz_class punctured = q / qi;
        mpz_class inverse;
        mpz_class punctured_mod = punctured % qi;
        mpz_invert(inverse.get_mpz_t(), punctured_mod.get_mpz_t(), qi.get_mpz_t());
        x += big(p.limb(i)[j]) * inverse % qi * punctured;
    }
    return x % q;
}

std::shared_ptr<const RnsBasis> make_basis(std::size_t n, int bits, std::size_t count,
                                           std::span<const std::uint64_t> exclude = {}) {
    return RnsBasis::create(n, cloak::core::generate_ntt_primes(bits, count, 2 * n, exclude));
}

}  // namespace

TEST_CASE("ring/basis/validation names the value and the limit", "[poly]") {
    using cloak::InvalidArgumentError;
    const auto primes = cloak::core::generate_ntt_primes(40, 3, 2048);
    REQUIRE(RnsBasis::create(1024, primes)->size() == 3);
    REQUIRE_THROWS_WITH(RnsBasis::create(1000, primes), Catch::Contains("N = 1000"));
    REQUIRE_THROWS_WITH(RnsBasis::create(1 << 18, primes), Catch::Contains("[2^10, 2^17]"));
    const std::vector<std::uint64_t> duplicate{primes[0], primes[1], primes[0]};
    REQUIRE_THROWS_WITH(RnsBasis::create(1024, duplicate),
                        Catch::Contains(std::to_string(primes[0])) && Catch::Contains("distinct"));
    const std::vector<std::uint64_t> not_prime{primes[0], primes[1] + 2048};
    REQUIRE_THROWS_WITH(RnsBasis::create(1024, not_prime), Catch::Contains("not prime"));
    const std::vector<std::uint64_t> wrong_form{primes[0],
                                                1000003};  // prime, 20 bits, != 1 mod 2048
    REQUIRE_THROWS_WITH(RnsBasis::create(1024, wrong_form), Catch::Contains("1 mod 2N = 2048"));
    const std::vector<std::uint64_t> tiny{primes[0], 12289};  // 14 bits
    REQUIRE_THROWS_WITH(RnsBasis::create(1024, tiny),
                        Catch::Contains("12289") && Catch::Contains("20 to 61 bits"));
    REQUIRE_THROWS_AS(RnsBasis::create(1024, std::vector<std::uint64_t>{}), InvalidArgumentError);
    const auto basis = RnsBasis::create(1024, primes);
    REQUIRE(*basis->prefix(2) == *RnsBasis::create(1024, std::span(primes).first(2)));
    REQUIRE(&basis->prefix(2)->ntt(0) == &basis->ntt(0));  // tables are shared
    REQUIRE_THROWS_AS(basis->subbasis(2, 2), InvalidArgumentError);
    REQUIRE_THROWS_WITH(basis->concat(*basis), Catch::Contains("in both bases"));
}

TEST_CASE("ring/arith/N=1024/L=3 kernels match the definition mod Q", "[poly]") {
    std::mt19937_64 rng(1);
    const auto basis = make_basis(1024, 50, 3);
    Poly a = random_poly(basis, Form::coefficient, rng);
    Poly b = random_poly(basis, Form::coefficient, rng);
    const mpz_class q = product_of(basis->values());

    Poly sum = a;
    cloak::ring::add_inplace(sum, b);
    Poly difference = a;
    cloak::ring::sub_inplace(difference, b);
    Poly negated = a;
    cloak::ring::negate_inplace(negated);
    Poly times_integer = a;
    cloak::ring::multiply_integer_inplace(times_integer, -12345);
    for (std::size_t j = 0; j < 1024; j += 37) {
        const mpz_class x = compose(a, j);
        const mpz_class y = compose(b, j);
        REQUIRE(compose(sum, j) == (x + y) % q);
        REQUIRE(compose(difference, j) == ((x - y) % q + q) % q);
        REQUIRE(compose(negated, j) == (q - x) % q);
        REQUIRE(compose(times_integer, j) == ((x * -12345) % q + q) % q);
    }

    // Negacyclic product through the NTT against the schoolbook definition, mod q_0.
    Poly product = a;
    Poly fb = b;
    product.to_evaluation();
    fb.to_evaluation();
    Poly accumulated(basis, Form::evaluation);
    cloak::ring::multiply_accumulate(accumulated, product, fb);
    cloak::ring::multiply_accumulate(accumulated, product, fb);
    cloak::ring::multiply_inplace(product, fb);
    Poly doubled = product;
    cloak::ring::add_inplace(doubled, product);
    REQUIRE(accumulated == doubled);
    product.to_coefficient();
    const std::uint64_t q0 = basis->modulus(0).value();
    for (std::size_t k = 0; k < 1024; k += 101) {
        mpz_class c = 0;
        for (std::size_t i = 0; i < 1024; ++i) {
            const std::size_t j = (k + 1024 - i) % 1024;
            const mpz_class term = big(a.limb(0)[i]) * big(b.limb(0)[j]);
            c += i <= k ? term : -term;
        }
        c = (c % big(q0) + big(q0)) % big(q0);
        REQUIRE(product.limb(0)[k] == small(c));
    }
}

TEST_CASE("ring/arith/shape errors name both shapes and the fix", "[poly]") {
    std::mt19937_64 rng(2);
    const auto basis = make_basis(1024, 40, 3);
    Poly a = random_poly(basis, Form::coefficient, rng);
    Poly shorter = random_poly(basis->prefix(2), Form::coefficient, rng);
    Poly evaluation = random_poly(basis, Form::evaluation, rng);
    REQUIRE_THROWS_AS(cloak::ring::add_inplace(a, shorter), cloak::ShapeError);
    REQUIRE_THROWS_WITH(cloak::ring::add_inplace(a, shorter),
                        Catch::Contains("3 primes") && Catch::Contains("2 primes"));
    REQUIRE_THROWS_WITH(cloak::ring::sub_inplace(a, evaluation),
                        Catch::Contains("coefficient vs evaluation"));
    Poly b = a;
    REQUIRE_THROWS_WITH(cloak::ring::multiply_inplace(a, b), Catch::Contains("needs evaluation"));
    REQUIRE_THROWS_WITH(cloak::ring::multiply_scalar_inplace(a, std::vector<std::uint64_t>{1, 2}),
                        Catch::Contains("2 scalars") && Catch::Contains("3 limbs"));
    REQUIRE_THROWS_WITH(Poly::from_signed(basis, std::vector<std::int64_t>(5)),
                        Catch::Contains("5 values"));
    REQUIRE_THROWS_AS(a.truncate(make_basis(1024, 30, 2)), cloak::ShapeError);
}

TEST_CASE("ring/automorphism/N=2048 both forms equal the definition", "[poly]") {
    std::mt19937_64 rng(3);
    const std::size_t n = 2048;
    const auto basis = make_basis(n, 55, 2);
    const Poly a = random_poly(basis, Form::coefficient, rng);
    for (std::uint64_t k : {std::uint64_t{5}, std::uint64_t{25}, std::uint64_t{2 * n - 1},
                            std::uint64_t{3}, std::uint64_t{2 * n + 5}}) {
        const cloak::ring::Automorphism sigma(n, k);
        Poly image;
        sigma.apply(a, image);
        // Definition: coefficient i moves to i k mod 2N, negated past N.
        for (std::size_t limb = 0; limb < 2; ++limb) {
            const std::uint64_t q = basis->modulus(limb).value();
            for (std::size_t i = 0; i < n; ++i) {
                const std::uint64_t target = i * k % (2 * n);
                const std::uint64_t v = a.limb(limb)[i];
                if (target < n) {
                    REQUIRE(image.limb(limb)[target] == v);
                } else {
                    REQUIRE(image.limb(limb)[target - n] == (q - v) % q);
                }
            }
        }
        // Evaluation form: permuting the NTT equals the NTT of the image.
        Poly a_evaluation = a;
        a_evaluation.to_evaluation();
        Poly permuted;
        sigma.apply(a_evaluation, permuted);
        Poly image_evaluation = image;
        image_evaluation.to_evaluation();
        REQUIRE(permuted == image_evaluation);
    }
    REQUIRE_THROWS_WITH(cloak::ring::Automorphism(n, 4), Catch::Contains("exponent 4 is even"));
}

TEST_CASE("ring/base_conversion/N=1024 from 5 to 3 primes is x + e Q with 0 <= e < 5",
          "[baseconv]") {
    std::mt19937_64 rng(4);
    const std::size_t n = 1024;
    const auto from = make_basis(n, 50, 5);
    const auto to = make_basis(n, 45, 3, from->values());
    const Poly x = random_poly(from, Form::coefficient, rng);
    const cloak::ring::BaseConverter converter(from, to);
    std::vector<std::uint64_t> out(3 * n);
    converter.convert(x.data(), out);
    const mpz_class q = product_of(from->values());
    for (std::size_t j = 0; j < n; ++j) {
        const mpz_class value = compose(x, j);
        bool matched = false;
        // The same e must explain every target prime.
        for (int e = 0; e < 5 && !matched; ++e) {
            bool all = true;
            for (std::size_t t = 0; t < 3; ++t) {
                const mpz_class pj = big(to->modulus(t).value());
                all = all && out[t * n + j] == small((value + e * q) % pj);
            }
            matched = all;
        }
        REQUIRE(matched);
    }
    REQUIRE_THROWS_AS(converter.convert(x.data(), std::span(out).first(n)), cloak::ShapeError);
}

TEST_CASE("ring/rescale/N=1024/L=4 equals round(x / q_l) in both forms", "[baseconv]") {
    std::mt19937_64 rng(5);
    const std::size_t n = 1024;
    const auto from = make_basis(n, 45, 4);
    const auto to = from->prefix(3);
    const cloak::ring::Rescaler rescaler(from, to);
    const Poly x = random_poly(from, Form::coefficient, rng);
    Poly coefficient = x;
    rescaler.apply(coefficient);
    Poly evaluation = x;
    evaluation.to_evaluation();
    rescaler.apply(evaluation);
    evaluation.to_coefficient();
    REQUIRE(evaluation == coefficient);
    const mpz_class last = big(from->modulus(3).value());
    const mpz_class q_rest = product_of(to->values());
    for (std::size_t j = 0; j < n; ++j) {
        const mpz_class value = compose(x, j);
        const mpz_class rounded = (value + last / 2) / last;  // floor((x + q_l/2) / q_l)
        REQUIRE(compose(coefficient, j) == rounded % q_rest);
    }
    REQUIRE_THROWS_AS(cloak::ring::Rescaler(from, from->prefix(2)), cloak::InvalidArgumentError);
    Poly wrong = random_poly(to, Form::coefficient, rng);
    REQUIRE_THROWS_WITH(rescaler.apply(wrong), Catch::Contains("Poly of 3 primes"));
}

TEST_CASE("ring/mod_up_mod_down/N=2048 raise a digit, multiply by P, divide by P", "[baseconv]") {
    std::mt19937_64 rng(6);
    const std::size_t n = 2048;
    const auto q = make_basis(n, 50, 4);
    const auto p = make_basis(n, 55, 2, q->values());
    const auto extended = q->concat(*p);
    const mpz_class big_p = product_of(p->values());
    const mpz_class big_q = product_of(q->values());

    // ModDown of (P * a + r) with |r| < P/2 returns a exactly up to the documented +-2.
    Poly a = random_poly(q, Form::coefficient, rng);
    Poly scaled(extended, Form::coefficient);
    std::vector<std::int64_t> small_noise(n);
    for (std::int64_t& v : small_noise) {
        v = static_cast<std::int64_t>(rng() % 2000001) - 1000000;
    }
    const Poly noise = Poly::from_signed(extended, small_noise);
    for (std::size_t i = 0; i < extended->size(); ++i) {
        const cloak::core::Modulus& m = extended->modulus(i);
        std::uint64_t p_mod = 1;
        for (std::uint64_t pj : p->values()) {
            p_mod = cloak::core::mul_mod(p_mod, m.reduce(pj), m);
        }
        for (std::size_t j = 0; j < n; ++j) {
            const std::uint64_t ai = i < 4 ? a.limb(i)[j] : 0;  // P * a = 0 mod p_j anyway
            scaled.limb(i)[j] = cloak::core::add_mod(cloak::core::mul_mod(ai, p_mod, m),
                                                     noise.limb(i)[j], m.value());
        }
    }
    scaled.to_evaluation();
    const cloak::ring::ModDown mod_down(extended, q, p);
    mod_down.apply(scaled);
    scaled.to_coefficient();
    for (std::size_t j = 0; j < n; ++j) {
        mpz_class difference = (compose(scaled, j) - compose(a, j)) % big_q;
        if (difference > big_q / 2) {
            difference -= big_q;
        }
        if (difference < -big_q / 2) {
            difference += big_q;
        }
        REQUIRE(abs(difference) <= 2);
    }

    // ModUp of digit {q1, q2}: its limbs are kept, the others are x + e * (q1 q2).
    Poly x = random_poly(q, Form::coefficient, rng);
    Poly x_evaluation = x;
    x_evaluation.to_evaluation();
    const std::vector<std::size_t> complement{0, 3, 4, 5};
    const cloak::ring::BaseConverter converter(q->subbasis(1, 2), extended->select(complement));
    Poly raised(extended, Form::evaluation);
    cloak::ring::mod_up(x_evaluation, x, 1, converter, complement, raised);
    raised.to_coefficient();
    const mpz_class digit_modulus = big(q->modulus(1).value()) * big(q->modulus(2).value());
    for (std::size_t j = 0; j < n; j += 7) {
        const mpz_class residue = compose(x, j) % digit_modulus;  // the digit's value
        REQUIRE(raised.limb(1)[j] == x.limb(1)[j]);
        REQUIRE(raised.limb(2)[j] == x.limb(2)[j]);
        bool matched = false;
        for (int e = 0; e < 2 && !matched; ++e) {
            bool all = true;
            for (std::size_t t : complement) {
                const mpz_class m = big(extended->modulus(t).value());
                all = all && raised.limb(t)[j] == small((residue + e * digit_modulus) % m);
            }
            matched = all;
        }
        REQUIRE(matched);
    }
}

TEST_CASE("ring/threads/N=8192/L=8 results are identical for 1 and 2 threads", "[poly]") {
    std::mt19937_64 rng(7);
    const std::size_t n = 8192;
    const auto q = make_basis(n, 50, 8);
    const auto p = make_basis(n, 55, 2, q->values());
    const auto extended = q->concat(*p);
    const Poly x = random_poly(extended, Form::coefficient, rng);
    const Poly y = random_poly(extended, Form::coefficient, rng);
    const auto run = [&](int threads) {
        omp_set_num_threads(threads);
        Poly a = x;
        Poly b = y;
        a.to_evaluation();
        b.to_evaluation();
        cloak::ring::multiply_accumulate(a, a, b);
        cloak::ring::ModDown(extended, q, p).apply(a);
        cloak::ring::Rescaler(q, q->prefix(7)).apply(a);
        a.to_coefficient();
        return a;
    };
    const Poly one = run(1);
    const Poly two = run(2);
    omp_set_num_threads(omp_get_num_procs());
    REQUIRE(one == two);
}
