"""Rule extract_corpus: a music21 collection -> data/midi/{genre}/ + manifest."""

from midi_genres.corpus import extract_collection
from midi_genres.joblog import log_to_file
from midi_genres.midi_folder import write_midi_folder

log = log_to_file(snakemake.log[0])
p = snakemake.params
counts = write_midi_folder(
    extract_collection(p.collection, max_pieces=p.max_pieces, workers=snakemake.threads),
    snakemake.output.midi, snakemake.output.manifest)
log.info("%s: %s", p.collection, counts)
