// The page's logic: load a raw-text model with onnxruntime-web, score one review as it is
// typed (and show which words moved its score) and many in a batch. The model takes review
// strings (its tokenizer and vocabulary run inside the graph), so no text processing happens
// here: even the words' places come from the model's own tokens output.
//
//   npm install --prefix samples/web          # onnxruntime-web, pinned in package.json
//   python -m http.server -d samples/web      # then open http://localhost:8000/
//   http://localhost:8000/?text=A%20fine%20film&model=fp32   # score a linked review

import { describeModel, readMetadata } from './metadata.js';

// onnxruntime-web comes from npm, not with the page: without it, say how to get it instead
// of waiting forever (a static import that fails would stop this script before it starts).
const ORT_DIST = './node_modules/onnxruntime-web/dist/';
const INSTALL = 'npm install --prefix samples/web --ignore-scripts';
const START_SECONDS = 60; // onnxruntime-web fetching and compiling its wasm, at most
let ort = null;

const MODELS = {
  int8: 'models/lstm-sentiment-text-int8.onnx',
  fp32: 'models/lstm-sentiment-text-fp32.onnx',
};
const CHUNK = 64; // reviews per session.run in a batch: bounded memory, a live page
// The same words as the scorer's error records (runtime/readers.py, runtime/batch.py).
const EMPTY = 'the review is empty';
const NO_WORDS = 'the review has no words the model reads (ASCII letters or digits)';

// Threads need SharedArrayBuffer, which a browser gives only to a cross-origin-isolated page
// (served with COOP/COEP headers); single-threaded wasm runs from any static server.
const params = new URLSearchParams(window.location.search);
const threads = Math.max(1, Math.floor(Number(params.get('threads')) || 1));

async function loadRuntime() {
  try {
    ort = await import(`${ORT_DIST}ort.wasm.min.mjs`);
  } catch {
    throw new Error(`onnxruntime-web is not installed next to the page (${ORT_DIST}): run `
      + `${INSTALL}`);
  }
  ort.env.wasm.numThreads = window.crossOriginIsolated ? threads : 1;
  ort.env.wasm.wasmPaths = new URL(ORT_DIST, import.meta.url).href;
}

// A session whose wasm files cannot be fetched fails, or never settles: either way, an error.
function startSession(bytes) {
  const failed = (error) => new Error(`onnxruntime-web cannot start (${error.message || error}); `
    + `its files in ${ORT_DIST} may be missing or incomplete: run ${INSTALL}`);
  const timeout = new Promise((_, reject) => {
    setTimeout(() => reject(failed(`no answer in ${START_SECONDS} s`)), START_SECONDS * 1000);
  });
  const session = ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] })
    .catch((error) => { throw failed(error); });
  return Promise.race([session, timeout]);
}

const $ = (id) => document.getElementById(id);
let current = null; // { session, labels, threshold, ... } of the loaded model

function setStatus(state, text) {
  $('status').dataset.state = state;
  $('status').textContent = text;
}

async function loadModel(variant) {
  setStatus('loading', `loading ${variant}…`);
  current = null;
  const response = await fetch(MODELS[variant]).catch(() => ({ ok: false, status: 'none' }));
  if (!response.ok) {
    throw new Error(`cannot fetch the model ${MODELS[variant]} (HTTP ${response.status}): serve `
      + 'the page with its models/ folder, the raw-text models of runtime/models');
  }
  const bytes = new Uint8Array(await response.arrayBuffer());
  const model = describeModel(readMetadata(bytes));
  const session = await startSession(bytes);
  const explains = session.outputNames.includes('token_effects');
  current = { ...model, session, bytes: bytes.length, explains };
  await run(['warm up']); // the first run compiles kernels: keep it out of the latency shown
  $('model-info').textContent = `${model.version} ${model.variant}, `
    + `${(bytes.length / 1e6).toFixed(2)} MB, ${ort.env.wasm.numThreads} thread`
    + `${ort.env.wasm.numThreads === 1 ? '' : 's'}`;
  setStatus('ready', 'ready');
}

// Scores for non-empty texts: [{ score, words }] in order, and the milliseconds it took.
async function run(texts) {
  const input = new ort.Tensor('string', texts, [texts.length]);
  const started = performance.now();
  const output = await current.session.run({ review: input });
  const ms = performance.now() - started;
  const scores = output.positive_probability.data;
  const counts = output.token_count.data;
  // token_count counts the start id: 1 means no word the model reads, and so no score.
  const results = texts.map((_, i) => ({ score: scores[i], words: counts[i] - 1 }));
  if (current.explains && texts.length === 1) {
    results[0].explained = wordsOf(texts[0], output.tokens.data, output.token_effects.data);
  }
  return { results, ms };
}

// -- why: each word's effect on the score ---------------------------------------------------

// The file gives every match of its scan as written (words, and line-break tags and
// references, which are no words) with the logit's change there. Each match is found by
// searching forward from the end of the one before: exact, as no match lies between two.
// A word's effect is its change discounted by its distance from the last word, as the
// Python runtime does (RECENCY_WORDS in runtime/explain.py): the network forgets.
const RECENCY_WORDS = 200;

function wordsOf(text, tokens, effects) {
  const words = [];
  let cursor = 0;
  for (let i = 0; i < tokens.length && tokens[i] !== ''; i += 1) {
    const start = text.indexOf(tokens[i], cursor);
    cursor = start + tokens[i].length;
    if (!'<&'.includes(tokens[i][0])) {
      words.push({ word: tokens[i], start, end: cursor, effect: effects[i] });
    }
  }
  words.forEach((w, j) => {
    w.effect *= Math.exp(-(words.length - 1 - j) / RECENCY_WORDS);
  });
  return words;
}

const logit = (p) => {
  const q = Math.min(Math.max(p, 1e-7), 1 - 1e-7);
  return Math.log(q / (1 - q));
};

// Exact effects: each word removed in turn (a space in its place) and the review scored again;
// a word's effect is how far the logit falls without it. n words cost n more scorings.
async function occlusion(text, score, words) {
  const whole = logit(score);
  const exact = [];
  for (let start = 0; start < words.length; start += CHUNK) {
    const part = words.slice(start, start + CHUNK);
    const variants = part.map((w) => `${text.slice(0, w.start)} ${text.slice(w.end)}`);
    const { results } = await run(variants);
    part.forEach((w, i) => {
      const without = results[i].words === 0 ? 0 : logit(results[i].score);
      exact.push({ ...w, effect: whole - without });
    });
  }
  return exact;
}

function showWhy(text, words) {
  const why = $('why');
  why.replaceChildren();
  if (!words) {
    why.textContent = current.explains ? '' : 'this model file gives no word effects';
    return;
  }
  const strongest = Math.max(0, ...words.map((w) => Math.abs(w.effect)));
  let at = 0;
  for (const w of words) {
    why.append(document.createTextNode(text.slice(at, w.start)));
    const mark = document.createElement('mark');
    mark.textContent = text.slice(w.start, w.end);
    const share = strongest > 0 ? Math.abs(w.effect) / strongest : 0;
    const rgb = w.effect >= 0 ? '43, 122, 11' : '164, 22, 26';
    mark.style.backgroundColor = `rgba(${rgb}, ${(0.65 * share).toFixed(3)})`;
    mark.title = `${w.effect >= 0 ? '+' : ''}${w.effect.toFixed(3)} on the logit`;
    mark.dataset.effect = String(w.effect);
    mark.dataset.start = String(w.start);
    why.append(mark);
    at = w.end;
  }
  why.append(document.createTextNode(text.slice(at)));
  const [negative, positive] = current.labels;
  $('legend-positive').textContent = `toward ${positive}`;
  $('legend-negative').textContent = `toward ${negative}`;
  why.dataset.method = $('exact').checked ? 'occlusion' : 'pass';
}

// One record per text, as scorer batch writes it: a score and label, or an error.
async function scoreAll(texts, progress = () => {}) {
  const records = texts.map((text, i) => ({ id: i + 1, text, score: null, label: '', error: '' }));
  const todo = records.filter((r) => {
    if (r.text.trim() === '') r.error = EMPTY;
    return r.error === '';
  });
  for (let start = 0; start < todo.length; start += CHUNK) {
    const part = todo.slice(start, start + CHUNK);
    const { results } = await run(part.map((r) => r.text));
    part.forEach((record, i) => {
      if (results[i].words === 0) record.error = NO_WORDS;
      else {
        record.score = results[i].score;
        record.label = labelOf(record.score);
      }
    });
    progress(Math.min(start + CHUNK, todo.length), todo.length);
  }
  return records;
}

function labelOf(score) {
  const [negative, positive] = current.labels;
  return score >= current.threshold ? positive : negative;
}

async function scoreOne() {
  if (!current) return;
  const text = $('review').value;
  if (text.trim() === '') {
    showOne(null, 'type a review');
    showWhy(text, []);
    return;
  }
  const { results, ms } = await run([text]);
  $('latency').textContent = `${ms.toFixed(1)} ms`;
  const [result] = results;
  if (result.words === 0) {
    showOne(null, `no score: ${NO_WORDS}`);
    showWhy(text, []);
    return;
  }
  showOne(result.score, labelOf(result.score));
  let words = result.explained || null;
  if (words && $('exact').checked) words = await occlusion(text, result.score, words);
  showWhy(text, words);
}

function showOne(score, label) {
  $('label').textContent = label;
  $('bar').style.width = score === null ? '0' : `${(100 * score).toFixed(1)}%`;
  $('probability').textContent = score === null ? ''
    : `P(${current.labels[1]}) = ${score.toFixed(4)}`;
  $('probability').dataset.probability = score === null ? '' : String(score);
}

// -- batch input: lines, a text file, or a CSV file ---------------------------------------

function lines(text) {
  const all = text.split(/\r?\n/);
  if (all.length && all[all.length - 1] === '') all.pop(); // the file's final newline
  return all;
}

// RFC 4180 fields, quotes and newlines inside quotes included.
function parseCsv(text) {
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i += 1; }
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(field); field = ''; }
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i += 1;
      row.push(field); rows.push(row); row = []; field = '';
    } else field += c;
  }
  if (quoted) throw new Error('the CSV file ends inside a quoted field');
  if (field !== '' || row.length) { row.push(field); rows.push(row); }
  return rows;
}

function csvTexts(text) {
  const [header, ...rows] = parseCsv(text.replace(/^\uFEFF/, ''));
  if (!header) throw new Error('the CSV file is empty');
  const names = header.map((name) => name.trim().toLowerCase());
  let column = names.indexOf('review');
  if (column < 0) column = names.indexOf('text');
  if (column < 0 && header.length === 1) column = 0;
  if (column < 0) throw new Error(`no review or text column (columns: ${header.join(', ')})`);
  return rows.map((row, i) => {
    if (row.length !== header.length) {
      throw new Error(`CSV record ${i + 1} has ${row.length} fields, the header ${header.length}`);
    }
    return row[column];
  });
}

function csvField(value) {
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function toCsv(records) {
  const out = ['id,score,label,error'];
  for (const r of records) {
    const score = r.score === null ? '' : r.score.toFixed(6);
    out.push([r.id, score, r.label, r.error].map(csvField).join(','));
  }
  return `${out.join('\n')}\n`;
}

function showBatch(records) {
  const body = $('batch-table').querySelector('tbody');
  body.replaceChildren(...records.map((r) => {
    const tr = document.createElement('tr');
    const cells = [r.id, r.score === null ? '' : r.score.toFixed(4), r.label, r.error, r.text];
    cells.forEach((value, i) => {
      const td = document.createElement('td');
      td.textContent = value;
      if (i === 4) td.className = 'text';
      tr.append(td);
    });
    return tr;
  }));
  $('batch-table').hidden = false;
  const link = $('download');
  if (link.href) URL.revokeObjectURL(link.href);
  link.href = URL.createObjectURL(new Blob([toCsv(records)], { type: 'text/csv' }));
  link.hidden = false;
}

async function scoreBatch(texts) {
  if (!current) return;
  const started = performance.now();
  const records = await scoreAll(texts, (done, total) => {
    $('batch-status').textContent = `${done} of ${total} scored…`;
  });
  const errors = records.filter((r) => r.error).length;
  const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;
  $('batch-status').textContent = `${plural(records.length, 'record')}, `
    + `${plural(errors, 'error record')}, `
    + `${((performance.now() - started) / 1000).toFixed(3)} s`;
  showBatch(records);
}

async function readDropped(file) {
  const text = await file.text();
  return /\.csv$/i.test(file.name) || file.type === 'text/csv' ? csvTexts(text) : lines(text);
}

// -- wiring --------------------------------------------------------------------------------

function reportError(error) {
  setStatus('error', `error: ${error.message || error}`);
}

// A batch that cannot be read (a bad CSV file) says so beside the batch; the model stays ready.
function reportBatchError(error) {
  $('batch-status').textContent = `error: ${error.message || error}`;
}

function debounce(action, ms) {
  let timer = 0;
  return () => { clearTimeout(timer); timer = setTimeout(action, ms); };
}

async function main() {
  const variant = params.get('model') in MODELS ? params.get('model') : 'int8';
  $('model').value = variant;
  if (params.has('text')) $('review').value = params.get('text');

  const guard = (action) => () => action().catch(reportError);
  const guardBatch = (action) => () => action().catch(reportBatchError);
  $('score').addEventListener('click', guard(scoreOne));
  $('exact').addEventListener('change', guard(scoreOne));
  $('review').addEventListener('input', debounce(() => {
    if ($('live').checked) guard(scoreOne)();
  }, 150));
  $('model').addEventListener('change', guard(async () => {
    await loadModel($('model').value);
    await scoreOne();
  }));
  $('batch-score').addEventListener('click', guardBatch(() => scoreBatch(lines($('batch-input').value))));
  $('batch-file').addEventListener('change', guardBatch(async () => {
    const [file] = $('batch-file').files;
    if (file) await scoreBatch(await readDropped(file));
  }));
  const drop = $('drop');
  drop.addEventListener('dragover', (event) => { event.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (event) => {
    event.preventDefault();
    drop.classList.remove('over');
    const [file] = event.dataTransfer.files;
    if (file) guardBatch(async () => scoreBatch(await readDropped(file)))();
  });

  await loadRuntime();
  await loadModel(variant);
  await scoreOne();
}

main().catch(reportError);
