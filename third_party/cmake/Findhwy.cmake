# Findhwy.cmake — locate Google Highway (Debian: libhwy-dev).
#
# Prefers Highway's own CMake package (hwy-config.cmake, shipped by libhwy-dev in
# /usr/lib/<multiarch>/cmake/hwy), which defines hwy::hwy, hwy::hwy_contrib and hwy::hwy_test.
# Falls back to pkg-config (libhwy.pc, libhwy-test.pc) and then defines the same target names, so the
# rest of the build only ever refers to hwy::hwy and, if present, hwy::hwy_test.
#
# Result: hwy_FOUND, hwy_VERSION, targets hwy::hwy and (optional) hwy::hwy_test.

# 1. Highway's own config package. NO_MODULE keeps this call from re-entering this file.
find_package(hwy ${hwy_FIND_VERSION} CONFIG QUIET NO_MODULE)

if(hwy_FOUND AND TARGET hwy::hwy)
  set(_hwy_found_via "CMake config (${hwy_DIR})")
  set(_hwy_ok TRUE)
else()
  # 2. pkg-config fallback.
  find_package(PkgConfig QUIET)
  if(PKG_CONFIG_FOUND)
    pkg_check_modules(TILE32_PC_HWY QUIET IMPORTED_TARGET libhwy)
    pkg_check_modules(TILE32_PC_HWY_TEST QUIET IMPORTED_TARGET libhwy-test)
  endif()
  if(TILE32_PC_HWY_FOUND)
    if(NOT TARGET hwy::hwy)
      add_library(hwy::hwy INTERFACE IMPORTED)
      set_target_properties(hwy::hwy PROPERTIES INTERFACE_LINK_LIBRARIES PkgConfig::TILE32_PC_HWY)
    endif()
    if(TILE32_PC_HWY_TEST_FOUND AND NOT TARGET hwy::hwy_test)
      add_library(hwy::hwy_test INTERFACE IMPORTED)
      set_target_properties(hwy::hwy_test PROPERTIES
        INTERFACE_LINK_LIBRARIES "PkgConfig::TILE32_PC_HWY_TEST;hwy::hwy")
    endif()
    set(hwy_VERSION "${TILE32_PC_HWY_VERSION}")
    set(_hwy_found_via "pkg-config (libhwy ${TILE32_PC_HWY_VERSION})")
    set(_hwy_ok TRUE)
  else()
    set(_hwy_found_via "")
    set(_hwy_ok FALSE)
  endif()
endif()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(hwy
  REQUIRED_VARS _hwy_found_via _hwy_ok
  VERSION_VAR hwy_VERSION
  REASON_FAILURE_MESSAGE "install Debian's libhwy-dev (scripts/run does this)")

unset(_hwy_ok)
