#!/usr/bin/env bash
# The findings' runs on the lent GPU machine (16 cores, one NVIDIA GPU), through the real workflow:
#   1. the default experiment with three seeds (train.seeds: 3) -> results-3seeds/
#   2. the same with equal data (corpus.train_tokens) compared with it -> results-equal/ (+ compare_runs)
# and the CUDA path of sampling timed against the CPU. Run from the repository root with the wheels of what the
# machine lacks in .whl/ (see the device notes); everything it makes that the README quotes is copied to $OUT.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | tee "$OUT/gpu.txt"
lscpu | grep "Model name" | tee -a "$OUT/gpu.txt"
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())" | tee -a "$OUT/gpu.txt"
SMK="python3 -m snakemake --cores 16 --scheduler greedy --workflow-profile none --keep-going --rerun-incomplete"
printf 'train: {seeds: 3}\naudio: {enabled: false}\nresults_dir: results-3seeds\n' > /tmp/seeds.yaml
CAP=${CAP:-40000}
printf 'corpus: {train_tokens: %s}\naudio: {enabled: false}\nresults_dir: results-equal\ncompare_with: [results-3seeds]\n' \
  "$CAP" > /tmp/equal.yaml
pack() {  # the tables, figures and job benchmarks of a results folder, for the README and the notes
  tar -czf "$OUT/$1.tgz" "$1"/*.tsv "$1"/*.png "$1"/ngram "$1"/eval logs/train logs/evaluate_model \
    $(ls -d data/tokens/*.stats.json data/tokens/*/*.stats.json 2>/dev/null) 2>/dev/null
}
start=$(date +%s)
$SMK --configfile /tmp/seeds.yaml > "$OUT/seeds.log" 2>&1; echo "3 seeds: rc $? in $(( $(date +%s) - start )) s" | tee -a "$OUT/gpu.txt"
pack results-3seeds
start=$(date +%s)
$SMK --configfile /tmp/equal.yaml > "$OUT/equal.log" 2>&1; echo "equal data: rc $? in $(( $(date +%s) - start )) s" | tee -a "$OUT/gpu.txt"
pack results-equal
python3 - <<'PY' | tee -a "$OUT/gpu.txt"
import time, torch
from midi_genres.core.notes import seconds_to_steps
from midi_genres.model.checkpoint import load_for_inference
from midi_genres.model.sample import SampleConfig, generate
for device in ("cuda", "cpu"):
    model, tok, _ = load_for_inference("results-3seeds/checkpoints/bach.pt", device=device)
    cfg = SampleConfig(seed=0)
    generate(model, tok, 64, cfg)  # warm-up
    times = []
    for _ in range(3):
        t = time.perf_counter(); tokens = generate(model, tok, seconds_to_steps(30, 90), cfg); times.append(time.perf_counter() - t)
    print(f"sampling 30 s of bach on {device}: median {sorted(times)[1]:.2f} s, {len(tokens)} tokens")
PY
grep -h "device\|tokens/s" logs/train/bach.log | head -3 >> "$OUT/gpu.txt"
