"""Rule sample_batch: checkpoint -> N raw samples as one token stream + their grammar table."""

from midi_genres.joblog import log_to_file
from midi_genres.sample import sample_batch

log_to_file(snakemake.log[0])
out, p = snakemake.output, snakemake.params
sample_batch(snakemake.input.checkpoint, out.tokens, out.table, p.sample, p.tempo, p.n_samples,
             threads=snakemake.threads, tokenizer=p.tokenizer)
