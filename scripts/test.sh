#!/usr/bin/env bash
# Builds slmkit and runs the whole suite through ctest. With no option it runs what CI runs:
# format check, release build (GCC) + all tests, then one clang build with ASan+UBSan and libFuzzer
# instrumentation that runs the tests (except Slow* and the forced-ISA matrix) and every fuzz target
# briefly. Each stage prints its wall time. Options narrow it down for day-to-day work.
#   --quick        release build + tests only
#   --sanitize     only the ASan+UBSan build and its tests
#   --fuzz         only the fuzz targets (same clang ASan+UBSan build)
#   --cross        only the cross stage: aarch64 under qemu-user (run_cross below)
#   --fuzz-seconds N   time per fuzz target (default 20)
#   -R REGEX       only tests matching REGEX (passed to ctest)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

mode=all
fuzz_seconds=${SLMKIT_FUZZ_SECONDS:-20}
fuzz_max_len=65536
ctest_filter=()
while (($#)); do
  case "$1" in
    --quick) mode=quick ;;
    --sanitize) mode=sanitize ;;
    --fuzz) mode=fuzz ;;
    --cross) mode=cross ;;
    --fuzz-seconds) fuzz_seconds=$2; shift ;;
    -R) ctest_filter=(-R "$2"); shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "test.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

jobs=$(nproc)
# One clang build serves the sanitizers and the fuzzers: ASan+UBSan everywhere, libFuzzer's coverage
# instrumentation in the library (fuzzer-no-link), so CI compiles the tree twice, not three times.
# Its test run leaves out tests named Slow* (multi-gigabyte synthetic models, whole-corpus runs) and
# the forced-ISA matrix (isa.*: numerical paths, whose kernels the kernel tests already run on every
# path under the sanitizers): they test sizes and numbers, not memory safety, and take minutes there.
# Also left out there, as they cost half its test time (measured: 1,550 of 2,860 s summed):
# the three Synth tests that build real-shape models (hundreds of MB; the writers they use run on
# small models in other tests) and GGUF's 3,000 random byte flips (fuzz_gguf, in the same build,
# does that with coverage guidance right after), and four tests that tokenize megabytes (their
# code runs on small inputs in the other tokenizer tests and under the tokenizer fuzzers).
asan_dir=build-asan
asan_exclude='(^|[./])Slow|^isa\.|^Synth\.(ShapesHaveTheRealParameterCounts|HfFolderWithoutTokenizerIsLinearInItsSize|EveryFamilyRoundTripsThroughGgufAndHuggingFace)$|^GgufBadInput\.RandomByteFlipsNeverCrash$|^(TokenizerBadInput\.TenMegabytesRoundTrip|Tokenizer\.DecodeRoundTripsEveryVectorExactly|TokenizerSources\.Gemma3TokenizerJsonMatchesGemma4Gguf|LlamaCppPeerIds\.WikiTextIdentical)$'
asan_flags="-O2 -gline-tables-only -DNDEBUG"
asan_cmake=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++
  "-DCMAKE_C_FLAGS_RELWITHDEBINFO=$asan_flags" "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=$asan_flags"
  -DSLMKIT_SANITIZE=ON -DSLMKIT_FUZZ=ON -DSLMKIT_BENCH=OFF -DSLMKIT_WERROR=OFF)
started=$SECONDS
stage() {  # name command... : runs it and prints its wall time
  local name=$1 t0=$SECONDS rc=0; shift
  "$@" || rc=$?
  echo "stage: $name took $((SECONDS - t0)) s (rc $rc; $((SECONDS - started)) s so far)"
  return $rc
}
stage setup scripts/setup.sh

check_format() {
  local bad=()
  while IFS= read -r f; do
    clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || bad+=("$f")
  done < <(git ls-files '*.h' '*.cpp')
  if ((${#bad[@]})); then
    echo "format: not clang-formatted: ${bad[*]}" >&2
    echo "format: run clang-format -i on them" >&2
    return 1
  fi
  echo "format: all C++ files are clang-formatted"
}

run_suite() {  # build_dir ctest_exclude_regex extra_cmake_args...
  local dir=$1 exclude=$2; shift 2
  local filter=("${ctest_filter[@]}")
  [ -n "$exclude" ] && filter+=(-E "$exclude")
  # Chained: stage() runs this in a condition, where set -e does not stop at a failed build.
  cmake -S "$root" -B "$dir" -G Ninja "$@" >/dev/null && ninja -C "$dir" -j"$jobs" --quiet &&
    (cd "$dir" && ctest --output-on-failure -j"$jobs" "${filter[@]}")
}

# Seeds from the shared fixtures, cut to the fuzzers' input limit so they stay fast.
fuzz_seeds() {  # target out_dir -> prints out_dir when it holds seeds
  local target=$1 out=$2 fx="$root/../shared/fixtures" files=()
  # Seeds checked in beside a fuzzer (tests/fuzz/seeds/TARGET/) need no fixtures.
  if [ -d "$root/tests/fuzz/seeds/$target" ]; then
    echo "$root/tests/fuzz/seeds/$target"
    return 0
  fi
  [ -d "$fx" ] || return 0
  case "$target" in
    gguf) files=("$fx/models/gguf-stories260K/stories260K.gguf" "$fx/models/gguf-llama2-tiny-random/llama-2-tiny-random.gguf") ;;
    capi_open_memory) files=("$fx/models/gguf-stories260K/stories260K.gguf") ;;
    safetensors) files=("$fx/models/hf-gpt2-tiny-random/model.safetensors") ;;
    llama2c) files=("$fx/models/llama2c-stories260K/stories260K.bin" "$fx/models/llama2c-stories260K/tok512.bin") ;;
    config_json) files=("$fx/models/hf-gpt2-tiny-random/config.json") ;;
    tokenizer_json) files=("$fx/models/hf-gpt2-tiny-random/tokenizer.json") ;;
    sentencepiece) files=("$fx/tokenizers/llama2-spm/tokenizer.model") ;;
  esac
  ((${#files[@]})) || return 0
  mkdir -p "$out"
  for f in "${files[@]}"; do head -c "$fuzz_max_len" "$f" > "$out/$(basename "$f")"; done
  echo "$out"
}

run_fuzz() {
  local dir=$asan_dir
  cmake -S "$root" -B "$dir" -G Ninja "${asan_cmake[@]}" >/dev/null || return 1
  ninja -C "$dir" -j"$jobs" --quiet $(ninja -C "$dir" -t targets all | grep -o '^fuzz_[a-z0-9_]*' | sort -u) ||
    return 1
  local corpus_root="$dir/corpus" failed=0 fuzzer name
  for fuzzer in "$dir"/bin/fuzz_*; do
    name=$(basename "$fuzzer")
    mkdir -p "$corpus_root/$name"
    seeds=()
    seed_dir=$(fuzz_seeds "${name#fuzz_}" "$dir/seeds/${name#fuzz_}")
    [ -n "$seed_dir" ] && seeds+=("$seed_dir")
    if "$fuzzer" -max_total_time="$fuzz_seconds" -rss_limit_mb=2048 -timeout=10 -max_len="$fuzz_max_len" -print_final_stats=0 \
        "$corpus_root/$name" "${seeds[@]}" >"$dir/$name.log" 2>&1; then
      echo "fuzz: $name ran ${fuzz_seconds}s: $(grep -o 'Done [0-9]* runs' "$dir/$name.log" | tail -1)"
    else
      echo "fuzz: $name FAILED (log: $dir/$name.log)"; tail -30 "$dir/$name.log"; failed=1
    fi
  done
  return $failed
}

# Other architectures under qemu-user (scripts/cross.sh; docs/portability.md). Kept small for CI's
# time: only the CLI and the kernel test binary are cross-built, without ONNX; the kernel tests run
# (NEON and the scalar references) and the agreement with this build on stories260K (greedy text
# per ISA, perplexity, every quantize type byte for byte, each side running the other's Q4_K_M).
# aarch64 only by default: riscv64's libraries are built from Debian's sources first (several
# minutes from a clean clone), so SLMKIT_CROSS_ARCHES="aarch64 riscv64" adds it where time allows.
# `scripts/cross.sh ARCH build && scripts/cross.sh ARCH test && scripts/cross.sh ARCH agree` run the
# rest. Needs the x86_64 build in build/.
run_cross() {
  local arch failed=0
  for arch in ${SLMKIT_CROSS_ARCHES:-aarch64}; do
    scripts/cross.sh "$arch" build --minimal || { failed=1; continue; }
    scripts/cross.sh "$arch" test -L kernels "${ctest_filter[@]}" || failed=1
    scripts/cross.sh "$arch" agree --quick || failed=1
  done
  return $failed
}

case "$mode" in
  quick) stage release run_suite build "" -DCMAKE_BUILD_TYPE=Release ;;
  sanitize) stage sanitize run_suite "$asan_dir" "$asan_exclude" "${asan_cmake[@]}" ;;
  fuzz) stage fuzz run_fuzz ;;
  cross)
    [ -x build/bin/slmkit ] || stage release run_suite build "" -DCMAKE_BUILD_TYPE=Release
    stage cross run_cross
    ;;
  all)
    stage format check_format
    stage release run_suite build "" -DCMAKE_BUILD_TYPE=Release
    stage sanitize run_suite "$asan_dir" "$asan_exclude" "${asan_cmake[@]}"
    stage fuzz run_fuzz
    stage cross run_cross
    ;;
esac
