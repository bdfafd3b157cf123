#!/usr/bin/env bash
# 5-fold CVs of several recipes in one call on a lent GPU: every fold is its own
# `workbench-engine cv --fold I` process, PARALLEL of them at once on the one GPU, sharing the
# runs folder (the last fold of a CV to finish gathers it). When kaggle-best's CV is gathered,
# its pseudo-labelled twin starts (the same folds and seeds, plus the test images it labels with
# >= 0.99 confidence). Everything stops by SECONDS; OUT gets report.md (the OOF table), a GPU
# utilisation trace, cv.tgz (manifests, OOF probabilities, histories, logs; no checkpoints) and
# submissions.tgz (the CVs' submissions and test probabilities).
#
#   bash bench/bench_cv_gpu.sh ZIP OUT [SECONDS]
#
# On the lent machine (JAX, no TensorFlow): carry .whl (keras, namex, optree for cp312) and the
# zip, install the wheels into /tmp/site, then
#   KERAS_BACKEND=jax bash bench/bench_cv_gpu.sh .data/digit-recognizer.zip $OUT 540
# DRY=1 trains one epoch a fold (a check of this script on a CPU); RECIPES picks recipes by name.
set -u
zip=$1 out=$2 budget=${3:-540}
export RUNS=${RUNS_DIR:-runs/gpu-cv} ZIP=$zip PYTHONUNBUFFERED=1
export LOGS=$RUNS/logs
export XLA_PYTHON_CLIENT_PREALLOCATE=false TF_GPU_ALLOCATOR=cuda_malloc_async
export DEADLINE=$((SECONDS + budget)) EXTRA=${DRY:+--epochs 1}
parallel=${PARALLEL:-12}
mkdir -p "$out" "$LOGS" "$RUNS"

fold() {  # fold NAME I FLAGS...: one fold of a CV, stopped (SIGINT: checkpoint kept) by DEADLINE
    local name=$1 index=$2 left=$((DEADLINE - SECONDS - 40)); shift 2
    if ((left < 30)); then echo "$(date +%T) skipped (time) $name fold $index"; return; fi
    timeout -s INT -k 20 "$left" python3 -m workbench.cli cv --data "$ZIP" --runs-dir "$RUNS" \
        --name "$name" --fold "$index" "$@" $EXTRA >"$LOGS/$name-$index.log" 2>&1
    echo "$(date +%T) $name fold $index: exit $? ($(tail -c 300 "$LOGS/$name-$index.log" | tr '\n' ' ' | tail -c 160))"
}
export -f fold

declare -A recipe=(
    [kb20]="--preset kaggle-best"
    [deotte45]="--model strong-cnn --optimizer adam --lr 0.001 --schedule exponential --batch-size 64 --epochs 45"
    [kb30]="--preset kaggle-best --epochs 30"
    [wide20]="--preset kaggle-best --model wide-cnn"
    [kb20b64]="--preset kaggle-best --batch-size 64 --lr 0.0035"
)
order=${RECIPES:-kb20 deotte45 kb30 wide20 kb20b64}

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader > "$out/device.txt" 2>&1
nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv -l 5 > "$out/gpu.csv" 2>/dev/null &
smi=$!
python3 -m workbench.cli data info --data "$zip" > "$LOGS/data-info.log" 2>&1  # fill the cache once

(   # the pseudo-labelled twin of kb20, once kb20 is gathered
    while [ ! -f "$RUNS/cv/kb20/test.npz" ] && ((SECONDS < DEADLINE - 90)); do sleep 5; done
    if [ -f "$RUNS/cv/kb20/test.npz" ]; then
        echo "$(date +%T) kb20 gathered: starting kb20-pl"
        for i in 0 1 2 3 4; do
            fold kb20-pl "$i" --preset kaggle-best --pseudo-labels kb20 &
        done
        wait
    fi
) &
twin=$!
for name in $order; do
    for i in 0 1 2 3 4; do echo "$name $i ${recipe[$name]}"; done
done | xargs -P "$parallel" -L 1 bash -c 'fold "$@"' _
wait "$twin"
kill "$smi" 2>/dev/null

python3 bench/bench_accuracy.py cv-report "$RUNS" > "$out/report.md" 2>&1
cat "$out/report.md"
tar czf "$out/cv.tgz" --exclude='*.keras' --exclude='test_predictions.npz' \
    --exclude='val_predictions.npz' --exclude='submission.csv' --exclude='test.npz' "$RUNS"
tar czf "$out/submissions.tgz" submissions "$RUNS"/cv/*/test.npz
ls -la "$out"
