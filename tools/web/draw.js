/* Try Net6 in the page: draw a digit, see the prediction, the ten probabilities and every conv
   block's feature maps, computed in the browser by ONNX Runtime Web from the trained model.

   The page holds <div id="s6-draw" data-site="../../"> (the site root, relative to the page). This
   script loads <site>draw/digits.json and <site>draw/net6.onnx (written by `make digit`, i.e.
   `python -m s6lib export-digit`) and <site>vendor/ort/ (ONNX Runtime Web, single-threaded).

   A drawing becomes Net6's input as MNIST's own digits were made: the bounding box of the strokes is
   scaled to fit 20×20 pixels, aspect ratio kept; the result is placed in a 28×28 field so that its
   centre of mass is at the centre; grey levels in [0, 1]; then the recipe's normalization.

   For tests and the curious: window.s6draw = {ready, loadDigit(i), loadPixels(p), settled(), last,
   timing, facts}: `last` holds the input fed to the model, the probabilities and the prediction. */
(function () {
  "use strict";
  const root = document.getElementById("s6-draw");
  if (!root || typeof ort === "undefined") return;
  const site = root.dataset.site || "";
  const PAD = 280, FIELD = 28, BOX = 20, STROKE = 22;

  ort.env.wasm.wasmPaths = site + "vendor/ort/";
  ort.env.wasm.numThreads = 1; // a static host gives no cross-origin isolation, so no threads

  const el = (tag, attrs = {}, ...children) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === "class") node.className = v; else if (k === "text") node.textContent = v; else node.setAttribute(k, v);
    }
    children.forEach((c) => node.append(c));
    return node;
  };

  // --- the layout ---------------------------------------------------------------------------
  root.textContent = "";
  const pad = el("canvas", { width: PAD, height: PAD, class: "s6d-pad", "aria-label": "draw a digit here" });
  const clear = el("button", { type: "button", class: "s6d-button", text: "Clear" });
  const input = el("canvas", { width: FIELD, height: FIELD, class: "s6d-input", "aria-label": "the 28×28 input" });
  const guess = el("div", { class: "s6d-guess", text: "…" });
  const bars = el("div", { class: "s6d-bars" });
  const barRows = [];
  for (let d = 0; d < 10; d++) {
    const fill = el("span", { class: "s6d-fill" });
    const value = el("span", { class: "s6d-value", text: "" });
    const row = el("div", { class: "s6d-bar" }, el("span", { class: "s6d-digit", text: String(d) }),
      el("span", { class: "s6d-track" }, fill), value);
    barRows.push({ row, fill, value });
    bars.append(row);
  }
  const samples = el("div", { class: "s6d-samples" });
  const note = el("p", { class: "s6d-note" });
  const maps = el("div", { class: "s6d-maps" });
  root.append(
    el("div", { class: "s6d-top" },
      el("div", { class: "s6d-left" }, pad, el("div", { class: "s6d-controls" }, clear)),
      el("div", { class: "s6d-right" },
        el("div", { class: "s6d-row" },
          el("figure", { class: "s6d-fig" }, input, el("figcaption", { text: "what Net6 sees (28×28)" })),
          el("figure", { class: "s6d-fig" }, guess, el("figcaption", { text: "prediction" }))),
        bars)),
    el("p", { class: "s6d-label", text: "Or load an MNIST test digit (true label shown; ✗: the model gets it wrong):" }),
    samples, note, maps);

  const ctx = pad.getContext("2d", { willReadFrequently: true });
  const resetPad = () => { ctx.fillStyle = "#000"; ctx.fillRect(0, 0, PAD, PAD); };
  resetPad();

  // --- MNIST's preprocessing ---------------------------------------------------------------------
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

  function showField(field) {
    const c = input.getContext("2d"), image = c.createImageData(FIELD, FIELD);
    for (let i = 0; i < FIELD * FIELD; i++) {
      const v = Math.round(255 * (field ? field[i] : 0));
      image.data.set([v, v, v, 255], 4 * i);
    }
    c.putImageData(image, 0, 0);
  }

  // --- the model ---------------------------------------------------------------------------
  const timing = { start: performance.now(), firstPredictionMs: null };
  let session, facts, busy = false, again = false;
  const api = { last: null, timing };
  window.s6draw = api;

  async function predict() {
    if (!session) return;
    if (busy) { again = true; return; }
    busy = true;
    try {
      do {
        again = false;
        const field = toField();
        showField(field);
        if (!field) { clearOutputs(); api.last = null; continue; }
        const norm = facts.normalize;
        const x = Float32Array.from(field, (v) => (norm ? (v - norm.mean) / norm.std : v));
        const out = await session.run({ image: new ort.Tensor("float32", x, [1, 1, FIELD, FIELD]) });
        const probs = Array.from(out.log_probs.data, Math.exp);
        const prediction = probs.indexOf(Math.max(...probs));
        api.last = { input: Array.from(x), field: Array.from(field), probs, prediction };
        if (timing.firstPredictionMs === null) timing.firstPredictionMs = performance.now();
        showOutputs(probs, prediction, facts.blocks.map((b) => out["block" + b.block]));
      } while (again);
    } finally {
      busy = false;
    }
    return api.last;
  }

  function clearOutputs() {
    guess.textContent = "…";
    barRows.forEach((r) => { r.fill.style.width = "0"; r.value.textContent = ""; r.row.classList.remove("s6d-top1"); });
    maps.querySelectorAll("canvas").forEach((c) => c.getContext("2d").clearRect(0, 0, c.width, c.height));
  }

  function showOutputs(probs, prediction, blocks) {
    guess.textContent = String(prediction);
    barRows.forEach((r, d) => {
      r.fill.style.width = (100 * probs[d]).toFixed(1) + "%";
      r.value.textContent = (100 * probs[d]).toFixed(1) + "%";
      r.row.classList.toggle("s6d-top1", d === prediction);
    });
    blocks.forEach((tensor, b) => {
      const [, channels, size] = tensor.dims, data = tensor.data;
      const canvases = maps.querySelectorAll(`[data-block="${b + 1}"] canvas`);
      for (let ch = 0; ch < channels; ch++) {
        const plane = data.subarray(ch * size * size, (ch + 1) * size * size);
        let lo = Infinity, hi = -Infinity;
        for (const v of plane) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
        const c = canvases[ch].getContext("2d"), image = c.createImageData(size, size);
        for (let i = 0; i < plane.length; i++) {
          const t = hi > lo ? (plane[i] - lo) / (hi - lo) : 0; // each map on its own scale
          image.data.set([Math.round(255 * t), Math.round(200 * t * t), Math.round(255 * (1 - t) * 0.6), 255], 4 * i);
        }
        c.putImageData(image, 0, 0);
      }
    });
  }

  function buildMaps() {
    for (const b of facts.blocks) {
      const grid = el("div", { class: "s6d-grid" });
      const zoom = Math.max(2, Math.round(48 / b.size));
      for (let ch = 0; ch < b.maps; ch++) {
        const c = el("canvas", { width: b.size, height: b.size, title: `block ${b.block}, map ${ch + 1}` });
        c.style.width = c.style.height = `${b.size * zoom}px`;
        const label = b.block === facts.blocks.length && b.maps === 10 ? String(ch) : "";
        grid.append(el("figure", { class: "s6d-map" }, c, el("figcaption", { text: label })));
      }
      const what = `block ${b.block}: ${b.maps} maps of ${b.size}×${b.size}; each pixel sees ${b.rf}×${b.rf} input pixels`;
      maps.append(el("section", { class: "s6d-block", "data-block": String(b.block) },
        el("p", { class: "s6d-blockname", text: what }), grid));
    }
  }

  // --- drawing: mouse, pen and touch alike (pointer events) ---------------------------------------
  let drawing = false, last = null;
  const at = (e) => {
    const r = pad.getBoundingClientRect();
    return [(e.clientX - r.left) * PAD / r.width, (e.clientY - r.top) * PAD / r.height];
  };
  const stroke = (from, to) => {
    ctx.strokeStyle = "#fff"; ctx.lineWidth = STROKE; ctx.lineCap = ctx.lineJoin = "round";
    ctx.beginPath(); ctx.moveTo(...from); ctx.lineTo(...to); ctx.stroke();
  };
  pad.addEventListener("pointerdown", (e) => {
    e.preventDefault(); pad.setPointerCapture(e.pointerId); drawing = true; last = at(e); stroke(last, last); predict();
  });
  pad.addEventListener("pointermove", (e) => {
    if (!drawing) return;
    const p = at(e); stroke(last, p); last = p; predict();
  });
  const stop = () => { drawing = false; };
  pad.addEventListener("pointerup", stop);
  pad.addEventListener("pointercancel", stop);
  clear.addEventListener("click", () => { resetPad(); note.textContent = ""; predict(); });

  function drawPixels(pixels) { // a 28×28 image (0..255) onto the pad, 10 pixels per pixel
    const tmp = el("canvas", { width: FIELD, height: FIELD }), c = tmp.getContext("2d");
    const image = c.createImageData(FIELD, FIELD);
    pixels.forEach((v, i) => image.data.set([v, v, v, 255], 4 * i));
    c.putImageData(image, 0, 0);
    resetPad();
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(tmp, 0, 0, PAD, PAD);
  }

  api.settled = async () => { // after the last stroke's prediction
    while (busy) await new Promise((resolve) => setTimeout(resolve, 10));
    return api.last;
  };
  api.loadPixels = async (pixels) => { drawPixels(pixels); note.textContent = ""; return predict(); };
  api.loadDigit = async (i) => {
    const d = facts.digits[i];
    drawPixels(d.pixels);
    note.innerHTML = `MNIST test image ${d.index}, labelled ${d.label}.` + (d.wrong
      ? ` The model gets it wrong: it is one of the digits in the <a href="training.html#what-it-gets-wrong">training chapter's gallery</a>.`
      : "");
    return predict();
  };

  api.ready = (async () => {
    facts = api.facts = await (await fetch(site + "draw/digits.json")).json();
    session = await ort.InferenceSession.create(site + "draw/net6.onnx", { executionProviders: ["wasm"] });
    buildMaps();
    facts.digits.forEach((d, i) => {
      const b = el("button", { type: "button", class: "s6d-sample" + (d.wrong ? " s6d-wrong" : ""),
        text: `${d.label}${d.wrong ? " ✗" : ""}`, title: `test image ${d.index}` });
      b.addEventListener("click", () => api.loadDigit(i));
      samples.append(b);
    });
    await api.loadDigit(facts.digits.findIndex((d) => !d.wrong));
    return api;
  })();
  api.ready.catch((err) => { root.prepend(el("p", { class: "s6d-error", text: `The model could not be loaded: ${err}` })); });
})();
