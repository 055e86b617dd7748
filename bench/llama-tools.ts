/**
 * The decode benchmark's baseline and model, made here when missing (and said so), never committed:
 * - `llama-bench` and `llama-quantize`, built from the llama.cpp source node-llama-cpp ships
 *   (node_modules/node-llama-cpp/llama/gitRelease.bundle), so the baseline runs the same kernels;
 * - a 1B-class model: random weights in TinyLlama-1.1B's shape with stories260K's tokenizer, written
 *   by bench/make-model.py with that tree's gguf-py and quantised to Q4_0.
 * Everything goes to BENCH_CACHE (default: .bench-cache/ in the checkout, gitignored).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const CACHE = process.env.BENCH_CACHE ?? path.join(ROOT, '.bench-cache');
export const SHARED_MODELS = process.env.SIM_SHARED_MODELS ?? path.resolve(ROOT, '../shared/models');
const SOURCE = path.join(CACHE, 'llama.cpp');
const BUNDLE = path.join(ROOT, 'node_modules/node-llama-cpp/llama/gitRelease.bundle');
const BIN = path.join(SOURCE, 'build', 'bin');

export interface LlamaTools {
  readonly bench: string;
  readonly quantize: string;
  /** The 1B-class Q4_0 model. */
  readonly model: string;
}

function say(message: string): void {
  console.log(`• ${message}`);
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): void {
  const result = spawnSync(command, args, { stdio: ['ignore', 'inherit', 'inherit'], env });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (exit ${result.status})`);
}

function buildTools(): void {
  if (existsSync(path.join(BIN, 'llama-bench')) && existsSync(path.join(BIN, 'llama-quantize'))) return;
  say(`building llama-bench and llama-quantize from node-llama-cpp's llama.cpp into ${SOURCE} (once; several minutes on 2 cores)`);
  if (!existsSync(path.join(SOURCE, 'CMakeLists.txt'))) {
    mkdirSync(CACHE, { recursive: true });
    run('git', ['clone', '--quiet', BUNDLE, SOURCE]);
  }
  // OpenMP off, as node-llama-cpp builds it: both use ggml's own thread pool.
  run('cmake', ['-S', SOURCE, '-B', path.join(SOURCE, 'build'), '-DCMAKE_BUILD_TYPE=Release', '-DLLAMA_CURL=OFF', '-DLLAMA_BUILD_TESTS=OFF', '-DLLAMA_BUILD_EXAMPLES=OFF', '-DLLAMA_BUILD_SERVER=OFF', '-DGGML_OPENMP=OFF']);
  run('cmake', ['--build', path.join(SOURCE, 'build'), '-j2', '--target', 'llama-bench', 'llama-quantize']);
}

function makeModel(quantize: string): string {
  const model = path.join(CACHE, 'models', 'tinyllama-shape-Q4_0.gguf');
  if (existsSync(model)) return model;
  const f16 = path.join(CACHE, 'models', 'tinyllama-shape-f16.gguf');
  mkdirSync(path.dirname(model), { recursive: true });
  if (!existsSync(f16)) {
    say(`making the 1B-class model (TinyLlama-1.1B shape, random weights, stories260K tokenizer) in ${path.dirname(model)}`);
    try {
      execFileSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' });
    } catch {
      throw new Error('python3 with numpy is needed to make the benchmark model: apt-get install python3-numpy');
    }
    run('python3', [path.join(ROOT, 'bench/make-model.py'), path.join(SHARED_MODELS, 'stories260K.gguf'), f16], { ...process.env, PYTHONPATH: path.join(SOURCE, 'gguf-py') });
  }
  say('quantising it to Q4_0 with llama-quantize');
  run(quantize, [f16, model, 'Q4_0']);
  rmSync(f16);
  return model;
}

/** Builds what is missing and returns the paths. */
export function ensureLlamaTools(): LlamaTools {
  buildTools();
  const quantize = path.join(BIN, 'llama-quantize');
  return { bench: path.join(BIN, 'llama-bench'), quantize, model: makeModel(quantize) };
}

/** llama-bench's decode rate (tokens/s, its mean over `repetitions`) at each thread count. */
export function llamaBenchDecode(tools: LlamaTools, threads: readonly number[], tokens: number, repetitions: number): Map<number, number> {
  const out = execFileSync(tools.bench, ['-m', tools.model, '-p', '0', '-n', String(tokens), '-t', threads.join(','), '-r', String(repetitions), '-o', 'json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const rows = JSON.parse(out) as { n_threads: number; avg_ts: number }[];
  return new Map(rows.map((row) => [row.n_threads, row.avg_ts]));
}
