"""Rule summarise_run: every genre's statistics, history, sample and analysis tables -> results/summary.tsv."""

from midi_genres.analysis.summary import write_summary
from midi_genres.core.joblog import log_to_file

log_to_file(snakemake.log[0])
inp, p = snakemake.input, snakemake.params
write_summary(genres=p.genres, sources=p.sources, stats=p.stats, histories=inp.histories, samples=inp.samples,
              eval_pieces=inp.eval_pieces, ngram_pieces=inp.ngram_pieces, ppm_pieces=inp.ppm_pieces,
              metrics=p.metrics, memorisation=p.memorisation, batches=p.batches, memorised_share=p.memorised_share,
              fidelity_path=inp.fidelity, summary_path=snakemake.output.summary, selected=p.selected,
              structure_path=inp.structure, window_path=inp.window, tokenizer=p.tokenizer)
