#!/usr/bin/env bash
# The findings' runs on a lent GPU machine (16 cores, one NVIDIA GPU), through the real workflow, in the order of
# their worth (each run is complete on its own; what the device time does not reach is left for the next session):
#   1. equal data (corpus.train_tokens 40000), 5 folds by tune family, 3 seeds, a dev set and best_dev
#      (both checkpoints kept and scored) -> results-equal/
#   2. the whole corpora, the same design -> results-folds/, compared with 1
#   3. learning curves: caps 2500 ... 80000 and the whole corpus, fold 1, one seed, event tokens -> results-curves/
#   4. the same sweep with REMI tokens, compared with 3 (the REMI claim) -> results-curves-remi/
# Runs 3 and 4 keep 24 samples per model (metrics.samples) for the structure measures. Run from the repository
# root with the wheels of what the machine lacks in .whl/ (see the device notes); everything it makes that the
# findings quote is copied to $OUT. RUNS="1 2" limits it to some of the runs.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
RUNS=${RUNS:-"1 2 3 4"}
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | tee "$OUT/gpu.txt"
lscpu | grep "Model name" | tee -a "$OUT/gpu.txt"
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())" | tee -a "$OUT/gpu.txt"
SMK="python3 -m snakemake --cores 16 --scheduler greedy --workflow-profile none --keep-going --rerun-incomplete"
DESIGN='split: {folds: 5, dev_fraction: 0.1}
train: {seeds: 3, select: best_dev}
audio: {enabled: false}'
SWEEP='split: {folds: 1, dev_fraction: 0.1}
train: {select: best_dev}
metrics: {samples: 24}
audio: {enabled: false}
corpus: {train_tokens: [2500, 5000, 10000, 20000, 40000, 80000, null]}'
printf '%s\ncorpus: {train_tokens: 40000}\nresults_dir: results-equal\n' "$DESIGN" > /tmp/run1.yaml
printf '%s\nresults_dir: results-folds\ncompare_with: [results-equal]\n' "$DESIGN" > /tmp/run2.yaml
printf '%s\nresults_dir: results-curves\n' "$SWEEP" > /tmp/run3.yaml
printf '%s\ntokenizer: remi\nresults_dir: results-curves-remi\ncompare_with: [results-curves]\n' "$SWEEP" \
  > /tmp/run4.yaml
pack() {  # the tables, figures and job benchmarks of a results folder, for the findings and the notes
  tar -czf "$OUT/$1.tgz" "$1"/*.tsv "$1"/*.png "$1"/ngram "$1"/ppm "$1"/eval "$1"/train "logs/$1" \
    $(find data/tokens -name "*.stats.json") 2>/dev/null  # logs/<results_dir>/: that run's job logs and benchmarks
}
declare -A FOLDER=([1]=results-equal [2]=results-folds [3]=results-curves [4]=results-curves-remi)
for run in $RUNS; do
  start=$(date +%s)
  $SMK --configfile config.yaml "/tmp/run$run.yaml" > "$OUT/run$run.log" 2>&1
  echo "run $run (${FOLDER[$run]}): rc $? in $(( $(date +%s) - start )) s" | tee -a "$OUT/gpu.txt"
  pack "${FOLDER[$run]}"
done
