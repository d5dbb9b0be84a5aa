// cloak's main demo (./build.sh demo).
//
// Until the training layer lands, the most real thing to show is an encrypted
// computation: two vectors of 8192 values are encrypted under 128-bit secure
// CKKS parameters, multiplied, rotated and shifted without decryption, and the
// result is checked against the same computation in the clear. Every step
// prints its measured time, and the result its measured precision.
#include <cloak/cloak.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

double milliseconds_since(Clock::time_point start) {
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

}  // namespace

int main() {
    using namespace cloak;
    auto start = Clock::now();
    const ckks::Context context(ckks::Parameters::from(
        {.log_n = 14, .log_q = {60, 40, 40, 40, 40, 40, 40}, .log_p = {60}, .log_scale = 40}));
    std::printf("cloak demo: %s\n", context.parameters().to_string().c_str());
    std::printf("  %-34s %8.1f ms\n", "context", milliseconds_since(start));

    start = Clock::now();
    const ckks::KeyGenerator keygen(context);
    const ckks::Encoder encoder(context);
    const ckks::Encryptor encryptor(context, keygen.public_key());
    const ckks::Decryptor decryptor(context, keygen.secret_key());
    const ckks::Evaluator evaluator(context, keygen.relin_key(), keygen.galois_keys({1}));
    std::printf("  %-34s %8.1f ms\n", "keys (public, relin, 1 rotation)",
                milliseconds_since(start));

    std::mt19937_64 rng(2026);
    std::uniform_real_distribution<double> uniform(-1, 1);
    std::vector<double> x(context.slots());
    std::vector<double> y(context.slots());
    for (std::size_t i = 0; i < x.size(); ++i) {
        x[i] = uniform(rng);
        y[i] = uniform(rng);
    }

    start = Clock::now();
    const ckks::Ciphertext cx = encryptor.encrypt(encoder.encode(x));
    const ckks::Ciphertext cy = encryptor.encrypt(encoder.encode(y));
    std::printf("  %-34s %8.1f ms\n", "encode + encrypt, 2 vectors", milliseconds_since(start));

    // z = rotate(x * y, 1) + 0.5, computed on ciphertexts only.
    start = Clock::now();
    ckks::Ciphertext z = evaluator.rescale(evaluator.multiply(cx, cy));
    z = evaluator.add(evaluator.rotate(z, 1), 0.5);
    std::printf("  %-34s %8.1f ms\n", "multiply, rescale, rotate, add", milliseconds_since(start));

    start = Clock::now();
    const std::vector<double> result = encoder.decode_real(decryptor.decrypt(z));
    std::printf("  %-34s %8.1f ms\n", "decrypt + decode", milliseconds_since(start));

    std::vector<double> expected(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) {
        const std::size_t j = (i + 1) % x.size();
        expected[i] = x[j] * y[j] + 0.5;
    }
    const double bits = ckks::precision_bits(result, expected);
    std::printf("  slot 0: %.8f, expected %.8f\n", result[0], expected[0]);
    std::printf("  precision over all %zu slots: %.1f bits (max error 2^-%.1f)\n", result.size(),
                bits, bits);
    if (bits < 18) {
        std::puts("cloak demo: FAILED: precision below 18 bits");
        return 1;
    }
    std::puts("cloak demo: the encrypted result matches the clear one");
    return 0;
}
