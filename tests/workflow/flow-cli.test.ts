/**
 * `npm run flow` end to end, as a child process: the three shipped examples on the real tiny GGUF
 * model as they are, --provider/--model pointing every agent at one model, --json, a provider
 * failure (exit 1), a workflow that cannot run (exit 2), and Ctrl-C stopping the execution (130).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WorkflowExecution } from '../../extensions/ai-sidecar/src/workflow/model.js';
import { startOllamaServer, type OllamaServer } from '../wire/ollama-server.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const CLI = path.join(ROOT, 'extensions/ai-sidecar/src/cli/flow.ts');
const EXAMPLES = path.join(ROOT, 'examples/workflows');
/** The shared test model sits beside the checkout (../shared), or beside the folder of worktrees. */
const MODELS = [path.resolve(ROOT, '../shared/models'), path.resolve(ROOT, '../../shared/models')].find((dir) => existsSync(path.join(dir, 'stories260K.gguf'))) ?? '';

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

const DATA_DIR = path.join(os.tmpdir(), 'sim-flow-cli-data');
const THREAD_CACHE = path.join(DATA_DIR, 'thread-cache.json');

function flow(args: string[], options: { onStderr?: (text: string, child: ReturnType<typeof spawn>) => void } = {}): Promise<Ran> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: ROOT, env: { ...process.env, SIM_AI_DATA_DIR: DATA_DIR } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      options.onStderr?.(stderr, child);
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

let ollama: OllamaServer;
beforeAll(async () => {
  ollama = await startOllamaServer();
});
afterAll(async () => {
  await ollama.close();
});

describe.skipIf(MODELS === '')('flow CLI on the local model', () => {
  it('runs the two-agent chain as shipped, each block labelled on stderr, the response on stdout', async () => {
    await rm(THREAD_CACHE, { force: true });
    const ran = await flow([path.join(EXAMPLES, 'two-agent-chain.sim.yaml'), '--input', 'a little dragon', '--models-dir', MODELS]);
    expect(ran.stderr).toContain('model: storyteller uses stories260K.gguf on local');
    expect(ran.code).toBe(0);
    expect(ran.stderr).toMatch(/\[Storyteller\] started[\s\S]*\[Storyteller\] \S[\s\S]*\[Storyteller\] done \(\d+ tokens/);
    expect(ran.stderr.indexOf('[Continuer] started')).toBeGreaterThan(ran.stderr.indexOf('[Storyteller] done'));
    expect(ran.stdout).toContain(' The next day');
    expect(ran.stdout.trim().length).toBeGreaterThan(30);
    // The thread count it measured is kept where the app and `npm run ask` keep theirs.
    const cached = JSON.parse(await readFile(THREAD_CACHE, 'utf8')) as Record<string, { threads: number }>;
    expect(Object.values(cached).map((c) => c.threads)).toHaveLength(1);
  }, 120_000);

  it('branches on the structured answer as shipped: the JSON is parseable and one branch is skipped', async () => {
    const ran = await flow([path.join(EXAMPLES, 'structured-condition.sim.yaml'), '--input', 'a lost kitten', '--models-dir', MODELS, '--json']);
    expect(ran.code).toBe(0);
    const execution = JSON.parse(ran.stdout) as WorkflowExecution;
    const judge = execution.blocks.find((b) => b.blockId === 'judge');
    expect(['happy', 'sad']).toContain(judge?.output?.mood);
    expect(JSON.parse(String(judge?.output?.content))).toEqual({ mood: judge?.output?.mood });
    const taken = judge?.output?.mood === 'happy' ? 'happy' : 'sad';
    const other = taken === 'happy' ? 'sad' : 'happy';
    expect(execution.blocks.find((b) => b.blockId === taken)?.status).toBe('completed');
    expect(execution.blocks.find((b) => b.blockId === other)?.status).toBe('skipped');
    expect(String(execution.response)).toMatch(new RegExp(`^\\(${taken}\\) `));
  }, 120_000);

  it('fans out and joins as shipped: the narrator starts only after both branches are done', async () => {
    const ran = await flow([path.join(EXAMPLES, 'fan-out-join.sim.yaml'), '--input', 'a brave fox', '--models-dir', MODELS]);
    expect(ran.code).toBe(0);
    const narrator = ran.stderr.indexOf('[Narrator] started');
    expect(narrator).toBeGreaterThan(ran.stderr.indexOf('[Hero] done'));
    expect(narrator).toBeGreaterThan(ran.stderr.indexOf('[Villain] done'));
    // Both branches started before either finished: they were scheduled together.
    expect(ran.stderr.indexOf('[Villain] started')).toBeLessThan(ran.stderr.indexOf('[Hero] done'));
    expect(ran.stdout.trim()).not.toBe('');
  }, 120_000);

  it('--provider local --model <path> points every agent at that GGUF file', async () => {
    const ran = await flow([path.join(EXAMPLES, 'fan-out-join.sim.yaml'), '--input', 'a fox', '--provider', 'local', '--model', path.relative(ROOT, path.join(MODELS, 'stories260K.gguf')), '--json', '--quiet']);
    expect(ran.code).toBe(0);
    const execution = JSON.parse(ran.stdout) as WorkflowExecution;
    expect(execution.blocks.filter((b) => b.blockType === 'agent').map((b) => [b.provider, b.input?.model])).toEqual([
      ['local', path.join(MODELS, 'stories260K.gguf')],
      ['local', path.join(MODELS, 'stories260K.gguf')],
      ['local', path.join(MODELS, 'stories260K.gguf')],
    ]);
    expect(ran.stderr).not.toContain('[Hero]');
  }, 120_000);
});

describe('flow CLI failures and Ctrl-C', () => {
  it('exits 1 when a provider fails, saying which block and why', async () => {
    ollama.script({ kind: 'model_not_found' });
    const ran = await flow([path.join(EXAMPLES, 'two-agent-chain.sim.yaml'), '--input', 'x', '--provider', 'ollama', '--model', 'nope:latest', '--base-url', ollama.url]);
    expect(ran.code).toBe(1);
    expect(ran.stderr).toMatch(/\[Storyteller\] failed: /);
    expect(ran.stderr).toMatch(/error \(model_not_found\): Block "Storyteller" failed/);
    expect(ran.stderr).toContain('[Continuer] skipped');
    expect(ran.stdout).toBe('');
  }, 60_000);

  it('exits 2 for a workflow that cannot run, and for bad usage', async () => {
    const bad = await flow([path.join(ROOT, 'tests/workflow/fixtures/bad-reference.sim.yaml'), '--input', 'x']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('<writer.content> refers to "Writer", which cannot have run before "Asker"');
    const usage = await flow([path.join(EXAMPLES, 'two-agent-chain.sim.yaml')]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--input is required');
  }, 60_000);

  it('Ctrl-C stops the whole execution and exits 130', async () => {
    ollama.script({ kind: 'slow', intervalMs: 30, count: 2000 });
    let sent = false;
    const ran = await flow([path.join(EXAMPLES, 'two-agent-chain.sim.yaml'), '--input', 'x', '--provider', 'ollama', '--model', 'llama3.2:latest', '--base-url', ollama.url], {
      onStderr: (text, child) => {
        if (!sent && /\[Storyteller\] t0 t1 t2 t3 /.test(text)) {
          sent = true;
          child.kill('SIGINT');
        }
      },
    });
    expect(sent).toBe(true);
    expect(ran.code).toBe(130);
    expect(ran.stderr).toContain('[Storyteller] stopped');
    expect(ran.stderr).toContain('[Continuer] skipped: The execution was stopped');
    expect(ran.stderr).toContain('— cancelled');
  }, 60_000);
});
