"""Rule aggregate_crossprompt: every pair's table -> results/crossprompt.tsv + the pull heatmap."""

from midi_genres.crossprompt import aggregate_crossprompt
from midi_genres.joblog import log_to_file

log_to_file(snakemake.log[0])
out, p = snakemake.output, snakemake.params
aggregate_crossprompt(p.pairs, p.titles, snakemake.input.tables, out.table, out.figure)
