#!/usr/bin/env node
// Score movie reviews with lstm-sentiment's raw-text ONNX model from Node.js.
//
//   npm install --ignore-scripts          # the CPU binaries; the script only adds CUDA
//   node score.js MODEL.onnx "A fine film." "Dull and far too long."
//   node score.js MODEL.onnx --file reviews.txt          # one review per line
//   node score.js MODEL.onnx --json "A fine film."       # machine-readable output
//
// The model takes the review strings themselves: the tokenizer and vocabulary run inside
// the graph, so there is nothing to reimplement here. Its label names and threshold are in
// its metadata, which onnxruntime-node does not expose: ../web/metadata.js (the browser
// sample's reader, an ES module) parses them from the file.
'use strict';

const fs = require('fs');
const path = require('path');
const { pathToFileURL } = require('url');
const ort = require('onnxruntime-node');

const METADATA_READER = pathToFileURL(path.join(__dirname, '..', 'web', 'metadata.js')).href;

function parseArgs(argv) {
  const args = { model: argv[0], reviews: [], json: false };
  for (let i = 1; i < argv.length; i += 1) {
    if (argv[i] === '--json') args.json = true;
    else if (argv[i] === '--file') {
      const text = fs.readFileSync(argv[i + 1], 'utf8');
      args.reviews.push(...text.split(/\r?\n/).filter((line) => line.length > 0));
      i += 1;
    } else args.reviews.push(argv[i]);
  }
  return args;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (!args.model || args.reviews.length === 0) {
    console.error('usage: node score.js MODEL.onnx [--json] (REVIEW ... | --file FILE)');
    process.exit(2);
  }
  const { describeModel, readMetadata } = await import(METADATA_READER);
  const bytes = fs.readFileSync(args.model);
  const { labels, threshold } = describeModel(readMetadata(bytes));
  const session = await ort.InferenceSession.create(bytes);
  const input = new ort.Tensor('string', args.reviews, [args.reviews.length]);
  const output = await session.run({ review: input });
  const scores = Array.from(output.positive_probability.data);
  const counts = Array.from(output.token_count.data);
  // token_count counts the start id too: 1 means the review has no word the model reads,
  // and such a review has no score (the model's output for it means nothing).
  const results = args.reviews.map((review, i) => {
    const words = counts[i] - 1;
    if (words === 0) {
      return { review, probability: null, label: null, words, error: 'no word the model reads' };
    }
    const label = scores[i] >= threshold ? labels[1] : labels[0];
    return { review, probability: scores[i], label, words, error: '' };
  });
  if (args.json) {
    console.log(JSON.stringify(results));
  } else {
    for (const r of results) {
      const score = r.probability === null ? '-' : r.probability.toFixed(4);
      console.log(`${r.label || 'no score'}\t${score}\t${r.review}`);
    }
  }
}

main().catch((error) => {
  console.error(`error: ${error.message || error}`);
  process.exit(1);
});
