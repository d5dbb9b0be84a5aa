// Example 1: CKKS basics, from parameters to a decrypted result.
//
// CKKS encrypts vectors of real (or complex) numbers and computes on them
// approximately: every result carries a small error, which this example
// measures and prints as precision in bits, -log2(max abs error).
#include <cloak/cloak.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <vector>

using namespace cloak;

int main() {
    // 1. Parameters. N = 2^14 gives 8192 slots. q0 (60 bits) holds the result at
    //    the end; each 40-bit prime is one level, used up by one rescale after a
    //    multiplication; the special prime (log_p) serves key switching only.
    //    Parameters::from checks the 128-bit security bound (log QP <= 438 here).
    const ckks::Parameters params = ckks::Parameters::from({
        .log_n = 14,
        .log_q = {60, 40, 40, 40, 40, 40, 40},
        .log_p = {60},
        .log_scale = 40,
    });
    std::printf("%s\n", params.to_string().c_str());

    // 2. The context precomputes the NTT tables and conversion constants once.
    const ckks::Context context(params);

    // 3. Keys. The secret key stays with the data owner; the relinearization key
    //    lets the server multiply ciphertexts, the Galois keys let it rotate
    //    slots (here by 1 and 2) and conjugate.
    const auto start = std::chrono::steady_clock::now();
    const ckks::KeyGenerator keygen(context);
    const ckks::PublicKey public_key = keygen.public_key();
    const ckks::RelinKey relin_key = keygen.relin_key();
    const ckks::GaloisKeys galois_keys = keygen.galois_keys({1, 2}, /*conjugate=*/true);
    std::printf("keys generated in %.0f ms\n",
                std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                    .count());

    const ckks::Encoder encoder(context);
    const ckks::Encryptor encryptor(context, public_key);
    const ckks::Decryptor decryptor(context, keygen.secret_key());
    const ckks::Evaluator evaluator(context, relin_key, galois_keys);

    // 4. Data: two vectors, one value per slot.
    std::vector<double> x(context.slots());
    std::vector<double> y(context.slots());
    for (std::size_t i = 0; i < x.size(); ++i) {
        x[i] = static_cast<double>(i % 100) / 100.0;
        y[i] = 0.5 - static_cast<double>(i % 7) / 10.0;
    }

    // 5. Encode (vector -> polynomial at scale 2^40) and encrypt.
    const ckks::Ciphertext cx = encryptor.encrypt(encoder.encode(x));
    const ckks::Ciphertext cy = encryptor.encrypt(encoder.encode(y));

    // 6. Compute z = rotate(x * y, 1) + 0.25 on encrypted data. The product has
    //    scale 2^80; rescale divides by the last prime to bring it back near
    //    2^40, using one level. Then rotate one slot left and add a constant.
    ckks::Ciphertext z = evaluator.multiply(cx, cy);
    evaluator.rescale_inplace(z);
    z = evaluator.rotate(z, 1);
    z = evaluator.add(z, 0.25);
    std::printf("result at level %zu of %zu, scale 2^%.3f\n", z.level(), context.max_level(),
                std::log2(z.scale()));

    // 7. Decrypt, decode and compare with the same computation in the clear.
    const std::vector<double> result = encoder.decode_real(decryptor.decrypt(z));
    std::vector<double> expected(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) {
        const std::size_t j = (i + 1) % x.size();
        expected[i] = x[j] * y[j] + 0.25;
    }
    const double bits = ckks::precision_bits(result, expected);
    std::printf("slot 0: %.9f (expected %.9f)\n", result[0], expected[0]);
    std::printf("precision over all %zu slots: %.1f bits\n", result.size(), bits);
    return bits >= 18 ? 0 : 1;
}
