// cloak's libFuzzer harness: one target per loader, all sharing this code.
//
// Every target feeds its input to one loader twice: as it is (the header
// checks, truncation, lengths), and with the checksum of every frame
// recomputed (so that mutations reach the payload parsers behind the
// checksum, which a fuzzer could never forge). A loader may only return an
// object or throw cloak::SerializationError; any other exception, a crash, a
// sanitizer report or a loaded object that does not save and load again is a
// finding (abort).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace cloak_fuzz {

enum class Target {
    parameters,
    plaintext,
    ciphertext,
    public_key,
    relin_key,
    galois_keys,
    secret_key,
    model,
    encrypted_model,
    bootstrapping_keys,
};

inline constexpr Target all_targets[] = {
    Target::parameters,      Target::plaintext,          Target::ciphertext, Target::public_key,
    Target::relin_key,       Target::galois_keys,        Target::secret_key, Target::model,
    Target::encrypted_model, Target::bootstrapping_keys,
};

/// The target's name: the fuzzer binary is fuzz_<name>, its corpus corpus/<name>.
std::string_view name(Target target);

/// One fuzzer iteration (LLVMFuzzerTestOneInput's body).
int run(Target target, const std::uint8_t* data, std::size_t size);

/// Writes valid objects of every target into directory/<name>/ (the seed corpus).
void write_corpus(const std::string& directory);

}  // namespace cloak_fuzz
