/* midi-genres in the browser: what the package's Python does, written once for the page (no DOM here).
 *
 * Notes and tokens (midi_genres/core/notes.py, tokens/event.py, tokens/remi.py), MIDI bytes in and out
 * (core/midi.py: pretty_midi's note pairing, quantised to 16ths by ticks; the bytes write_midi writes), the
 * Transformer's forward pass with its KV cache (model/transformer.py, fp32), the sliding context window and the
 * sampler (model/sample.py: temperature, top-k, with the page's own seeded generator, not torch's) and the
 * scoring windows of `midi-genres score` (analysis/likelihood.py). A plain script: it defines the global `MG`
 * (and module.exports under Node), so it loads from file:// by a <script src> tag. Tests compare it with PyTorch.
 */
(function (root) {
  "use strict";
  const MG = root.MG || (root.MG = {});

  const STEPS_PER_QUARTER = 4, STEPS_PER_BAR = 16, N_PITCHES = 128, MIDI_RESOLUTION = 480;
  const PAD = 0, BOS = 1, EOS = 2;
  const PARTS = ["pitch", "timing", "duration", "structure"];
  MG.STEPS_PER_BAR = STEPS_PER_BAR;
  MG.PARTS = PARTS;

  /* ------------------------------------------------------------------------------------------------------------
   * Notes: {pitch, start, end} in 16th-note steps (core/notes.py) */

  function byOnset(a, b) {
    return a.start - b.start || a.pitch - b.pitch || a.end - b.end;
  }

  /** The canonical form of notes (core/notes.normalize). */
  function normalize(notes) {
    const byPitch = new Map();
    for (const n of notes) {
      if (n.pitch >= 0 && n.pitch <= 127 && n.end > n.start && n.start >= 0) {
        if (!byPitch.has(n.pitch)) byPitch.set(n.pitch, []);
        byPitch.get(n.pitch).push({pitch: n.pitch, start: n.start, end: n.end});
      }
    }
    const out = [];
    for (const [pitch, group] of byPitch) {
      group.sort((a, b) => a.start - b.start || b.end - a.end);
      const kept = [];
      for (let n of group) {
        const prev = kept[kept.length - 1];
        if (prev && n.start < prev.end) {
          if (n.start === prev.start) continue;
          kept[kept.length - 1] = {pitch, start: prev.start, end: n.start};
          n = {pitch, start: n.start, end: Math.max(n.end, prev.end)};
        }
        kept.push(n);
      }
      out.push(...kept);
    }
    return out.sort(byOnset);
  }

  /** The notes before `steps` (cut there), as experiments/crossprompt.split_at's head. */
  MG.headOf = function (notes, steps) {
    return normalize(notes.filter(n => n.start < steps).map(n => ({pitch: n.pitch, start: n.start,
      end: Math.min(n.end, steps)})));
  };

  /** The end of the last note (16th steps; 0 for none). */
  MG.lastEnd = notes => notes.reduce((end, n) => Math.max(end, n.end), 0);

  MG.stepsToSeconds = (steps, tempo) => steps * 60.0 / tempo / STEPS_PER_QUARTER;
  MG.secondsToSteps = (seconds, tempo) => roundHalfEven(seconds * tempo / 60.0 * STEPS_PER_QUARTER);

  function roundHalfEven(x) {
    const r = Math.round(x);
    return (r - x === 0.5 && r % 2 !== 0) ? r - 1 : r;
  }

  /* ------------------------------------------------------------------------------------------------------------
   * Tokenizers (tokens/event.py, tokens/remi.py): ids, encode, decode, a clock, the part of every token */

  function report() {
    return {orphan_note_offs: 0, unclosed_notes: 0, retriggered_notes: 0, empty_notes: 0, special_tokens: 0};
  }

  /** The part (index into PARTS) of every token id: `spans` of [part, first id, end id], structure elsewhere. */
  function partsOf(size, spans) {
    const p = new Uint8Array(size).fill(PARTS.indexOf("structure"));
    for (const [part, from, to] of spans) p.fill(part, from, to);
    return p;
  }

  const EV = {MAX_SHIFT: 32, NOTE_ON: 3, NOTE_OFF: 3 + N_PITCHES, SHIFT: 3 + 2 * N_PITCHES};
  EV.SIZE = EV.SHIFT + EV.MAX_SHIFT;

  const eventTokenizer = {
    name: "event",
    size: EV.SIZE,
    parts: () => partsOf(EV.SIZE, [[0, EV.NOTE_ON, EV.NOTE_OFF], [2, EV.NOTE_OFF, EV.SHIFT], [1, EV.SHIFT, EV.SIZE]]),
    clock() {
      return {now: 0, feed(t) { if (t >= EV.SHIFT && t < EV.SIZE) this.now += t - EV.SHIFT + 1; }};
    },
    encode(notes, bos = true, eos = true) {
      const events = [];
      for (const n of notes) events.push([n.end, 0, n.pitch], [n.start, 1, n.pitch]);
      events.sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2]);
      const out = bos ? [BOS] : [];
      let now = 0;
      for (const [time, isOn, pitch] of events) {
        const gap = time - now;
        for (let k = 0; k < Math.floor(gap / EV.MAX_SHIFT); k++) out.push(EV.SHIFT + EV.MAX_SHIFT - 1);
        if (gap % EV.MAX_SHIFT) out.push(EV.SHIFT + gap % EV.MAX_SHIFT - 1);
        now = time;
        out.push((isOn ? EV.NOTE_ON : EV.NOTE_OFF) + pitch);
      }
      if (eos) out.push(EOS);
      return out;
    },
    decode(ids) {
      const rep = report(), sounding = new Map(), notes = [];
      let now = 0;
      for (const token of ids) {
        if (token === EOS) break;
        if (token >= EV.NOTE_ON && token < EV.NOTE_OFF) {
          const pitch = token - EV.NOTE_ON;
          if (sounding.has(pitch)) {
            rep.retriggered_notes++;
            if (sounding.get(pitch) < now) notes.push({pitch, start: sounding.get(pitch), end: now});
          }
          sounding.set(pitch, now);
        } else if (token >= EV.NOTE_OFF && token < EV.SHIFT) {
          const pitch = token - EV.NOTE_OFF;
          if (!sounding.has(pitch)) rep.orphan_note_offs++;
          else {
            const start = sounding.get(pitch);
            sounding.delete(pitch);
            if (start === now) rep.empty_notes++;
            else notes.push({pitch, start, end: now});
          }
        } else if (token >= EV.SHIFT && token < EV.SIZE) {
          now += token - EV.SHIFT + 1;
        } else if (token !== BOS || notes.length || sounding.size || now) {
          rep.special_tokens++;
        }
      }
      for (const [pitch, start] of sounding) {
        rep.unclosed_notes++;
        notes.push({pitch, start, end: Math.max(now, start + 1)});
      }
      return {notes: notes.sort(byOnset), report: rep};
    },
  };

  const RE = {MAX_DURATION: 32, BAR: 3, POSITION: 4, PITCH: 4 + STEPS_PER_BAR};
  RE.DURATION = RE.PITCH + N_PITCHES;
  RE.SIZE = RE.DURATION + RE.MAX_DURATION;

  function barClock() {
    return {
      bar: -1, position: 0,
      get now() { return Math.max(this.bar, 0) * STEPS_PER_BAR + this.position; },
      feed(t) {
        if (t === RE.BAR) { this.bar++; this.position = 0; }
        else if (t >= RE.POSITION && t < RE.PITCH) {
          if (t - RE.POSITION < this.position) return false;
          this.position = t - RE.POSITION;
        }
        return true;
      },
    };
  }

  function resolveOverlaps(notes, rep) {
    const out = [], last = new Map();
    for (const n of notes) {
      const i = last.get(n.pitch);
      if (i !== undefined && out[i] && n.start < out[i].end) {
        rep.retriggered_notes++;
        const prev = out[i];
        out[i] = prev.start < n.start ? {pitch: prev.pitch, start: prev.start, end: n.start} : null;
      }
      last.set(n.pitch, out.length);
      out.push(n);
    }
    return out.filter(n => n !== null).sort(byOnset);
  }

  const remiTokenizer = {
    name: "remi",
    size: RE.SIZE,
    parts: () => partsOf(RE.SIZE, [[1, RE.BAR, RE.PITCH], [0, RE.PITCH, RE.DURATION], [2, RE.DURATION, RE.SIZE]]),
    clock: barClock,
    encode(notes, bos = true, eos = true) {
      const out = bos ? [BOS] : [];
      let bar = -1, onset = null;
      for (const n of [...notes].sort(byOnset)) {
        if (n.start !== onset) {
          onset = n.start;
          while (bar < Math.floor(onset / STEPS_PER_BAR)) { out.push(RE.BAR); bar++; }
          out.push(RE.POSITION + onset % STEPS_PER_BAR);
        }
        out.push(RE.PITCH + n.pitch);
        const steps = n.end - n.start;
        for (let k = 0; k < Math.floor(steps / RE.MAX_DURATION); k++) out.push(RE.DURATION + RE.MAX_DURATION - 1);
        if (steps % RE.MAX_DURATION) out.push(RE.DURATION + steps % RE.MAX_DURATION - 1);
      }
      if (eos) out.push(EOS);
      return out;
    },
    decode(ids) {
      const rep = report(), clock = barClock(), notes = [];
      let pending = null, started = false;
      const close = () => {
        if (pending === null) return;
        if (pending[2]) notes.push({pitch: pending[0], start: pending[1], end: pending[1] + pending[2]});
        else rep.empty_notes++;
      };
      for (const token of ids) {
        if (token === EOS) break;
        if (token >= RE.DURATION && token < RE.SIZE) {
          if (pending === null) rep.orphan_note_offs++;
          else pending[2] += token - RE.DURATION + 1;
          continue;
        }
        close();
        pending = null;
        if (token >= RE.PITCH && token < RE.DURATION) pending = [token - RE.PITCH, clock.now, 0];
        else if (token >= RE.BAR && token < RE.PITCH) { if (!clock.feed(token)) rep.special_tokens++; }
        else if (token !== BOS || started) rep.special_tokens++;
        started = true;
      }
      if (pending !== null && !pending[2]) { rep.unclosed_notes++; pending[2] = 1; }
      close();
      return {notes: resolveOverlaps(notes, rep), report: rep};
    },
  };

  MG.tokenizers = {event: eventTokenizer, remi: remiTokenizer};

  MG.elapsedSteps = function (tokenizer, ids) {
    const clock = tokenizer.clock();
    for (const t of ids) clock.feed(t);
    return clock.now;
  };

  /* ------------------------------------------------------------------------------------------------------------
   * MIDI bytes (core/midi.py) */

  class MidiError extends Error {}
  MG.MidiError = MidiError;
  const MAX_MIDI_BYTES = 8 * 1024 * 1024, MAX_MIDI_NOTES = 200000, MAX_TICK = 10000000;

  function u32(data, pos) { return ((data[pos] << 24) >>> 0) + (data[pos + 1] << 16) + (data[pos + 2] << 8) + data[pos + 3]; }
  function u16(data, pos) { return (data[pos] << 8) + data[pos + 1]; }

  function varlenAt(data, pos) {
    let value = 0;
    for (;;) {
      if (pos >= data.length) throw new MidiError("it ends in the middle of an event");
      const byte = data[pos++];
      value = value * 128 + (byte & 0x7f);
      if (byte < 0x80) return [value, pos];
    }
  }

  /** Canonical notes of a standard MIDI file's bytes (Uint8Array), every track, drums kept: read_midi's notes
   * (pretty_midi's pairing: per track, channel and pitch a note-off closes every open note started before its
   * tick), times quantised to 16ths by ticks. Throws MidiError saying why a file cannot be read. */
  MG.readMidi = function (data) {
    if (data.length === 0) throw new MidiError("the file is empty (0 bytes)");
    if (data.length > MAX_MIDI_BYTES) throw new MidiError(`${data.length} bytes is more than the ${MAX_MIDI_BYTES} bytes a MIDI file may have here`);
    if (data.length < 14 || String.fromCharCode(...data.slice(0, 4)) !== "MThd") {
      throw new MidiError("not a MIDI file (it does not start with MThd)");
    }
    const headerSize = u32(data, 4);
    if (headerSize < 6 || data.length < 8 + headerSize) throw new MidiError("its header is cut short");
    const nTracks = u16(data, 10), division = u16(data, 12);
    if (division & 0x8000) throw new MidiError("SMPTE-timed MIDI files are not read here (use midi-genres score)");
    if (nTracks === 0) throw new MidiError("it has no tracks");
    let pos = 8 + headerSize, lastTick = 0;
    const notes = [];
    for (let track = 0; track < nTracks; track++) {
      if (pos + 8 > data.length) throw new MidiError(`it is cut short before track ${track + 1}`);
      if (String.fromCharCode(...data.slice(pos, pos + 4)) !== "MTrk") throw new MidiError(`no MTrk header at track ${track + 1}`);
      const end = pos + 8 + u32(data, pos + 4);
      if (end > data.length) throw new MidiError(`track ${track + 1} is cut short`);
      if (end === pos + 8) throw new MidiError(`track ${track + 1} is empty`);
      pos += 8;
      let tick = 0, status = null;
      const sounding = new Map();
      while (pos < end) {
        let delta;
        [delta, pos] = varlenAt(data, pos);
        tick += delta;
        let byte = data[pos];
        if (byte < 0x80) {
          if (status === null) throw new MidiError(`a data byte without a status in track ${track + 1}`);
          byte = status;
        } else {
          pos++;
          if (byte < 0xf0) status = byte;
        }
        if (byte === 0xff) {
          let size;
          [size, pos] = varlenAt(data, pos + 1);
          pos += size;
        } else if (byte === 0xf0 || byte === 0xf7) {
          let size;
          [size, pos] = varlenAt(data, pos);
          pos += size;
        } else if (byte >= 0xf0) {
          throw new MidiError(`a system message (${byte.toString(16)}) inside track ${track + 1}`);
        } else {
          const kind = byte >> 4;
          if (kind === 0xc || kind === 0xd) { pos++; continue; }
          const pitch = data[pos], velocity = data[pos + 1];
          pos += 2;
          if (kind !== 0x8 && kind !== 0x9) continue;
          const key = ((byte & 0x0f) << 7) | pitch;
          if (kind === 0x9 && velocity) {
            if (!sounding.has(key)) sounding.set(key, []);
            sounding.get(key).push(tick);
          } else if (sounding.has(key)) {
            const opened = sounding.get(key), closed = opened.filter(s => s !== tick);
            for (const s of closed) notes.push([pitch, s, tick]);
            if (closed.length && closed.length < opened.length) sounding.set(key, opened.filter(s => s === tick));
            else sounding.delete(key);
          }
        }
      }
      if (pos !== end) throw new MidiError(`an event runs past the end of track ${track + 1}`);
      lastTick = Math.max(lastTick, tick);
      if (notes.length > MAX_MIDI_NOTES) throw new MidiError(`more than ${MAX_MIDI_NOTES} notes`);
    }
    if (lastTick + 1 > MAX_TICK) throw new MidiError(`a largest tick of ${lastTick + 1}: it is likely corrupt`);
    const ticksPerStep = division / STEPS_PER_QUARTER;
    return normalize(notes.map(([pitch, s, e]) => {
      const start = Math.floor(s / ticksPerStep + 0.5);
      return {pitch, start, end: Math.max(Math.floor(e / ticksPerStep + 0.5), start + 1)};
    }));
  };

  function varlen(value) {
    const out = [value & 0x7f];
    value = Math.floor(value / 128);
    while (value) { out.unshift(0x80 | (value & 0x7f)); value = Math.floor(value / 128); }
    return out;
  }

  function chunk(kind, body) {
    const n = body.length;
    return [...kind].map(c => c.charCodeAt(0)).concat([(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255], body);
  }

  /** The bytes core/midi.write_midi writes for these notes (one track at `tempo` bpm, velocity 80; channel 10 for
   * drums), byte for byte. */
  MG.midiBytes = function (notes, tempo, drums) {
    notes = normalize(notes);
    const tickScale = 60.0 / (tempo * MIDI_RESOLUTION);
    const usPerQuarter = Math.trunc(6e7 / (60.0 / (tickScale * MIDI_RESOLUTION)));
    const conductor = [0, 0xff, 0x51, 3, (usPerQuarter >> 16) & 255, (usPerQuarter >> 8) & 255, usPerQuarter & 255,
      0, 0xff, 0x58, 4, 4, 2, 0x18, 8, 1, 0xff, 0x2f, 0];
    const channel = drums ? 9 : 0, stepSeconds = 60.0 / tempo / STEPS_PER_QUARTER;
    const events = [];
    notes.forEach((n, i) => {
      events.push([roundHalfEven((n.start * stepSeconds - 0) / tickScale), (n.pitch << 8) + 80, 2 * i, n.pitch, 80]);
      events.push([roundHalfEven((n.end * stepSeconds - 0) / tickScale), n.pitch << 8, 2 * i + 1, n.pitch, 0]);
    });
    events.sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2]);
    const body = [0, 0xc0 | channel, 0];
    let now = 0;
    events.forEach(([tick, , , pitch, velocity], k) => {
      body.push(...varlen(tick - now));
      if (k === 0) body.push(0x90 | channel);
      body.push(pitch, velocity);
      now = tick;
    });
    body.push(1, 0xff, 0x2f, 0);
    const header = chunk("MThd", [0, 1, 0, 2, MIDI_RESOLUTION >> 8, MIDI_RESOLUTION & 255]);
    return new Uint8Array(header.concat(chunk("MTrk", conductor), chunk("MTrk", body)));
  };

  /* ------------------------------------------------------------------------------------------------------------
   * The Transformer (model/transformer.py) in float32 weights, with a KV cache */

  const registered = {};
  MG.registered = registered;
  const waiting = {};

  function decodeBase64(text) {
    const binary = root.atob ? root.atob(text) : Buffer.from(text, "base64").toString("binary");
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return new Float32Array(bytes.buffer);
  }

  /** Called by a genre's weights file (web/models/<genre>.js, written by model/export.py). */
  MG.registerModel = function (meta) {
    if (meta.format !== 1) throw new Error(`${meta.genre}: weights of format ${meta.format}, this page reads format 1`);
    registered[meta.genre] = meta;
    (waiting[meta.genre] || []).forEach(resolve => resolve(meta));
    delete waiting[meta.genre];
  };

  /** A promise of the genre's registered weights meta (resolves when its weights file has run). */
  MG.whenRegistered = function (genre) {
    if (registered[genre]) return Promise.resolve(registered[genre]);
    return new Promise(resolve => (waiting[genre] = waiting[genre] || []).push(resolve));
  };

  function erf(x) { // Cody's rational function below 0.5 (error < 1e-15), Numerical Recipes' erfc above (< 1.2e-7)
    const ax = Math.abs(x);
    if (ax < 0.5) {
      const t = x * x;
      const p = ((((0.185777706184603153 * t + 3.16112374387056560) * t + 113.864154151050156) * t
        + 377.485237685302021) * t + 3209.37758913846947);
      const q = ((((t + 23.6012909523441209) * t + 244.024637934444173) * t + 1282.61652607737228) * t
        + 2844.23683343917062);
      return x * p / q;
    }
    const t = 1 / (1 + 0.5 * ax);
    const erfc = t * Math.exp(-ax * ax - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418
      + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223
      + t * 0.17087277)))))))));
    return x < 0 ? erfc - 1 : 1 - erfc;
  }

  /* Linear layers: y[t] = x[t] W^T + b with W stored transposed, (in, out) row-major, and out padded to a multiple
   * of 8 (zero columns), so that WebAssembly SIMD computes 8 outputs of 4 rows at a time (f32x4, float32 sums as
   * PyTorch's fp32). Where the browser has no WebAssembly SIMD, the same layout in plain JavaScript. */

  const PAD_OUT = 8;

  function leb(n) { // unsigned LEB128
    const out = [];
    do { let byte = n & 0x7f; n >>>= 7; if (n) byte |= 0x80; out.push(byte); } while (n);
    return out;
  }

  function sleb(n) { // signed LEB128
    const out = [];
    for (;;) {
      const byte = n & 0x7f;
      n >>= 7;
      if ((n === 0 && !(byte & 0x40)) || (n === -1 && (byte & 0x40))) { out.push(byte); return out; }
      out.push(byte | 0x80);
    }
  }

  // the few WebAssembly instructions the kernels use (byte addresses; v128 = four float32)
  const get = i => [0x20, ...leb(i)], set = i => [0x21, ...leb(i)], tee = i => [0x22, ...leb(i)];
  const i32 = n => [0x41, ...sleb(n)], add = [0x6a], mul = [0x6c], geU = [0x4f], ltU = [0x49];
  const simd = (code, offset = null) => [0xfd, ...leb(code), ...(offset === null ? [] : [4, ...leb(offset)])];
  const load = o => simd(0x00, o), store = o => simd(0x0b, o), splat = o => [0xfd, 0x09, 2, ...leb(o)];
  const fadd = simd(0xe4), fmul = simd(0xe6), zero = [0xfd, 0x0c, ...new Array(16).fill(0)];
  const LOOP = [0x03, 0x40], BLOCK = [0x02, 0x40], END = [0x0b], br = depth => [0x0c, depth];
  const brIf = depth => [0x0d, depth];

  /** A function body: `i32s` i32 locals after the parameters, then `v128s` v128 locals, then the code. */
  function body(i32s, v128s, code) {
    const locals = [2, ...leb(i32s), 0x7f, ...leb(v128s), 0x7b];
    return [...leb(locals.length + code.length + 1), ...locals, ...code, ...END];
  }

  /** Linear kernel for `R` rows at a time and `nIn` inputs: (x, rows, wt, b, nOut, y), rows a multiple of R, nOut
   * of 8. */
  function linearKernel(R, nIn) {
    const [X, ROWS, WT, B, NOUT, Y, T, O, XP, WP, YP, XEND] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
    const ACC = 12, W0 = ACC + 2 * R, W1 = W0 + 1, S = W1 + 1;
    const code = [
      ...i32(0), ...set(T),
      0x02, 0x40, 0x03, 0x40,
      ...get(T), ...get(ROWS), ...geU, 0x0d, 1,
      ...i32(0), ...set(O),
      0x02, 0x40, 0x03, 0x40,
      ...get(O), ...get(NOUT), ...geU, 0x0d, 1];
    for (let r = 0; r < R; r++) {
      for (let c = 0; c < 2; c++) code.push(...get(B), ...get(O), ...i32(4), ...mul, ...add, ...load(16 * c), ...set(ACC + 2 * r + c));
    }
    code.push(...get(X), ...get(T), ...i32(nIn * 4), ...mul, ...add, ...tee(XP), ...i32(nIn * 4), ...add, ...set(XEND),
      ...get(WT), ...get(O), ...i32(4), ...mul, ...add, ...set(WP),
      0x03, 0x40,
      ...get(WP), ...load(0), ...set(W0), ...get(WP), ...load(16), ...set(W1));
    for (let r = 0; r < R; r++) {
      const a0 = ACC + 2 * r, a1 = a0 + 1;
      code.push(...get(XP), ...splat(r * nIn * 4), ...tee(S), ...get(W0), ...fmul, ...get(a0), ...fadd, ...set(a0),
        ...get(S), ...get(W1), ...fmul, ...get(a1), ...fadd, ...set(a1));
    }
    code.push(...get(WP), ...get(NOUT), ...i32(4), ...mul, ...add, ...set(WP),
      ...get(XP), ...i32(4), ...add, ...tee(XP), ...get(XEND), ...ltU, 0x0d, 0, 0x0b,
      ...get(Y), ...get(T), ...get(NOUT), ...mul, ...get(O), ...add, ...i32(4), ...mul, ...add, ...set(YP));
    for (let r = 0; r < R; r++) {
      const a0 = ACC + 2 * r;
      code.push(...get(YP), ...get(a0), ...store(0), ...get(YP), ...get(a0 + 1), ...store(16),
        ...get(YP), ...get(NOUT), ...i32(4), ...mul, ...add, ...set(YP));
    }
    code.push(...get(O), ...i32(8), ...add, ...set(O), 0x0c, 0, 0x0b, 0x0b,
      ...get(T), ...i32(R), ...add, ...set(T), 0x0c, 0, 0x0b, 0x0b);
    return body(6, 2 * R + 3, code); // the accumulators, w0, w1 and s
  }

  /** Attention scores kernel: (q, kt, keys, out), out[j] = q . K[j] for j < keys rounded up to 16, q the `hd`
   * values of one head, kt its keys transposed (hd rows of `L` positions). */
  function scoresKernel(hd, L) {
    const [Q, KT, KEYS, OUT, J, QP, KP, QEND] = [0, 1, 2, 3, 4, 5, 6, 7], A = 8, S = 12;
    const code = [...i32(0), ...set(J), ...BLOCK, ...LOOP, ...get(J), ...get(KEYS), ...geU, ...brIf(1)];
    for (let c = 0; c < 4; c++) code.push(...zero, ...set(A + c));
    code.push(...get(Q), ...tee(QP), ...i32(hd * 4), ...add, ...set(QEND),
      ...get(KT), ...get(J), ...i32(4), ...mul, ...add, ...set(KP), ...LOOP,
      ...get(QP), ...splat(0), ...set(S));
    for (let c = 0; c < 4; c++) code.push(...get(S), ...get(KP), ...load(16 * c), ...fmul, ...get(A + c), ...fadd, ...set(A + c));
    code.push(...get(KP), ...i32(L * 4), ...add, ...set(KP),
      ...get(QP), ...i32(4), ...add, ...tee(QP), ...get(QEND), ...ltU, ...brIf(0), ...END,
      ...get(OUT), ...get(J), ...i32(4), ...mul, ...add, ...set(KP));
    for (let c = 0; c < 4; c++) code.push(...get(KP), ...get(A + c), ...store(16 * c));
    code.push(...get(J), ...i32(16), ...add, ...set(J), ...br(0), ...END, ...END);
    return body(4, 5, code);
  }

  /** Attention values kernel: (p, v, keys, out), out = sum over j < keys of p[j] V[j], V rows `d` floats apart. */
  function valuesKernel(hd, d) {
    const [P, VP, KEYS, OUT, PEND] = [0, 1, 2, 3, 4], A = 5, n = hd / 4, S = A + n;
    const code = [];
    for (let c = 0; c < n; c++) code.push(...zero, ...set(A + c));
    code.push(...get(P), ...get(KEYS), ...i32(4), ...mul, ...add, ...set(PEND), ...BLOCK, ...LOOP,
      ...get(P), ...get(PEND), ...geU, ...brIf(1), ...get(P), ...splat(0), ...set(S));
    for (let c = 0; c < n; c++) code.push(...get(S), ...get(VP), ...load(16 * c), ...fmul, ...get(A + c), ...fadd, ...set(A + c));
    code.push(...get(VP), ...i32(d * 4), ...add, ...set(VP), ...get(P), ...i32(4), ...add, ...set(P), ...br(0), ...END, ...END);
    for (let c = 0; c < n; c++) code.push(...get(OUT), ...get(A + c), ...store(16 * c));
    return body(1, n + 1, code);
  }

  /** The model's WebAssembly kernels on `memory` (MG.noWasm = true before a model is built: plain JavaScript): linear layers of `d` and `f` inputs (4 rows and 1 row at a time),
   * attention scores and values; null where the browser has no WebAssembly SIMD. */
  function wasmKernels({d_model: d, d_ff: f, n_heads: H, max_len: L}, memory) {
    if (MG.noWasm || typeof WebAssembly === "undefined") return null;
    const section = (id, content) => [id, ...leb(content.length), ...content];
    const vec = items => [...leb(items.length), ...items.flat()];
    const name = text => [...leb(text.length), ...[...text].map(c => c.charCodeAt(0))];
    const kernels = {scores: [1, scoresKernel(d / H, L)], values: [1, valuesKernel(d / H, d)]};
    for (const n of new Set([d, f])) {
      kernels[`linear4x${n}`] = [0, linearKernel(4, n)];
      kernels[`linear1x${n}`] = [0, linearKernel(1, n)];
    }
    const i32s = n => [0x60, n, ...new Array(n).fill(0x7f), 0];
    const bytes = [0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
      ...section(1, vec([i32s(6), i32s(4)])),
      ...section(2, vec([[...name("env"), ...name("memory"), 0x02, 0x00, ...leb(memory.buffer.byteLength / 65536)]])),
      ...section(3, vec(Object.values(kernels).map(([type]) => [type]))),
      ...section(7, vec(Object.keys(kernels).map((key, i) => [...name(key), 0x00, ...leb(i)]))),
      ...section(10, vec(Object.values(kernels).map(([, code]) => code)))];
    try {
      const module = new WebAssembly.Module(new Uint8Array(bytes));
      return new WebAssembly.Instance(module, {env: {memory}}).exports;
    } catch (err) {
      return null;
    }
  }

  /** y = x W^T + b of `rows` rows, W transposed and padded (see above) in `lin`, by the model's kernels. */
  function linear(kernels, x, rows, lin, y) {
    const {W, b, nIn, nOut} = lin;
    if (kernels) {
      const whole = rows - rows % 4, rowBytes = nIn * 4;
      if (whole) kernels[`linear4x${nIn}`](x.byteOffset, whole, W.byteOffset, b.byteOffset, nOut, y.byteOffset);
      if (rows > whole) {
        kernels[`linear1x${nIn}`](x.byteOffset + whole * rowBytes, rows - whole, W.byteOffset, b.byteOffset, nOut,
          y.byteOffset + whole * nOut * 4);
      }
      return;
    }
    for (let t = 0; t < rows; t++) {
      const xo = t * nIn, yo = t * nOut;
      for (let o = 0; o < nOut; o += 4) {
        let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (let i = 0, w = o; i < nIn; i++, w += nOut) {
          const v = x[xo + i];
          s0 += v * W[w]; s1 += v * W[w + 1]; s2 += v * W[w + 2]; s3 += v * W[w + 3];
        }
        y[yo + o] = s0 + b[o]; y[yo + o + 1] = s1 + b[o + 1]; y[yo + o + 2] = s2 + b[o + 2]; y[yo + o + 3] = s3 + b[o + 3];
      }
    }
  }

  function layerNorm(x, rows, d, g, b, y) {
    for (let t = 0; t < rows; t++) {
      const o = t * d;
      let mean = 0;
      for (let i = 0; i < d; i++) mean += x[o + i];
      mean /= d;
      let v = 0;
      for (let i = 0; i < d; i++) { const c = x[o + i] - mean; v += c * c; }
      const inv = 1 / Math.sqrt(v / d + 1e-5);
      for (let i = 0; i < d; i++) y[o + i] = (x[o + i] - mean) * inv * g[i] + b[i];
    }
  }

  /** Causal attention of T queries (in `qkv`, rows of q k v) after `past` cached positions into `att` (T x d), over
   * the cache's keys (transposed: `kt`, d rows of L positions) and values (`v`, L rows of d). */
  function attend(k, qkv, kt, v, T, past, {d_model: d, n_heads: H, max_len: L}, {q, scores, p}, att) {
    const hd = d / H, scale = 1 / Math.sqrt(hd);
    for (let t = 0; t < T; t++) {
      const keys = past + t + 1;
      for (let hh = 0; hh < H; hh++) {
        const ho = hh * hd;
        for (let i = 0; i < hd; i++) q[i] = qkv[t * 3 * d + ho + i] * scale;
        if (k) k.scores(q.byteOffset, kt.byteOffset + ho * L * 4, keys, scores.byteOffset);
        else {
          for (let j = 0; j < keys; j++) {
            let s = 0;
            for (let i = 0; i < hd; i++) s += q[i] * kt[(ho + i) * L + j];
            scores[j] = s;
          }
        }
        let max = -Infinity, sum = 0;
        for (let j = 0; j < keys; j++) if (scores[j] > max) max = scores[j];
        for (let j = 0; j < keys; j++) { const e = Math.exp(scores[j] - max); p[j] = e; sum += e; }
        for (let j = 0; j < keys; j++) p[j] /= sum;
        const out = t * d + ho;
        if (k) k.values(p.byteOffset, v.byteOffset + ho * 4, keys, att.byteOffset + out * 4);
        else {
          for (let i = 0; i < hd; i++) att[out + i] = 0;
          for (let j = 0; j < keys; j++) {
            for (let i = 0; i < hd; i++) att[out + i] += p[j] * v[j * d + ho + i];
          }
        }
      }
    }
  }

  /** One genre's network, ready to run: `forward(ids, cache, rows)` -> logits of the last rows. Its linear layers'
   * weights and the buffers they read and write live in one Float32Array (WebAssembly memory where it can). */
  class Transformer {
    constructor(meta) {
      const floats = decodeBase64(meta.weights);
      if (floats.length !== meta.floats) throw new Error(`${meta.genre}: ${floats.length} weights, expected ${meta.floats}`);
      this.meta = meta;
      this.cfg = meta.config;
      this.tokenizer = MG.tokenizers[meta.tokenizer];
      if (!this.tokenizer || this.tokenizer.size !== meta.vocab_size) {
        throw new Error(`${meta.genre}: a ${meta.tokenizer} vocabulary of ${meta.vocab_size} tokens is not one the page knows`);
      }
      const w = {}, shapes = {};
      for (const t of meta.tensors) {
        const n = t.shape.reduce((a, b) => a * b, 1);
        w[t.name] = floats.subarray(t.offset, t.offset + n);
        shapes[t.name] = t.shape;
      }
      this.w = w;
      const {d_model: d, max_len: L, d_ff: f, n_layers: nl} = this.cfg;
      this.vocab = meta.vocab_size;
      const pad = n => Math.ceil(n / PAD_OUT) * PAD_OUT;
      const linears = ["attn.qkv", "attn.proj", "ff.0", "ff.2"].flatMap(n => [...Array(nl).keys()].map(l => `blocks.${l}.${n}`));
      linears.push("head");
      const hd = d / this.cfg.n_heads;
      const buffers = {h: L * d, qkv: L * 3 * d, att: L * d, ff: L * f, out: L * d, logits: L * pad(this.vocab),
        q: hd, scores: L + 16, p: L, cache: 2 * nl * L * d};
      let total = Object.values(buffers).reduce((a, b) => a + b, 0);
      for (const name of linears) total += (shapes[name + ".weight"][1] + 1) * pad(shapes[name + ".weight"][0]);
      const memory = typeof WebAssembly !== "undefined" && !MG.noWasm
        ? new WebAssembly.Memory({initial: Math.ceil(total * 4 / 65536) + 1}) : null;
      this.kernels = memory ? wasmKernels(this.cfg, memory) : null;
      const heap = this.kernels ? new Float32Array(memory.buffer) : new Float32Array(total);
      let used = 0;
      const take = n => { used += n; return heap.subarray(used - n, used); };
      for (const [name, n] of Object.entries(buffers)) this[name] = take(n);
      this.lin = {};
      for (const name of linears) {
        const [nOut, nIn] = shapes[name + ".weight"], W = w[name + ".weight"], padded = pad(nOut);
        const WT = take(nIn * padded), b = take(padded);
        for (let o = 0; o < nOut; o++) for (let i = 0; i < nIn; i++) WT[i * padded + o] = W[o * nIn + i];
        b.set(w[name + ".bias"]);
        this.lin[name] = {W: WT, b, nIn, nOut: padded};
      }
      this.x = new Float32Array(L * d);
      this.caches = 0;
    }

    /** An empty KV cache of up to max_len positions. The model holds one: a new cache ends the previous one. */
    newCache() {
      this.caches++;
      return {length: 0, id: this.caches};
    }

    /** Logits (rows x vocab, row-major) of the last `rows` of `ids`, which follow the cache's positions; the cache
     * takes the keys and values of every id. */
    forward(ids, cache, rows = 1) {
      const {d_model: d, max_len: L, d_ff: f} = this.cfg;
      const T = ids.length, past = cache.length, k = this.kernels;
      if (past + T > L) throw new Error(`sequence of ${past + T} tokens exceeds max_len ${L}`);
      if (cache.id !== this.caches) throw new Error("a KV cache used after a newer one of the same model was made");
      const {x, h, qkv, att, ff, out} = this, w = this.w;
      const tok = w["tok_emb.weight"], pos = w["pos_emb.weight"];
      for (let t = 0; t < T; t++) {
        const a = ids[t] * d, p = (past + t) * d;
        for (let i = 0; i < d; i++) x[t * d + i] = tok[a + i] + pos[p + i];
      }
      for (let l = 0; l < this.cfg.n_layers; l++) {
        const p = `blocks.${l}.`, KT = this.cache.subarray(2 * l * L * d, (2 * l + 1) * L * d);
        const V = this.cache.subarray((2 * l + 1) * L * d, (2 * l + 2) * L * d);
        layerNorm(x, T, d, w[p + "ln1.weight"], w[p + "ln1.bias"], h);
        linear(k, h, T, this.lin[p + "attn.qkv"], qkv);
        for (let t = 0; t < T; t++) {
          const row = t * 3 * d, at = past + t;
          for (let c = 0; c < d; c++) KT[c * L + at] = qkv[row + d + c];
          V.set(qkv.subarray(row + 2 * d, row + 3 * d), at * d);
        }
        attend(k, qkv, KT, V, T, past, this.cfg, this, att);
        linear(k, att, T, this.lin[p + "attn.proj"], out);
        for (let i = 0; i < T * d; i++) x[i] += out[i];
        layerNorm(x, T, d, w[p + "ln2.weight"], w[p + "ln2.bias"], h);
        linear(k, h, T, this.lin[p + "ff.0"], ff);
        for (let i = 0; i < T * f; i++) { const v = ff[i]; ff[i] = 0.5 * v * (1 + erf(v * Math.SQRT1_2)); }
        linear(k, ff, T, this.lin[p + "ff.2"], out);
        for (let i = 0; i < T * d; i++) x[i] += out[i];
      }
      cache.length = past + T;
      rows = Math.min(rows, T);
      layerNorm(x.subarray((T - rows) * d, T * d), rows, d, w["ln_f.weight"], w["ln_f.bias"], h);
      const head = this.lin.head, V = this.vocab, logits = new Float32Array(rows * V);
      linear(k, h, rows, head, this.logits);
      for (let r = 0; r < rows; r++) logits.set(this.logits.subarray(r * head.nOut, r * head.nOut + V), r * V);
      return logits;
    }
  }
  MG.Transformer = Transformer;

  const models = {};
  /** The genre's Transformer, built once from its registered weights. */
  MG.model = function (genre) {
    if (!models[genre]) {
      if (!registered[genre]) throw new Error(`the weights of ${genre} are not loaded`);
      models[genre] = new Transformer(registered[genre]);
    }
    return models[genre];
  };

  /** Next-token logits for a growing sequence, past max_len by model/sample.py's sliding window: when the window
   * is full it restarts from the last max_len / 2 tokens (re-encoded at positions 0..), and grows again. */
  class ContextWindow {
    constructor(model) {
      this.model = model;
      this.start = 0;
      this.cache = model.newCache();
    }

    nextLogits(tokens) {
      const L = this.model.cfg.max_len;
      if (tokens.length - this.start >= L) {
        this.start = tokens.length - Math.floor(L / 2);
        this.cache = this.model.newCache();
      }
      return this.model.forward(tokens.slice(this.start + this.cache.length), this.cache, 1);
    }
  }
  MG.ContextWindow = ContextWindow;

  /** The page's seeded generator (mulberry32 on the seed's 32 bits): floats in [0, 1). Not torch's generator. */
  MG.random = function (seed) {
    let a = (Number(seed) >>> 0) ^ 0x9e3779b9;
    return function () {
      a = (a + 0x6d2b79f5) | 0;
      let t = Math.imul(a ^ (a >>> 15), 1 | a);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  };

  /** One token from logits as model/sample.generate draws it: PAD, BOS and EOS banned, logits / temperature,
   * only the top_k likeliest (ties with the k-th kept; 0: all), then a draw with `random`. */
  MG.pickToken = function (logits, temperature, topK, random) {
    const n = logits.length, z = new Float64Array(n);
    for (let i = 0; i < n; i++) z[i] = logits[i] / temperature;
    z[PAD] = z[BOS] = z[EOS] = -Infinity;
    if (topK > 0 && topK < n) {
      const kth = Float64Array.from(z).sort()[n - topK];
      for (let i = 0; i < n; i++) if (z[i] < kth) z[i] = -Infinity;
    }
    let max = -Infinity;
    for (let i = 0; i < n; i++) if (z[i] > max) max = z[i];
    let sum = 0;
    for (let i = 0; i < n; i++) { z[i] = Math.exp(z[i] - max); sum += z[i]; }
    let u = random() * sum, last = -1;
    for (let i = 0; i < n; i++) {
      if (z[i] > 0) {
        last = i;
        u -= z[i];
        if (u < 0) return i;
      }
    }
    return last;
  };

  const pause = () => new Promise(resolve => setTimeout(resolve, 0));
  const SLICE_MS = 30; // work between pauses, so the page stays responsive

  /** Sample after `prompt` (token ids, default [BOS]) until `maxSteps` 16ths of time past the prompt or `maxTokens`
   * tokens: model/sample.generate with the page's generator. Works in slices of SLICE_MS, calling
   * `onProgress(tokens, elapsedSteps)` after each; `shouldStop()` ends it early. Resolves to the token ids. */
  MG.generate = async function (model, {maxSteps, temperature, topK, seed, maxTokens, prompt = null,
                                        onProgress = null, shouldStop = null}) {
    const tokens = prompt && prompt.length ? [...prompt] : [BOS];
    const clock = model.tokenizer.clock();
    for (const t of tokens) clock.feed(t);
    const origin = clock.now, random = MG.random(seed), window = new ContextWindow(model);
    let elapsed = 0;
    while (elapsed < maxSteps && tokens.length < maxTokens) {
      const sliceEnd = Date.now() + SLICE_MS;
      while (elapsed < maxSteps && tokens.length < maxTokens && Date.now() < sliceEnd) {
        const token = MG.pickToken(window.nextLogits(tokens), temperature, topK, random);
        tokens.push(token);
        clock.feed(token);
        elapsed = clock.now - origin;
      }
      if (onProgress) onProgress(tokens, elapsed);
      if (shouldStop && shouldStop()) break;
      await pause();
    }
    return tokens;
  };

  /** (start, first scored target offset) of each window over an n-token stream (analysis/likelihood.scored_windows). */
  MG.scoredWindows = function (n, maxLen) {
    const length = Math.min(maxLen, n - 1);
    if (length < 1) return [];
    const last = n - 1 - length, starts = [];
    for (let s = 0; s < last; s += Math.max(1, Math.floor(maxLen / 2))) starts.push(s);
    starts.push(last);
    const plan = [];
    let covered = 0;
    for (const s of starts) { plan.push([s, Math.max(0, covered - s)]); covered = s + length; }
    return plan;
  };

  /** Next-token costs (nats, Float64Array) of tokens 1..n-1 of `stream`, each scored once by the windows of
   * analysis/likelihood.token_nll, in slices; `onProgress(done, windows)` after each window. */
  MG.tokenNll = async function (model, stream, onProgress = null) {
    const L = model.cfg.max_len, plan = MG.scoredWindows(stream.length, L), V = model.vocab;
    const out = new Float64Array(Math.max(stream.length - 1, 0)).fill(NaN);
    const length = Math.min(L, stream.length - 1);
    let sliceEnd = Date.now() + SLICE_MS;
    for (let w = 0; w < plan.length; w++) {
      const [start, first] = plan[w];
      const logits = model.forward(stream.slice(start, start + length), model.newCache(), length - first);
      for (let j = first; j < length; j++) {
        const row = (j - first) * V;
        let max = -Infinity;
        for (let i = 0; i < V; i++) if (logits[row + i] > max) max = logits[row + i];
        let sum = 0;
        for (let i = 0; i < V; i++) sum += Math.exp(logits[row + i] - max);
        out[start + j] = Math.log(sum) + max - logits[row + stream[start + j + 1]];
      }
      if (onProgress) onProgress(w + 1, plan.length);
      if (Date.now() >= sliceEnd) { await pause(); sliceEnd = Date.now() + SLICE_MS; }
    }
    return out;
  };

  const round4 = x => Math.round(x * 1e4) / 1e4;

  /** What `midi-genres score` reports of one model on canonical notes: bits per note, split by part (pitch, timing,
   * duration, structure), per token and per second at the model's tempo. */
  MG.scoreNotes = async function (model, notes, onProgress = null) {
    const stream = model.tokenizer.encode(notes), nll = await MG.tokenNll(model, stream, onProgress);
    const parts = model.tokenizer.parts(), byPart = [0, 0, 0, 0];
    let total = 0;
    for (let i = 0; i < nll.length; i++) {
      const bits = nll[i] / Math.LN2;
      total += bits;
      byPart[parts[stream[i + 1]]] += bits;
    }
    const seconds = MG.stepsToSeconds(MG.lastEnd(notes), model.meta.tempo);
    const row = {genre: model.meta.genre, title: model.meta.title, notes: notes.length, tokens: nll.length,
      seconds: Math.round(seconds * 1000) / 1000, bits: Math.round(total * 10) / 10,
      bits_per_token: round4(total / nll.length), bits_per_note: round4(total / notes.length),
      bits_per_second: round4(total / seconds)};
    PARTS.forEach((part, k) => { row[`${part}_bits_per_note`] = round4(byPart[k] / notes.length); });
    return row;
  };

  if (typeof module !== "undefined" && module.exports) module.exports = MG;
})(typeof globalThis !== "undefined" ? globalThis : this);
