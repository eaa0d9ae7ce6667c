// Drawing only: the page's numbers all come from Backprop running in .NET (WebAssembly). This module
// turns them into pixels (canvas ImageData for heatmaps, SVG attributes for edges) and waits for frames.

// TensorFlow Playground's diverging scale: −1 orange, 0 light grey, +1 blue.
const NEG = [245, 147, 34], MID = [232, 234, 235], POS = [8, 119, 189];
const CLASS_COLOURS = [[245, 147, 34], [8, 119, 189], [44, 160, 44], [214, 39, 40], [148, 103, 189], [140, 86, 75], [227, 119, 194], [127, 127, 127]];
const LUT = new Uint8ClampedArray(256 * 3);
for (let i = 0; i < 256; i++) {
  const t = i / 127.5 - 1, from = t < 0 ? NEG : POS, u = Math.abs(t);
  for (let c = 0; c < 3; c++) LUT[i * 3 + c] = MID[c] + (from[c] - MID[c]) * u;
}
const lutIndex = v => v >= 1 ? 255 : v <= -1 ? 0 : ((v + 1) * 127.5) | 0;
export function colour(v) { const i = lutIndex(v) * 3; return `rgb(${LUT[i]},${LUT[i + 1]},${LUT[i + 2]})`; }

let layout = null;   // set by setLayout: grid, output width, hidden sizes, task, discretize
const images = new Map();

function image(canvas) {
  let img = images.get(canvas);
  if (!img || img.width !== layout.grid) { img = canvas.getContext('2d').createImageData(layout.grid, layout.grid); images.set(canvas, img); }
  return img;
}

// values[offset + p * stride + channel] for grid cell p, on the diverging scale.
function paint(canvas, values, offset, stride, channel, discretize) {
  if (!canvas) return;
  const img = image(canvas), d = img.data, n = layout.grid * layout.grid;
  for (let p = 0; p < n; p++) {
    let v = values[offset + p * stride + channel];
    if (discretize) v = v > 0 ? 1 : -1;
    const i = lutIndex(v) * 3, o = p * 4;
    d[o] = LUT[i]; d[o + 1] = LUT[i + 1]; d[o + 2] = LUT[i + 2]; d[o + 3] = 255;
  }
  canvas.getContext('2d').putImageData(img, 0, 0);
}

// Class probabilities (grid², k): the likeliest class's colour, paler where the network is unsure.
function paintClasses(canvas, values, k, discretize) {
  if (!canvas) return;
  const img = image(canvas), d = img.data, n = layout.grid * layout.grid;
  for (let p = 0; p < n; p++) {
    let best = 0, pmax = values[p * k];
    for (let c = 1; c < k; c++) if (values[p * k + c] > pmax) { pmax = values[p * k + c]; best = c; }
    const t = discretize ? 1 : Math.max(0, (pmax - 1 / k) / (1 - 1 / k)), col = CLASS_COLOURS[best % 8], o = p * 4;
    for (let c = 0; c < 3; c++) d[o + c] = MID[c] + (col[c] - MID[c]) * t;
    d[o + 3] = 255;
  }
  canvas.getContext('2d').putImageData(img, 0, 0);
}

const floats = view => new Float32Array(view.slice().buffer);

export function setLayout(json) { layout = JSON.parse(json); images.clear(); }

// The input nodes' heatmaps: (k, grid²) float32.
export function drawInputs(view) {
  const v = floats(view), n = layout.grid * layout.grid;
  for (let f = 0; f < layout.inputNodes; f++) paint(document.getElementById(`node-0-${f}`), v, f * n, 1, 0, false);
}

// One frame: the output (grid², w) then each hidden layer's a[l] (grid², n_l); see Session.ComputeFrame.
export function drawFrame(view, discretize) {
  const v = floats(view), n = layout.grid * layout.grid, w = layout.outputWidth;
  const out = [document.getElementById('output-map'), document.getElementById(`node-${layout.sizes.length - 1}-0`)];
  for (const canvas of out) {
    if (layout.multiclass) paintClasses(canvas, v, w, discretize); else paint(canvas, v, 0, 1, 0, discretize);
  }
  let offset = n * w;
  for (let l = 1; l < layout.sizes.length - 1; l++) {
    const size = layout.sizes[l];
    for (let j = 0; j < size; j++) paint(document.getElementById(`node-${l}-${j}`), v, offset, size, j, false);
    offset += n * size;
  }
}

// The data points over the output map: training points with a white ring, test points with a black one.
export function drawPoints(json) {
  const p = JSON.parse(json), canvas = document.getElementById('output-points');
  if (!canvas) return;
  const ctx = canvas.getContext('2d'), W = canvas.width, H = canvas.height;
  ctx.clearRect(0, 0, W, H);
  const sx = x => (x - p.minX) / (p.maxX - p.minX) * W, sy = y => (p.maxY - y) / (p.maxY - p.minY) * H;
  for (let i = 0; i < p.x.length; i++) {
    const test = i >= p.train;
    if (test && !p.showTest) continue;
    const c = p.multiclass ? `rgb(${CLASS_COLOURS[p.v[i] % 8].join(',')})` : colour(p.v[i]);
    ctx.beginPath();
    ctx.arc(sx(p.x[i]), sy(p.y[i]), i === p.selected ? 6 : 3.2, 0, 2 * Math.PI);
    ctx.fillStyle = c; ctx.fill();
    ctx.lineWidth = i === p.selected ? 2.5 : 1;
    ctx.strokeStyle = i === p.selected ? '#000' : test ? '#000' : '#fff';
    ctx.stroke();
  }
}

// Edge colours and widths: values per edge, layer by layer, W[l] row-major (n_l, n_{l−1}).
// highlight: 0 for none, else the layer l whose edges are drawn from `values` scaled by their largest
// magnitude (a gradient), all other layers faded.
export function setEdges(view, highlight) {
  const v = view.slice(), sizes = layout.sizes;
  let o = 0;
  for (let l = 1; l < sizes.length; l++) {
    const count = sizes[l] * sizes[l - 1];
    let scale = 1;
    if (highlight === l) { scale = 0; for (let i = 0; i < count; i++) scale = Math.max(scale, Math.abs(v[o + i])); scale = scale || 1; }
    for (let j = 0; j < sizes[l]; j++) for (let i = 0; i < sizes[l - 1]; i++, o++) {
      const e = document.getElementById(`edge-${l}-${j}-${i}`);
      if (!e) continue;
      const w = v[o] / scale;
      e.setAttribute('stroke', colour(highlight === l ? w : v[o]));
      e.setAttribute('stroke-width', highlight === l ? (1 + 7 * Math.min(1, Math.abs(w))).toFixed(2) : (1 + 1.8 * Math.min(5, Math.abs(v[o]))).toFixed(2));
      e.setAttribute('stroke-opacity', highlight && highlight !== l ? '0.15' : '1');
    }
  }
}

// The loss chart: training (grey) and test (black) loss per epoch.
export function drawLossChart(view) {
  const canvas = document.getElementById('loss-chart');
  if (!canvas) return;
  const v = new Float64Array(view.slice().buffer), n = v.length / 2, ctx = canvas.getContext('2d'), W = canvas.width, H = canvas.height;
  ctx.clearRect(0, 0, W, H);
  if (n < 1) return;
  let max = 0;
  for (let i = 0; i < v.length; i++) if (isFinite(v[i])) max = Math.max(max, v[i]);
  max = max || 1;
  for (const [k, style] of [[0, '#aaa'], [1, '#000']]) {
    ctx.beginPath(); ctx.strokeStyle = style; ctx.lineWidth = 1.5;
    for (let i = 0; i < n; i++) {
      const x = n === 1 ? 0 : i / (n - 1) * W, y = H - v[2 * i + k] / max * (H - 4) - 2;
      if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
    }
    ctx.stroke();
  }
}

export function setText(id, text) { const e = document.getElementById(id); if (e) e.textContent = text; }

export function nextFrame() { return new Promise(resolve => requestAnimationFrame(() => resolve())); }

export function getHash() { return location.hash; }

export function setHash(hash) { history.replaceState(null, '', '#' + hash); }

// The gradient flowing back: each layer's edges pulse in turn, output first.
export function animateBackward(layers, ms) {
  return new Promise(resolve => {
    let l = layers;
    const tick = () => {
      document.querySelectorAll('.flow').forEach(e => e.classList.remove('flow'));
      document.querySelectorAll('.node.flowing').forEach(e => e.classList.remove('flowing'));
      if (l < 1) { resolve(); return; }
      document.querySelectorAll(`[data-layer="${l}"]`).forEach(e => e.classList.add(e.classList.contains('node') ? 'flowing' : 'flow'));
      l--;
      setTimeout(tick, ms);
    };
    tick();
  });
}

export function now() { return performance.now(); }
