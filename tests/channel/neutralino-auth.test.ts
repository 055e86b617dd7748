/**
 * The auth the runtime writes to the sidecar's stdin (protocol doc §1): read to its end, first line
 * only, each field checked; anything else is refused in words before any connection is tried.
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parseAuth, readAuth } from '../../extensions/ai-sidecar/src/channel/neutralino-link.js';

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

  it('gives up with a plain reason when nothing arrives', async () => {
    await expect(readAuth(new PassThrough(), 50)).rejects.toThrow('No auth arrived on stdin: start the sidecar through Neutralino.');
  });
});
