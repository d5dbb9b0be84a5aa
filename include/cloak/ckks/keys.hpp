// cloak: CKKS keys and their generation.
//
// Every key lives over Q_L ∪ P in evaluation form. The uniform "a" half of
// every public and switching key comes from a seeded ChaCha20 stream (its seed
// is kept, so a serialized key can store 32 bytes instead of a polynomial).
//
// A switching key from s' to s (Han and Ki, CT-RSA 2020, section 3): for each
// digit d of the dnum digits of Q,
//     b_d = -a_d s + e_d + P g_d s'  (mod Q_L P),
// where the gadget factor g_d is 1 modulo the primes of digit d and 0 modulo
// every other prime of Q, and P vanishes modulo the special primes. Key
// switching (ckks/key_switch.hpp) multiplies the raised digits by it.
#pragma once

#include <sodium.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <utility>
#include <vector>

#include <cloak/ckks/context.hpp>
#include <cloak/core/error.hpp>
#include <cloak/core/locked_memory.hpp>
#include <cloak/core/random.hpp>
#include <cloak/ring/arith.hpp>
#include <cloak/ring/automorphism.hpp>
#include <cloak/ring/poly.hpp>

namespace cloak::inline v0::ckks {

namespace detail {

/// Overwrites a polynomial's words with zeros (sodium_memzero: not optimised
/// away): for every buffer that held the secret, or a product from which it
/// follows (a s with a public a gives s).
inline void wipe(ring::Poly& poly) noexcept {
    if (!poly.empty()) {
        sodium_memzero(poly.data().data(), poly.data().size_bytes());
    }
}

}  // namespace detail

/// The secret s, over Q_L ∪ P in evaluation form. Its memory is locked in RAM
/// and left out of core dumps while it lives (best effort: locked()), wiped on
/// destruction and before an assignment replaces it; it has no operator<< and
/// io::save refuses it (only io::save_secret_key writes it).
class SecretKey {
  public:
    SecretKey() = default;
    /// Takes the polynomial and locks its memory (core::lock_memory: out of swap
    /// and core dumps, best effort; locked() says whether it worked).
    explicit SecretKey(ring::Poly poly) : poly_(std::move(poly)) { lock(); }
    SecretKey(const SecretKey& other) : poly_(other.poly_) { lock(); }
    // A moved-from vector hands its buffer over: no copy is left to wipe, and
    // the lock goes with the buffer.
    SecretKey(SecretKey&& other) noexcept : poly_(std::move(other.poly_)) { take_lock(other); }
    SecretKey& operator=(const SecretKey& other) {
        if (this != &other) {
            wipe();  // the vector may reuse or free the old words
            unlock();
            poly_ = other.poly_;
            lock();
        }
        return *this;
    }
    SecretKey& operator=(SecretKey&& other) noexcept {
        if (this != &other) {
            wipe();  // the vector frees the old words
            unlock();
            poly_ = std::move(other.poly_);
            take_lock(other);
        }
        return *this;
    }
    ~SecretKey() {
        wipe();
        unlock();
    }

    [[nodiscard]] const ring::Poly& poly() const noexcept { return poly_; }
    [[nodiscard]] bool empty() const noexcept { return poly_.empty(); }

    /// Overwrites the key with zeros now (the destructor does the same).
    void wipe() noexcept { detail::wipe(poly_); }

    /// Whether the key's words are locked in RAM and left out of core dumps.
    /// False when the operating system refused (RLIMIT_MEMLOCK: an N = 2^16 key
    /// takes 18 MiB) or for an empty key; the key works the same either way.
    [[nodiscard]] bool locked() const noexcept { return locked_bytes_ != 0; }

  private:
    void lock() noexcept {
        const auto words = poly_.data();
        if (!words.empty() && core::lock_memory(words.data(), words.size_bytes())) {
            locked_data_ = words.data();
            locked_bytes_ = words.size_bytes();
        }
    }
    void unlock() noexcept {
        core::unlock_memory(locked_data_, locked_bytes_);
        locked_data_ = nullptr;
        locked_bytes_ = 0;
    }
    // After poly_ was moved from other.poly_: the lock follows the buffer if it
    // moved; otherwise other keeps its own and this buffer gets one.
    void take_lock(SecretKey& other) noexcept {
        if (other.locked_bytes_ != 0 && poly_.data().data() == other.locked_data_) {
            locked_data_ = std::exchange(other.locked_data_, nullptr);
            locked_bytes_ = std::exchange(other.locked_bytes_, 0);
        } else {
            lock();
        }
    }

    ring::Poly poly_;
    const void* locked_data_ = nullptr;
    std::size_t locked_bytes_ = 0;
};

/// (b, a) = (-a s + e, a) over Q_L ∪ P, evaluation form.
struct PublicKey {
    ring::Poly b;
    ring::Poly a;
    core::Seed seed{};  // generates a
};

/// dnum pairs (b_d, a_d) over Q_L ∪ P, evaluation form.
struct SwitchingKey {
    std::vector<ring::Poly> b;
    std::vector<ring::Poly> a;
    core::Seed seed{};  // generates every a_d, stream d
};

/// Switches s^2 to s after a multiplication.
struct RelinKey {
    SwitchingKey key;
};

/// Switching keys from s(X^k) to s, by Galois element k.
struct GaloisKeys {
    std::map<std::uint64_t, SwitchingKey> keys;

    [[nodiscard]] bool has(std::uint64_t galois_element) const {
        return keys.count(galois_element) != 0;
    }
};

/// The Galois element of a rotation by `steps` slots (left for positive steps)
/// at ring degree N: 5^steps mod 2N, for steps taken modulo N/2.
inline std::uint64_t rotation_galois_element(std::int64_t steps, std::size_t n) {
    const auto slots = static_cast<std::int64_t>(n / 2);
    std::int64_t reduced = steps % slots;
    if (reduced < 0) {
        reduced += slots;
    }
    const std::uint64_t two_n = 2 * static_cast<std::uint64_t>(n);
    std::uint64_t element = 1;
    for (std::int64_t i = 0; i < reduced; ++i) {
        element = element * 5 % two_n;
    }
    return element;
}

/// The Galois element of complex conjugation: X -> X^(2N - 1).
inline std::uint64_t conjugation_galois_element(std::size_t n) {
    return 2 * n - 1;
}

class KeyGenerator {
  public:
    /// Draws a fresh secret key from the parameters' secret distribution.
    explicit KeyGenerator(const Context& context) : context_(context) {
        const Parameters& params = context.parameters();
        const std::size_t n = context.degree();
        core::Prng prng = core::Prng::from_entropy();
        std::vector<std::int64_t> coefficients(n);
        if (params.secret_distribution() == SecretDistribution::sparse_ternary) {
            core::sample_sparse_ternary(prng, params.hamming_weight(), coefficients);
        } else {
            core::sample_ternary(prng, coefficients);
        }
        ring::Poly s = ring::Poly::from_signed(context.key_basis(), coefficients);
        sodium_memzero(coefficients.data(), coefficients.size() * sizeof(std::int64_t));
        s.to_evaluation();
        secret_ = SecretKey(std::move(s));
    }

    [[nodiscard]] const SecretKey& secret_key() const noexcept { return secret_; }

    /// A public key (b, a) = (-a s + e, a) over Q_L ∪ P: encryption works over
    /// Q_l ∪ P and divides by P, which leaves only a rounding error (as SEAL does).
    [[nodiscard]] PublicKey public_key() const {
        PublicKey key;
        key.seed = core::random_seed();
        const auto& basis = context_.key_basis();
        key.a = uniform_poly(basis, key.seed, 0);
        key.b = error_poly(basis);
        ring::Poly as = key.a;
        ring::multiply_inplace(as, secret_.poly());
        ring::sub_inplace(key.b, as);
        detail::wipe(as);
        return key;
    }

    /// The relinearization key: switches s^2 to s.
    [[nodiscard]] RelinKey relin_key() const {
        ring::Poly s_squared = secret_.poly();
        ring::multiply_inplace(s_squared, secret_.poly());
        RelinKey key{switching_key(s_squared)};
        detail::wipe(s_squared);
        return key;
    }

    /// Rotation keys for each step in `steps` (positive: left), plus conjugation.
    [[nodiscard]] GaloisKeys galois_keys(std::span<const std::int64_t> steps,
                                         bool conjugate = false) const {
        GaloisKeys keys;
        for (std::int64_t step : steps) {
            add_galois_key(keys, rotation_galois_element(step, context_.degree()));
        }
        if (conjugate) {
            add_galois_key(keys, conjugation_galois_element(context_.degree()));
        }
        return keys;
    }

    [[nodiscard]] GaloisKeys galois_keys(std::initializer_list<std::int64_t> steps,
                                         bool conjugate = false) const {
        return galois_keys(std::span<const std::int64_t>(steps.begin(), steps.size()), conjugate);
    }

    /// Adds the key for Galois element k (odd, mod 2N) to `keys`.
    void add_galois_key(GaloisKeys& keys, std::uint64_t galois_element) const {
        if (galois_element == 1 || keys.has(galois_element)) {
            return;  // the identity needs no key
        }
        keys.keys.emplace(galois_element, galois_key(galois_element));
    }

    /// The key of one Galois element k (odd, in (1, 2N)): switches s(X^k) to s.
    /// One key at a time, for writers that stream a large key set.
    /// @throws InvalidArgumentError for an even element or one outside (1, 2N).
    [[nodiscard]] SwitchingKey galois_key(std::uint64_t galois_element) const {
        const std::uint64_t two_n = 2 * static_cast<std::uint64_t>(context_.degree());
        if (galois_element % 2 == 0 || galois_element <= 1 || galois_element >= two_n) {
            throw InvalidArgumentError(cloak::detail::message(
                "ckks::KeyGenerator::galois_key: Galois element ", galois_element,
                " is not odd in (1, 2N = ", two_n,
                "); use rotation_galois_element or conjugation_galois_element"));
        }
        const ring::Automorphism sigma(context_.degree(), galois_element);
        ring::Poly rotated;
        sigma.apply(secret_.poly(), rotated);
        SwitchingKey key = switching_key(rotated);
        detail::wipe(rotated);
        return key;
    }

    /// A key that switches a ciphertext under `from` (over Q_L ∪ P, evaluation
    /// form) to one under this generator's secret.
    [[nodiscard]] SwitchingKey switching_key(const ring::Poly& from) const {
        const Parameters& params = context_.parameters();
        const auto& basis = context_.key_basis();
        const std::size_t q_count = params.q_primes().size();
        const std::size_t digit_size = params.digit_size();
        // P mod q_i, the factor every digit's gadget carries.
        std::vector<std::uint64_t> p_mod_q(q_count);
        for (std::size_t i = 0; i < q_count; ++i) {
            const core::Modulus& qi = basis->modulus(i);
            std::uint64_t product = 1;
            for (std::uint64_t p : params.p_primes()) {
                product = core::mul_mod(product, qi.reduce(p), qi);
            }
            p_mod_q[i] = product;
        }
        SwitchingKey key;
        key.seed = core::random_seed();
        for (std::size_t first = 0, d = 0; first < q_count; first += digit_size, ++d) {
            ring::Poly a = uniform_poly(basis, key.seed, d);
            ring::Poly b = error_poly(basis);
            ring::Poly as = a;
            ring::multiply_inplace(as, secret_.poly());
            ring::sub_inplace(b, as);
            detail::wipe(as);
            // + P * gadget_d * from: nonzero only on the digit's primes.
            ring::Poly term = from;
            std::vector<std::uint64_t> factors(basis->size(), 0);
            for (std::size_t i = first; i < std::min(first + digit_size, q_count); ++i) {
                factors[i] = p_mod_q[i];
            }
            ring::multiply_scalar_inplace(term, factors);
            ring::add_inplace(b, term);
            detail::wipe(term);
            key.b.push_back(std::move(b));
            key.a.push_back(std::move(a));
        }
        return key;
    }

    /// Uniform polynomial from a seed (stream `stream`), evaluation form: the
    /// values are uniform in either form, so they are drawn directly as evaluations.
    [[nodiscard]] static ring::Poly uniform_poly(const std::shared_ptr<const ring::RnsBasis>& basis,
                                                 const core::Seed& seed, std::uint64_t stream) {
        core::Prng prng(seed, stream);
        ring::Poly poly(basis, ring::Form::evaluation);
        for (std::size_t i = 0; i < poly.limbs(); ++i) {
            core::sample_uniform_mod(prng, basis->modulus(i).value(), poly.limb(i));
        }
        return poly;
    }

    /// Discrete Gaussian error (sigma 3.2), evaluation form.
    [[nodiscard]] static ring::Poly error_poly(const std::shared_ptr<const ring::RnsBasis>& basis) {
        core::Prng prng = core::Prng::from_entropy();
        std::vector<std::int64_t> e(basis->degree());
        core::sample_gaussian(prng, e);
        ring::Poly poly = ring::Poly::from_signed(basis, e);
        // A key's error gives its secret (b + a s = e), an encryption's its message.
        sodium_memzero(e.data(), e.size() * sizeof(std::int64_t));
        poly.to_evaluation();
        return poly;
    }

  private:
    Context context_;
    SecretKey secret_;
};

}  // namespace cloak::inline v0::ckks
