#!/usr/bin/env bash
# Cross builds of slmkit for 64-bit Arm and RISC-V Linux, run under qemu-user from an x86_64 host.
#   scripts/cross.sh ARCH build [--minimal]    cross-compile into build-ARCH/ (the CLI and the test
#                                               binaries; --minimal: the CLI and the kernel tests,
#                                               without ONNX: what CI's cross stage runs)
#   scripts/cross.sh ARCH test [CTEST_ARGS...] run the tests built there under qemu (ctest)
#   scripts/cross.sh ARCH exec -- ARGS...      run build-ARCH/bin/slmkit ARGS... under qemu
#   scripts/cross.sh ARCH agree [--quick]      compare with the x86_64 build (build/, or
#                                               SLMKIT_BUILD_DIR): greedy text per ISA, perplexity,
#                                               the bytes `slmkit quantize` writes for every type,
#                                               and each side running the other's files
#                                               (--quick: stories260K only)
# ARCH is aarch64 or riscv64. It installs what it needs (Debian's cross compilers and qemu-user;
# for aarch64 Debian's arm64 multiarch libraries; for riscv64 the libraries built from Debian's
# sources into build-riscv64-deps/, once) and is quiet when nothing changes.
# SLMKIT_QEMU_CPU passes qemu's -cpu (e.g. max,sve-default-vector-length=32 for 256-bit SVE).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

usage() { sed -n '2,/^set -euo/p' "$0" | grep '^#'; exit 2; }
(($# >= 2)) || usage
arch=$1 action=$2
shift 2
case "$arch" in
  aarch64 | riscv64) ;;
  *) echo "cross.sh: unknown ARCH '$arch' (aarch64 or riscv64)" >&2; exit 2 ;;
esac
triple=$arch-linux-gnu
build=${SLMKIT_CROSS_BUILD_DIR:-$root/build-$arch}  # SLMKIT_CROSS_BUILD_DIR: another folder
deps=$root/build-riscv64-deps

say() { echo "cross($arch): $*"; }

apt_install() {  # packages... (those not yet installed); extra dpkg options in $dpkg_opts
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  say "installing ${missing[*]}"
  local sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends \
    ${dpkg_opts:-} "${missing[@]}" >/dev/null
}

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# ---- aarch64: Debian's arm64 multiarch packages -------------------------------------------------
aarch64_deps() {  # [minimal]: no ONNX
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    say "adding the arm64 architecture to dpkg (multiarch)"
    as_root dpkg --add-architecture arm64
    as_root apt-get update -qq
  fi
  # libonnxifi:arm64 also ships /usr/lib/libonnxifi.so (outside the multiarch folders), which the
  # amd64 package already owns; we never link it, so dpkg leaves that one file out.
  local onnx_pkgs=(libonnx-dev:arm64)
  [ "${1:-}" = minimal ] && onnx_pkgs=()
  dpkg_opts="-o DPkg::Options::=--path-exclude=/usr/lib/libonnxifi.so" apt_install \
    libhwy-dev:arm64 libfmt-dev:arm64 libpcre2-dev:arm64 libprotobuf-dev:arm64 \
    libssl-dev:arm64 libgtest-dev:arm64 libgmock-dev:arm64 "${onnx_pkgs[@]}"
}

# ---- riscv64: the libraries built from Debian's sources into a static prefix -----------------------
riscv64_sources() {  # makes deb-src entries available and fetches each source package once
  if ! apt-cache showsrc highway >/dev/null 2>&1 || [ -z "$(apt-cache showsrc highway 2>/dev/null)" ]; then
    say "adding Debian's source packages to apt (deb-src, bookworm main)"
    as_root tee /etc/apt/sources.list.d/slmkit-deb-src.sources >/dev/null <<'EOF'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    as_root apt-get update -qq
  fi
  mkdir -p "$deps/src"
  local pkg
  for pkg in highway fmtlib pcre2 protobuf openssl; do
    [ -d "$deps/src/$pkg" ] && continue
    say "fetching Debian's source of $pkg"
    (cd "$deps/src" && apt-get source -qq --download-only "$pkg" >/dev/null 2>&1)
    local dsc
    dsc=$(ls "$deps/src"/"${pkg}"_*.dsc | sort -V | tail -1)
    dpkg-source -q -x "$dsc" "$deps/src/$pkg.tmp" >/dev/null
    mv "$deps/src/$pkg.tmp" "$deps/src/$pkg"
  done
}

cmake_dep() {  # name source_dir cmake_args...
  local name=$1 src=$2; shift 2
  say "building $name (static, into build-riscv64-deps/prefix)"
  cmake -S "$src" -B "$deps/build/$name" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_TOOLCHAIN_FILE="$root/cmake/toolchains/riscv64-linux-gnu.cmake" \
    -DSLMKIT_CROSS_PREFIX="$deps/prefix" -DCMAKE_INSTALL_PREFIX="$deps/prefix" \
    -DCMAKE_INSTALL_LIBDIR=lib -DBUILD_SHARED_LIBS=OFF -DBUILD_TESTING=OFF "$@" >"$deps/build/$name.log" 2>&1
  nice ninja -C "$deps/build/$name" -j"$(nproc)" install >>"$deps/build/$name.log" 2>&1 ||
    { tail -30 "$deps/build/$name.log"; return 1; }
}

riscv64_deps() {
  apt_install dpkg-dev libgtest-dev libgmock-dev nlohmann-json3-dev libcli11-dev protobuf-compiler
  local prefix=$deps/prefix stamp
  # The prefix is rebuilt when the recipe (bump riscv64_recipe on a change below) or a source
  # package changes.
  local riscv64_recipe=1
  riscv64_sources
  stamp="recipe $riscv64_recipe: $(cd "$deps/src" && ls ./*.dsc | tr '\n' ' ')"
  [ -f "$prefix/.stamp" ] && [ "$(cat "$prefix/.stamp")" = "$stamp" ] && return 0
  rm -rf "$prefix" "$deps/build"
  mkdir -p "$prefix" "$deps/build"
  cmake_dep highway "$deps/src/highway" -DHWY_ENABLE_TESTS=OFF -DHWY_ENABLE_EXAMPLES=OFF \
    -DHWY_ENABLE_CONTRIB=OFF -DHWY_WARNINGS_ARE_ERRORS=OFF
  cmake_dep fmt "$deps/src/fmtlib" -DFMT_TEST=OFF -DFMT_DOC=OFF
  cmake_dep pcre2 "$deps/src/pcre2" -DPCRE2_BUILD_TESTS=OFF -DPCRE2_BUILD_PCRE2GREP=OFF \
    -DPCRE2_SUPPORT_JIT=OFF
  # The host's protoc (the same 3.21.12) generates code for both; only the runtime is built.
  cmake_dep protobuf "$deps/src/protobuf" -Dprotobuf_BUILD_TESTS=OFF \
    -Dprotobuf_BUILD_PROTOC_BINARIES=OFF -Dprotobuf_WITH_ZLIB=OFF
  cmake_dep googletest /usr/src/googletest -DBUILD_GMOCK=ON -DINSTALL_GTEST=ON
  say "building openssl's libcrypto (static, into build-riscv64-deps/prefix)"
  local ossl=$deps/build/openssl
  rm -rf "$ossl" && cp -a "$deps/src/openssl" "$ossl"
  (cd "$ossl" && ./Configure linux64-riscv64 --cross-compile-prefix=$triple- --prefix="$prefix" \
      --libdir=lib no-shared no-tests no-module &&
    nice make -j"$(nproc)" build_libs && make install_dev) >"$deps/build/openssl.log" 2>&1 ||
    { tail -30 "$deps/build/openssl.log"; return 1; }
  echo "$stamp" >"$prefix/.stamp"
}

# ---- build / test / exec ---------------------------------------------------------------------------
emulator() {  # prints the qemu command line for this ARCH
  local cpu=()
  [ -n "${SLMKIT_QEMU_CPU:-}" ] && cpu=(-cpu "$SLMKIT_QEMU_CPU")
  case "$arch" in
    aarch64) echo qemu-aarch64 -L / "${cpu[@]}" ;;
    riscv64) echo qemu-riscv64 -L /usr/riscv64-linux-gnu "${cpu[@]}" ;;
  esac
}

do_build() {
  local targets=() minimal="" onnx=ON
  case "${1:-}" in
    # ONNX is left out: nothing CI runs here reads it, and its generated protobuf code is a large
    # part of the compile.
    --minimal) targets=(slmkit_cli slmkit_kernels_tests) minimal=minimal onnx=OFF ;;
    "") ;;
    *) echo "cross.sh: unknown build option $1" >&2; exit 2 ;;
  esac
  apt_install "g++-$triple" qemu-user cmake ninja-build pkg-config protobuf-compiler
  case "$arch" in
    aarch64) aarch64_deps $minimal ;;
    riscv64) riscv64_deps; onnx=OFF ;;  # Debian has no ONNX for riscv64
  esac
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_TOOLCHAIN_FILE="$root/cmake/toolchains/$triple.cmake" -DSLMKIT_BENCH=OFF \
    -DSLMKIT_ONNX=$onnx >/dev/null
  nice ninja -C "$build" -j"$(nproc)" --quiet "${targets[@]}"
}

# ---- agreement with the x86_64 build ---------------------------------------------------------------
agree_failed=0
agree_say() { echo "agree($arch): $*"; }
disagree() { agree_say "MISMATCH: $*"; agree_failed=1; }

# Greedy text, 30 tokens from "Once upon a time", through `run` (ENV... PROGRAM...)
greedy() {  # model env_and_command...
  local model=$1; shift
  env "$@" run -m "$model" -p "Once upon a time" -n 30 --temp 0 --ignore-eos -t 2 2>/dev/null
}

ppl_of() {  # model text chunks env_and_command...
  local model=$1 text=$2 chunks=$3; shift 3
  env "$@" perplexity -m "$model" -f "$text" -c 128 --chunks "$chunks" -t 2 2>/dev/null |
    sed -n 's/^Final estimate: PPL = \([0-9.]*\).*/\1/p'
}

do_agree() {
  local quick=0
  [ "${1:-}" = "--quick" ] && quick=1
  local host="${SLMKIT_BUILD_DIR:-$root/build}/bin/slmkit"
  [ -x "$host" ] || { echo "cross.sh: no x86_64 build at $host (scripts/setup.sh builds it)" >&2; exit 2; }
  [ -x "$build/bin/slmkit" ] || { echo "cross.sh: run 'scripts/cross.sh $arch build' first" >&2; exit 2; }
  local fx="$root/../shared/fixtures" emu
  read -r -a emu <<<"$(emulator)"
  local models=("$fx/models/gguf-stories260K/stories260K.gguf")
  ((quick)) || models+=("$fx/models/stories3M/stories3M.gguf")
  local work="$build/agree"
  rm -rf "$work" && mkdir -p "$work"
  # The ISAs this build runs here: the best (auto) and the plain scalar references.
  local isas=(auto scalar) types model name
  read -r -a types <<<"$("$host" quantize --help | sed -n 's/.*Type or preset: \([^;]*\).*/\1/p' |
    tr -d ',' | head -1)"
  ((${#types[@]})) || { echo "cross.sh: could not read the quantize types" >&2; exit 2; }
  for model in "${models[@]}"; do
    name=$(basename "$model" .gguf)
    local want have isa
    want=$(greedy "$model" SLMKIT_ISA=auto "$host")
    # This host's own instruction sets first (the x86_64 reference is its best one).
    local x86_isas=()
    for isa in avx3_dl avx3 avx2 sse4 hwy_scalar scalar; do
      # An ISA this CPU lacks is refused with that message; anything else is a finding.
      if SLMKIT_ISA=$isa "$host" run -m "$model" -p x -n 1 2>&1 | grep -q "unavailable instruction set"; then
        continue
      fi
      x86_isas+=("$isa")
      [ "$(greedy "$model" SLMKIT_ISA=$isa "$host")" = "$want" ] ||
        disagree "greedy $name [x86_64 $isa] differs from [x86_64 auto]"
    done
    agree_say "greedy $name on x86_64: ${x86_isas[*]} give the same text"
    for isa in "${isas[@]}"; do
      have=$(greedy "$model" SLMKIT_ISA=$isa "${emu[@]}" "$build/bin/slmkit")
      if [ "$have" = "$want" ]; then
        agree_say "greedy $name [$isa]: identical to x86_64's (${#want} bytes)"
      else
        disagree "greedy $name [$isa]: '$have' != x86_64 '$want'"
      fi
    done
    # Perplexity on the held-out end of the TinyStories text (stories3M never saw it).
    local text="$work/heldout.txt" chunks=$((quick ? 4 : 16)) p_host p_cross
    tail -c 39700 "$fx/text/tinystories_val_subset.txt" >"$text"
    p_host=$(ppl_of "$model" "$text" $chunks SLMKIT_ISA=auto "$host")
    p_cross=$(ppl_of "$model" "$text" $chunks SLMKIT_ISA=auto "${emu[@]}" "$build/bin/slmkit")
    if awk -v a="$p_host" -v b="$p_cross" 'BEGIN { d = (b - a) / a; if (d < 0) d = -d; exit !(a > 0 && d <= 0.001) }'; then
      agree_say "perplexity $name ($chunks x 128 tokens): x86_64 $p_host, $arch $p_cross ($(awk -v a="$p_host" -v b="$p_cross" 'BEGIN { printf "%.2g%%", (b - a) / a * 100 }') apart, bound 0.1%)"
    else
      disagree "perplexity $name: x86_64 '$p_host', $arch '$p_cross' (more than 0.1% apart)"
    fi
    # Quantized files: byte-identical for every type; each side runs the other's Q4_K_M.
    local t n_same=0 differing=()
    for t in "${types[@]}"; do
      "$host" quantize "$model" -t "$t" -o "$work/$name-$t.x86_64.gguf" >/dev/null 2>&1 ||
        { disagree "quantize $name $t failed on x86_64"; continue; }
      "${emu[@]}" "$build/bin/slmkit" quantize "$model" -t "$t" -o "$work/$name-$t.$arch.gguf" \
        >/dev/null 2>&1 || { disagree "quantize $name $t failed on $arch"; continue; }
      if cmp -s "$work/$name-$t.x86_64.gguf" "$work/$name-$t.$arch.gguf"; then
        n_same=$((n_same + 1))
      else
        differing+=("$t($(cmp -l "$work/$name-$t.x86_64.gguf" "$work/$name-$t.$arch.gguf" 2>/dev/null | wc -l) bytes)")
      fi
    done
    if ((${#differing[@]})); then
      disagree "quantize $name: ${differing[*]} differ ($n_same of ${#types[@]} types identical)"
    else
      agree_say "quantize $name: all ${#types[@]} types byte-identical ($(sha256sum "$work/$name-Q4_K_M.$arch.gguf" | cut -c1-16)... for Q4_K_M)"
    fi
    # With an importance matrix (computed once, on x86_64) and the best-of-both choice, whose
    # error sums are where a fused multiply-add could tip a comparison.
    if ((!quick)); then
      "$host" imatrix -m "$model" -f "$text" -c 128 --chunks 8 -o "$work/$name.imatrix.gguf" \
        >/dev/null 2>&1 || disagree "imatrix $name failed on x86_64"
      n_same=0 differing=()
      for t in Q2_K Q3_K_S Q4_0 Q4_K_M Q5_K_M Q6_K; do
        local args=(quantize "$model" -t "$t" --imatrix "$work/$name.imatrix.gguf" --imatrix-best)
        "$host" "${args[@]}" -o "$work/$name-$t-im.x86_64.gguf" >/dev/null 2>&1 &&
          "${emu[@]}" "$build/bin/slmkit" "${args[@]}" -o "$work/$name-$t-im.$arch.gguf" \
            >/dev/null 2>&1 || { disagree "quantize $name $t with imatrix failed"; continue; }
        if cmp -s "$work/$name-$t-im.x86_64.gguf" "$work/$name-$t-im.$arch.gguf"; then
          n_same=$((n_same + 1))
        else
          differing+=("$t")
        fi
      done
      if ((${#differing[@]})); then
        disagree "quantize $name with imatrix: ${differing[*]} differ"
      else
        agree_say "quantize $name with imatrix (--imatrix-best): all $n_same types byte-identical"
      fi
    fi
    want=$(greedy "$work/$name-Q4_K_M.$arch.gguf" SLMKIT_ISA=auto "$host")
    have=$(greedy "$work/$name-Q4_K_M.x86_64.gguf" SLMKIT_ISA=auto "${emu[@]}" "$build/bin/slmkit")
    if [ -n "$want" ] && [ "$have" = "$want" ]; then
      agree_say "Q4_K_M $name written on $arch runs on x86_64 and vice versa: same greedy text"
    else
      disagree "Q4_K_M $name across arches: x86_64 on $arch's file '$want', $arch on x86_64's '$have'"
    fi
  done
  ((agree_failed)) || rm -rf "$work"  # kept for a look when something disagreed
  return $agree_failed
}

case "$action" in
  build) do_build "$@" ;;
  agree) do_agree "$@" ;;
  test)
    [ -f "$build/build.ninja" ] || { echo "cross.sh: run 'scripts/cross.sh $arch build' first" >&2; exit 2; }
    # ctest runs each test binary through the toolchain's CMAKE_CROSSCOMPILING_EMULATOR.
    (cd "$build" && ctest --output-on-failure -j"$(nproc)" "$@")
    ;;
  exec)
    [ "${1:-}" = "--" ] && shift
    [ -x "$build/bin/slmkit" ] || { echo "cross.sh: run 'scripts/cross.sh $arch build' first" >&2; exit 2; }
    # shellcheck disable=SC2046
    exec $(emulator) "$build/bin/slmkit" "$@"
    ;;
  *) usage ;;
esac
