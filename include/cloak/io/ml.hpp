// cloak: saving and loading trained models (ml::Model, ml::EncryptedModel).
//
//     io::save(stream, model);                          // plaintext: no context
//     ml::Model m = io::load<ml::Model>(stream);
//     io::save(stream, encrypted_model, context);       // encrypted weights
//     ml::EncryptedModel e = io::load<ml::EncryptedModel>(stream, context);
//
// Both are one frame of io/format.hpp, checked as every other object is. A
// plaintext model belongs to no parameter set: its fingerprint field is all
// zeros (and must be). Payload layouts (integers little-endian, f64 as their
// IEEE 754 bit pattern):
//   Model           u64 weight count w (1 .. max_model_weights), w f64 weights
//                   (finite), u8 normalizer present (0 or 1); if present:
//                   u8 scaling (0 max_abs, 1 min_max, 2 standardize), u8 clip
//                   (0 or 1), then w - 1 f64 scales and w - 1 f64 offsets
//   EncryptedModel  u64 features, u64 rows, then the ciphertext payload of
//                   io::save(ckks::Ciphertext), then u8 privacy report present;
//                   if present: f64 epsilon, delta, sigma, sensitivity
// The packing of an encrypted model is not stored field by field: it is
// recomputed from (rows, features, the context's slots) as training made it.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include <cloak/ckks/ciphertext.hpp>
#include <cloak/ckks/context.hpp>
#include <cloak/core/error.hpp>
#include <cloak/io/format.hpp>
#include <cloak/io/serialize.hpp>
#include <cloak/ml/dataset.hpp>
#include <cloak/ml/logistic_regression.hpp>

namespace cloak::inline v0::io {

/// The most weights (bias included) a saved ml::Model may have: the bound that
/// keeps a corrupt count from allocating (2^20 weights, 8 MiB).
inline constexpr std::uint64_t max_model_weights = std::uint64_t{1} << 20;

/// The most samples an encrypted model's packing may describe (2^48).
inline constexpr std::uint64_t max_model_rows = std::uint64_t{1} << 48;

namespace detail {

inline double read_finite(ByteReader& r, std::string_view field) {
    const double x = r.f64(field);
    if (!std::isfinite(x)) {
        throw SerializationError(cloak::detail::message(r.where(), ": ", field, " is ", x,
                                                        ", not finite; the data is corrupt"));
    }
    return x;
}

inline bool read_flag(ByteReader& r, std::string_view field) {
    const std::uint8_t flag = r.u8(field);
    if (flag > 1) {
        throw SerializationError(
            cloak::detail::message(r.where(), ": ", field, " is ", int{flag}, "; expected 0 or 1"));
    }
    return flag == 1;
}

template <>
struct StandaloneCodec<ml::Model> {
    static constexpr ObjectType type = ObjectType::model;
    static constexpr std::string_view load_name = "io::load<ml::Model>";
    // The count, the weights, the flags, and a normalizer's two vectors.
    static constexpr std::uint64_t max_payload =
        8 + 8 * max_model_weights + 3 + 2 * 8 * (max_model_weights - 1);

    static void write(ByteWriter& w, const ml::Model& model) {
        const std::size_t count = model.weights.size();
        if (count == 0 || count > max_model_weights) {
            throw InvalidArgumentError(cloak::detail::message(
                "io::save (ml::Model): the model has ", count, " weights; a saved model has 1 to ",
                max_model_weights, " (the bias first)"));
        }
        if (model.normalizer && model.normalizer->features() + 1 != count) {
            throw InvalidArgumentError(cloak::detail::message(
                "io::save (ml::Model): the normalizer has ", model.normalizer->features(),
                " features but the model has ", count,
                " weights; a model's normalizer has one feature per weight after the bias"));
        }
        w.u64(count);
        for (std::size_t j = 0; j < count; ++j) {
            if (!std::isfinite(model.weights[j])) {
                throw InvalidArgumentError(cloak::detail::message(
                    "io::save (ml::Model): weight ", j, " is ", model.weights[j],
                    "; only finite weights can be saved (training diverged?)"));
            }
            w.f64(model.weights[j]);
        }
        w.u8(model.normalizer ? 1 : 0);
        if (model.normalizer) {
            w.u8(static_cast<std::uint8_t>(model.normalizer->scaling()));
            w.u8(model.normalizer->clips() ? 1 : 0);
            for (double x : model.normalizer->scale()) {
                w.f64(x);
            }
            for (double x : model.normalizer->offset()) {
                w.f64(x);
            }
        }
    }

    static ml::Model read(ByteReader& r) {
        const std::uint64_t count = r.u64("the weight count");
        // The count is checked against the bytes really there before allocating.
        if (count == 0 || count > max_model_weights || count * 8 > r.remaining()) {
            throw SerializationError(cloak::detail::message(
                r.where(), ": weight count ", count, " is not in [1, ", max_model_weights,
                "] or exceeds the ", r.remaining(), " bytes left; the data is corrupt"));
        }
        ml::Model model;
        model.weights.resize(static_cast<std::size_t>(count));
        for (double& x : model.weights) {
            x = read_finite(r, "a weight");
        }
        if (read_flag(r, "the normalizer flag")) {
            const std::uint8_t scaling = r.u8("the scaling");
            if (scaling > static_cast<std::uint8_t>(ml::Scaling::standardize)) {
                throw SerializationError(cloak::detail::message(
                    r.where(), ": scaling ", int{scaling},
                    " is unknown; expected 0 (max_abs), 1 (min_max) or 2 (standardize)"));
            }
            const bool clip = read_flag(r, "the clip flag");
            const std::size_t features = model.weights.size() - 1;
            if (features * 16 > r.remaining()) {
                throw SerializationError(cloak::detail::message(
                    r.where(), ": the normalizer needs ", features * 16, " bytes for ", features,
                    " features but ", r.remaining(), " are left; the data is corrupt"));
            }
            std::vector<double> scale(features);
            std::vector<double> offset(features);
            for (double& x : scale) {
                x = r.f64("a normalizer scale");
            }
            for (double& x : offset) {
                x = r.f64("a normalizer offset");
            }
            try {
                model.normalizer = ml::Normalizer(static_cast<ml::Scaling>(scaling),
                                                  std::move(scale), std::move(offset), clip);
            } catch (const Error& error) {
                throw SerializationError(cloak::detail::message(
                    r.where(), ": the stored normalizer is invalid: ", error.what()));
            }
        }
        return model;
    }
};

template <>
struct Codec<ml::EncryptedModel> {
    static constexpr ObjectType type = ObjectType::encrypted_model;
    static constexpr std::string_view load_name = "io::load<ml::EncryptedModel>";

    static std::uint64_t max_payload(const ckks::Context& context) {
        return 8 + 8 + Codec<ckks::Ciphertext>::max_payload(context) + 1 + 4 * 8;
    }

    static void write(ByteWriter& w, const ml::EncryptedModel& model,
                      const ckks::Context& context) {
        const ml::Packing& p = model.packing;
        if (p.slots != context.slots() || p.features >= context.slots() || p.rows == 0 ||
            p.rows > max_model_rows ||
            !same_packing(p, ml::Packing::of(p.rows, p.features, context.slots()))) {
            throw InvalidArgumentError(
                cloak::detail::message("io::save (ml::EncryptedModel): the packing (", p.rows,
                                       " rows, ", p.features, " features, ", p.slots,
                                       " slots) is not the one training makes with this "
                                       "Context's ",
                                       context.slots(),
                                       " slots; save a model with the Context it was "
                                       "trained with"));
        }
        w.u64(p.features);
        w.u64(p.rows);
        Codec<ckks::Ciphertext>::write(w, model.weights, context);
        w.u8(model.privacy ? 1 : 0);
        if (model.privacy) {
            w.f64(model.privacy->epsilon);
            w.f64(model.privacy->delta);
            w.f64(model.privacy->sigma);
            w.f64(model.privacy->sensitivity);
        }
    }

    static ml::EncryptedModel read(ByteReader& r, const ckks::Context& context) {
        const std::uint64_t features = r.u64("the feature count");
        const std::uint64_t rows = r.u64("the row count");
        if (features >= context.slots() || rows == 0 || rows > max_model_rows) {
            throw SerializationError(cloak::detail::message(
                r.where(), ": ", features, " features and ", rows, " rows; expected 0 to ",
                context.slots() - 1, " features (below the ", context.slots(), " slots) and 1 to ",
                max_model_rows, " rows; the data is corrupt"));
        }
        ml::EncryptedModel model;
        try {
            model.packing = ml::Packing::of(static_cast<std::size_t>(rows),
                                            static_cast<std::size_t>(features), context.slots());
        } catch (const Error& error) {
            throw SerializationError(cloak::detail::message(
                r.where(), ": the stored packing is invalid: ", error.what()));
        }
        model.weights = Codec<ckks::Ciphertext>::read(r, context);
        if (read_flag(r, "the privacy report flag")) {
            ml::PrivacyReport report;
            report.epsilon = read_finite(r, "epsilon");
            report.delta = read_finite(r, "delta");
            report.sigma = read_finite(r, "sigma");
            report.sensitivity = read_finite(r, "the sensitivity");
            if (!(report.epsilon > 0 && report.delta > 0 && report.delta < 1 && report.sigma >= 0 &&
                  report.sensitivity >= 0)) {
                throw SerializationError(cloak::detail::message(
                    r.where(), ": the privacy report (epsilon ", report.epsilon, ", delta ",
                    report.delta, ", sigma ", report.sigma, ", sensitivity ", report.sensitivity,
                    ") is out of range: epsilon > 0, 0 < delta < 1, sigma and sensitivity >= 0"));
            }
            model.privacy = report;
        }
        return model;
    }

  private:
    static bool same_packing(const ml::Packing& a, const ml::Packing& b) noexcept {
        return a.block == b.block && a.samples_per_ciphertext == b.samples_per_ciphertext &&
               a.ciphertexts == b.ciphertexts && a.features == b.features && a.rows == b.rows &&
               a.slots == b.slots;
    }
};

}  // namespace detail
}  // namespace cloak::inline v0::io
