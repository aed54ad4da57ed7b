# Cross build for 64-bit Arm Linux with Debian's g++-aarch64-linux-gnu, against Debian's arm64
# multiarch packages (scripts/cross.sh installs both). Programs run under qemu-user with the host's
# root as the library prefix ("-L /"): the arm64 multiarch libraries and glibc then come from one
# Debian build. (With -L /usr/aarch64-linux-gnu, the cross toolchain's own glibc mixes with the
# multiarch libraries and programs that start a thread never return.)
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

# Libraries and headers for the target only; programs (protoc) from the host.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig")

# ctest and gtest_discover_tests run the test binaries through this.
set(SLMKIT_QEMU_CPU "" CACHE STRING "qemu-aarch64 -cpu value for tests (e.g. max,sve=on)")
if(SLMKIT_QEMU_CPU)
  set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64 -L / -cpu ${SLMKIT_QEMU_CPU})
else()
  set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64 -L /)
endif()
