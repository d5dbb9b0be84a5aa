# FindNTL: Victor Shoup's Number Theory Library. Defines the imported target NTL::ntl.
include(FindPackageHandleStandardArgs)
include(CMakeFindDependencyMacro)
find_path(NTL_INCLUDE_DIR NAMES NTL/ZZ.h)
find_library(NTL_LIBRARY NAMES ntl)
find_package_handle_standard_args(NTL
  REQUIRED_VARS NTL_LIBRARY NTL_INCLUDE_DIR
  REASON_FAILURE_MESSAGE "install it with: apt-get install libntl-dev")
if(NTL_FOUND AND NOT TARGET NTL::ntl)
  find_package(Threads REQUIRED)
  add_library(NTL::ntl UNKNOWN IMPORTED)
  set_target_properties(NTL::ntl PROPERTIES
    IMPORTED_LOCATION "${NTL_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${NTL_INCLUDE_DIR}"
    INTERFACE_LINK_LIBRARIES "GMP::gmp;Threads::Threads")
endif()
mark_as_advanced(NTL_INCLUDE_DIR NTL_LIBRARY)
