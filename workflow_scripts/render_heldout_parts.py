"""Rule render_heldout_parts: the summary -> each genre's held-out bits per note by part, against the n-gram floor."""

from midi_genres.core.joblog import log_to_file
from midi_genres.present.plots import render_heldout_bits

log_to_file(snakemake.log[0])
render_heldout_bits(summary_path=snakemake.input.summary, figure_path=snakemake.output.figure)
