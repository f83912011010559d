"""Rule import_midi_dir: a folder of your own MIDI files -> data/midi/{genre}/ + manifest."""

from midi_genres.core.joblog import log_to_file
from midi_genres.sources.midi_dir import import_midi_dir

log = log_to_file(snakemake.log[0])
p = snakemake.params
counts = import_midi_dir(folder=p.folder, out_dir=snakemake.output.midi, manifest_path=snakemake.output.manifest,
                         tracks=p.tracks, max_pieces=p.max_pieces, min_notes=p.min_notes,
                         workers=snakemake.threads)
log.info("%s: %s", p.folder, counts)
