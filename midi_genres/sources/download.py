"""Getting a source's data from where its publishers serve it: resumable, checked, unpacked atomically.

Each file of the config's ``download.files`` (defaults in ``core/config.schema.yaml``: LMD-matched, its match
scores, the tagtraum label files) is fetched into ``<dest>/.<name>.part``; an interrupted transfer (this call's or an
earlier one's) goes on from where it stopped with an HTTP ``Range`` request. A complete file is checked against the
size and SHA-256 the config pins (the publishers give none: a first complete download prints both, to pin them),
and only then unpacked (``tar``: the archive's folder, ``zip``: its file, ``none``: the file itself; of an archive
holding more, its entry named as ``path``) into a temporary sibling renamed to ``<dest>/<path>`` in one step. A file
of the wrong size or checksum is deleted and refused, and nothing is left at ``<dest>/<path>``.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from midi_genres.core.atomic import atomic_path

log = logging.getLogger(__name__)

CHUNK = 1 << 20
UNPACK = ("none", "tar", "zip")


class DownloadError(RuntimeError):
    """A file could not be fetched, or was not the file the config pins."""


@dataclass(frozen=True)
class Download:
    """One published file: where it is served, what it becomes under ``dest`` and what the config pins of it."""

    name: str
    url: str
    path: str
    unpack: str = "none"
    size: int | None = None
    sha256: str | None = None

    @classmethod
    def from_config(cls, name: str, spec: dict) -> Download:
        """A file of the config's ``download.files``; raises ``ValueError`` naming the key for a bad entry."""
        if spec.get("unpack", "none") not in UNPACK:
            raise ValueError(f"download.files.{name}.unpack must be one of {', '.join(UNPACK)}, got "
                             f"{spec['unpack']!r}")
        if not spec.get("url") or not spec.get("path"):
            raise ValueError(f"download.files.{name} needs a url and a path")
        return cls(name, spec["url"], spec["path"], spec.get("unpack", "none"), spec.get("size"), spec.get("sha256"))


def _fetch(url: str, part: Path, timeout: float) -> None:
    """Append what is missing of ``url`` to ``part`` (from its current size on; all of it if the server ignores
    the range). Raises ``OSError``/``http.client`` errors on a broken transfer, leaving what arrived in ``part``."""
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # nothing left to send: the part is whole
            return
        raise
    with response:
        if have and response.status != 206:  # the server sent the whole file again
            log.info("%s: the server does not resume; starting over", url)
            have = 0
        total = response.headers.get("Content-Length")
        expected = have + int(total) if total is not None else None
        with open(part, "ab" if have else "wb") as out:
            while block := response.read(CHUNK):
                out.write(block)
    got = part.stat().st_size
    if expected is not None and got < expected:
        raise http.client.IncompleteRead(b"", expected - got)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _unpack(item: Download, part: Path, target: Path) -> None:
    """Put the checked ``part`` in place as ``target``, atomically (nothing at ``target`` until it is whole)."""
    if item.unpack == "none":
        os.replace(part, target)
        return
    with tempfile.TemporaryDirectory(prefix=f".{item.name}.", dir=target.parent) as tmp:
        if item.unpack == "tar":
            with tarfile.open(part) as tar:
                tar.extractall(tmp, filter="data")
        else:
            with zipfile.ZipFile(part) as zf:
                zf.extractall(tmp)
        found = [p for p in Path(tmp).iterdir() if not p.name.startswith((".", "__MACOSX"))]
        found = [p for p in found if p.name == target.name] or found  # the entry named as the target, else the one
        if len(found) != 1:
            raise DownloadError(f"download.files.{item.name}: {item.url} holds {len(found)} top-level entries "
                                f"({', '.join(sorted(p.name for p in found)[:5])}), expected one, to become "
                                f"{target}")
        with atomic_path(target, directory=found[0].is_dir()) as staged:
            if found[0].is_dir():
                staged.rmdir()
            os.replace(found[0], staged)
    part.unlink()


def download(item: Download, dest: str | os.PathLike, retries: int = 3, timeout: float = 60.0) -> dict:
    """Fetch one file into ``dest`` (resuming a ``.part`` left by an earlier try), check it against its pinned
    size and SHA-256 and unpack it as ``dest/<path>``; return its url, size, sha256 and whether it was there.

    Up to ``retries`` broken transfers are resumed within the call. Raises ``DownloadError`` for a file of the
    wrong size or checksum (deleting it) and when the transfers keep breaking (the ``.part`` stays, to resume).
    """
    dest = Path(dest)
    target = dest / item.path
    if target.exists():
        log.info("%s: %s is there already", item.name, target)
        return {"name": item.name, "path": str(target), "present": True}
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(f".{target.name}.part")
    for attempt in range(retries + 1):
        try:
            _fetch(item.url, part, timeout)
            break
        except (OSError, http.client.HTTPException) as exc:
            if isinstance(exc, urllib.error.HTTPError) and exc.code < 500:
                raise DownloadError(f"download.files.{item.name}: {item.url}: {exc}") from None
            log.warning("%s: transfer broke after %d bytes (%s)%s", item.name,
                        part.stat().st_size if part.exists() else 0, exc,
                        "; resuming" if attempt < retries else "")
    else:
        raise DownloadError(f"download.files.{item.name}: {item.url} broke off {retries + 1} times; run again to "
                            f"resume from the {part.stat().st_size if part.exists() else 0} bytes in {part}")
    size, sha256 = part.stat().st_size, _sha256(part)
    wrong = [f"{what} {got} where the config pins {pinned}" for what, got, pinned in
             (("size", size, item.size), ("sha256", sha256, item.sha256)) if pinned is not None and got != pinned]
    if wrong:
        part.unlink()
        raise DownloadError(f"download.files.{item.name}: {item.url} is not the pinned file ({'; '.join(wrong)}); "
                            f"deleted it, nothing written to {target}")
    _unpack(item, part, target)
    log.info("%s: %s (%d bytes, sha256 %s)", item.name, target, size, sha256)
    return {"name": item.name, "path": str(target), "present": False, "url": item.url, "size": size,
            "sha256": sha256, "pinned": item.size is not None and item.sha256 is not None}


def download_all(settings: dict, only: list[str] | None = None, retries: int = 3) -> list[dict]:
    """Every file of a config's ``download`` section (``dest``, ``files``), or those named in ``only``; raises
    ``ValueError`` for a name not in it."""
    files = settings["files"]
    unknown = [name for name in only or [] if name not in files]
    if unknown:
        raise ValueError(f"download.files has no {', '.join(unknown)} (it has {', '.join(files)})")
    return [download(Download.from_config(name, files[name]), settings["dest"], retries)
            for name in only or files]


def pin_text(results: list[dict]) -> str:
    """The config lines that pin the sizes and checksums of the files just downloaded (none already pinned)."""
    lines = [f"    {r['name']}: {{size: {r['size']}, sha256: {r['sha256']}}}"
             for r in results if not r["present"] and not r["pinned"]]
    return "download:\n  files:\n" + "\n".join(lines) if lines else ""
