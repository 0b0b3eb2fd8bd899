# bdp_add_plugin(NAME SOURCES src... KIND backend|processor [LIBRARIES lib...])
#
# Builds a bdp plugin: a MODULE library called bdp_<NAME> (libbdp_<NAME>.so)
# with hidden visibility, linked against the SDK only, placed where the host
# looks for plugins. The plugin's descriptor (in its sources) states the same
# NAME and KIND.
function(bdp_add_plugin name)
  cmake_parse_arguments(ARG "" "KIND" "SOURCES;LIBRARIES" ${ARGN})
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "bdp_add_plugin(${name}): SOURCES is required")
  endif()
  if(NOT ARG_KIND MATCHES "^(backend|processor)$")
    message(FATAL_ERROR "bdp_add_plugin(${name}): KIND must be backend or processor, got '${ARG_KIND}'")
  endif()
  set(target bdp_${name})
  add_library(${target} MODULE ${ARG_SOURCES})
  target_link_libraries(${target} PRIVATE bdp::sdk ${ARG_LIBRARIES})
  if(TARGET bdp_warnings)
    target_link_libraries(${target} PRIVATE bdp_warnings)
  endif()
  set_target_properties(${target} PROPERTIES
    OUTPUT_NAME bdp_${name}
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    BDP_PLUGIN_KIND ${ARG_KIND})
  if(DEFINED BDP_PLUGIN_OUTPUT_DIR)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${BDP_PLUGIN_OUTPUT_DIR})
  endif()
endfunction()
