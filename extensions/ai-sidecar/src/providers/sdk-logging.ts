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
