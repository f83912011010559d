"""Rule tokenize: data/midi/{genre}/ -> each fold's training, validation (and dev) token streams, statistics and
pieces table."""

from midi_genres.core.joblog import log_to_file
from midi_genres.tokens.dataset import tokenize_genre

log_to_file(snakemake.log[0])
inp, out, p = snakemake.input, snakemake.output, snakemake.params
tokenize_genre(genre=snakemake.wildcards.genre, midi_dir=inp.midi, manifest_path=inp.manifest,
               val_fraction=p.val_fraction, train_paths=out.train, val_paths=out.val, stats_paths=out.stats,
               pieces_paths=out.pieces, dev_paths=out.dev, tokenizer=p.tokenizer, train_tokens=p.train_tokens,
               dev_fraction=p.dev_fraction)
