"""Rule learning_curves: every cap's held-out bits per note of each genre's model and floors -> the curves, their
fits and the figure."""

from midi_genres.core.joblog import log_to_file
from midi_genres.experiments.learning_curves import learning_curves

log_to_file(snakemake.log[0])
out, p = snakemake.output, snakemake.params
learning_curves(genres=p.genres, titles=p.titles, points=p.points, min_gain=p.min_gain, table_path=out.table,
                fits_path=out.fits, figure_path=out.figure)
