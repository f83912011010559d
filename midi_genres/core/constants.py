"""Constants of the musical grid and of the MIDI files, in one home (as note-seq's ``constants.py``).

Time is counted in 16th-note steps on a 4/4 grid: 4 steps a beat, 16 a bar.
"""

STEPS_PER_QUARTER = 4
STEPS_PER_BEAT = STEPS_PER_QUARTER
STEPS_PER_BAR = 16
N_PITCHES = 128  # MIDI pitches 0..127
MIDI_RESOLUTION = 480  # ticks per quarter note in the files we write (a 16th is 120 ticks)
CORPUS_TEMPO_BPM = 120.0  # tempo of the MIDI files written for training pieces (timing itself is in 16ths)
