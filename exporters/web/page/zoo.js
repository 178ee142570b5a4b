// What every page of the zoo's web export shares: the test contract's elements (#status,
// #backend, #result), integrity checks against manifest.json, onnxruntime-web started on the
// best backend the browser has, photos in and pictures out, and the seeded latent vectors that
// zoo/portable_random.py draws the same in Python.
//
// Errors never leave a blank page: every failure ends in #status as "error: ..." and the
// controls stay usable, so a user can pick another file.

const params = new URLSearchParams(location.search);
export const $ = (id) => document.getElementById(id);

export class PageError extends Error {}

export function setStatus(text) {
  $('status').textContent = text;
}

export function showError(error) {
  const message = error instanceof PageError || error instanceof Error ? error.message : String(error);
  setStatus(`error: ${message}`);
}

// A failure nobody awaited still reaches #status (and is not left as a console error).
window.addEventListener('unhandledrejection', (event) => {
  event.preventDefault();
  showError(event.reason);
});
window.addEventListener('error', (event) => {
  event.preventDefault();
  showError(event.error || event.message);
});

export function notice(text) {
  const element = $('notice');
  element.textContent = text || '';
  element.hidden = !text;
}

// ---- integrity ---------------------------------------------------------------------------

async function sha256Hex(buffer) {
  const digest = await crypto.subtle.digest('SHA-256', buffer);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

// crypto.subtle exists only in secure contexts (https, localhost): elsewhere files are used
// unchecked, and the page says so.
const canVerify = Boolean(globalThis.crypto && crypto.subtle);

async function download(path, label) {
  const response = await fetch(path);
  if (!response.ok) throw new PageError(`cannot load ${path} (HTTP ${response.status}); the page's folder is incomplete`);
  if (!response.body) return response.arrayBuffer();
  const reader = response.body.getReader();
  const chunks = [];
  let received = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    received += value.length;
    setStatus(`loading ${label}: ${(received / 1e6).toFixed(1)} MB`);
  }
  const bytes = new Uint8Array(received);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return bytes.buffer;
}

export async function fetchVerified(path, expectedSha256, label = path) {
  const bytes = await download(path, label);
  if (canVerify && (await sha256Hex(bytes)) !== expectedSha256) {
    throw new PageError(`${path} is damaged or was changed: its sha256 does not match manifest.json; export the model again`);
  }
  return bytes;
}

// The manifest's own sha256 is written into index.html by the exporter.
export async function loadManifest() {
  const expected = document.querySelector('meta[name="zoo-manifest-sha256"]').content;
  const bytes = await fetchVerified('manifest.json', expected, 'manifest.json');
  let manifest;
  try {
    manifest = JSON.parse(new TextDecoder().decode(bytes));
  } catch (error) {
    throw new PageError(`manifest.json is not valid JSON (${error.message}); export the model again`);
  }
  if (!canVerify) notice('This page is not served from https or localhost, so its files could not be checked against manifest.json.');
  return manifest;
}

// ---- the runtime ---------------------------------------------------------------------------

// The smallest module that uses a SIMD instruction (the feature test of wasm-feature-detect).
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0,
  65, 0, 253, 15, 253, 98, 11]);

async function hasWebGPU() {
  if (params.get('backend') === 'wasm' || !navigator.gpu) return false;
  try {
    return Boolean(await navigator.gpu.requestAdapter());
  } catch {
    return false;
  }
}

function threadCount() {
  if (!crossOriginIsolated) return 1; // SharedArrayBuffer needs COOP/COEP (python -m zoo.serve sends them)
  const asked = Number(params.get('threads'));
  return asked >= 1 ? Math.floor(asked) : Math.min(4, navigator.hardwareConcurrency || 1);
}

// Start onnxruntime-web and open the page's networks ({role: file name} from the manifest's
// "page"). Resolves to {ort, sessions: {role: InferenceSession}, backend: text}.
export async function openNetworks(manifest) {
  if (typeof WebAssembly !== 'object' || typeof WebAssembly.validate !== 'function') {
    throw new PageError('this browser has no WebAssembly (or it is switched off), which the page needs to run the model');
  }
  if (!WebAssembly.validate(SIMD_PROBE)) {
    throw new PageError("this browser's WebAssembly has no SIMD, which onnxruntime-web needs; update the browser");
  }
  const webgpu = await hasWebGPU();
  const runtime = manifest.page.runtime[webgpu ? 'webgpu' : 'wasm'];
  const ort = await import(`./${runtime.module}`);
  const threads = threadCount();
  ort.env.wasm.numThreads = threads;
  ort.env.wasm.wasmPaths = new URL('./ort/', import.meta.url).href;
  ort.env.wasm.wasmBinary = await fetchVerified(runtime.wasm, manifest.web_files[runtime.wasm].sha256, 'the runtime');
  const sessions = {};
  let usedWebGPU = webgpu;
  for (const [role, file] of Object.entries(manifest.page.networks)) {
    const bytes = await fetchVerified(file, manifest.files[file].sha256, file);
    setStatus(`starting ${file}`);
    try {
      sessions[role] = await ort.InferenceSession.create(bytes, {
        executionProviders: usedWebGPU ? ['webgpu', 'wasm'] : ['wasm'], graphOptimizationLevel: 'all' });
    } catch (error) {
      if (!usedWebGPU) throw new PageError(`cannot open ${file}: ${error.message}`);
      usedWebGPU = false; // WebGPU refused the network: every network runs on WebAssembly then
      sessions[role] = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
    }
  }
  const backend = usedWebGPU ? 'WebGPU' : `WebAssembly (SIMD, ${threads} thread${threads > 1 ? 's' : ''}${
    crossOriginIsolated ? '' : '; not cross-origin isolated'})`;
  $('backend').textContent = backend;
  return { ort, sessions, backend };
}

// Run `session` on {name: ort.Tensor}; resolves to {name: {dims, data}} and keeps them in
// window.zoo.outputs for tests, with the run's time in ms.
export async function run(session, feeds) {
  const start = performance.now();
  const results = await session.run(feeds);
  const outputs = {};
  for (const [name, tensor] of Object.entries(results)) {
    outputs[name] = { dims: Array.from(tensor.dims), data: await tensor.getData() };
  }
  const ms = performance.now() - start;
  window.zoo.outputs = outputs;
  window.zoo.ms = ms;
  return { outputs, ms };
}

export function showTime(ms, what = 'run') {
  $('time').textContent = `${what}: ${ms < 1000 ? `${ms.toFixed(0)} ms` : `${(ms / 1000).toFixed(2)} s`}`;
}

// ---- pictures in -----------------------------------------------------------------------------

// Above this many pixels a file is not decoded: it would take gigabytes of memory.
export const MAX_DECODE_PIXELS = 120e6;

function imageElement(url) {
  return new Promise((resolve, reject) => {
    const image = new Image();
    image.onload = () => resolve(image);
    image.onerror = () => reject(new Error('not decodable'));
    image.src = url;
  });
}

// An image file -> {rgb: Uint8ClampedArray RGBA, width, height, original: [w, h]}, its longer
// side scaled down to `maxSide` (with a visible notice), transparency on white as in Python.
export async function readImage(file, maxSide, what = 'photo') {
  const url = URL.createObjectURL(file);
  let image;
  try {
    image = await imageElement(url); // reads the size; big files are decoded once, below
  } catch {
    URL.revokeObjectURL(url);
    throw new PageError(`${file.name} is not an image this browser can read (choose a JPEG, PNG or WebP file)`);
  }
  const [w, h] = [image.naturalWidth, image.naturalHeight];
  if (!w || !h) throw new PageError(`${file.name} has no pixels`);
  if (w * h > MAX_DECODE_PIXELS) {
    URL.revokeObjectURL(url);
    throw new PageError(`${file.name} is ${w}x${h} (${(w * h / 1e6).toFixed(0)} megapixels), more than the ` +
      `${MAX_DECODE_PIXELS / 1e6} megapixels this page decodes; downscale it first`);
  }
  const scale = Math.min(1, maxSide / Math.max(w, h));
  const width = Math.max(1, Math.round(w * scale));
  const height = Math.max(1, Math.round(h * scale));
  let bitmap;
  try {
    bitmap = await createImageBitmap(image, scale < 1 ? { resizeWidth: width, resizeHeight: height, resizeQuality: 'high' } : {});
  } catch (error) {
    throw new PageError(`cannot decode ${file.name}: ${error.message}`);
  } finally {
    URL.revokeObjectURL(url);
  }
  const canvas = new OffscreenCanvas(width, height);
  const context = canvas.getContext('2d', { willReadFrequently: true });
  context.fillStyle = '#fff';
  context.fillRect(0, 0, width, height);
  context.drawImage(bitmap, 0, 0);
  bitmap.close();
  const pixels = context.getImageData(0, 0, width, height).data;
  return { pixels, width, height, original: [w, h], scaled: scale < 1, what, name: file.name };
}

export function scaledNotice(image) {
  return image.scaled ? `The ${image.what} is ${image.original[0]}x${image.original[1]}: scaled down to ` +
    `${image.width}x${image.height} (longer side at most ${Math.max(image.width, image.height)}).` : '';
}

// RGBA bytes -> float32 NHWC [1, H', W', 3] in [0, 1], H' and W' padded up to multiples of
// `multiple` (and at least two of them) by reflection, as zoo/style/tiling.py pad_to_multiple.
export function toPaddedTensor(ort, image, multiple) {
  const { pixels, width: w, height: h } = image;
  const ph = Math.max(h + ((multiple - (h % multiple)) % multiple), 2 * multiple);
  const pw = Math.max(w + ((multiple - (w % multiple)) % multiple), 2 * multiple);
  const reflect = Math.min(h, w) > multiple;
  const source = (i, n) => (i < n ? i : reflect ? 2 * (n - 1) - i : n - 1);
  const data = new Float32Array(ph * pw * 3);
  for (let y = 0; y < ph; y++) {
    const sy = source(y, h);
    for (let x = 0; x < pw; x++) {
      const from = (sy * w + source(x, w)) * 4;
      const to = (y * pw + x) * 3;
      data[to] = pixels[from] / 255;
      data[to + 1] = pixels[from + 1] / 255;
      data[to + 2] = pixels[from + 2] / 255;
    }
  }
  return new ort.Tensor('float32', data, [1, ph, pw, 3]);
}

// Calls `onFile(file)` for a file chosen in the input `inputId`, dropped on the page, or taken
// with the camera (where the browser has one and the page has a #camera button).
export function acceptPhotos(inputId, onFile) {
  const input = $(inputId);
  input.addEventListener('change', () => input.files[0] && onFile(input.files[0]));
  document.addEventListener('dragover', (event) => event.preventDefault());
  document.addEventListener('drop', (event) => {
    event.preventDefault();
    const file = event.dataTransfer.files[0];
    if (file) onFile(file);
  });
  const button = $('camera');
  if (!button || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return;
  button.hidden = false;
  button.addEventListener('click', async () => {
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ video: true });
      const video = document.createElement('video');
      video.srcObject = stream;
      video.muted = true;
      await video.play();
      const canvas = new OffscreenCanvas(video.videoWidth, video.videoHeight);
      canvas.getContext('2d').drawImage(video, 0, 0);
      stream.getTracks().forEach((track) => track.stop());
      const blob = await canvas.convertToBlob({ type: 'image/png' });
      onFile(new File([blob], 'camera.png', { type: 'image/png' }));
    } catch (error) {
      showError(new PageError(`no picture from the camera (${error.message})`));
    }
  });
}

// ---- pictures out ----------------------------------------------------------------------------

// float32 [1, H', W', 3] in [0, 1] -> RGBA bytes of its top-left H x W, rounded as zoo.images.to_uint8.
export function toRGBA(output, width, height) {
  const pw = output.dims[2];
  const rgba = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const from = (y * pw + x) * 3;
      const to = (y * width + x) * 4;
      for (let c = 0; c < 3; c++) rgba[to + c] = Math.floor(Math.min(1, Math.max(0, output.data[from + c])) * 255 + 0.5);
      rgba[to + 3] = 255;
    }
  }
  return rgba;
}

export function draw(rgba, width, height, canvas = $('result')) {
  canvas.width = width;
  canvas.height = height;
  canvas.getContext('2d').putImageData(new ImageData(rgba, width, height), 0, 0);
}

// The download link follows the result canvas.
export function offerDownload(name) {
  const link = $('download');
  $('result').toBlob((blob) => {
    if (link.href) URL.revokeObjectURL(link.href);
    link.href = URL.createObjectURL(blob);
    link.download = name;
    link.hidden = false;
  }, 'image/png');
}

// ---- seeded latents ---------------------------------------------------------------------------

// mulberry32, a counter-based 32-bit generator: the i-th number of a seed, as
// zoo/portable_random.py's uint32 computes it (the tests compare).
function mulberry32(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0);
  };
}

// Standard normal float32 values of a seed: Box-Muller on pairs of mulberry32's numbers.
export function standardNormal(seed, count) {
  const next = mulberry32(seed);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i += 2) {
    const u1 = (next() + 0.5) / 4294967296;
    const u2 = (next() + 0.5) / 4294967296;
    const r = Math.sqrt(-2 * Math.log(u1));
    out[i] = r * Math.cos(2 * Math.PI * u2);
    if (i + 1 < count) out[i + 1] = r * Math.sin(2 * Math.PI * u2);
  }
  return out;
}

// Uniform values in (0, 1) of a seed (zoo.portable_random.uniform): the draws that pick a
// prior's codes.
export function uniform(seed, count) {
  const next = mulberry32(seed);
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) out[i] = (next() + 0.5) / 4294967296;
  return out;
}

// ---- page life ----------------------------------------------------------------------------------

window.zoo = { outputs: null, ms: null, ready: false };

// Load the manifest and the networks, then hand them to the page's `start`; any failure ends in
// #status. `busy` wraps a run: the run button is disabled meanwhile and errors are reported.
export async function boot(start) {
  try {
    setStatus('loading');
    const manifest = await loadManifest();
    const networks = await openNetworks(manifest);
    await start(manifest, networks);
    $('run').disabled = false;
    window.zoo.ready = true;
    setStatus('ready');
  } catch (error) {
    showError(error);
  }
}

export async function busy(work) {
  const button = $('run');
  button.disabled = true;
  try {
    setStatus('running');
    await work();
    setStatus('done');
  } catch (error) {
    showError(error);
  } finally {
    button.disabled = false;
  }
}
