"""Rule evaluate_model: one genre's checkpoint -> its bits per token / note / second on every genre's held-out data."""

from midi_genres.evaluate import evaluate_model
from midi_genres.joblog import log_to_file

log_to_file(snakemake.log[0])
inp, p = snakemake.input, snakemake.params
evaluate_model(inp.checkpoint, snakemake.wildcards.genre, p.genres, inp.val, inp.stats, p.tempos,
               snakemake.output.table, threads=snakemake.threads, tokenizer=p.tokenizer)
