#!/usr/bin/env bash
# Runs one libFuzzer target for a fixed time (ctest label fuzz): fuzz/run_fuzz.sh BINARY SEEDS WORK SECONDS.
# New inputs go to WORK/corpus (the committed seeds stay untouched); a finding is written to WORK/
# as crash-*/leak-*/oom-*/timeout-* and the test fails: copy it into fuzz/corpus/<target>/ once fixed.
# -malloc_limit_mb: a single allocation above 1 GiB (from inputs of at most a few KiB) is a finding.
set -euo pipefail
bin=$1; seeds=$2; work=$3; secs=$4
mkdir -p "$work/corpus" "$work/tmp"
export TMPDIR="$work/tmp"  # the targets' input files stay in the build directory
# A dictionary of the grammar's tokens (fuzz/dict/<target>.dict), where the target has one.
dict="$(dirname "$0")/dict/$(basename "$bin" | sed 's/^fuzz_//').dict"
extra=()
[ -f "$dict" ] && extra+=(-dict="$dict")
exec "$bin" -max_total_time="$secs" -malloc_limit_mb=1024 -rss_limit_mb=2560 -timeout=20 \
     -print_final_stats=1 -artifact_prefix="$work/" "${extra[@]}" "$work/corpus" "$seeds"
