/**
 * The cloud SDKs log through their own console logger, and `OPENAI_LOG=debug` or
 * `ANTHROPIC_LOG=debug` would make them print request and response bodies (and headers) past our
 * redactor, to stdout where the runner streams the answer. An explicit level wins over those
 * variables: warnings and errors only, each routed through the sidecar's redacting logger to stderr.
 */
import { log } from '../log.js';

type LogFn = (message: string, ...rest: unknown[]) => void;

export interface SdkLogging {
  readonly logLevel: 'warn';
  readonly logger: { error: LogFn; warn: LogFn; info: LogFn; debug: LogFn };
}

export function sdkLogging(provider: string): SdkLogging {
  const line = (level: 'warn' | 'error') => (message: string) => log(level, `${provider} SDK: ${String(message)}`);
  // Bodies arrive as the extra arguments: never printed.
  const drop = (): void => undefined;
  return { logLevel: 'warn', logger: { error: line('error'), warn: line('warn'), info: drop, debug: drop } };
}

/**
 * Routes everything written through `console` (the Ollama client logs that way, unredacted, and
 * partly to stdout) to the redacting logger on stderr. stdout stays for what the process means to
 * say: the runner's answer, nothing else.
 */
export function routeConsoleToLog(): void {
  const to = (level: 'debug' | 'info' | 'warn' | 'error') => (...args: unknown[]): void =>
    log(level, args.map((a) => (typeof a === 'string' ? a : a instanceof Error ? a.message : safeJson(a))).join(' '));
  console.log = to('info');
  console.info = to('info');
  console.debug = to('debug');
  console.warn = to('warn');
  console.error = to('error');
  console.trace = to('debug');
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
