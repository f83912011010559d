# Stage 6: listen and look. Training curves, each sample as audio (FluidSynth), and results/index.html, the page
# that shows it all. With audio.enabled false no audio rule is in the DAG and the page has no players.


rule render_curves:
    input:
        history=R("train/{genre}.tsv"),
    output:
        png=report(
            R("curves/{genre}.png"),
            caption="../report/curves.rst",
            category="Training",
            subcategory="Per genre",
            labels=report_labels("training curves"),
        ),
    params:
        title=lambda wc: f"{source(wc.genre).get('title', wc.genre)}: training",
    log:
        "logs/render_curves/{genre}.log",
    resources:
        mem_mb=500,
        runtime=5,
    conda:
        "../envs/midi-genres.yaml"
    script:
        "../workflow_scripts/render_curves.py"


rule render_training_curves:
    input:
        histories=expand(R("train/{genre}.tsv"), genre=GENRES),
    output:
        png=report(
            R("training_curves.png"),
            caption="../report/training_curves.rst",
            category="Training",
            subcategory="All genres",
            labels={"figure": "training curves of every genre"},
        ),
    params:
        titles=[source(g).get("title", g) for g in GENRES],
    log:
        "logs/render_training_curves/all.log",
    resources:
        mem_mb=500,
        runtime=5,
    conda:
        "../envs/midi-genres.yaml"
    script:
        "../workflow_scripts/render_training_curves.py"


rule render_audio:
    input:
        midi=R("samples/{genre}.mid"),
    output:
        audio=report(
            audio_path(R("audio/{genre}")),
            caption="../report/audio.rst",
            category="Samples",
            subcategory="Audio",
            labels=report_labels("audio"),
        ),
    params:
        audio=audio_settings(),
    log:
        "logs/render_audio/{genre}.log",
    benchmark:
        "logs/render_audio/{genre}.benchmark.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../envs/midi-genres.yaml"
    script:
        "../workflow_scripts/render_audio.py"


rule render_training_audio:
    input:
        midi="data/midi/{genre}",
        manifest="data/midi/{genre}.manifest.tsv",
    output:
        audio=directory(R("audio/training/{genre}")),
    params:
        audio=audio_settings(),
        pieces=config["audio"]["training_pieces"],
        tempo=lambda wc: source(wc.genre)["tempo"],
        seconds=lambda wc: section("sample", wc.genre)["seconds"],
        drums=lambda wc: is_drums(wc.genre),
    log:
        "logs/render_training_audio/{genre}.log",
    benchmark:
        "logs/render_training_audio/{genre}.benchmark.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=20,
    conda:
        "../envs/midi-genres.yaml"
    script:
        "../workflow_scripts/render_training_audio.py"


rule build_gallery:
    input:
        summary=R("summary.tsv"),
        comparison=R("comparison.png"),
        training_curves=R("training_curves.png"),
        pianorolls=expand(R("pianorolls/{genre}.png"), genre=GENRES),
        curves=expand(R("curves/{genre}.png"), genre=GENRES),
        samples=expand(R("samples/{genre}.mid"), genre=GENRES),
        audio=audio_outputs(),
        training_audio=training_audio_outputs(),
        findings=[path for path, _ in findings_figures()],
    output:
        html=R("index.html"),
    params:
        genres=GENRES,
        sources={g: source(g) for g in GENRES},
        captions=[caption for _, caption in findings_figures()],
    log:
        "logs/build_gallery/all.log",
    resources:
        mem_mb=300,
        runtime=5,
    conda:
        "../envs/midi-genres.yaml"
    script:
        "../workflow_scripts/build_gallery.py"
