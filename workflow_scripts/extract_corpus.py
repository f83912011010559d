"""Rule extract_corpus: a music21 collection -> data/midi/{genre}/ + manifest."""

from midi_genres.core.joblog import log_to_file
from midi_genres.sources.midi_folder import write_midi_folder
from midi_genres.sources.music21_corpus import extract_collection

log = log_to_file(snakemake.log[0])
p = snakemake.params
counts = write_midi_folder(
    extract_collection(p.collection, max_pieces=p.max_pieces, workers=snakemake.threads, left_out=p.left_out),
    snakemake.output.midi, snakemake.output.manifest)
log.info("%s: %s", p.collection, counts)
