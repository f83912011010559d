"""Notes <-> tokens. An abstract base (``base``), one module per tokenizer (``event``, ``remi``), token
streams (``streams``) and a genre's dataset with its validation split (``dataset``). ``make_tokenizer`` builds a
tokenizer by name."""

from __future__ import annotations

from collections.abc import Sequence

from midi_genres.tokens.base import Tokenizer
from midi_genres.tokens.event import EventTokenizer
from midi_genres.tokens.remi import RemiTokenizer

TOKENIZERS = {"event": EventTokenizer, "remi": RemiTokenizer}


def make_tokenizer(name: str = "event", extra_tokens: Sequence[str] = ()) -> Tokenizer:
    """The tokenizer called ``name`` (``event`` or ``remi``), with ``extra_tokens`` after its own ids."""
    if name not in TOKENIZERS:
        raise ValueError(f"unknown tokenizer {name!r} (known: {', '.join(TOKENIZERS)})")
    return TOKENIZERS[name](extra_tokens=tuple(extra_tokens))
