#!/usr/bin/env bash
# SmoothQuant's whole table (issue 17): ONNX W8A8 with dynamic activation scales (--precision
# int8) and with static ones from calibration (--precision w8a8), and GGUF Q8_0 / Q4_K_M, each
# without SmoothQuant and with alpha 0.5, 0.8 and auto, on plain models and their outlier copies
# (slmkit quantize --dev-outliers 4 50: function-preserving). Every file is scored by `slmkit
# perplexity --kl-divergence BASE` (ONNX through ONNX Runtime, GGUF in our engine) against the
# plain model's FP32 (16 chunks of 128 held-out tokens: the last 39,700 bytes of
# tinystories_val_subset.txt; calibration on the rest); decode speed by `slmkit bench` (tg32, 2
# threads, mean of 3; ONNX: its with-past graph in ONNX Runtime, `--vs ort`). llama.cpp's own KLDs
# of the GGUF files: scripts/smoothquant_table.sh. Prints a markdown table.
#   scripts/smoothquant_full_table.sh [BUILD_DIR] [WORK_DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
work=${2:-$(mktemp -d)}
slmkit=$build/bin/slmkit
fixtures=$root/../shared/fixtures
text=$fixtures/text/tinystories_val_subset.txt
mkdir -p "$work"
n=$(stat -c %s "$text")
head -c $((n - 39700)) "$text" >"$work/calib.txt"
tail -c 39700 "$text" >"$work/held.txt"

score() {  # MODEL BASE -> "PPL | KLD | same top"
  "$slmkit" perplexity -m "$1" --kl-divergence "$2" -t 2 2>/dev/null | awk '
    /^Mean PPL\(Q\) / {p = $4} /^Mean +KLD:/ {k = $3} /^Same top p:/ {s = $4}
    END {printf "%.4f | %.6f | %.1f%%", p, k, s}'
}
tg_gguf() {  # GGUF -> our engine's tg32 t/s (mean of 3)
  "$slmkit" bench -m "$1" -p 0 -n 32 -r 3 -t 2 2>/dev/null |
    awk -F'|' '$5 ~ /slmkit/ && $7 ~ /tg32/ {split($8, a, " "); printf "%.0f", a[1]}'
}
tg() {  # GGUF ONNX_DIR PRECISION -> ONNX Runtime's tg32 t/s (mean of 3)
  "$slmkit" bench -m "$1" --vs ort --onnx "$2" --ort-precision "$3" -p 0 -n 32 -r 3 -t 2 \
    2>/dev/null | awk -F'|' '$5 ~ /onnxruntime/ && $7 ~ /tg32/ {split($8, a, " "); printf "%.0f", a[1]}'
}

echo "| model | variant | SmoothQuant | file | PPL | mean KLD | same top | size | decode t/s |"
echo "|---|---|---|---|---|---|---|---|---|"
for m in gguf-stories260K/stories260K stories3M/stories3M; do
  b=$(basename "$m")
  "$slmkit" quantize "$fixtures/models/$m.gguf" -t F32 -o "$work/$b.plain.gguf" 2>/dev/null
  "$slmkit" quantize "$fixtures/models/$m.gguf" -t F32 --dev-outliers 4 50 \
    -o "$work/$b.outlier.gguf" 2>/dev/null
  "$slmkit" perplexity -m "$work/$b.plain.gguf" -f "$work/held.txt" -c 128 --chunks 16 -t 2 \
    --kl-base "$work/$b.kl" >/dev/null 2>&1
  "$slmkit" export onnx "$work/$b.plain.gguf" -o "$work/$b.fp32" --variant plain,with_past \
    >/dev/null 2>&1
  size=$(stat -c %s "$work/$b.fp32/onnx/decoder_model.onnx")
  echo "| $b | plain | - | ONNX fp32 | $(score "$work/$b.fp32" "$work/$b.kl") | $size |" \
    "$(tg "$work/$b.plain.gguf" "$work/$b.fp32" fp32) |"
  for v in plain outlier; do
    for sq in none 0.5 0.8 auto; do
      args=()
      [[ $sq != none ]] && args=(--smoothquant "$sq")
      dir=$work/$b.$v.$sq
      "$slmkit" export onnx "$work/$b.$v.gguf" -o "$dir" --variant plain,with_past \
        --precision int8,w8a8 -f "$work/calib.txt" "${args[@]}" >/dev/null 2>&1
      for p in int8 w8a8; do
        size=$(stat -c %s "$dir/onnx/decoder_model_$p.onnx")
        echo "| $b | $v | $sq | ONNX $p | $(score "$dir/onnx/decoder_model_$p.onnx" "$work/$b.kl") |" \
          "$size | $(tg "$work/$b.$v.gguf" "$dir" "$p") |"
      done
      for t in Q8_0 Q4_K_M; do
        out=$dir.$t.gguf
        sq_args=()
        [[ $sq != none ]] && sq_args=("${args[@]}" -f "$work/calib.txt")
        "$slmkit" quantize "$work/$b.$v.gguf" -t "$t" "${sq_args[@]}" -o "$out" >/dev/null 2>&1
        echo "| $b | $v | $sq | GGUF $t | $(score "$out" "$work/$b.kl") | $(stat -c %s "$out") |" \
          "$(tg_gguf "$out") |"
      done
    done
  done
done
