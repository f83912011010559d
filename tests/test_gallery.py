"""The gallery page: its HTML, and the real page of the tiny run loaded in a real headless browser."""

import csv
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import matplotlib.image
import numpy as np
import pytest
from browser import CHROMIUM, CHROMIUM_ARGS, check_page, require_browser
from workflow_helpers import AUDIO, GENRES

from midi_genres.present.gallery import build_gallery, render_gallery

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class Links(HTMLParser):
    """Every src/href of a page, and the tags seen."""

    def __init__(self):
        super().__init__()
        self.links, self.tags = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.links += [(tag, value) for name, value in attrs if name in ("src", "href")]


def parse(text):
    parser = Links()
    parser.feed(text)
    return parser


def assert_links_are_relative_and_resolve(page: Path):
    """Every link is a relative path (no scheme, host or leading /) to a file next to the page, or an #anchor."""
    parser = parse(page.read_text())
    assert parser.links
    for _, url in parser.links:
        if url.startswith("#"):
            continue
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc and not url.startswith("/"), url
        assert (page.parent / unquote(parts.path)).exists(), url


def fake_results(root: Path, genres, sources, audio=True):
    """Files shaped like the workflow's results, for the page to link to."""
    files = {"pianorolls": [], "curves": [], "samples": [], "audio": [], "training_audio": []}
    for genre in genres:
        for kind in ("pianorolls", "curves"):
            path = root / "results" / kind / f"{genre}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            matplotlib.image.imsave(path, np.zeros((4, 6)))
            files[kind].append(str(path))
        for kind, name in (("samples", f"{genre}.mid"), ("audio", f"{genre}.ogg"),
                           ("training_audio", f"training/{genre}/01_piece one.ogg")):
            path = root / "results" / ("samples" if kind == "samples" else "audio") / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"x")
            files[kind].append(str(path if kind != "training_audio" else path.parent))
    for name in ("comparison.png", "training_curves.png"):
        matplotlib.image.imsave(root / "results" / name, np.zeros((4, 6)))
    columns = ["genre", "title", "group", "pieces_train", "final_val_loss", "a_measure_added_later"]
    with open(root / "results/summary.tsv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, columns, delimiter="\t")
        writer.writeheader()
        for i, genre in enumerate(genres):
            writer.writerow({"genre": genre, "title": sources[genre]["title"], "group": sources[genre]["group"],
                             "pieces_train": 10 + i, "final_val_loss": 1.5, "a_measure_added_later": f"<{i}>"})
    if not audio:
        files["audio"], files["training_audio"] = [], []
    return files


SOURCES = {
    "a": {"title": "Alpha & Co", "group": "First <group>", "description": '<script>alert("x")</script> & more'},
    "b": {"title": "Beta", "group": "Second", "description": "plain"},
    "c": {"title": "Gamma", "group": "First <group>"},
}


def gallery(tmp_path, audio=True, genres=("a", "b", "c")):
    files = fake_results(tmp_path, genres, SOURCES, audio=audio)
    out = tmp_path / "results/index.html"
    build_gallery(out_path=out, genres=list(genres), sources=SOURCES,
                  summary_path=str(tmp_path / "results/summary.tsv"),
                  pianorolls=files["pianorolls"], curves=files["curves"], samples=files["samples"],
                  comparison=str(tmp_path / "results/comparison.png"),
                  training_curves=str(tmp_path / "results/training_curves.png"), audio=files["audio"],
                  training_audio=files["training_audio"])
    return out


def test_page_groups_genres_in_order_and_shows_every_summary_column(tmp_path):
    text = gallery(tmp_path).read_text()
    first, second = text.index("First &lt;group&gt;</h2>"), text.index("Second</h2>")
    assert first < text.index("Alpha &amp; Co</h3>") < text.index("Gamma</h3>") < second < text.index("Beta</h3>")
    assert text.count("<dt>a measure added later</dt>") == 3 and "<dd>&lt;2&gt;</dd>" in text
    assert text.count("<dt>pieces train</dt>") == 3 and "<dt>genre</dt>" not in text  # genre/title/group: headings
    assert text.count('<audio controls preload="metadata"><source') == 6 and 'type="audio/ogg"' in text
    assert "piece one" in text and 'download>download the sample (MIDI)' in text


def test_all_text_is_escaped(tmp_path):
    text = gallery(tmp_path).read_text()
    assert "<script>" not in text and '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; more' in text
    assert "<group>" not in text


def test_every_link_is_relative_and_points_at_an_existing_file(tmp_path):
    page = gallery(tmp_path)
    assert_links_are_relative_and_resolve(page)
    assert "piece%20one.ogg" in page.read_text()


def test_without_audio_the_page_has_no_players(tmp_path):
    text = gallery(tmp_path, audio=False).read_text()
    assert "<audio" not in text and text.count("download the sample (MIDI)") == 3


def test_a_genre_missing_from_the_summary_or_a_short_list_is_an_error(tmp_path):
    files = fake_results(tmp_path, ["a", "b"], SOURCES)
    args = [tmp_path / "index.html", ["a", "b", "c"], SOURCES, str(tmp_path / "results/summary.tsv")]
    rest = [str(tmp_path / "results/comparison.png"), str(tmp_path / "results/training_curves.png")]
    with pytest.raises(ValueError, match="2 pianorolls for 3 genres"):
        render_gallery(*args, files["pianorolls"], files["curves"], files["samples"], *rest)
    with pytest.raises(ValueError, match=r"no row for \['c'\]"):
        render_gallery(*args, *(files[kind] + files[kind][:1] for kind in ("pianorolls", "curves", "samples")), *rest)


def test_the_browser_check_catches_a_broken_image_and_a_broken_audio_source(tmp_path):
    require_browser()
    page = tmp_path / "broken.html"
    page.write_text('<!doctype html><title>t</title><img src="missing.png" alt="x">'
                    '<audio controls preload="metadata"><source src="missing.ogg" type="audio/ogg"></audio>')
    seen = check_page(page)
    assert seen.broken_images and seen.broken_audio and seen.errors


def check_the_page_plays_the_runs_models(run):
    """The workflow's exported models in its page: greedy decoding gives the package's notes for every genre."""
    import json

    from playwright.sync_api import sync_playwright

    from midi_genres import api
    from midi_genres.core.notes import Note

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for genre in GENRES:
                page = browser.new_page()
                page.goto((run / "results/index.html").resolve().as_uri() + f"#generate={genre}&seconds=3&top_k=1")
                page.wait_for_selector("#generated-notes", state="attached", timeout=60_000)
                notes = [Note(**n) for n in json.loads(page.inner_text("#generated-notes"))]
                assert notes == api.load_model(genre, run / "results").generate(seconds=3, top_k=1).notes, genre
        finally:
            browser.close()


@pytest.mark.slow
def test_the_real_page_loads_cleanly_in_a_real_browser(run, tmp_path):
    require_browser()
    page = run / "results/index.html"
    assert_links_are_relative_and_resolve(page)
    seen = check_page(page, screenshot=tmp_path / "gallery.png")
    assert seen.errors == [] and seen.broken_images == [] and seen.broken_audio == []
    assert seen.title == "midi-genres: what each model learned"
    # comparison, all curves; the findings (cross-genre, held-out bits, classifier, synthetic rules, structure); per
    # genre piano roll and curves
    assert len(seen.images) == 2 + 5 + 2 * len(GENRES)
    assert (tmp_path / "gallery.png").read_bytes()[:8] == PNG_SIGNATURE
    check_the_page_plays_the_runs_models(run)
    if not AUDIO:
        pytest.skip("audio tools not installed: the page was checked without players")
    assert len(seen.audio) == 2 * len(GENRES)  # each sample and one training piece per genre
    assert all(a["duration"] > 0 for a in seen.audio)


def test_heatmaps_of_twelve_genres_stack_in_rows_the_page_shows_at_full_size(tmp_path):
    """The cross-genre figure's three 12 x 12 matrices no longer share one row (3,000 px, shrunk to unreadable cells
    in the page): each has a row of its own within the gallery's width; small matrices still sit side by side."""
    from midi_genres.present.plots import HEATMAP_MAX_ROW_PX, Heatmap, heatmap_rows, render_heatmaps

    assert heatmap_rows([1004, 1004, 1004]) == [[0], [1], [2]]
    assert heatmap_rows([500, 500, 500]) == [[0, 1], [2]] and heatmap_rows([300, 300]) == [[0, 1]]
    labels = [f"genre {i}" for i in range(12)]
    grid = np.arange(144.0).reshape(12, 12) + 1
    path = tmp_path / "cross.png"
    render_heatmaps([Heatmap(grid, labels, labels, title=t) for t in ("total", "pitch", "timing")], path, title="x")
    height, width = matplotlib.image.imread(path).shape[:2]
    assert width <= HEATMAP_MAX_ROW_PX and height > 3 * 12 * 34


def test_bar_labels_are_wrapped_whole_rather_than_rotated():
    from midi_genres.present.plots import bar_label

    assert bar_label("Rap / hip-hop") == "Rap /\nhip-hop" and bar_label("Palestrina") == "Palestrina"
    assert bar_label("Essen folksongs").replace("\n", " ") == "Essen folksongs"


def test_twelve_exported_models_of_the_default_size_and_the_page_fit_in_40_mb(tmp_path):
    """The page carries every genre's weights in float32 (base64 in a plain script): 12 of the experiment's models,
    with the page's scripts and HTML, stay under 40 MB."""
    from importlib import resources

    from midi_genres.model.checkpoint import save_checkpoint
    from midi_genres.model.export import export_web_model
    from midi_genres.model.transformer import ModelConfig, MusicTransformer
    from midi_genres.present.gallery import WEB_ASSETS
    from midi_genres.tokens import make_tokenizer

    tok = make_tokenizer("event")
    cfg = ModelConfig(vocab_size=tok.size)  # the schema's defaults: the experiment's architecture
    model = MusicTransformer(cfg)
    save_checkpoint({"model_state": model.state_dict(), "model_config": cfg.to_dict(), "vocab": tok.names},
                    tmp_path / "bach.pt")
    export_web_model(checkpoint_path=tmp_path / "bach.pt", out_path=tmp_path / "bach.js", genre="bach", title="Bach",
                     tokenizer="event", tempo_bpm=90, drums=False)
    text = (tmp_path / "bach.js").read_text()
    assert text.startswith("MG.registerModel({") and f'"floats": {model.num_parameters()}' in text
    web = resources.files("midi_genres.present") / "web"
    assets = sum(len((web / name).read_bytes()) for name in WEB_ASSETS)
    assert 12 * len(text) + assets + 200_000 < 40e6
    with pytest.raises(ValueError, match="vocabulary"):
        export_web_model(checkpoint_path=tmp_path / "bach.pt", out_path=tmp_path / "remi.js", genre="bach",
                         title="Bach", tokenizer="remi", tempo_bpm=90, drums=False)


def test_the_play_section_comes_with_exported_models_only_and_its_json_cannot_close_the_script(tmp_path):
    import json
    import re

    assert 'id="play"' not in gallery(tmp_path).read_text() and "<script" not in gallery(tmp_path).read_text()
    files = fake_results(tmp_path, ["a", "b", "c"], SOURCES)
    sources = {**SOURCES, "a": {**SOURCES["a"], "title": "</script><b>x</b>"}}
    models = []
    for genre in ("a", "b", "c"):
        models.append(tmp_path / "results" / "web" / "models" / f"{genre}.js")
        models[-1].parent.mkdir(parents=True, exist_ok=True)
        models[-1].write_text("")
    args = dict(out_path=tmp_path / "results/index.html", genres=["a", "b", "c"], sources=sources,
                summary_path=str(tmp_path / "results/summary.tsv"), pianorolls=files["pianorolls"],
                curves=files["curves"], samples=files["samples"], comparison=str(tmp_path / "results/comparison.png"),
                training_curves=str(tmp_path / "results/training_curves.png"), web_models=[str(m) for m in models])
    with pytest.raises(ValueError, match="web_assets"):
        build_gallery(**args)
    sample = {"seconds": 30, "temperature": 0.9, "top_k": 40, "seed": 0, "max_tokens": 8192}
    build_gallery(**args, web_assets=tmp_path / "results" / "web" / "page", sample_settings={g: sample for g in "abc"})
    page = tmp_path / "results" / "index.html"
    text = page.read_text()
    data = re.search(r'<script type="application/json" id="play-models">(.*?)</script>', text, re.S).group(1)
    manifest = json.loads(data)
    assert [m["src"] for m in manifest["models"]] == ["web/models/a.js", "web/models/b.js", "web/models/c.js"]
    assert manifest["models"][0]["title"] == "</script><b>x</b>" and manifest["models"][1]["sample"] == sample
    assert sorted(p.name for p in (tmp_path / "results/web/page").iterdir()) == ["gallery.css", "gallery.js",
                                                                               "midi-genres.js"]
    assert_links_are_relative_and_resolve(page)
