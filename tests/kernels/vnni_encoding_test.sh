#!/bin/sh
# Every 8-bit dot product (vpdpbusd) in the program is EVEX-encoded (AVX512_VNNI). The VEX form
# is AVX-VNNI, which AVX-512 CPUs such as Zen 4 and Ice Lake lack although Highway runs its AVX3_DL
# target there; Highway 1.0's target string lets the compiler pick that form
# (src/kernels/quant_simd_x86-inl.h writes the instruction out instead).
# Usage: vnni_encoding_test.sh OBJDUMP PROGRAM
set -eu
objdump=$1
program=$2
listing=$("$objdump" -d --no-show-raw-insn "$program" | grep 'vpdpbusd' || true)
total=$(printf '%s\n' "$listing" | grep -c 'vpdpbusd' || true)
vex=$(printf '%s\n' "$listing" | grep -c '{vex}' || true)
echo "vpdpbusd instructions: $total, VEX-encoded: $vex"
if [ "$total" -eq 0 ]; then
  echo "no vpdpbusd in $program: the AVX3_DL kernels were not built" >&2
  exit 1
fi
[ "$vex" -eq 0 ]
