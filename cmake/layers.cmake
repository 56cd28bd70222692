# tapegrad_layer(NAME [DEPENDS LAYER...])
#
# Builds the library layer NAME from NAME/*.cpp (subfolders included) as the
# target tapegrad_NAME (alias tapegrad::NAME), linked to the layers it depends on.
#
#   public headers   NAME/include/tapegrad/NAME/*.hpp  -> <tapegrad/NAME/...>, installed
#   private headers  NAME/*.hpp                        -> "NAME/...", never installed
#
# Private headers are reached through a per-layer folder in the build tree that
# holds one link per layer the target may see: itself and the layers below it.
# So "ops/broadcast.hpp" compiles in nn, but "nn/module.hpp" does not in ops:
# the direction of the layers is checked by the compiler. tapegrad_internal_NAME
# lends a layer's private headers to the tests, benchmarks and fuzzers.
function(tapegrad_layer name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "DEPENDS")
  set(sees ${name})
  foreach(dep IN LISTS arg_DEPENDS)
    get_property(dep_sees GLOBAL PROPERTY TAPEGRAD_LAYER_SEES_${dep})
    list(APPEND sees ${dep_sees})
  endforeach()
  list(REMOVE_DUPLICATES sees)
  set_property(GLOBAL PROPERTY TAPEGRAD_LAYER_SEES_${name} ${sees})

  set(root ${PROJECT_BINARY_DIR}/private_include/${name})
  file(REMOVE_RECURSE ${root})
  file(MAKE_DIRECTORY ${root})
  foreach(layer IN LISTS sees)
    file(CREATE_LINK ${PROJECT_SOURCE_DIR}/${layer} ${root}/${layer} SYMBOLIC)
  endforeach()

  file(GLOB_RECURSE sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/${name}/*.cpp)
  add_library(tapegrad_${name} ${sources})
  add_library(tapegrad::${name} ALIAS tapegrad_${name})
  set_target_properties(tapegrad_${name} PROPERTIES EXPORT_NAME ${name} POSITION_INDEPENDENT_CODE ON
                                                    VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR})
  target_include_directories(tapegrad_${name}
    PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/${name}/include> $<INSTALL_INTERFACE:include>
    PRIVATE ${root})
  target_compile_features(tapegrad_${name} PUBLIC cxx_std_17)
  foreach(dep IN LISTS arg_DEPENDS)
    target_link_libraries(tapegrad_${name} PUBLIC tapegrad_${dep})
  endforeach()
  # xtensor and the warning/arch flags are build-only: no installed header includes xtensor.
  target_link_libraries(tapegrad_${name} PRIVATE $<BUILD_INTERFACE:tapegrad_xtensor> $<BUILD_INTERFACE:tapegrad_flags>)

  add_library(tapegrad_internal_${name} INTERFACE)
  target_include_directories(tapegrad_internal_${name} INTERFACE ${root})
  target_link_libraries(tapegrad_internal_${name} INTERFACE tapegrad_${name})
  set_property(GLOBAL APPEND PROPERTY TAPEGRAD_LAYERS ${name})
endfunction()
