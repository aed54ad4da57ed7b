// ONNX Runtime (npm onnxruntime-node) driven for slmkit's ORT peer (src/peers/ort_peer.cpp).
//   node ort_runner.mjs --probe            prints {"ok":true,"version":"1.30.0"} or fails
//   node ort_runner.mjs REQUEST.json       runs one request, prints one JSON line on stdout
// REQUEST (common): { mode: "plain" | "past" | "static", model | prefill + decode: paths,
//   n_layer, kv_heads, head_dim, max_length (static), kv_type: "float32" | "float16", threads }
// action "run" (default): tokens: [ids], chunks: [sizes] (past/static: the first is the prompt
//   pass, then one pass per chunk; static decodes one token per pass after the first),
//   logits_out: file for the float32 logits of every position of `tokens` [n, vocab],
//   greedy: tokens to generate after `tokens` (argmax, through the cache)
//   -> { vocab, generated: [...] }
// action "time": n_prompt, n_gen, repetitions, warmup -> { vocab, prompt_ns: [...],
//   gen_ns: [...], peak_rss_bytes }. Only session.run is timed (not process start or loading);
//   the prompt test is one pass over n_prompt tokens from an empty cache, the decode test n_gen
//   single-token passes from an empty cache (llama-bench's pp / tg). The plain graph has no
//   cache, so its decode test re-runs the whole sequence each step, as a cacheless runtime must.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const peers =
  process.env.SLMKIT_PEERS_DIR || path.join(here, '..', 'third_party', 'peers', 'node_modules');
const require = createRequire(path.join(peers, 'noop.js'));
const ort = require('onnxruntime-node');

if (process.argv[2] === '--probe') {
  const version = require('onnxruntime-node/package.json').version;
  process.stdout.write(JSON.stringify({ ok: true, version }) + '\n');
  process.exit(0);
}

const req = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const threads = req.threads > 0 ? req.threads : 0;  // 0: ONNX Runtime's default
const opts = {
  graphOptimizationLevel: 'all',
  intraOpNumThreads: threads,
  interOpNumThreads: 1,
};
const kvType = req.kv_type || 'float32';

const i64 = (arr, dims) => new ort.Tensor('int64', BigInt64Array.from(arr.map(BigInt)), dims);
const range = (n, from = 0) => [...Array(n).keys()].map((i) => from + i);
function emptyCache(len) {
  const n = req.kv_heads * len * req.head_dim;
  const data = kvType === 'float16' ? new Uint16Array(n) : new Float32Array(n);
  return new ort.Tensor(kvType, data, [1, req.kv_heads, len, req.head_dim]);
}
function argmaxLast(logits) {
  const [, s, v] = logits.dims;
  const d = logits.data;
  let best = 0;
  for (let i = 1; i < v; ++i) if (d[(s - 1) * v + i] > d[(s - 1) * v + best]) best = i;
  return best;
}

// One decoder behind a common interface: reset() empties the cache, step(ids) runs the next
// tokens through it and returns the logits tensor [1, n, vocab].
async function makeRunner() {
  if (req.mode === 'plain') {
    const s = await ort.InferenceSession.create(req.model, opts);
    let seq = [];
    return {
      reset() { seq = []; },
      // Without a cache every pass recomputes the sequence; only the new positions are returned.
      async step(ids) {
        seq = seq.concat(ids);
        const n = seq.length;
        const out = await s.run({
          input_ids: i64(seq, [1, n]),
          attention_mask: i64(Array(n).fill(1), [1, n]),
          position_ids: i64(range(n), [1, n]),
        });
        if (n === ids.length) return out.logits;
        const v = out.logits.dims[2];
        const data = out.logits.data.slice((n - ids.length) * v);
        return new ort.Tensor('float32', data, [1, ids.length, v]);
      },
    };
  }
  if (req.mode === 'past') {
    const s = await ort.InferenceSession.create(req.model, opts);
    let past, pos;
    const reset = () => {
      past = {};
      for (let l = 0; l < req.n_layer; ++l) {
        past[`past_key_values.${l}.key`] = emptyCache(0);
        past[`past_key_values.${l}.value`] = emptyCache(0);
      }
      pos = 0;
    };
    reset();
    return {
      reset,
      async step(ids) {
        const n = ids.length;
        const out = await s.run({
          input_ids: i64(ids, [1, n]),
          attention_mask: i64(Array(pos + n).fill(1), [1, pos + n]),
          position_ids: i64(range(n, pos), [1, n]),
          ...past,
        });
        past = {};
        for (let l = 0; l < req.n_layer; ++l) {
          past[`past_key_values.${l}.key`] = out[`present.${l}.key`];
          past[`past_key_values.${l}.value`] = out[`present.${l}.value`];
        }
        pos += n;
        return out.logits;
      },
    };
  }
  if (req.mode === 'static') {
    const pre = await ort.InferenceSession.create(req.prefill, opts);
    const dec = await ort.InferenceSession.create(req.decode, opts);
    const L = req.max_length;
    let cache = null, pos = 0;
    const reset = () => { cache = null; pos = 0; };
    const zeroCache = () => {
      const c = {};
      for (let l = 0; l < req.n_layer; ++l) {
        c[`present.${l}.key`] = emptyCache(L);
        c[`present.${l}.value`] = emptyCache(L);
      }
      return c;
    };
    async function decodeOne(t) {
      if (pos >= L) throw new Error(`static cache of ${L} positions is full`);
      const feeds = {
        input_ids: i64([t], [1, 1]),
        position_ids: i64([pos], [1, 1]),
        cache_position: i64([pos], [1]),
        attention_mask: i64(range(L).map((j) => (j <= pos ? 1 : 0)), [1, L]),
      };
      if (!cache) cache = zeroCache();
      for (let l = 0; l < req.n_layer; ++l) {
        feeds[`past_key_values.${l}.key`] = cache[`present.${l}.key`];
        feeds[`past_key_values.${l}.value`] = cache[`present.${l}.value`];
      }
      const out = await dec.run(feeds);
      cache = out;
      pos += 1;
      return out.logits;
    }
    return {
      reset,
      // The first pass of a sequence goes through the prefill graph, every later token through
      // decode, one at a time.
      async step(ids) {
        if (pos === 0 && ids.length > 1) {
          const n = ids.length;
          const out = await pre.run({
            input_ids: i64(ids, [1, n]),
            attention_mask: i64(Array(n).fill(1), [1, n]),
            position_ids: i64(range(n), [1, n]),
          });
          cache = out;
          pos = n;
          return out.logits;
        }
        if (ids.length === 1) return decodeOne(ids[0]);
        const rows = [];
        let v = 0;
        for (const t of ids) {
          const lg = await decodeOne(t);
          v = lg.dims[2];
          rows.push(lg.data);
        }
        const all = new Float32Array(rows.length * v);
        rows.forEach((r, i) => all.set(r, i * v));
        return new ort.Tensor('float32', all, [1, ids.length, v]);
      },
    };
  }
  throw new Error(`unknown mode ${req.mode}`);
}

async function actionRun(runner) {
  const collected = [];
  let vocab = 0;
  const tokens = req.tokens;
  const chunks = req.chunks && req.chunks.length ? req.chunks : [tokens.length];
  let at = 0;
  let last = null;
  for (const c of chunks) {
    last = await runner.step(tokens.slice(at, at + c));
    vocab = last.dims[2];
    if (req.logits_out) collected.push(Float32Array.from(last.data));
    at += c;
  }
  if (at !== tokens.length) throw new Error(`chunks cover ${at} of ${tokens.length} tokens`);
  const generated = [];
  for (let i = 0; i < (req.greedy || 0); ++i) {
    const t = argmaxLast(last);
    generated.push(t);
    if (i + 1 < req.greedy) last = await runner.step([t]);
  }
  if (req.logits_out) {
    const total = collected.reduce((a, c) => a + c.length, 0);
    const all = new Float32Array(total);
    let off = 0;
    for (const c of collected) { all.set(c, off); off += c.length; }
    fs.writeFileSync(req.logits_out, Buffer.from(all.buffer));
  }
  return { vocab, generated };
}

async function actionTime(runner) {
  // The vocabulary size picks token ids inside it; this pass also loads lazy kernels.
  runner.reset();
  const vocab = (await runner.step([1])).dims[2];
  const ids = (n) => range(n).map((i) => (i * 7919 + 13) % vocab);
  const reps = Math.max(1, req.repetitions || 1);
  const prompt_ns = [], gen_ns = [];
  const nP = req.n_prompt || 0, nG = req.n_gen || 0;
  const timePrompt = async () => {
    runner.reset();
    const toks = ids(nP);
    const t0 = process.hrtime.bigint();
    await runner.step(toks);
    return Number(process.hrtime.bigint() - t0);
  };
  const timeGen = async () => {
    runner.reset();
    const toks = ids(nG);
    const t0 = process.hrtime.bigint();
    for (const t of toks) await runner.step([t]);
    return Number(process.hrtime.bigint() - t0);
  };
  if (nP > 0) {
    if (req.warmup) await timePrompt();
    for (let r = 0; r < reps; ++r) prompt_ns.push(await timePrompt());
  }
  if (nG > 0) {
    if (req.warmup) await timeGen();
    for (let r = 0; r < reps; ++r) gen_ns.push(await timeGen());
  }
  // resourceUsage().maxRSS is in kilobytes.
  const peak_rss_bytes = process.resourceUsage().maxRSS * 1024;
  return { vocab, prompt_ns, gen_ns, peak_rss_bytes };
}

const runner = await makeRunner();
const result = req.action === 'time' ? await actionTime(runner) : await actionRun(runner);
process.stdout.write(JSON.stringify(result) + '\n');
