"""A checkpoint's weights for the gallery page: one plain script per genre, float32, loaded by a ``<script src>``.

The page cannot fetch files next to it when opened from ``file://``, so the weights travel as a JavaScript file that
hands them to the page: ``MG.registerModel({...meta, weights: "<base64 of little-endian float32>"})``. The meta says
how to read them (each tensor's name, shape and offset, in floats), the architecture, the tokenizer and how the
genre is played (tempo, drums). The page's forward pass
(``present/web/midi-genres.js``) computes in float32 weights what ``MusicTransformer`` computes in fp32.
"""

from __future__ import annotations

import base64
import json
import logging
import os

import numpy as np

from midi_genres.core.atomic import atomic_path
from midi_genres.model.checkpoint import load_checkpoint
from midi_genres.tokens import make_tokenizer

log = logging.getLogger(__name__)

FORMAT = 1  # the page refuses weights of another format


def weight_tensors(model) -> list[tuple[str, np.ndarray]]:
    """(name, float32 array) of every tensor of the model's state dict, in its order."""
    return [(name, tensor.detach().cpu().float().numpy()) for name, tensor in model.state_dict().items()]


def web_model_script(*, checkpoint_path: str | os.PathLike, genre: str, title: str, tokenizer: str,
                     tempo_bpm: float, drums: bool) -> str:
    """The text of a genre's weights file for the page (see the module docstring); ``CheckpointError`` for a
    checkpoint of another vocabulary than ``tokenizer``'s."""
    model, checkpoint = load_checkpoint(checkpoint_path, vocab=make_tokenizer(tokenizer).names)
    tensors, offset, blobs = [], 0, []
    for name, array in weight_tensors(model):
        tensors.append({"name": name, "shape": list(array.shape), "offset": offset})
        offset += array.size
        blobs.append(np.ascontiguousarray(array, dtype="<f4").tobytes())
    meta = {"format": FORMAT, "genre": genre, "title": title, "tokenizer": tokenizer, "tempo": float(tempo_bpm),
            "drums": bool(drums), "config": checkpoint["model_config"],
            "vocab_size": len(checkpoint["vocab"]), "tensors": tensors, "floats": offset}
    weights = base64.b64encode(b"".join(blobs)).decode("ascii")
    head = json.dumps(meta, sort_keys=True)[:-1]
    return f'MG.registerModel({head}, "weights": "{weights}"}});\n'


def export_web_model(*, checkpoint_path: str | os.PathLike, out_path: str | os.PathLike, genre: str, title: str,
                     tokenizer: str, tempo_bpm: float, drums: bool) -> None:
    """The export_web_model rule: a checkpoint -> its weights file for the gallery page, atomically."""
    text = web_model_script(checkpoint_path=checkpoint_path, genre=genre, title=title, tokenizer=tokenizer,
                            tempo_bpm=tempo_bpm, drums=drums)
    with atomic_path(out_path) as tmp:
        tmp.write_text(text, encoding="ascii")
    log.info("%s: %s floats -> %s (%.1f MB)", genre, f"{len(text) * 3 // 4 // 4:,}", out_path, len(text) / 1e6)
