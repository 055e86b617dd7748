/**
 * Headless runner: one AI block through the same AIManager the app uses. Only the answer goes to
 * stdout (streamed, or the whole response as JSON with --json); the summary and every message go to
 * stderr, redacted. Ctrl-C stops the run cleanly and reports what was received.
 *
 *   npm run -s ask -- -p local -m ../shared/models/stories260K.gguf "Once upon a time"
 *   echo "Summarise this" | npm run -s ask -- -p openai -m gpt-4o-mini
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { EnvKeySource } from '../core/key-source.js';
import { AIManager } from '../core/manager.js';
import type { AIRequest, AIResponse, ChatMessage } from '../core/types.js';
import { aiRequestSchema, describeIssues } from '../protocol/contract.js';
import { MemoryProviderSettings, ProviderCatalog } from '../providers/catalog.js';
import { createLocalProvider } from '../providers/local-llama.js';
import { routeConsoleToLog } from '../providers/sdk-logging.js';
import { dataPaths, resolveDataLocation } from '../storage/paths.js';

const EXIT = { ok: 0, providerError: 1, usage: 2, cancelled: 130 } as const;

const USAGE = `Usage: npm run -s ask -- -p <provider> -m <model> [options] [prompt | -]

Runs one AI block and streams the answer to stdout. The prompt is the arguments, or stdin when it
is piped or given as "-".

Options:
  -p, --provider <name>       openai, anthropic, ollama, local, openrouter, groq, together, deepseek,
                              mistral, lmstudio, llamacpp-server, vllm
  -m, --model <model>         model id (for local: a .gguf path or a file in the models folder)
  -s, --system <text>         system prompt
  -t, --temperature <t>       sampling temperature, 0 to 2
  -n, --max-tokens <n>        upper bound on generated tokens
  -u, --base-url <url>        the provider's base URL (OpenAI-compatible, Anthropic) or Ollama's host
  -i, --idle-timeout <s>      fail when the stream is silent this many seconds (default 60)
  -j, --json                  print the whole response as JSON instead of the streamed text
  -h, --help                  this text

Environment: OPENAI_API_KEY, ANTHROPIC_API_KEY, <PROVIDER>_API_KEY for keys; OPENAI_BASE_URL,
ANTHROPIC_BASE_URL and OLLAMA_HOST for addresses (--base-url wins).

Exit codes:
  0    the answer completed
  1    the provider failed (the message says why; partial text stays on stdout)
  2    bad usage (unknown option, missing prompt, a setting out of range): nothing was sent
  130  cancelled with Ctrl-C (what was received is kept and reported)
`;

interface AskOptions {
  readonly provider: string;
  readonly baseURL: string | undefined;
  readonly request: AIRequest;
  readonly json: boolean;
  readonly idleTimeoutMs: number | undefined;
}

class UsageError extends Error {}
class HelpRequested extends Error {}

/** Parses the command line; `stdin` is read only when the prompt comes from it. */
async function parseAsk(argv: string[], env: NodeJS.ProcessEnv, stdin: () => Promise<string>, stdinIsTTY: boolean): Promise<AskOptions> {
  let parsed: ReturnType<typeof parseOptions>;
  try {
    parsed = parseOptions(argv);
  } catch (error) {
    throw new UsageError(`${error instanceof Error ? error.message : String(error)}\nRun with --help for usage.`);
  }
  const { values, positionals } = parsed;
  if (values.help) throw new HelpRequested();
  if (values.provider === undefined) throw new UsageError('Say which provider: -p openai (or anthropic, ollama, local, ...). Run with --help for usage.');
  if (values.model === undefined) throw new UsageError('Say which model: -m <model>. Run with --help for usage.');
  const fromStdin = (positionals.length === 1 && positionals[0] === '-') || (positionals.length === 0 && !stdinIsTTY);
  const prompt = (fromStdin ? await stdin() : positionals.join(' ')).trim();
  if (prompt === '') throw new UsageError('No prompt: give it as arguments, or pipe it in. Run with --help for usage.');
  const messages: ChatMessage[] = [
    ...(values.system === undefined ? [] : [{ role: 'system' as const, content: values.system }]),
    { role: 'user', content: prompt },
  ];
  const request = {
    model: values.model,
    messages,
    ...numberField('temperature', values.temperature, '--temperature'),
    ...numberField('maxTokens', values['max-tokens'], '--max-tokens'),
  };
  // The app's own contract decides what is in range, before anything is sent.
  const checked = aiRequestSchema().safeParse(request);
  if (!checked.success) throw new UsageError(describeIssues(checked.error.issues, aiRequestSchema()));
  const idle = values['idle-timeout'] === undefined ? undefined : Number(values['idle-timeout']);
  if (idle !== undefined && !(Number.isFinite(idle) && idle > 0)) throw new UsageError(`--idle-timeout takes a number of seconds above 0, got "${values['idle-timeout']}".`);
  return {
    provider: values.provider,
    baseURL: values['base-url'] ?? baseURLFromEnv(values.provider, env),
    request,
    json: values.json,
    idleTimeoutMs: idle === undefined ? undefined : Math.round(idle * 1000),
  };
}

function parseOptions(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      provider: { type: 'string', short: 'p' },
      model: { type: 'string', short: 'm' },
      system: { type: 'string', short: 's' },
      'max-tokens': { type: 'string', short: 'n' },
      temperature: { type: 'string', short: 't' },
      'base-url': { type: 'string', short: 'u' },
      'idle-timeout': { type: 'string', short: 'i' },
      json: { type: 'boolean', short: 'j', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
}

/**
 * The app folder this runner belongs to (a `portable` marker there keeps data beside it): the nearest
 * folder above it holding neutralino.config.json, whether it runs from source, dist/ or a portable copy.
 */
function appDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'neutralino.config.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) return process.cwd();
    dir = parent;
  }
  return dir;
}

function numberField<K extends string>(key: K, raw: string | undefined, flag: string): Partial<Record<K, number>> {
  if (raw === undefined) return {};
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value)) throw new UsageError(`${flag} takes a number, got "${raw}".`);
  return { [key]: value } as Partial<Record<K, number>>;
}

/** The conventional variables other tools honour; the provider's kind decides which applies. */
function baseURLFromEnv(provider: string, env: NodeJS.ProcessEnv): string | undefined {
  const pick = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };
  if (provider === 'openai') return pick('OPENAI_BASE_URL');
  if (provider === 'anthropic') return pick('ANTHROPIC_BASE_URL');
  if (provider === 'ollama') {
    const host = pick('OLLAMA_HOST');
    return host === undefined ? undefined : ollamaHostURL(host);
  }
  return undefined;
}

/** OLLAMA_HOST as Ollama reads it: `host`, `host:port` or a URL; 0.0.0.0 (listen on all) is dialled as 127.0.0.1. */
function ollamaHostURL(host: string): string {
  const withScheme = /^[a-z]+:\/\//i.test(host) ? host : `http://${host}`;
  const url = new URL(withScheme);
  if (url.hostname === '0.0.0.0') url.hostname = '127.0.0.1';
  if (url.port === '' && !/^[a-z]+:\/\/[^/]*:\d+/i.test(withScheme)) url.port = url.protocol === 'https:' ? '443' : '11434';
  return url.toString().replace(/\/$/, '');
}

function summary(response: AIResponse): string {
  const { usage, timing } = response;
  const ttft = timing.timeToFirstTokenMs === undefined ? '-' : `${timing.timeToFirstTokenMs.toFixed(0)} ms`;
  const lines = [
    `[${response.provider}/${response.model}] finish: ${response.finishReason}`,
    `tokens: ${usage.inputTokens} in, ${usage.outputTokens} out${response.finishReason === 'cancelled' ? ' (received before the stop)' : ''} · first token ${ttft} · total ${timing.totalMs.toFixed(0)} ms · ${timing.tokensPerSecond.toFixed(1)} tok/s`,
  ];
  if (response.error) lines.push(`error (${response.error.code}): ${response.error.message}`);
  for (const warning of response.warnings ?? []) lines.push(`warning (${warning.code}): ${warning.message}`);
  return lines.join('\n');
}

function exitCode(response: AIResponse): number {
  if (response.finishReason === 'cancelled') return EXIT.cancelled;
  return response.finishReason === 'error' || response.finishReason === 'incomplete' ? EXIT.providerError : EXIT.ok;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString('utf8');
}

async function main(): Promise<number> {
  // Keys first: every *_API_KEY is known to the redactor before anything can print.
  const keys = new EnvKeySource();
  routeConsoleToLog();
  let options: AskOptions;
  try {
    options = await parseAsk(process.argv.slice(2), process.env, readStdin, process.stdin.isTTY === true);
  } catch (error) {
    if (error instanceof HelpRequested) {
      process.stdout.write(USAGE);
      return EXIT.ok;
    }
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT.usage;
  }
  const manager = new AIManager(options.idleTimeoutMs === undefined ? {} : { idleTimeoutMs: options.idleTimeoutMs });
  // The app's data folder (same rules: SIM_AI_DATA_DIR, else the per-user folder): bare model names
  // find the app's imported models, and the thread choice measured by either is reused by the other.
  const data = dataPaths(resolveDataLocation({ appDir: appDir() }).dataDir);
  const createLocal = () => createLocalProvider({ modelsDir: data.models, threadCacheFile: data.threadCache });
  const catalog = new ProviderCatalog(manager, new MemoryProviderSettings(), { keys, createLocal });
  if (catalog.find(options.provider) === undefined) {
    process.stderr.write(`Unknown provider "${options.provider}". Run with --help for the list.\n`);
    return EXIT.usage;
  }
  catalog.update(options.provider, { enabled: true, ...(options.baseURL === undefined ? {} : { baseURL: options.baseURL }) });

  const execution = manager.execute(options.provider, options.request, {
    onPart: (part) => {
      if (!options.json && part.type === 'text-delta') process.stdout.write(part.text);
    },
  });
  const onInterrupt = (): void => void manager.cancel(execution.id);
  process.once('SIGINT', onInterrupt);
  const response = await execution.result;
  process.off('SIGINT', onInterrupt);
  if (options.json) process.stdout.write(`${JSON.stringify(response, null, 2)}\n`);
  else if (response.text !== '') process.stdout.write('\n');
  process.stderr.write(`${summary(response)}\n`);
  await manager.dispose();
  return exitCode(response);
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`ask failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(EXIT.providerError);
  },
);
