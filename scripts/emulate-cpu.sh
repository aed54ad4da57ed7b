#!/usr/bin/env bash
# Runs a command as if this x86_64 machine had another CPU, e.g. an AVX2-only one on an AVX-512 host:
#   scripts/emulate-cpu.sh CPU -- COMMAND [ARGS...]
# CPU is a qemu x86 model (Haswell: AVX2 + FMA + F16C, no AVX-512, no VNNI; Nehalem: SSE4.2).
# Every slmkit program in the build folder (build/, or SLMKIT_BUILD_DIR) and `node` (through PATH and
# SLMKIT_NODE, so ONNX Runtime and llama.cpp's prebuilt run in it) then starts under
# `qemu-x86_64 -cpu CPU`, however deep in the process tree: each is marked with one byte in its ELF
# header's padding, which Linux and qemu ignore, and a binfmt_misc rule sends marked files to qemu.
# Marks and rule are removed on exit. Needs root (binfmt_misc) and Debian's qemu-user. About 30x
# slower than native (EngineParity.Stories3M: 0.18 s native, 3.4 s as Haswell).
# The native llama.cpp build is left out (SLMKIT_LLAMA_CPP_NATIVE=0): it was compiled for this
# host's CPU; ggml's own scoring then picks the prebuilt variant that the emulated CPU supports.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
(($# >= 3)) && [ "$2" = "--" ] || { sed -n '2,/^set -euo/p' "$0" | grep '^#'; exit 2; }
cpu=$1
shift 2
build=${SLMKIT_BUILD_DIR:-$root/build}
rule=slmkit-emulate-cpu
binfmt=/proc/sys/fs/binfmt_misc
marker='\x53'  # 'S' at offset 15, the last byte of e_ident's padding

[ "$(id -u)" -eq 0 ] || { echo "emulate-cpu.sh: needs root (binfmt_misc)" >&2; exit 2; }
if ! command -v qemu-x86_64 >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-user >/dev/null
fi
# qemu exits 1 after listing its models.
{ qemu-x86_64 -cpu help || true; } | grep -w -- "$cpu" >/dev/null || { echo "emulate-cpu.sh: qemu has no CPU '$cpu'" >&2; exit 2; }
[ -e "$binfmt/register" ] || mount -t binfmt_misc binfmt_misc "$binfmt"
[ ! -e "$binfmt/$rule" ] || { echo "emulate-cpu.sh: $binfmt/$rule exists (another run?)" >&2; exit 2; }

# Marks are on the files built now: a program rebuilt during the run would start natively.
[ ! -f "$build/build.ninja" ] || ninja -C "$build" --quiet
work=$(mktemp -d)
interp=$work/qemu-$cpu
printf '#!/bin/sh\nQEMU_CPU=%s exec %s "$@"\n' "$cpu" "$(command -v qemu-x86_64)" >"$interp"
chmod +x "$interp"
mkdir "$work/bin"
cp "$(command -v node)" "$work/bin/node"

marked=("$work/bin/node")
while IFS= read -r -d '' f; do
  [ "$(head -c 4 "$f" | od -An -c | tr -d ' ')" = '177ELF' ] && marked+=("$f")
done < <(find "$build/bin" -maxdepth 1 -type f -perm -u+x -print0)

set_mark() {  # BYTE FILES...
  local byte=$1 f
  shift
  for f in "$@"; do printf "$byte" | dd of="$f" bs=1 seek=15 conv=notrunc status=none; done
}
cleanup() {
  [ -e "$binfmt/$rule" ] && echo -1 >"$binfmt/$rule"
  set_mark '\x00' "${marked[@]}"
  rm -rf "$work"
}
trap cleanup EXIT
set_mark "$marker" "${marked[@]}"
# Match the 64-bit little-endian ELF magic and the marker, whatever the OS ABI byte says.
magic='\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00'"$marker"
mask='\xff\xff\xff\xff\xff\xff\xff\x00\x00\x00\x00\x00\x00\x00\x00\xff'
echo ":$rule:M::$magic:$mask:$interp:" >"$binfmt/register"
echo "emulate-cpu: ${#marked[@]} programs run as $cpu (qemu $(qemu-x86_64 --version | head -1 | awk '{print $3}'))" >&2

PATH="$work/bin:$PATH" SLMKIT_NODE="$work/bin/node" SLMKIT_LLAMA_CPP_NATIVE=0 \
  "$@" 2> >(grep -v "TCG doesn't support requested feature" >&2)
