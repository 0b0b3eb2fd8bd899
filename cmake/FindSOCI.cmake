# FindSOCI: SOCI 4 (core + sqlite3 + postgresql backends) for Debian, which
# ships no CMake config for it.
#
# Result variables: SOCI_FOUND, SOCI_INCLUDE_DIR, SOCI_VERSION.
# Imported targets (when found):
#   SOCI::core        soci_core
#   SOCI::sqlite3     soci_sqlite3 (+ SQLite::SQLite3 when CMake finds it)
#   SOCI::postgresql  soci_postgresql (+ PostgreSQL libpq)
# The backends are components: find_package(SOCI COMPONENTS sqlite3 postgresql).
include(FindPackageHandleStandardArgs)

find_path(SOCI_INCLUDE_DIR NAMES soci/soci.h)
find_library(SOCI_core_LIBRARY NAMES soci_core)

if(SOCI_INCLUDE_DIR AND EXISTS "${SOCI_INCLUDE_DIR}/soci/version.h")
  file(STRINGS "${SOCI_INCLUDE_DIR}/soci/version.h" _soci_ver REGEX "#define SOCI_LIB_VERSION \"")
  string(REGEX REPLACE ".*\"([0-9_]+)\".*" "\\1" _soci_ver "${_soci_ver}")
  string(REPLACE "_" "." SOCI_VERSION "${_soci_ver}")
endif()

set(_soci_required SOCI_INCLUDE_DIR SOCI_core_LIBRARY)
foreach(component IN LISTS SOCI_FIND_COMPONENTS)
  find_library(SOCI_${component}_LIBRARY NAMES soci_${component})
  if(SOCI_${component}_LIBRARY)
    set(SOCI_${component}_FOUND TRUE)
  else()
    set(SOCI_${component}_FOUND FALSE)
  endif()
endforeach()

find_package_handle_standard_args(SOCI
  REQUIRED_VARS ${_soci_required}
  VERSION_VAR SOCI_VERSION
  HANDLE_COMPONENTS)

if(SOCI_FOUND AND NOT TARGET SOCI::core)
  add_library(SOCI::core UNKNOWN IMPORTED)
  set_target_properties(SOCI::core PROPERTIES
    IMPORTED_LOCATION "${SOCI_core_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${SOCI_INCLUDE_DIR}")
  if(SOCI_sqlite3_FOUND)
    find_package(SQLite3 QUIET)
    add_library(SOCI::sqlite3 UNKNOWN IMPORTED)
    set_target_properties(SOCI::sqlite3 PROPERTIES IMPORTED_LOCATION "${SOCI_sqlite3_LIBRARY}")
    target_link_libraries(SOCI::sqlite3 INTERFACE SOCI::core)
    if(TARGET SQLite::SQLite3)
      target_link_libraries(SOCI::sqlite3 INTERFACE SQLite::SQLite3)
    endif()
  endif()
  if(SOCI_postgresql_FOUND)
    find_package(PostgreSQL QUIET)
    add_library(SOCI::postgresql UNKNOWN IMPORTED)
    set_target_properties(SOCI::postgresql PROPERTIES IMPORTED_LOCATION "${SOCI_postgresql_LIBRARY}")
    target_link_libraries(SOCI::postgresql INTERFACE SOCI::core)
    if(TARGET PostgreSQL::PostgreSQL)
      target_link_libraries(SOCI::postgresql INTERFACE PostgreSQL::PostgreSQL)
    endif()
  endif()
endif()
mark_as_advanced(SOCI_INCLUDE_DIR SOCI_core_LIBRARY SOCI_sqlite3_LIBRARY SOCI_postgresql_LIBRARY)
