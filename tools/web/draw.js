/* Try Net6 in the page: draw a digit, see the prediction, the ten probabilities and every conv
   block's feature maps, computed in the browser by Net6's forward pass in plain JavaScript
   (tools/web/net.js, loaded before this file) from the trained weights.

   The page holds <div id="s6-draw" data-site="../../"> (the site root, relative to the page). This
   script loads <site>draw/digits.json (the page's facts and sample digits) and <site>draw/net6.json
   (the network), both written by `make digit`, i.e. `python -m s6lib export-digit`.

   The pad works at once: strokes drawn while the network loads are kept and read when it arrives.
   A drawing becomes Net6's input as MNIST's own digits were made: the bounding box of the strokes is
   scaled to fit 20×20 pixels, aspect ratio kept; the result is placed in a 28×28 field so that its
   centre of mass is at the centre; grey levels in [0, 1]; then the recipe's normalization. A sample
   digit is fed as its own 28×28 MNIST pixels (the pad only shows it, scaled up).

   For tests and the curious: window.s6draw = {ready, settled(), showSample(i), last, timing, facts,
   samples}: `last` holds the input fed to the network, the probabilities and the prediction. */
(function () {
  "use strict";
  const root = document.getElementById("s6-draw");
  if (!root || typeof S6Net === "undefined") return;
  const site = root.dataset.site || "";
  const PAD = 280, FIELD = 28, BOX = 20, STROKE = 22, STEP = 10;

  const el = (tag, attrs = {}, ...children) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === "class") node.className = v; else if (k === "text") node.textContent = v; else node.setAttribute(k, v);
    }
    children.forEach((c) => node.append(c));
    return node;
  };
  const percent = (p) => (100 * p).toFixed(1) + "%";

  // --- the layout ---------------------------------------------------------------------------
  root.textContent = "";
  const status = el("p", { class: "s6d-status", role: "status",
    text: "Loading Net6's weights… You can draw already: the prediction appears as soon as they arrive." });
  const keys = el("p", { class: "s6d-keys", id: "s6d-keys", text: "Keyboard: Tab to the pad, move the pen with the "
    + "arrow keys, Space puts it down or lifts it, Enter draws a dot, Escape clears." });
  const pad = el("canvas", { width: PAD, height: PAD, class: "s6d-pad", tabindex: "0", role: "application",
    "aria-label": "drawing pad: draw a digit", "aria-describedby": "s6d-keys" });
  const cursor = el("canvas", { width: PAD, height: PAD, class: "s6d-cursor", "aria-hidden": "true" });
  const clear = el("button", { type: "button", class: "s6d-button", text: "Clear" });
  const input = el("canvas", { width: FIELD, height: FIELD, class: "s6d-input", role: "img",
    "aria-label": "the 28×28 input Net6 reads" });
  const guess = el("div", { class: "s6d-guess", text: "…" });
  const bars = el("div", { class: "s6d-bars" });
  const barRows = [];
  for (let d = 0; d < 10; d++) {
    const fill = el("span", { class: "s6d-fill" });
    const value = el("span", { class: "s6d-value", text: "" });
    const row = el("div", { class: "s6d-bar" }, el("span", { class: "s6d-digit", text: String(d) }),
      el("span", { class: "s6d-track", "aria-hidden": "true" }, fill), value);
    barRows.push({ row, fill, value });
    bars.append(row);
  }
  const samples = el("div", { class: "s6d-samples", role: "group", "aria-label": "MNIST test digits" });
  const note = el("p", { class: "s6d-note", "aria-live": "polite" });
  const maps = el("div", { class: "s6d-maps" });
  root.append(status,
    el("div", { class: "s6d-top" },
      el("div", { class: "s6d-left" }, el("div", { class: "s6d-stack" }, pad, cursor), keys,
        el("div", { class: "s6d-controls" }, clear)),
      el("div", { class: "s6d-right" },
        el("div", { class: "s6d-row" },
          el("figure", { class: "s6d-fig" }, input, el("figcaption", { text: "what Net6 sees (28×28)" })),
          el("figure", { class: "s6d-fig" }, guess, el("figcaption", { text: "prediction" }))),
        bars,
        el("p", { class: "s6d-caveat", text: "Net6 has ten answers and no other: its ten probabilities always add "
          + "up to 100%, so a dot, a scribble or a letter is still read as one of the digits 0 to 9." }))),
    el("p", { class: "s6d-label", text: "Or show an MNIST test digit (its true label on the button; ✗: the network "
      + "on this page reads it wrong):" }),
    samples, note, maps);

  const ctx = pad.getContext("2d", { willReadFrequently: true });
  const resetPad = () => { ctx.fillStyle = "#000"; ctx.fillRect(0, 0, PAD, PAD); };
  resetPad();

  // --- MNIST's preprocessing of a drawing ---------------------------------------------------------
  function toField() {
    const grey = ctx.getImageData(0, 0, PAD, PAD).data;
    let x0 = PAD, y0 = PAD, x1 = -1, y1 = -1;
    for (let y = 0; y < PAD; y++) for (let x = 0; x < PAD; x++) {
      if (grey[4 * (y * PAD + x)] > 0) { x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y); }
    }
    if (x1 < 0) return null; // nothing drawn
    const w = x1 - x0 + 1, h = y1 - y0 + 1, scale = BOX / Math.max(w, h);
    const sw = Math.max(1, Math.round(w * scale)), sh = Math.max(1, Math.round(h * scale));
    const small = el("canvas", { width: sw, height: sh }).getContext("2d", { willReadFrequently: true });
    small.imageSmoothingEnabled = true;
    small.imageSmoothingQuality = "high";
    small.drawImage(pad, x0, y0, w, h, 0, 0, sw, sh);
    const pixels = small.getImageData(0, 0, sw, sh).data;
    let mass = 0, mx = 0, my = 0;
    for (let y = 0; y < sh; y++) for (let x = 0; x < sw; x++) {
      const v = pixels[4 * (y * sw + x)] / 255;
      mass += v; mx += v * x; my += v * y;
    }
    // place the box so that its centre of mass lands on the field's centre (MNIST's 14, 14)
    const ox = Math.round(FIELD / 2 - 0.5 - mx / mass), oy = Math.round(FIELD / 2 - 0.5 - my / mass);
    const field = new Float32Array(FIELD * FIELD);
    for (let y = 0; y < sh; y++) for (let x = 0; x < sw; x++) {
      const fx = x + ox, fy = y + oy;
      if (fx >= 0 && fx < FIELD && fy >= 0 && fy < FIELD) field[fy * FIELD + fx] = pixels[4 * (y * sw + x)] / 255;
    }
    return field;
  }

  const pixelsOf = (d) => Uint8Array.from(atob(d.pixels), (c) => c.charCodeAt(0)); // 784 bytes, row by row
  const sampleField = (d) => Float32Array.from(pixelsOf(d), (v) => v / 255);

  function showField(field) {
    const c = input.getContext("2d"), image = c.createImageData(FIELD, FIELD);
    for (let i = 0; i < FIELD * FIELD; i++) {
      const v = Math.round(255 * (field ? field[i] : 0));
      image.data.set([v, v, v, 255], 4 * i);
    }
    c.putImageData(image, 0, 0);
  }

  // --- the network ---------------------------------------------------------------------------------
  // performance.now() is counted from the start of the page's navigation
  const timing = { padMs: performance.now(), readyMs: null, firstStrokeMs: null, firstPredictionMs: null };
  const api = { last: null, timing, samples: [] };
  window.s6draw = api;
  let net = null, facts = null;
  let shown = null; // what the pad holds: null (nothing), "ink" (the reader's drawing) or a sample's number
  let pending = false;

  const normalized = (field) => {
    const norm = facts.normalize;
    return Float32Array.from(field, (v) => (norm ? (v - norm.mean) / norm.std : v));
  };

  function schedule() { // coalesce the events of one stroke into one forward pass
    if (pending) return;
    pending = true;
    setTimeout(() => { pending = false; predict(); }, 0);
  }

  function predict() {
    const field = shown === null ? null : shown === "ink" ? toField() : sampleField(facts.digits[shown]);
    showField(field);
    if (!field) { clearOutputs(); api.last = null; return; }
    if (!net) return; // read when the network arrives
    const x = normalized(field), out = S6Net.forward(net, x);
    api.last = { input: Array.from(x), probs: out.probs, prediction: out.prediction,
                 source: shown === "ink" ? "drawing" : facts.digits[shown].index };
    if (timing.firstPredictionMs === null && shown === "ink") timing.firstPredictionMs = performance.now();
    showOutputs(out);
  }

  function say() { // the live region speaks once per stroke or choice, not at every move
    const last = api.last;
    if (!net || !last) return;
    status.textContent = `Net6 reads ${last.prediction} (${percent(last.probs[last.prediction])}).`;
  }

  function clearOutputs() {
    guess.textContent = "…";
    barRows.forEach((r) => { r.fill.style.width = "0"; r.value.textContent = ""; r.row.classList.remove("s6d-top1"); });
    // the maps go blank; each block's colour scale stays (it is drawn once), its two ends wait for a drawing
    maps.querySelectorAll(".s6d-map canvas").forEach((c) => c.getContext("2d").clearRect(0, 0, c.width, c.height));
    maps.querySelectorAll(".s6d-score, .s6d-lo, .s6d-hi").forEach((s) => { s.textContent = ""; });
  }

  // Viridis, a colour scale that reads the same in grey and to colour-blind eyes (dark: low, bright: high).
  const VIRIDIS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
  function colour(t) {
    const x = Math.min(Math.max(t, 0), 1) * (VIRIDIS.length - 1), i = Math.min(Math.floor(x), VIRIDIS.length - 2);
    return VIRIDIS[i].map((a, k) => Math.round(a + (x - i) * (VIRIDIS[i + 1][k] - a)));
  }

  function showOutputs(out) {
    guess.textContent = String(out.prediction);
    barRows.forEach((r, d) => {
      r.fill.style.width = percent(out.probs[d]);
      r.value.textContent = percent(out.probs[d]);
      r.row.classList.toggle("s6d-top1", d === out.prediction);
    });
    for (const b of out.blocks) { // each block's maps on one scale: the block's lowest to its highest value
      const section = maps.querySelector(`[data-block="${b.block}"]`);
      let lo = Infinity, hi = -Infinity;
      for (const v of b.data) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
      section.querySelector(".s6d-lo").textContent = lo.toFixed(1);
      section.querySelector(".s6d-hi").textContent = hi.toFixed(1);
      const canvases = section.querySelectorAll(".s6d-map canvas"), n = b.h * b.w;
      for (let ch = 0; ch < b.c; ch++) {
        const c = canvases[ch].getContext("2d"), image = c.createImageData(b.w, b.h);
        for (let i = 0; i < n; i++) image.data.set([...colour(hi > lo ? (b.data[ch * n + i] - lo) / (hi - lo) : 0), 255], 4 * i);
        c.putImageData(image, 0, 0);
      }
      section.querySelectorAll(".s6d-map").forEach((m, ch) => m.classList.toggle("s6d-top1-map",
        section.classList.contains("s6d-classes") && ch === out.prediction));
      section.querySelectorAll(".s6d-score").forEach((s, ch) => { s.textContent = out.scores[ch].toFixed(2); });
    }
  }

  function buildMaps() {
    const last = facts.blocks[facts.blocks.length - 1];
    for (const b of facts.blocks) {
      const classes = b === last && b.maps === 10; // the class maps: one per digit, averaged to its score
      const grid = el("div", { class: "s6d-grid" });
      const zoom = Math.max(2, Math.round(48 / b.size));
      for (let ch = 0; ch < b.maps; ch++) {
        const c = el("canvas", { width: b.size, height: b.size, "aria-hidden": "true" });
        c.style.width = c.style.height = `${b.size * zoom}px`;
        grid.append(classes
          ? el("figure", { class: "s6d-map" }, c,
            el("figcaption", {}, el("span", { text: `${ch}: ` }), el("span", { class: "s6d-score" })))
          : el("figure", { class: "s6d-map" }, c));
      }
      const scale = el("canvas", { width: 64, height: 1, "aria-hidden": "true" }), sc = scale.getContext("2d");
      for (let x = 0; x < 64; x++) { sc.fillStyle = `rgb(${colour(x / 63).join(",")})`; sc.fillRect(x, 0, 1, 1); }
      const what = `block ${b.block}: ${b.maps} maps of ${b.size}×${b.size}; each pixel sees ${b.rf}×${b.rf} input pixels`
        + (classes ? "; under each class's map, its score (the map's mean)" : "");
      maps.append(el("section", { class: "s6d-block" + (classes ? " s6d-classes" : ""), "data-block": String(b.block) },
        el("p", { class: "s6d-blockname" }, what, el("span", { class: "s6d-scale" },
          el("span", { class: "s6d-lo" }), scale, el("span", { class: "s6d-hi" }))), grid));
    }
  }

  // --- drawing: mouse, pen and touch alike (pointer events), and the keyboard -----------------------
  function startInk() { // the reader's drawing replaces a sample shown on the pad, never the other way
    if (shown !== "ink") { resetPad(); shown = "ink"; markSample(null); note.textContent = ""; }
    if (timing.firstStrokeMs === null) timing.firstStrokeMs = performance.now();
  }
  const dot = ([x, y]) => { ctx.fillStyle = "#fff"; ctx.beginPath(); ctx.arc(x, y, STROKE / 2, 0, 2 * Math.PI); ctx.fill(); };
  const line = (from, to) => {
    ctx.strokeStyle = "#fff"; ctx.lineWidth = STROKE; ctx.lineCap = ctx.lineJoin = "round";
    ctx.beginPath(); ctx.moveTo(...from); ctx.lineTo(...to); ctx.stroke();
  };

  let drawing = false, last = null;
  const at = (e) => {
    const r = pad.getBoundingClientRect();
    return [(e.clientX - r.left) * PAD / r.width, (e.clientY - r.top) * PAD / r.height];
  };
  pad.addEventListener("pointerdown", (e) => {
    e.preventDefault(); pad.setPointerCapture(e.pointerId); startInk(); drawing = true; last = at(e); dot(last); schedule();
  });
  pad.addEventListener("pointermove", (e) => {
    if (!drawing) return;
    const p = at(e); line(last, p); last = p; schedule();
  });
  const stop = () => { if (drawing) { drawing = false; setTimeout(say, 0); } };
  pad.addEventListener("pointerup", stop);
  pad.addEventListener("pointercancel", stop);

  let pen = [PAD / 2, PAD / 2], penDown = false;
  function showCursor() {
    const c = cursor.getContext("2d");
    c.clearRect(0, 0, PAD, PAD);
    if (document.activeElement !== pad) return;
    c.lineWidth = 2; c.strokeStyle = penDown ? "#f5a623" : "#4aa3ff";
    c.beginPath(); c.arc(pen[0], pen[1], STROKE / 2 + 3, 0, 2 * Math.PI); c.stroke();
  }
  pad.addEventListener("focus", showCursor);
  pad.addEventListener("blur", () => { penDown = false; showCursor(); });
  pad.addEventListener("keydown", (e) => {
    const moves = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
    if (moves[e.key]) {
      const step = e.shiftKey ? 3 * STEP : STEP, [dx, dy] = moves[e.key];
      const next = [Math.min(PAD, Math.max(0, pen[0] + dx * step)), Math.min(PAD, Math.max(0, pen[1] + dy * step))];
      if (penDown) { startInk(); line(pen, next); schedule(); setTimeout(say, 0); }
      pen = next;
    } else if (e.key === " ") {
      penDown = !penDown;
      if (penDown) { startInk(); dot(pen); schedule(); setTimeout(say, 0); }
    } else if (e.key === "Enter") {
      startInk(); dot(pen); schedule(); setTimeout(say, 0);
    } else if (e.key === "Escape" || e.key === "Delete" || e.key === "Backspace") {
      clearPad();
    } else {
      return;
    }
    e.preventDefault();
    showCursor();
  });

  function clearPad() {
    resetPad(); shown = null; penDown = false; markSample(null); note.textContent = "";
    predict();
    status.textContent = net ? "The pad is clear: draw a digit." : status.textContent;
  }
  clear.addEventListener("click", clearPad);

  // --- the sample digits ------------------------------------------------------------------------
  function markSample(i) {
    samples.querySelectorAll("button").forEach((b, k) => b.setAttribute("aria-pressed", String(k === i)));
  }

  function describe(i) {
    const d = facts.digits[i], s = api.samples[i];
    let text = `MNIST test image ${d.index}, labelled ${d.label}, fed to the network as its own 28×28 pixels.`;
    if (s) {
      text += ` Net6 reads it as ${s.prediction} (${percent(s.probs[s.prediction])})`
        + (s.wrong ? ": wrong." : ": right.");
    }
    note.textContent = text;
    if (d.in_gallery) {
      note.append(" It is one of the digits the most runs of the fast recipe get wrong, in the ",
        el("a", { href: "training.html#what-it-gets-wrong", text: "training chapter's gallery" }), ".");
    }
  }

  api.showSample = (i) => {
    const d = facts.digits[i];
    const tmp = el("canvas", { width: FIELD, height: FIELD }), c = tmp.getContext("2d");
    const image = c.createImageData(FIELD, FIELD);
    pixelsOf(d).forEach((v, k) => image.data.set([v, v, v, 255], 4 * k));
    c.putImageData(image, 0, 0);
    ctx.imageSmoothingEnabled = false; // the pad shows the 28×28 pixels, each as a 10×10 square
    ctx.drawImage(tmp, 0, 0, PAD, PAD);
    shown = i;
    markSample(i);
    describe(i);
    predict();
    say();
    return api.last;
  };

  function showSamples() {
    facts.digits.forEach((d, i) => {
      const b = el("button", { type: "button", class: "s6d-sample", text: String(d.label), "aria-pressed": "false",
        "aria-label": `test image ${d.index}, labelled ${d.label}` });
      b.addEventListener("click", () => api.showSample(i));
      samples.append(b);
    });
  }

  function markWrong() { // ✗ where this page's own prediction differs from the label
    facts.digits.forEach((d, i) => {
      const out = S6Net.forward(net, normalized(sampleField(d)));
      const wrong = out.prediction !== d.label;
      api.samples[i] = { index: d.index, label: d.label, probs: out.probs, prediction: out.prediction, wrong };
      const b = samples.children[i];
      b.textContent = `${d.label}${wrong ? " ✗" : ""}`;
      b.classList.toggle("s6d-wrong", wrong);
      b.setAttribute("aria-label", `test image ${d.index}, labelled ${d.label}; Net6 reads ${out.prediction}`
        + (wrong ? ", wrong" : ""));
    });
  }

  const json = async (file) => {
    const response = await fetch(site + "draw/" + file);
    if (!response.ok) throw new Error(`${file}: HTTP ${response.status}`);
    return response.json();
  };
  const factsLoaded = json("digits.json").then((f) => {
    facts = api.facts = f;
    buildMaps();
    showSamples();
    if (shown !== null) predict(); // a stroke drawn before the facts arrived
  });
  api.ready = Promise.all([factsLoaded, json("net6.json")]).then(([, exported]) => {
    net = S6Net.load(exported);
    timing.readyMs = performance.now();
    markWrong();
    status.textContent = "Net6 is ready: draw a digit, or show a test digit below.";
    if (shown === null) { // an untouched pad shows a test digit the network reads right
      api.showSample(api.samples.findIndex((s) => !s.wrong));
    } else {
      if (typeof shown === "number") describe(shown);
      predict(); // the reader's drawing, or the sample chosen while loading, read now
      say();
    }
    return api;
  });
  api.ready.catch((err) => {
    status.setAttribute("role", "alert");
    status.classList.add("s6d-error");
    status.textContent = `The network could not be loaded (${err.message}). Reload the page to try again.`;
  });

  api.settled = async () => { // after the last stroke's prediction
    await api.ready;
    while (pending) await new Promise((resolve) => setTimeout(resolve, 5));
    return api.last;
  };
})();
