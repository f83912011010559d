"""Rule measure_structure: repeats and bar self-similarity of a genre's held-out pieces and one model's samples."""

from midi_genres.analysis.structure import measure_structure
from midi_genres.core.joblog import log_to_file

log_to_file(snakemake.log[0])
inp, p = snakemake.input, snakemake.params
measure_structure(genre=snakemake.wildcards.genre, val_paths=inp.val, pieces_paths=inp.pieces, samples_path=inp.samples,
                  table_path=snakemake.output.table, sample_seconds=p.sample_seconds, tempo=p.tempo, drums=p.drums,
                  tokenizer=p.tokenizer)
