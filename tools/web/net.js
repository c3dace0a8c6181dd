/* Net6's forward pass in plain JavaScript, for the draw-a-digit page (tools/web/draw.js).

   The network is the file `python -m s6lib export-digit` writes (s6lib/mnist/digit.py): a list of layers
   in the order they run, each conv layer with its float32 weights in base64, each BatchNorm folded
   into a per-channel scale and shift (as it acts in eval mode), dropout left out (it does nothing
   in eval mode). A layer that ends a conv block carries `block`: its output is kept as that
   block's feature maps. The output: log-probabilities of the ten classes (log-softmax of the
   flattened last layer, as s6lib.mnist.models.Net does).

   Arithmetic is in float64 on float32 weights, so the results agree with PyTorch's float32 forward
   pass to about 1e-6; tests/test_digit.py checks this file against PyTorch.

   Works in the browser (window.S6Net) and in Node (require), with no dependencies. */
(function (root, factory) {
  if (typeof module === "object" && module.exports) module.exports = factory();
  else root.S6Net = factory();
})(typeof self !== "undefined" ? self : this, function () {
  "use strict";

  function floats(base64) { // little-endian float32 values
    const binary = typeof atob === "function" ? atob(base64) : Buffer.from(base64, "base64").toString("binary");
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return new Float32Array(bytes.buffer);
  }

  // A tensor is one image's activations: {c, h, w, data: Float64Array of c*h*w, channel-major}.
  const tensor = (c, h, w) => ({ c, h, w, data: new Float64Array(c * h * w) });

  function conv(x, layer) {
    const { out, k, stride, pad, weight, bias } = layer;
    const h = Math.floor((x.h + 2 * pad - k) / stride) + 1, w = Math.floor((x.w + 2 * pad - k) / stride) + 1;
    const y = tensor(out, h, w);
    for (let o = 0; o < out; o++) {
      const b = bias ? bias[o] : 0;
      for (let r = 0; r < h; r++) for (let s = 0; s < w; s++) {
        let sum = b;
        for (let i = 0; i < x.c; i++) {
          const wBase = ((o * x.c + i) * k) * k, xBase = i * x.h * x.w;
          for (let u = 0; u < k; u++) {
            const row = r * stride + u - pad;
            if (row < 0 || row >= x.h) continue;
            for (let v = 0; v < k; v++) {
              const col = s * stride + v - pad;
              if (col < 0 || col >= x.w) continue;
              sum += weight[wBase + u * k + v] * x.data[xBase + row * x.w + col];
            }
          }
        }
        y.data[(o * h + r) * w + s] = sum;
      }
    }
    return y;
  }

  function pool(x, layer, reduce) {
    const { k, stride } = layer;
    const h = Math.floor((x.h - k) / stride) + 1, w = Math.floor((x.w - k) / stride) + 1;
    const y = tensor(x.c, h, w);
    for (let c = 0; c < x.c; c++) for (let r = 0; r < h; r++) for (let s = 0; s < w; s++) {
      const window = [];
      for (let u = 0; u < k; u++) for (let v = 0; v < k; v++) {
        window.push(x.data[(c * x.h + r * stride + u) * x.w + s * stride + v]);
      }
      y.data[(c * h + r) * w + s] = reduce(window);
    }
    return y;
  }

  const max = (values) => Math.max(...values);
  const mean = (values) => values.reduce((a, b) => a + b, 0) / values.length;

  const LAYERS = {
    conv,
    affine(x, { scale, shift }) { // BatchNorm in eval mode, folded
      const y = tensor(x.c, x.h, x.w), n = x.h * x.w;
      for (let i = 0; i < y.data.length; i++) { const c = Math.floor(i / n); y.data[i] = x.data[i] * scale[c] + shift[c]; }
      return y;
    },
    relu(x) { const y = tensor(x.c, x.h, x.w); y.data = x.data.map((v) => (v > 0 ? v : 0)); return y; },
    maxpool: (x, layer) => pool(x, layer, max),
    avgpool: (x, layer) => pool(x, layer, mean),
    gap: (x) => pool(x, { k: x.h, stride: x.h }, mean), // assumes square maps, as Net6's are
  };

  /** The exported network with its weights decoded: call once, then `forward` as often as needed. */
  function load(exported) {
    const layers = exported.layers.map((layer) => {
      if (!LAYERS[layer.op]) throw new Error(`net.js has no layer "${layer.op}" (${layer.name}): add it here and in s6lib/mnist/digit.py`);
      const decoded = { ...layer };
      for (const key of ["weight", "bias", "scale", "shift"]) if (layer[key]) decoded[key] = floats(layer[key]);
      return decoded;
    });
    return { ...exported, layers };
  }

  /** One 28×28 input (784 values, already normalized as in training): the class scores (the last
      layer's outputs), log-probabilities, probabilities, predicted class and each block's maps
      ({block, c, h, w, data}). */
  function forward(net, input) {
    let x = tensor(1, 28, 28);
    x.data.set(input);
    const blocks = [];
    for (const layer of net.layers) {
      x = LAYERS[layer.op](x, layer);
      if (layer.block) blocks.push({ block: layer.block, ...x });
    }
    const scores = Array.from(x.data), top = Math.max(...scores);
    const logSum = top + Math.log(scores.reduce((sum, z) => sum + Math.exp(z - top), 0));
    const logProbs = scores.map((z) => z - logSum), probs = logProbs.map(Math.exp);
    return { scores, logProbs, probs, prediction: probs.indexOf(Math.max(...probs)), blocks };
  }

  return { load, forward };
});
