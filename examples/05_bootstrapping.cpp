// Example 5: bootstrapping, refreshing a ciphertext that has used up its levels.
//
// A CKKS ciphertext loses one level per multiplication; at level 0 nothing is
// left. Bootstrapping evaluates the decryption homomorphically and returns a
// ciphertext of the same values at a higher level. It is approximate, like
// everything in CKKS: this example measures its precision (min and mean over
// all slots, in bits), its time and the size of the keys it needs.
//
// Presets: n16 is the 128-bit secure one (N = 2^16, 32768 complex slots, a dense
// secret, 9 levels left; keys take about 6 GiB and setup about a minute);
// n16-sparse the same bootstrapping 4096 slots; n12
// and n13 are INSECURE (small N, sparse secret h = 64, a modulus far above the
// 128-bit bound) and run in a second, for tests and demos.
//
//   example_05_bootstrapping [--preset n12|n13|n16|n16-sparse] [--runs k] [--iterations 1|2]
//   [--json]
//
// --iterations 2 runs Meta-BTS (two bootstraps, about twice the precision).
// --keys-file PATH: the key owner streams the keys into PATH one key at a time
// (io::save_bootstrapping_keys_file) and a bootstrapper without keys, the
// server's, loads and checks them from it (io::load_bootstrapping_keys_file);
// prints the file's size and both times. PATH is left in place.
// Threads: OMP_NUM_THREADS (default: all cores).
#include <cloak/boot/bootstrapper.hpp>
#include <cloak/cloak.hpp>

#include <sys/resource.h>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <random>
#include <string>
#include <vector>

using namespace cloak;

int main(int argc, char** argv) {
    bool json = false;
    std::string preset = "n12";
    int runs = 2;
    std::string keys_file;
    std::size_t iterations = 1;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--json") {
            json = true;
        } else if (arg == "--preset" && i + 1 < argc) {
            preset = argv[++i];
        } else if (arg == "--iterations" && i + 1 < argc) {
            iterations = static_cast<std::size_t>(std::max(1, std::atoi(argv[++i])));
        } else if (arg == "--keys-file" && i + 1 < argc) {
            keys_file = argv[++i];
        } else if (arg == "--runs" && i + 1 < argc) {
            runs = std::max(1, std::atoi(argv[++i]));
        } else {
            std::fprintf(
                stderr,
                "usage: %s [--preset n12|n13|n16|n16-sparse] [--runs k] [--iterations 1|2] "
                "[--keys-file PATH] [--json]\n",
                argv[0]);
            return 2;
        }
    }
    if (preset != "n12" && preset != "n13" && preset != "n16" && preset != "n16-sparse") {
        std::fprintf(stderr, "unknown preset %s: choose n12, n13, n16 or n16-sparse\n",
                     preset.c_str());
        return 2;
    }

    // 1. Parameters: the user's levels (q0 and three 40-bit primes) and, above
    //    them, the levels the bootstrapping circuit consumes. params.ckks() is
    //    the whole chain as ordinary CKKS parameters.
    const boot::Parameters params =
        boot::Parameters::preset(preset == "n12"   ? boot::Preset::N12_insecure
                                 : preset == "n13" ? boot::Preset::N13_insecure
                                 : preset == "n16" ? boot::Preset::N16_dense
                                                   : boot::Preset::N16_dense_sparse);
    const ckks::Context context(params.ckks());

    // 2. Keys: the bootstrapper generates the rotation keys of its two FFTs,
    //    the conjugation key and a relinearization key, and reports their size.
    const ckks::KeyGenerator keygen(context);
    const auto seconds_since = [](std::chrono::steady_clock::time_point t) {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
    };
    const auto setup_start = std::chrono::steady_clock::now();
    std::optional<boot::Bootstrapper> holder;
    double save_seconds = 0, load_seconds = 0;
    std::uintmax_t file_bytes = 0;
    if (keys_file.empty()) {
        holder.emplace(context, keygen, params);
    } else {
        // The key owner writes each key as soon as it is made; the server's
        // bootstrapper holds no secret and loads the bundle, every key checked.
        const auto save_start = std::chrono::steady_clock::now();
        io::save_bootstrapping_keys_file(keys_file, context, keygen, params);
        save_seconds = seconds_since(save_start);
        file_bytes = std::filesystem::file_size(keys_file);
        holder.emplace(context, params);
        const auto load_start = std::chrono::steady_clock::now();
        io::load_bootstrapping_keys_file(keys_file, *holder);
        load_seconds = seconds_since(load_start);
    }
    const boot::Bootstrapper& bootstrapper = *holder;
    // With a keys file the keys were generated while they were written.
    const double generation_seconds = keys_file.empty() ? holder->keys().seconds : save_seconds;
    const double setup_seconds = seconds_since(setup_start);
    const boot::KeyReport& keys = bootstrapper.keys();

    const ckks::Encoder encoder(context);
    const ckks::Encryptor encryptor(context, keygen.secret_key());
    const ckks::Decryptor decryptor(context, keygen.secret_key());

    // 3. A ciphertext at level 0 (as after a long computation), bootstrapped.
    //    Values are complex, uniform in [-1, 1] + i [-1, 1], in every slot.
    //    Precision is measured against the values encrypted and against the
    //    input's own decryption (what bootstrapping itself loses).
    const std::size_t slots = params.slots();
    std::mt19937_64 rng(2024);
    std::uniform_real_distribution<double> uniform(-1.0, 1.0);
    double worst = 0, sum = 0, worst_input = 0, sum_input = 0;
    std::vector<double> seconds;
    std::size_t level_before = 0, level_after = 0;
    for (int run = 0; run < runs; ++run) {
        std::vector<std::complex<double>> x(slots);
        for (std::complex<double>& v : x) {
            v = {uniform(rng), uniform(rng)};
        }
        const ckks::Ciphertext ct =
            encryptor.encrypt(encoder.encode(x, {.level = 0, .slots = slots}));
        const std::vector<std::complex<double>> input = encoder.decode(decryptor.decrypt(ct));
        level_before = ct.level();
        const auto start = std::chrono::steady_clock::now();
        const ckks::Ciphertext fresh = bootstrapper.bootstrap(ct, iterations);
        seconds.push_back(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
        level_after = fresh.level();
        const std::vector<std::complex<double>> y = encoder.decode(decryptor.decrypt(fresh));
        for (std::size_t i = 0; i < slots; ++i) {
            worst = std::max(worst, std::abs(y[i] - x[i]));
            sum += std::abs(y[i] - x[i]);
            worst_input = std::max(worst_input, std::abs(y[i] - input[i]));
            sum_input += std::abs(y[i] - input[i]);
        }
    }
    const double total = static_cast<double>(slots) * runs;
    const double min_bits = -std::log2(worst);
    const double mean_bits = -std::log2(sum / total);
    const double min_bits_input = -std::log2(worst_input);
    const double mean_bits_input = -std::log2(sum_input / total);
    // The first run also fills the per-thread buffer caches; the median of the
    // runs is the steady state.
    std::vector<double> sorted = seconds;
    std::sort(sorted.begin(), sorted.end());
    const double median_ms = 1000.0 * sorted[sorted.size() / 2];
    const double first_ms = 1000.0 * seconds.front();
    const double key_mib = static_cast<double>(keys.bytes) / (1024.0 * 1024.0);
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    const double peak_mib = static_cast<double>(usage.ru_maxrss) / 1024.0;
    const bool secure = params.ckks().security() != rlwe::Security::insecure_for_testing_only;
    char secret[96];
    if (params.ckks().secret_distribution() == ckks::SecretDistribution::sparse_ternary) {
        std::snprintf(secret, sizeof secret, "sparse ternary h = %zu",
                      params.ckks().hamming_weight());
    } else {
        std::snprintf(secret, sizeof secret, "uniform ternary, encapsulated h = %zu",
                      params.encapsulation_hamming_weight());
    }
    const int threads = core::available_threads();

    if (json) {
        std::printf(
            "{\"preset\": \"%s\", \"log_n\": %d, \"slots\": %zu, \"log_qp\": %.1f, "
            "\"secret\": \"%s\", \"secure\": %s, \"k\": %.0f, \"cosine_degree\": %zu, "
            "\"double_angle\": %zu, \"levels_coeffs_to_slots\": %zu, \"levels_eval_mod\": %zu, "
            "\"levels_slots_to_coeffs\": %zu, \"level_before\": %zu, \"level_after\": %zu, "
            "\"iterations\": %zu, \"threads\": %d, \"runs\": %d, \"ms_per_bootstrap_median\": "
            "%.1f, \"ms_first\": %.1f, \"setup_s\": %.2f, \"key_generation_s\": %.2f, "
            "\"rotation_keys\": %zu, \"conjugation_keys\": %zu, \"encapsulation_keys\": %zu, "
            "\"key_mib\": %.1f, \"peak_memory_mib\": %.1f, \"precision_min_bits\": %.2f, "
            "\"precision_mean_bits\": %.2f, \"precision_vs_input_min_bits\": %.2f, "
            "\"precision_vs_input_mean_bits\": %.2f, \"keys_file_bytes\": %ju, "
            "\"keys_save_s\": %.2f, \"keys_load_s\": %.2f}\n",
            preset.c_str(), params.ckks().log_n(), slots, params.ckks().log_qp(), secret,
            secure ? "true" : "false", params.k(), params.cosine_degree(), params.double_angle(),
            params.coeffs_to_slots_levels(), params.eval_mod_levels(),
            params.slots_to_coeffs_levels(), level_before, level_after, iterations, threads, runs,
            median_ms, first_ms, setup_seconds, generation_seconds, keys.rotation_keys,
            keys.conjugation_keys, keys.encapsulation_keys, key_mib, peak_mib, min_bits, mean_bits,
            min_bits_input, mean_bits_input, file_bytes, save_seconds, load_seconds);
        return 0;
    }
    std::printf("%s\n", params.to_string().c_str());
    std::printf("secret: %s; %s\n", secret,
                secure ? "128-bit secure" : "INSECURE (test parameters)");
    std::printf(
        "keys: %zu rotations + %zu conjugation + relinearization + %zu encapsulation, %.1f MiB, "
        "%.2f s (setup with transform encoding %.2f s)\n",
        keys.rotation_keys, keys.conjugation_keys, keys.encapsulation_keys, key_mib,
        generation_seconds, setup_seconds);
    if (!keys_file.empty()) {
        std::printf(
            "keys file %s: %ju bytes (%.2f GiB), written key by key in %.1f s, "
            "loaded and checked in %.1f s\n",
            keys_file.c_str(), file_bytes,
            static_cast<double>(file_bytes) / (1024.0 * 1024.0 * 1024.0), save_seconds,
            load_seconds);
    }
    std::printf("level %zu -> %zu after bootstrapping (of %zu)\n", level_before, level_after,
                params.ckks().max_level());
    std::printf(
        "time per bootstrap (%zu iteration%s, %d thread%s): median %.1f ms of %d runs, "
        "first %.1f ms\n",
        iterations, iterations == 1 ? "" : "s", threads, threads == 1 ? "" : "s", median_ms, runs,
        first_ms);
    std::printf("precision over %zu complex slots x %d runs: min %.2f bits, mean %.2f bits\n",
                slots, runs, min_bits, mean_bits);
    std::printf("  against the input's own decryption: min %.2f bits, mean %.2f bits\n",
                min_bits_input, mean_bits_input);
    std::printf("peak memory: %.0f MiB\n", peak_mib);
    return 0;
}
