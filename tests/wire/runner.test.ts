/**
 * The headless runner as people use such tools, run as a process against the wire stand-ins:
 * addresses from the environment or --base-url, the prompt from stdin, settings checked before any
 * request, only the answer on stdout, keys from the environment redacted, Ctrl-C reporting what was
 * received, and the documented exit codes.
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendJson, startHarness, type Harness } from './harness.js';
import { startOllamaServer, type OllamaServer } from './ollama-server.js';
import { useCloudStandIns } from './cloud-stand-ins.js';

const ROOT = path.resolve(__dirname, '../..');
const ASK = path.join(ROOT, 'extensions/ai-sidecar/src/cli/ask.ts');
const OPENAI_KEY = 'sk-proj-RUNNERrunnerRUNNERrunner0042';
/** A key of no known shape: only registration with the redactor can hide it. */
const ODD_KEY = 'Zq9fK2LmPp0xWv7TjR4s';
const standIns = useCloudStandIns();

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function ask(args: string[], options: { env?: NodeJS.ProcessEnv; stdin?: string; interruptWhen?: (stdout: string) => boolean } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', ASK, ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let interrupted = false;
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (!interrupted && options.interruptWhen?.(stdout) === true) {
        interrupted = true;
        child.kill('SIGINT');
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    if (options.stdin === undefined) child.stdin.end();
    else child.stdin.end(options.stdin);
  });
}

const openaiEnv = () => ({ OPENAI_API_KEY: OPENAI_KEY, OPENAI_BASE_URL: `${standIns.openai.url}/v1` });
const lastBody = (server: Harness) => server.requests.at(-1)?.body as Record<string, unknown> | undefined;

describe('the headless runner', () => {
  it('--help prints usage with the exit codes on stdout and exits 0', async () => {
    const run = await ask(['--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/Usage:/);
    expect(run.stdout).toMatch(/Exit codes:[\s\S]*0 .*completed[\s\S]*1 .*provider[\s\S]*2 .*bad usage[\s\S]*130 .*Ctrl-C/);
    expect(run.stderr).toBe('');
  });

  it('honours OPENAI_BASE_URL; only the answer goes to stdout, the summary to stderr', async () => {
    const run = await ask(['-p', 'openai', '-m', 'gpt-4o-mini', 'Say hello'], { env: openaiEnv() });
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('Hello, world!\n');
    expect(run.stderr).toMatch(/finish: stop/);
    expect(run.stderr).toMatch(/tokens: 9 in, 5 out/);
  });

  it('reads the prompt from a pipe, or from stdin with "-", and sends --system, -t and -n', async () => {
    await ask(['-p', 'openai', '-m', 'gpt-4o-mini'], { env: openaiEnv(), stdin: 'piped prompt\n' });
    expect(lastBody(standIns.openai)).toMatchObject({ messages: [{ role: 'user', content: 'piped prompt' }] });
    const run = await ask(['-p', 'openai', '-m', 'gpt-4o-mini', '--system', 'Be brief.', '-t', '0.2', '-n', '7', '-'], { env: openaiEnv(), stdin: 'dash prompt' });
    expect(run.code).toBe(0);
    expect(lastBody(standIns.openai)).toMatchObject({
      messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'dash prompt' }],
      temperature: 0.2,
      // OpenAI's own preset names the field as its current API does.
      max_completion_tokens: 7,
    });
  });

  it('--json prints the whole response as JSON and nothing else', async () => {
    const run = await ask(['-p', 'openai', '-m', 'gpt-4o-mini', '--json', 'Say hello'], { env: openaiEnv() });
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ text: 'Hello, world!', finishReason: 'stop', usage: { inputTokens: 9, outputTokens: 5 } });
  });

  it.each([
    [['-t', '3'], /Temperature must be between 0 and 2\./],
    [['-n', '0'], /Max tokens must be a whole number between 1 and/],
    [['-t', 'warm'], /--temperature takes a number/],
    [['--frobnicate'], /Unknown option '--frobnicate'/],
  ])('refuses %j before any request, exit 2', async (flags, message) => {
    const before = standIns.openai.requests.length;
    const run = await ask(['-p', 'openai', '-m', 'gpt-4o-mini', ...flags, 'hi'], { env: openaiEnv() });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stdout).toBe('');
    expect(standIns.openai.requests.length).toBe(before);
  });

  it('names the URL it tried when nothing listens there (exit 1)', async () => {
    const url = `http://127.0.0.1:${await freePort()}/v1`;
    const run = await ask(['-p', 'openai', '-m', 'gpt-4o-mini', '--base-url', url, 'hi'], { env: { OPENAI_API_KEY: OPENAI_KEY, OPENAI_BASE_URL: 'http://127.0.0.1:9/never-used' } });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`Could not reach openai at ${url}: nothing is listening there.`);
    expect(run.stdout).toBe('');
  });

  it('registers keys from the environment with the redactor: a key echoed by a server never appears', async () => {
    const echo = await startHarness((req, res) => {
      const key = String(req.headers.authorization ?? '').replace(/^Bearer /, '');
      sendJson(res, 400, { error: { message: `Malformed key ${key} for this organisation`, type: 'invalid_request_error', code: null } });
    });
    try {
      const run = await ask(['-p', 'groq', '-m', 'm', '-u', `${echo.url}/v1`, 'hi'], { env: { GROQ_API_KEY: ODD_KEY } });
      expect(echo.requests.at(-1)?.headers.authorization).toBe(`Bearer ${ODD_KEY}`);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/Malformed key \[REDACTED\]/);
      expect(run.stderr + run.stdout).not.toContain(ODD_KEY);
    } finally {
      await echo.close();
    }
  });

  it.each(['openai', 'anthropic'])('%s: the SDK debug log variable does not undo the redactor: no key, no body printed', async (provider) => {
    const env = provider === 'openai'
      ? { ...openaiEnv(), OPENAI_LOG: 'debug' }
      : { ANTHROPIC_API_KEY: 'sk-ant-api03-DEBUGdebugDEBUG-0042', ANTHROPIC_BASE_URL: standIns.anthropic.url, ANTHROPIC_LOG: 'debug' };
    const run = await ask(['-p', provider, '-m', provider === 'openai' ? 'gpt-4o-mini' : 'claude-test-1', 'PROMPT-BODY-MARKER'], { env });
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('Hello, world!\n');
    expect(run.stderr).not.toContain('PROMPT-BODY-MARKER');
    expect(run.stderr).not.toMatch(/"messages"|content_block_delta|chat\.completion\.chunk/);
    expect(run.stderr).not.toMatch(/RUNNERrunner|DEBUGdebug/);
  });

  it('Ctrl-C stops the run, keeps the text, reports the tokens received and exits 130', async () => {
    standIns.anthropic.script({ kind: 'slow', intervalMs: 30, count: 1000 });
    const run = await ask(['-p', 'anthropic', '-m', 'claude-test-1', 'Go on'], {
      env: { ANTHROPIC_API_KEY: 'sk-ant-api03-RUNNERrunner-0042', ANTHROPIC_BASE_URL: standIns.anthropic.url },
      interruptWhen: (stdout) => /t5 /.test(stdout),
    });
    expect(run.code).toBe(130);
    expect(run.stdout).toMatch(/^t0 t1 t2 t3 t4 t5 /);
    const received = run.stdout.trim().split(' ').length;
    const reported = /tokens: (\d+) in, (\d+) out \(received before the stop\)/.exec(run.stderr);
    expect(reported?.[1]).toBe('12');
    expect(Number(reported?.[2])).toBeGreaterThanOrEqual(received - 1);
    expect(Number(reported?.[2])).toBeLessThanOrEqual(received + 1);
    expect(run.stderr).toMatch(/finish: cancelled/);
  });

  it('--idle-timeout ends a silent stream with a timeout, keeping the partial answer (exit 1)', async () => {
    standIns.openai.script({ kind: 'silent_after_tokens' });
    const run = await ask(['-p', 'openai', '-m', 'gpt-4o-mini', '--idle-timeout', '0.5', 'hi'], { env: openaiEnv() });
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('Hello, world!\n');
    expect(run.stderr).toMatch(/error \(timeout\): openai went silent for 0\.5 s/);
  });
});

describe('the runner with Ollama', () => {
  let ollama: OllamaServer;
  beforeAll(async () => {
    ollama = await startOllamaServer();
  });
  afterAll(() => ollama.close());

  it('honours OLLAMA_HOST in host:port form, and stdout holds only the answer even when the server misbehaves', async () => {
    const hostPort = ollama.url.replace('http://', '');
    const run = await ask(['-p', 'ollama', '-m', 'llama3.2:latest', 'hi'], { env: { OLLAMA_HOST: hostPort } });
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('Hello, world!\n');
    ollama.script({ kind: 'html_page', status: 404 });
    const failed = await ask(['-p', 'ollama', '-m', 'llama3.2:latest', 'hi'], { env: { OLLAMA_HOST: hostPort } });
    expect(failed.code).toBe(1);
    expect(failed.stdout).toBe('');
    expect(failed.stderr).toMatch(/wrong_endpoint/);
    expect(failed.stderr).not.toMatch(/<html|Getting text from response/i);
  });
});

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
