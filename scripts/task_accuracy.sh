#!/usr/bin/env bash
# Accuracy per quantization type of stories3M on the TinyStories next-sentence task
# (tasks/tinystories-next-sentence.txt, made by scripts/make_story_task.py): the table in
# docs/task-accuracy.md. Quantizes with slmkit (byte-identical to llama.cpp) into a temporary
# folder and scores every file with `slmkit eval`, each against the F32 original item by item.
# usage: scripts/task_accuracy.sh [SLMKIT] [MODEL] [TASK]
set -euo pipefail
slmkit=${1:-build/bin/slmkit}
model=${2:-../shared/fixtures/models/stories3M/stories3M.gguf}
task=${3:-tasks/tinystories-next-sentence.txt}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "| type | bytes | accuracy (llama.cpp's) | vs F32 (paired) | answers changed | acc_sum | acc_chars |"
echo "|---|---|---|---|---|---|---|"
for type in F32 Q8_0 Q4_0 Q2_K; do
  file=$model
  reference=()
  if [ "$type" != F32 ]; then
    file=$work/$type.gguf
    "$slmkit" quantize "$model" -t "$type" -o "$file" >/dev/null
    reference=(--reference "$model")
  fi
  out=$("$slmkit" eval -m "$file" --task "$task" -q "${reference[@]}" 2>/dev/null)
  metric() { echo "$out" | awk -v m="$1" '$1 == m { printf "%s ± %s %%", $2, $4 }'; }
  paired=$(echo "$out" | awk '$1 == "vs" { printf "%s ± %s %%", $3, $5 }')
  changed=$(echo "$out" | awk '$1 == "vs" { for (i = 1; i <= NF; i++) if ($i == "on") printf "%s of %s", $(i + 1), $(i + 3) }')
  printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$type" \
    "$(stat -c %s "$file" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta')" "$(metric accuracy)" \
    "${paired:-}" "${changed:-}" "$(metric acc_sum)" "$(metric acc_chars)"
done
