"""What every tokenizer offers (the abstract base ``Tokenizer``), the three special ids every vocabulary starts with,
and the grammar report of decoding. Each tokenizer is one module beside this one (``event``, ``remi``)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from midi_genres.core.notes import Note

PAD, BOS, EOS = 0, 1, 2
# What a token says about the music, the parts a likelihood is split into: which pitch sounds, when (onsets and
# the passing of time), for how long, and the rest (BOS / EOS / PAD / extra tokens: the frame of a piece).
PARTS = ("pitch", "timing", "duration", "structure")


@dataclass
class DecodeReport:
    """Grammar errors met while decoding a token sequence (all zero for the output of ``encode``)."""

    orphan_note_offs: int = 0  # NOTE_OFF of a pitch that was not sounding
    unclosed_notes: int = 0  # notes still sounding at the end, closed by the decoder
    retriggered_notes: int = 0  # NOTE_ON of a pitch already sounding (the old note is closed first)
    empty_notes: int = 0  # NOTE_OFF in the same step as its NOTE_ON (dropped)
    special_tokens: int = 0  # PAD/BOS/extra tokens inside the sequence (ignored)

    @property
    def malformed(self) -> int:
        """Total count of malformed events."""
        return (self.orphan_note_offs + self.unclosed_notes + self.retriggered_notes + self.empty_notes
                + self.special_tokens)


class Clock(Protocol):
    """The musical time (16th-note steps) reached by a token sequence, fed one token at a time."""

    now: int

    def feed(self, token: int) -> None: ...


class Tokenizer(ABC):
    """What every tokenizer offers: ``names`` (PAD, BOS, EOS first, then its own tokens, then ``extra_tokens``),
    ``size``, ``token_id``, ``encode`` (a canonical note list -> ids, BOS ... EOS), ``decode`` /
    ``decode_with_report`` (any ids -> a canonical note list and its grammar errors) and time accounting:
    ``clock()`` follows the time token by token, ``elapsed_steps(ids)`` is the time a sequence reaches."""

    name = ""
    extra_tokens: tuple[str, ...] = ()
    names: list[str]

    def _set_vocabulary(self, base: list[str]) -> None:
        self.names = ["PAD", "BOS", "EOS"] + base + list(self.extra_tokens)
        self._ids = {name: i for i, name in enumerate(self.names)}
        if len(self._ids) != len(self.names):
            raise ValueError(f"duplicate token names in extra_tokens {self.extra_tokens}")

    @property
    def size(self) -> int:
        """Number of tokens in the vocabulary."""
        return len(self.names)

    def token_id(self, name: str) -> int:
        """Id of a token name such as ``NOTE_ON_60``; ``KeyError`` naming it if unknown."""
        try:
            return self._ids[name]
        except KeyError:
            raise KeyError(f"unknown token {name!r}") from None

    @abstractmethod
    def encode(self, notes: Sequence[Note], bos: bool = True, eos: bool = True) -> np.ndarray:
        """Token ids (uint16) of a canonical note list, framed by BOS ... EOS unless disabled."""

    @abstractmethod
    def decode_with_report(self, ids: Iterable[int]) -> tuple[list[Note], DecodeReport]:
        """Decode any id sequence into a canonical note list, counting grammar errors."""

    @abstractmethod
    def clock(self) -> Clock:
        """A clock at the start of a sequence."""

    @abstractmethod
    def _base_parts(self) -> list[str]:
        """The part (one of ``PARTS``) of each of the tokenizer's own tokens, after PAD, BOS and EOS."""

    def token_parts(self) -> np.ndarray:
        """Index into ``PARTS`` of every token id (specials and extra tokens are ``structure``)."""
        base = ["structure"] * 3 + self._base_parts()
        names = base + ["structure"] * (self.size - len(base))
        return np.array([PARTS.index(p) for p in names], dtype=np.int64)

    def decode(self, ids: Iterable[int]) -> list[Note]:
        """Notes of a token sequence (stops at EOS); never fails: see ``decode_with_report``."""
        return self.decode_with_report(ids)[0]

    def elapsed_steps(self, ids: Iterable[int]) -> int:
        """The time (16th-note steps) a token sequence reaches."""
        clock = self.clock()
        for token in ids:
            clock.feed(int(token))
        return clock.now


def genre_token(genre: str) -> str:
    """The name of a genre's conditioning token."""
    return f"GENRE_{genre}"


def genre_tokens(genres: Sequence[str]) -> list[str]:
    """The conditioning tokens of these genres, in order (the extra tokens of the conditional vocabulary)."""
    return [genre_token(g) for g in genres]
