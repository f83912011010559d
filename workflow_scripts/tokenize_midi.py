"""Rule tokenize: data/midi/{genre}/ -> training and validation token streams, statistics and the pieces table."""

from midi_genres.core.joblog import log_to_file
from midi_genres.tokens.dataset import tokenize_genre

log_to_file(snakemake.log[0])
inp, out, p = snakemake.input, snakemake.output, snakemake.params
tokenize_genre(midi_dir=inp.midi, manifest_path=inp.manifest, val_fraction=p.val_fraction, train_path=out.train,
               val_path=out.val, stats_path=out.stats, pieces_path=out.pieces, tokenizer=p.tokenizer,
               train_tokens=p.train_tokens)
