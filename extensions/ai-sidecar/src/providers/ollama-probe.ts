/**
 * Is a working Ollama at this address? Asks `/api/version` once with a short deadline and tells four
 * answers apart, each with advice that fits: Ollama (with its version); nothing listening (start
 * it); something else answering (another program holds the port, or the address is wrong); and a
 * port that accepts but never answers (a hung Ollama or another program).
 */
export type OllamaProbe =
  | { readonly state: 'ollama'; readonly version: string }
  | { readonly state: 'nothing_listening' | 'something_else' | 'not_answering'; readonly advice: string };

export interface ProbeOptions {
  readonly timeoutMs: number;
  readonly signal?: AbortSignal | undefined;
  readonly fetch?: typeof fetch;
}

export async function probeOllama(host: string, options: ProbeOptions): Promise<OllamaProbe> {
  const deadline = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal === undefined ? deadline : AbortSignal.any([options.signal, deadline]);
  let response: Response;
  try {
    response = await (options.fetch ?? fetch)(`${host.replace(/\/+$/, '')}/api/version`, { signal, headers: { accept: 'application/json' } });
  } catch (error) {
    if (deadline.aborted) {
      return {
        state: 'not_answering',
        advice: `Something at ${host} accepts connections but does not answer within ${options.timeoutMs} ms. If it is Ollama, it may be stuck: restart it ("ollama serve"); otherwise another program holds that port.`,
      };
    }
    return {
      state: 'nothing_listening',
      advice: `Ollama is not running at ${host}${refused(error) ? '' : ` (${describe(error)})`}. Start it with "ollama serve", or set the address it listens on.`,
    };
  }
  const version = await versionOf(response);
  if (version !== undefined) return { state: 'ollama', version };
  return {
    state: 'something_else',
    advice: `Something other than Ollama answers at ${host} (HTTP ${response.status} to /api/version). Another program may be using that port, or the address is wrong: Ollama's is http://127.0.0.1:11434 unless OLLAMA_HOST says otherwise.`,
  };
}

async function versionOf(response: Response): Promise<string | undefined> {
  try {
    if (!response.ok || !/json/i.test(response.headers.get('content-type') ?? '')) {
      await response.body?.cancel();
      return undefined;
    }
    const body = (await response.json()) as { version?: unknown };
    return typeof body.version === 'string' ? body.version : undefined;
  } catch {
    return undefined;
  }
}

function refused(error: unknown): boolean {
  return /ECONNREFUSED/.test(describe(error));
}

function describe(error: unknown): string {
  const parts: string[] = [];
  for (let current = error, depth = 0; current !== null && current !== undefined && depth < 4; depth += 1) {
    const code = (current as { code?: unknown }).code;
    parts.push(typeof code === 'string' ? code : current instanceof Error ? current.message : String(current));
    current = (current as { cause?: unknown }).cause;
  }
  return parts.join(': ');
}
