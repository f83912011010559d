"""Rule synthesize: a seeded generator -> data/midi/{genre}/ + manifest."""

from midi_genres.core.joblog import log_to_file
from midi_genres.sources.midi_folder import write_midi_folder
from midi_genres.sources.synth import generate_pieces

log = log_to_file(snakemake.log[0])
p = snakemake.params
pieces = generate_pieces(p.generator, p.pieces, p.seed, bars=tuple(p.bars))
counts = write_midi_folder(pieces, snakemake.output.midi, snakemake.output.manifest,
                           drums=p.drums)
log.info("%s: %s", p.generator, counts)
