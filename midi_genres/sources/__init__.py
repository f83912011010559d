"""Stage 2, where a genre's pieces come from: music21's corpora (``music21_corpus``, plain ``**kern`` files by
``kern``), the seeded synthetic generators and the rules their pieces obey (``synth``), your own MIDI folders
(``midi_dir``), a genre's MIDI folder with its manifest and notes cache (``midi_folder``) and tune families with the
family-wise validation split (``families``). Imports ``core`` and ``present``."""
