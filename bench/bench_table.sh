#!/usr/bin/env bash
# Regenerates docs/bench.md: slmkit vs llama.cpp (same GGUF) and vs ONNX Runtime (our ONNX export
# of the same weights), for synthetic models with real shapes x weight types, plus the machine's
# memory-copy bandwidth and each decode's bandwidth bound, all measured in one run.
#
#   bench/bench_table.sh [--quick]        # from the repository root, after building slmkit
#   scripts/setup.sh --native-peers && bench/bench_table.sh    # against llama.cpp built for this CPU
#
# Environment: BENCH_DIR (models and exports; /tmp/slmkit-bench-table), THREADS (2), PP (32),
# TG (8), REPS (2), SHAPES ("llama:tinyllama-1.1b llama:llama-3.2-1b gpt2:distilgpt2
# gemma3:gemma-3-270m qwen2:qwen2-0.5b"), TYPES ("F16 Q8_0 Q4_0 Q4_K_M"), OUT (docs/bench.md),
# NOTES (a markdown file appended to the page: what this run's numbers mean), WITH_ORT (0: no ONNX
# export nor ONNX Runtime column), ORT_SHAPES (the shape names that get them; default every shape:
# e.g. all but the 1B shapes, whose fp32 graphs are 4.4 GB), SPEEDUP_TG (128:
# generated tokens of the INT8-vs-FP32 and KV-cache-vs-recompute rows).
# Models are written once (synth, quantize, export) and reused by later runs. --quick: distilgpt2
# only, for trying the script. The defaults (pp32, tg8, 2 repetitions) were chosen for the
# 20-minute budget: distilgpt2 + gemma-3-270m + qwen2-0.5b took 480 s of measuring on the shared
# 2-core machine under load (average 10-13); the two 1B shapes were not timed. Writing the models
# and exports the first time takes several minutes more per 1B shape.
set -euo pipefail
cd "$(dirname "$0")/.."
SLMKIT=${SLMKIT:-build/bin/slmkit}
BENCH_DIR=${BENCH_DIR:-/tmp/slmkit-bench-table}
THREADS=${THREADS:-2}
PP=${PP:-32}
TG=${TG:-8}
REPS=${REPS:-2}
SHAPES=${SHAPES:-"llama:tinyllama-1.1b llama:llama-3.2-1b gpt2:distilgpt2 gemma3:gemma-3-270m qwen2:qwen2-0.5b"}
TYPES=${TYPES:-"F16 Q8_0 Q4_0 Q4_K_M"}
OUT=${OUT:-docs/bench.md}
if [[ "${1:-}" == "--quick" ]]; then SHAPES="gpt2:distilgpt2"; fi
TOKENIZERS=../shared/fixtures/tokenizers
mkdir -p "$BENCH_DIR/results"
log() { echo "bench_table: $*" >&2; }
start=$(date +%s)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

# ONNX Runtime's export for each GGUF type: the GGUF Q8_0 / Q4_0 rows are our "int8 per-channel"
# and "int4" (one scale per 32 weights); ORT's are the int8 (per-channel MatMulInteger) and q4
# (MatMulNBits, 32-weight blocks) exports. F16 is compared with ORT's fp32 graph (ORT's CPU
# kernels have no f16 MatMul worth timing).
ort_precision() {
  case $1 in F16 | F32) echo fp32 ;; Q8_0) echo int8 ;; Q4_0) echo q4 ;; *) echo "" ;; esac
}

with_ort() {
  [[ "${WITH_ORT:-1}" != 0 ]] || return 1
  [[ -z "${ORT_SHAPES:-}" || " $ORT_SHAPES " == *" $1 "* ]]
}

prep_start=$(date +%s)
for entry in $SHAPES; do
  arch=${entry%%:*} shape=${entry#*:}
  f16="$BENCH_DIR/$shape-F16.gguf"
  if [[ ! -f "$f16" ]]; then
    log "synth $shape"
    "$SLMKIT" synth --arch "$arch" --shape "$shape" --seed 1 --dtype f16 -o "$f16" \
      --tokenizer-dir "$TOKENIZERS" > /dev/null
  fi
  for type in $TYPES; do
    [[ "$type" == F16 ]] && continue
    q="$BENCH_DIR/$shape-$type.gguf"
    if [[ ! -f "$q" ]]; then
      log "quantize $shape $type"
      "$SLMKIT" quantize "$f16" -t "$type" -o "$q" > /dev/null
    fi
  done
  if with_ort "$shape" && [[ ! -d "$BENCH_DIR/$shape-onnx" ]]; then
    log "export onnx $shape"
    "$SLMKIT" export onnx "$f16" -o "$BENCH_DIR/$shape-onnx" --variant with_past \
      --precision fp32 --precision int8 --precision q4 > /dev/null
  fi
done
prep_s=$(( $(date +%s) - prep_start ))

# llama.cpp at its strongest: the peer loads a native build (scripts/setup.sh --native-peers)
# when there is one for this CPU; each row names the build it measured, and so does the page.
native=${SLMKIT_LLAMA_CPP_NATIVE_DIR:-third_party/peers/llama.cpp-native}
if [[ -f "$native/build-info.json" ]]; then
  log "llama.cpp: native build in $native"
else
  log "llama.cpp: no native build in $native (scripts/setup.sh --native-peers); measuring the prebuilt"
fi

bench_start=$(date +%s)
results=()
for entry in $SHAPES; do
  shape=${entry#*:}
  for type in $TYPES; do
    model="$BENCH_DIR/$shape-$type.gguf"
    json="$BENCH_DIR/results/$shape-$type.json"
    args=(bench -m "$model" -p "$PP" -n "$TG" -r "$REPS" -t "$THREADS" --vs llama.cpp -o json)
    prec=$(ort_precision "$type")
    if [[ -n "$prec" ]] && with_ort "$shape"; then
      args+=(--vs ort --onnx "$BENCH_DIR/$shape-onnx" --ort-precision "$prec")
    fi
    log "$shape $type"
    if "$SLMKIT" "${args[@]}" > "$json.tmp" 2> "$json.err"; then
      mv "$json.tmp" "$json"
    else
      # Keep going: a type the engine cannot run yet is a hole in the table, with its reason.
      python3 -c 'import json,sys; print(json.dumps({"error": open(sys.argv[1]).read().strip().splitlines()[-1:]}))' \
        "$json.err" > "$json"
      rm -f "$json.tmp"
    fi
    results+=("$shape:$type:$json")
  done
done
# The reference study's two distilgpt2 speedups, on our engine: INT8 (Q8_0) vs FP32 weights, and
# generating with the KV cache vs recomputing the prefix for every token.
extra_args=()
if [[ " $SHAPES " == *" gpt2:distilgpt2 "* ]]; then
  f32="$BENCH_DIR/distilgpt2-F32.gguf"
  [[ -f "$f32" ]] || "$SLMKIT" synth --arch gpt2 --shape distilgpt2 --seed 1 --dtype f32 -o "$f32" \
    --tokenizer-dir "$TOKENIZERS" > /dev/null
  "$SLMKIT" bench -m "$f32,$BENCH_DIR/distilgpt2-Q8_0.gguf" -p "$PP" -n "${SPEEDUP_TG:-128}" -r "$REPS" \
    -t "$THREADS" -o json > "$BENCH_DIR/results/int8-vs-fp32.json"
  "$SLMKIT" bench --kv-vs-recompute -m "$BENCH_DIR/distilgpt2-F16.gguf" -p "${KV_PP:-32}" \
    -n "${SPEEDUP_TG:-128}" -r "$REPS" -t "$THREADS" -o json > "$BENCH_DIR/results/kv-vs-recompute.json"
  extra_args=(--int8-vs-fp32 "$BENCH_DIR/results/int8-vs-fp32.json"
    --kv-vs-recompute "$BENCH_DIR/results/kv-vs-recompute.json")
fi
bw_json="$BENCH_DIR/results/bandwidth.json"
"$SLMKIT" bench -m "$BENCH_DIR/$shape-F16.gguf" -p 0 -n "$TG" -r 1 -t "$THREADS" --bandwidth \
  --in-process -o json > "$bw_json"
bench_s=$(( $(date +%s) - bench_start ))
total_s=$(( $(date +%s) - start ))

python3 bench/bench_table.py --out "$OUT" --threads "$THREADS" --pp "$PP" --tg "$TG" \
  --reps "$REPS" --bandwidth "$bw_json" --prep-seconds "$prep_s" --bench-seconds "$bench_s" \
  --total-seconds "$total_s" --load "$load_before / $(cut -d' ' -f1-3 /proc/loadavg)" --command "bench/bench_table.sh ${1:-}" \
  --env "THREADS=$THREADS PP=$PP TG=$TG REPS=$REPS SHAPES=\"$SHAPES\" TYPES=\"$TYPES\"${ORT_SHAPES:+ ORT_SHAPES=\"$ORT_SHAPES\"}${WITH_ORT:+ WITH_ORT=$WITH_ORT} OUT=$OUT" \
  ${NOTES:+--notes "$NOTES"} "${extra_args[@]}" "${results[@]}"
log "wrote $OUT in ${total_s}s (models ${prep_s}s, benchmarks ${bench_s}s)"
