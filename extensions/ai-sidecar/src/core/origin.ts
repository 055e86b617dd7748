/**
 * Where a request goes, reduced to what a key is bound to: the origin (scheme, host, port). One place
 * decides which URLs a provider may point at and which of them may carry a key.
 */
import { isIP } from 'node:net';
import { CodedError } from './coded-error.js';

export type Transport = 'https' | 'loopback' | 'unencrypted';

/** A URL no provider may point at; the message says why in plain words. */
export class OriginError extends CodedError<'validation'> {
  override readonly name = 'OriginError';
  constructor(message: string) {
    super('validation', message);
  }
}

/** `https://host[:port]` for an http(s) URL; throws `OriginError` (plain words) for anything else. */
export function originOf(url: string): string {
  const parsed = parseHttpUrl(url);
  return parsed.origin;
}

/** Parses a provider URL: http or https only, no user name or password inside. */
export function parseHttpUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new OriginError(`"${url.slice(0, 200)}" is not a URL.`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new OriginError(`Only http and https addresses are allowed, not ${parsed.protocol.replace(/:$/, '')}.`);
  }
  if (parsed.username !== '' || parsed.password !== '') throw new OriginError('An address must not carry a user name or password.');
  if (parsed.hostname === '') throw new OriginError('The address has no host.');
  return parsed;
}

/** `::ffff:7f00:1` (as URL parsing writes IPv4-mapped addresses) → `::ffff:127.0.0.1`. */
function unmapHex(host: string): string {
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(host);
  if (mapped?.[1] === undefined || mapped[2] === undefined) return host;
  const high = parseInt(mapped[1], 16);
  const low = parseInt(mapped[2], 16);
  return `::ffff:${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
}

/** `localhost`, 127.0.0.0/8 and ::1: traffic that never leaves this computer. */
export function isLoopbackHost(hostname: string): boolean {
  const host = unmapHex(hostname.replace(/^\[|\]$/g, '').toLowerCase());
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1' || /^::ffff:127\./.test(host);
  return false;
}

/** Loopback, private (RFC 1918, ULA), link-local, CGNAT, unspecified and multicast addresses. */
export function isNonPublicAddress(address: string): boolean {
  const host = unmapHex(address.replace(/^\[|\]$/g, '').toLowerCase());
  if (isLoopbackHost(host)) return true;
  if (isIP(host) === 4) {
    const [a = 0, b = 0] = host.split('.').map(Number);
    return a === 0 || a === 10 || (a === 100 && b >= 64 && b <= 127) || (a === 169 && b === 254) || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || a >= 224;
  }
  if (isIP(host) === 6) {
    if (host === '::' || host.startsWith('fe8') || host.startsWith('fe9') || host.startsWith('fea') || host.startsWith('feb')) return true;
    if (/^f[cd]/.test(host) || host.startsWith('ff')) return true;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(host);
    return mapped?.[1] !== undefined && isNonPublicAddress(mapped[1]);
  }
  return false;
}

/** How traffic to an origin travels: encrypted, on this computer only, or readable on the network. */
export function transportOf(origin: string): Transport {
  const url = new URL(origin);
  if (url.protocol === 'https:') return 'https';
  return isLoopbackHost(url.hostname) ? 'loopback' : 'unencrypted';
}

/** A key goes over https, or over plain http to this computer only. */
export function mayCarryKey(origin: string): boolean {
  return transportOf(origin) !== 'unencrypted';
}

/** Keys by origin, which the vault implements: a key comes only for the origin it is bound to. */
export interface OriginKeySource {
  keyFor(provider: string, origin: string): Promise<string | undefined>;
}
