"""Rule aggregate_metrics: every genre's feature table -> results/metrics.tsv + the overlap / KL heatmaps."""

from midi_genres.joblog import log_to_file
from midi_genres.metrics import aggregate_metrics

log_to_file(snakemake.log[0])
out, p = snakemake.output, snakemake.params
aggregate_metrics(p.genres, p.titles, snakemake.input.tables, out.table, out.figure)
