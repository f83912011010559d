"""The first stage: the note record and constants, MIDI files, atomic files, TSV tables, job logging. Imports nothing of
the package outside ``core``."""
