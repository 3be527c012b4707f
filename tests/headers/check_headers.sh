#!/usr/bin/env bash
# Every public header parses on its own with a plain clang in C++17 mode (what cling, the
# xeus-cling interpreter, is) and holds no CUDA or OpenMP constructs: notebooks include them.
set -euo pipefail
src=$1
cxx=$(command -v clang++ || true)
if [ -z "$cxx" ]; then echo "SKIPPED: clang++ not found"; exit 0; fi
fail=0
while IFS= read -r h; do
  rel=${h#"$src/"}
  if grep -nE '#pragma omp|__global__|<<<|cuda_runtime' "$h" >/dev/null; then
    echo "FAIL $rel: CUDA/OpenMP construct in a public header"; fail=1
  fi
  if ! echo "#include \"$rel\"" | "$cxx" -std=c++17 -fsyntax-only -x c++ -I"$src" -I/usr/include/eigen3 - 2>/tmp/exmy-hdr.$$; then
    echo "FAIL $rel:"; cat /tmp/exmy-hdr.$$; fail=1
  fi
done < <(find "$src/exmy" -name '*.hpp' ! -path '*/cli/*' ! -name 'kernels.hpp' | sort)
rm -f /tmp/exmy-hdr.$$
[ $fail -eq 0 ] && echo "all public headers parse with $("$cxx" --version | head -1)"
exit $fail
