"""Rule ppm_floor: the IDyOM-style floor (long- and short-term PPM* models mixed by entropy), scored like the
Transformer."""

from midi_genres.analysis.ppm import ppm_floor
from midi_genres.core.joblog import log_to_file

log_to_file(snakemake.log[0])
inp, out, p = snakemake.input, snakemake.output, snakemake.params
ppm_floor(genre=snakemake.wildcards.genre, train_path=inp.train, val_path=inp.val, pieces_path=inp.pieces,
          tempo=p.tempo, max_order=p.max_order, bias=p.bias, max_tokens=p.max_tokens,
          table_path=out.table, pieces_table_path=out.pieces, tokenizer=p.tokenizer)
