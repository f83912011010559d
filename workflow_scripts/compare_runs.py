"""Rule compare_runs: this run's summary against other finished runs' (e.g. REMI vs event tokens)."""

from midi_genres.core.joblog import log_to_file
from midi_genres.experiments.compare_runs import compare_runs

log_to_file(snakemake.log[0])
out = snakemake.output
compare_runs(labels=snakemake.params.labels, summary_paths=snakemake.input.summaries, table_path=out.table,
             figure_path=out.figure, paired_path=out.paired)
