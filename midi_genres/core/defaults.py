"""Every configuration default, read from its one home: ``config.schema.yaml`` beside this file."""

from __future__ import annotations

import functools
from pathlib import Path

SCHEMA_PATH = Path(__file__).with_name("config.schema.yaml")


@functools.cache
def _schema() -> dict:
    import yaml

    return yaml.safe_load(SCHEMA_PATH.read_text())


def defaults(section: str) -> dict:
    """The default of every key of a config section (``model``, ``train``, ``sample``, ``audio``, ...)."""
    properties = _schema()["properties"][section]["properties"]
    return {key: spec["default"] for key, spec in properties.items() if "default" in spec}
