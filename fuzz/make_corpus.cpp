// Writes the seed corpus of every fuzz target: valid objects made at build time
// (no binary blobs in the repository).
//     make_corpus <directory>     -> <directory>/<target>/seed-<k>
#include "fuzz.hpp"

#include <cstdio>
#include <exception>

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s <corpus directory>\n", argv[0]);
        return 2;
    }
    try {
        cloak_fuzz::write_corpus(argv[1]);
    } catch (const std::exception& error) {
        std::fprintf(stderr, "make_corpus: %s\n", error.what());
        return 1;
    }
    return 0;
}
