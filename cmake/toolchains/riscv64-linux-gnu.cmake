# Cross build for 64-bit RISC-V Linux with Debian's g++-riscv64-linux-gnu. Debian 12 has no riscv64
# packages, so the libraries come from a prefix that scripts/cross.sh builds (static, from Debian's
# own sources): Highway, fmt, PCRE2, protobuf, OpenSSL's libcrypto and GoogleTest. Header-only
# nlohmann-json and CLI11 come from the host's /usr/share. ONNX is not in that prefix: configure
# with -DSLMKIT_ONNX=OFF. Programs run under qemu-riscv64 with the cross toolchain's glibc.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR riscv64)
set(CMAKE_C_COMPILER riscv64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER riscv64-linux-gnu-g++)
set(CMAKE_LIBRARY_ARCHITECTURE riscv64-linux-gnu)

set(SLMKIT_CROSS_PREFIX "${CMAKE_CURRENT_LIST_DIR}/../../build-riscv64-deps/prefix"
    CACHE PATH "prefix holding the riscv64 builds of slmkit's libraries")
get_filename_component(SLMKIT_CROSS_PREFIX "${SLMKIT_CROSS_PREFIX}" ABSOLUTE)
# The prefix first, so nothing of the host's x86 libraries is picked; the host's /usr/share
# (arch-independent CMake configs of header-only libraries) after it.
list(PREPEND CMAKE_PREFIX_PATH "${SLMKIT_CROSS_PREFIX}")
set(OPENSSL_ROOT_DIR "${SLMKIT_CROSS_PREFIX}")
set(OPENSSL_USE_STATIC_LIBS ON)
set(Protobuf_USE_STATIC_LIBS ON)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(ENV{PKG_CONFIG_LIBDIR} "${SLMKIT_CROSS_PREFIX}/lib/pkgconfig")

set(CMAKE_CROSSCOMPILING_EMULATOR qemu-riscv64 -L /usr/riscv64-linux-gnu)
