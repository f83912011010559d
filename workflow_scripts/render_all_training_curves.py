"""Rule render_all_training_curves: every genre's loss history -> one figure of all training curves."""

from midi_genres.core.history import read_history
from midi_genres.core.joblog import log_to_file
from midi_genres.present.plots import render_training_curves

log_to_file(snakemake.log[0])
render_training_curves([(title, read_history(path)) for title, path in zip(snakemake.params.titles.values(),
                                                                           snakemake.input.histories)],
                       snakemake.output.png)
