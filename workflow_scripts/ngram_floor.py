"""Rule ngram_floor: a variable-order n-gram model of a genre's training tokens, scored like the Transformer."""

from midi_genres.analysis.ngram import ngram_floor
from midi_genres.core.joblog import log_to_file

log_to_file(snakemake.log[0])
inp, out, p = snakemake.input, snakemake.output, snakemake.params
ngram_floor(genre=snakemake.wildcards.genre, train_path=inp.train, val_path=inp.val, pieces_path=inp.pieces,
            tempo=p.tempo, order=p.order, max_tokens=p.max_tokens,
            table_path=out.table, pieces_table_path=out.pieces, tokenizer=p.tokenizer)
