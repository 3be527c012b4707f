#!/usr/bin/env bash
# exmy: install what is missing, build (Release), run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")"
./.ci/install-deps.sh
BUILD=${EXMY_BUILD_DIR:-build}
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DEXMY_WERROR=ON
cmake --build "$BUILD" -j "$(nproc)"
ctest --test-dir "$BUILD" --output-on-failure -j "$(nproc)" "$@"
