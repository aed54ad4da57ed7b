// Encodes text files with Tokenizers.js (npm @huggingface/tokenizers, the tokenizer of
// transformers.js) from a folder's tokenizer.json + tokenizer_config.json, for
// tests/peers/tokenizer_json_js_test.cpp.
//   node tokenizers_js_encode.mjs DIR TEXT_FILE...   prints one line of ids per text file
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const peers =
  process.env.SLMKIT_PEERS_DIR || path.join(here, '..', '..', 'third_party', 'peers', 'node_modules');
const require = createRequire(path.join(peers, 'noop.js'));
const { Tokenizer } = require('@huggingface/tokenizers');

const [dir, ...texts] = process.argv.slice(2);
const json = JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer.json'), 'utf8'));
const config = JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer_config.json'), 'utf8'));
const tokenizer = new Tokenizer(json, config);
for (const t of texts) {
  process.stdout.write(tokenizer.encode(fs.readFileSync(t, 'utf8')).ids.join(' ') + '\n');
}
