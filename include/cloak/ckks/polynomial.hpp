// cloak: a real polynomial in the power basis or the Chebyshev basis of an
// interval, as the evaluator consumes it and approx/ produces it.
//
// It is plain math with no key material: the plaintext value at a point
// (Horner, or Clenshaw for Chebyshev series), its degree and its parity, which
// lets the homomorphic evaluation skip the zero half of an odd or even series.
#pragma once

#include <cmath>
#include <cstddef>
#include <ostream>
#include <span>
#include <utility>
#include <vector>

#include <cloak/core/error.hpp>

namespace cloak::inline v0::ckks {

/// The basis a polynomial's coefficients are written in.
enum class PolynomialBasis {
    /// p(x) = sum c_i x^i.
    power,
    /// p(x) = sum c_i T_i(t) with t = (2x - a - b) / (b - a) mapping [a, b] onto [-1, 1].
    chebyshev,
};

/// A closed interval [a, b] with a < b.
struct Interval {
    double a = -1.0;
    double b = 1.0;
};

/// Largest degree the homomorphic evaluator accepts (depth 11).
inline constexpr std::size_t max_polynomial_degree = 2047;

class Polynomial {
  public:
    /// p(x) = sum c_i x^i. Trailing zeros are dropped.
    /// @throws InvalidArgumentError for an empty, non-finite or too long list.
    [[nodiscard]] static Polynomial power(std::vector<double> coefficients) {
        return Polynomial(PolynomialBasis::power, std::move(coefficients), Interval{-1.0, 1.0});
    }

    /// p(x) = sum c_i T_i((2x - a - b) / (b - a)). Trailing zeros are dropped.
    /// @throws InvalidArgumentError for a >= b, non-finite values or a bad list.
    [[nodiscard]] static Polynomial chebyshev(std::vector<double> coefficients, Interval interval) {
        return Polynomial(PolynomialBasis::chebyshev, std::move(coefficients), interval);
    }

    [[nodiscard]] PolynomialBasis basis() const noexcept { return basis_; }
    /// The interval of a Chebyshev series ([-1, 1] for the power basis).
    [[nodiscard]] const Interval& interval() const noexcept { return interval_; }
    [[nodiscard]] std::span<const double> coefficients() const noexcept { return coefficients_; }
    [[nodiscard]] std::size_t degree() const noexcept { return coefficients_.size() - 1; }

    /// True when every even-index coefficient is zero (an odd function once the
    /// interval is symmetric, which a Chebyshev series needs for this to matter).
    [[nodiscard]] bool is_odd() const noexcept { return only_parity(1) && centred(); }
    /// True when every odd-index coefficient is zero.
    [[nodiscard]] bool is_even() const noexcept { return only_parity(0) && centred(); }

    /// The value at x, in double (Horner for the power basis, Clenshaw for Chebyshev).
    [[nodiscard]] double operator()(double x) const noexcept {
        if (basis_ == PolynomialBasis::power) {
            double value = 0.0;
            for (std::size_t i = coefficients_.size(); i-- > 0;) {
                value = value * x + coefficients_[i];
            }
            return value;
        }
        const double t = (2.0 * x - interval_.a - interval_.b) / (interval_.b - interval_.a);
        double b1 = 0.0;
        double b2 = 0.0;
        for (std::size_t i = coefficients_.size(); i-- > 1;) {
            const double b0 = coefficients_[i] + 2.0 * t * b1 - b2;
            b2 = b1;
            b1 = b0;
        }
        return coefficients_[0] + t * b1 - b2;
    }

    friend std::ostream& operator<<(std::ostream& os, const Polynomial& p) {
        os << (p.basis_ == PolynomialBasis::power ? "power" : "chebyshev")
           << " polynomial of degree " << p.degree();
        if (p.basis_ == PolynomialBasis::chebyshev) {
            os << " on [" << p.interval_.a << ", " << p.interval_.b << "]";
        }
        return os;
    }

  private:
    Polynomial(PolynomialBasis basis, std::vector<double> coefficients, Interval interval)
        : basis_(basis), coefficients_(std::move(coefficients)), interval_(interval) {
        if (!(std::isfinite(interval_.a) && std::isfinite(interval_.b) &&
              interval_.a < interval_.b)) {
            throw InvalidArgumentError(cloak::detail::message(
                "ckks::Polynomial: interval [", interval_.a, ", ", interval_.b,
                "] is not a finite interval with a < b; pass {.a = lo, .b = hi} with lo < hi"));
        }
        for (std::size_t i = 0; i < coefficients_.size(); ++i) {
            if (!std::isfinite(coefficients_[i])) {
                throw InvalidArgumentError(
                    cloak::detail::message("ckks::Polynomial: coefficient ", i, " is ",
                                           coefficients_[i], "; every coefficient must be finite"));
            }
        }
        while (coefficients_.size() > 1 && coefficients_.back() == 0.0) {
            coefficients_.pop_back();
        }
        if (coefficients_.empty()) {
            throw InvalidArgumentError(
                "ckks::Polynomial: no coefficients; pass at least the constant term");
        }
        if (coefficients_.size() - 1 > max_polynomial_degree) {
            throw InvalidArgumentError(cloak::detail::message(
                "ckks::Polynomial: degree ", coefficients_.size() - 1, " exceeds the limit ",
                max_polynomial_degree, "; split the function or lower the degree"));
        }
    }

    [[nodiscard]] bool only_parity(std::size_t parity) const noexcept {
        for (std::size_t i = 1 - parity; i < coefficients_.size(); i += 2) {
            if (coefficients_[i] != 0.0)
                return false;
        }
        return true;
    }

    [[nodiscard]] bool centred() const noexcept {
        return basis_ == PolynomialBasis::power || interval_.a == -interval_.b;
    }

    PolynomialBasis basis_;
    std::vector<double> coefficients_;
    Interval interval_;
};

}  // namespace cloak::inline v0::ckks
