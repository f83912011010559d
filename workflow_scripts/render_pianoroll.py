"""Rule render_pianoroll (and render_crossprompt_pianoroll): a MIDI file -> its piano roll (first seconds).

With a ``prompt`` input (crossprompt_sample's JSON), the whole piece is drawn and the prompt's end is marked."""

import json

from midi_genres.core.joblog import log_to_file
from midi_genres.core.midi import read_midi
from midi_genres.core.notes import steps_to_seconds
from midi_genres.present.plots import render_pianoroll

log_to_file(snakemake.log[0])
p = snakemake.params
notes = read_midi(snakemake.input.midi)
seconds, marks = p.seconds, []
if "prompt" in snakemake.input.keys():
    prompt_end = json.loads(open(snakemake.input.prompt).read())["prompt_end"]
    total = max([n.end for n in notes] + [prompt_end])
    seconds = steps_to_seconds(max(total, 1), p.tempo)
    marks = [(steps_to_seconds(prompt_end, p.tempo), "prompt | continuation")]
render_pianoroll(notes, snakemake.output.png, p.tempo, p.title, seconds=seconds, drums=p.drums, marks=marks)
