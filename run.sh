#!/usr/bin/env bash
# exmy: install what is missing, build (Release), run the main job (compute_quant_error: the paper table; extra
# arguments are passed to the tool).
set -euo pipefail
cd "$(dirname "$0")"
./.ci/install-deps.sh
BUILD=${EXMY_BUILD_DIR:-build}
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build "$BUILD" -j "$(nproc)" > /dev/null
exec "$BUILD/src/exmy/cli/compute_quant_error" "$@"
