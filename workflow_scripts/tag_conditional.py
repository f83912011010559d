"""Rule tag_conditional: every genre's token streams -> one stream, each piece led by its genre token."""

from midi_genres.core.joblog import log_to_file
from midi_genres.experiments.conditional import tag_streams

log_to_file(snakemake.log[0])
inp, out = snakemake.input, snakemake.output
tag_streams(genres=snakemake.params.genres, train_paths=inp.train, val_paths=inp.val, train_out=out.train,
            val_out=out.val, tokenizer=snakemake.params.tokenizer)
