# Every dependency comes from Debian's packages (scripts/setup.sh installs them).
find_package(Threads REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(fmt 9 REQUIRED)
find_package(CLI11 2.0 REQUIRED)
find_package(OpenSSL 3 REQUIRED COMPONENTS Crypto)
find_package(GTest REQUIRED)
if(SLMKIT_BENCH)
  find_package(benchmark REQUIRED)
endif()
find_package(PkgConfig REQUIRED)
# Later stages slot in here: Highway (kernels), PCRE2 (tokenizer), protobuf + ONNX (export).
pkg_check_modules(HWY REQUIRED IMPORTED_TARGET libhwy)
pkg_check_modules(PCRE2 REQUIRED IMPORTED_TARGET libpcre2-8)
find_package(Protobuf REQUIRED)
# Debian's libonnx-dev (ONNX 1.12): generated onnx-ml.pb.h, the checker and shape inference.
if(SLMKIT_ONNX)
  find_package(ONNX REQUIRED)
endif()
