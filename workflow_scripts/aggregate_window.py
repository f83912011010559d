"""Rule aggregate_window: every genre's window table -> results/window.tsv."""

from midi_genres.analysis.window import aggregate_window
from midi_genres.core.joblog import log_to_file

log_to_file(snakemake.log[0])
aggregate_window(table_paths=snakemake.input.tables, table_path=snakemake.output.table)
