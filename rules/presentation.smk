# Stage: presentation. Piano rolls, the comparison figure, held-out bits by part, training curves, each sample
# as audio (FluidSynth), and results/index.html, the page that shows it all. With audio.enabled false no
# audio rule is in the DAG and the page has no players.


rule render_pianoroll:
    input:
        midi=R("samples/{genre}.mid"),
    output:
        png=report(
            R("pianorolls/{genre}.png"),
            caption="../report/pianoroll.rst",
            category="Samples",
            subcategory="Piano rolls",
            labels=report_labels("piano roll"),
        ),
    params:
        title=lambda wc: f"{title(wc.genre)}: sample",
        tempo=tempo_of("genre"),
        drums=drums_of("genre"),
        seconds=lambda wc: section("sample", wc.genre)["seconds"],
    log:
        L("render_pianoroll/{genre}.log"),
    resources:
        mem_mb=500,
        runtime=5,
    conda:
        "../envs/midi-genres.yaml"
    script:
        "../workflow_scripts/render_pianoroll.py"


rule render_crossprompt_pianoroll:
    input:
        midi=R("crossprompt/{model}__from__{prompt}.mid"),
        prompt=R("crossprompt/{model}__from__{prompt}.prompt.json"),
    output:
        png=R("crossprompt/{model}__from__{prompt}.png"),
    wildcard_constraints:
        model=one_of(GENRES),
        prompt=one_of(GENRES),
    params:
        title=lambda wc: crossprompt_title(wc.model, wc.prompt),
        tempo=tempo_of("model"),
        drums=drums_of("model"),
        seconds=None,
    log:
        L("render_crossprompt_pianoroll/{model}__from__{prompt}.log"),
    resources:
        mem_mb=500,
        runtime=5,
    conda:
        "../envs/midi-genres.yaml"
    script:
        "../workflow_scripts/render_pianoroll.py"


use rule render_pianoroll as render_conditional_pianoroll with:
    input:
        midi=R("conditional/samples/{genre}.mid"),
    output:
        png=R("conditional/pianorolls/{genre}.png"),
    params:
        title=lambda wc: f"{title(wc.genre)}: sample of the conditional model",
        tempo=tempo_of("genre"),
        drums=drums_of("genre"),
        seconds=lambda wc: section("sample", wc.genre)["seconds"],
    log:
        L("render_conditional_pianoroll/{genre}.log"),


rule render_comparison:
    input:
        samples=expand(R("samples/{genre}.mid"), genre=GENRES),
    output:
        figure=report(R("comparison.png"), caption="../report/comparison.rst", category="Comparison"),
    params:
        genres=GENRES,
        sources=genre_sources(),
        drums=drums_by_genre(),
        seconds=config["sample"]["seconds"],
    log:
        L("render_comparison/all.log"),
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../envs/midi-genres.yaml"
    script:
        "../workflow_scripts/render_comparison.py"


rule render_heldout_parts:
    input:
        summary=R("summary.tsv"),
    output:
        figure=R("heldout.png"),
    log:
        L("render_heldout_parts/all.log"),
    resources:
        mem_mb=500,
        runtime=5,
    conda:
        "../envs/midi-genres.yaml"
    script:
        "../workflow_scripts/render_heldout_parts.py"


rule render_genre_training_curves:
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
        title=lambda wc: f"{title(wc.genre)}: training",
    log:
        L("render_genre_training_curves/{genre}.log"),
    resources:
        mem_mb=500,
        runtime=5,
    conda:
        "../envs/midi-genres.yaml"
    script:
        "../workflow_scripts/render_genre_training_curves.py"


rule render_all_training_curves:
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
        titles=genre_titles(),
    log:
        L("render_all_training_curves/all.log"),
    resources:
        mem_mb=500,
        runtime=5,
    conda:
        "../envs/midi-genres.yaml"
    script:
        "../workflow_scripts/render_all_training_curves.py"


rule render_sample_audio:
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
        L("render_sample_audio/{genre}.log"),
    benchmark:
        L("render_sample_audio/{genre}.benchmark.tsv")
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../envs/midi-genres.yaml"
    script:
        "../workflow_scripts/render_sample_audio.py"


rule render_training_piece_audio:
    input:
        midi="data/midi/{genre}",
        manifest="data/midi/{genre}.manifest.tsv",
    output:
        audio=directory(R("audio/training/{genre}")),
    params:
        audio=audio_settings(),
        pieces=config["audio"]["training_pieces"],
        tempo=tempo_of("genre"),
        seconds=lambda wc: section("sample", wc.genre)["seconds"],
        drums=drums_of("genre"),
    log:
        L("render_training_piece_audio/{genre}.log"),
    benchmark:
        L("render_training_piece_audio/{genre}.benchmark.tsv")
    threads: 1
    resources:
        mem_mb=1000,
        runtime=20,
    conda:
        "../envs/midi-genres.yaml"
    script:
        "../workflow_scripts/render_training_piece_audio.py"


rule export_web_model:
    input:
        checkpoint=selected_checkpoint("{genre}"),
    output:
        script=R("web/models/{genre}.js"),
    params:
        title=lambda wc: title(wc.genre),
        tokenizer=TOKENIZER,
        tempo=tempo_of("genre"),
        drums=drums_of("genre"),
    log:
        L("export_web_model/{genre}.log"),
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../envs/midi-genres.yaml"
    script:
        "../workflow_scripts/export_web_model.py"


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
        web_models=web_models(),
    output:
        html=R("index.html"),
        web_page=directory(R("web/page")),
    params:
        genres=GENRES,
        sources=genre_sources(),
        captions=[caption for _, caption in findings_figures()],
        sample_settings=sample_sections(),
    log:
        L("build_gallery/all.log"),
    resources:
        mem_mb=300,
        runtime=5,
    conda:
        "../envs/midi-genres.yaml"
    script:
        "../workflow_scripts/build_gallery.py"
