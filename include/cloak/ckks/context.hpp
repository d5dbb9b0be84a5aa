// cloak: the CKKS context: every precomputation, done once, shared immutably.
//
// A Context is a cheap handle (one shared_ptr) to immutable data: the RNS bases
// of every level (Q_l and Q_l ∪ P, sharing one NTT table per prime), the
// rescalers, the ModDown of key switching per level, the fast base converters
// of every key-switching digit at every level, the CRT composers for decoding,
// and the special FFT. Every object made from a context keeps the bases it was
// made over, so mixing objects of two contexts is detected by identity.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include <cloak/ckks/parameters.hpp>
#include <cloak/core/error.hpp>
#include <cloak/ring/base_conversion.hpp>
#include <cloak/ring/basis.hpp>
#include <cloak/ring/crt.hpp>
#include <cloak/ring/special_fft.hpp>

namespace cloak::inline v0::ckks {

namespace detail {

/// One key-switching digit as seen at one level: its primes [first, first +
/// count) of Q_l and the converter to all other primes of Q_l ∪ P.
struct DigitPlan {
    std::size_t first = 0;
    std::size_t count = 0;
    std::vector<std::size_t> complement;  // indices in Q_l ∪ P outside the digit
    std::unique_ptr<ring::BaseConverter> converter;
};

/// Everything an operation at level l needs.
struct LevelData {
    std::shared_ptr<const ring::RnsBasis> q;   // q_0 .. q_l
    std::shared_ptr<const ring::RnsBasis> qp;  // q_0 .. q_l, p_0 .. p_{k-1}
    std::unique_ptr<ring::Rescaler> rescaler;  // Q_l -> Q_{l-1}; null at level 0
    std::unique_ptr<ring::ModDown> mod_down;   // Q_l ∪ P -> Q_l
    std::unique_ptr<ring::CrtComposer> crt;    // residues -> doubles, for decoding
    std::vector<DigitPlan> digits;             // digits that meet Q_l
};

struct ContextData {
    Parameters parameters;
    std::shared_ptr<const ring::RnsBasis> p;  // the special primes
    std::vector<LevelData> levels;            // index = level
    ring::SpecialFft fft;

    explicit ContextData(const Parameters& params) : parameters(params), fft(params.degree()) {
        const std::size_t n = params.degree();
        std::vector<std::uint64_t> all = params.q_primes();
        all.insert(all.end(), params.p_primes().begin(), params.p_primes().end());
        // One basis over every prime builds each NTT table once; the rest are views.
        const auto everything = ring::RnsBasis::create(n, all);
        const std::size_t q_count = params.q_primes().size();
        const std::size_t p_count = params.p_primes().size();
        p = everything->subbasis(q_count, p_count);
        const std::size_t digit_size = params.digit_size();
        levels.resize(q_count);
        for (std::size_t l = 0; l < q_count; ++l) {
            LevelData& level = levels[l];
            level.q = everything->prefix(l + 1);
            level.qp = level.q->concat(*p);
            if (l > 0) {
                level.rescaler = std::make_unique<ring::Rescaler>(level.q, levels[l - 1].q);
            }
            level.mod_down = std::make_unique<ring::ModDown>(level.qp, level.q, p);
            level.crt = std::make_unique<ring::CrtComposer>(level.q->values());
            for (std::size_t first = 0; first <= l; first += digit_size) {
                DigitPlan digit;
                digit.first = first;
                digit.count = std::min(digit_size, l + 1 - first);
                for (std::size_t i = 0; i < level.qp->size(); ++i) {
                    if (i < first || i >= first + digit.count) {
                        digit.complement.push_back(i);
                    }
                }
                digit.converter = std::make_unique<ring::BaseConverter>(
                    level.q->subbasis(first, digit.count), level.qp->select(digit.complement));
                level.digits.push_back(std::move(digit));
            }
        }
    }
};

}  // namespace detail

class Context {
  public:
    /// Builds every table for `parameters`.
    explicit Context(const Parameters& parameters)
        : data_(std::make_shared<const detail::ContextData>(parameters)) {}

    [[nodiscard]] const Parameters& parameters() const noexcept { return data_->parameters; }
    [[nodiscard]] std::size_t degree() const noexcept { return parameters().degree(); }
    /// Complex slots at full packing: N / 2.
    [[nodiscard]] std::size_t slots() const noexcept { return parameters().slots(); }
    [[nodiscard]] std::size_t max_level() const noexcept { return parameters().max_level(); }
    /// The default scale 2^log_scale.
    [[nodiscard]] double scale() const noexcept { return parameters().scale(); }

    /// The precomputed data of level l.
    /// @throws LevelError when l > max_level().
    [[nodiscard]] const detail::LevelData& level(std::size_t l) const {
        if (l > max_level()) {
            throw LevelError(cloak::detail::message("ckks::Context::level: level ", l,
                                                    " does not exist; levels run from 0 to ",
                                                    max_level()));
        }
        return data_->levels[l];
    }

    /// The basis keys live in: Q_L ∪ P.
    [[nodiscard]] const std::shared_ptr<const ring::RnsBasis>& key_basis() const noexcept {
        return data_->levels.back().qp;
    }
    [[nodiscard]] const std::shared_ptr<const ring::RnsBasis>& special_basis() const noexcept {
        return data_->p;
    }
    [[nodiscard]] const ring::SpecialFft& fft() const noexcept { return data_->fft; }

    /// The limbs of a key polynomial (over Q_L ∪ P) that level l uses: Q_l ∪ P.
    [[nodiscard]] ring::Poly key_at_level(const ring::Poly& key_poly, std::size_t l) const {
        const detail::LevelData& data = level(l);
        ring::Poly out(data.qp, key_poly.form());
        const std::size_t q_limbs = l + 1;
        for (std::size_t t = 0; t < data.qp->size(); ++t) {
            const std::size_t source = t < q_limbs ? t : max_level() + 1 + (t - q_limbs);
            const auto from = key_poly.limb(source);
            std::copy(from.begin(), from.end(), out.limb(t).begin());
        }
        return out;
    }

    /// The level of a polynomial made by this context, found by basis identity.
    /// @throws InvalidArgumentError when the polynomial is not from this context.
    [[nodiscard]] std::size_t level_of(const ring::Poly& poly, const char* where) const {
        const std::size_t limbs = poly.limbs();
        if (limbs >= 1 && limbs <= data_->levels.size() &&
            poly.basis_ptr() == data_->levels[limbs - 1].q) {
            return limbs - 1;
        }
        throw InvalidArgumentError(cloak::detail::message(
            where,
            ": the object was made by another ckks::Context (or is empty); use "
            "objects from one Context, or serialize and load them into this one"));
    }

    /// Same underlying data (copies of one Context compare equal).
    friend bool operator==(const Context& a, const Context& b) noexcept {
        return a.data_ == b.data_;
    }

    friend std::ostream& operator<<(std::ostream& out, const Context& context) {
        return out << "ckks::Context{" << context.parameters() << "}";
    }

  private:
    std::shared_ptr<const detail::ContextData> data_;
};

}  // namespace cloak::inline v0::ckks
