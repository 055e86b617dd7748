/**
 * Where model downloads may come from: public https addresses only. The page names the URL (from the
 * catalogue or as the user typed it), so without this a script in the page could make the sidecar
 * fetch from this computer or the local network (a router's admin page, a service on 127.0.0.1) and
 * learn from the answers. Every hop of a redirect is checked, and every address a host name resolves
 * to. One exception, set outside the page: `SIM_AI_MODEL_MIRROR`, the origin of a mirror the user
 * runs (often on the LAN, maybe plain http), which downloads may use as it is.
 */
import { isIP } from 'node:net';
import { CodedError } from '../core/coded-error.js';
import { isNonPublicAddress } from '../core/origin.js';

export const MODEL_MIRROR_ENV = 'SIM_AI_MODEL_MIRROR';
const MAX_REDIRECTS = 5;

export class DownloadPolicyError extends CodedError<'validation'> {
  override readonly name = 'DownloadPolicyError';
  constructor(message: string) {
    super('validation', message);
  }
}

export interface DownloadPolicy {
  /** The one origin allowed beside public https (the user's mirror), if any. */
  readonly mirrorOrigin?: string | undefined;
  /** Host name → addresses. Default: the system resolver, every address. */
  readonly resolve?: (hostname: string) => Promise<string[]>;
  readonly fetch?: typeof fetch;
}

export function mirrorFromEnv(env: NodeJS.ProcessEnv): string | undefined {
  const value = env[MODEL_MIRROR_ENV]?.trim();
  if (!value) return undefined;
  try {
    return new URL(value).origin;
  } catch {
    return undefined;
  }
}

/** Refuses a URL the policy does not allow; resolves when it may be fetched. */
export async function checkDownloadURL(url: string, policy: DownloadPolicy = {}): Promise<void> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new DownloadPolicyError(`"${url.slice(0, 200)}" is not a URL.`);
  }
  if (policy.mirrorOrigin !== undefined && parsed.origin === policy.mirrorOrigin) return;
  if (parsed.protocol !== 'https:') throw new DownloadPolicyError(`Models download over https only, not ${parsed.protocol.replace(/:$/, '')}.`);
  if (parsed.username !== '' || parsed.password !== '') throw new DownloadPolicyError('A download address must not carry a user name or password.');
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  const addresses = isIP(host) !== 0 ? [host] : await (policy.resolve ?? resolveAll)(host).catch(() => {
    throw new DownloadPolicyError(`${host} could not be found.`);
  });
  if (isNonPublicAddress(host) || addresses.length === 0 || addresses.some(isNonPublicAddress)) {
    throw new DownloadPolicyError(`Models download only from public addresses; ${host} is on this computer or a private network.`);
  }
}

async function resolveAll(hostname: string): Promise<string[]> {
  // Loaded with the first download, not at every start (the resolver's modules cost the launch).
  const { lookup } = await import('node:dns/promises');
  return (await lookup(hostname, { all: true, verbatim: true })).map((a) => a.address);
}

/**
 * A fetch for the downloader that checks the URL, then each redirect target, against the policy
 * (redirects are followed by hand, at most five).
 */
export function policyFetch(policy: DownloadPolicy = {}): typeof fetch {
  const inner = policy.fetch ?? fetch;
  return (async (input: string | URL | Request, init?: RequestInit) => {
    let url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    for (let hop = 0; hop <= MAX_REDIRECTS; hop += 1) {
      await checkDownloadURL(url, policy);
      const response = await inner(url, { ...init, redirect: 'manual' });
      const location = response.headers.get('location');
      if (response.status < 300 || response.status >= 400 || location === null) return response;
      await response.body?.cancel();
      url = new URL(location, url).href;
    }
    throw new DownloadPolicyError(`More than ${MAX_REDIRECTS} redirects.`);
  }) as typeof fetch;
}
