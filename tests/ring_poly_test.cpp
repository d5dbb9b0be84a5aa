// Tests of the RNS layer's basis, Poly, arithmetic kernels and automorphisms.
// Exact arithmetic is checked word by word against a plain 128-bit or GMP
// reference; thread-count independence is checked bit for bit.
#include <gmpxx.h>
#include <omp.h>
#include <catch2/catch.hpp>

#include <cloak/core/primes.hpp>
#include <cloak/ring/arith.hpp>
#include <cloak/ring/automorphism.hpp>
#include <cloak/ring/basis.hpp>
#include <cloak/ring/poly.hpp>

#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace {

using cloak::ring::Form;
using cloak::ring::Poly;
using cloak::ring::RnsBasis;
using u128 = cloak::core::uint128_t;

std::shared_ptr<const RnsBasis> make_basis(std::size_t n, int bits, std::size_t count,
                                           std::span<const std::uint64_t> exclude = {}) {
    return RnsBasis::create(n, cloak::core::generate_ntt_primes(bits, count, 2 * n, exclude));
}

Poly random_poly(const std::shared_ptr<const RnsBasis>& basis, Form form, std::mt19937_64& rng) {
    std::vector<std::uint64_t> residues(basis->size() * basis->degree());
    for (std::size_t i = 0; i < basis->size(); ++i) {
        for (std::size_t j = 0; j < basis->degree(); ++j) {
            residues[i * basis->degree() + j] = rng() % basis->modulus(i).value();
        }
    }
    return Poly(basis, form, residues);
}

mpz_class big(std::uint64_t x) {
    return mpz_class(static_cast<unsigned long>(x));
}

// Negacyclic product coefficient k of limb i, by the schoolbook definition.
std::uint64_t schoolbook_coefficient(const Poly& a, const Poly& b, std::size_t i, std::size_t k) {
    const std::size_t n = a.degree();
    const mpz_class q = big(a.modulus(i).value());
    mpz_class c = 0;
    for (std::size_t s = 0; s < n; ++s) {
        const std::size_t t = (k + n - s) % n;
        const mpz_class term = big(a.limb(i)[s]) * big(b.limb(i)[t]);
        c += s <= k ? term : mpz_class(-term);
    }
    c %= q;
    if (c < 0) {
        c += q;
    }
    return c.get_ui();
}

}  // namespace

TEST_CASE("ring/basis/validation/N=1024 errors name the value and the limit", "[poly]") {
    using cloak::InvalidArgumentError;
    const auto primes = cloak::core::generate_ntt_primes(40, 3, 2048);
    REQUIRE(RnsBasis::create(1024, primes)->size() == 3);

    REQUIRE_THROWS_AS(RnsBasis::create(1000, primes), InvalidArgumentError);
    REQUIRE_THROWS_WITH(RnsBasis::create(1000, primes), Catch::Contains("N = 1000"));
    REQUIRE_THROWS_WITH(RnsBasis::create(1 << 18, primes), Catch::Contains("[2^10, 2^17]"));
    REQUIRE_THROWS_AS(RnsBasis::create(1024, std::vector<std::uint64_t>{}), InvalidArgumentError);

    const std::vector<std::uint64_t> duplicate{primes[0], primes[1], primes[0]};
    REQUIRE_THROWS_AS(RnsBasis::create(1024, duplicate), InvalidArgumentError);
    REQUIRE_THROWS_WITH(RnsBasis::create(1024, duplicate),
                        Catch::Contains(std::to_string(primes[0])) &&
                            Catch::Contains("index 0 and 2") && Catch::Contains("distinct"));

    const std::vector<std::uint64_t> composite{primes[0], primes[1] + 2048 * 3};
    REQUIRE(!cloak::core::is_prime(composite[1]));
    REQUIRE_THROWS_AS(RnsBasis::create(1024, composite), InvalidArgumentError);
    REQUIRE_THROWS_WITH(
        RnsBasis::create(1024, composite),
        Catch::Contains(std::to_string(composite[1])) && Catch::Contains("not prime"));

    const std::vector<std::uint64_t> wrong_form{primes[0], 1000003};  // prime, != 1 mod 2048
    REQUIRE_THROWS_AS(RnsBasis::create(1024, wrong_form), InvalidArgumentError);
    REQUIRE_THROWS_WITH(RnsBasis::create(1024, wrong_form),
                        Catch::Contains("1000003") && Catch::Contains("1 mod 2N = 2048"));

    const std::vector<std::uint64_t> tiny{primes[0], 12289};  // 14 bits
    REQUIRE_THROWS_AS(RnsBasis::create(1024, tiny), InvalidArgumentError);
    REQUIRE_THROWS_WITH(RnsBasis::create(1024, tiny),
                        Catch::Contains("12289") && Catch::Contains("20 to 61 bits"));
    const std::vector<std::uint64_t> wide{primes[0], (std::uint64_t{1} << 62) + 1};
    REQUIRE_THROWS_WITH(RnsBasis::create(1024, wide),
                        Catch::Contains("63 bits") && Catch::Contains("20 to 61 bits"));
}

TEST_CASE("ring/basis/sub-bases/N=1024/L=5 share tables, prefixes and CRT constants", "[poly]") {
    const auto basis = make_basis(1024, 45, 5);
    // Prefixes are the same objects however they are reached.
    REQUIRE(basis->prefix(5) == basis);
    REQUIRE(basis->prefix(3) == basis->prefix(3));
    REQUIRE(basis->prefix(4)->prefix(2) == basis->prefix(2));
    REQUIRE(basis->subbasis(0, 2) == basis->prefix(2));
    REQUIRE(&basis->prefix(2)->ntt(1) == &basis->ntt(1));
    REQUIRE_THROWS_WITH(basis->prefix(0), Catch::Contains("0 primes of a basis of 5"));
    REQUIRE_THROWS_WITH(basis->prefix(6), Catch::Contains("6 primes of a basis of 5"));

    const auto middle = basis->subbasis(1, 3);
    REQUIRE(middle->size() == 3);
    REQUIRE(middle->modulus(0) == basis->modulus(1));
    REQUIRE(&middle->ntt(2) == &basis->ntt(3));
    REQUIRE_THROWS_AS(basis->subbasis(4, 2), cloak::InvalidArgumentError);
    REQUIRE_THROWS_WITH(basis->subbasis(2, 0), Catch::Contains("primes [2, 2)"));

    const std::vector<std::size_t> picks{4, 0, 2};
    const auto selected = basis->select(picks);
    REQUIRE(selected->values()[0] == basis->values()[4]);
    REQUIRE(selected->values()[1] == basis->values()[0]);
    REQUIRE(&selected->ntt(2) == &basis->ntt(2));
    REQUIRE_THROWS_WITH(basis->select(std::vector<std::size_t>{1, 1}),
                        Catch::Contains("index 1 is repeated"));
    REQUIRE_THROWS_WITH(basis->select(std::vector<std::size_t>{7}),
                        Catch::Contains("index 7") && Catch::Contains("past the 5 primes"));

    const auto special = make_basis(1024, 50, 2, basis->values());
    const auto extended = basis->concat(*special);
    REQUIRE(extended->size() == 7);
    REQUIRE(extended->prefix(5) == basis);  // Q_l ∪ P keeps Q_l itself as its prefix
    REQUIRE(extended->index_of(special->values()[1]) == std::optional<std::size_t>(6));
    REQUIRE(!basis->index_of(special->values()[0]));
    REQUIRE_THROWS_WITH(
        basis->concat(*basis->prefix(1)),
        Catch::Contains(std::to_string(basis->values()[0])) && Catch::Contains("in both bases"));
    REQUIRE_THROWS_WITH(basis->concat(*make_basis(2048, 45, 1)), Catch::Contains("degrees"));
    REQUIRE(*RnsBasis::create(1024, basis->values()) == *basis);
    REQUIRE(!(*basis == *extended));
    REQUIRE(extended->starts_with(*basis));
    REQUIRE(!basis->starts_with(*extended));

    // CRT constants against GMP.
    for (const auto& b : {basis, extended, selected}) {
        mpz_class product = 1;
        for (std::uint64_t q : b->values()) {
            product *= big(q);
        }
        const mpz_class last = big(b->values().back());
        for (std::size_t i = 0; i < b->size(); ++i) {
            const mpz_class q = big(b->modulus(i).value());
            const mpz_class punctured = product / q;
            REQUIRE(big(b->punctured_product(i)) == punctured % q);
            REQUIRE((big(b->punctured_inverse(i).value) * punctured) % q == 1);
            REQUIRE(b->punctured_inverse(i).quotient ==
                    cloak::core::shoup_precompute(b->punctured_inverse(i).value, q.get_ui()));
            if (i + 1 < b->size()) {
                REQUIRE((big(b->last_inverse(i).value) * last) % q == 1);
            }
        }
    }
    REQUIRE(basis->log2_product() == Approx(5 * 45).margin(0.01));
}

TEST_CASE("ring/poly/construction/N=1024/L=3 residues, signed values, limbs, forms", "[poly]") {
    std::mt19937_64 rng(11);
    const auto basis = make_basis(1024, 50, 3);
    const Poly zero(basis, Form::evaluation);
    REQUIRE(zero.limbs() == 3);
    REQUIRE(zero.degree() == 1024);
    REQUIRE(zero.form() == Form::evaluation);
    REQUIRE(zero.basis_ptr() == basis);
    REQUIRE(&zero.basis() == basis.get());
    REQUIRE(zero.data().size() == 3 * 1024);
    REQUIRE(reinterpret_cast<std::uintptr_t>(zero.data().data()) % 64 == 0);
    for (std::uint64_t v : zero.data()) {
        REQUIRE(v == 0);
    }
    REQUIRE(Poly().empty());
    REQUIRE(Poly().limbs() == 0);
    REQUIRE_THROWS_AS(Poly(nullptr, Form::coefficient), cloak::InvalidArgumentError);

    // Residues: kept exactly; an unreduced word is named.
    std::vector<std::uint64_t> residues(3 * 1024);
    for (std::size_t i = 0; i < 3; ++i) {
        for (std::size_t j = 0; j < 1024; ++j) {
            residues[i * 1024 + j] = rng() % basis->modulus(i).value();
        }
    }
    const Poly p(basis, Form::coefficient, residues);
    REQUIRE(std::equal(residues.begin(), residues.end(), p.data().begin()));
    REQUIRE(p.limb(2).data() == p.data().data() + 2048);
    residues[1024 + 5] = basis->modulus(1).value();
    REQUIRE_THROWS_AS(Poly(basis, Form::coefficient, residues), cloak::InvalidArgumentError);
    REQUIRE_THROWS_WITH(Poly(basis, Form::coefficient, residues),
                        Catch::Contains(std::to_string(basis->modulus(1).value())) &&
                            Catch::Contains("limb 1, index 5"));
    REQUIRE_THROWS_AS(Poly(basis, Form::coefficient, std::span(residues).first(100)),
                      cloak::ShapeError);

    // Signed values of every magnitude, in both forms.
    std::vector<std::int64_t> values(1024);
    for (auto& v : values) {
        v = static_cast<std::int64_t>(rng() % 7) - 3;
    }
    values[0] = std::numeric_limits<std::int64_t>::min();
    values[1] = std::numeric_limits<std::int64_t>::max();
    values[2] = -1;
    values[3] = static_cast<std::int64_t>(basis->modulus(0).value());
    const Poly s = Poly::from_signed(basis, values);
    REQUIRE(s.form() == Form::coefficient);
    for (std::size_t i = 0; i < 3; ++i) {
        const mpz_class q = big(basis->modulus(i).value());
        for (std::size_t j = 0; j < 1024; ++j) {
            mpz_class expected = mpz_class(static_cast<long>(values[j])) % q;
            if (expected < 0) {
                expected += q;
            }
            REQUIRE(s.limb(i)[j] == expected.get_ui());
        }
    }
    Poly s_evaluation = Poly::from_signed(basis, values, Form::evaluation);
    Poly s_copy = s;
    s_copy.to_evaluation();
    REQUIRE(s_evaluation == s_copy);
    s_evaluation.to_coefficient();
    REQUIRE(s_evaluation == s);
    REQUIRE_THROWS_AS(Poly::from_signed(basis, std::vector<std::int64_t>(5)), cloak::ShapeError);
    REQUIRE_THROWS_WITH(Poly::from_signed(basis, std::vector<std::int64_t>(5)),
                        Catch::Contains("5 values") && Catch::Contains("N = 1024"));

    // Value semantics: copies are deep, moves leave the source empty or valid.
    Poly copy = p;
    copy.limb(0)[0] ^= 1;
    REQUIRE(!(copy == p));
    Poly moved = std::move(copy);
    REQUIRE(moved.limbs() == 3);
    Poly assigned;
    assigned = p;
    REQUIRE(assigned == p);
    assigned.set_zero();
    REQUIRE(assigned == Poly(basis, Form::coefficient));

    // Level drops keep the prefix values and share the prefix basis.
    Poly dropped = p;
    dropped.drop_last_limbs(1);
    REQUIRE(dropped.limbs() == 2);
    REQUIRE(dropped.basis_ptr() == basis->prefix(2));
    REQUIRE(std::equal(dropped.data().begin(), dropped.data().end(), p.data().begin()));
    dropped.keep_first_limbs(1);
    REQUIRE(dropped.basis_ptr() == basis->prefix(1));
    REQUIRE_THROWS_WITH(dropped.drop_last_limbs(1), Catch::Contains("cannot drop 1 of 1") &&
                                                        Catch::Contains("one must remain"));
    Poly kept = p;
    REQUIRE_THROWS_WITH(kept.keep_first_limbs(4), Catch::Contains("keep 4 of 3"));
    REQUIRE_THROWS_AS(kept.keep_first_limbs(0), cloak::InvalidArgumentError);

    // NTT round trip through both forms; repeated calls do nothing.
    Poly round_trip = p;
    round_trip.to_coefficient();
    REQUIRE(round_trip == p);
    round_trip.to_evaluation();
    round_trip.to_evaluation();
    REQUIRE(round_trip.form() == Form::evaluation);
    REQUIRE(!(round_trip == p));
    REQUIRE(round_trip.limb(1)[7] == [&] {
        std::vector<std::uint64_t> limb(p.limb(1).begin(), p.limb(1).end());
        basis->ntt(1).forward(limb);
        return limb[7];
    }());
    round_trip.to_coefficient();
    REQUIRE(round_trip == p);

    // reshape reuses the buffer for another basis.
    Poly reshaped = p;
    reshaped.reshape(basis->prefix(2), Form::evaluation);
    REQUIRE(reshaped.limbs() == 2);
    REQUIRE(reshaped.form() == Form::evaluation);
    REQUIRE_THROWS_AS(reshaped.reshape(nullptr, Form::evaluation), cloak::InvalidArgumentError);
}

TEST_CASE("ring/arith/N=1024/L=3 kernels equal the definition word by word", "[poly]") {
    std::mt19937_64 rng(12);
    const std::size_t n = 1024;
    const auto basis = make_basis(n, 61, 1);  // widest primes: the 128-bit paths
    const auto wide = basis->concat(*make_basis(n, 36, 2, basis->values()));
    const Poly a = random_poly(wide, Form::evaluation, rng);
    const Poly b = random_poly(wide, Form::evaluation, rng);
    const Poly c = random_poly(wide, Form::evaluation, rng);

    const Poly sum = cloak::ring::add(a, b);
    const Poly difference = cloak::ring::sub(a, b);
    const Poly negated = cloak::ring::negate(a);
    const Poly product = cloak::ring::multiply(a, b);
    Poly accumulated = c;
    cloak::ring::multiply_accumulate(accumulated, a, b);
    const std::vector<std::uint64_t> scalars{~std::uint64_t{0}, 12345, 0};
    const Poly scaled = cloak::ring::multiply_scalar(a, scalars);
    const Poly times_integer = cloak::ring::multiply_integer(a, -987654321);
    Poly plus_constant = a;
    cloak::ring::add_scalar_inplace(plus_constant, scalars);
    for (std::size_t i = 0; i < 3; ++i) {
        const std::uint64_t q = wide->modulus(i).value();
        for (std::size_t j = 0; j < n; ++j) {
            const u128 x = a.limb(i)[j];
            const u128 y = b.limb(i)[j];
            const u128 z = c.limb(i)[j];
            REQUIRE(sum.limb(i)[j] == (x + y) % q);
            REQUIRE(difference.limb(i)[j] == (x + q - y) % q);
            REQUIRE(negated.limb(i)[j] == (q - x) % q);
            REQUIRE(product.limb(i)[j] == x * y % q);
            REQUIRE(accumulated.limb(i)[j] == (x * y + z) % q);
            REQUIRE(scaled.limb(i)[j] == x * (scalars[i] % q) % q);
            REQUIRE(times_integer.limb(i)[j] == x * (q - 987654321 % q) % q);
            REQUIRE(plus_constant.limb(i)[j] == (x + scalars[i] % q) % q);
        }
    }
    // In-place versions agree with the out-of-place ones, aliasing included.
    Poly in_place = a;
    cloak::ring::add_inplace(in_place, b);
    REQUIRE(in_place == sum);
    in_place = a;
    cloak::ring::sub_inplace(in_place, b);
    REQUIRE(in_place == difference);
    in_place = a;
    cloak::ring::negate_inplace(in_place);
    REQUIRE(in_place == negated);
    in_place = a;
    cloak::ring::multiply_inplace(in_place, b);
    REQUIRE(in_place == product);
    in_place = a;
    cloak::ring::multiply_accumulate(in_place, in_place, in_place);  // a + a * a
    REQUIRE(in_place == cloak::ring::add(a, cloak::ring::multiply(a, a)));
    in_place = a;
    cloak::ring::add_inplace(in_place, in_place);
    REQUIRE(in_place == cloak::ring::multiply_integer(a, 2));

    // Constant polynomial in coefficient form: only the constant term moves.
    Poly coefficients = a;
    coefficients.set_form(Form::coefficient);
    cloak::ring::add_scalar_inplace(coefficients, scalars);
    REQUIRE(coefficients.limb(1)[0] == (a.limb(1)[0] + 12345) % wide->modulus(1).value());
    REQUIRE(coefficients.limb(1)[1] == a.limb(1)[1]);

    // Precomputed Shoup constants.
    std::vector<cloak::core::ShoupConstant> shoup;
    for (std::size_t i = 0; i < 3; ++i) {
        const std::uint64_t q = wide->modulus(i).value();
        shoup.emplace_back(scalars[i] % q, q);
    }
    Poly scaled_shoup = a;
    cloak::ring::multiply_scalar_inplace(scaled_shoup, shoup);
    REQUIRE(scaled_shoup == scaled);
    shoup[1] = cloak::core::ShoupConstant(wide->modulus(1).value(), wide->modulus(1).value());
    REQUIRE_THROWS_WITH(cloak::ring::multiply_scalar_inplace(scaled_shoup, shoup),
                        Catch::Contains(std::to_string(wide->modulus(1).value())) &&
                            Catch::Contains("not below its modulus"));
}

TEST_CASE("ring/arith/N=1024/L=2 negacyclic product and inner products", "[poly]") {
    std::mt19937_64 rng(13);
    const std::size_t n = 1024;
    const auto basis = make_basis(n, 55, 2);
    const Poly a = random_poly(basis, Form::coefficient, rng);
    const Poly b = random_poly(basis, Form::coefficient, rng);
    Poly fa = a;
    Poly fb = b;
    fa.to_evaluation();
    fb.to_evaluation();
    Poly ab = cloak::ring::multiply(fa, fb);
    ab.to_coefficient();
    for (std::size_t i = 0; i < 2; ++i) {
        for (std::size_t k : {std::size_t{0}, std::size_t{1}, std::size_t{511}, n - 1}) {
            REQUIRE(ab.limb(i)[k] == schoolbook_coefficient(a, b, i, k));
        }
    }

    // inner_product equals repeated multiply_accumulate, for short and long sums
    // (70 terms pass the 63-product reduction point).
    for (std::size_t terms : {std::size_t{1}, std::size_t{3}, std::size_t{70}}) {
        std::vector<Poly> xs;
        std::vector<Poly> ys;
        for (std::size_t t = 0; t < terms; ++t) {
            xs.push_back(random_poly(basis, Form::evaluation, rng));
            ys.push_back(random_poly(basis, Form::evaluation, rng));
        }
        std::vector<const Poly*> x_pointers;
        std::vector<const Poly*> y_pointers;
        Poly expected(basis, Form::evaluation);
        for (std::size_t t = 0; t < terms; ++t) {
            x_pointers.push_back(&xs[t]);
            y_pointers.push_back(&ys[t]);
            cloak::ring::multiply_accumulate(expected, xs[t], ys[t]);
        }
        Poly out;
        cloak::ring::inner_product(x_pointers, y_pointers, out);
        REQUIRE(out == expected);
        // The span version on limb 1 gives the same words.
        std::vector<const std::uint64_t*> x_limbs;
        std::vector<const std::uint64_t*> y_limbs;
        for (std::size_t t = 0; t < terms; ++t) {
            x_limbs.push_back(xs[t].limb(1).data());
            y_limbs.push_back(ys[t].limb(1).data());
        }
        std::vector<std::uint64_t> limb(n);
        cloak::ring::inner_product(x_limbs, y_limbs, limb, basis->modulus(1));
        REQUIRE(std::equal(limb.begin(), limb.end(), expected.limb(1).begin()));
        if (terms == 3) {
            REQUIRE_THROWS_WITH(
                cloak::ring::inner_product(x_pointers, std::span(y_pointers).first(2), out),
                Catch::Contains("3 and 2 operands"));
            x_pointers[1] = &out;
            REQUIRE_THROWS_WITH(cloak::ring::inner_product(x_pointers, y_pointers, out),
                                Catch::Contains("output is also operand 1"));
            x_pointers[1] = &a;  // coefficient form
            REQUIRE_THROWS_AS(cloak::ring::inner_product(x_pointers, y_pointers, out),
                              cloak::ShapeError);
        }
    }
}

TEST_CASE("ring/arith/errors/N=1024 shape errors name both shapes and the fix", "[poly]") {
    std::mt19937_64 rng(14);
    const auto basis = make_basis(1024, 40, 3);
    Poly a = random_poly(basis, Form::coefficient, rng);
    const Poly shorter = random_poly(basis->prefix(2), Form::coefficient, rng);
    const Poly evaluation = random_poly(basis, Form::evaluation, rng);
    const Poly other_primes = random_poly(make_basis(1024, 30, 3), Form::coefficient, rng);

    REQUIRE_THROWS_AS(cloak::ring::add_inplace(a, shorter), cloak::ShapeError);
    REQUIRE_THROWS_WITH(cloak::ring::add_inplace(a, shorter),
                        Catch::Contains("ring::add_inplace") && Catch::Contains("3 primes") &&
                            Catch::Contains("2 primes") && Catch::Contains("same level"));
    REQUIRE_THROWS_WITH(cloak::ring::sub(a, other_primes),
                        Catch::Contains("different RNS bases") && Catch::Contains("primes differ"));
    REQUIRE_THROWS_WITH(cloak::ring::sub_inplace(a, evaluation),
                        Catch::Contains("different forms") && Catch::Contains("coefficient form") &&
                            Catch::Contains("evaluation form"));
    const Poly b = a;
    REQUIRE_THROWS_WITH(
        cloak::ring::multiply_inplace(a, b),
        Catch::Contains("needs evaluation form") && Catch::Contains("to_evaluation()"));
    REQUIRE_THROWS_AS(cloak::ring::multiply_accumulate(a, b, b), cloak::ShapeError);
    REQUIRE_THROWS_WITH(cloak::ring::multiply_scalar_inplace(a, std::vector<std::uint64_t>{1, 2}),
                        Catch::Contains("2 scalars") && Catch::Contains("3 limbs"));
    Poly empty;
    REQUIRE_THROWS_WITH(cloak::ring::negate_inplace(empty), Catch::Contains("empty Poly"));
    REQUIRE_THROWS_WITH(cloak::ring::add(empty, a), Catch::Contains("empty Poly"));

    // Span kernels check sizes.
    std::vector<std::uint64_t> x(1024);
    std::vector<std::uint64_t> y(1000);
    REQUIRE_THROWS_WITH(cloak::ring::add(x, y, x, basis->modulus(0).value()),
                        Catch::Contains("1024, 1000 and 1024 words"));
    REQUIRE_THROWS_AS(cloak::ring::multiply(x, x, y, basis->modulus(0)), cloak::ShapeError);
    REQUIRE_THROWS_AS(
        cloak::ring::multiply_scalar(x, cloak::core::ShoupConstant(basis->modulus(0).value(), 3), x,
                                     basis->modulus(0).value()),
        cloak::InvalidArgumentError);
}

TEST_CASE("ring/automorphism/N=2048/L=2 both forms equal the definition", "[poly]") {
    std::mt19937_64 rng(15);
    const std::size_t n = 2048;
    const auto basis = make_basis(n, 55, 2);
    const Poly a = random_poly(basis, Form::coefficient, rng);
    Poly a_evaluation = a;
    a_evaluation.to_evaluation();
    for (std::uint64_t k : {std::uint64_t{1}, std::uint64_t{5}, std::uint64_t{25}, std::uint64_t{3},
                            std::uint64_t{2 * n - 1}, std::uint64_t{2 * n + 5}}) {
        INFO("k = " << k);
        const cloak::ring::Automorphism sigma(n, k);
        REQUIRE(sigma.exponent() == k % (2 * n));
        const Poly image = sigma.apply(a);
        REQUIRE(image.form() == Form::coefficient);
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
        // Evaluation form: the permuted NTT equals the NTT of the image.
        Poly permuted;
        sigma.apply(a_evaluation, permuted);
        Poly image_evaluation = image;
        image_evaluation.to_evaluation();
        REQUIRE(permuted == image_evaluation);
        // And sigma_k is a homomorphism: sigma(a * a) = sigma(a) * sigma(a).
        REQUIRE(sigma.apply(cloak::ring::multiply(a_evaluation, a_evaluation)) ==
                cloak::ring::multiply(permuted, permuted));
    }
    // Composition: sigma_5 after sigma_5 is sigma_25.
    const cloak::ring::Automorphism five(n, 5);
    REQUIRE(five.apply(five.apply(a_evaluation)) ==
            cloak::ring::Automorphism(n, 25).apply(a_evaluation));

    REQUIRE_THROWS_AS(cloak::ring::Automorphism(n, 4), cloak::InvalidArgumentError);
    REQUIRE_THROWS_WITH(cloak::ring::Automorphism(n, 4),
                        Catch::Contains("k = 4 is even") && Catch::Contains("2N = 4096"));
    REQUIRE_THROWS_WITH(cloak::ring::Automorphism(n, 0), Catch::Contains("k = 0 is even"));
    REQUIRE_THROWS_AS(cloak::ring::Automorphism(1000, 5), cloak::InvalidArgumentError);
    Poly same = a;
    REQUIRE_THROWS_WITH(five.apply(same, same), Catch::Contains("same Poly"));
    REQUIRE_THROWS_WITH(five.apply(random_poly(make_basis(1024, 40, 1), Form::coefficient, rng)),
                        Catch::Contains("N = 1024") && Catch::Contains("degree N = 2048"));
    // Span versions: the same words, and checked sizes and overlap.
    std::vector<std::uint64_t> words(2 * n);
    five.apply_coefficient(a.limb(1), std::span(words).first(n), basis->modulus(1).value());
    REQUIRE(std::equal(words.begin(), words.begin() + static_cast<std::ptrdiff_t>(n),
                       five.apply(a).limb(1).begin()));
    five.apply_evaluation(a_evaluation.limb(0), std::span(words).subspan(n));
    REQUIRE(std::equal(words.begin() + static_cast<std::ptrdiff_t>(n), words.end(),
                       five.apply(a_evaluation).limb(0).begin()));
    REQUIRE_THROWS_WITH(five.apply_evaluation(std::span<const std::uint64_t>(words).first(n),
                                              std::span(words).subspan(5, n)),
                        Catch::Contains("overlap"));
    REQUIRE_THROWS_WITH(five.apply_coefficient(std::span<const std::uint64_t>(words).first(n),
                                               std::span(words).first(7), 97),
                        Catch::Contains("2048 and 7 words"));
}

TEST_CASE("ring/threads/N=8192/L=8 kernels give identical results for 1 and 2 threads", "[poly]") {
    std::mt19937_64 rng(16);
    const std::size_t n = 8192;
    const auto basis = make_basis(n, 50, 8);
    const Poly x = random_poly(basis, Form::coefficient, rng);
    const Poly y = random_poly(basis, Form::coefficient, rng);
    const cloak::ring::Automorphism sigma(n, 5);
    const std::vector<std::int64_t> small(n, -3);
    const auto run = [&](int threads) {
        omp_set_num_threads(threads);
        Poly a = x;
        Poly b = y;
        a.to_evaluation();
        b.to_evaluation();
        cloak::ring::multiply_accumulate(a, a, b);
        cloak::ring::add_inplace(a, sigma.apply(b));
        cloak::ring::multiply_integer_inplace(a, -7);
        const std::vector<const Poly*> left{&a, &b};
        const std::vector<const Poly*> right{&b, &a};
        Poly c;
        cloak::ring::inner_product(left, right, c);
        c.to_coefficient();
        cloak::ring::sub_inplace(c, Poly::from_signed(basis, small));
        return c;
    };
    const Poly one = run(1);
    const Poly two = run(2);
    omp_set_num_threads(omp_get_num_procs());
    REQUIRE(one == two);
}

TEST_CASE("ring/inner_product/N=2048 read through an automorphism equals the permuted inputs",
          "[poly]") {
    std::mt19937_64 rng(41);
    const auto basis = make_basis(2048, 50, 1);
    const cloak::ring::Automorphism sigma(2048, 25);
    std::vector<Poly> a;
    std::vector<Poly> b;
    std::vector<Poly> permuted;
    for (int k = 0; k < 3; ++k) {
        a.push_back(random_poly(basis, Form::evaluation, rng));
        b.push_back(random_poly(basis, Form::evaluation, rng));
        permuted.push_back(sigma.apply(a.back()));
    }
    std::vector<const std::uint64_t*> a_limbs;
    std::vector<const std::uint64_t*> b_limbs;
    std::vector<const std::uint64_t*> permuted_limbs;
    for (int k = 0; k < 3; ++k) {
        a_limbs.push_back(a[k].limb(0).data());
        b_limbs.push_back(b[k].limb(0).data());
        permuted_limbs.push_back(permuted[k].limb(0).data());
    }
    std::vector<std::uint64_t> fused(2048);
    std::vector<std::uint64_t> expected(2048);
    cloak::ring::inner_product(a_limbs, b_limbs, fused, basis->modulus(0),
                               sigma.evaluation_source());
    cloak::ring::inner_product(permuted_limbs, b_limbs, expected, basis->modulus(0));
    REQUIRE(fused == expected);
    REQUIRE_THROWS_WITH(cloak::ring::inner_product(a_limbs, b_limbs, fused, basis->modulus(0),
                                                   sigma.evaluation_source().first(10)),
                        Catch::Contains("10 source indices"));
}

TEST_CASE("ring/arith/N=1024 scalar multiply-accumulate from a longer basis", "[poly]") {
    std::mt19937_64 rng(91);
    const auto full = make_basis(1024, 50, 4);
    const auto prefix = full->prefix(2);
    const Poly a = random_poly(full, Form::evaluation, rng);
    Poly acc = random_poly(prefix, Form::evaluation, rng);
    const Poly before = acc;
    const std::vector<std::uint64_t> scalars = {rng(), std::numeric_limits<std::uint64_t>::max()};
    cloak::ring::multiply_scalar_accumulate(acc, a, scalars);
    for (std::size_t i = 0; i < 2; ++i) {
        const mpz_class q = big(full->modulus(i).value());
        for (std::size_t j = 0; j < 1024; ++j) {
            const mpz_class expected =
                (big(before.limb(i)[j]) + big(a.limb(i)[j]) * big(scalars[i])) % q;
            REQUIRE(acc.limb(i)[j] == expected.get_ui());
        }
    }
    // The source must extend the accumulator: a shorter or unrelated one is refused.
    Poly longer = random_poly(full, Form::evaluation, rng);
    const Poly shorter = random_poly(prefix, Form::evaluation, rng);
    const std::vector<std::uint64_t> four(4, 3);
    REQUIRE_THROWS_WITH(cloak::ring::multiply_scalar_accumulate(longer, shorter, four),
                        Catch::Contains("does not extend accumulator"));
    const Poly coefficient = random_poly(full, Form::coefficient, rng);
    REQUIRE_THROWS_AS(cloak::ring::multiply_scalar_accumulate(acc, coefficient, scalars),
                      cloak::ShapeError);
}

TEST_CASE(
    "ring/arith/N=1024 paired inner products equal two single ones, with and without a source",
    "[poly]") {
    std::mt19937_64 rng(92);
    const auto basis = make_basis(1024, 60, 1);
    const std::size_t terms = 70;  // past the lazy-reduction bound of 63 terms
    std::vector<Poly> a, b0, b1;
    for (std::size_t k = 0; k < terms; ++k) {
        a.push_back(random_poly(basis, Form::evaluation, rng));
        b0.push_back(random_poly(basis, Form::evaluation, rng));
        b1.push_back(random_poly(basis, Form::evaluation, rng));
    }
    std::vector<const std::uint64_t*> pa, p0, p1;
    for (std::size_t k = 0; k < terms; ++k) {
        pa.push_back(a[k].limb(0).data());
        p0.push_back(b0[k].limb(0).data());
        p1.push_back(b1[k].limb(0).data());
    }
    const cloak::ring::Automorphism sigma(1024, 5);
    const cloak::core::Modulus& q = basis->modulus(0);
    for (const bool permuted : {false, true}) {
        const std::span<const std::uint32_t> source =
            permuted ? sigma.evaluation_source() : std::span<const std::uint32_t>();
        std::vector<std::uint64_t> out0(1024), out1(1024);
        cloak::ring::inner_product_pair(pa, p0, p1, out0, out1, q, source);
        for (std::size_t j = 0; j < 1024; ++j) {
            const std::size_t from = permuted ? source[j] : j;
            mpz_class s0 = 0, s1 = 0;
            for (std::size_t k = 0; k < terms; ++k) {
                s0 += big(a[k].limb(0)[from]) * big(b0[k].limb(0)[j]);
                s1 += big(a[k].limb(0)[from]) * big(b1[k].limb(0)[j]);
            }
            REQUIRE(out0[j] == mpz_class(s0 % big(q.value())).get_ui());
            REQUIRE(out1[j] == mpz_class(s1 % big(q.value())).get_ui());
        }
    }
    std::vector<std::uint64_t> small(512), out(1024);
    REQUIRE_THROWS_AS(cloak::ring::inner_product_pair(pa, p0, p1, small, out, q),
                      cloak::ShapeError);
}

TEST_CASE("ring/poly/buffer cache reuses large buffers of one size within its limit", "[poly]") {
    using cloak::ring::detail::BufferCache;
    if (cloak::ring::detail::buffer_cache_limit() == 0) {
        SUCCEED("buffer cache disabled in this build (sanitizers) or by CLOAK_BUFFER_CACHE_MB=0");
        return;
    }
    const auto basis = make_basis(1 << 14, 50, 3);  // 384 KiB: above the 64 KiB threshold
    const std::uint64_t* first = nullptr;
    {
        Poly p(basis, Form::evaluation);
        first = p.data().data();
    }
    Poly again(basis, Form::evaluation);
    REQUIRE(again.data().data() == first);  // the freed buffer came back
    for (std::uint64_t word : again.data())
        REQUIRE(word == 0);  // and was zeroed
    // A block larger than the whole limit is never kept.
    BufferCache* cache = BufferCache::current();
    REQUIRE(cache != nullptr);
    const std::size_t too_big = cloak::ring::detail::buffer_cache_limit() + 64;
    REQUIRE_FALSE(cache->give(nullptr, too_big));
    REQUIRE(cache->take(12345) == nullptr);
}
