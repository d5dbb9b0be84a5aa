// cloak: errors.
//
// Every misuse of the library throws a cloak::Error subclass. Messages name the
// operation, the offending values, the limit and the way out, so that a user can
// fix the call without reading the library's source.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace cloak::inline v0 {

/// Stable error codes; the numeric values never change between versions.
enum class errc : int {
    invalid_argument = 1,  ///< a value outside its documented range
    parameter = 2,         ///< invalid scheme or ring parameters
    security = 3,          ///< parameters below the 128-bit security bound
    shape_mismatch = 4,    ///< operands with different sizes, bases or forms
    scale_mismatch = 5,    ///< CKKS operands at different scales
    level = 6,             ///< a CKKS level outside the range an operation needs
    key_missing = 7,       ///< an evaluation key that was not generated
    serialization = 8,     ///< corrupt, truncated or mismatched serialized data
    randomness = 9,        ///< the entropy source failed
};

/// Name of an error code, as shown in messages: "[cloak.error.4 shape_mismatch]".
constexpr std::string_view errc_name(errc code) noexcept {
    switch (code) {
        case errc::invalid_argument:
            return "invalid_argument";
        case errc::parameter:
            return "parameter";
        case errc::security:
            return "security";
        case errc::shape_mismatch:
            return "shape_mismatch";
        case errc::scale_mismatch:
            return "scale_mismatch";
        case errc::level:
            return "level";
        case errc::key_missing:
            return "key_missing";
        case errc::serialization:
            return "serialization";
        case errc::randomness:
            return "randomness";
    }
    return "unknown";
}

/// Base of every exception cloak throws.
class Error : public std::runtime_error {
  public:
    Error(errc code, const std::string& message)
        : std::runtime_error("[cloak.error." + std::to_string(static_cast<int>(code)) + " " +
                             std::string(errc_name(code)) + "] " + message),
          code_(code) {}

    [[nodiscard]] errc code() const noexcept { return code_; }

  private:
    errc code_;
};

/// A value outside its documented range (a bit size, a ring degree, a count).
class InvalidArgumentError : public Error {
  public:
    explicit InvalidArgumentError(const std::string& message)
        : Error(errc::invalid_argument, message) {}
};

/// Scheme or ring parameters that cannot be used.
class ParameterError : public Error {
  public:
    explicit ParameterError(const std::string& message) : Error(errc::parameter, message) {}
};

/// Parameters weaker than the security bound, without the explicit opt-in.
class SecurityError : public Error {
  public:
    explicit SecurityError(const std::string& message) : Error(errc::security, message) {}
};

/// Operands that do not fit together: sizes, RNS bases, or coefficient/evaluation form.
class ShapeError : public Error {
  public:
    explicit ShapeError(const std::string& message) : Error(errc::shape_mismatch, message) {}
};

/// CKKS operands whose scales differ.
class ScaleMismatchError : public Error {
  public:
    explicit ScaleMismatchError(const std::string& message)
        : Error(errc::scale_mismatch, message) {}
};

/// A CKKS level outside what an operation needs.
class LevelError : public Error {
  public:
    explicit LevelError(const std::string& message) : Error(errc::level, message) {}
};

/// An evaluation key (relinearization, rotation) that was never generated.
class KeyMissingError : public Error {
  public:
    explicit KeyMissingError(const std::string& message) : Error(errc::key_missing, message) {}
};

/// Serialized bytes that are corrupt, truncated or made for other parameters.
class SerializationError : public Error {
  public:
    explicit SerializationError(const std::string& message) : Error(errc::serialization, message) {}
};

/// The operating system's entropy source failed.
class RandomnessError : public Error {
  public:
    explicit RandomnessError(const std::string& message) : Error(errc::randomness, message) {}
};

namespace detail {

/// Concatenates streamable values into one message (g++ 12 has no <format>).
template <typename... Parts>
[[nodiscard]] std::string message(Parts&&... parts) {
    std::ostringstream out;
    (out << ... << std::forward<Parts>(parts));
    return out.str();
}

}  // namespace detail
}  // namespace cloak::inline v0
