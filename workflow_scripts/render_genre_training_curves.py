"""Rule render_genre_training_curves: one genre's loss history -> its training curves."""

from midi_genres.core.history import read_history
from midi_genres.core.joblog import log_to_file
from midi_genres.present.plots import render_curves

log_to_file(snakemake.log[0])
render_curves(read_history(snakemake.input.history), snakemake.output.png, snakemake.params.title)
