"""midi-genres: one small Transformer, twelve streams of symbolic music."""

__version__ = "0.1.0"
