"""Logging for workflow jobs: everything (including uncaught errors and warnings) goes to the rule's log file."""

from __future__ import annotations

import atexit
import logging
import resource
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
    atexit.register(lambda: logger.info("peak memory: %.1f MiB (largest child process: %.1f MiB)",
                                        *peak_memory_mib()))
    return logger


def peak_memory_mib() -> tuple[float, float]:
    """Peak resident memory (MiB) of this process and of its largest finished child process: exact, where a
    sampling benchmark can miss a short peak. Linux reads the high-water mark of this program (VmHWM; getrusage
    would also count the process that started it, as its maximum survives the exec); elsewhere getrusage."""
    unit = 1 << 20 if sys.platform == "darwin" else 1 << 10  # ru_maxrss is in bytes on macOS, KiB on Linux
    own, children = (resource.getrusage(who).ru_maxrss * unit / (1 << 20)
                     for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    try:
        with open("/proc/self/status") as status:
            own = next(int(line.split()[1]) / 1024 for line in status if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        pass
    return own, children


def progress_text(elapsed: float, done: float, total: float, rate: float | None = None, unit: str = "") -> str:
    """``"<rate> <unit>/s, <elapsed> s elapsed, ETA <s> s"`` for ``done`` of ``total`` units of work after
    ``elapsed`` seconds (the ETA assumes the rate so far; no rate part when ``rate`` is None)."""
    eta = elapsed / done * (total - done) if done else float("inf")
    speed = f"{rate:.1f} {unit}/s, " if rate is not None else ""
    return f"{speed}{elapsed:.1f} s elapsed, ETA {eta:.0f} s"
