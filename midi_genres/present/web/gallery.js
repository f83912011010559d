/* The gallery page's "Play with the models" section: generate, continue a dropped MIDI file, rank the genres.
 *
 * Reads the models of the run from <script type="application/json" id="play-models"> (written by
 * midi_genres/present/gallery.py); each genre's weights file (web/models/<genre>.js) is loaded by a <script> tag
 * on first use, so the page works from file://. The work runs in slices (midi-genres.js), so the page stays
 * responsive. A URL fragment #generate=GENRE&seconds=S&seed=N&temperature=T&top_k=K generates on load and writes
 * the notes into <script type="application/json" id="generated-notes">.
 */
(function () {
  "use strict";
  const MG = window.MG;
  const $ = id => document.getElementById(id);
  const manifestElement = $("play-models");
  if (!manifestElement) return;
  const manifest = JSON.parse(manifestElement.textContent);
  const models = {};
  manifest.models.forEach(m => { models[m.genre] = m; });

  class UserError extends Error {}

  /* ---------------------------------------------------------------------------------------------------------- */
  /* Status line and the piece on show */

  function status(text, kind = "info") {
    const el = $("play-status");
    el.textContent = text;
    el.className = `status ${kind}`;
  }

  let piece = null; // {notes, tempo, drums, genre, name, promptEnd}
  let busy = false, stopRequested = false;

  function setBusy(value) {
    busy = value;
    for (const id of ["generate-button", "continue-button", "rank-button"]) $(id).disabled = value;
    $("stop-button").disabled = !value;
  }

  function show(newPiece, progressSteps = null) {
    piece = newPiece;
    drawRoll(piece.notes, piece.promptEnd || 0, progressSteps);
    const ready = piece.notes.length > 0 && progressSteps === null;
    $("play-button").disabled = !ready;
    const link = $("download-link");
    if (link.href.startsWith("blob:")) URL.revokeObjectURL(link.href);
    if (ready) {
      const bytes = MG.midiBytes(piece.notes, piece.tempo, piece.drums);
      link.href = URL.createObjectURL(new Blob([bytes], {type: "audio/midi"}));
      link.download = `${piece.name}.mid`;
      link.classList.remove("disabled");
    } else {
      link.removeAttribute("href");
      link.classList.add("disabled");
    }
  }

  /** `value` as JSON in <script type="application/json" id=`id`>, for scripts that read the page. */
  function publish(id, value) {
    let el = $(id);
    if (!el) {
      el = document.createElement("script");
      el.type = "application/json";
      el.id = id;
      document.body.appendChild(el);
    }
    el.textContent = JSON.stringify(value);
  }

  /** What the page made: [{"pitch", "start", "end"}] in 16th steps. */
  function publishNotes(notes) {
    publish("generated-notes", notes.map(n => ({pitch: n.pitch, start: n.start, end: n.end})));
  }

  /* ---------------------------------------------------------------------------------------------------------- */
  /* Piano roll */

  function drawRoll(notes, promptEnd, progressSteps) {
    const canvas = $("play-roll"), ctx = canvas.getContext("2d");
    const width = canvas.clientWidth || canvas.width;
    if (canvas.width !== width) canvas.width = width;
    const height = canvas.height, left = 34;
    ctx.clearRect(0, 0, width, height);
    ctx.fillStyle = "#fcfcfc";
    ctx.fillRect(0, 0, width, height);
    if (!notes.length && progressSteps === null) return;
    let lo = 127, hi = 0, endStep = progressSteps || 0;
    for (const n of notes) { lo = Math.min(lo, n.pitch); hi = Math.max(hi, n.pitch); endStep = Math.max(endStep, n.end); }
    if (!notes.length) { lo = 48; hi = 72; }
    lo -= 2; hi += 2;
    if (hi - lo < 12) { const mid = (lo + hi) / 2; lo = mid - 6; hi = mid + 6; }
    const span = Math.max(endStep, 16), xs = (width - left - 4) / span, ys = height / (hi - lo + 1);
    ctx.strokeStyle = "#e4e4e4";
    ctx.fillStyle = "#888";
    ctx.font = "10px system-ui, sans-serif";
    for (let bar = 0; bar <= span; bar += MG.STEPS_PER_BAR) {
      const x = left + bar * xs;
      ctx.beginPath(); ctx.moveTo(x, 0); ctx.lineTo(x, height); ctx.stroke();
    }
    for (let p = Math.ceil(lo / 12) * 12; p <= hi; p += 12) {
      const y = height - (p - lo + 1) * ys;
      ctx.fillText(`C${p / 12 - 1}`, 2, y + ys);
      ctx.beginPath(); ctx.moveTo(left, y + ys); ctx.lineTo(width, y + ys); ctx.stroke();
    }
    if (promptEnd) {
      ctx.fillStyle = "rgba(120, 120, 120, 0.12)";
      ctx.fillRect(left, 0, promptEnd * xs, height);
    }
    for (const n of notes) {
      ctx.fillStyle = n.start < promptEnd ? "#777" : (piece && piece.drums ? "#e07b22" : "#2f6fae");
      ctx.fillRect(left + n.start * xs, height - (n.pitch - lo + 1) * ys, Math.max(1, (n.end - n.start) * xs - 0.5),
        Math.max(1.5, ys * 0.85));
    }
  }

  /* ---------------------------------------------------------------------------------------------------------- */
  /* Weights, loaded on first use */

  const loading = {};
  function loadModel(genre) {
    const entry = models[genre];
    if (!entry) throw new UserError(`unknown genre "${genre}": the page has models of ${Object.keys(models).join(", ")}`);
    if (!loading[genre]) {
      loading[genre] = new Promise((resolve, reject) => {
        const script = document.createElement("script");
        script.src = entry.src;
        script.onload = () => MG.whenRegistered(genre).then(resolve);
        script.onerror = () => {
          delete loading[genre];
          reject(new UserError(`could not load the weights of ${entry.title} (${entry.src})`));
        };
        document.head.appendChild(script);
      }).then(() => MG.model(genre));
    }
    return loading[genre];
  }

  /* ---------------------------------------------------------------------------------------------------------- */
  /* Settings */

  function number(id, name, {integer = false, min = -Infinity, above = null} = {}) {
    const text = $(id).value.trim(), value = Number(text);
    if (text === "" || !Number.isFinite(value) || (integer && !Number.isInteger(value)) || value < min
        || (above !== null && value <= above)) {
      const want = above !== null ? `a number above ${above}` : integer ? `a whole number >= ${min}` : `a number >= ${min}`;
      throw new UserError(`${name} must be ${want}, got "${text}"`);
    }
    return value;
  }

  function settings(prefix) {
    return {
      genre: $(`${prefix}-genre`).value,
      seconds: number(`${prefix}-seconds`, "seconds", {above: 0}),
      temperature: number(`${prefix}-temperature`, "temperature", {above: 0}),
      topK: number(`${prefix}-top-k`, "top-k", {integer: true, min: 0}),
      seed: number(`${prefix}-seed`, "seed", {integer: true, min: 0}),
    };
  }

  function fillDefaults(prefix, genre) {
    const s = models[genre].sample;
    $(`${prefix}-seconds`).value = s.seconds;
    $(`${prefix}-temperature`).value = s.temperature;
    $(`${prefix}-top-k`).value = s.top_k;
    $(`${prefix}-seed`).value = s.seed;
  }

  /* ---------------------------------------------------------------------------------------------------------- */
  /* Generate and continue */

  async function generate({genre, seconds, temperature, topK, seed}, prompt = null) {
    const entry = models[genre];
    status(`loading the weights of ${entry.title}...`);
    const model = await loadModel(genre), tokenizer = model.tokenizer, tempo = model.meta.tempo;
    let promptTokens = null, promptEnd = 0, head = [];
    if (prompt) {
      head = MG.headOf(prompt.notes, prompt.bars * MG.STEPS_PER_BAR);
      if (!head.length) {
        const bar = Math.floor(prompt.notes[0].start / MG.STEPS_PER_BAR) + 1;
        throw new UserError(`${prompt.name}: no notes in its first ${prompt.bars} bar(s) to continue (its first note `
          + `is in bar ${bar}): take more bars`);
      }
      promptTokens = tokenizer.encode(head, true, false);
      promptEnd = MG.elapsedSteps(tokenizer, promptTokens);
    }
    const d = entry.sample, maxSteps = MG.secondsToSteps(seconds, tempo);
    const maxTokens = (promptTokens ? promptTokens.length : 1)
      + Math.max(d.max_tokens, Math.ceil(d.max_tokens * seconds / d.seconds));
    const name = prompt ? `${prompt.name.replace(/\.midi?$/i, "")}-${genre}-seed${seed}` : `${genre}-seed${seed}`;
    const started = performance.now();
    const tokens = await MG.generate(model, {maxSteps, temperature, topK, seed, maxTokens, prompt: promptTokens,
      shouldStop: () => stopRequested,
      onProgress: (sofar, elapsed) => {
        show({notes: tokenizer.decode(sofar).notes, tempo, drums: model.meta.drums, genre, name, promptEnd},
          promptEnd + maxSteps);
        status(`${entry.title}: ${MG.stepsToSeconds(elapsed, tempo).toFixed(1)} of ${seconds} s of music, `
          + `${sofar.length} tokens`);
      }});
    const notes = tokenizer.decode(tokens).notes, took = (performance.now() - started) / 1000;
    show({notes, tempo, drums: model.meta.drums, genre, name, promptEnd});
    publishNotes(notes);
    const what = prompt ? `continued ${head.length} notes of the first ${prompt.bars} bar(s) of ${prompt.name}` : "generated";
    status(`${entry.title} ${what}: ${notes.length} notes, ${tokens.length} tokens in ${took.toFixed(1)} s`
      + `${stopRequested ? " (stopped)" : ""}; seed ${seed}, temperature ${temperature}, top-k ${topK}`, "done");
  }

  async function guarded(work) {
    if (busy) return;
    stopPlayback();
    setBusy(true);
    stopRequested = false;
    try {
      await work();
    } catch (err) {
      status(err instanceof UserError || err instanceof MG.MidiError ? err.message : `error: ${err.message}`, "error");
      if (!(err instanceof UserError || err instanceof MG.MidiError)) console.error(err);
    } finally {
      setBusy(false);
    }
  }

  /* ---------------------------------------------------------------------------------------------------------- */
  /* A dropped file: read, continue, rank */

  let dropped = null; // {name, notes}

  async function readFile(file) {
    const bytes = new Uint8Array(await file.arrayBuffer());
    let notes;
    try {
      notes = MG.readMidi(bytes);
    } catch (err) {
      if (err instanceof MG.MidiError) throw new UserError(`${file.name}: ${err.message}`);
      throw err;
    }
    if (!notes.length) throw new UserError(`${file.name}: no notes in it (a MIDI file of notes is needed)`);
    return {name: file.name, notes};
  }

  function takeFile(file) {
    guarded(async () => {
      dropped = null;
      $("dropped-name").textContent = "no file yet";
      dropped = await readFile(file);
      const bars = Math.ceil(MG.lastEnd(dropped.notes) / MG.STEPS_PER_BAR);
      $("dropped-name").textContent = `${dropped.name}: ${dropped.notes.length} notes, ${bars} bars`;
      show({notes: dropped.notes, tempo: 120, drums: false, genre: "", name: dropped.name.replace(/\.midi?$/i, ""),
        promptEnd: 0});
      status(`${dropped.name} read: continue it with a genre's model, or ask which genre it sounds like`, "done");
    });
  }

  function needFile() {
    if (!dropped) throw new UserError("drop a MIDI file first (or choose one)");
    return dropped;
  }

  async function rank() {
    const file = needFile(), genres = manifest.models.map(m => m.genre), rows = [];
    const bar = $("rank-progress"), started = performance.now();
    bar.hidden = false;
    $("rank-table").hidden = true;
    for (let k = 0; k < genres.length; k++) {
      if (stopRequested) break;
      const entry = models[genres[k]];
      status(`scoring ${file.name} under ${entry.title} (${k + 1}/${genres.length}): loading its weights`);
      const model = await loadModel(genres[k]);
      rows.push(await MG.scoreNotes(model, file.notes, (done, total) => {
        bar.value = (k + done / total) / genres.length;
        status(`scoring ${file.name} under ${entry.title} (${k + 1}/${genres.length}): window ${done}/${total}`);
      }));
    }
    rows.sort((a, b) => a.bits_per_note - b.bits_per_note);
    rows.forEach((row, i) => { row.rank = i + 1; });
    bar.hidden = true;
    renderRanking(rows);
    publish("scores", rows);
    const took = ((performance.now() - started) / 1000).toFixed(1);
    status(rows.length ? `${file.name} sounds most like ${rows[0].title} (${rows[0].bits_per_note} bits per note; `
      + `${rows.length} models in ${took} s)` : "stopped", "done");
  }

  function renderRanking(rows) {
    const table = $("rank-table"), body = table.tBodies[0];
    body.textContent = "";
    for (const row of rows) {
      const tr = body.insertRow();
      const cells = [row.rank, row.title, row.bits_per_note, ...MG.PARTS.map(p => row[`${p}_bits_per_note`]),
        row.bits_per_token];
      cells.forEach((value, i) => {
        const td = tr.insertCell();
        td.textContent = typeof value === "number" && i > 0 ? value.toFixed(3) : String(value);
      });
    }
    table.hidden = rows.length === 0;
  }

  /* ---------------------------------------------------------------------------------------------------------- */
  /* Playback: WebAudio voices, a synthesised drum kit */

  const VOICES = {bach: "organ", palestrina: "organ", trecento: "organ", monteverdi: "organ", beethoven: "piano",
    essenFolksong: "flute", ryansMammoth: "flute", atonal: "piano", metal: "guitar", rock: "guitar", pop: "piano"};
  let audio = null, noise = null, playback = null;

  function context() {
    if (!audio) {
      audio = new (window.AudioContext || window.webkitAudioContext)();
      const length = audio.sampleRate;
      noise = audio.createBuffer(1, length, audio.sampleRate);
      const data = noise.getChannelData(0), random = MG.random(7);
      for (let i = 0; i < length; i++) data[i] = random() * 2 - 1;
    }
    return audio;
  }

  function envelope(gain, t, peak, attack, hold, release) {
    gain.gain.setValueAtTime(0, t);
    gain.gain.linearRampToValueAtTime(peak, t + attack);
    gain.gain.setTargetAtTime(0, t + Math.max(attack, hold), release);
  }

  function tone(out, pitch, t, duration, voice) {
    const ctx = audio, freq = 440 * Math.pow(2, (pitch - 69) / 12), gain = ctx.createGain();
    const types = {organ: ["sine", "sine"], piano: ["triangle", "sine"], flute: ["sine", "triangle"],
      guitar: ["sawtooth", "square"]}[voice];
    const oscs = types.map((type, i) => {
      const o = ctx.createOscillator();
      o.type = type;
      o.frequency.value = freq * (i + 1);
      return o;
    });
    const second = ctx.createGain();
    second.gain.value = voice === "organ" ? 0.5 : 0.25;
    oscs[0].connect(gain);
    oscs[1].connect(second).connect(gain);
    let node = gain;
    if (voice === "guitar") {
      const filter = ctx.createBiquadFilter();
      filter.type = "lowpass";
      filter.frequency.value = 1800;
      node = gain.connect(filter);
    }
    node.connect(out);
    if (voice === "piano") envelope(gain, t, 0.22, 0.005, 0.005, Math.min(0.35, duration / 2) + 0.05);
    else envelope(gain, t, 0.16, 0.02, duration, 0.05);
    const end = t + duration + (voice === "piano" ? 1 : 0.3);
    oscs.forEach(o => { o.start(t); o.stop(end); });
  }

  function drum(out, pitch, t) {
    const ctx = audio, gain = ctx.createGain();
    gain.connect(out);
    const hit = (node, peak, decay) => { node.connect(gain); envelope(gain, t, peak, 0.002, 0.002, decay); };
    if (pitch === 35 || pitch === 36 || [41, 43, 45, 47, 48, 50].includes(pitch)) { // kick and toms: a falling sine
      const o = ctx.createOscillator(), base = pitch <= 36 ? 50 : 80 + (pitch - 41) * 12;
      o.frequency.setValueAtTime(base * 3, t);
      o.frequency.exponentialRampToValueAtTime(base, t + 0.08);
      hit(o, 0.9, 0.08);
      o.start(t); o.stop(t + 0.5);
      return;
    }
    const src = ctx.createBufferSource(), filter = ctx.createBiquadFilter();
    src.buffer = noise;
    src.connect(filter);
    if ([37, 38, 39, 40].includes(pitch)) { filter.type = "bandpass"; filter.frequency.value = 1800; hit(filter, 0.7, 0.06); }
    else if ([42, 44].includes(pitch)) { filter.type = "highpass"; filter.frequency.value = 7000; hit(filter, 0.35, 0.02); }
    else if (pitch === 46) { filter.type = "highpass"; filter.frequency.value = 6000; hit(filter, 0.35, 0.12); }
    else if ([49, 52, 55, 57].includes(pitch)) { filter.type = "highpass"; filter.frequency.value = 4000; hit(filter, 0.35, 0.5); }
    else if ([51, 53, 59].includes(pitch)) { filter.type = "bandpass"; filter.frequency.value = 5000; hit(filter, 0.25, 0.25); }
    else { filter.type = "bandpass"; filter.frequency.value = 2500; hit(filter, 0.3, 0.04); }
    src.start(t); src.stop(t + 1);
  }

  function play() {
    if (!piece || !piece.notes.length) return;
    stopPlayback();
    const ctx = context();
    if (ctx.state === "suspended") ctx.resume();
    const out = ctx.createDynamicsCompressor();
    out.connect(ctx.destination);
    const step = 60 / piece.tempo / 4, t0 = ctx.currentTime + 0.1, notes = piece.notes, voice = VOICES[piece.genre] || "piano";
    let next = 0;
    const total = MG.lastEnd(notes) * step;
    const tick = () => { // schedule the next second of music
      const until = ctx.currentTime - t0 + 1.0;
      while (next < notes.length && notes[next].start * step < until) {
        const n = notes[next++], t = t0 + n.start * step;
        if (piece.drums) drum(out, n.pitch, t);
        else tone(out, n.pitch, t, (n.end - n.start) * step, voice);
      }
      if (ctx.currentTime - t0 > total + 1) stopPlayback();
    };
    playback = {timer: setInterval(tick, 200), out};
    tick();
    $("play-button").textContent = "Stop playing";
  }

  function stopPlayback() {
    if (!playback) return;
    clearInterval(playback.timer);
    playback.out.disconnect();
    playback = null;
    $("play-button").textContent = "Play";
  }

  /* ---------------------------------------------------------------------------------------------------------- */
  /* Wiring */

  function fillGenres(select) {
    for (const m of manifest.models) {
      const option = document.createElement("option");
      option.value = m.genre;
      option.textContent = m.title;
      select.appendChild(option);
    }
  }

  for (const prefix of ["g", "c"]) {
    const select = $(`${prefix}-genre`);
    fillGenres(select);
    fillDefaults(prefix, select.value);
    select.addEventListener("change", () => fillDefaults(prefix, select.value));
  }
  /** Generation started by a click: with "play when done" the audio starts under the click (browsers let a page
   * play sound only after a gesture) and the music plays once made. */
  function clicked(work) {
    const autoplay = $("autoplay").checked;
    if (autoplay) context().resume();
    guarded(async () => {
      await work();
      if (autoplay && !stopRequested) play();
    });
  }

  $("generate-button").addEventListener("click", () => clicked(() => generate(settings("g"))));
  $("continue-button").addEventListener("click", () => clicked(() => {
    const file = needFile(), bars = number("c-bars", "prompt bars", {integer: true, min: 1});
    return generate(settings("c"), {...file, bars});
  }));
  $("rank-button").addEventListener("click", () => guarded(rank));
  $("stop-button").addEventListener("click", () => { stopRequested = true; });
  $("play-button").addEventListener("click", () => (playback ? stopPlayback() : play()));
  $("midi-file").addEventListener("change", event => { if (event.target.files[0]) takeFile(event.target.files[0]); });
  const zone = $("drop-zone");
  zone.addEventListener("dragover", event => { event.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", event => {
    event.preventDefault();
    zone.classList.remove("over");
    if (event.dataTransfer.files[0]) takeFile(event.dataTransfer.files[0]);
  });
  setBusy(false);
  show({notes: [], tempo: 120, drums: false, genre: "", name: "", promptEnd: 0});
  status("choose a genre and generate, or drop a MIDI file");

  /* #generate=GENRE&seconds=S&seed=N&temperature=T&top_k=K: generate on load (and when the fragment changes) */
  function fromFragment() {
    const fragment = new URLSearchParams(location.hash.slice(1));
    if (!fragment.has("generate")) return;
    const genre = fragment.get("generate");
    if (!models[genre]) {
      status(`unknown genre "${genre}" in the URL: the page has models of ${Object.keys(models).join(", ")}`, "error");
      return;
    }
    $("g-genre").value = genre;
    fillDefaults("g", genre);
    for (const [key, id] of [["seconds", "g-seconds"], ["seed", "g-seed"], ["temperature", "g-temperature"],
      ["top_k", "g-top-k"]]) {
      if (fragment.has(key)) $(id).value = fragment.get(key);
    }
    $("play").scrollIntoView();
    guarded(() => generate(settings("g")));
  }
  fromFragment();
  window.addEventListener("hashchange", fromFragment);
})();
