# bdp_add_plugin(NAME KIND backend|processor SOURCES src...
#                [LIBRARIES lib...] [DESTINATION dir | NO_INSTALL])
#
# Builds a bdp plugin: a MODULE library called bdp_<NAME> (libbdp_<NAME>.so)
# with hidden visibility, linked against the SDK only (never bdp::core). The
# plugin's descriptor (in its sources, see bdp/sdk/plugin.hpp) must state the
# same NAME and KIND: the host refuses a library whose descriptor names it
# otherwise.
#
# It also installs the library: to DESTINATION when given, else to
# ${BDP_PLUGIN_INSTALL_DIR} ("lib/bdp/plugins"), relative to the install
# prefix. Installed with the same prefix as bdp, the plugin lands in the
# folder bdp searches by itself; installed elsewhere, add that folder to
# BDP_PLUGIN_PATH or to a project's "plugin_paths". The installed package
# also sets bdp_PLUGIN_DIR, the absolute path of its own plugin folder.
#
# Used by this project's own plugins and, from the installed package
# (find_package(bdp)), by out-of-tree plugins.
function(bdp_add_plugin name)
  cmake_parse_arguments(ARG "NO_INSTALL" "KIND;DESTINATION" "SOURCES;LIBRARIES" ${ARGN})
  if(NOT name MATCHES "^[A-Za-z0-9_]+$")
    message(FATAL_ERROR "bdp_add_plugin(${name}): the name may hold letters, digits and '_' only")
  endif()
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "bdp_add_plugin(${name}): SOURCES is required")
  endif()
  if(NOT ARG_KIND MATCHES "^(backend|processor)$")
    message(FATAL_ERROR "bdp_add_plugin(${name}): KIND must be backend or processor, got '${ARG_KIND}'")
  endif()
  if(ARG_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "bdp_add_plugin(${name}): unknown arguments '${ARG_UNPARSED_ARGUMENTS}'")
  endif()
  if(NOT TARGET bdp::sdk)
    message(FATAL_ERROR "bdp_add_plugin(${name}): no target bdp::sdk (call find_package(bdp) first)")
  endif()

  set(target bdp_${name})
  add_library(${target} MODULE ${ARG_SOURCES})
  target_link_libraries(${target} PRIVATE bdp::sdk ${ARG_LIBRARIES})
  if(TARGET bdp_warnings)
    target_link_libraries(${target} PRIVATE bdp_warnings)
  endif()
  set_target_properties(${target} PROPERTIES
    PREFIX "lib"
    OUTPUT_NAME bdp_${name}
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    BDP_PLUGIN_KIND ${ARG_KIND})
  if(DEFINED BDP_PLUGIN_OUTPUT_DIR)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${BDP_PLUGIN_OUTPUT_DIR})
  endif()

  if(ARG_NO_INSTALL)
    return()
  endif()
  set(destination "${ARG_DESTINATION}")
  if(NOT destination)
    set(destination "${BDP_PLUGIN_INSTALL_DIR}")
  endif()
  if(NOT destination)
    message(FATAL_ERROR "bdp_add_plugin(${name}): no DESTINATION and BDP_PLUGIN_INSTALL_DIR is not set")
  endif()
  if(TARGET bdp_sdk)
    # Built with bdp itself: the plugin folder is <libdir>/bdp/plugins, so
    # libbdp_sdk is two folders up; keep that relative for a movable install.
    set_target_properties(${target} PROPERTIES INSTALL_RPATH "$ORIGIN/../..")
  endif()
  install(TARGETS ${target} LIBRARY DESTINATION "${destination}")
endfunction()
