#!/usr/bin/env bash
# cloak's one entry point for set-up, demo, tests and benchmarks.
#   ./build.sh demo    install missing Debian packages, build, run the main demo
#   ./build.sh test    install missing Debian packages, build and run the tests
#                      (Release, then AddressSanitizer + UndefinedBehaviorSanitizer,
#                      then each loader's libFuzzer target for about 5 s)
#   ./build.sh bench   build and run the benchmarks (single thread)
#   ./build.sh large   build and run the large-N tests (ctest label "large")
#   ./build.sh shared-data   tests on ../shared/data (ctest label "shared-data")
set -euo pipefail
cd "$(dirname "$0")"

# clang-14, libclang-rt-14-dev (libclang_rt.fuzzer and the sanitizer runtimes)
# and libomp-14-dev (clang's OpenMP) build the fuzz targets.
packages=(g++ cmake ninja-build libgmp-dev libntl-dev libsodium-dev catch2 libbenchmark-dev
    clang-14 libclang-rt-14-dev libomp-14-dev)

install_missing_packages() {
    local missing=()
    for package in "${packages[@]}"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
            missing+=("$package")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "cloak: installing missing Debian packages: ${missing[*]}"
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || {
            echo "cloak: run as root or install: apt-get install ${missing[*]}" >&2
            exit 1
        }
        sudo=(sudo)
    fi
    "${sudo[@]}" apt-get update -q
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
}

build() {  # build <preset> [targets...]
    local preset=$1
    shift
    cmake --preset "$preset" >/dev/null
    if [ $# -gt 0 ]; then
        cmake --build --preset "$preset" --target "$@"
    else
        cmake --build --preset "$preset"
    fi
}

case "${1:-}" in
demo)
    install_missing_packages
    build release logistic_regression
    ./build/release/examples/logistic_regression
    ;;
test)
    install_missing_packages
    build release
    ctest --preset release
    build asan
    ctest --preset asan
    build fuzz
    ctest --preset fuzz
    ;;
bench)
    install_missing_packages
    build release
    for program in build/release/bench/*_bench; do
        [ -x "$program" ] || continue
        OMP_NUM_THREADS=1 "$program" --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
    done
    ;;
large)
    install_missing_packages
    build release
    ctest --preset large
    ;;
shared-data)
    install_missing_packages
    build release
    ctest --preset shared-data
    ;;
*)
    echo "usage: $0 demo|test|bench|large|shared-data" >&2
    exit 2
    ;;
esac
