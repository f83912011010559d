# Genre lists, per-genre lookups and wildcard constraints. Config reaches jobs only through these helpers
# and the rules' params.

import os
import re
import sys

from midi_genres.present.audio import missing_tools
from midi_genres.tokens.base import genre_token, genre_tokens
from midi_genres.sources.lakh import check_lakh_source, match_scores_path
from midi_genres.sources.midi_dir import DEFAULT_MIN_NOTES, find_midi_files, track_selection
from midi_genres.sources.music21_corpus import shared_files
from midi_genres.sources.synth import DRUM_GENERATORS


def _check_genres():
    unknown = [g for g in config["genres"] if g not in config["sources"]]
    if unknown:
        raise ValueError(
            f"config 'genres' names {unknown} with no entry under 'sources' "
            f"(defined: {sorted(config['sources'])})"
        )
    stray = [g for g in config.get("overrides", {}) if g not in config["sources"]]
    if stray:
        raise ValueError(f"config 'overrides' names unknown genres {stray}")


_check_genres()

GENRES = list(config["genres"])
RESULTS = os.path.normpath(config["results_dir"])
TOKENIZER = config["tokenizer"]
if RESULTS.split(os.sep)[0] in ("data", "logs", ".snakemake"):
    raise ValueError(f"config 'results_dir' {RESULTS!r} must not lie in data/, logs/ or .snakemake/")


def compared_runs():
    """The results folders of the finished runs this one is compared with (config compare_with)."""
    return [os.path.normpath(d) for d in config["compare_with"]]


def R(path):
    """``path`` inside the results folder (config results_dir, default results/)."""
    return f"{RESULTS}/{path}"


def L(path):
    """``path`` inside the logs of the jobs that write to the results folder: logs/ for the default results/,
    logs/<results_dir>/ for another (its path as one folder name), so runs side by side keep their own logs and job benchmarks (the jobs that
    make data/, shared by such runs, log to logs/)."""
    if RESULTS == "results":
        return f"logs/{path}"
    return f"logs/{re.sub(r'[^A-Za-z0-9.-]+', '_', RESULTS).strip('._')}/{path}"  # runs/equal -> runs_equal


def _caps():
    """corpus.train_tokens as (the run's own cap, the other caps of a learning-curve sweep): the whole corpus (None)
    when it is in the list, else the largest cap, is the run's; the others, ascending, are the sweep's."""
    value = config["corpus"]["train_tokens"]
    caps = value if isinstance(value, list) else [value]
    main = None if None in caps else max(caps)
    return main, sorted(c for c in caps if c is not None and c != main)


MAIN_CAP, SWEEP_CAPS = _caps()


def split_folder():
    """The token streams' sub-folder of a split other than one fold without a dev set (split.folds, the dev
    fraction): "folds5.dev0.1", "folds5", "dev0.1"; "" for the default split."""
    parts = ([f"folds{FOLDS}"] if FOLDS > 1 else []) + ([f"dev{DEV_FRACTION:g}"] if DEV else [])
    return ".".join(parts)


def token_folder(cap=MAIN_CAP):
    """data/tokens/ for event tokens of whole corpora with the default split; data/tokens/<tokenizer>/ for another
    tokenizer, .../<split_folder()>/ for another split and .../cap<N>/ under a corpus.train_tokens cap, so runs side
    by side keep their own token streams."""
    parts = ["data", "tokens"] + ([TOKENIZER] if TOKENIZER != "event" else []) + [split_folder()]
    return os.path.join(*[p for p in parts if p], *([f"cap{cap}"] if cap is not None else []))


def T(path):
    """``path`` inside the token folder of this run (``token_folder``)."""
    return f"{token_folder()}/{path}"


def T_at_cap(path):
    """``path`` inside the token folder of a sweep's cap (the ``{cap}`` wildcard): data/tokens[/<tokenizer>]/cap{cap}/."""
    return f"{token_folder(None)}/cap{{cap}}/{path}"


def R_at_cap(path):
    """``path`` inside the results of a sweep's cap (the ``{cap}`` wildcard): <results_dir>/cap{cap}/."""
    return R(f"cap{{cap}}/{path}")


def genres_of_kind(kind):
    """Configured genres whose source is of this kind."""
    return [g for g in GENRES if config["sources"][g]["kind"] == kind]


def one_of(names):
    """A wildcard regex matching exactly these names (and nothing when the list is empty)."""
    return "|".join(re.escape(n) for n in names) or "(?!)"


def _split_settings():
    """split.folds, the dev set's share (split.dev_fraction, null resolved by train.select) and train.select, checked
    together before any job."""
    select = config["train"]["select"]
    dev = config["split"]["dev_fraction"]
    dev = (0.1 if select == "best_dev" else 0.0) if dev is None else dev
    if select == "best_dev" and dev == 0:
        raise ValueError("config train.select is best_dev but split.dev_fraction is 0: best_dev needs a dev set "
                         "(split.dev_fraction above 0, or null for 0.1)")
    overriding = [g for g, o in config.get("overrides", {}).items() if "select" in o.get("train", {})]
    if overriding:
        raise ValueError(f"config overrides {overriding} set train.select, which holds for the whole run")
    return config["split"]["folds"], dev, select


FOLDS, DEV_FRACTION, SELECT = _split_settings()
DEV = DEV_FRACTION > 0
SELECTED = ".best_dev" if SELECT == "best_dev" else ""  # file-name suffix of the chosen checkpoint


def folds():
    """File-name suffixes of the folds (split.folds): "" for fold 1 (the files of a one-fold run), then ".fold2",
    ".fold3", ..."""
    return [""] + [f".fold{k}" for k in range(2, FOLDS + 1)]


def checkpoint_variants():
    """File-name suffixes of the checkpoints every training keeps: "" (the last) and, with a dev set, ".best_dev"."""
    return ["", ".best_dev"] if DEV else [""]


def selected_checkpoint(stem):
    """The chosen checkpoint (train.select) of a model, ``stem`` being e.g. "{genre}" or "{genre}{rep}"."""
    return R(f"checkpoints/{stem}{SELECTED}.pt")


wildcard_constraints:
    genre=one_of(GENRES),
    rep=r"(\.seed[1-9][0-9]*)?",
    fold=r"(\.fold[2-9]|\.fold[1-9][0-9]+)?",
    ckpt=r"(\.best_dev)?",
    cap=one_of([str(cap) for cap in SWEEP_CAPS]),  # the run's own cap has its own rules (tokenize, train, ...)


def replicates(genre):
    """File-name suffixes of a genre's independently seeded models (config train.seeds): "" for the first (seed
    train.seed, the files of a one-seed run), then ".seed1", ".seed2", ... (seeds train.seed + 1, + 2, ...)."""
    return [""] + [f".seed{k}" for k in range(1, section("train", genre)["seeds"])]


def each_model(pattern, genres=None):
    """``pattern`` (with ``{genre}`` and ``{rep}``) for every genre and every one of its seeded models (fold 1)."""
    return [pattern.format(genre=g, rep=r) for g in genres or GENRES for r in replicates(g)]


def each_fold_model(pattern, genres=None, ckpt=SELECTED):
    """``pattern`` (with ``{genre}``, ``{fold}``, ``{rep}`` and ``{ckpt}``) for every genre, fold and seeded model,
    at the chosen checkpoint unless ``ckpt`` says otherwise."""
    return [pattern.format(genre=g, fold=f, rep=r, ckpt=ckpt) for g in genres or GENRES for f in folds()
            for r in replicates(g)]


def each_fold(pattern, genres=None):
    """``pattern`` (with ``{genre}`` and ``{fold}``) for every genre and fold."""
    return [pattern.format(genre=g, fold=f) for g in genres or GENRES for f in folds()]


def curve_points(genre):
    """The points of a genre's learning curve (corpus.train_tokens as a list): per cap, ascending, then the run's
    own, its cap (None: the whole corpus) and the tables of every fold (and seed): token statistics, the chosen
    checkpoints' per-piece bits on the genre's held-out pieces and the two floors'. Empty without a sweep."""
    if not SWEEP_CAPS:
        return []
    fold_models = [f + r for f in folds() for r in replicates(genre)]
    points = [{"cap": cap,
               "stats": [T_at_cap(f"{genre}{f}.stats.json").format(cap=cap) for f in folds()],
               "model": [R_at_cap(f"eval/{genre}{m}{SELECTED}.pieces.tsv").format(cap=cap) for m in fold_models],
               "ngram": [R_at_cap(f"ngram/{genre}{f}.pieces.tsv").format(cap=cap) for f in folds()],
               "ppm": [R_at_cap(f"ppm/{genre}{f}.pieces.tsv").format(cap=cap) for f in folds()]}
              for cap in SWEEP_CAPS]
    return points + [{"cap": MAIN_CAP,
                      "stats": [T(f"{genre}{f}.stats.json") for f in folds()],
                      "model": [R(f"eval/{genre}{m}{SELECTED}.pieces.tsv") for m in fold_models],
                      "ngram": [R(f"ngram/{genre}{f}.pieces.tsv") for f in folds()],
                      "ppm": [R(f"ppm/{genre}{f}.pieces.tsv") for f in folds()]}]


def train_settings(settings):
    """A train section as the training takes it: without the workflow's own keys (seeds, select)."""
    return {k: v for k, v in settings.items() if k not in ("seeds", "select")}


def train_section(genre, rep):
    """The training settings of one seeded model: the genre's train section, its seed moved on by the replicate."""
    settings = section("train", genre)
    replicate = int(rep[len(".seed") :] or 0)
    return {**train_settings(settings), "seed": settings["seed"] + replicate}


def model_card_facts(genre):
    """What the workflow knows of a genre's model for its card (``midi-genres info``, the API): name, title,
    corpus, tempo and whether it plays as drums."""
    src = source(genre)
    where = src.get("collection") or src.get("generator") or src.get("path") or src.get("label")
    return {"genre": genre, "title": title(genre), "source": f"{src['kind']}:{where}",
            "tempo": src["tempo"], "drums": is_drums(genre)}


def source(genre):
    """The genre's source definition."""
    return config["sources"][genre]


def max_pieces(genre):
    """Piece cap for a genre: its own max_pieces, else corpus.max_pieces."""
    return source(genre).get("max_pieces", config["corpus"]["max_pieces"])


def midi_dir_files(genre):
    """The MIDI files in a midi_dir genre's folder: its import rule's input, so an added, removed or edited
    file reruns the genre. A missing folder stops the run here, naming it."""
    try:
        return [str(p) for p in find_midi_files(source(genre)["path"])]
    except FileNotFoundError as exc:
        raise ValueError(f"genre {genre!r} (kind: midi_dir): {exc}") from None


def _check_midi_dirs():
    for genre in genres_of_kind("midi_dir"):
        midi_dir_files(genre)


_check_midi_dirs()


def tracks_of(genre):
    """Which tracks of its songs a midi_dir or lakh genre takes: all, pitched or drums (keep_drums an alias)."""
    return track_selection(source(genre), f"genre {genre!r} (kind: {source(genre)['kind']})")


def lakh_match_scores(genre):
    """A lakh genre's match scores file: its match_scores, else match_scores.json beside its lmd folder."""
    return str(match_scores_path(source(genre)))


def _check_lakh_sources():
    """Stop the run before any job where a lakh genre's folder, match scores or label file is missing or of
    another shape, or no track has its label; and where tracks and keep_drums disagree."""
    for genre in genres_of_kind("midi_dir") + genres_of_kind("lakh"):
        tracks_of(genre)
    for genre in genres_of_kind("lakh"):
        check_lakh_source(source(genre), f"genre {genre!r} (kind: lakh)")


_check_lakh_sources()


def left_out_of(genre):
    """The files of a music21 genre's collection that another genre of the run takes as its own (essenFolksong's
    han1 and han2 when essenChinese runs too), as paths inside music21's corpus."""
    return shared_files(source(genre)["collection"], [source(g)["collection"] for g in genres_of_kind("music21")])


def crossprompt_pairs():
    """The configured (model, prompt genre) pairs of cross-genre prompting whose two genres are both run."""
    return [(m, p) for m, p in config["crossprompt"]["pairs"] if m in GENRES and p in GENRES]


def crossprompt_title(model, prompt):
    """Title of a cross-genre continuation's piano roll."""
    return f"{title(model)} model continuing {title(prompt)}"


def conditional_train_section():
    """The conditional model's training settings: train.* with the separate models' total budget
    (train.steps x genres, unless conditional.steps says otherwise) and as many evaluations as one of them."""
    steps = config["conditional"]["steps"] or config["train"]["steps"] * len(GENRES)
    evals = max(1, config["train"]["steps"] // config["train"]["eval_interval"])
    settings = train_settings(config["train"])
    return {**settings, "steps": steps, "eval_interval": max(1, steps // evals)}


def conditional_samples():
    """The conditional model's samples, one per genre (none unless conditional.enabled)."""
    return expand(R("conditional/samples/{genre}.mid"), genre=GENRES) if config["conditional"]["enabled"] else []


def learned_outputs():
    """What each model learned, taken apart (rules/analysis.smk): parts, the classifier, the synthetic rules, what
    the window holds and structure above the bar."""
    rules = [R("rules.tsv"), R("rules.png")] if genres_of_kind("synthetic") else []
    return [R("heldout.png"), R("fidelity.tsv"), R("fidelity.png"), *rules, R("window.tsv"), R("structure.tsv"),
            R("structure.png")]


def findings_figures():
    """The figures of the findings shown in the gallery: (path, caption)."""
    figures = [(R("cross_genre.png"), "Each model on every genre's held-out pieces: bits per note, pitch and timing"),
               (R("heldout.png"), "Each model's bits per note by part, against the two floors (n-gram, IDyOM-style)"),
               (R("fidelity.png"), "Does the music pass as its genre? The twelve models as a classifier")]
    if genres_of_kind("synthetic"):
        figures.append((R("rules.png"), "The synthetic generators' rules: their pieces and the models' samples"))
    figures.append((R("structure.png"), "Structure above the bar: how alike bars are by lag, held-out pieces and "
                    "samples, beside the bars the context holds"))
    if SWEEP_CAPS:
        figures.append((R("learning_curves.png"), "Learning curves: held-out bits per note against the training notes "
                        "each model had, beside both floors"))
    return figures


def conditional_outputs():
    """Final outputs of the conditional model (none unless conditional.enabled)."""
    if not config["conditional"]["enabled"]:
        return []
    return expand(R("conditional/pianorolls/{genre}.png"), genre=GENRES) + [
        R("conditional/checkpoint.pt"),
        R("conditional/train.tsv"),
        R("conditional/likelihood.tsv"),
        R("conditional/likelihood.png"),
    ]


def open_end_outputs():
    """Final outputs of the open-ended experiments (cross-genre prompting, the conditional model, run comparison)."""
    pairs = crossprompt_pairs()
    each = [R(f"crossprompt/{m}__from__{p}.{ext}") for m, p in pairs for ext in ("mid", "png", "tsv")]
    crossprompt = each + [R("crossprompt.tsv"), R("crossprompt.png")] if pairs else []
    compare = [R("compare_runs.tsv"), R("compare_runs.png"), R("compare_runs_paired.tsv")] if compared_runs() else []
    return crossprompt + conditional_outputs() + compare


def title(genre):
    """A genre's display title: its source's title, else its name."""
    return source(genre).get("title", genre)


def genre_titles():
    """Every run genre's display title, by genre, in run order."""
    return {g: title(g) for g in GENRES}


def genre_sources():
    """Every run genre's source definition, by genre, in run order."""
    return {g: source(g) for g in GENRES}


def tempo_of(wildcard):
    """A params function: the tempo (bpm) of the genre a rule's wildcard (``genre``, ``model``) names."""
    return lambda wc: source(getattr(wc, wildcard))["tempo"]


def drums_of(wildcard):
    """A params function: whether the genre a rule's wildcard (``genre``, ``model``) names plays as a drum kit."""
    return lambda wc: is_drums(getattr(wc, wildcard))


def drums_by_genre(*wildcards):
    """Whether each genre plays as a drum kit, by genre: every run genre, or (a params function) the genres the
    rule's wildcards name."""
    if not wildcards:
        return {g: is_drums(g) for g in GENRES}
    return lambda wc: {getattr(wc, w): is_drums(getattr(wc, w)) for w in wildcards}


def section(name, genre):
    """A config section (train or sample) with the genre's overrides applied."""
    return {**config[name], **config.get("overrides", {}).get(genre, {}).get(name, {})}


def is_drums(genre):
    """Whether the genre's pieces play as a drum track."""
    src = source(genre)
    if src["kind"] in ("midi_dir", "lakh"):
        return tracks_of(genre) == "drums"
    return src.get("generator") in DRUM_GENERATORS


def audio_settings():
    """How MIDI becomes audio: the audio section without the switches, which do not change a rendering."""
    return {k: v for k, v in config["audio"].items() if k not in ("enabled", "training_pieces")}


def _audio_enabled():
    enabled = config["audio"]["enabled"]
    if enabled != "auto":
        return enabled
    missing = missing_tools(audio_settings())
    if missing:
        print(
            "audio.enabled is auto and audio is off for this run: " + "; ".join(missing)
            + " (audio.enabled: true makes a missing tool an error)",
            file=sys.stderr,
        )
    return not missing


AUDIO = _audio_enabled()


def audio_enabled():
    """Whether samples are rendered to audio: config audio.enabled, where auto means wherever the tools are."""
    return AUDIO


def audio_path(stem):
    """``stem`` with the configured audio format's extension."""
    return f"{stem}.{config['audio']['format']}"


def audio_outputs():
    """Every sample's audio file (none when audio is off)."""
    return expand(audio_path(R("audio/{genre}")), genre=GENRES) if audio_enabled() else []


def training_audio_outputs():
    """Every genre's folder of training-piece audio (none when audio is off or audio.training_pieces is 0)."""
    wanted = audio_enabled() and config["audio"]["training_pieces"] > 0
    return expand(R("audio/training/{genre}"), genre=GENRES) if wanted else []


def web_models():
    """Each genre's model (its first seed) exported for the gallery page to play (rule export_web_model)."""
    return expand(R("web/models/{genre}.js"), genre=GENRES)


def sample_sections():
    """Each genre's sample section (with its overrides): the gallery page's sampling defaults."""
    return {g: section("sample", g) for g in GENRES}


def listen_and_look_outputs():
    """The final outputs of rules/presentation.smk beyond the per-genre products: training curves, audio, the models
    exported for the page and the gallery page."""
    curves = expand(R("curves/{genre}.png"), genre=GENRES) + [R("training_curves.png")]
    return curves + audio_outputs() + training_audio_outputs() + web_models() + [R("index.html")]


def report_labels(figure):
    """Labels of a per-genre item of the Snakemake report: the genre's title and the kind of figure."""
    return lambda wc: {"genre": source(wc.genre).get("title", wc.genre), "figure": figure}


def per_genre_products():
    """Every per-genre file the README presents as a product: targets of ``rule all``, so deleting one rebuilds it
    (Snakemake 9 does not rebuild a missing intermediate)."""
    per_genre = expand(
        [
            "data/midi/{genre}.manifest.tsv",
            T("{genre}.stats.json"),
            T("{genre}.pieces.tsv"),
            R("samples/{genre}.mid"),
            R("pianorolls/{genre}.png"),
            R("ngram/{genre}.tsv"),
            R("ppm/{genre}.tsv"),
            R("fidelity/{genre}.tsv"),
        ],
        genre=GENRES,
    ) + expand(R("rules/{genre}.tsv"), genre=genres_of_kind("synthetic"))
    per_model = [
        R("samples_batch/{genre}{rep}.tsv"),
        R("metrics/{genre}{rep}.tsv"),
        R("memorisation/{genre}{rep}.tsv"),
    ]
    trained = each_fold_model(R("checkpoints/{genre}{fold}{rep}.pt")) + each_fold_model(R("train/{genre}{fold}{rep}.tsv"))
    scored = [path for ckpt in checkpoint_variants() for path in each_fold_model(R("eval/{genre}{fold}{rep}{ckpt}.tsv"), ckpt=ckpt)]
    curves = [R("learning_curves.tsv"), R("learning_curves_fit.tsv"), R("learning_curves.png")] if SWEEP_CAPS else []
    return curves + per_genre + [path for pattern in per_model for path in each_model(pattern)] + trained + scored + each_fold(
        R("ngram/{genre}{fold}.tsv")) + each_fold(R("ppm/{genre}{fold}.tsv")) + (
        [R("checkpoint_choice.tsv")] if DEV else [])


def all_outputs():
    """Every final output of the experiment."""
    return listen_and_look_outputs() + per_genre_products() + learned_outputs() + [
        R("comparison.png"),
        R("summary.tsv"),
        R("cross_genre.tsv"),
        R("cross_genre_cells.tsv"),
        R("cross_genre.png"),
        R("metrics.tsv"),
        R("metrics.png"),
    ]
