"""Rule render_comparison: every genre's sample -> one grouped figure of piano rolls."""

from midi_genres.core.joblog import log_to_file
from midi_genres.present.plots import render_genre_comparison

log_to_file(snakemake.log[0])
p = snakemake.params
render_genre_comparison(genres=p.genres, sources=p.sources, drums=p.drums, samples=snakemake.input.samples,
                        figure_path=snakemake.output.figure, seconds=p.seconds)
