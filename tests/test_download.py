"""The downloader (sources/download.py, ``midi-genres download``) against a local HTTP server on 127.0.0.1 serving a
miniature replica of LMD-matched, its match scores and a tagtraum label file."""

from __future__ import annotations

import hashlib
import http.server
import threading

import pytest
from lakh_replica import TRACKS, build_replica, pack_replica

from midi_genres.cli import main
from midi_genres.sources.download import DownloadError, download_all
from midi_genres.sources.lakh import read_labels, read_match_scores


class Server(http.server.ThreadingHTTPServer):
    """Serves files from a dict of path -> bytes with Range support; ``cut`` breaks the next transfers of a path
    after that many bytes (the connection closes mid-body)."""

    def __init__(self, files: dict[str, bytes]):
        self.files, self.cut, self.ranges = files, {}, []
        super().__init__(("127.0.0.1", 0), Handler)


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        data = self.server.files.get(self.path)
        if data is None:
            self.send_error(404)
            return
        start = 0
        if (header := self.headers.get("Range")) is not None:
            self.server.ranges.append((self.path, header))
            start = int(header.removeprefix("bytes=").split("-")[0])
            if start >= len(data):
                self.send_error(416)
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        body = data[start:]
        cut = self.server.cut.get(self.path)
        if cut is not None:
            self.server.cut[self.path] = None if cut[1] <= 1 else (cut[0], cut[1] - 1)
            body = body[:cut[0]]
        self.wfile.write(body)
        self.wfile.flush()
        if cut is not None:
            self.close_connection = True


@pytest.fixture()
def server(tmp_path):
    packed = pack_replica(build_replica(tmp_path / "replica"), tmp_path / "served")
    srv = Server({f"/{p.name}": p.read_bytes() for p in packed.values()})
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv, packed
    srv.shutdown()
    srv.server_close()


def settings(srv, packed, dest, **pins):
    base = f"http://127.0.0.1:{srv.server_address[1]}"
    files = {"lmd_matched": {"url": f"{base}/lmd_matched.tar.gz", "path": "lmd_matched", "unpack": "tar"},
             "match_scores": {"url": f"{base}/match_scores.json", "path": "match_scores.json"},
             "tagtraum_cd2c": {"url": f"{base}/msd_tagtraum_cd2c.cls.zip", "path": "msd_tagtraum_cd2c.cls",
                               "unpack": "zip"}}
    for name, pin in pins.items():
        files[name].update(pin)
    return {"dest": str(dest), "files": files}


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_downloads_unpacks_and_reports_sizes_and_checksums(server, tmp_path):
    srv, packed = server
    results = download_all(settings(srv, packed, tmp_path / "lakh"))
    by_name = {r["name"]: r for r in results}
    assert by_name["lmd_matched"]["sha256"] == sha256(packed["lmd_matched"])
    assert by_name["lmd_matched"]["size"] == packed["lmd_matched"].stat().st_size
    got, served = tmp_path / "lakh", tmp_path / "replica"
    assert read_labels(got / "msd_tagtraum_cd2c.cls") == read_labels(served / "msd_tagtraum_cd2c.cls")
    assert read_match_scores(got / "match_scores.json") == read_match_scores(served / "match_scores.json")
    files = [{p.relative_to(root): p.read_bytes() for p in (root / "lmd_matched").rglob("*.mid")}
             for root in (got, served)]
    assert files[0] == files[1] and len(files[0]) == sum(len(matches) for _, matches in TRACKS.values())
    assert not list((tmp_path / "lakh").glob(".*"))  # no part file or temporary folder left
    again = download_all(settings(srv, packed, tmp_path / "lakh"))
    assert all(r["present"] for r in again)


def test_a_truncated_transfer_resumes_where_it_stopped(server, tmp_path):
    srv, packed = server
    size = packed["lmd_matched"].stat().st_size
    srv.cut["/lmd_matched.tar.gz"] = (size // 3, 1)  # the first transfer breaks off after a third
    with pytest.raises(DownloadError, match="broke off 1 times; run again to resume"):
        download_all(settings(srv, packed, tmp_path / "lakh"), ["lmd_matched"], retries=0)
    part = tmp_path / "lakh/.lmd_matched.part"
    assert part.stat().st_size == size // 3 and not (tmp_path / "lakh/lmd_matched").exists()
    [result] = download_all(settings(srv, packed, tmp_path / "lakh"), ["lmd_matched"])
    assert ("/lmd_matched.tar.gz", f"bytes={size // 3}-") in srv.ranges
    assert result["sha256"] == sha256(packed["lmd_matched"]) and (tmp_path / "lakh/lmd_matched").is_dir()
    srv.cut["/match_scores.json"] = (100, 2)  # two breaks, resumed within one call
    [result] = download_all(settings(srv, packed, tmp_path / "lakh"), ["match_scores"], retries=3)
    assert result["sha256"] == sha256(packed["match_scores"])


def test_a_wrong_checksum_or_size_is_refused_and_nothing_half_written_is_left(server, tmp_path):
    srv, packed = server
    wrong = settings(srv, packed, tmp_path / "lakh", lmd_matched={"sha256": "0" * 64},
                     tagtraum_cd2c={"size": 5})
    with pytest.raises(DownloadError, match=r"lmd_matched: .* is not the pinned file \(sha256 [0-9a-f]{64} where "
                                            r"the config pins 0{64}\); deleted it, nothing written"):
        download_all(wrong, ["lmd_matched"])
    with pytest.raises(DownloadError, match=r"size \d+ where the config pins 5"):
        download_all(wrong, ["tagtraum_cd2c"])
    assert list((tmp_path / "lakh").iterdir()) == []
    right = settings(srv, packed, tmp_path / "lakh", lmd_matched={"sha256": sha256(packed["lmd_matched"]),
                                                                  "size": packed["lmd_matched"].stat().st_size})
    assert download_all(right, ["lmd_matched"])[0]["pinned"]


def test_the_command_prints_what_to_pin_and_names_unknown_files(server, tmp_path, capsys):
    srv, packed = server
    config = tmp_path / "pins.yaml"
    import yaml

    config.write_text(yaml.safe_dump({"download": settings(srv, packed, tmp_path / "lakh")}))
    assert main(["download", "--configfile", str(config), "match_scores"]) == 0
    out = capsys.readouterr().out
    size, digest = packed["match_scores"].stat().st_size, sha256(packed["match_scores"])
    assert f"match_scores: {{size: {size}, sha256: {digest}}}" in out
    assert main(["download", "--configfile", str(config), "lmd_full"]) == 2
    assert "download.files has no lmd_full" in capsys.readouterr().err


def test_an_archive_holding_more_gives_its_entry_named_as_the_path(server, tmp_path):
    import io
    import zipfile

    srv, packed = server
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as zf:
        zf.writestr("README.txt", "labels of the MSD")
        zf.writestr("msd_tagtraum_cd2c.cls", (tmp_path / "replica/msd_tagtraum_cd2c.cls").read_text())
    srv.files["/two.zip"] = data.getvalue()
    cfg = settings(srv, packed, tmp_path / "lakh")
    cfg["files"]["tagtraum_cd2c"]["url"] = cfg["files"]["tagtraum_cd2c"]["url"].replace("msd_tagtraum_cd2c.cls.zip",
                                                                                          "two.zip")
    download_all(cfg, ["tagtraum_cd2c"])
    assert sorted(p.name for p in (tmp_path / "lakh").iterdir()) == ["msd_tagtraum_cd2c.cls"]
