# Proves that the build enforces the layering (core <- ops <- nn, optim, data
# <- train): run by ctest as `cmake -P` once per layer (tests/CMakeLists.txt).
#
#   COMPILER  the C++ compiler
#   INCLUDES  the layer's include directories, '|'-separated: exactly what its
#             sources compile with ($<TARGET_PROPERTY:tapegrad_LAYER,INCLUDE_DIRECTORIES>)
#   ALLOWED   '|'-separated #include operands the layer may use: its public
#             headers and the private headers of itself and the layers below
#   FORBIDDEN '|'-separated #include operands of the layers above or beside it
#   WORK      a scratch directory
#
# Positive control: one translation unit including every ALLOWED header
# compiles. Then, for each FORBIDDEN header, the same kind of unit including it
# must fail to compile, and fail because the header is not found (not for some
# other reason), or the test fails.
cmake_minimum_required(VERSION 3.25)
foreach(var COMPILER INCLUDES ALLOWED WORK LAYER)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "check_layering.cmake: -D${var}=... is required")
  endif()
endforeach()
string(REPLACE "|" ";" includes "${INCLUDES}")
string(REPLACE "|" ";" allowed "${ALLOWED}")
string(REPLACE "|" ";" forbidden "${FORBIDDEN}")
set(flags -std=c++17 -fsyntax-only)
foreach(dir IN LISTS includes)
  list(APPEND flags "-I${dir}")
endforeach()
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}")

# Writes a translation unit including `headers` and compiles it; sets
# <name>_result (0 on success) and <name>_output.
function(compile_unit name headers)
  set(source "// ${LAYER}: ${name}\n")
  foreach(h IN LISTS headers)
    string(APPEND source "#include ${h}\n")
  endforeach()
  string(APPEND source "int main() { return 0; }\n")
  file(WRITE "${WORK}/${name}.cpp" "${source}")
  execute_process(COMMAND "${COMPILER}" ${flags} "${WORK}/${name}.cpp"
                  RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE err)
  set(${name}_result "${result}" PARENT_SCOPE)
  set(${name}_output "${out}${err}" PARENT_SCOPE)
endfunction()

list(LENGTH allowed n_allowed)
compile_unit(allowed "${allowed}")
if(NOT allowed_result EQUAL 0)
  message(FATAL_ERROR "${LAYER}: the positive control does not compile: the ${n_allowed} headers the layer may "
                      "include should compile with its include directories:\n${allowed_output}")
endif()
message(STATUS "${LAYER}: ${n_allowed} headers of this layer and the ones below compile")

# Each forbidden include sits next to a header the layer may use, so that the
# unit differs from a compiling one by that line only.
list(GET allowed 0 first_allowed)
set(refused 0)
set(index 0)
foreach(h IN LISTS forbidden)
  math(EXPR index "${index} + 1")
  compile_unit(forbidden_${index} "${first_allowed};${h}")
  string(REGEX REPLACE "^[<\"](.*)[>\"]$" "\\1" file_name "${h}")
  if(forbidden_${index}_result EQUAL 0)
    message(FATAL_ERROR "${LAYER}: #include ${h} compiled, but ${LAYER} must not see that header")
  endif()
  string(FIND "${forbidden_${index}_output}" "${file_name}" names_it)
  if(names_it EQUAL -1 OR NOT forbidden_${index}_output MATCHES "No such file or directory|file not found")
    message(FATAL_ERROR "${LAYER}: #include ${h} failed, but not because the header is out of reach:\n"
                        "${forbidden_${index}_output}")
  endif()
  math(EXPR refused "${refused} + 1")
  message(STATUS "${LAYER}: #include ${h} is refused (not found)")
endforeach()
message(STATUS "layering ${LAYER}: 1 positive control passed, ${refused} upward or sideways includes refused")
