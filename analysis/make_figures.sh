#!/usr/bin/env bash
# analysis/make_figures.sh [BUILD_DIR] — regenerates every results file in results/ and every
# figure in results/figures/ from scratch, with the tools of BUILD_DIR (default: build).
#
# Each results file records its own provenance (schema_version, git_sha, date, the exact
# command); results/README.md lists the commands. Run from anywhere; paths are repository-relative
# so the recorded commands can be re-run from the repository root.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
PY=/usr/bin/python3  # Debian's python3 with numpy/pandas/matplotlib (not a pyenv one)
CQE=$BUILD/src/exmy/cli/compute_quant_error
FMT=$BUILD/src/exmy/cli/exmy-formats
PTQ=$BUILD/src/exmy/cli/exmy-ptq
THREADS=${EXMY_THREADS:-$(nproc)}
for t in "$CQE" "$FMT" "$PTQ"; do
  [ -x "$t" ] || { echo "make_figures: $t not found — build first (cmake --build $BUILD)" >&2; exit 2; }
done
OUT=results
FIG=$OUT/figures
mkdir -p "$FIG"
rm -f "$OUT"/*.json "$OUT"/*.csv "$FIG"/*.png "$FIG"/*.pdf  # results/ptq, results/models: kept

# 1. The format table.
"$FMT" --output json -o $OUT/formats.json

# 2. The paper's three laws, every 8-bit split and int8, both range methods (reference-spec §1).
"$CQE" --formats all --range optimal --threads "$THREADS" --output json -o $OUT/analytic_optimal.json
"$CQE" --formats all --range optimal --threads "$THREADS" --output csv -o $OUT/analytic_optimal.csv
"$CQE" --formats all --range reference --threads "$THREADS" --output json -o $OUT/analytic_reference.json

# 3. MSE vs maxval: 16 points per octave from 1/8 to 512 (12 octaves), the paper's formats
#    (CSV: 2,895 rows, a third of the JSON's size).
"$CQE" --formats paper --sweep-maxval 0.125:512:193 --threads "$THREADS" --output csv \
  -o $OUT/mse_vs_maxval.csv

# 4. Student-t ν sweep, clipped at ±100 like the paper's t8, every split, optimal range.
nu_args=()
for nu in 1 1.25 1.5 1.75 2 2.5 3 3.5 4 5 6 8 10 12 16 20 30 50 100; do
  nu_args+=(--dist "student_t:nu=$nu,clip=100")
done
"$CQE" "${nu_args[@]}" --formats all --range optimal --threads "$THREADS" --output json \
  -o $OUT/sqnr_vs_nu.json

# 5. Monte-Carlo vs analytic: 10^7 samples per cell (Philox seed 1) at the optimal maxval.
"$CQE" --formats all --range optimal --method both --samples 1e7 --seed 1 --threads "$THREADS" \
  --output json -o $OUT/mc_vs_analytic.json

# 5b. Block-scaled (MX) formats, k = 32: OCP's floor rule and ceil, closed form + Monte-Carlo
#     (10^7 samples per cell, seed 1), three continuous laws × the six OCP MX elements.
for rule in floor ceil; do
  "$CQE" --block 32:$rule --method both --samples 1e7 --seed 1 --threads "$THREADS" --output json \
    -o $OUT/mx_$rule.json
done

# 6. PTQ of the example network's weights (results/models/, issue 6): every split + int8 per tensor,
#    min-max ranges, the fitted law's prediction beside each measurement.
"$PTQ" results/models/fashion_cnn.safetensors --granularity tensor --predict-optimal all \
  --output json -o $OUT/ptq_fashion_cnn.json

# 7. Figures.
$PY analysis/fig_sqnr_formats.py $OUT/analytic_reference.json $OUT/analytic_optimal.json -o $FIG
$PY analysis/fig_mse_vs_maxval.py $OUT/mse_vs_maxval.csv \
  --chosen $OUT/analytic_reference.json $OUT/analytic_optimal.json -o $FIG
$PY analysis/fig_sqnr_vs_nu.py $OUT/sqnr_vs_nu.json -o $FIG
$PY analysis/fig_mc_vs_analytic.py $OUT/mc_vs_analytic.json -o $FIG
$PY analysis/fig_ptq.py $OUT/ptq_fashion_cnn.json -o $FIG
$PY analysis/fig_mx.py $OUT/mx_floor.json $OUT/mx_ceil.json -o $FIG
# Silero VAD (issue 5): its model is an npm download, so results/ptq/ is not regenerated here;
# its committed per-tensor report is drawn as it is.
if [ -f $OUT/ptq/silero_vad_legacy.tensor.json ]; then
  $PY analysis/fig_ptq.py $OUT/ptq/silero_vad_legacy.tensor.json -o $FIG
fi
# Accuracy-driven tuning (issue 6): results/tuning/ comes from results/tuning/run_tuning.sh (about
# 60 evaluations of the network on the 10 000 test images), so it is drawn as committed here.
if ls $OUT/tuning/tuning_*_*.json > /dev/null 2>&1; then
  $PY analysis/fig_tuning.py $OUT/tuning -o $FIG
fi
# 8. The provenance columns of results/README.md's table, from the files just written.
$PY analysis/results_index.py $OUT
echo "make_figures: results in $OUT/, figures in $FIG/"
