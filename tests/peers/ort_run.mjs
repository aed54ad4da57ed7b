// Runs slmkit's ONNX exports in ONNX Runtime (npm onnxruntime-node) for the parity tests.
//   node ort_run.mjs REQUEST.json
// REQUEST: { mode: "plain" | "past" | "static", model | prefill + decode: paths,
//            tokens: [ids], chunks: [sizes] (past/static: the first is the prompt pass, then one
//            pass per chunk; static decodes one token per pass), n_layer, kv_heads, head_dim,
//            max_length (static), kv_type: "float32" | "float16",
//            logits_out: file for the float32 logits of every position of `tokens` [n, vocab],
//            greedy: tokens to generate after `tokens` (argmax, through the cache) }
// Prints { "vocab": V, "generated": [...] } on stdout.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const peers = process.env.SLMKIT_PEERS_DIR ||
              path.join(here, '..', '..', 'third_party', 'peers', 'node_modules');
const require = createRequire(path.join(peers, 'noop.js'));
const ort = require('onnxruntime-node');

const req = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const opts = { graphOptimizationLevel: 'all', intraOpNumThreads: 1, interOpNumThreads: 1 };

const i64 = (arr, dims) => new ort.Tensor('int64', BigInt64Array.from(arr.map(BigInt)), dims);
function emptyCache(len) {
  const n = req.kv_heads * len * req.head_dim;
  const data = req.kv_type === 'float16' ? new Uint16Array(n) : new Float32Array(n);
  return new ort.Tensor(req.kv_type || 'float32', data, [1, req.kv_heads, len, req.head_dim]);
}
function argmaxLast(logits) {
  const [, s, v] = logits.dims;
  const d = logits.data;
  let best = 0;
  for (let i = 1; i < v; ++i) if (d[(s - 1) * v + i] > d[(s - 1) * v + best]) best = i;
  return best;
}

const collected = [];
let vocab = 0;
function keep(logits) {
  vocab = logits.dims[2];
  collected.push(Float32Array.from(logits.data));
}

async function runPlain() {
  const s = await ort.InferenceSession.create(req.model, opts);
  const n = req.tokens.length;
  const out = await s.run({
    input_ids: i64(req.tokens, [1, n]),
    attention_mask: i64(Array(n).fill(1), [1, n]),
    position_ids: i64([...Array(n).keys()], [1, n]),
  });
  keep(out.logits);
  return [];
}

async function runPast() {
  const s = await ort.InferenceSession.create(req.model, opts);
  let past = {};
  for (let l = 0; l < req.n_layer; ++l) {
    past[`past_key_values.${l}.key`] = emptyCache(0);
    past[`past_key_values.${l}.value`] = emptyCache(0);
  }
  let pos = 0;
  let last = null;
  async function step(ids) {
    const n = ids.length;
    const out = await s.run({
      input_ids: i64(ids, [1, n]),
      attention_mask: i64(Array(pos + n).fill(1), [1, pos + n]),
      position_ids: i64([...Array(n).keys()].map((i) => pos + i), [1, n]),
      ...past,
    });
    past = {};
    for (let l = 0; l < req.n_layer; ++l) {
      past[`past_key_values.${l}.key`] = out[`present.${l}.key`];
      past[`past_key_values.${l}.value`] = out[`present.${l}.value`];
    }
    pos += n;
    return out.logits;
  }
  let at = 0;
  for (const c of req.chunks) {
    last = await step(req.tokens.slice(at, at + c));
    keep(last);
    at += c;
  }
  const gen = [];
  for (let i = 0; i < (req.greedy || 0); ++i) {
    const t = argmaxLast(last);
    gen.push(t);
    last = await step([t]);
  }
  return gen;
}

async function runStatic() {
  const pre = await ort.InferenceSession.create(req.prefill, opts);
  const dec = await ort.InferenceSession.create(req.decode, opts);
  const L = req.max_length;
  const n0 = req.chunks[0];
  let out = await pre.run({
    input_ids: i64(req.tokens.slice(0, n0), [1, n0]),
    attention_mask: i64(Array(n0).fill(1), [1, n0]),
    position_ids: i64([...Array(n0).keys()], [1, n0]),
  });
  keep(out.logits);
  let last = out.logits;
  let pos = n0;
  async function step(t) {
    const feeds = {
      input_ids: i64([t], [1, 1]),
      position_ids: i64([pos], [1, 1]),
      cache_position: i64([pos], [1]),
      attention_mask: i64([...Array(L).keys()].map((j) => (j <= pos ? 1 : 0)), [1, L]),
    };
    for (let l = 0; l < req.n_layer; ++l) {
      feeds[`past_key_values.${l}.key`] = out[`present.${l}.key`];
      feeds[`past_key_values.${l}.value`] = out[`present.${l}.value`];
    }
    out = await dec.run(feeds);
    pos += 1;
    return out.logits;
  }
  for (let i = n0; i < req.tokens.length; ++i) {
    last = await step(req.tokens[i]);
    keep(last);
  }
  const gen = [];
  for (let i = 0; i < (req.greedy || 0); ++i) {
    const t = argmaxLast(last);
    gen.push(t);
    last = await step(t);
  }
  return gen;
}

const modes = { plain: runPlain, past: runPast, static: runStatic };
if (!modes[req.mode]) throw new Error(`unknown mode ${req.mode}`);
const generated = await modes[req.mode]();
if (req.logits_out) {
  const total = collected.reduce((a, c) => a + c.length, 0);
  const all = new Float32Array(total);
  let off = 0;
  for (const c of collected) { all.set(c, off); off += c.length; }
  fs.writeFileSync(req.logits_out, Buffer.from(all.buffer));
}
process.stdout.write(JSON.stringify({ vocab, generated }) + '\n');
