#!/usr/bin/env bash
# Installs the built exmy into a scratch prefix, then configures, builds and runs a consumer
# project against it with find_package(exmy) (issue "quantizer core", Packaging).
set -euo pipefail
build=$1; src=$2
work="$build/package-test"
rm -rf "$work"
cmake --install "$build" --prefix "$work/prefix" > "$work.install.log" 2>&1 || { cat "$work.install.log"; exit 1; }
cmake -S "$src/tests/package/consumer" -B "$work/consumer" -DCMAKE_PREFIX_PATH="$work/prefix" \
      -DCMAKE_BUILD_TYPE=Release > "$work.configure.log" 2>&1 || { cat "$work.configure.log"; exit 1; }
cmake --build "$work/consumer" > "$work.build.log" 2>&1 || { cat "$work.build.log"; exit 1; }
"$work/consumer/consumer"
