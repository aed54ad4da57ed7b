#!/usr/bin/env bash
# Builds llama.cpp from the bundled source (third_party/peers/llama.cpp) for this machine's CPU
# (-DGGML_NATIVE=ON, Release, CPU only, shared libraries) and installs it as
#   DEST/lib/libllama.so, libggml*.so     what `slmkit bench --vs llama.cpp` loads when present
#   DEST/bin/llama-bench, llama-perplexity, llama-quantize
#   DEST/build-info.json                  source commit, GGML_NATIVE, compiler, the CPU it was
#                                         built for (slmkit refuses it on a CPU that lacks any of
#                                         those flags: -march=native code would fault there)
# The prebuilt libraries from npm are compiled for a list of generic CPU levels (haswell, zen4,
# ...) and pick one at run time; a native build can be faster on the machine that built it.
# Bench-only: CI never runs this (a build takes 10-30 minutes on 2 cores).
#   scripts/build_native_llama_cpp.sh [SOURCE_DIR [DEST_DIR]]
# Defaults: third_party/peers/llama.cpp and third_party/peers/llama.cpp-native. JOBS (default:
# nproc) sets the build's parallelism.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
src=$(cd "${1:-$root/third_party/peers/llama.cpp}" && pwd)
dest=${2:-$root/third_party/peers/llama.cpp-native}
mkdir -p "$dest"
dest=$(cd "$dest" && pwd)
build="$dest.build"
jobs=${JOBS:-$(nproc)}
[ -f "$src/include/llama.h" ] || {
  echo "build_native_llama_cpp: no llama.cpp source in $src (run scripts/setup.sh first)" >&2
  exit 2
}

# Tools and libraries share one folder layout: bin/ and lib/ with $ORIGIN-relative RPATHs, so the
# installed tree can move. GGML_BACKEND_DL off: the one CPU backend is linked into libggml.
cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DGGML_NATIVE=ON -DBUILD_SHARED_LIBS=ON -DGGML_BACKEND_DL=OFF \
  -DGGML_CUDA=OFF -DGGML_VULKAN=OFF -DGGML_METAL=OFF -DGGML_OPENMP=ON \
  -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF \
  -DLLAMA_BUILD_APP=OFF -DLLAMA_BUILD_TOOLS=ON -DLLAMA_OPENSSL=OFF \
  -DCMAKE_BUILD_RPATH='$ORIGIN/../lib;$ORIGIN' >/dev/null
ninja -C "$build" -j "$jobs" llama llama-bench llama-perplexity llama-quantize

rm -rf "$dest/lib" "$dest/bin"
mkdir -p "$dest/lib" "$dest/bin"
# llama.cpp's build puts every library and tool in build/bin; copy the links with their targets.
find "$build/bin" -maxdepth 1 -name 'lib*.so*' -exec cp -a {} "$dest/lib/" \;
for tool in llama-bench llama-perplexity llama-quantize; do cp -a "$build/bin/$tool" "$dest/bin/"; done

commit=$(git -C "$src" rev-parse HEAD 2>/dev/null || echo unknown)
compiler=$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$build/CMakeCache.txt")
cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
cpu_flags=$(sed -n 's/^flags[[:space:]]*: //p' /proc/cpuinfo | head -1)
json_list() { printf '%s\n' "$@" | sed 's/.*/"&"/' | paste -sd, -; }
{
  printf '{\n'
  printf '  "source": "%s",\n' "$src"
  printf '  "commit": "%s",\n' "$commit"
  printf '  "ggml_native": true,\n'
  printf '  "build_type": "Release",\n'
  printf '  "compiler": "%s %s",\n' "$compiler" "$("$compiler" -dumpversion 2>/dev/null || true)"
  printf '  "built": "%s",\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  printf '  "cpu_model": "%s",\n' "$cpu_model"
  # shellcheck disable=SC2086
  printf '  "cpu_flags": [%s]\n' "$(json_list $cpu_flags)"
  printf '}\n'
} > "$dest/build-info.json.tmp"
mv "$dest/build-info.json.tmp" "$dest/build-info.json"
echo "build_native_llama_cpp: installed into $dest (commit ${commit:0:12}, GGML_NATIVE=ON)"
