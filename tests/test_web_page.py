"""The gallery page plays the models in a real browser (headless Chromium, from file://): its forward pass, sampler,
tokenizers, MIDI reading and scoring against the package's, and the generate / drop / continue / rank / download
flow, on a tiny run of three few-step-trained models (two event models, one a drum genre, and a REMI model)."""

import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from browser import CHROMIUM, CHROMIUM_ARGS, require_browser
from test_gallery import fake_results

from midi_genres import api
from midi_genres.core.midi import midi_bytes, read_midi, write_midi
from midi_genres.core.notes import Note, seconds_to_steps
from midi_genres.model.checkpoint import load_checkpoint
from midi_genres.model.export import export_web_model
from midi_genres.model.sample import ContextWindow
from midi_genres.model.train import train_genre
from midi_genres.present.gallery import build_gallery
from midi_genres.sources.synth import generate_pieces
from midi_genres.tokens import make_tokenizer

MODEL = {"max_len": 48, "d_model": 32, "n_heads": 2, "n_layers": 2, "d_ff": 64, "dropout": 0.0}
TRAIN = {"steps": 200, "batch_size": 8, "eval_interval": 200, "eval_windows": 2, "warmup_steps": 2, "lr": 3e-3,
         "device": "cpu"}  # enough that greedy decoding makes notes
SAMPLE = {"seconds": 6, "temperature": 0.9, "top_k": 40, "seed": 0, "max_tokens": 8192}
# genre -> (synthetic generator of its pieces, tokenizer, tempo, drums)
GENRES = {"pop": ("pop", "event", 110, False), "rap": ("rap", "event", 90, True), "rock": ("rock", "remi", 120, False)}
SOURCES = {g: {"title": g.title(), "group": "Modern popular", "tempo": facts[2]} for g, facts in GENRES.items()}

pytestmark = pytest.mark.usefixtures("browser_available")


@pytest.fixture(scope="module")
def browser_available():
    require_browser()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A results folder with three trained models, their exported weights and the gallery page."""
    root = tmp_path_factory.mktemp("site")
    results = root / "results"
    files = fake_results(root, list(GENRES), SOURCES, audio=False)
    web_models = []
    for genre, (generator, tokenizer, tempo, drums) in GENRES.items():
        tok = make_tokenizer(tokenizer)
        pieces = generate_pieces(generator, 12, 0)
        np.save(root / f"{genre}.npy", np.concatenate([tok.encode(p.notes) for p in pieces[:10]]))
        np.save(root / f"{genre}.val.npy", np.concatenate([tok.encode(p.notes) for p in pieces[10:]]))
        write_midi(root / f"{genre}.held_out.mid", pieces[11].notes, tempo, drums=drums)
        card = {"genre": genre, "title": SOURCES[genre]["title"], "tempo": tempo, "drums": drums}
        train_genre(train_path=str(root / f"{genre}.npy"), val_path=str(root / f"{genre}.val.npy"),
                    model_params=MODEL, train_params=TRAIN, tokenizer=tokenizer, card=card,
                    checkpoint_path=str(results / "checkpoints" / f"{genre}.pt"),
                    history_path=str(root / f"{genre}.history.tsv"))
        web_models.append(str(results / "web" / "models" / f"{genre}.js"))
        export_web_model(checkpoint_path=results / "checkpoints" / f"{genre}.pt", out_path=web_models[-1],
                         genre=genre, title=SOURCES[genre]["title"], tokenizer=tokenizer, tempo_bpm=tempo,
                         drums=drums)
    build_gallery(out_path=results / "index.html", genres=list(GENRES), sources=SOURCES,
                  summary_path=str(results / "summary.tsv"), pianorolls=files["pianorolls"], curves=files["curves"],
                  samples=files["samples"], comparison=str(results / "comparison.png"),
                  training_curves=str(results / "training_curves.png"), web_models=web_models,
                  web_assets=results / "web" / "page", sample_settings={g: SAMPLE for g in GENRES})
    return root


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def open_page(browser, site, fragment="", width=1300):
    """The gallery page from file://, with page errors collected in ``page.errors``."""
    page = browser.new_page(viewport={"width": width, "height": 900}, accept_downloads=True)
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
    page.goto((site / "results" / "index.html").resolve().as_uri() + fragment, wait_until="load")
    return page


LOAD_WEIGHTS = """genre => new Promise((resolve, reject) => {
    const s = document.createElement('script'); s.src = `web/models/${genre}.js`;
    s.onload = () => resolve(MG.model(genre).meta.genre); s.onerror = reject; document.head.appendChild(s); })"""


def model_of(site, genre):
    model, checkpoint = load_checkpoint(site / "results" / "checkpoints" / f"{genre}.pt")
    return model, make_tokenizer(GENRES[genre][1])


# ---------------------------------------------------------------------------------------------------------------
# Equal to Python


@pytest.mark.parametrize("genre", list(GENRES))
def test_next_token_logprobs_equal_pytorch_in_fp32_within_1e_4(browser, site, genre):
    """For fixed prefixes (a held-out piece's tokens, a random sequence, both past the context through the sliding
    window), the page's log-probabilities are PyTorch's."""
    model, tok = model_of(site, genre)
    piece = [int(t) for t in tok.encode(read_midi(site / f"{genre}.held_out.mid"))]
    rng = np.random.default_rng(0)
    prefixes = [piece[:n] for n in (1, 7, 30, 48, 49, 100)] + [[1] + rng.integers(3, tok.size, 90).tolist()]
    expected = []
    for prefix in prefixes:
        window = ContextWindow(model)
        for n in range(1, len(prefix)):  # the window moves as in sampling
            window.next_logits(prefix[:n])
        expected.append(torch.log_softmax(window.next_logits(prefix), -1).tolist())
    page = open_page(browser, site)
    page.evaluate(LOAD_WEIGHTS, genre)
    got = page.evaluate("""([genre, prefixes]) => prefixes.map(prefix => {
        const window = new MG.ContextWindow(MG.model(genre));
        for (let n = 1; n < prefix.length; n++) window.nextLogits(prefix.slice(0, n));
        const l = Array.from(window.nextLogits(prefix)), max = Math.max(...l);
        const lse = Math.log(l.reduce((s, v) => s + Math.exp(v - max), 0)) + max;
        return l.map(v => v - lse); })""", [genre, prefixes])
    assert np.abs(np.array(got) - np.array(expected)).max() < 1e-4
    assert page.errors == []


def test_without_webassembly_simd_the_plain_javascript_path_gives_the_same_logits(browser, site):
    """Browsers without WebAssembly SIMD run the same layers in plain JavaScript."""
    page = open_page(browser, site)
    page.evaluate(LOAD_WEIGHTS, "rock")
    fast, plain, kernels = page.evaluate("""() => {
        const ids = Array.from({length: 48}, (_, i) => 3 + (i * 37) % 170), fast = MG.model('rock');
        MG.noWasm = true;
        const plain = new MG.Transformer(MG.registered['rock']);
        const run = model => Array.from(model.forward(ids, model.newCache(), 48));
        return [run(fast), run(plain), [fast.kernels !== null, plain.kernels === null]]; }""")
    assert kernels == [True, True] and np.abs(np.array(fast) - np.array(plain)).max() < 1e-4


def page_notes(page):
    page.wait_for_selector("#generated-notes", state="attached", timeout=60_000)
    return [Note(n["pitch"], n["start"], n["end"]) for n in json.loads(page.inner_text("#generated-notes"))]


@pytest.mark.parametrize("genre", list(GENRES))
def test_greedy_generation_gives_the_packages_notes(browser, site, genre):
    """top_k=1 through the URL fragment: the notes `midi-genres generate --top-k 1` writes, over 10 s."""
    model = api.load_model(genre, site / "results")
    expected = model.generate(seconds=10, top_k=1, seed=3)
    page = open_page(browser, site, f"#generate={genre}&seconds=10&seed=3&top_k=1")
    assert page_notes(page) == expected.notes
    assert expected.notes and page.errors == []
    tokens = page.evaluate("""([genre, maxSteps]) => MG.generate(MG.model(genre),
        {maxSteps, temperature: 1, topK: 1, seed: 3, maxTokens: 8193})""", [genre, seconds_to_steps(10, model.tempo)])
    assert tokens == expected.tokens  # token for token


def test_the_dump_dom_command_returns_the_generated_notes(site):
    """The exact headless command of docs/listen.md, from file://, with the sample defaults for what is left out."""
    url = (site / "results" / "index.html").resolve().as_uri() + "#generate=pop&seconds=8&seed=1&top_k=1"
    done = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--virtual-time-budget=60000", "--dump-dom", url],
                          capture_output=True, text=True, timeout=120)
    found = re.search(r'<script type="application/json" id="generated-notes">(.*?)</script>', done.stdout)
    assert found, done.stdout[-2000:] + done.stderr[-2000:]
    expected = api.load_model("pop", site / "results").generate(seconds=8, top_k=1, seed=1).notes
    assert [Note(n["pitch"], n["start"], n["end"]) for n in json.loads(found.group(1))] == expected


def test_the_same_page_served_by_a_static_server_works_unchanged(browser, site):
    """`python -m http.server` over results/: the page generates as from file://."""
    import functools
    import http.server
    import threading

    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site / "results"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        page = browser.new_page()
        page.goto(f"http://127.0.0.1:{server.server_port}/index.html#generate=rock&seconds=5&seed=2&top_k=1")
        expected = api.load_model("rock", site / "results").generate(seconds=5, top_k=1, seed=2).notes
        assert page_notes(page) == expected
    finally:
        server.shutdown()
        server.server_close()


def test_the_seed_reproduces_the_pages_own_sample(browser, site):
    first = page_notes(open_page(browser, site, "#generate=rap&seconds=4&seed=5"))
    again = page_notes(open_page(browser, site, "#generate=rap&seconds=4&seed=5"))
    other = page_notes(open_page(browser, site, "#generate=rap&seconds=4&seed=6"))
    assert first == again and first != other and first


def test_midi_reading_and_writing_equal_the_packages(browser, site, tmp_path):
    """read_midi's notes of every file here (pretty_midi's pairing of re-struck notes, drums, several tracks, other
    resolutions), and write_midi's bytes, byte for byte."""
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(resolution=384, initial_tempo=97)
    for program, is_drum in ((0, False), (33, False), (0, True)):
        inst = pretty_midi.Instrument(program, is_drum=is_drum)
        for k in range(40):
            start = k * 0.13 + program * 0.01
            inst.notes.append(pretty_midi.Note(70, 40 + (k * 7) % 30, start, start + 0.4))  # overlapping re-strikes
        pm.instruments.append(inst)
    pm.write(str(tmp_path / "several.mid"))
    files = [tmp_path / "several.mid", *(site / f"{g}.held_out.mid" for g in GENRES)]
    page = open_page(browser, site)
    for path in files:
        got = page.evaluate("bytes => MG.readMidi(Uint8Array.from(bytes))", list(path.read_bytes()))
        assert [Note(n["pitch"], n["start"], n["end"]) for n in got] == read_midi(path), path.name
    notes = read_midi(tmp_path / "several.mid")
    for tempo, drums in ((97.0, False), (140.0, True), (61.3, False)):
        written = page.evaluate("([notes, tempo, drums]) => Array.from(MG.midiBytes(notes, tempo, drums))",
                                [[n._asdict() for n in notes], tempo, drums])
        assert bytes(written) == midi_bytes(notes, tempo, drums)


def test_the_page_reads_the_benchmarks_songs_and_awkward_files_as_read_midi(browser, site, tmp_path):
    """Multi-track songs of other resolutions, tempo maps and drums (the MIDI import benchmark's), running status,
    a cut file: the page's notes are read_midi's, and what read_midi refuses the page refuses."""
    import random
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from make_midi_folder import _running_status_bytes, write_song

    from midi_genres.core.midi import MidiReadError

    files = []
    for seed in range(20):
        files.append(tmp_path / f"song{seed}.mid")
        write_song(files[-1], seed)
    (tmp_path / "running.mid").write_bytes(_running_status_bytes(random.Random(1)))
    (tmp_path / "cut.mid").write_bytes(files[0].read_bytes()[:-7])
    files += [tmp_path / "running.mid", tmp_path / "cut.mid"]
    page = open_page(browser, site)
    for path in files:
        got = page.evaluate("""bytes => { try { return MG.readMidi(Uint8Array.from(bytes)); }
            catch (err) { if (err instanceof MG.MidiError) return 'refused: ' + err.message; throw err; } }""",
                            list(path.read_bytes()))
        try:
            expected = read_midi(path)
        except MidiReadError:
            assert isinstance(got, str) and got.startswith("refused"), path.name
            continue
        assert [Note(n["pitch"], n["start"], n["end"]) for n in got] == expected, path.name


@pytest.mark.parametrize("genre", list(GENRES))
def test_tokenizers_encode_and_decode_as_the_package(browser, site, genre):
    tok = make_tokenizer(GENRES[genre][1])
    notes = read_midi(site / f"{genre}.held_out.mid")
    rng = np.random.default_rng(1)
    junk = [1] + rng.integers(0, tok.size, 400).tolist()  # grammar errors of every kind
    page = open_page(browser, site)
    encoded, decoded, report = page.evaluate("""([name, notes, junk]) => {
        const t = MG.tokenizers[name], d = t.decode(junk);
        return [t.encode(notes), d.notes, d.report]; }""", [tok.name, [n._asdict() for n in notes], junk])
    assert encoded == tok.encode(notes).tolist()
    notes_py, report_py = tok.decode_with_report(junk)
    assert [Note(**n) for n in decoded] == notes_py and report == report_py.__dict__


# ---------------------------------------------------------------------------------------------------------------
# The flow a visitor goes through, with screenshots


def drop(page, path):
    page.set_input_files("#midi-file", str(path))


def wait_done(page, timeout=60_000):
    """The status line once the work is over: done or an error."""
    page.wait_for_selector("#play-status.done, #play-status.error", timeout=timeout)
    return page.inner_text("#play-status")


def test_scores_in_the_page_equal_midi_genres_score(browser, site, tmp_path):
    """A held-out piece and a sample scored under every model: the CLI's bits per note and parts, its ranking."""
    sample = tmp_path / "sample.mid"
    api.load_model("rap", site / "results").generate(seconds=6, seed=2).write_midi(sample)
    for path in (site / "pop.held_out.mid", sample):
        expected = api.score(path, site / "results")
        page = open_page(browser, site)
        drop(page, path)
        wait_done(page)
        page.click("#rank-button")
        assert "sounds most like" in wait_done(page)
        rows = json.loads(page.inner_text("#scores"))
        assert [r["genre"] for r in rows] == [r["genre"] for r in expected]
        for got, want in zip(rows, expected):
            for column in ("bits_per_note", "pitch_bits_per_note", "timing_bits_per_note", "duration_bits_per_note",
                           "structure_bits_per_note", "bits_per_token"):
                assert abs(got[column] - want[column]) <= 0.01, (path.name, got["genre"], column)
            assert got["notes"] == want["notes"] and got["tokens"] == want["tokens"]
        assert page.locator("#rank-table tbody tr").count() == len(GENRES) and page.errors == []


def test_drop_continue_score_and_download_a_file(browser, site, tmp_path):
    """A visitor's way through the page, looked at in screenshots: generate a drum and a pitched genre, drop a file,
    continue its first bars (the prompt's notes kept exactly, as `midi-genres generate --prompt`), rank the genres,
    download the MIDI file and read it back with the package."""
    shots = tmp_path / "screenshots"
    page = open_page(browser, site)
    page.screenshot(path=str(shots / "0-loaded.png"), full_page=False)
    for genre in ("rap", "pop"):
        page.select_option("#g-genre", genre)
        page.fill("#g-seconds", "4")
        page.click("#generate-button")
        assert "generated" in wait_done(page)
        assert page_notes(page)
        page.locator("#play").screenshot(path=str(shots / f"1-generated-{genre}.png"))
        # WebAudio: the drum kit (rap) and pitched voices (pop) play when the piece is made (the click's gesture)
        assert page.inner_text("#play-button") == "Stop playing"
        page.wait_for_timeout(300)
        page.click("#play-button")
        assert page.inner_text("#play-button") == "Play"
        page.click("#play-button")
        assert page.inner_text("#play-button") == "Stop playing"
    piece = site / "pop.held_out.mid"
    page.evaluate("""bytes => { const data = new DataTransfer();
        data.items.add(new File([Uint8Array.from(bytes)], 'pop.held_out.mid', {type: 'audio/midi'}));
        document.getElementById('drop-zone').dispatchEvent(new DragEvent('drop', {dataTransfer: data})); }""",
                  list(piece.read_bytes()))  # dropped on the page, as a visitor drags it there
    assert "read" in wait_done(page)
    page.select_option("#c-genre", "rap")
    page.fill("#c-bars", "2")
    page.fill("#c-seconds", "3")
    page.click("#continue-button")
    assert "continued" in wait_done(page)
    notes = page_notes(page)
    expected = api.load_model("rap", site / "results").generate(prompt=piece, prompt_bars=2, seconds=3)
    assert expected.prompt_notes and set(expected.prompt_notes) <= set(notes)  # the prompt's notes, kept exactly
    assert all(n.start >= expected.prompt_end for n in set(notes) - set(expected.prompt_notes))
    page.locator("#play").screenshot(path=str(shots / "2-continued.png"))
    with page.expect_download() as download:
        page.click("#download-link")
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name == "pop.held_out-rap-seed0.mid" and read_midi(saved) == notes
    page.click("#rank-button")
    assert "sounds most like" in wait_done(page)
    page.locator("#play").screenshot(path=str(shots / "3-ranked.png"))
    assert page.errors == []
    for shot in shots.iterdir():
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("content, message", [
    (b"not a midi file at all", "not a MIDI file"),
    (b"", "the file is empty"),
    (midi_bytes([], 120), "no notes in it"),
])
def test_clear_messages_for_files_the_page_cannot_use(browser, site, tmp_path, content, message):
    path = tmp_path / "bad.mid"
    path.write_bytes(content)
    page = open_page(browser, site)
    drop(page, path)
    assert wait_done(page).startswith(f"bad.mid: {message}")
    assert page.locator("#play-status.error").count() == 1 and page.errors == []


def test_a_prompt_without_notes_in_its_first_bars_says_so(browser, site, tmp_path):
    path = tmp_path / "late.mid"
    write_midi(path, [Note(60, 80, 84), Note(64, 84, 88)], 120)
    page = open_page(browser, site)
    drop(page, path)
    wait_done(page)
    page.fill("#c-bars", "3")
    page.click("#continue-button")
    assert wait_done(page) == ("late.mid: no notes in its first 3 bar(s) to continue (its first note is in bar 6): "
                               "take more bars")


def test_bad_settings_and_an_unknown_genre_in_the_url_are_named(browser, site):
    page = open_page(browser, site, "#generate=polka")
    assert "unknown genre \"polka\"" in wait_done(page) and "pop, rap, rock" in page.inner_text("#play-status")
    page.fill("#g-temperature", "0")
    page.click("#generate-button")
    assert wait_done(page) == 'temperature must be a number above 0, got "0"'
