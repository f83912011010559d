"""Rule aggregate_comparison: all samples -> comparison figure + summary table."""

from midi_genres.joblog import log_to_file
from midi_genres.summary import aggregate_comparison

log_to_file(snakemake.log[0])
inp, out, p = snakemake.input, snakemake.output, snakemake.params
aggregate_comparison(p.genres, p.sources, p.drums, inp.stats, inp.histories, inp.samples, out.figure, out.summary,
                     seconds=p.seconds)
