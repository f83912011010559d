"""The gallery page: one static, self-contained HTML file to listen to and look at what each model learned.

Genres are grouped by their ``group`` (in order of first appearance) with their one-line description, piano roll,
audio player, MIDI download, training curves and every column of the summary table. All links are relative to the
page and all text is escaped, so the page works from ``file://`` next to the files it shows.

With the models' weights exported for the page (``model/export.py``), a section "Play with the models" generates,
continues a dropped MIDI file and ranks the genres in the browser: its scripts and style (``present/web/``, package
data) are copied beside the page and loaded by plain ``<script src>`` tags, each genre's weights on first use.
"""

from __future__ import annotations

import csv
import html
import json
import os
import shutil
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from urllib.parse import quote

from midi_genres.core.atomic import atomic_path
from midi_genres.present.audio import MIME_TYPES

HEADING_COLUMNS = ("genre", "title", "group")  # summary columns already shown in each genre's heading
WEB_ASSETS = ("midi-genres.js", "gallery.js", "gallery.css")  # present/web/, copied beside the page, in load order

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1200px; margin: 0 auto; padding: 0 1rem 3rem; color: #222;
       line-height: 1.45; }
header { border-bottom: 1px solid #ddd; margin-bottom: 1rem; }
nav a { margin-right: .8rem; white-space: nowrap; }
h2 { margin-top: 2.5rem; border-bottom: 2px solid #4a78a8; padding-bottom: .2rem; }
img { max-width: 100%; height: auto; border: 1px solid #eee; }
.genres { display: grid; grid-template-columns: repeat(auto-fill, minmax(520px, 1fr)); gap: 1.5rem; }
.genre { border: 1px solid #ddd; border-radius: 6px; padding: .8rem 1rem; background: #fafafa; }
.genre h3 { margin: 0 0 .2rem; }
.description { margin: 0 0 .6rem; color: #444; font-style: italic; }
.listen { display: flex; flex-wrap: wrap; align-items: center; gap: .8rem; margin: .5rem 0; }
.listen audio { width: 320px; max-width: 100%; }
.training-audio { font-size: .9rem; color: #444; }
.training-audio ul { padding-left: 1rem; }
.training-audio li { display: flex; flex-wrap: wrap; align-items: center; gap: .6rem; margin: .2rem 0; }
dl.figures { display: grid; grid-template-columns: repeat(2, max-content minmax(4rem, 1fr)); gap: .1rem .8rem;
             font-size: .85rem; margin: .6rem 0; }
dl.figures dt { color: #555; }
dl.figures dd { margin: 0; font-variant-numeric: tabular-nums; overflow-wrap: anywhere; }
figure { margin: .6rem 0; }
figcaption { font-size: .85rem; color: #555; }
footer { margin-top: 3rem; font-size: .85rem; color: #666; }
"""


def read_summary(path: str | os.PathLike) -> tuple[list[str], dict[str, dict[str, str]]]:
    """Columns and rows (by genre) of ``results/summary.tsv``."""
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh, delimiter="\t")
        rows = {row["genre"]: row for row in reader}
        return list(reader.fieldnames or []), rows


class _Page:
    """Relative links and escaped text for one page."""

    def __init__(self, out_path: str | os.PathLike):
        self.base = Path(out_path).parent

    def url(self, path: str | os.PathLike) -> str:
        """``path`` as an escaped URL relative to the page."""
        return html.escape(self.raw_url(path))

    def raw_url(self, path: str | os.PathLike) -> str:
        """``path`` as a URL relative to the page, not escaped for HTML (for JSON)."""
        return quote(Path(os.path.relpath(path, self.base)).as_posix())

    def audio(self, path: str | os.PathLike) -> str:
        """An audio player for ``path``."""
        mime = MIME_TYPES.get(Path(path).suffix.lower().lstrip("."), "")
        kind = f' type="{mime}"' if mime else ""
        return (f'<audio controls preload="metadata"><source src="{self.url(path)}"{kind}>'
                f'<a href="{self.url(path)}">download the audio</a></audio>')

    def figure(self, path: str | os.PathLike, alt: str, caption: str = "") -> str:
        """A linked image with alt text and an optional caption."""
        cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
        return (f'<figure><a href="{self.url(path)}"><img src="{self.url(path)}" alt="{html.escape(alt)}"></a>'
                f"{cap}</figure>")


def _figures_list(columns: Sequence[str], row: dict[str, str]) -> str:
    items = "".join(f"<dt>{html.escape(c.replace('_', ' '))}</dt><dd>{html.escape(row.get(c) or '')}</dd>"
                    for c in columns if c not in HEADING_COLUMNS)
    return f'<dl class="figures">{items}</dl>'


def _training_audio(page: _Page, directory: str | os.PathLike) -> str:
    files = sorted(p for p in Path(directory).iterdir() if p.suffix.lower().lstrip(".") in MIME_TYPES)
    if not files:
        return ""
    items = "".join(f"<li><span>{html.escape(p.stem.split('_', 1)[-1])}</span>{page.audio(p)}</li>" for p in files)
    return f'<div class="training-audio">For comparison, from the training pieces:<ul>{items}</ul></div>'


def _genre_article(page: _Page, genre: str, source: dict, columns: Sequence[str], row: dict[str, str],
                   pianoroll: str, curve: str, sample: str, audio: str | None, training_audio: str | None) -> str:
    title = source.get("title", genre)
    parts = [f'<article class="genre" id="{html.escape(genre)}">', f"<h3>{html.escape(title)}</h3>"]
    if source.get("description"):
        parts.append(f'<p class="description">{html.escape(source["description"])}</p>')
    parts.append(page.figure(pianoroll, f"Piano roll of the {title} sample"))
    listen = [page.audio(audio)] if audio else []
    listen.append(f'<a href="{page.url(sample)}" download>download the sample (MIDI)</a>')
    parts.append(f'<div class="listen">{"".join(listen)}</div>')
    if training_audio:
        parts.append(_training_audio(page, training_audio))
    parts.append(_figures_list(columns, row))
    parts.append(page.figure(curve, f"Training curves of the {title} model"))
    parts.append("</article>")
    return "\n".join(parts)


def _findings(page: _Page, findings: Sequence[tuple[str, str]]) -> str:
    if not findings:
        return ""
    figures = "\n".join(page.figure(path, caption, caption) for path, caption in findings)
    return f'<section id="findings"><h2>What the models learned</h2>\n{figures}\n</section>'


def _settings(prefix: str) -> str:
    fields = [("seconds", "seconds", 'min="0.5" step="0.5"'), ("temperature", "temperature", 'min="0.05" step="0.05"'),
              ("top-k", "top-k (0: all)", 'min="0" step="1"'), ("seed", "seed", 'min="0" step="1"')]
    inputs = "".join(f'<label>{label}<input type="number" id="{prefix}-{key}" {extra}></label>'
                     for key, label, extra in fields)
    return f'<label>genre<select id="{prefix}-genre"></select></label>{inputs}'


def _play_section(page: _Page, genres: Sequence[str], sources: dict, web_models: Sequence[str],
                  sample_settings: dict) -> str:
    """The "Play with the models" section and the JSON that tells its script (``web/gallery.js``) the models."""
    models = [{"genre": g, "title": sources[g].get("title", g), "src": page.raw_url(path), "sample": sample_settings[g]}
              for g, path in zip(genres, web_models)]
    data = json.dumps({"models": models}).replace("</", "<\\/")
    return f"""<section id="play"><h2>Play with the models</h2>
<p class="note">Everything here runs in your browser, from the page's own files: each genre's model (its weights load
when first used), the sampler and the tokenizer, written once for the page. The same seed gives the same music again
in this page (it is the page's own generator, not PyTorch's).</p>
<div class="panels">
<div class="panel" id="generate-panel"><h3>Generate</h3>
<div class="fields">{_settings("g")}</div>
<button id="generate-button">Generate</button>
</div>
<div class="panel" id="file-panel"><h3>Your own music</h3>
<div id="drop-zone">Drop a MIDI file here, or <input type="file" id="midi-file" accept=".mid,.midi,audio/midi">
<p id="dropped-name">no file yet</p></div>
<div class="fields">{_settings("c")}<label>prompt bars<input type="number" id="c-bars" value="4" min="1" step="1">
</label></div>
<button id="continue-button">Continue its first bars</button>
<button id="rank-button" class="secondary">Which genre does it sound like?</button>
<progress id="rank-progress" hidden></progress>
<table id="rank-table" hidden><thead><tr><th>rank</th><th>model</th><th>bits / note</th><th>pitch</th><th>timing</th>
<th>duration</th><th>structure</th><th>bits / token</th></tr></thead><tbody></tbody></table>
</div>
</div>
<div class="output">
<p id="play-status" class="status" role="status" aria-live="polite"></p>
<canvas id="play-roll" width="1160" height="260" aria-label="piano roll of the music made here"></canvas>
<div class="actions"><button id="play-button" class="secondary">Play</button>
<label class="inline"><input type="checkbox" id="autoplay" checked> play when done</label>
<button id="stop-button" class="secondary">Stop</button>
<a id="download-link" class="disabled">download the MIDI file</a></div>
</div>
<script type="application/json" id="play-models">{data}</script>
</section>"""


def render_gallery(out_path: str | os.PathLike, genres: Sequence[str], sources: dict, summary_path: str,
                   pianorolls: Sequence[str], curves: Sequence[str], samples: Sequence[str], comparison: str,
                   training_curves: str, audio: Sequence[str] = (), training_audio: Sequence[str] = (),
                   findings: Sequence[tuple[str, str]] = (), web_models: Sequence[str] = (),
                   web_assets: str | os.PathLike | None = None, sample_settings: dict | None = None) -> str:
    """The page's HTML. Per-genre lists follow ``genres``; ``audio``/``training_audio`` may be empty (no audio);
    ``findings`` are (figure, caption) pairs shown in a section of their own. ``web_models`` (each genre's weights
    file, may be empty: no play section) need ``web_assets`` (the folder of the page's scripts) and
    ``sample_settings`` (each genre's ``sample`` section: the page's defaults)."""
    per_genre = {"pianorolls": pianorolls, "curves": curves, "samples": samples, "web_models": web_models}
    per_genre.update({name: files for name, files in (("audio", audio), ("training_audio", training_audio))
                      if files})
    if not web_models:
        del per_genre["web_models"]
    elif web_assets is None or sample_settings is None:
        raise ValueError("web_models need web_assets (the page's scripts) and sample_settings")
    for name, files in per_genre.items():
        if len(files) != len(genres):
            raise ValueError(f"{len(files)} {name} for {len(genres)} genres")
    columns, rows = read_summary(summary_path)
    missing = [g for g in genres if g not in rows]
    if missing:
        raise ValueError(f"{summary_path} has no row for {missing}")
    page = _Page(out_path)
    groups: dict[str, list[str]] = {}
    for i, genre in enumerate(genres):
        entry = {name: files[i] for name, files in per_genre.items()}
        article = _genre_article(page, genre, sources[genre], columns, rows[genre], entry["pianorolls"],
                                 entry["curves"], entry["samples"], entry.get("audio"), entry.get("training_audio"))
        groups.setdefault(sources[genre].get("group", "Other"), []).append(article)
    nav = " ".join(f'<a href="#{html.escape(g)}">{html.escape(sources[g].get("title", g))}</a>' for g in genres)
    sections = "\n".join(f'<section class="group"><h2>{html.escape(group)}</h2>\n<div class="genres">\n'
                         + "\n".join(articles) + "\n</div></section>" for group, articles in groups.items())
    play, head, scripts = "", "", ""
    if web_models:
        play = _play_section(page, genres, sources, web_models, sample_settings)
        assets = {name: page.url(Path(web_assets) / name) for name in WEB_ASSETS}
        head = f'<link rel="stylesheet" href="{assets["gallery.css"]}">'
        scripts = "".join(f'<script src="{url}"></script>' for name, url in assets.items() if name.endswith(".js"))
        nav = f'<a href="#play"><strong>Play with the models</strong></a> {nav}'
    intro = ("The same small decoder-only Transformer, trained unchanged on each genre: only the corpus changes. "
             "Each model samples music from a single [BOS] token. Listen to it, look at its piano roll, download "
             "the MIDI file, and see how far its training got.")
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>midi-genres: what each model learned</title>
<style>{STYLE}</style>
{head}
</head>
<body>
<header>
<h1>One small Transformer, {len(genres)} streams of symbolic music</h1>
<p>{html.escape(intro)}</p>
<nav>{nav}</nav>
</header>
<section id="comparison"><h2>All genres side by side</h2>
{page.figure(comparison, "Piano rolls of every genre's sample, grouped", "One sample per genre, grouped.")}
{page.figure(training_curves, "Train and validation loss of every genre's model",
             "Train and validation loss of each model over its training steps.")}
</section>
{play}
{_findings(page, findings)}
{sections}
<footer>Built by the midi-genres workflow. Every number above comes from
<a href="{page.url(summary_path)}">{html.escape(Path(summary_path).name)}</a>.</footer>
{scripts}
</body>
</html>
"""


def build_gallery(*, out_path: str | os.PathLike, genres: Sequence[str], sources: dict, summary_path: str,
                  pianorolls: Sequence[str], curves: Sequence[str], samples: Sequence[str], comparison: str,
                  training_curves: str, audio: Sequence[str] = (), training_audio: Sequence[str] = (),
                  findings: Sequence[tuple[str, str]] = (), web_models: Sequence[str] = (),
                  web_assets: str | os.PathLike | None = None, sample_settings: dict | None = None) -> None:
    """The build_gallery rule: write the page (``render_gallery``) to ``out_path`` and, with ``web_models``, the
    page's scripts and style into the folder ``web_assets``, atomically."""
    text = render_gallery(out_path, genres, sources, summary_path, pianorolls, curves, samples, comparison,
                          training_curves, audio=audio, training_audio=training_audio, findings=findings,
                          web_models=web_models, web_assets=web_assets, sample_settings=sample_settings)
    if web_models:
        copy_web_assets(web_assets)
    with atomic_path(out_path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def copy_web_assets(folder: str | os.PathLike) -> None:
    """The page's scripts and style (``WEB_ASSETS``, package data of ``present/web/``) into ``folder``, replacing it."""
    source = resources.files("midi_genres.present") / "web"
    with atomic_path(folder, directory=True) as tmp:
        for name in WEB_ASSETS:
            with resources.as_file(source / name) as path:
                shutil.copyfile(path, tmp / name)
