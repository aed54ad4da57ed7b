// Greedy generation with transformers.js itself (npm @huggingface/transformers 4.x, node) from an
// ONNX folder `slmkit export onnx` wrote, for tests/peers/transformers_js_test.cpp.
//   node transformers_js_generate.mjs REQUEST.json RESULT.jsonl
// REQUEST: { dir, max_new_tokens, cases: [{ dtype, model_file_name?, label?, prompt? , input_ids? }] }.
// Per case, one JSON line in RESULT.jsonl: { dtype (the label when given), ids, text? }. A graph
// without a transformers.js dtype (w8a8) is loaded by name: model_file_name "model_w8a8", dtype
// fp32. With a prompt, `text` is what
// pipeline('text-generation', dir, { dtype }) returns with do_sample: false (prompt included) and
// `ids` the new tokens model.generate gives for the pipeline's own tokenization of the prompt;
// with input_ids, only `ids` (no tokenizer involved).
import { register } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// transformers.js imports sharp (image decoding) at load time, and sharp throws when its native
// binary is absent (setup.sh installs the peers with --omit=optional). Text generation never
// decodes an image, so a stand-in module takes sharp's place in this process only; calling it
// says what is missing.
const stub =
  'export default function sharp() { throw new Error("sharp (image decoding) is not installed"); }';
const hooks = `export async function resolve(specifier, context, next) {
  if (specifier === 'sharp') {
    return { url: 'data:text/javascript,' + encodeURIComponent(${JSON.stringify(stub)}),
             shortCircuit: true };
  }
  return next(specifier, context);
}`;
register('data:text/javascript,' + encodeURIComponent(hooks));

const here = path.dirname(fileURLToPath(import.meta.url));
const peers =
  process.env.SLMKIT_PEERS_DIR || path.join(here, '..', '..', 'third_party', 'peers', 'node_modules');
const entry = path.join(peers, '@huggingface', 'transformers', 'dist', 'transformers.node.mjs');
const { pipeline, env, Tensor } = await import(pathToFileURL(entry).href);

env.allowRemoteModels = false;  // a local folder only: never reach for the Hub
env.allowLocalModels = true;
env.localModelPath = '';
env.useBrowserCache = false;
env.useFSCache = false;

const request = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const results = [];
const dir = path.resolve(request.dir);
for (const c of request.cases) {
  const generator = await pipeline('text-generation', dir, {
    dtype: c.dtype,
    ...(c.model_file_name ? { model_file_name: c.model_file_name } : {}),
    local_files_only: true,
    session_options: { intraOpNumThreads: 1, interOpNumThreads: 1 },
  });
  const out = { dtype: c.label ?? c.dtype };
  let inputs;
  if (c.prompt !== undefined) {
    const r = await generator(c.prompt, { max_new_tokens: request.max_new_tokens, do_sample: false });
    out.text = r[0].generated_text;
    inputs = generator.tokenizer(c.prompt);
  } else {
    const ids = BigInt64Array.from(c.input_ids.map(BigInt));
    inputs = {
      input_ids: new Tensor('int64', ids, [1, ids.length]),
      attention_mask: new Tensor('int64', new BigInt64Array(ids.length).fill(1n), [1, ids.length]),
    };
  }
  const seq = await generator.model.generate({
    ...inputs,
    max_new_tokens: request.max_new_tokens,
    do_sample: false,
  });
  const n_in = inputs.input_ids.dims[1];
  out.ids = Array.from(seq.data.slice(n_in), Number);
  results.push(JSON.stringify(out) + '\n');
  await generator.dispose();
}
fs.writeFileSync(process.argv[3], results.join(''));
