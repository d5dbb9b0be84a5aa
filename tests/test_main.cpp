// The single Catch2 main of cloak's test programs.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
