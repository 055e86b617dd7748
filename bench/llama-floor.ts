/**
 * node-llama-cpp by itself: the first local token of a fresh process, with none of the app around it
 * (no runtime, channel, database or provider). `bench:decode` runs it beside each of the app's
 * first-token rounds, so the part of the app's time that the app itself adds is measured in the same
 * run, and what is left is the library's.
 *
 * It does what the sidecar does on that path, with the same options: the backend started ahead
 * (the sidecar's idle warm-up), then the model read into memory, a 2,048-token context, and plain
 * completion of the same prompt at the cached thread count. Prints one JSON line.
 *
 *   node --require ./extensions/ai-sidecar/src/boot/preload.cjs --import tsx bench/llama-floor.ts <model.gguf> <threads> <prompt>
 */
import { getLlama, LlamaCompletion, LlamaLogLevel } from 'node-llama-cpp';

const [model, threadsArgument, prompt] = process.argv.slice(2);
const threads = Number(threadsArgument);
if (model === undefined || prompt === undefined || !Number.isInteger(threads) || threads < 1) {
  throw new Error('usage: llama-floor.ts <model.gguf> <threads> <prompt>');
}

const llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error, build: 'never', maxThreads: 0 });
// Idle for as long as the benchmark leaves the app after its warm-up.
await new Promise((resolve) => setTimeout(resolve, 300));

const started = performance.now();
const loaded = await llama.loadModel({ modelPath: model, gpuLayers: 0, useMmap: false });
const modelMs = performance.now() - started;
const context = await loaded.createContext({ contextSize: 2048, threads: { ideal: llama.cpuMathCores, min: 1 } });
const contextMs = performance.now() - started - modelMs;
llama.maxThreads = threads;
let firstTokenMs: number | undefined;
const abort = new AbortController();
await new LlamaCompletion({ contextSequence: context.getSequence() }).generateCompletion(prompt, {
  maxTokens: 16,
  temperature: 0,
  signal: abort.signal,
  stopOnAbortSignal: true,
  onTextChunk: () => {
    firstTokenMs ??= performance.now() - started;
    abort.abort();
  },
});
console.log(JSON.stringify({ firstTokenMs, modelMs, contextMs }));
await context.dispose();
await loaded.dispose();
await llama.dispose();
