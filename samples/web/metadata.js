// Read an ONNX file's metadata_props (ModelProto field 14) without an ONNX library.
//
// onnxruntime-web does not expose a model's custom metadata, and the page needs the
// model's own threshold and label names. The ONNX file is a protobuf message: this walks
// its top-level fields and decodes only the key/value string pairs of field 14.

const METADATA_PROPS = 14; // ModelProto.metadata_props (onnx.proto)
const decoder = new TextDecoder('utf-8', { fatal: true });

function readVarint(bytes, at) {
  let value = 0;
  let scale = 1;
  for (let i = at; i < bytes.length && i < at + 10; i += 1) {
    value += (bytes[i] & 0x7f) * scale; // no bit operators: values may pass 2**31
    if ((bytes[i] & 0x80) === 0) return [value, i + 1];
    scale *= 128;
  }
  throw new Error('not an ONNX file: a truncated or overlong varint');
}

// Yields [fieldNumber, wireType, start, end] for each field of a message; `start`/`end`
// delimit a length-delimited field's payload.
function* fields(bytes, start, end) {
  let at = start;
  while (at < end) {
    const [key, next] = readVarint(bytes, at);
    const number = Math.floor(key / 8);
    const wire = key % 8;
    at = next;
    if (wire === 0) {
      [, at] = readVarint(bytes, at);
      yield [number, wire, at, at];
    } else if (wire === 1 || wire === 5) {
      at += wire === 1 ? 8 : 4;
      yield [number, wire, at, at];
    } else if (wire === 2) {
      const [length, payload] = readVarint(bytes, at);
      at = payload + length;
      if (at > end) throw new Error('not an ONNX file: a field runs past the end');
      yield [number, wire, payload, at];
    } else {
      throw new Error(`not an ONNX file: wire type ${wire}`);
    }
  }
}

// The model's metadata as an object of strings, keys as written (lstm_sentiment.*).
export function readMetadata(bytes) {
  const metadata = {};
  for (const [number, wire, start, end] of fields(bytes, 0, bytes.length)) {
    if (number !== METADATA_PROPS || wire !== 2) continue;
    let key = '';
    let value = '';
    for (const [inner, innerWire, s, e] of fields(bytes, start, end)) {
      if (innerWire !== 2) continue;
      if (inner === 1) key = decoder.decode(bytes.subarray(s, e));
      if (inner === 2) value = decoder.decode(bytes.subarray(s, e));
    }
    metadata[key] = value;
  }
  return metadata;
}

// What the page needs from the metadata, checked: the file is untrusted input.
export function describeModel(metadata) {
  const json = (key, fallback) => {
    const raw = metadata[`lstm_sentiment.${key}`];
    return raw === undefined ? fallback : JSON.parse(raw);
  };
  if (metadata['lstm_sentiment.contract'] === undefined) {
    throw new Error('this file carries no lstm-sentiment text contract: not one of our models');
  }
  const labels = json('labels', ['negative', 'positive']);
  const threshold = json('threshold', 0.5);
  const io = json('io', {});
  const okLabels = Array.isArray(labels) && labels.length === 2
    && labels.every((name) => typeof name === 'string' && name.trim() !== '')
    && labels[0] !== labels[1];
  if (!okLabels) throw new Error("the model's labels are not two different names");
  if (typeof threshold !== 'number' || !(threshold >= 0 && threshold <= 1)) {
    throw new Error("the model's threshold is not a number in [0, 1]");
  }
  if (!io.input || io.input.name !== 'review') {
    throw new Error('this is a token-id model; a raw-text (text-*) model is needed here');
  }
  return {
    labels,
    threshold,
    version: json('model_version', '?'),
    variant: json('variant', '?'),
  };
}
