"""Rule aggregate_metrics: every genre's feature table -> results/metrics.tsv + the overlap / KL heatmaps."""

from midi_genres.analysis.features import aggregate_metrics
from midi_genres.core.joblog import log_to_file

log_to_file(snakemake.log[0])
out, p = snakemake.output, snakemake.params
aggregate_metrics(genres=p.genres, titles=p.titles, table_paths=snakemake.input.tables, table_path=out.table,
                  figure_path=out.figure)
