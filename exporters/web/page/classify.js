// The classifier page: a photo, or a drawing on the pad, converted as `python -m zoo.classify`
// converts files (grayscale by ITU-R 601 luma, then resized to the network's input), and the top
// three classes with their probabilities.

import { $, PageError, acceptPhotos, boot, busy, draw, notice, readImage, run, scaledNotice, setStatus, showTime } from './zoo.js';

let ort, sessions, page;
let photo = null; // readImage() of the chosen file; null while the pad is the input

const pad = () => $('pad');

function setUpPad() {
  const context = pad().getContext('2d');
  const clear = () => {
    context.fillStyle = '#000';
    context.fillRect(0, 0, pad().width, pad().height);
  };
  clear();
  let drawing = false;
  const at = (event) => {
    const box = pad().getBoundingClientRect();
    return [(event.clientX - box.left) * pad().width / box.width, (event.clientY - box.top) * pad().height / box.height];
  };
  pad().addEventListener('pointerdown', (event) => {
    drawing = true;
    photo = null;
    $('photo-name').textContent = 'the drawing';
    context.beginPath();
    context.moveTo(...at(event));
  });
  pad().addEventListener('pointermove', (event) => {
    if (!drawing) return;
    context.lineTo(...at(event));
    context.strokeStyle = '#fff';
    context.lineWidth = pad().width / 14;
    context.lineCap = context.lineJoin = 'round';
    context.stroke();
  });
  for (const end of ['pointerup', 'pointerleave']) pad().addEventListener(end, () => { drawing = false; });
  $('clear').addEventListener('click', () => {
    clear();
    photo = null;
  });
}

// RGBA of any size -> float32 [1, H, W, C] at the network's size, in [0, 1].
function toInput(pixels, width, height) {
  const [, h, w, c] = page.input_shape;
  let source = new ImageData(new Uint8ClampedArray(pixels), width, height);
  if (c === 1) { // luma first, as Pillow's convert("L"): (299 R + 587 G + 114 B) / 1000
    const gray = source.data;
    for (let i = 0; i < gray.length; i += 4) {
      gray[i] = gray[i + 1] = gray[i + 2] = Math.round((299 * gray[i] + 587 * gray[i + 1] + 114 * gray[i + 2]) / 1000);
    }
  }
  const canvas = new OffscreenCanvas(w, h);
  const context = canvas.getContext('2d', { willReadFrequently: true });
  if (width === w && height === h) {
    context.putImageData(source, 0, 0);
  } else {
    const full = new OffscreenCanvas(width, height);
    full.getContext('2d').putImageData(source, 0, 0);
    context.imageSmoothingQuality = 'high';
    context.drawImage(full, 0, 0, w, h);
  }
  const rgba = context.getImageData(0, 0, w, h).data;
  const data = new Float32Array(h * w * c);
  for (let i = 0; i < h * w; i++) {
    for (let k = 0; k < c; k++) data[i * c + k] = rgba[i * 4 + k] / 255;
  }
  return new ort.Tensor('float32', data, [1, h, w, c]);
}

async function classify() {
  const source = photo || { pixels: pad().getContext('2d').getImageData(0, 0, pad().width, pad().height).data,
    width: pad().width, height: pad().height };
  if (!photo && !source.pixels.some((v, i) => i % 4 !== 3 && v > 0)) {
    throw new PageError('choose a photo or draw on the pad first');
  }
  const { outputs, ms } = await run(sessions.classifier, { [page.inputs.image]: toInput(source.pixels, source.width, source.height) });
  showTime(ms);
  const probabilities = outputs[page.outputs.probabilities].data;
  const order = Array.from(probabilities.keys()).sort((a, b) => probabilities[b] - probabilities[a]).slice(0, 3);
  const list = $('top');
  list.replaceChildren(...order.map((i) => {
    const item = document.createElement('li');
    item.textContent = `${page.class_names[i]}: ${(100 * probabilities[i]).toFixed(1)}%`;
    return item;
  }));
  // What the network saw, enlarged on the result canvas.
  const [, h, w, c] = page.input_shape;
  const input = new Uint8ClampedArray(h * w * 4);
  const seen = window.zoo.inputs = Array.from(toInput(source.pixels, source.width, source.height).data);
  for (let i = 0; i < h * w; i++) {
    for (let k = 0; k < 3; k++) input[i * 4 + k] = Math.round(255 * seen[i * c + (c === 1 ? 0 : k)]);
    input[i * 4 + 3] = 255;
  }
  draw(input, w, h);
}

function choosePhoto(file) {
  busy(async () => {
    photo = await readImage(file, 1024, 'photo');
    notice(scaledNotice(photo));
    $('photo-name').textContent = `${file.name}, ${photo.original[0]}x${photo.original[1]}`;
    const context = pad().getContext('2d');
    const preview = new OffscreenCanvas(photo.width, photo.height);
    preview.getContext('2d').putImageData(new ImageData(photo.pixels, photo.width, photo.height), 0, 0);
    context.drawImage(preview, 0, 0, pad().width, pad().height);
  }).then(() => {
    if (!$('status').textContent.startsWith('error:')) setStatus('photo ready: press Classify');
  });
}

boot(async (manifest, networks) => {
  ({ ort, sessions } = networks);
  page = manifest.page;
  if (!page.class_names) throw new PageError('manifest.json has no class names; export the model again');
  setUpPad();
  acceptPhotos('photo', choosePhoto);
  $('run').addEventListener('click', () => busy(classify));
});
