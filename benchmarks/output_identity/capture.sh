#!/bin/bash
# Byte-identity check for speed work (issue 15): run every line of cmds.txt as `rigfit LINE` with
# the source tree ROOT, saving stdout, stderr and the exit code of each under OUT; then compare two
# such folders with compare.sh. Run it on the tree before a change and after it:
#
#   benchmarks/output_identity/capture.sh BEFORE_TREE before_out
#   benchmarks/output_identity/capture.sh AFTER_TREE  after_out
#   benchmarks/output_identity/compare.sh before_out after_out
#
# In-process, ladders.py in this folder checks the recommend ladder itself (576 ladders).
# A third argument names another list of commands in this folder, e.g. recommend_cmds.txt: the
# recommend ladder (--json, every row) over CPU-only, Mac, multi-GPU and iGPU machines.
#
# The machine catalog state is kept out (an empty RIGFIT_DATA_DIR and XDG_CONFIG_HOME) and the
# terminal width fixed, so the outputs depend on the code only.
set -u
ROOT=$(cd "$1" && pwd); mkdir -p "$2"; OUT=$(cd "$2" && pwd); PY=${PYTHON:-python}
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$OUT/state/data" "$OUT/state/cfg"
export PYTHONPATH="$ROOT/src" RIGFIT_DATA_DIR="$OUT/state/data" XDG_CONFIG_HOME="$OUT/state/cfg" COLUMNS=120 OUT
cd "$HERE"
i=0
while IFS= read -r line; do
  i=$((i + 1)); f=$(printf "%s/%03d" "$OUT" $i)
  echo "$line" > "$f.cmd"
  (cd "$ROOT" && eval "$PY -m rigfit $line") > "$f.out" 2> "$f.err"; echo $? > "$f.rc"
  if [[ $line == predict* ]]; then mv "$OUT/predict.csv" "$f.csv"; fi
done < "${3:-cmds.txt}"
