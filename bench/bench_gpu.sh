#!/usr/bin/env bash
# The GPU column of BENCHMARKS.md's time-to-accuracy table, in one call on a lent GPU machine.
#
#   bash bench/bench_gpu.sh ZIP OUT [SECONDS]
#
# Trains on Kaggle's zip under whatever backend KERAS_BACKEND names: kaggle-best's 3 members on
# split 0 (each member's history gives its time to 99.0 / 99.5 / 99.6%), then the seed's presets
# for 6 epochs, then kaggle-best's 3 members on split 3 while time is left. Everything stops by
# SECONDS (default 540); the reports, logs and the runs (checkpoints and test predictions left
# out) land in OUT. ENS_EPOCHS and PRESET_EPOCHS shorten a dry run.
#
# The lent GPU machines have JAX but no TensorFlow or Keras: carry the keras, namex and optree
# wheels (cp312) and the zip, and run
#   pip install --no-index --no-deps --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD
#   KERAS_BACKEND=jax bash bench/bench_gpu.sh .data/digit-recognizer.zip $OUT 265
set -u
zip=$1 out=$2 budget=${3:-540}
runs=${RUNS_DIR:-runs/gpu}
mkdir -p "$out" "$runs"
export PYTHONUNBUFFERED=1 WORKBENCH_BENCH_ZIP=$zip
left() { echo $((budget - SECONDS)); }
step() {  # step SECONDS LOG COMMAND...: run it under a timeout (SIGINT: members keep checkpoints)
    local limit=$1 log=$2; shift 2
    if ((limit < 20)); then echo "== skipped (time): $*"; return; fi
    echo "== $(date +%T) ${limit}s: $*"
    timeout -s INT -k 20 "$limit" "$@" 2>&1 | tee "$out/$log"
}
ensemble=(python3 -m workbench.cli ensemble --data "$zip" --preset kaggle-best --members 3
          ${ENS_EPOCHS:+--epochs $ENS_EPOCHS} --runs-dir "$runs" --force --seed)

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | tee "$out/device.txt"
python3 -c "from workbench.engine.backend import device; print(device())" 2>&1 | tee -a "$out/device.txt"
step $(($(left) * 50 / 100)) ensemble-seed0.log "${ensemble[@]}" 0
step $(($(left) * 75 / 100)) presets.log python3 bench/bench_accuracy.py presets \
    --epochs "${PRESET_EPOCHS:-6}" --runs-dir "$runs/presets"
step $(($(left) - 45)) ensemble-seed3.log "${ensemble[@]}" 3

python3 bench/bench_accuracy.py report "$runs"/2* > "$out/report-kaggle-best.md" 2>&1
python3 bench/bench_accuracy.py report "$runs"/presets/2* > "$out/report-presets.md" 2>&1
tar czf "$out/runs.tgz" --exclude='*.keras' --exclude=test_predictions.npz --exclude=submission.csv "$runs"
cat "$out"/report-*.md
