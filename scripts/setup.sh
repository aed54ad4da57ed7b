#!/usr/bin/env bash
# Installs everything a fresh Debian 12 machine needs to build and test slmkit, then builds it.
# Idempotent: packages already present are not reinstalled, and it is quiet when nothing changes.
#   scripts/setup.sh                  what CI and the quick start need
#   scripts/setup.sh --native-peers   also build llama.cpp from the bundled source for this CPU
#                                     (-DGGML_NATIVE=ON) into third_party/peers/llama.cpp-native,
#                                     which `slmkit bench --vs llama.cpp` then measures instead of
#                                     the generic prebuilt libraries (bench only: 10-30 minutes on
#                                     2 cores; CI never runs it)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
native_peers=0
for arg in "$@"; do
  case $arg in
    --native-peers) native_peers=1 ;;
    *) echo "usage: scripts/setup.sh [--native-peers]" >&2; exit 2 ;;
  esac
done

apt_packages=(
  build-essential cmake ninja-build clang clang-format libclang-rt-dev git pkg-config
  nlohmann-json3-dev libgtest-dev libgmock-dev libbenchmark-dev libcli11-dev libfmt-dev libssl-dev
  libhwy-dev libpcre2-dev libprotobuf-dev protobuf-compiler libonnx-dev
)
# Node.js may come from elsewhere (with its own npm); Debian's packages only where it is absent.
command -v node >/dev/null || apt_packages+=(nodejs)
command -v npm >/dev/null || apt_packages+=(npm)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Peers for comparison tests: prebuilt llama.cpp (libllama + ggml, and llama.cpp's source as a git
# bundle), ONNX Runtime, Tokenizers.js (transformers.js's tokenizer, pure JS) for the
# tokenizer.json files we write, transformers.js itself (generation from our ONNX folders) and the
# official MCP TypeScript SDK (a real client for `slmkit mcp`). --ignore-scripts: nothing is
# downloaded or built at install time; --omit=optional leaves out the GPU builds.
peers="$root/third_party/peers"
peer_versions="node-llama-cpp@3.22.1 @node-llama-cpp/linux-x64@3.22.1 onnxruntime-node@1.30.0 @huggingface/tokenizers@0.2.0 @huggingface/transformers@4.3.2 @modelcontextprotocol/sdk@1.32.2"
if [ ! -f "$peers/.installed" ] || [ "$(cat "$peers/.installed")" != "$peer_versions" ]; then
  echo "setup: installing peers ($peer_versions) into third_party/peers"
  mkdir -p "$peers"
  printf '{"name":"slmkit-peers","private":true}\n' > "$peers/package.json"
  (cd "$peers" && npm install --ignore-scripts --omit=optional --no-audit --no-fund --loglevel=error \
      $peer_versions >/dev/null)
  echo "$peer_versions" > "$peers/.installed"
fi

# llama.cpp's source tree (headers, tokenizer test vectors) out of the bundle node-llama-cpp ships.
llama_src="$peers/llama.cpp"
if [ ! -d "$llama_src/.git" ]; then
  echo "setup: unpacking llama.cpp source from node-llama-cpp's git bundle"
  git clone -q "$peers/node_modules/node-llama-cpp/llama/gitRelease.bundle" "$llama_src" 2>/dev/null
fi

native="$peers/llama.cpp-native"
if [ "$native_peers" = 1 ] && [ ! -f "$native/build-info.json" ]; then
  echo "setup: building llama.cpp for this CPU into $native (GGML_NATIVE=ON; takes a while)"
  nice scripts/build_native_llama_cpp.sh "$llama_src" "$native"
fi

build="${SLMKIT_BUILD_DIR:-$root/build}"
if [ ! -f "$build/build.ninja" ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
ninja -C "$build" --quiet slmkit_cli
