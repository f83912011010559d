"""Rule sample_batch: checkpoint -> N raw samples as one token stream + their grammar table."""

from midi_genres.core.joblog import log_to_file
from midi_genres.model.sample import sample_batch

log_to_file(snakemake.log[0])
out, p = snakemake.output, snakemake.params
sample_batch(checkpoint_path=snakemake.input.checkpoint, tokens_path=out.tokens, table_path=out.table,
             sample_params=p.sample, tempo_bpm=p.tempo, n_samples=p.n_samples, threads=snakemake.threads,
             tokenizer=p.tokenizer)
