// Benchmarks of the RNS kernels at N = 2^16 with the shapes of hybrid key
// switching at a high level: Q has 24 primes of 40 bits (below 2^50, so the
// IFMA NTT runs where the CPU has it), P has 8 primes of 60 bits, dnum = 3
// digits of 8 primes each.
//   ring.poly_ntt_forward/N:65536/L:24           whole 24-limb Poly to evaluation form
//   ring.poly_ntt_inverse/N:65536/L:24           and back
//   ring.poly_multiply/N:65536/L:24              pointwise product
//   ring.inner_product/N:65536/L:32/terms:3      sum of dnum pointwise products over Q ∪ P
//   ring.automorphism/N:65536/L:24               X -> X^5 in evaluation form
//   ring.base_conversion/N:65536/from:24/to:8    fast base conversion to 60-bit primes
//   ring.base_conversion/N:65536/from:8/to:16    to 40-bit primes (IFMA), and /scalar
//   ring.rescale/N:65536/L:24                    divide and round by q_23, evaluation form
//   ring.mod_up/N:65536/digit:8/to:32            one digit of Q_23 raised to Q_23 ∪ P, eval form
//   ring.mod_down/N:65536/Q:24/P:8               round(a / P), evaluation form
// Single-threaded (omp_set_num_threads(1)) unless the name ends in threads:all.
#include <benchmark/benchmark.h>
#include <omp.h>

#include <cloak/core/primes.hpp>
#include <cloak/ring/arith.hpp>
#include <cloak/ring/automorphism.hpp>
#include <cloak/ring/base_conversion.hpp>
#include <cloak/ring/basis.hpp>
#include <cloak/ring/poly.hpp>

#include <memory>
#include <random>
#include <string>
#include <vector>

namespace {

using cloak::ring::Form;
using cloak::ring::Poly;
using cloak::ring::RnsBasis;

constexpr std::size_t degree = std::size_t{1} << 16;
constexpr std::size_t q_count = 24;
constexpr std::size_t p_count = 8;
constexpr std::size_t digit_size = 8;

// Built once: table construction at N = 2^16 takes longer than any kernel.
struct Bases {
    std::shared_ptr<const RnsBasis> q;
    std::shared_ptr<const RnsBasis> p;
    std::shared_ptr<const RnsBasis> qp;

    Bases() {
        const auto q_primes = cloak::core::generate_ntt_primes(40, q_count, 2 * degree);
        q = RnsBasis::create(degree, q_primes);
        p = RnsBasis::create(degree,
                             cloak::core::generate_ntt_primes(60, p_count, 2 * degree, q_primes));
        qp = q->concat(*p);
    }
};

const Bases& bases() {
    static const Bases instance;
    return instance;
}

Poly random_poly(const std::shared_ptr<const RnsBasis>& basis, Form form) {
    Poly p(basis, form);
    std::mt19937_64 rng(1);
    for (std::size_t i = 0; i < p.limbs(); ++i) {
        for (std::uint64_t& v : p.limb(i)) {
            v = rng() % basis->modulus(i).value();
        }
    }
    return p;
}

void set_threads(bool all) {
    omp_set_num_threads(all ? omp_get_num_procs() : 1);
}

void poly_ntt_forward(benchmark::State& state, bool all_threads) {
    set_threads(all_threads);
    Poly p = random_poly(bases().q, Form::coefficient);
    for (auto _ : state) {
        p.to_evaluation();
        benchmark::DoNotOptimize(p.data().data());
        p.set_form(Form::coefficient);  // transform the same buffer again
    }
    state.counters["limbs"] = static_cast<double>(p.limbs());
}

void poly_ntt_inverse(benchmark::State& state) {
    set_threads(false);
    Poly p = random_poly(bases().q, Form::evaluation);
    for (auto _ : state) {
        p.to_coefficient();
        benchmark::DoNotOptimize(p.data().data());
        p.set_form(Form::evaluation);
    }
}

void poly_multiply(benchmark::State& state) {
    set_threads(false);
    Poly a = random_poly(bases().q, Form::evaluation);
    const Poly b = random_poly(bases().q, Form::evaluation);
    for (auto _ : state) {
        cloak::ring::multiply_inplace(a, b);
        benchmark::DoNotOptimize(a.data().data());
    }
}

void inner_product(benchmark::State& state) {
    set_threads(false);
    std::vector<Poly> digits;
    std::vector<Poly> keys;
    std::vector<const Poly*> x;
    std::vector<const Poly*> y;
    for (std::size_t d = 0; d < q_count / digit_size; ++d) {
        digits.push_back(random_poly(bases().qp, Form::evaluation));
        keys.push_back(random_poly(bases().qp, Form::evaluation));
    }
    for (std::size_t d = 0; d < digits.size(); ++d) {
        x.push_back(&digits[d]);
        y.push_back(&keys[d]);
    }
    Poly out;
    for (auto _ : state) {
        cloak::ring::inner_product(x, y, out);
        benchmark::DoNotOptimize(out.data().data());
    }
}

void automorphism(benchmark::State& state) {
    set_threads(false);
    const Poly a = random_poly(bases().q, Form::evaluation);
    const cloak::ring::Automorphism sigma(degree, 5);
    Poly out;
    for (auto _ : state) {
        sigma.apply(a, out);
        benchmark::DoNotOptimize(out.data().data());
    }
}

// From Q (24 primes) to P (8 primes of 60 bits: the scalar loop), or from one
// digit (8 primes) to the rest of Q (16 primes of 40 bits: IFMA where the CPU has it).
void base_conversion(benchmark::State& state, bool from_digit, cloak::ring::Backend backend) {
    set_threads(false);
    const auto& b = bases();
    const auto from = from_digit ? b.q->prefix(digit_size) : b.q;
    const auto to = from_digit ? b.q->subbasis(digit_size, q_count - digit_size) : b.p;
    const cloak::ring::BaseConverter converter(from, to);
    const Poly x = random_poly(from, Form::coefficient);
    std::vector<std::uint64_t> out(to->size() * degree);
    for (auto _ : state) {
        converter.convert(x.data(), out, backend);
        benchmark::DoNotOptimize(out.data());
    }
}

void rescale(benchmark::State& state) {
    set_threads(false);
    const Poly x = random_poly(bases().q, Form::evaluation);
    Poly p = x;
    for (auto _ : state) {
        state.PauseTiming();
        p = x;
        state.ResumeTiming();
        cloak::ring::rescale_inplace(p);
        benchmark::DoNotOptimize(p.data().data());
    }
}

void mod_up(benchmark::State& state) {
    set_threads(false);
    // Digit 1 of dnum = 3: primes 8..15 of Q, raised to all 32 primes of Q ∪ P.
    const cloak::ring::ModUp up(bases().q->subbasis(digit_size, digit_size), bases().qp);
    const Poly x = random_poly(bases().q, Form::evaluation);
    const auto digit = x.data().subspan(digit_size * degree, digit_size * degree);
    Poly out;
    for (auto _ : state) {
        up.apply(digit, Form::evaluation, out, Form::evaluation);
        benchmark::DoNotOptimize(out.data().data());
    }
}

void mod_down(benchmark::State& state) {
    set_threads(false);
    const cloak::ring::ModDown down(bases().qp, bases().q);
    const Poly x = random_poly(bases().qp, Form::evaluation);
    Poly y = x;
    for (auto _ : state) {
        state.PauseTiming();
        y = x;
        state.ResumeTiming();
        down.apply(y);
        benchmark::DoNotOptimize(y.data().data());
    }
}

const bool registered = [] {
    const std::string n = "/N:" + std::to_string(degree);
    const std::string l = "/L:" + std::to_string(q_count);
    const auto milliseconds = [](benchmark::internal::Benchmark* b) {
        b->Unit(benchmark::kMillisecond);
    };
    milliseconds(benchmark::RegisterBenchmark(("ring.poly_ntt_forward" + n + l).c_str(),
                                              poly_ntt_forward, false));
    milliseconds(
        benchmark::RegisterBenchmark(("ring.poly_ntt_forward" + n + l + "/threads:all").c_str(),
                                     poly_ntt_forward, true)
            ->UseRealTime());
    milliseconds(
        benchmark::RegisterBenchmark(("ring.poly_ntt_inverse" + n + l).c_str(), poly_ntt_inverse));
    milliseconds(
        benchmark::RegisterBenchmark(("ring.poly_multiply" + n + l).c_str(), poly_multiply));
    milliseconds(benchmark::RegisterBenchmark(
        ("ring.inner_product" + n + "/L:" + std::to_string(q_count + p_count) +
         "/terms:" + std::to_string(q_count / digit_size))
            .c_str(),
        inner_product));
    milliseconds(benchmark::RegisterBenchmark(("ring.automorphism" + n + l).c_str(), automorphism));
    using cloak::ring::Backend;
    const std::string q_to_p =
        n + "/from:" + std::to_string(q_count) + "/to:" + std::to_string(p_count);
    milliseconds(benchmark::RegisterBenchmark(("ring.base_conversion" + q_to_p).c_str(),
                                              base_conversion, false, Backend::automatic));
    const std::string digit_to_q =
        n + "/from:" + std::to_string(digit_size) + "/to:" + std::to_string(q_count - digit_size);
    milliseconds(benchmark::RegisterBenchmark(("ring.base_conversion" + digit_to_q).c_str(),
                                              base_conversion, true, Backend::automatic));
    milliseconds(
        benchmark::RegisterBenchmark(("ring.base_conversion" + digit_to_q + "/scalar").c_str(),
                                     base_conversion, true, Backend::scalar));
    milliseconds(benchmark::RegisterBenchmark(("ring.rescale" + n + l).c_str(), rescale));
    milliseconds(
        benchmark::RegisterBenchmark(("ring.mod_up" + n + "/digit:" + std::to_string(digit_size) +
                                      "/to:" + std::to_string(q_count + p_count))
                                         .c_str(),
                                     mod_up));
    milliseconds(benchmark::RegisterBenchmark(
        ("ring.mod_down" + n + "/Q:" + std::to_string(q_count) + "/P:" + std::to_string(p_count))
            .c_str(),
        mod_down));
    return true;
}();

}  // namespace
