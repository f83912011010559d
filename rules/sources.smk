# Stage: sources. Each genre's pieces as MIDI files, a manifest and a notes cache (data/midi/), from a music21
# corpus, a synthetic generator, a MIDI folder or the Lakh MIDI Dataset by genre label.


rule extract_corpus:
    output:
        midi=directory("data/midi/{genre}"),
        manifest="data/midi/{genre}.manifest.tsv",
        notes="data/midi/{genre}.notes.npz",
    wildcard_constraints:
        genre=one_of(genres_of_kind("music21")),
    params:
        collection=lambda wc: source(wc.genre)["collection"],
        max_pieces=lambda wc: max_pieces(wc.genre),
        left_out=lambda wc: left_out_of(wc.genre),
    log:
        "logs/extract_corpus/{genre}.log",
    benchmark:
        "logs/extract_corpus/{genre}.benchmark.tsv"
    # One core per collection: two collections in parallel use 2 cores fully, while one collection split over two
    # worker processes kept them 64% busy (cpu_time vs wall in the benchmark files). First in line: seven of the
    # twelve trainings wait for it.
    threads: 1
    priority: 2
    resources:
        mem_mb=1500,
        runtime=20,
    conda:
        "../envs/midi-genres.yaml"
    script:
        "../workflow_scripts/extract_corpus.py"


rule synthesize:
    output:
        midi=directory("data/midi/{genre}"),
        manifest="data/midi/{genre}.manifest.tsv",
        notes="data/midi/{genre}.notes.npz",
    wildcard_constraints:
        genre=one_of(genres_of_kind("synthetic")),
    params:
        generator=lambda wc: source(wc.genre)["generator"],
        pieces=lambda wc: min(source(wc.genre)["pieces"], max_pieces(wc.genre) or source(wc.genre)["pieces"]),
        seed=lambda wc: source(wc.genre).get("seed", 0),
        bars=lambda wc: source(wc.genre).get("bars", [8, 16]),
        drums=drums_of("genre"),
    log:
        "logs/synthesize/{genre}.log",
    benchmark:
        "logs/synthesize/{genre}.benchmark.tsv"
    resources:
        mem_mb=500,
        runtime=5,
    conda:
        "../envs/midi-genres.yaml"
    script:
        "../workflow_scripts/synthesize.py"


rule import_midi_dir:
    input:
        files=lambda wc: midi_dir_files(wc.genre),
    output:
        midi=directory("data/midi/{genre}"),
        manifest="data/midi/{genre}.manifest.tsv",
        notes="data/midi/{genre}.notes.npz",
    wildcard_constraints:
        genre=one_of(genres_of_kind("midi_dir")),
    params:
        folder=lambda wc: source(wc.genre)["path"],
        tracks=lambda wc: tracks_of(wc.genre),
        max_pieces=lambda wc: max_pieces(wc.genre),
        min_notes=lambda wc: source(wc.genre).get("min_notes", DEFAULT_MIN_NOTES),
    log:
        "logs/import_midi_dir/{genre}.log",
    benchmark:
        "logs/import_midi_dir/{genre}.benchmark.tsv"
    # One worker process per thread reads the files (symusic), the job itself writes them.
    threads: 2
    resources:
        mem_mb=1500,
        runtime=20,
    conda:
        "../envs/midi-genres.yaml"
    script:
        "../workflow_scripts/import_midi_dir.py"


rule import_lakh:
    input:
        labels=lambda wc: source(wc.genre)["labels"],
        match_scores=lambda wc: lakh_match_scores(wc.genre),
    output:
        midi=directory("data/midi/{genre}"),
        manifest="data/midi/{genre}.manifest.tsv",
        notes="data/midi/{genre}.notes.npz",
    wildcard_constraints:
        genre=one_of(genres_of_kind("lakh")),
    params:
        lmd=lambda wc: source(wc.genre)["lmd"],
        label=lambda wc: source(wc.genre)["label"],
        label_rank=lambda wc: source(wc.genre).get("label_rank", "first"),
        seed=lambda wc: source(wc.genre).get("seed", 0),
        tracks=lambda wc: tracks_of(wc.genre),
        max_pieces=lambda wc: max_pieces(wc.genre),
        min_notes=lambda wc: source(wc.genre).get("min_notes", DEFAULT_MIN_NOTES),
    log:
        "logs/import_lakh/{genre}.log",
    benchmark:
        "logs/import_lakh/{genre}.benchmark.tsv"
    # As import_midi_dir: one worker process per thread reads the songs, the job itself writes them.
    threads: 2
    resources:
        mem_mb=1500,
        runtime=20,
    conda:
        "../envs/midi-genres.yaml"
    script:
        "../workflow_scripts/import_lakh.py"
