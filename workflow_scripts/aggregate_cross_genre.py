"""Rule aggregate_cross_genre: every model's evaluation -> the bits-per-note matrix and its heatmap."""

from midi_genres.joblog import log_to_file
from midi_genres.summary import aggregate_cross_genre

log_to_file(snakemake.log[0])
out, p = snakemake.output, snakemake.params
aggregate_cross_genre(p.genres, p.titles, snakemake.input.tables, out.matrix, out.figure)
