#!/usr/bin/env bash
# The main job on a fresh machine, no download: install and build, write a synthetic distilgpt2
# (random weights, real shapes, the real GPT-2 tokenizer when ../shared has it) and inspect it.
# Pass a model to inspect your own instead: scripts/quickstart.sh path/to/model.gguf
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/setup.sh
slmkit=build/bin/slmkit
model=${1:-}
if [ -z "$model" ]; then
  mkdir -p out
  model=out/synthetic-distilgpt2.gguf
  [ -f "$model" ] || "$slmkit" synth --arch gpt2 --shape distilgpt2 --dtype f16 --seed 0 -o "$model"
fi
"$slmkit" inspect "$model"
