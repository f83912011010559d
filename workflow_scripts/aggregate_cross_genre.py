"""Rule aggregate_cross_genre: every model's evaluation -> the bits-per-note matrix and its heatmap."""

from midi_genres.analysis.summary import aggregate_cross_genre
from midi_genres.core.joblog import log_to_file

log_to_file(snakemake.log[0])
out, p = snakemake.output, snakemake.params
aggregate_cross_genre(genres=p.genres, titles=p.titles, table_paths=snakemake.input.tables, matrix_path=out.matrix,
                      figure_path=out.figure)
