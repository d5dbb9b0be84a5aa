// cloak: an RNS basis: ring degree N, distinct NTT-friendly primes, their tables
// and the CRT constants the kernels of ring/ need.
//
// A basis is immutable and shared as std::shared_ptr<const RnsBasis>. Sub-bases
// (a ciphertext after rescaling keeps a prefix of the primes, a key-switching
// digit is a slice) and unions (Q_l ∪ P) share the NTT tables of their primes.
//
// Every basis of L primes holds its prefix of L - 1 primes, which holds its own
// prefix, and so on: prefix(k) is a walk down that chain, never an allocation,
// and the bases of all levels of a CKKS modulus chain are the same objects
// whichever way a polynomial reached its level (rescale, level drop, ModDown).
// Comparing bases is then usually one pointer comparison.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include <cloak/core/bits.hpp>
#include <cloak/core/error.hpp>
#include <cloak/core/modarith.hpp>
#include <cloak/core/primes.hpp>
#include <cloak/ring/ntt.hpp>

namespace cloak::inline v0::ring {

class RnsBasis : public std::enable_shared_from_this<RnsBasis> {
  public:
    /// Validates N and the primes, and builds one NTT table per prime.
    /// @throws InvalidArgumentError for a degree that is not a power of two in
    ///         [2^10, 2^17], an empty list, a modulus outside [20, 61] bits, a
    ///         modulus that is not prime or not 1 mod 2N, or a repeated modulus;
    ///         the message names the modulus, its index and the limit.
    [[nodiscard]] static std::shared_ptr<const RnsBasis> create(
        std::size_t n, std::span<const std::uint64_t> moduli) {
        check_degree(n, "ring::RnsBasis::create");
        if (moduli.empty()) {
            throw InvalidArgumentError(
                "ring::RnsBasis::create: the list of moduli is empty; pass at least one prime");
        }
        const std::uint64_t two_n = 2 * static_cast<std::uint64_t>(n);
        std::vector<std::shared_ptr<const NttTables>> tables;
        tables.reserve(moduli.size());
        for (std::size_t i = 0; i < moduli.size(); ++i) {
            const std::uint64_t q = moduli[i];
            const int bits = core::bit_count(q);
            if (bits < core::min_prime_bits || bits > core::max_prime_bits) {
                throw InvalidArgumentError(cloak::detail::message(
                    "ring::RnsBasis::create: modulus ", q, " at index ", i, " has ", bits,
                    " bits; moduli must have ", core::min_prime_bits, " to ", core::max_prime_bits,
                    " bits"));
            }
            if (!core::is_prime(q)) {
                throw InvalidArgumentError(cloak::detail::message(
                    "ring::RnsBasis::create: modulus ", q, " at index ", i,
                    " is not prime; use core::generate_ntt_primes(bits, count, 2N)"));
            }
            if (q % two_n != 1) {
                throw InvalidArgumentError(cloak::detail::message(
                    "ring::RnsBasis::create: modulus ", q, " at index ", i,
                    " is not 1 mod 2N = ", two_n, " (it is ", q % two_n,
                    " mod 2N); use core::generate_ntt_primes(bits, count, 2N)"));
            }
            for (std::size_t j = 0; j < i; ++j) {
                if (moduli[j] == q) {
                    throw InvalidArgumentError(cloak::detail::message(
                        "ring::RnsBasis::create: modulus ", q, " appears at index ", j, " and ", i,
                        "; RNS moduli must be distinct"));
                }
            }
            tables.push_back(std::make_shared<const NttTables>(n, core::Modulus(q)));
        }
        return build_chain(n, nullptr, tables);
    }

    [[nodiscard]] std::size_t degree() const noexcept { return n_; }
    [[nodiscard]] int log_degree() const noexcept { return log_n_; }
    /// Number of primes (limbs of a polynomial over this basis).
    [[nodiscard]] std::size_t size() const noexcept { return values_.size(); }
    [[nodiscard]] const core::Modulus& modulus(std::size_t i) const noexcept { return moduli_[i]; }
    [[nodiscard]] std::span<const core::Modulus> moduli() const noexcept { return moduli_; }
    /// The primes as plain words.
    [[nodiscard]] std::span<const std::uint64_t> values() const noexcept { return values_; }
    [[nodiscard]] const NttTables& ntt(std::size_t i) const noexcept { return *tables_[i]; }
    /// The shared tables of prime i (bases built from this one hold the same object).
    [[nodiscard]] const std::shared_ptr<const NttTables>& ntt_tables(std::size_t i) const noexcept {
        return tables_[i];
    }
    /// log2(Q), Q the product of the primes.
    [[nodiscard]] double log2_product() const noexcept {
        double bits = 0;
        for (std::uint64_t q : values_) {
            bits += std::log2(static_cast<double>(q));
        }
        return bits;
    }
    /// Position of prime q in this basis, if it is one of its primes.
    [[nodiscard]] std::optional<std::size_t> index_of(std::uint64_t q) const noexcept {
        const auto it = std::find(values_.begin(), values_.end(), q);
        if (it == values_.end()) {
            return std::nullopt;
        }
        return static_cast<std::size_t>(it - values_.begin());
    }

    // ---- CRT constants --------------------------------------------------------
    /// (Q / q_i) mod q_i.
    [[nodiscard]] std::uint64_t punctured_product(std::size_t i) const noexcept {
        return punctured_[i];
    }
    /// (Q / q_i)^-1 mod q_i with its Shoup quotient: the CRT coefficient of limb i.
    [[nodiscard]] const core::ShoupConstant& punctured_inverse(std::size_t i) const noexcept {
        return punctured_inverse_[i];
    }
    /// q_last^-1 mod q_i for i < size() - 1, q_last the last prime (rescaling).
    [[nodiscard]] const core::ShoupConstant& last_inverse(std::size_t i) const noexcept {
        return last_inverse_[i];
    }

    // ---- sub-bases and unions -------------------------------------------------
    /// The first `count` primes: the basis of a lower CKKS level. Never allocates;
    /// prefix(size()) is this basis.
    /// @throws InvalidArgumentError when count is 0 or above size().
    [[nodiscard]] std::shared_ptr<const RnsBasis> prefix(std::size_t count) const {
        if (count == 0 || count > size()) {
            throw InvalidArgumentError(
                cloak::detail::message("ring::RnsBasis::prefix: ", count, " primes of a basis of ",
                                       size(), "; choose a count in [1, ", size(), "]"));
        }
        const RnsBasis* basis = this;
        while (basis->size() > count) {
            basis = basis->parent_.get();
        }
        return basis->shared_from_this();
    }

    /// The `count` primes starting at `first` (a key-switching digit), sharing this
    /// basis' tables.
    /// @throws InvalidArgumentError when the range is empty or runs past size().
    [[nodiscard]] std::shared_ptr<const RnsBasis> subbasis(std::size_t first,
                                                           std::size_t count) const {
        if (count == 0 || first > size() || count > size() - first) {
            throw InvalidArgumentError(cloak::detail::message(
                "ring::RnsBasis::subbasis: primes [", first, ", ", first + count,
                ") of a basis of ", size(), " primes; choose a non-empty range inside [0, ", size(),
                ")"));
        }
        if (first == 0) {
            return prefix(count);
        }
        return build_chain(n_, nullptr, std::span(tables_).subspan(first, count));
    }

    /// The primes at `indices`, in that order, sharing this basis' tables (for
    /// example the complement of a key-switching digit in Q_l ∪ P).
    /// @throws InvalidArgumentError for an empty list, an index past size(), or a repeat.
    [[nodiscard]] std::shared_ptr<const RnsBasis> select(
        std::span<const std::size_t> indices) const {
        if (indices.empty()) {
            throw InvalidArgumentError(
                "ring::RnsBasis::select: the list of indices is empty; pass at least one");
        }
        std::vector<std::shared_ptr<const NttTables>> tables;
        tables.reserve(indices.size());
        for (std::size_t k = 0; k < indices.size(); ++k) {
            const std::size_t index = indices[k];
            if (index >= size()) {
                throw InvalidArgumentError(
                    cloak::detail::message("ring::RnsBasis::select: index ", index, " at position ",
                                           k, " is past the ", size(), " primes of the basis"));
            }
            if (std::find(indices.begin(), indices.begin() + static_cast<std::ptrdiff_t>(k),
                          index) != indices.begin() + static_cast<std::ptrdiff_t>(k)) {
                throw InvalidArgumentError(
                    cloak::detail::message("ring::RnsBasis::select: index ", index,
                                           " is repeated; each prime may be selected once"));
            }
            tables.push_back(tables_[index]);
        }
        return build_chain(n_, nullptr, tables);
    }

    /// This basis followed by `other` (for example Q_l ∪ P), sharing tables. The
    /// result's prefix(size()) is this very basis.
    /// @throws InvalidArgumentError for different degrees or a prime in both.
    [[nodiscard]] std::shared_ptr<const RnsBasis> concat(const RnsBasis& other) const {
        if (other.n_ != n_) {
            throw InvalidArgumentError(cloak::detail::message(
                "ring::RnsBasis::concat: degrees differ (N = ", n_, " and N = ", other.n_,
                "); both bases must have the same ring degree"));
        }
        for (std::uint64_t q : other.values_) {
            if (index_of(q)) {
                throw InvalidArgumentError(
                    cloak::detail::message("ring::RnsBasis::concat: modulus ", q,
                                           " is in both bases; RNS moduli must be distinct"));
            }
        }
        return build_chain(n_, shared_from_this(), other.tables_);
    }

    /// True when `other` has this basis' first other.size() primes, in order.
    [[nodiscard]] bool starts_with(const RnsBasis& other) const noexcept {
        return other.n_ == n_ && other.size() <= size() &&
               std::equal(other.values_.begin(), other.values_.end(), values_.begin());
    }

    /// Same degree and the same primes in the same order.
    friend bool operator==(const RnsBasis& a, const RnsBasis& b) noexcept {
        return &a == &b || (a.n_ == b.n_ && a.values_ == b.values_);
    }

  private:
    struct Token {};  // keeps the constructor usable by build_chain only

  public:
    // Public for std::make_shared only; use create(), prefix(), subbasis(),
    // select() or concat().
    RnsBasis(Token, std::size_t n, std::shared_ptr<const RnsBasis> parent,
             std::shared_ptr<const NttTables> last)
        : n_(n), log_n_(core::log2_floor(n)), parent_(std::move(parent)) {
        if (parent_) {
            tables_ = parent_->tables_;
            moduli_ = parent_->moduli_;
            values_ = parent_->values_;
            punctured_ = parent_->punctured_;
        }
        const core::Modulus& p = last->modulus();
        const std::size_t k = values_.size();
        // Q/q_i gains the factor p for every old prime; the new prime's own
        // punctured product is the old Q.
        std::uint64_t old_product_mod_p = 1;
        for (std::size_t i = 0; i < k; ++i) {
            punctured_[i] = core::mul_mod(punctured_[i], moduli_[i].reduce(p.value()), moduli_[i]);
            old_product_mod_p = core::mul_mod(old_product_mod_p, p.reduce(values_[i]), p);
        }
        tables_.push_back(std::move(last));
        moduli_.push_back(p);
        values_.push_back(p.value());
        punctured_.push_back(old_product_mod_p);
        punctured_inverse_.reserve(k + 1);
        last_inverse_.reserve(k);
        for (std::size_t i = 0; i <= k; ++i) {
            const std::uint64_t q = values_[i];
            punctured_inverse_.emplace_back(core::inverse_mod(punctured_[i], q), q);
            if (i < k) {
                last_inverse_.emplace_back(core::inverse_mod(moduli_[i].reduce(p.value()), q), q);
            }
        }
    }

  private:
    // Appends the primes of `more` one at a time to `base` (null: start empty),
    // so that every prefix exists as its own basis.
    static std::shared_ptr<const RnsBasis> build_chain(
        std::size_t n, std::shared_ptr<const RnsBasis> base,
        std::span<const std::shared_ptr<const NttTables>> more) {
        for (const auto& table : more) {
            base = std::make_shared<const RnsBasis>(Token{}, n, std::move(base), table);
        }
        return base;
    }

    std::size_t n_;
    int log_n_;
    std::shared_ptr<const RnsBasis> parent_;  // the first size() - 1 primes, or null
    std::vector<std::shared_ptr<const NttTables>> tables_;
    std::vector<core::Modulus> moduli_;
    std::vector<std::uint64_t> values_;
    std::vector<std::uint64_t> punctured_;                // (Q / q_i) mod q_i
    std::vector<core::ShoupConstant> punctured_inverse_;  // (Q / q_i)^-1 mod q_i
    std::vector<core::ShoupConstant> last_inverse_;       // q_last^-1 mod q_i, i < size() - 1
};

}  // namespace cloak::inline v0::ring
