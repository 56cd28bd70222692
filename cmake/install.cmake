# cmake --install: headers, the library, a CMake package (tapegrad::tapegrad,
# with a version file) and a pkg-config file.
#
# A consumer writes:
#   find_package(tapegrad 0.1 REQUIRED)
#   target_link_libraries(app PRIVATE tapegrad::tapegrad)
# and needs to know nothing about xtensor (not in the public headers) or
# OpenBLAS/zlib/libstb (found by tapegradConfig.cmake).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

get_property(layers GLOBAL PROPERTY TAPEGRAD_LAYERS)
set(layer_targets)
foreach(layer IN LISTS layers)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/${layer}/include/tapegrad DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
          FILES_MATCHING PATTERN "*.hpp")
  list(APPEND layer_targets tapegrad_${layer})
endforeach()
install(FILES ${PROJECT_SOURCE_DIR}/include/tapegrad/tapegrad.hpp
              ${PROJECT_BINARY_DIR}/generated/tapegrad/version.hpp
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/tapegrad)

# tapegrad::xtensor (<tapegrad/core/xtensor.hpp>) for users who pass data to and from xtensor.
set_target_properties(tapegrad_xtensor_interop PROPERTIES EXPORT_NAME xtensor)

install(TARGETS tapegrad ${layer_targets} tapegrad_xtensor_interop EXPORT tapegradTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT tapegradTargets NAMESPACE tapegrad:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/tapegrad)

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/tapegradConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/tapegradConfig.cmake
                              INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/tapegrad)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/tapegradConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/tapegradConfig.cmake ${PROJECT_BINARY_DIR}/tapegradConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/tapegrad)

# pkg-config. The prefix is taken from where the .pc file is, so
# `cmake --install --prefix DIR` is honoured. tapegrad's own dependencies
# (OpenBLAS, zlib, libstb, threads) are needed on every link of the static libraries,
# so `pkg-config --libs tapegrad` lists them then; a shared build needs them
# only with --static.
set(TAPEGRAD_PC_LIBS)
foreach(layer IN LISTS layers)
  string(PREPEND TAPEGRAD_PC_LIBS "-ltapegrad_${layer} ")
endforeach()
set(TAPEGRAD_PC_DEPS "-lopenblas -lz -lstb -pthread")
if(BUILD_SHARED_LIBS)
  set(TAPEGRAD_PC_LIBS_PRIVATE "Libs.private: ${TAPEGRAD_PC_DEPS}")
else()
  string(APPEND TAPEGRAD_PC_LIBS "${TAPEGRAD_PC_DEPS}")
  set(TAPEGRAD_PC_LIBS_PRIVATE "")
endif()
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(TAPEGRAD_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  file(RELATIVE_PATH _up "/prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/prefix")
  string(REGEX REPLACE "/$" "" _up "${_up}")
  set(TAPEGRAD_PC_PREFIX "\${pcfiledir}/${_up}")
endif()
configure_file(${PROJECT_SOURCE_DIR}/cmake/tapegrad.pc.in ${PROJECT_BINARY_DIR}/tapegrad.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/tapegrad.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
