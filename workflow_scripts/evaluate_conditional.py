"""Rule evaluate_conditional: the conditional model vs each genre's own model on held-out bits per note."""

from midi_genres.conditional import evaluate_conditional
from midi_genres.joblog import log_to_file

log_to_file(snakemake.log[0])
inp, out, p = snakemake.input, snakemake.output, snakemake.params
evaluate_conditional(inp.checkpoint, p.genres, p.titles, inp.val, inp.stats, inp.separate, out.table, out.figure,
                     threads=snakemake.threads, tokenizer=p.tokenizer)
