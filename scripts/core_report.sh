#!/usr/bin/env bash
# What the runtime core (the installed libslmkit, docs/embedding.md) weighs and what it imports:
# section sizes, exported symbols, and every undefined symbol of libslmkit.so grouped by the
# library that provides it. docs/embedding.md quotes this output.
#   scripts/core_report.sh [BUILD_DIR]    (default: build)
set -euo pipefail
build=${1:-build}
so=$(ls "$build"/lib/libslmkit.so.*.*.* | head -1)
ar="$build/lib/libslmkit.a"

echo "== sizes (bytes; size -t sums the archive's objects, inline code counted in each)"
size "$so" | tail -1 | awk '{printf "libslmkit.so  text %s  data %s  bss %s  file %s\n", $1, $2, $3, "'"$(stat -c %s "$so")"'"}'
size -t "$ar" | tail -1 | awk '{printf "libslmkit.a   text %s  data %s  bss %s  file %s\n", $1, $2, $3, "'"$(stat -c %s "$ar")"'"}'
echo
echo "== exports"
nm -D --defined-only "$so" | awk '{print $3}' | awk '/^slm_/ {n++} !/^slm_/ {o++; print "  not slm_*: " $0} END {printf "%d slm_* functions, %d other symbols\n", n, o}'
echo
echo "== imports by provider (nm -u -D; a symbol goes to the first NEEDED library that defines it)"
mapfile -t needed < <(readelf -d "$so" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
undefined=$(nm -u -D "$so" | awk '{print $2}' | sed 's/@.*//' | sort -u)
declare -A provider
for lib in "${needed[@]}"; do
  path=$(ldconfig -p | awk -v l="$lib" '$1 == l && /x86-64/ {print $NF; exit}')
  [ -n "$path" ] || continue
  while read -r sym; do
    [ -n "${provider[$sym]:-}" ] || provider[$sym]=$lib
  done < <(nm -D --defined-only "$path" 2>/dev/null | awk '{print $3}' | sed 's/@.*//' | sort -u |
           comm -12 - <(echo "$undefined"))
done
of() {  # the imports `provider` assigns to library $1
  local s
  for s in $undefined; do
    if [ "${provider[$s]:-(weak, none)}" = "$1" ]; then echo "$s"; fi
  done
}
for lib in "${needed[@]}" "(weak, none)"; do
  n=$(of "$lib" | wc -l)
  if [ "$n" -gt 0 ]; then
    printf '%-16s %3d  %s\n\n' "$lib" "$n" "$(of "$lib" | c++filt | sed 's/(.*//' | sort -u | tr '\n' ' ')"
  fi
done
echo "== iostream / locale"
if nm -u -D "$so" | c++filt | grep -E 'ios_base|std::locale|basic_ostream|basic_istream|cout|cerr'; then
  echo "found (above)"
else
  echo "none: no iostream, no std::locale"
fi
