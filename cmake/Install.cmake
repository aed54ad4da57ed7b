# `cmake --install build --prefix P`: the runtime core for hosts, not the C++ toolkit.
#   P/include/slmkit/slmkit.h              the C API (C99)
#   P/lib/libslmkit.a, libslmkit.so*       the runtime core (src/CMakeLists.txt lists it)
#   P/lib/pkgconfig/slmkit.pc              pkg-config --cflags --libs [--static] slmkit
#   P/lib/cmake/slmkit/                    find_package(slmkit): slmkit::slmkit, slmkit::slmkit_static
# Both package files find the prefix from where they are installed, so the tree can be moved.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(FILES ${PROJECT_SOURCE_DIR}/include/slmkit/slmkit.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/slmkit)
install(TARGETS slmkit_runtime_static slmkit_runtime_shared
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})

# What a static consumer links besides libslmkit.a: Highway (kernels), PCRE2 (pre-tokenizers),
# fmt (error messages), the C++ runtime, libm and threads. The shared library records them itself.
set(SLMKIT_PC_REQUIRES_PRIVATE "libhwy libpcre2-8 fmt")
set(SLMKIT_PC_LIBS_PRIVATE "-lstdc++ -lm -pthread")

file(RELATIVE_PATH SLMKIT_PC_PREFIX_FROM_PCDIR "/p/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/p")
configure_file(${PROJECT_SOURCE_DIR}/cmake/slmkit.pc.in ${PROJECT_BINARY_DIR}/slmkit.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/slmkit.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

set(SLMKIT_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/slmkit)
file(RELATIVE_PATH SLMKIT_PREFIX_FROM_CMAKEDIR "/p/${SLMKIT_CMAKE_DIR}" "/p")
configure_file(${PROJECT_SOURCE_DIR}/cmake/slmkitConfig.cmake.in
               ${PROJECT_BINARY_DIR}/slmkitConfig.cmake @ONLY)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/slmkitConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/slmkitConfig.cmake ${PROJECT_BINARY_DIR}/slmkitConfigVersion.cmake
        DESTINATION ${SLMKIT_CMAKE_DIR})
