#!/usr/bin/env bash
# SmoothQuant on GGUF (issue 17): mean KLD against each model's own FP32 for plain models, their
# outlier copies (slmkit quantize --dev-outliers: function-preserving, 4 channels x50 per norm)
# and the outlier copies smoothed at alpha 0.5 and 0.8, quantized to Q8_0 and Q4_K_M; measured by
# llama.cpp's llama-perplexity --kl-divergence and by ours. Held-out text: the last 39,700 bytes
# of tinystories_val_subset.txt; calibration: the rest. Prints a markdown table.
#   scripts/smoothquant_table.sh [BUILD_DIR] [WORK_DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
work=${2:-$(mktemp -d)}
slmkit=$build/bin/slmkit
fixtures=$root/../shared/fixtures
llama=${LLAMA_PERPLEXITY:-$root/third_party/peers/llama.cpp-native/bin/llama-perplexity}
text=$fixtures/text/tinystories_val_subset.txt
mkdir -p "$work"
n=$(stat -c %s "$text")
head -c $((n - 39700)) "$text" >"$work/calib.txt"
tail -c 39700 "$text" >"$work/held.txt"

kld_ours() { "$slmkit" perplexity -m "$1" --kl-divergence "$2" -c 256 -t 2 2>/dev/null |
  awk '/^Mean +KLD:/ {v = $3} END {print v}'; }
# llama.cpp logs through a worker thread and now and then exits (status 0) before its last lines
# are written: ask again when the summary is missing.
kld_llama() {
  local v=""
  for _ in 1 2 3 4 5; do
    v=$("$llama" -m "$1" --kl-divergence-base "$2" --kl-divergence -c 256 -t 2 2>&1 |
      awk '/^Mean +KLD:/ {v = $3} END {print v}')
    [[ -n $v ]] && break
  done
  echo "${v:-?}"
}

echo "| model | variant | Q8_0 KLD (llama.cpp) | Q8_0 KLD (slmkit) | Q4_K_M KLD (llama.cpp) | Q4_K_M KLD (slmkit) |"
echo "|---|---|---|---|---|---|"
for m in gguf-stories260K/stories260K stories3M/stories3M; do
  b=$(basename "$m")
  "$slmkit" quantize "$fixtures/models/$m.gguf" -t F32 -o "$work/$b.plain.gguf" 2>/dev/null
  "$slmkit" quantize "$fixtures/models/$m.gguf" -t F32 --dev-outliers 4 50 \
    -o "$work/$b.outlier.gguf" 2>/dev/null
  # Each variant's FP32 is the same function (up to f32 rounding): one base, the plain model's.
  "$slmkit" perplexity -m "$work/$b.plain.gguf" -f "$work/held.txt" -c 256 -t 2 \
    --kl-base "$work/$b.kl" >/dev/null 2>&1
  for v in plain outlier "outlier sq0.5" "outlier sq0.8" "plain sq0.5" "plain sq0.8"; do
    src=$work/$b.${v%% *}.gguf
    sq=()
    [[ $v == *sq* ]] && sq=(--smoothquant "${v##*sq}" -f "$work/calib.txt")
    row="| $b | $v |"
    for t in Q8_0 Q4_K_M; do
      out=$work/$b.${v// /_}.$t.gguf
      "$slmkit" quantize "$src" -t "$t" "${sq[@]}" -o "$out" 2>/dev/null
      row+=" $(kld_llama "$out" "$work/$b.kl") | $(kld_ours "$out" "$work/$b.kl") |"
    done
    echo "$row"
  done
done
