"""Rule evaluate_conditional: the conditional model vs each genre's own model on held-out bits per note."""

from midi_genres.core.joblog import log_to_file
from midi_genres.experiments.conditional import evaluate_conditional

log_to_file(snakemake.log[0])
inp, out, p = snakemake.input, snakemake.output, snakemake.params
evaluate_conditional(checkpoint_path=inp.checkpoint, genres=p.genres, titles=p.titles, val_paths=inp.val,
                     pieces_paths=inp.pieces, eval_paths=inp.separate, table_path=out.table, figure_path=out.figure,
                     threads=snakemake.threads, tokenizer=p.tokenizer)
