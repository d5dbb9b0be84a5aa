// cloak: federated aggregation of encrypted model updates.
//
// Several parties hold one public key; each encrypts its local update (a
// gradient or a model, weighted by its sample count) and sends the ciphertext
// to an aggregator, which adds them without decrypting anything. Only the key
// owner decrypts, and only the sum: no single party's update is ever visible
// (secure aggregation by additive homomorphism, as in Phong et al. 2018,
// "Privacy-preserving deep learning via additively homomorphic encryption").
// The key owner should not also be an aggregator that sees individual
// ciphertexts and can decrypt them: keep the roles apart, or add
// differential-privacy noise to the updates (ml/privacy.hpp).
#pragma once

#include <cmath>
#include <cstddef>
#include <span>
#include <vector>

#include <cloak/ckks/ciphertext.hpp>
#include <cloak/ckks/encoder.hpp>
#include <cloak/ckks/encryptor.hpp>
#include <cloak/ckks/evaluator.hpp>
#include <cloak/core/error.hpp>

namespace cloak::inline v0::ml {

/// One party's contribution: its update times its weight (usually its sample
/// count), and the weight in the clear (counts are public in FedAvg).
struct EncryptedUpdate {
    ckks::Ciphertext values;
    double weight = 1;
    std::size_t size = 0;
};

/// A party's step: encrypts weight * update with the shared public key.
/// @throws InvalidArgumentError for an empty or too long update, a weight that
///         is not positive, or non-finite values.
[[nodiscard]] inline EncryptedUpdate encrypt_update(const ckks::Encryptor& encryptor,
                                                    const ckks::Encoder& encoder,
                                                    std::span<const double> update,
                                                    double weight = 1) {
    constexpr const char* where = "ml::encrypt_update";
    if (update.empty() || update.size() > encoder.context().slots()) {
        throw InvalidArgumentError(
            cloak::detail::message(where, ": an update of ", update.size(), " values; pass 1 to ",
                                   encoder.context().slots(), " (the slots of one ciphertext)"));
    }
    if (!(weight > 0) || !std::isfinite(weight)) {
        throw InvalidArgumentError(cloak::detail::message(
            where, ": weight ", weight, " must be positive (the party's sample count)"));
    }
    std::vector<double> scaled(update.begin(), update.end());
    for (double& v : scaled)
        v *= weight;
    return {encryptor.encrypt(encoder.encode(scaled)), weight, update.size()};
}

/// The aggregator's step: the sum of the updates, still encrypted, and the sum
/// of the weights. Never decrypts.
/// @throws InvalidArgumentError for no updates or updates of different sizes;
///         the evaluator's errors for ciphertexts of another context.
[[nodiscard]] inline EncryptedUpdate aggregate(const ckks::Evaluator& eval,
                                               std::span<const EncryptedUpdate> updates) {
    if (updates.empty()) {
        throw InvalidArgumentError("ml::aggregate: no updates; pass at least one");
    }
    EncryptedUpdate sum = updates.front();
    for (std::size_t k = 1; k < updates.size(); ++k) {
        if (updates[k].size != sum.size) {
            throw InvalidArgumentError(cloak::detail::message(
                "ml::aggregate: update ", k, " has ", updates[k].size, " values, update 0 has ",
                sum.size, "; every party must send the same model shape"));
        }
        sum.values = eval.add(sum.values, updates[k].values);
        sum.weight += updates[k].weight;
    }
    return sum;
}

/// The key owner's step: the weighted average sum / total weight, decrypted.
[[nodiscard]] inline std::vector<double> decrypt_average(const ckks::Decryptor& decryptor,
                                                         const ckks::Encoder& encoder,
                                                         const EncryptedUpdate& sum) {
    std::vector<double> values = encoder.decode_real(decryptor.decrypt(sum.values));
    values.resize(sum.size);
    for (double& v : values)
        v /= sum.weight;
    return values;
}

}  // namespace cloak::inline v0::ml
