/**
 * The auth the runtime writes to the sidecar's stdin (protocol doc §1): read to its end, first line
 * only, each field checked; anything else is refused in words before any connection is tried.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parseAuth, readAuth } from '../../extensions/ai-sidecar/src/channel/neutralino-link.js';
import { ROOT } from '../neutralino/build-once.js';

const BOOT = path.join(ROOT, 'extensions/ai-sidecar/src/boot/sidecar.cjs');

/** Runs `script` (ESM) in Node started like the sidecar (`--require` its boot file); stdin gets `input`. */
function startedLikeTheSidecar(script: string, input: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const child = spawn(process.execPath, ['--require', BOOT, '--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'], env });
  child.stdin.end(input);
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  return new Promise((resolve) => child.on('close', () => resolve(out)));
}

const line = { nlPort: '37595', nlToken: 'aaaa.bbbb', nlConnectToken: 'bbbb', nlExtensionId: 'ai.sidecar' };

describe('the runtime\'s auth on stdin', () => {
  it('reads the runtime\'s line, in pieces, to the end of the stream', async () => {
    const input = new PassThrough();
    const read = readAuth(input);
    const text = `${JSON.stringify(line)}\n`;
    input.write(text.slice(0, 10));
    input.end(text.slice(10));
    await expect(read).resolves.toEqual(line);
  });

  it('takes a numeric port as text and ignores anything after the first line', () => {
    expect(parseAuth(`${JSON.stringify({ ...line, nlPort: 4000 })}\n{"nlPort":"1"}`)).toEqual({ ...line, nlPort: '4000' });
  });

  it('refuses what the runtime would not write, naming the field', () => {
    expect(() => parseAuth('not json')).toThrow('The auth on stdin is not JSON: start the sidecar through Neutralino.');
    expect(() => parseAuth('null')).toThrow(/no valid nlPort/);
    expect(() => parseAuth(JSON.stringify({ ...line, nlPort: '80; rm' }))).toThrow(/no valid nlPort/);
    expect(() => parseAuth(JSON.stringify({ ...line, nlToken: '' }))).toThrow(/no valid nlToken/);
    expect(() => parseAuth(JSON.stringify({ ...line, nlConnectToken: 7 }))).toThrow(/no valid nlConnectToken/);
    expect(() => parseAuth(JSON.stringify({ ...line, nlExtensionId: 'ai-sidecar' }))).toThrow(/no valid nlExtensionId/);
  });

  it('started with the boot file, has stdin read while the modules load, and the auth from that text', async () => {
    const link = JSON.stringify(path.join(ROOT, 'extensions/ai-sidecar/src/channel/neutralino-link.ts'));
    // The boot file's read has finished before the script's first line (a whole module graph later here).
    const script = `
      const early = await globalThis[Symbol.for('sim-ai.early-stdin')];
      const { readStartupAuth } = await import(${link});
      process.stdout.write(JSON.stringify({ early, auth: await readStartupAuth(process.stdin, 2000) }));`;
    const text = `${JSON.stringify(line)}\n`;
    const result = JSON.parse(await startedLikeTheSidecar(script, text, { ...process.env, NODE_OPTIONS: '--import tsx' })) as unknown;
    expect(result).toEqual({ early: text, auth: line });
  });

  it('gives up with a plain reason when nothing arrives', async () => {
    await expect(readAuth(new PassThrough(), 50)).rejects.toThrow('No auth arrived on stdin: start the sidecar through Neutralino.');
  });
});
