"""Speed of the gallery page in headless Chromium (issue #28: 30 s of metal in under 2 s after its weights load;
scoring a 3-minute multi-track file under 12 models in under 20 s; page load under 2 s), beside PyTorch's scoring.

    python benchmarks/web_page.py [--results results [--check-greedy]]

With a finished run (``results/index.html`` and ``results/web/models/``) it measures that run's page and models;
without one, a stand-in: 12 models of the default architecture (random weights, 3 x 128, context 256) under the
default genres' names and tempos, and metal's generation timed for as many tokens as 30 s of the metal corpus
holds. Prints a markdown table with the CPU. Not part of the tests.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
sys.path.insert(0, str(REPO / "tests"))

from browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from make_midi_folder import write_song  # noqa: E402
from midi_folder import cpu_name  # noqa: E402

from midi_genres import api  # noqa: E402
from midi_genres.core.defaults import defaults  # noqa: E402
from midi_genres.core.midi import read_midi  # noqa: E402
from midi_genres.core.notes import seconds_to_steps  # noqa: E402
from midi_genres.model.checkpoint import save_checkpoint  # noqa: E402
from midi_genres.model.export import export_web_model  # noqa: E402
from midi_genres.model.transformer import ModelConfig, MusicTransformer  # noqa: E402
from midi_genres.present.gallery import build_gallery  # noqa: E402
from midi_genres.sources.synth import generate_pieces  # noqa: E402
from midi_genres.tokens import make_tokenizer  # noqa: E402

METAL_SECONDS = 30


def stand_in_site(root: Path) -> Path:
    """A results folder with 12 random default-size models of the default genres, exported, and the page."""
    import torch
    from test_gallery import fake_results

    config = yaml.safe_load((REPO / "config.yaml").read_text())
    genres, sources = config["genres"], config["sources"]
    results = root / "results"
    files = fake_results(root, genres, {g: {"title": sources[g].get("title", g), "group": sources[g]["group"]}
                                        for g in genres}, audio=False)
    tok = make_tokenizer("event")
    web_models = []
    for k, genre in enumerate(genres):
        torch.manual_seed(k)
        cfg = ModelConfig(vocab_size=tok.size, dropout=0.0)
        path = results / "checkpoints" / f"{genre}.pt"
        path.parent.mkdir(parents=True, exist_ok=True)
        save_checkpoint({"model_state": MusicTransformer(cfg).state_dict(), "model_config": cfg.to_dict(),
                         "vocab": tok.names, "train_config": defaults("train"),  # PyTorch scores in its precision
                         "card": {"genre": genre, "tempo": sources[genre]["tempo"], "drums": genre == "rap"}}, path)
        web_models.append(str(results / "web" / "models" / f"{genre}.js"))
        export_web_model(checkpoint_path=path, out_path=web_models[-1], genre=genre, title=genre, tokenizer="event",
                         tempo_bpm=sources[genre]["tempo"], drums=genre == "rap")
    build_gallery(out_path=results / "index.html", genres=genres, sources=sources,
                  summary_path=str(results / "summary.tsv"), pianorolls=files["pianorolls"], curves=files["curves"],
                  samples=files["samples"], comparison=str(results / "comparison.png"),
                  training_curves=str(results / "training_curves.png"), web_models=web_models,
                  web_assets=results / "web" / "page", sample_settings={g: defaults("sample") for g in genres})
    return results


def metal_tokens(seconds: float = METAL_SECONDS) -> int:
    """Tokens that ``seconds`` of the metal corpus take (event tokens, at metal's tempo)."""
    tok = make_tokenizer("event")
    pieces = generate_pieces("metal", 40, 0)
    tokens = sum(len(tok.encode(p.notes)) for p in pieces)
    steps = sum(max(n.end for n in p.notes) for p in pieces)
    tempo = yaml.safe_load((REPO / "config.yaml").read_text())["sources"]["metal"]["tempo"]
    return round(tokens / steps * seconds_to_steps(seconds, tempo))


def check_greedy(page, results: Path, genres: list[str], seconds: float = 10) -> None:
    """Greedy decoding (top_k=1) in the page against ``midi-genres generate --top-k 1`` for every genre of the run:
    the same tokens, or the first that differs and PyTorch's gap between its two likeliest tokens there (a tie
    below 1e-4)."""
    import torch

    from midi_genres.model.sample import ContextWindow

    d = defaults("sample")
    max_tokens = 1 + max(d["max_tokens"], math.ceil(d["max_tokens"] * seconds / d["seconds"]))
    for genre in genres:
        model = api.load_model(genre, results)
        expected = model.generate(seconds=seconds, top_k=1).tokens
        page.evaluate("""genre => new Promise(resolve => { if (MG.registered[genre]) return resolve();
            const s = document.createElement('script'); s.src = `web/models/${genre}.js`; s.onload = resolve;
            document.head.appendChild(s); })""", genre)
        got = page.evaluate("""async ([genre, maxSteps, maxTokens]) => MG.generate(MG.model(genre),
            {maxSteps, temperature: 1, topK: 1, seed: 0, maxTokens})""",
                            [genre, seconds_to_steps(seconds, model.tempo), max_tokens])
        if got == expected:
            print(f"{genre}: greedy {seconds:g} s equal ({len(got)} tokens)")
            continue
        k = next(i for i, (a, b) in enumerate(zip(got, expected)) if a != b)
        window = ContextWindow(model.model)
        for n in range(1, k):
            window.next_logits(expected[:n])
        top2 = torch.topk(window.next_logits(expected[:k]), 2).values
        gap = float(top2[0] - top2[1])
        print(f"{genre}: greedy differs at token {k} of {len(expected)} (page {got[k]}, PyTorch {expected[k]}); "
              f"PyTorch's two likeliest differ by {gap:.2e}{': a tie' if gap < 1e-4 else ''}")


def main() -> None:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", help="a finished run's results folder (default: a stand-in of random models)")
    parser.add_argument("--check-greedy", action="store_true",
                        help="also compare greedy decoding (10 s) with the package's for every genre of the run")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="web_bench."))
    results = Path(args.results) if args.results else stand_in_site(tmp)
    song = tmp / "song.mid"
    write_song(song, seed=3)
    notes = read_midi(song)
    genres = list(api.run_checkpoints(results))
    size = sum(p.stat().st_size for p in (results / "web").rglob("*") if p.is_file())
    size += (results / "index.html").stat().st_size
    print(f"CPU: {cpu_name()}; {'run ' + str(results) if args.results else 'stand-in of random models'} "
          f"({len(genres)} models); page + weights {size / 1e6:.1f} MB; file: {len(notes)} notes, "
          f"{max(n.end for n in notes) / 4 / 2:.0f} s at 120 bpm")
    url = (results / "index.html").resolve().as_uri()
    fast = "metal" if "metal" in genres else genres[0]  # metal: the most tokens per second of music
    rows = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        started = time.perf_counter()
        page.goto(url, wait_until="load")
        page.wait_for_function("document.getElementById('play-status').textContent.length > 0")
        rows.append(("page load (file://, until the play section is ready)", time.perf_counter() - started, 2))
        started = time.perf_counter()
        page.evaluate("""genre => new Promise(resolve => { const s = document.createElement('script');
            s.src = `web/models/${genre}.js`; s.onload = () => { MG.model(genre); resolve(); };
            document.head.appendChild(s); })""", fast)
        rows.append((f"load {fast}'s weights", time.perf_counter() - started, None))
        if args.results:
            page.goto(url + f"#generate={fast}&seconds={METAL_SECONDS}", wait_until="load")
            page.wait_for_selector("#play-status.done", timeout=120_000)
            text = page.inner_text("#play-status")
            tokens, seconds = re.search(r"(\d+) tokens in ([\d.]+) s", text).groups()
            label = f"30 s of {fast}: {tokens} tokens (the page's defaults)"
            rows.append((label, float(seconds), 2))
        else:
            n = metal_tokens()
            seconds = page.evaluate("""async n => { const t0 = performance.now();
                await MG.generate(MG.model('metal'), {maxSteps: Infinity, temperature: 0.9, topK: 40, seed: 0,
                                                      maxTokens: n + 1});
                return (performance.now() - t0) / 1000; }""", n)
            rows.append((f"30 s of metal: {n} tokens (the corpus's rate), weights loaded", seconds, 2))
        page.goto(url, wait_until="load")
        page.set_input_files("#midi-file", str(song))
        page.wait_for_selector("#play-status.done")
        for label in ("score the file under every model (weights loading included)", "the same again (loaded)"):
            seen, longest = set(), 0.0
            started = time.perf_counter()
            page.click("#rank-button")
            while True:  # each question needs the page's main thread: how long it takes says how responsive it is
                asked = time.perf_counter()
                text = page.inner_text("#play-status")
                longest = max(longest, time.perf_counter() - asked)
                if page.query_selector("#play-status.done"):
                    break
                seen.add(text)
                time.sleep(0.2)
            took = time.perf_counter() - started
            rows.append((f"{label}; {len(seen)} progress lines seen, the page answered within "
                         f"{longest * 1000:.0f} ms", took, 20))
        if args.check_greedy:
            check_greedy(page, results, genres)
        browser.close()
    for genre in genres:
        api.load_model(genre, results)
    started = time.perf_counter()
    api.score(song, results)
    torch_seconds = time.perf_counter() - started
    rows.append(("PyTorch: api.score of the file, models loaded (1 thread)", torch_seconds, None))
    print("| what | seconds | target | ratio to PyTorch |")
    print("|---|---:|---:|---:|")
    for label, seconds, target in rows:
        ratio = f"{seconds / torch_seconds:.1f}x" if label.startswith("score") or "again" in label else ""
        print(f"| {label} | {seconds:.2f} | {'< ' + str(target) if target else ''} | {ratio} |")


if __name__ == "__main__":
    main()
