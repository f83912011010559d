"""Rule evaluate_model: one seeded model -> its bits per token / note / second (with intervals and parts) on every
genre's held-out pieces, and every piece's bits."""

from midi_genres.analysis.likelihood import evaluate_model
from midi_genres.core.joblog import log_to_file

log_to_file(snakemake.log[0])
inp, out, p = snakemake.input, snakemake.output, snakemake.params
evaluate_model(checkpoint_path=inp.checkpoint, model_genre=snakemake.wildcards.genre, genres=p.genres,
               val_paths=inp.val, pieces_paths=inp.pieces, tempos=p.tempos, table_path=out.table,
               pieces_table_path=out.pieces, threads=snakemake.threads, tokenizer=p.tokenizer)
