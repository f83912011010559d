"""Rule aggregate_crossprompt: every pair's table -> results/crossprompt.tsv + the pull heatmap."""

from midi_genres.core.joblog import log_to_file
from midi_genres.experiments.crossprompt import aggregate_crossprompt

log_to_file(snakemake.log[0])
out, p = snakemake.output, snakemake.params
aggregate_crossprompt(pairs=p.pairs, titles=p.titles, table_paths=snakemake.input.tables, table_path=out.table,
                      figure_path=out.figure)
