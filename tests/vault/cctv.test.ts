/**
 * All 143 C2SP CCTV age vectors through the vault's crypto wrapper: every accept and reject matches,
 * accepted payloads hash to the expected value, and a rejected file releases no plaintext.
 */
import { createHash } from 'node:crypto';
import { inflateSync } from 'node:zlib';
import * as vectors from 'cctv-age';
import { describe, expect, it } from 'vitest';
import { decryptWith } from '../../extensions/ai-sidecar/src/vault/age-crypto.js';

interface Vector {
  readonly name: string;
  readonly expect: string;
  readonly payload: string | undefined;
  readonly identities: string[];
  readonly passphrases: string[];
  readonly body: Uint8Array;
}

function parse(name: string, bytes: Uint8Array): Vector {
  let end = 0;
  for (let i = 0; i < bytes.length - 1; i += 1) {
    if (bytes[i] === 0x0a && bytes[i + 1] === 0x0a) {
      end = i;
      break;
    }
  }
  const header = new TextDecoder().decode(bytes.subarray(0, end));
  const fields = header.split('\n').map((line) => {
    const at = line.indexOf(': ');
    return [line.slice(0, at), line.slice(at + 2)] as const;
  });
  const all = (key: string) => fields.filter(([k]) => k === key).map(([, v]) => v);
  let body = bytes.subarray(end + 2);
  if (all('compressed')[0] === 'zlib') body = new Uint8Array(inflateSync(body));
  return { name, expect: all('expect')[0] ?? '', payload: all('payload')[0], identities: all('identity'), passphrases: all('passphrase'), body };
}

const all = Object.entries(vectors as unknown as Record<string, Uint8Array>)
  .filter(([name, value]) => name !== 'default' && value instanceof Uint8Array)
  .map(([name, value]) => parse(name, value));

describe('C2SP CCTV age vectors', () => {
  it('has all 143 vectors', () => {
    expect(all).toHaveLength(143);
  });

  it.each(all.map((v) => [v.name, v] as const))('%s', async (_name, vector) => {
    let plaintext: Uint8Array | undefined;
    let failure: unknown;
    try {
      plaintext = await decryptWith(vector.body, { identities: vector.identities, passphrases: vector.passphrases });
    } catch (error) {
      failure = error;
    }
    if (vector.expect === 'success') {
      expect(failure).toBeUndefined();
      expect(createHash('sha256').update(plaintext ?? new Uint8Array()).digest('hex')).toBe(vector.payload);
    } else {
      expect(failure, `${vector.name} should be rejected (${vector.expect})`).toBeDefined();
      expect(plaintext).toBeUndefined();
    }
  });
});
