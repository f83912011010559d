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
  MG.BOS = BOS;
  MG.EOS = EOS;

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
  MG.normalize = normalize;

  /** The notes before `steps` (cut there), as experiments/crossprompt.split_at's head. */
  MG.headOf = function (notes, steps) {
    return normalize(notes.filter(n => n.start < steps).map(n => ({pitch: n.pitch, start: n.start,
      end: Math.min(n.end, steps)})));
  };

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

  const EV = {MAX_SHIFT: 32, NOTE_ON: 3, NOTE_OFF: 3 + N_PITCHES, SHIFT: 3 + 2 * N_PITCHES};
  EV.SIZE = EV.SHIFT + EV.MAX_SHIFT;

  const eventTokenizer = {
    name: "event",
    size: EV.SIZE,
    parts() {
      const p = new Uint8Array(EV.SIZE).fill(3);
      p.fill(0, EV.NOTE_ON, EV.NOTE_OFF);
      p.fill(2, EV.NOTE_OFF, EV.SHIFT);
      p.fill(1, EV.SHIFT, EV.SIZE);
      return p;
    },
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
    parts() {
      const p = new Uint8Array(RE.SIZE).fill(3);
      p.fill(1, RE.BAR, RE.PITCH);
      p.fill(0, RE.PITCH, RE.DURATION);
      p.fill(2, RE.DURATION, RE.SIZE);
      return p;
    },
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
  MG.erf = erf;

  /** y[t] = W x[t] + b for `rows` rows: W is (out, in) row-major (nn.Linear's weight); 4 rows by 4 outputs at a
   * time, so each load serves four products. */
  function linear(x, rows, W, b, nIn, nOut, y) {
    const whole = rows - rows % 4, outs = nOut - nOut % 4;
    for (let t = 0; t < whole; t += 4) {
      const x0 = t * nIn, x1 = x0 + nIn, x2 = x1 + nIn, x3 = x2 + nIn;
      for (let o = 0; o < outs; o += 4) {
        const w0 = o * nIn, w1 = w0 + nIn, w2 = w1 + nIn, w3 = w2 + nIn;
        let a00 = 0, a01 = 0, a02 = 0, a03 = 0, a10 = 0, a11 = 0, a12 = 0, a13 = 0;
        let a20 = 0, a21 = 0, a22 = 0, a23 = 0, a30 = 0, a31 = 0, a32 = 0, a33 = 0;
        for (let i = 0; i < nIn; i++) {
          const v0 = x[x0 + i], v1 = x[x1 + i], v2 = x[x2 + i], v3 = x[x3 + i];
          const u0 = W[w0 + i], u1 = W[w1 + i], u2 = W[w2 + i], u3 = W[w3 + i];
          a00 += v0 * u0; a01 += v0 * u1; a02 += v0 * u2; a03 += v0 * u3;
          a10 += v1 * u0; a11 += v1 * u1; a12 += v1 * u2; a13 += v1 * u3;
          a20 += v2 * u0; a21 += v2 * u1; a22 += v2 * u2; a23 += v2 * u3;
          a30 += v3 * u0; a31 += v3 * u1; a32 += v3 * u2; a33 += v3 * u3;
        }
        const y0 = t * nOut + o, y1 = y0 + nOut, y2 = y1 + nOut, y3 = y2 + nOut;
        const b0 = b[o], b1 = b[o + 1], b2 = b[o + 2], b3 = b[o + 3];
        y[y0] = a00 + b0; y[y0 + 1] = a01 + b1; y[y0 + 2] = a02 + b2; y[y0 + 3] = a03 + b3;
        y[y1] = a10 + b0; y[y1 + 1] = a11 + b1; y[y1 + 2] = a12 + b2; y[y1 + 3] = a13 + b3;
        y[y2] = a20 + b0; y[y2 + 1] = a21 + b1; y[y2 + 2] = a22 + b2; y[y2 + 3] = a23 + b3;
        y[y3] = a30 + b0; y[y3 + 1] = a31 + b1; y[y3 + 2] = a32 + b2; y[y3 + 3] = a33 + b3;
      }
    }
    for (let t = 0; t < rows; t++) {
      const xo = t * nIn, yo = t * nOut;
      for (let o = t < whole ? outs : 0; o < nOut; o++) {
        const wo = o * nIn;
        let s = 0;
        for (let i = 0; i < nIn; i++) s += x[xo + i] * W[wo + i];
        y[yo + o] = s + b[o];
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

  /** Causal attention of T queries (in `qkv`, rows of q k v) after `past` cached positions, over the keys K and
   * values V of every position (rows of d), into `att` (T x d). */
  function attend(qkv, K, V, T, past, d, H, scores, q, acc, att) {
    const hd = d / H, scale = 1 / Math.sqrt(hd);
    for (let t = 0; t < T; t++) {
      const keys = past + t + 1;
      for (let hh = 0; hh < H; hh++) {
        const ho = hh * hd;
        for (let i = 0; i < hd; i++) q[i] = qkv[t * 3 * d + ho + i] * scale;
        let max = -Infinity;
        for (let j = 0; j < keys; j++) {
          const ko = j * d + ho;
          let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
          for (let i = 0; i < hd; i += 4) {
            s0 += q[i] * K[ko + i]; s1 += q[i + 1] * K[ko + i + 1];
            s2 += q[i + 2] * K[ko + i + 2]; s3 += q[i + 3] * K[ko + i + 3];
          }
          const s = (s0 + s1) + (s2 + s3);
          scores[j] = s;
          if (s > max) max = s;
        }
        let sum = 0;
        for (let j = 0; j < keys; j++) { const e = Math.exp(scores[j] - max); scores[j] = e; sum += e; }
        acc.fill(0);
        for (let j = 0; j < keys; j++) {
          const p = scores[j], vo = j * d + ho;
          for (let i = 0; i < hd; i++) acc[i] += p * V[vo + i];
        }
        const out = t * d + ho;
        for (let i = 0; i < hd; i++) att[out + i] = acc[i] / sum;
      }
    }
  }

  /** One genre's network, ready to run: `forward(ids, cache)` -> logits of the last position. */
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
      const w = {};
      for (const t of meta.tensors) {
        const n = t.shape.reduce((a, b) => a * b, 1);
        w[t.name] = floats.subarray(t.offset, t.offset + n);
      }
      this.w = w;
      const {d_model: d, max_len: L, d_ff: f, n_layers: nl} = this.cfg;
      this.vocab = meta.vocab_size;
      this.layers = [];
      for (let l = 0; l < nl; l++) {
        const p = `blocks.${l}.`;
        this.layers.push({
          ln1g: w[p + "ln1.weight"], ln1b: w[p + "ln1.bias"], qkvW: w[p + "attn.qkv.weight"], qkvB: w[p + "attn.qkv.bias"],
          projW: w[p + "attn.proj.weight"], projB: w[p + "attn.proj.bias"], ln2g: w[p + "ln2.weight"], ln2b: w[p + "ln2.bias"],
          ff1W: w[p + "ff.0.weight"], ff1B: w[p + "ff.0.bias"], ff2W: w[p + "ff.2.weight"], ff2B: w[p + "ff.2.bias"],
        });
      }
      // scratch for up to max_len positions
      this.x = new Float32Array(L * d);
      this.h = new Float32Array(L * d);
      this.qkv = new Float32Array(L * 3 * d);
      this.att = new Float32Array(L * d);
      this.ff = new Float32Array(L * f);
      this.scores = new Float64Array(L);
      this.q = new Float64Array(d / this.cfg.n_heads);
      this.acc = new Float64Array(d / this.cfg.n_heads);
    }

    /** An empty KV cache: per layer keys and values of up to max_len positions. */
    newCache() {
      const {d_model: d, max_len: L} = this.cfg;
      return {length: 0, layers: this.layers.map(() => ({k: new Float32Array(L * d), v: new Float32Array(L * d)}))};
    }

    /** Logits (Float32Array, rows x vocab) of the last `rows` of `ids`, which follow the cache's positions; the
     * cache takes the keys and values of every id. */
    forward(ids, cache, rows = 1) {
      const {d_model: d, n_heads: H, max_len: L, d_ff: f} = this.cfg;
      const T = ids.length, past = cache.length;
      if (past + T > L) throw new Error(`sequence of ${past + T} tokens exceeds max_len ${L}`);
      const {x, h, qkv, att, ff, scores} = this;
      const tok = this.w["tok_emb.weight"], pos = this.w["pos_emb.weight"];
      for (let t = 0; t < T; t++) {
        const a = ids[t] * d, p = (past + t) * d;
        for (let i = 0; i < d; i++) x[t * d + i] = tok[a + i] + pos[p + i];
      }
      for (let l = 0; l < this.layers.length; l++) {
        const layer = this.layers[l], K = cache.layers[l].k, V = cache.layers[l].v;
        layerNorm(x, T, d, layer.ln1g, layer.ln1b, h);
        linear(h, T, layer.qkvW, layer.qkvB, d, 3 * d, qkv);
        for (let t = 0; t < T; t++) {
          K.set(qkv.subarray(t * 3 * d + d, t * 3 * d + 2 * d), (past + t) * d);
          V.set(qkv.subarray(t * 3 * d + 2 * d, t * 3 * d + 3 * d), (past + t) * d);
        }
        attend(qkv, K, V, T, past, d, H, scores, this.q, this.acc, att);
        linear(att, T, layer.projW, layer.projB, d, d, h);
        for (let i = 0; i < T * d; i++) x[i] += h[i];
        layerNorm(x, T, d, layer.ln2g, layer.ln2b, h);
        linear(h, T, layer.ff1W, layer.ff1B, d, f, ff);
        for (let i = 0; i < T * f; i++) { const v = ff[i]; ff[i] = 0.5 * v * (1 + erf(v * Math.SQRT1_2)); }
        linear(ff, T, layer.ff2W, layer.ff2B, f, d, h);
        for (let i = 0; i < T * d; i++) x[i] += h[i];
      }
      cache.length = past + T;
      rows = Math.min(rows, T);
      const last = x.subarray((T - rows) * d, T * d), normed = new Float32Array(rows * d);
      layerNorm(last, rows, d, this.w["ln_f.weight"], this.w["ln_f.bias"], normed);
      const logits = new Float32Array(rows * this.vocab);
      linear(normed, rows, this.w["head.weight"], this.w["head.bias"], d, this.vocab, logits);
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
    const seconds = MG.stepsToSeconds(Math.max(...notes.map(n => n.end)), model.meta.tempo);
    const row = {genre: model.meta.genre, title: model.meta.title, notes: notes.length, tokens: nll.length,
      seconds: Math.round(seconds * 1000) / 1000, bits: Math.round(total * 10) / 10,
      bits_per_token: round4(total / nll.length), bits_per_note: round4(total / notes.length),
      bits_per_second: round4(total / seconds)};
    PARTS.forEach((part, k) => { row[`${part}_bits_per_note`] = round4(byPart[k] / notes.length); });
    return row;
  };

  if (typeof module !== "undefined" && module.exports) module.exports = MG;
})(typeof globalThis !== "undefined" ? globalThis : this);
