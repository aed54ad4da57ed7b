#!/bin/sh
# examples/c/generate.c built against the *installed* package, three ways, and run on
# stories260K: pkg-config with the shared library, pkg-config --static with only the static one
# (a copy of the prefix without libslmkit.so*, which also shows the prefix can move), and
# find_package(slmkit) (slmkit::slmkit and slmkit::slmkit_static). Each must continue
# "Once upon a time" as llama.cpp does (the fixtures README).
#   install_example_test.sh BUILD_DIR SOURCE_DIR CC CMAKE MODEL [CFLAGS...]
# Exit 77 (skipped) when MODEL is absent.
set -eu
build=$1 src=$2 cc=$3 cmake=$4 model=$5
shift 5
extra="$*"
if [ ! -f "$model" ]; then
  echo "skipped: $model not found (the shared fixtures are not beside the project)"
  exit 77
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/slmkit-install.XXXXXX")
trap 'rm -rf "$work"' EXIT
expected="Once upon a time, there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, red ball."
cflags="-std=c99 -Wall -Wextra -Wpedantic -Werror $extra"

check() {  # name program
  out=$("$2" "$model" "Once upon a time" 40 2>"$work/$1.err") || {
    echo "$1: exit $?"; cat "$work/$1.err"; exit 1; }
  case "$out" in
    "$expected"*) echo "$1: ok: $(head -c 60 "$work/$1.err")..." ;;
    *) echo "$1: wrong text:"; echo "$out"; cat "$work/$1.err"; exit 1 ;;
  esac
}

prefix="$work/prefix"
"$cmake" --install "$build" --prefix "$prefix" >/dev/null
for f in include/slmkit/slmkit.h lib/libslmkit.a lib/pkgconfig/slmkit.pc \
         lib/cmake/slmkit/slmkitConfig.cmake lib/cmake/slmkit/slmkitConfigVersion.cmake; do
  [ -f "$prefix/$f" ] || { echo "not installed: $f"; ls -R "$prefix"; exit 1; }
done
ls "$prefix"/lib/libslmkit.so* >/dev/null
# The shared library exports the C API alone, and the core pulls in no iostream or std::locale
# (docs/embedding.md; scripts/core_report.sh lists everything it imports).
so=$(ls "$prefix"/lib/libslmkit.so.*.*.*)
if nm -D --defined-only "$so" | awk '{print $3}' | grep -v '^slm_'; then
  echo "libslmkit.so exports more than slm_* (above)"; exit 1
fi
if nm -u -D "$so" | c++filt | grep -E 'ios_base|std::locale|basic_ostream|basic_istream'; then
  echo "the runtime core imports iostream or std::locale (above)"; exit 1
fi

export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
[ "$(pkg-config --modversion slmkit)" = 0.1.0 ]
# shellcheck disable=SC2046,SC2086
"$cc" $cflags "$src/examples/c/generate.c" -o "$work/generate_shared" \
  $(pkg-config --cflags --libs slmkit) -Wl,-rpath,"$(pkg-config --variable=libdir slmkit)"
check pkg-config-shared "$work/generate_shared"

cp -R "$prefix" "$work/static-prefix"
rm -f "$work"/static-prefix/lib/libslmkit.so*
export PKG_CONFIG_PATH="$work/static-prefix/lib/pkgconfig"
# shellcheck disable=SC2046,SC2086
"$cc" $cflags "$src/examples/c/generate.c" -o "$work/generate_static" \
  $(pkg-config --cflags --static --libs slmkit)
if readelf -d "$work/generate_static" | grep NEEDED | grep -q libslmkit; then
  echo "pkg-config-static: the program needs libslmkit.so"; exit 1
fi
check pkg-config-static "$work/generate_static"

"$cmake" -S "$src/examples/c" -B "$work/cmake-build" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_C_COMPILER="$cc" -DCMAKE_C_FLAGS="$extra" -DCMAKE_BUILD_TYPE=Release >"$work/cmake.log" 2>&1 \
  || { cat "$work/cmake.log"; exit 1; }
"$cmake" --build "$work/cmake-build" >"$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
check find_package-shared "$work/cmake-build/generate_shared"
check find_package-static "$work/cmake-build/generate_static"
