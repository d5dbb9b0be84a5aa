// Example 5: bootstrapping, refreshing a ciphertext that has used up its levels.
//
// A CKKS ciphertext loses one level per multiplication; at level 0 nothing is
// left. Bootstrapping evaluates the decryption homomorphically and returns a
// ciphertext of the same values at a higher level. It is approximate, like
// everything in CKKS: this example measures its precision (min and mean over
// all slots, in bits), its time and the size of the keys it needs.
//
// The presets here are INSECURE (N = 2^12 or 2^13, sparse secret h = 64, a
// modulus far above the 128-bit bound): they show the algorithm at a size that
// runs in a second. docs/bootstrapping.md says what a secure set looks like.
//
//   example_05_bootstrapping [--preset n12|n13] [--runs k] [--json]
#include <cloak/boot/bootstrapper.hpp>
#include <cloak/cloak.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

using namespace cloak;

int main(int argc, char** argv) {
    bool json = false;
    std::string preset = "n12";
    int runs = 2;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--json") {
            json = true;
        } else if (arg == "--preset" && i + 1 < argc) {
            preset = argv[++i];
        } else if (arg == "--runs" && i + 1 < argc) {
            runs = std::max(1, std::atoi(argv[++i]));
        } else {
            std::fprintf(stderr, "usage: %s [--preset n12|n13] [--runs k] [--json]\n", argv[0]);
            return 2;
        }
    }
    if (preset != "n12" && preset != "n13") {
        std::fprintf(stderr, "unknown preset %s: choose n12 or n13\n", preset.c_str());
        return 2;
    }

    // 1. Parameters: the user's levels (q0 and three 40-bit primes) and, above
    //    them, the levels the bootstrapping circuit consumes. params.ckks() is
    //    the whole chain as ordinary CKKS parameters.
    const boot::Parameters params = boot::Parameters::preset(
        preset == "n12" ? boot::Preset::N12_insecure : boot::Preset::N13_insecure);
    const ckks::Context context(params.ckks());

    // 2. Keys: the bootstrapper generates the rotation keys of its two FFTs,
    //    the conjugation key and a relinearization key, and reports their size.
    const ckks::KeyGenerator keygen(context);
    const auto setup_start = std::chrono::steady_clock::now();
    const boot::Bootstrapper bootstrapper(context, keygen, params);
    const double setup_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - setup_start).count();
    const boot::KeyReport& keys = bootstrapper.keys();

    const ckks::Encoder encoder(context);
    const ckks::Encryptor encryptor(context, keygen.secret_key());
    const ckks::Decryptor decryptor(context, keygen.secret_key());

    // 3. A ciphertext at level 0 (as after a long computation), bootstrapped.
    const std::size_t slots = params.slots();
    std::mt19937_64 rng(2024);
    std::uniform_real_distribution<double> uniform(-1.0, 1.0);
    double worst = 0, sum = 0, seconds = 0;
    std::size_t level_before = 0, level_after = 0;
    for (int run = 0; run < runs; ++run) {
        std::vector<double> x(slots);
        for (double& v : x) {
            v = uniform(rng);
        }
        const ckks::Ciphertext ct = encryptor.encrypt(encoder.encode(x, {.level = 0}));
        level_before = ct.level();
        const auto start = std::chrono::steady_clock::now();
        const ckks::Ciphertext fresh = bootstrapper.bootstrap(ct);
        seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        level_after = fresh.level();
        const std::vector<double> y = encoder.decode_real(decryptor.decrypt(fresh));
        for (std::size_t i = 0; i < slots; ++i) {
            const double e = std::fabs(y[i] - x[i]);
            worst = std::max(worst, e);
            sum += e;
        }
    }
    const double min_bits = -std::log2(worst);
    const double mean_bits = -std::log2(sum / static_cast<double>(slots * runs));
    const double ms = 1000.0 * seconds / runs;
    const double key_mib = static_cast<double>(keys.bytes) / (1024.0 * 1024.0);

    if (json) {
        std::printf(
            "{\"preset\": \"%s\", \"log_n\": %d, \"slots\": %zu, \"log_qp\": %.1f, "
            "\"secret\": \"sparse ternary h = %zu\", \"secure\": false, \"k\": %.0f, "
            "\"cosine_degree\": %zu, \"double_angle\": %zu, \"levels_coeffs_to_slots\": %zu, "
            "\"levels_eval_mod\": %zu, \"levels_slots_to_coeffs\": %zu, \"level_before\": %zu, "
            "\"level_after\": %zu, \"runs\": %d, \"ms_per_bootstrap\": %.1f, "
            "\"setup_s\": %.2f, \"rotation_keys\": %zu, \"conjugation_keys\": %zu, "
            "\"key_mib\": %.1f, \"precision_min_bits\": %.2f, \"precision_mean_bits\": %.2f}\n",
            preset.c_str(), params.ckks().log_n(), slots, params.ckks().log_qp(),
            params.ckks().hamming_weight(), params.k(), params.cosine_degree(),
            params.double_angle(), params.coeffs_to_slots_levels(), params.eval_mod_levels(),
            params.slots_to_coeffs_levels(), level_before, level_after, runs, ms, setup_seconds,
            keys.rotation_keys, keys.conjugation_keys, key_mib, min_bits, mean_bits);
        return 0;
    }
    std::printf("%s\n", params.to_string().c_str());
    std::printf(
        "keys: %zu rotations + %zu conjugation + relinearization, %.1f MiB, %.2f s "
        "(setup with transform encoding %.2f s)\n",
        keys.rotation_keys, keys.conjugation_keys, key_mib, keys.seconds, setup_seconds);
    std::printf("level %zu -> %zu after bootstrapping (of %zu)\n", level_before, level_after,
                params.ckks().max_level());
    std::printf("time per bootstrap: %.1f ms (%d runs, %zu slots)\n", ms, runs, slots);
    std::printf("precision over %zu slots x %d runs: min %.2f bits, mean %.2f bits\n", slots, runs,
                min_bits, mean_bits);
    return 0;
}
