"""Rule aggregate_comparison: all samples -> comparison figure + summary table."""

from midi_genres.joblog import log_to_file
from midi_genres.summary import aggregate_comparison

log_to_file(snakemake.log[0])
inp, out, p = snakemake.input, snakemake.output, snakemake.params
analysis = dict(evals=inp.evals, metrics=inp.metrics, memorisation=inp.memorisation, batches=inp.batches,
                memorised_share=p.memorised_share)
aggregate_comparison(p.genres, p.sources, p.drums, inp.stats, inp.histories, inp.samples, out.figure, out.summary,
                     seconds=p.seconds, analysis=analysis)
