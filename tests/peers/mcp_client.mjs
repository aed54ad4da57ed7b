// A real MCP client (the official TypeScript SDK's Client over StdioClientTransport) driving
// `slmkit mcp`, for tests/peers/mcp_sdk_client_test.cpp:
//   node mcp_client.mjs SLMKIT_BIN ROOT TRANSCRIPT.jsonl
// ROOT holds stories260K.gguf and a symlink "escape" to a folder outside it. The script runs the
// export agent's five tools on the model, checks the refusals (paths outside the root, a bad
// quant_type, malformed requests), progress and a cancellation, writes every JSON-RPC message
// both ways to TRANSCRIPT.jsonl, and exits non-zero naming the first failed check.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const peers =
  process.env.SLMKIT_PEERS_DIR || path.join(here, '..', '..', 'third_party', 'peers', 'node_modules');
const sdk = path.join(peers, '@modelcontextprotocol', 'sdk');
const { Client } = await import(pathToFileURL(path.join(sdk, 'dist/esm/client/index.js')).href);
const { StdioClientTransport } = await import(
  pathToFileURL(path.join(sdk, 'dist/esm/client/stdio.js')).href);

const [bin, root, transcriptPath] = process.argv.slice(2);
const transcript = fs.createWriteStream(transcriptPath);
const started = Date.now();
const log = (...a) => console.log(`[${((Date.now() - started) / 1000).toFixed(1)}s]`, ...a);

function check(ok, what, detail) {
  if (!ok) {
    console.error(`FAILED: ${what}${detail === undefined ? '' : ': ' + JSON.stringify(detail)}`);
    process.exit(1);
  }
  log(`ok: ${what}`);
}

const stderrLines = [];
const transport = new StdioClientTransport({
  command: bin,
  args: ['mcp', '--root', root, '--threads', '2'],
  stderr: 'pipe',
});
transport.stderr.on('data', (d) => stderrLines.push(...d.toString().split('\n').filter(Boolean)));
const client = new Client({ name: 'slmkit-test-client', version: '1.0.0' });

// Every message both ways, in order.
const originalSend = transport.send.bind(transport);
transport.send = async (message, options) => {
  transcript.write(JSON.stringify({ to: 'server', message }) + '\n');
  return originalSend(message, options);
};
await client.connect(transport);
const sdkOnMessage = transport.onmessage;
const rawReplies = new Map();  // replies to the requests this script writes by hand
const idless = [];             // error replies without an id (parse errors, batches)
transport.onmessage = (message, extra) => {
  transcript.write(JSON.stringify({ to: 'client', message }) + '\n');
  if (message.id !== undefined && rawReplies.has(message.id)) {
    rawReplies.get(message.id)(message);
    return;
  }
  if (message.id === undefined && message.error) {
    idless.push(message);
    return;
  }
  sdkOnMessage(message, extra);
};

try {
  check(client.getServerVersion()?.name === 'slmkit', 'serverInfo.name is slmkit',
        client.getServerVersion());
  check(client.getServerCapabilities()?.tools !== undefined, 'the server declares tools');

  // tools/list
  const { tools } = await client.listTools();
  const names = tools.map((t) => t.name);
  for (const n of ['export_gguf', 'export_onnx', 'validate_format', 'test_inference',
                   'create_manifest', 'inspect_model', 'run_pipeline', 'quantize_auto']) {
    check(names.includes(n), `tools/list has ${n}`, names);
  }
  check(tools.every((t) => t.inputSchema?.type === 'object' && t.outputSchema?.type === 'object'),
        'every tool has an inputSchema and an outputSchema');

  // The SDK checks each structuredContent against the tool's outputSchema (ajv) in callTool.
  const call = async (name, args, options = {}) => {
    const progress = [];
    const result = await client.callTool({ name, arguments: args }, undefined, {
      onprogress: (p) => progress.push(p),
      timeout: 120000,
      ...options,
    });
    return { result, progress, text: result.content.map((c) => c.text).join('\n') };
  };
  const ok = async (name, args) => {
    const r = await call(name, args);
    check(r.result.isError === false, `${name} succeeds`, r.text);
    return r;
  };

  // 1. export_gguf: a Q8_0 GGUF, with progress.
  const gguf = await ok('export_gguf', {
    model_path: 'stories260K.gguf',
    output_path: 'out/stories260K-Q8_0.gguf',
    quant_type: 'Q8_0',
  });
  const ggufPath = path.join(root, 'out', 'stories260K-Q8_0.gguf');
  check(gguf.result.structuredContent.gguf_path === fs.realpathSync(ggufPath) &&
        fs.statSync(ggufPath).size === gguf.result.structuredContent.size_bytes,
        'export_gguf wrote the file it reports', gguf.result.structuredContent);
  // The server ends at 100 just before the result; the SDK runs progress handlers a microtask
  // late and drops any that arrive in the same read as the result, so the last few may be missing.
  const values = gguf.progress.map((p) => p.progress);
  check(values.length >= 10 && values.every((v, i) => i === 0 || v > values[i - 1]) &&
        gguf.progress.every((p) => p.total === 100 && p.message) && values[0] === 0,
        'progress notifications grow, from 0 of 100', values);

  // 2. validate_format against the FP32 original.
  const validation = await ok('validate_format', {
    export_path: 'out/stories260K-Q8_0.gguf',
    format_type: 'gguf',
    reference_path: 'stories260K.gguf',
    report_dir: 'out/validation_reports',
  });
  const v = validation.result.structuredContent;
  check(v.passed === true && v.n_failed === 0 && v.precision === 'Q8_0', 'the Q8_0 GGUF validates',
        v.checks?.filter((c) => !c.passed));
  check(fs.existsSync(v.report_path), 'the validation report was written', v.report_path);

  // 3. test_inference on "Once upon a time".
  const inference = await ok('test_inference', {
    export_path: 'out/stories260K-Q8_0.gguf',
    format_type: 'gguf',
    test_prompts: ['Once upon a time'],
    reference_path: 'stories260K.gguf',
    max_new_tokens: 32,
  });
  const first = inference.result.structuredContent.prompts[0];
  log(`test_inference: "Once upon a time${first.text}"`);
  check(first.text.startsWith(', there was a little girl named Lily'),
        'the Q8_0 continuation is the fixture\'s known one', first.text);
  check(first.agrees && first.agreement.length >= 4, 'it agrees with the reference',
        first.agreement);

  // 4. export_onnx (fp32, every variant), then validate it in ONNX Runtime.
  const onnx = await ok('export_onnx', {
    model_path: 'stories260K.gguf',
    output_path: 'out/stories260K_onnx',
  });
  check(onnx.result.structuredContent.n_graphs === 4, 'export_onnx wrote four graphs',
        onnx.result.structuredContent.files);
  const onnxValidation = await ok('validate_format', {
    export_path: 'out/stories260K_onnx',
    format_type: 'onnx',
    reference_path: 'stories260K.gguf',
    report_dir: 'out/validation_reports',
  });
  check(onnxValidation.result.structuredContent.passed === true, 'the ONNX export validates',
        onnxValidation.result.structuredContent.checks.filter((c) => !c.passed));

  // 5. create_manifest for both, then `slmkit verify`.
  const manifest = await ok('create_manifest', {
    model_info: {
      model_name: 'stories260K',
      version: '1.0.0',
      trained_on: 'TinyStories',
      target_architectures: ['x86_64', 'aarch64'],
    },
    output_path: 'out/manifests',
    export_paths: ['out/stories260K-Q8_0.gguf', 'out/stories260K_onnx'],
    bench_prompt: 16,
    bench_gen: 8,
    bench_repetitions: 1,
  });
  const m = manifest.result.structuredContent;
  check(m.verified === true && m.manifests.length === 2, 'create_manifest wrote and verified two',
        m.problems);
  check(m.manifests[0].manifest.performance.tokens_per_sec > 0,
        'the GGUF manifest holds a measured speed', m.manifests[0].manifest.performance);
  for (const file of [m.checksums_path, ...m.manifests.map((x) => x.manifest_path)]) {
    const out = execFileSync(bin, ['verify', file], { encoding: 'utf8' });
    check(out.trim().endsWith(': OK'), `slmkit verify ${path.relative(root, file)}`, out);
  }

  // 6. The whole pipeline, GGUF only (ONNX Runtime's share is covered above).
  const pipeline = await ok('run_pipeline', {
    model_path: 'stories260K.gguf',
    output_path: 'out/pipeline',
    gguf: ['Q8_0'],
    onnx: [],
    bench_prompt: 16,
    bench_gen: 8,
    bench_repetitions: 1,
  });
  check(pipeline.result.structuredContent.passed === true &&
        fs.existsSync(pipeline.result.structuredContent.report_html),
        'run_pipeline passes and writes its report', pipeline.result.structuredContent.problems);

  // Refusals: tool errors (isError) that name the rule; the server stays up.
  const refused = async (what, name, args, fragment) => {
    const r = await call(name, args);
    check(r.result.isError === true && r.text.includes(fragment), what, r.text);
  };
  const rule = 'rule: every path must resolve, after symlinks and \'..\', inside a --root folder';
  await refused('a path outside the root is refused', 'export_gguf',
                { model_path: '/etc/hostname', output_path: 'x.gguf', quant_type: 'Q8_0' }, rule);
  await refused('a path out through ".." is refused', 'export_gguf',
                { model_path: 'stories260K.gguf', output_path: 'out/../../x.gguf',
                  quant_type: 'Q8_0' }, rule);
  await refused('a path out through a symlink is refused', 'inspect_model',
                { model_path: 'escape/stories260K.gguf' }, rule);
  await refused('writing through a symlink is refused', 'export_onnx',
                { model_path: 'stories260K.gguf', output_path: 'escape/onnx' }, rule);
  await refused('a bad quant_type is refused', 'export_gguf',
                { model_path: 'stories260K.gguf', output_path: 'y.gguf', quant_type: 'Q9_9' },
                'arguments.quant_type: "Q9_9" is not one of');
  check(!fs.existsSync(path.join(root, 'y.gguf')), 'nothing was written for the refused call');

  // Malformed requests, written by hand: JSON-RPC errors, never a crash.
  const raw = (message, id) =>
    new Promise((resolve) => {
      rawReplies.set(id, resolve);
      transport.send(message);
    });
  const noName = await raw({ jsonrpc: '2.0', id: 'bad-1', method: 'tools/call',
                             params: { arguments: {} } }, 'bad-1');
  check(noName.error?.code === -32602, 'tools/call without a name: -32602', noName);
  const unknownTool = await raw({ jsonrpc: '2.0', id: 'bad-2', method: 'tools/call',
                                  params: { name: 'format_disk' } }, 'bad-2');
  check(unknownTool.error?.code === -32602, 'an unknown tool: -32602', unknownTool);
  const unknownMethod = await raw({ jsonrpc: '2.0', id: 'bad-3', method: 'models/delete' }, 'bad-3');
  check(unknownMethod.error?.code === -32601, 'an unknown method: -32601', unknownMethod);
  const badVersion = await raw({ jsonrpc: '1.0', id: 'bad-4', method: 'ping' }, 'bad-4');
  check(badVersion.error?.code === -32600, 'jsonrpc "1.0": -32600', badVersion);
  transport._process.stdin.write('{"jsonrpc": "2.0", "id": 5, "method": \n');
  transport._process.stdin.write('[{"jsonrpc":"2.0","id":6,"method":"ping"}]\n');
  await client.ping();  // answered after the two lines above: their replies are in
  check(idless.length === 2 && idless[0].error.code === -32700 && idless[1].error.code === -32600,
        'broken JSON: -32700; a batch: -32600; neither has an id', idless);

  // Cancellation: stop an export of 20 graphs once two are written; nothing may remain.
  const controller = new AbortController();
  let graphs = 0;
  const cancelled = client.callTool(
    { name: 'export_onnx',
      arguments: { model_path: 'stories260K.gguf', output_path: 'out/cancelled_onnx',
                   precisions: ['fp32', 'fp16', 'int8', 'q4', 'q4f16'] } },
    undefined,
    { signal: controller.signal,
      onprogress: (p) => {
        if (p.message?.startsWith('graph ') && ++graphs === 3) controller.abort('test cancels');
      } });
  let rejected = false;
  await cancelled.catch(() => { rejected = true; });
  check(rejected, 'the cancelled call rejects on the client');
  // Calls run one at a time: this one starts when the cancelled export has unwound.
  await ok('inspect_model', { model_path: 'stories260K.gguf' });
  const leftovers = [];
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      if (e.name.includes('.partial-')) leftovers.push(path.join(dir, e.name));
      if (e.isDirectory() && !e.isSymbolicLink()) walk(path.join(dir, e.name));
    }
  };
  walk(root);
  check(!fs.existsSync(path.join(root, 'out', 'cancelled_onnx')) && leftovers.length === 0,
        'the cancelled export left no folder and no temporary', leftovers);
  check(stderrLines.some((l) => l.includes('cancelled after')), 'the server logged the cancellation',
        stderrLines.slice(-5));
  await client.close();
  log(`done: ${names.length} tools, ${stderrLines.length} log lines`);
} catch (e) {
  console.error('FAILED:', e?.stack || e);
  console.error('server log (last 20 lines):\n' + stderrLines.slice(-20).join('\n'));
  process.exit(1);
} finally {
  transcript.end();
}
