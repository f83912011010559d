"""Rule import_lakh: the songs of one genre label of the Lakh MIDI Dataset -> data/midi/{genre}/ + manifest."""

from midi_genres.core.joblog import log_to_file
from midi_genres.sources.lakh import import_lakh

log = log_to_file(snakemake.log[0])
p = snakemake.params
counts = import_lakh(lmd=p.lmd, match_scores=snakemake.input.match_scores, labels=snakemake.input.labels,
                     label=p.label, label_rank=p.label_rank, seed=p.seed, tracks=p.tracks,
                     out_dir=snakemake.output.midi, manifest_path=snakemake.output.manifest,
                     max_pieces=p.max_pieces, min_notes=p.min_notes, workers=snakemake.threads)
log.info("%s (%s): %s", p.label, snakemake.input.labels, counts)
