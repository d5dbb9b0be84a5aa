// cloak: an RNS basis: ring degree N, coprime NTT-friendly primes, their tables.
//
// A basis is immutable and shared as std::shared_ptr<const RnsBasis>. Sub-bases
// (a ciphertext after rescaling keeps a prefix of the primes, a key-switching
// digit is a slice) and unions (Q ∪ P) share the NTT tables of their primes.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include <cloak/core/error.hpp>
#include <cloak/core/modarith.hpp>
#include <cloak/core/primes.hpp>
#include <cloak/ring/ntt.hpp>

namespace cloak::inline v0::ring {

class RnsBasis {
  public:
    /// Validates N and the primes, and builds one NTT table per prime.
    /// @throws InvalidArgumentError for a bad degree, an empty list, a prime
    ///         outside [20, 61] bits, a non-prime, q != 1 mod 2N, or a duplicate.
    [[nodiscard]] static std::shared_ptr<const RnsBasis> create(
        std::size_t n, std::span<const std::uint64_t> moduli) {
        check_degree(n, "ring::RnsBasis");
        if (moduli.empty()) {
            throw InvalidArgumentError("ring::RnsBasis: the list of moduli is empty");
        }
        std::vector<std::shared_ptr<const NttTables>> tables;
        for (std::size_t i = 0; i < moduli.size(); ++i) {
            const std::uint64_t q = moduli[i];
            const int bits = core::bit_count(q);
            if (bits < core::min_prime_bits || bits > core::max_prime_bits) {
                throw InvalidArgumentError(
                    cloak::detail::message("ring::RnsBasis: modulus ", q, " at index ", i, " has ",
                                           bits, " bits; moduli must have ", core::min_prime_bits,
                                           " to ", core::max_prime_bits, " bits"));
            }
            for (std::size_t j = 0; j < i; ++j) {
                if (moduli[j] == q) {
                    throw InvalidArgumentError(
                        cloak::detail::message("ring::RnsBasis: modulus ", q, " appears at index ",
                                               j, " and ", i, "; RNS moduli must be distinct"));
                }
            }
            tables.push_back(std::make_shared<const NttTables>(n, core::Modulus(q)));
        }
        return std::shared_ptr<const RnsBasis>(new RnsBasis(n, std::move(tables)));
    }

    [[nodiscard]] std::size_t degree() const noexcept { return n_; }
    /// Number of primes (limbs of a polynomial over this basis).
    [[nodiscard]] std::size_t size() const noexcept { return tables_.size(); }
    [[nodiscard]] const core::Modulus& modulus(std::size_t i) const { return moduli_[i]; }
    [[nodiscard]] std::span<const core::Modulus> moduli() const noexcept { return moduli_; }
    /// The primes as plain words.
    [[nodiscard]] std::span<const std::uint64_t> values() const noexcept { return values_; }
    [[nodiscard]] const NttTables& ntt(std::size_t i) const { return *tables_[i]; }

    /// The `count` primes starting at `first`, sharing this basis' tables.
    /// @throws InvalidArgumentError when the range is empty or runs past size().
    [[nodiscard]] std::shared_ptr<const RnsBasis> subbasis(std::size_t first,
                                                           std::size_t count) const {
        if (count == 0 || first > size() || count > size() - first) {
            throw InvalidArgumentError(cloak::detail::message(
                "ring::RnsBasis::subbasis: primes [", first, ", ", first + count,
                ") of a basis of ", size(), "; choose a non-empty range inside it"));
        }
        return std::shared_ptr<const RnsBasis>(
            new RnsBasis(n_, {tables_.begin() + static_cast<std::ptrdiff_t>(first),
                              tables_.begin() + static_cast<std::ptrdiff_t>(first + count)}));
    }

    /// The primes at `indices`, in that order, sharing this basis' tables (for
    /// example the complement of a key-switching digit in Q_l ∪ P).
    /// @throws InvalidArgumentError for an empty list, an index past size(), or a repeat.
    [[nodiscard]] std::shared_ptr<const RnsBasis> select(
        std::span<const std::size_t> indices) const {
        if (indices.empty()) {
            throw InvalidArgumentError("ring::RnsBasis::select: the list of indices is empty");
        }
        std::vector<std::shared_ptr<const NttTables>> tables;
        for (std::size_t k = 0; k < indices.size(); ++k) {
            if (indices[k] >= size() ||
                std::find(indices.begin(), indices.begin() + static_cast<std::ptrdiff_t>(k),
                          indices[k]) != indices.begin() + static_cast<std::ptrdiff_t>(k)) {
                throw InvalidArgumentError(cloak::detail::message(
                    "ring::RnsBasis::select: index ", indices[k], " is repeated or past the ",
                    size(), " primes of the basis"));
            }
            tables.push_back(tables_[indices[k]]);
        }
        return std::shared_ptr<const RnsBasis>(new RnsBasis(n_, std::move(tables)));
    }

    /// The first `count` primes.
    [[nodiscard]] std::shared_ptr<const RnsBasis> prefix(std::size_t count) const {
        return subbasis(0, count);
    }

    /// This basis followed by `other` (for example Q_l ∪ P), sharing tables.
    /// @throws InvalidArgumentError for different degrees or a shared prime.
    [[nodiscard]] std::shared_ptr<const RnsBasis> concat(const RnsBasis& other) const {
        if (other.n_ != n_) {
            throw InvalidArgumentError(cloak::detail::message(
                "ring::RnsBasis::concat: degrees differ (", n_, " and ", other.n_, ")"));
        }
        for (std::uint64_t q : other.values_) {
            if (std::find(values_.begin(), values_.end(), q) != values_.end()) {
                throw InvalidArgumentError(
                    cloak::detail::message("ring::RnsBasis::concat: modulus ", q,
                                           " is in both bases; RNS moduli must be distinct"));
            }
        }
        std::vector<std::shared_ptr<const NttTables>> tables = tables_;
        tables.insert(tables.end(), other.tables_.begin(), other.tables_.end());
        return std::shared_ptr<const RnsBasis>(new RnsBasis(n_, std::move(tables)));
    }

    /// True when `other` has this basis' first other.size() primes, in order.
    [[nodiscard]] bool starts_with(const RnsBasis& other) const noexcept {
        return other.n_ == n_ && other.size() <= size() &&
               std::equal(other.values_.begin(), other.values_.end(), values_.begin());
    }

    friend bool operator==(const RnsBasis& a, const RnsBasis& b) noexcept {
        return a.n_ == b.n_ && a.values_ == b.values_;
    }

  private:
    RnsBasis(std::size_t n, std::vector<std::shared_ptr<const NttTables>> tables)
        : n_(n), tables_(std::move(tables)) {
        for (const auto& table : tables_) {
            moduli_.push_back(table->modulus());
            values_.push_back(table->modulus().value());
        }
    }

    std::size_t n_;
    std::vector<std::shared_ptr<const NttTables>> tables_;
    std::vector<core::Modulus> moduli_;
    std::vector<std::uint64_t> values_;
};

}  // namespace cloak::inline v0::ring
