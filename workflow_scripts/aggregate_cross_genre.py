"""Rule aggregate_cross_genre: every model's per-piece evaluation -> the bits-per-note matrix, its cells with
intervals, and the heatmaps."""

from midi_genres.analysis.summary import aggregate_cross_genre
from midi_genres.core.joblog import log_to_file

log_to_file(snakemake.log[0])
out, p = snakemake.output, snakemake.params
aggregate_cross_genre(genres=p.genres, titles=p.titles, piece_tables=snakemake.input.pieces, matrix_path=out.matrix,
                      cells_path=out.cells, figure_path=out.figure)
