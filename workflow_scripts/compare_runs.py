"""Rule compare_runs: this run's summary against other finished runs' (e.g. REMI vs event tokens)."""

from midi_genres.compare_runs import compare_runs
from midi_genres.joblog import log_to_file

log_to_file(snakemake.log[0])
out = snakemake.output
compare_runs(snakemake.params.labels, snakemake.input.summaries, out.table, out.figure)
