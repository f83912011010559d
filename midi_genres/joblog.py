"""Logging for workflow jobs: everything (including uncaught errors and warnings) goes to the rule's log file."""

from __future__ import annotations

import logging
import sys


def log_to_file(path: str) -> logging.Logger:
    """Send all logging, Python warnings and uncaught exceptions of this job to ``path``."""
    logging.basicConfig(filename=path, filemode="w", level=logging.INFO, force=True,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.captureWarnings(True)
    logger = logging.getLogger("midi_genres.job")

    def excepthook(kind, value, tb):
        logger.error("job failed", exc_info=(kind, value, tb))
        sys.__excepthook__(kind, value, tb)

    sys.excepthook = excepthook
    return logger
