// The stylizer pages: a multi-style stylizer (style names, blends of two) or an arbitrary-style
// model (any painting; its style network runs once per painting and its output is reused).
// Strength and colour follow zoo/style/controls.py: the multi-style stylizer blends pixels with
// the photo, the arbitrary model blends features (its `alpha` input); preserving colour keeps
// the photo's chroma (Pillow's JPEG YCbCr) under the stylized luminance.

import {
  $, PageError, acceptPhotos, boot, busy, draw, notice, offerDownload, readImage, run, scaledNotice, setStatus,
  showError, showTime, toPaddedTensor, toRGBA,
} from './zoo.js';

let ort, sessions, page;
let photo = null; // readImage() of the photo
let last = null; // {network: RGBA of the network's output, key: what it was computed from}
const paintings = { first: null, second: null }; // {name, stats: Float32Array} per chosen painting

const byte = (v) => Math.min(255, Math.max(0, Math.round(v)));

// Pillow's RGB <-> YCbCr (ITU-R BT.601, full range), rounded at each step as Pillow does.
function preserveColor(photoRGBA, stylizedRGBA) {
  const out = new Uint8ClampedArray(stylizedRGBA.length);
  for (let i = 0; i < out.length; i += 4) {
    const [r, g, b] = [photoRGBA[i], photoRGBA[i + 1], photoRGBA[i + 2]];
    const y = byte(0.299 * stylizedRGBA[i] + 0.587 * stylizedRGBA[i + 1] + 0.114 * stylizedRGBA[i + 2]);
    const cb = byte(128 - 0.168736 * r - 0.331264 * g + 0.5 * b) - 128;
    const cr = byte(128 + 0.5 * r - 0.418688 * g - 0.081312 * b) - 128;
    out[i] = byte(y + 1.402 * cr);
    out[i + 1] = byte(y - 0.344136 * cb - 0.714136 * cr);
    out[i + 2] = byte(y + 1.772 * cb);
    out[i + 3] = 255;
  }
  return out;
}

// (1 - s) * photo + s * stylized, rounded as zoo/style/controls.py blend.
function blend(photoRGBA, stylizedRGBA, strength) {
  if (strength >= 1) return stylizedRGBA;
  const out = new Uint8ClampedArray(stylizedRGBA.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.floor((1 - strength) * photoRGBA[i] + strength * stylizedRGBA[i] + 0.5);
  return out;
}

function strength() {
  return Number($('strength').value);
}

// What the controls ask of the network, as a key: a run is repeated only when it changes.
function styleWeights() {
  const names = page.styles;
  const weights = new Float32Array(names.length);
  const mix = $('style2').value ? Number($('mix').value) : 0;
  weights[names.indexOf($('style').value)] += 1 - mix;
  if (mix) weights[names.indexOf($('style2').value)] += mix;
  return weights;
}

async function paintingFromFile(file) {
  const image = await readImage(file, page.style_side, 'painting');
  if (Math.min(image.width, image.height) < page.min_style_side) {
    throw new PageError(`the painting ${file.name} is ${image.width}x${image.height} pixels; it needs at least ` +
      `${page.min_style_side} on each side to have a texture`);
  }
  const tensor = toPaddedTensor(ort, image, 1);
  setStatus(`reading the style of ${file.name}`);
  const { outputs, ms } = await run(sessions.style, { [page.inputs.style_image]: tensor });
  showTime(ms, 'style network');
  return { name: file.name, stats: outputs[page.outputs.style_stats].data, notice: scaledNotice(image) };
}

async function paintingFromExample(name) {
  const file = page.examples.find((e) => e.name === name);
  const response = await fetch(file.path);
  if (!response.ok) throw new PageError(`cannot load ${file.path} (HTTP ${response.status})`);
  return paintingFromFile(new File([await response.blob()], name));
}

function styleStatistics() {
  const first = paintings.first;
  if (!first) throw new PageError('choose a painting first (its style is what the photo takes)');
  const second = paintings.second;
  const mix = second ? Number($('mix').value) : 0;
  const stats = new Float32Array(first.stats.length);
  for (let i = 0; i < stats.length; i++) stats[i] = (1 - mix) * first.stats[i] + (second ? mix * second.stats[i] : 0);
  return stats;
}

async function stylize() {
  if (!photo) throw new PageError('choose a photo first (file, drag and drop, or camera)');
  const arbitrary = page.kind === 'arbitrary';
  const feeds = { [page.inputs.image]: toPaddedTensor(ort, photo, page.multiple) };
  let key;
  if (arbitrary) {
    const stats = styleStatistics();
    feeds[page.inputs.style_stats] = new ort.Tensor('float32', stats, [1, stats.length]);
    feeds[page.inputs.alpha] = new ort.Tensor('float32', new Float32Array([strength()]), [1, 1]);
    key = [photo, stats.join(), strength()];
  } else {
    const weights = styleWeights();
    feeds[page.inputs.style_weights] = new ort.Tensor('float32', weights, [1, weights.length]);
    key = [photo, weights.join()];
  }
  if (!last || last.key.some((v, i) => v !== key[i])) {
    const { outputs, ms } = await run(sessions.transfer, feeds);
    showTime(ms, `${photo.width}x${photo.height}`);
    last = { key, network: toRGBA(outputs[page.outputs.stylized], photo.width, photo.height) };
  }
  render();
}

// The controls applied to the network's output: no network run.
function render() {
  let result = last.network;
  if ($('preserve-color').checked) result = preserveColor(photo.pixels, result);
  if (page.kind !== 'arbitrary') result = blend(photo.pixels, result, strength());
  draw(result, photo.width, photo.height);
  offerDownload(`${photo.name.replace(/\.[^.]*$/, '')}-stylized.png`);
}

function choosePhoto(file) {
  busy(async () => {
    photo = await readImage(file, Number($('max-side').value), 'photo');
    last = null;
    notice(scaledNotice(photo));
    $('photo-name').textContent = `${file.name}, ${photo.width}x${photo.height}`;
  }).then(() => {
    if (!$('status').textContent.startsWith('error:')) {
      setStatus(photo.scaled ? `photo ready (scaled down from ${photo.original.join('x')} to ${photo.width}x${photo.height}): ` +
        'press Stylize' : 'photo ready: press Stylize');
    }
  });
}

// The blend slider shows only when there is a second style to blend with.
function showBlend() {
  $('mix').parentElement.hidden = page.kind === 'arbitrary' ? !paintings.second : !$('style2').value;
}

function choosePainting(slot, pick) {
  busy(async () => {
    paintings[slot] = await pick();
    if (paintings[slot].notice) notice(paintings[slot].notice);
    showBlend();
  }).then(() => {
    if (!$('status').textContent.startsWith('error:')) setStatus(`painting ready: ${paintings[slot].name}`);
  });
}

function setUpStyleBank() {
  for (const select of [$('style'), $('style2')]) {
    for (const name of page.styles) select.add(new Option(name.replaceAll('_', ' '), name));
  }
  const thumbnail = () => {
    const entry = page.examples.find((e) => e.name === $('style').value);
    $('style-preview').src = entry ? entry.path : '';
    $('style-preview').hidden = !entry;
  };
  $('style').addEventListener('change', thumbnail);
  $('style2').addEventListener('change', showBlend);
  thumbnail();
}

function setUpPaintings() {
  const select = $('style');
  for (const example of page.examples) select.add(new Option(example.name.replace(/\.[^.]*$/, '').replaceAll('_', ' '), example.name));
  select.addEventListener('change', () => select.value && choosePainting('first', () => paintingFromExample(select.value)));
  $('painting').addEventListener('change', () => {
    const file = $('painting').files[0];
    select.value = ''; // the file, not an example, is the painting now
    if (file) choosePainting('first', () => paintingFromFile(file));
  });
  $('painting2').addEventListener('change', () => {
    const file = $('painting2').files[0];
    if (file) choosePainting('second', () => paintingFromFile(file));
  });
}

boot(async (manifest, networks) => {
  ({ ort, sessions } = networks);
  page = manifest.page;
  document.body.classList.add(page.kind);
  if (page.kind === 'arbitrary') setUpPaintings();
  else setUpStyleBank();
  showBlend();
  acceptPhotos('photo', choosePhoto);
  $('run').addEventListener('click', () => busy(stylize));
  for (const id of ['strength', 'preserve-color', 'mix']) {
    $(id).addEventListener('input', () => {
      $('strength-value').textContent = strength().toFixed(2);
      if (last && page.kind !== 'arbitrary' && id !== 'mix') {
        try {
          render();
        } catch (error) {
          showError(error);
        }
      }
    });
  }
  if (page.kind === 'arbitrary' && page.examples.length) {
    $('style').value = page.examples[0].name;
    paintings.first = await paintingFromExample(page.examples[0].name);
  }
});
