"""Rule summarise_run: every genre's statistics, history, sample and analysis tables -> results/summary.tsv."""

from midi_genres.analysis.summary import write_summary
from midi_genres.core.joblog import log_to_file

log_to_file(snakemake.log[0])
inp, p = snakemake.input, snakemake.params
write_summary(genres=p.genres, sources=p.sources, stats=inp.stats, histories=inp.histories, samples=inp.samples,
              summary_path=snakemake.output.summary,
              analysis=dict(evals=inp.evals, metrics=inp.metrics, memorisation=inp.memorisation, batches=inp.batches,
                            memorised_share=p.memorised_share))
