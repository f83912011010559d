"""Rule tag_conditional: every genre's token streams -> one stream, each piece led by its genre token."""

from midi_genres.conditional import tag_streams
from midi_genres.joblog import log_to_file

log_to_file(snakemake.log[0])
inp, out = snakemake.input, snakemake.output
tag_streams(snakemake.params.genres, inp.train, inp.val, out.train, out.val, tokenizer=snakemake.params.tokenizer)
