"""Stage 1, presenting: piano rolls, the comparison figure, curves and heatmaps (``plots``), audio (``audio``) and
the gallery page (``gallery``). Reads files and notes, never a model or a tokenizer; imports only ``core``."""
