/**
 * Headless runner: one AI block through the same AIManager the app uses, tokens streamed to stdout,
 * a summary on stderr. Ctrl-C stops the run cleanly (finish reason `cancelled`) and still reports
 * what was spent. Keys come from the environment (OPENAI_API_KEY, ANTHROPIC_API_KEY, ...).
 *
 *   npm run ask -- --provider local --model ../shared/models/stories260K.gguf "Once upon a time"
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { EnvKeySource } from '../core/key-source.js';
import { AIManager } from '../core/manager.js';
import type { AIRequest, AIResponse, ChatMessage } from '../core/types.js';
import { MemoryProviderSettings, ProviderCatalog } from '../providers/catalog.js';
import { createLocalProvider } from '../providers/local-llama.js';
import { dataPaths, resolveDataLocation } from '../storage/paths.js';

const USAGE = `Usage: npm run ask -- --provider <name> --model <model> [options] "prompt"
  --system <text>        system prompt
  --max-tokens <n>       upper bound on generated tokens
  --temperature <t>      sampling temperature (0-2)
  --base-url <url>       override the provider's base URL (OpenAI-compatible, Anthropic, Ollama host)
  --json                 ask for JSON output
Providers: openai, anthropic, ollama, local, openrouter, groq, together, deepseek, mistral, lmstudio, llamacpp-server, vllm`;

function parse(argv: string[]): { provider: string; baseURL: string | undefined; request: AIRequest } {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      provider: { type: 'string' },
      model: { type: 'string' },
      system: { type: 'string' },
      'max-tokens': { type: 'string' },
      temperature: { type: 'string' },
      'base-url': { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  const prompt = positionals.join(' ').trim();
  if (values.help || values.provider === undefined || values.model === undefined || prompt === '') {
    throw new UsageError(USAGE);
  }
  const messages: ChatMessage[] = [
    ...(values.system === undefined ? [] : [{ role: 'system' as const, content: values.system }]),
    { role: 'user', content: prompt },
  ];
  return {
    provider: values.provider,
    baseURL: values['base-url'],
    request: {
      model: values.model,
      messages,
      maxTokens: numberOption(values['max-tokens'], '--max-tokens'),
      temperature: numberOption(values.temperature, '--temperature'),
      ...(values.json ? { responseFormat: { type: 'json' as const } } : {}),
    },
  };
}

class UsageError extends Error {}

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

function numberOption(raw: string | undefined, name: string): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value)) throw new UsageError(`${name} takes a number, got "${raw}".`);
  return value;
}

function summary(response: AIResponse): string {
  const { usage, timing } = response;
  const ttft = timing.timeToFirstTokenMs === undefined ? '-' : `${timing.timeToFirstTokenMs.toFixed(0)} ms`;
  const lines = [
    `[${response.provider}/${response.model}] finish: ${response.finishReason}`,
    `tokens: ${usage.inputTokens} in, ${usage.outputTokens} out · first token ${ttft} · total ${timing.totalMs.toFixed(0)} ms · ${timing.tokensPerSecond.toFixed(1)} tok/s`,
  ];
  if (response.error) lines.push(`error (${response.error.code}): ${response.error.message}`);
  for (const warning of response.warnings ?? []) lines.push(`warning (${warning.code}): ${warning.message}`);
  return lines.join('\n');
}

async function main(): Promise<number> {
  let options: ReturnType<typeof parse>;
  try {
    options = parse(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    return 2;
  }
  const manager = new AIManager();
  const settings = new MemoryProviderSettings();
  // The app's data folder (same rules: SIM_AI_DATA_DIR, else the per-user folder): bare model names
  // find the app's imported models, and the thread choice measured by either is reused by the other.
  const data = dataPaths(resolveDataLocation({ appDir: appDir() }).dataDir);
  const createLocal = () => createLocalProvider({ modelsDir: data.models, threadCacheFile: data.threadCache });
  const catalog = new ProviderCatalog(manager, settings, { keys: new EnvKeySource(), createLocal });
  if (options.baseURL !== undefined) catalog.update(options.provider, { baseURL: options.baseURL, enabled: true });
  else if (catalog.find(options.provider)?.enabled === false) catalog.update(options.provider, { enabled: true });

  const execution = manager.execute(options.provider, options.request, {
    onPart: (part) => {
      if (part.type === 'text-delta') process.stdout.write(part.text);
    },
  });
  const onInterrupt = (): void => {
    manager.cancel(execution.id);
  };
  process.once('SIGINT', onInterrupt);
  const response = await execution.result;
  process.off('SIGINT', onInterrupt);
  process.stdout.write('\n');
  process.stderr.write(`${summary(response)}\n`);
  await manager.dispose();
  return response.finishReason === 'error' || response.finishReason === 'incomplete' ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`ask failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
