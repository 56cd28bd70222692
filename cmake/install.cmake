# cmake --install: headers, the library, a CMake package (tapegrad::tapegrad,
# with a version file) and a pkg-config file.
#
# A consumer writes:
#   find_package(tapegrad 0.1 REQUIRED)
#   target_link_libraries(app PRIVATE tapegrad::tapegrad)
# and needs to know nothing about xtensor (not in the public headers) or
# OpenBLAS/zlib (found by tapegradConfig.cmake through find_dependency).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

foreach(part core ops nn optim data)
  if(IS_DIRECTORY ${PROJECT_SOURCE_DIR}/${part}/tapegrad)
    install(DIRECTORY ${PROJECT_SOURCE_DIR}/${part}/tapegrad DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
            FILES_MATCHING PATTERN "*.hpp")
  endif()
endforeach()
install(FILES ${PROJECT_BINARY_DIR}/generated/tapegrad/version.hpp DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/tapegrad)

install(TARGETS tapegrad EXPORT tapegradTargets
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

# pkg-config: static linking needs the private dependencies too.
configure_file(${PROJECT_SOURCE_DIR}/cmake/tapegrad.pc.in ${PROJECT_BINARY_DIR}/tapegrad.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/tapegrad.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
