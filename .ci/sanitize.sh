#!/usr/bin/env bash
# Second CI stage (issue 8, run by .ci/run after ./test.sh): the test suite built with AddressSanitizer
# and UndefinedBehaviorSanitizer (-fno-sanitize-recover: the first report fails its test; leaks are
# reports too), -O1, no CUDA, no benchmarks or fuzzers. Left out: the 2^32 sweeps (label sweep32),
# the notebooks (clang-repl cannot load an instrumented libexmy.so), the fuzzers (their own ASan
# build, label fuzz) and the tests labelled no_sanitize (tests/CMakeLists.txt says why each).
# Builds only the executables of the selected tests. Wall time on 2 cores: README "Sanitizers and
# fuzzing".
set -euo pipefail
cd "$(dirname "$0")/.."
./.ci/install-deps.sh
# The sanitizer runtimes of GCC (Debian's g++ pulls them in through libgcc-12-dev; checked anyway).
missing=()
for p in libasan8 libubsan1; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
BUILD=${EXMY_SANITIZE_BUILD_DIR:-build-asan}
JOBS=${EXMY_JOBS:-$(nproc)}
t0=$(date +%s)
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DEXMY_WERROR=ON \
      -DEXMY_SANITIZE=address,undefined -DEXMY_ENABLE_CUDA=OFF -DEXMY_BUILD_BENCH=OFF \
      -DEXMY_BUILD_FUZZ=OFF
# Only what the selected tests run: their executables (and, through their dependencies, the
# library and the tools they call) — not the excluded tests, the shared library or the notebooks.
exclude='no_sanitize|sweep32|notebook|fuzz'
targets=$(ctest --test-dir "$BUILD" -LE "$exclude" --show-only=json-v1 |
          /usr/bin/python3 -c 'import glob, json, os, re, sys
exe = {}  # test name -> executable, from the generated CTestTestfile.cmake (before any build)
for f in glob.glob(os.path.join(sys.argv[1], "**", "CTestTestfile.cmake"), recursive=True):
    for name, path in re.findall(r"add_test\(\[=\[(.*?)\]=\] \"([^\"]+)\"", open(f).read()):
        exe[name] = os.path.basename(path)
print(" ".join(sorted({exe[t["name"]] for t in json.load(sys.stdin)["tests"]})))' "$BUILD")
cmake --build "$BUILD" -j "$JOBS" --target $targets
t1=$(date +%s)
# detect_leaks: every allocation is freed at exit; abort_on_error: a core-style failure for ctest;
# halt_on_error is implied by -fno-sanitize-recover; print_stacktrace for UBSan reports.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir "$BUILD" --output-on-failure -j "$JOBS" -LE "$exclude" "$@"
t2=$(date +%s)
echo "sanitize stage: build $((t1 - t0)) s, ctest $((t2 - t1)) s"
