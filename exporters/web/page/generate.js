// The generative pages (DCGAN and StyleGAN generators, VAE decoder, VQ-VAE prior and decoder): a
// grid of samples from a seed, laid out as zoo.images.sample_grid lays out `python -m
// zoo.generate` (same seed, same random numbers: zoo/portable_random.py; the VQ-VAE's codes drawn
// as zoo/deploy/autoregressive.py draws them), the StyleGAN's at the truncation psi asked for,
// and for the VAE a walk between the grid's first two samples.

import { $, PageError, boot, busy, draw, offerDownload, run, showTime, standardNormal, uniform } from './zoo.js';

let ort, sessions, page;
let latents = null; // Float32Array [n * latent_dim] of the last grid

const PAD = 2; // zoo.images.sample_grid: 2 pixels apart on white,
const MIN_SIDE = 64; // enlarged pixel for pixel towards 64-pixel images

// float32 images [N, H, W, 1 or 3] in [0, 1] -> RGBA sheet, as zoo.images.grid(pad=2, min_side=64).
function sampleGrid(output) {
  const [n, h, w, c] = output.dims;
  const cols = Math.ceil(Math.sqrt(n));
  const rows = Math.ceil(n / cols);
  const factor = Math.max(1, Math.floor(MIN_SIDE / Math.max(h, w)));
  const width = (cols * w + (cols + 1) * PAD) * factor;
  const height = (rows * h + (rows + 1) * PAD) * factor;
  const rgba = new Uint8ClampedArray(width * height * 4).fill(255);
  for (let i = 0; i < n; i++) {
    const top = PAD + Math.floor(i / cols) * (h + PAD);
    const left = PAD + (i % cols) * (w + PAD);
    for (let y = 0; y < h * factor; y++) {
      for (let x = 0; x < w * factor; x++) {
        const from = ((i * h + Math.floor(y / factor)) * w + Math.floor(x / factor)) * c;
        const to = ((top * factor + y) * width + left * factor + x) * 4;
        for (let k = 0; k < 3; k++) {
          const v = output.data[from + (c === 1 ? 0 : k)];
          rgba[to + k] = Math.floor(Math.min(1, Math.max(0, v)) * 255 + 0.5);
        }
      }
    }
  }
  return { rgba, width, height };
}

function seed() {
  const value = Number($('seed').value);
  if (!Number.isInteger(value) || value < 0 || value > 4294967295) {
    throw new PageError(`the seed must be a whole number from 0 to 4294967295, not ${$('seed').value || 'empty'}`);
  }
  return value;
}

function count() {
  const value = Number($('count').value);
  if (!Number.isInteger(value) || value < 1 || value > 256) throw new PageError('the number of samples must be from 1 to 256');
  return value;
}

function psi() {
  const value = Number($('truncation').value);
  if ($('truncation').value === '' || !(value >= 0 && value <= 2)) {
    throw new PageError(`the truncation psi must be a number from 0 to 2, not ${$('truncation').value || 'empty'}`);
  }
  return value;
}

// The generator's inputs for n latent vectors `z`: with the StyleGAN's psi, one per image.
function feeds(z, n) {
  const feed = { [page.inputs.latent]: new ort.Tensor('float32', z, [n, page.latent_dim]) };
  if (page.truncation) {
    feed[page.inputs.truncation] = new ort.Tensor('float32', new Float32Array(n).fill(psi()), [n, 1]);
  }
  return feed;
}

async function decode(z, n) {
  return run(sessions.generator, feeds(z, n));
}

// The codes [n, H, W] of n images, position by position in raster order: the prior's logits of
// the grid filled so far, and the code at which the cumulative softmax passes the position's
// uniform draw.
async function sampleCodes(n) {
  const [h, w] = page.grid;
  const k = page.num_codes;
  const draws = uniform(seed(), n * h * w);
  const codes = new Float32Array(n * h * w);
  const p = new Float64Array(k);
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < w; j++) {
      const results = await sessions.prior.run({ [page.inputs.codes]: new ort.Tensor('float32', codes, [n, h, w]) });
      const logits = await results[page.outputs.logits].getData();
      for (let b = 0; b < n; b++) {
        const at = (b * h + i) * w + j;
        let max = -Infinity;
        for (let c = 0; c < k; c++) max = Math.max(max, logits[at * k + c]);
        let sum = 0;
        for (let c = 0; c < k; c++) sum += (p[c] = Math.exp(logits[at * k + c] - max));
        let cdf = 0;
        let code = 0;
        for (let c = 0; c < k; c++) {
          cdf += p[c] / sum;
          if (cdf < draws[at]) code = c + 1;
        }
        codes[at] = Math.min(code, k - 1);
      }
    }
  }
  return codes;
}

async function generate() {
  const n = count();
  let outputs;
  const start = performance.now();
  if (page.kind === 'vqvae') {
    const codes = await sampleCodes(n);
    ({ outputs } = await run(sessions.generator, { [page.inputs.codes]: new ort.Tensor('float32', codes, [n, ...page.grid]) }));
  } else {
    latents = standardNormal(seed(), n * page.latent_dim);
    ({ outputs } = await decode(latents, n));
  }
  const ms = performance.now() - start;
  showTime(ms, `${n} samples`);
  const { rgba, width, height } = sampleGrid(outputs[page.outputs.image]);
  draw(rgba, width, height);
  offerDownload(`${page.model}-seed${seed()}.png`);
  if (page.walk) await walk();
}

// The image at `t` of the way from the first sample to the second (a straight line in latent
// space: the VAE's decoder is smooth along it).
async function walk() {
  if (!latents || latents.length < 2 * page.latent_dim) return;
  const t = Number($('walk').value);
  const d = page.latent_dim;
  const z = new Float32Array(d);
  for (let i = 0; i < d; i++) z[i] = (1 - t) * latents[i] + t * latents[d + i];
  const results = await sessions.generator.run(feeds(z, 1));
  const image = results[page.outputs.image];
  const { rgba, width, height } = sampleGrid({ dims: Array.from(image.dims), data: await image.getData() });
  draw(rgba, width, height, $('walk-view'));
}

boot(async (manifest, networks) => {
  ({ ort, sessions } = networks);
  page = manifest.page;
  document.body.classList.add(page.kind);
  $('walk-controls').hidden = !page.walk;
  $('truncation-controls').hidden = !page.truncation;
  $('truncation-flag').hidden = !page.truncation;
  $('run').addEventListener('click', () => busy(generate));
  $('walk').addEventListener('input', () => busy(walk));
});
