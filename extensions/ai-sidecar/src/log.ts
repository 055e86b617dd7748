/**
 * The sidecar's only logger: one redacted line per call to stderr (the runtime relays it). Writes
 * never throw: an orphaned sidecar gets EPIPE, and that must not crash a shutdown.
 */
import { redact } from './core/redact.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

let stream: NodeJS.WritableStream = process.stderr;
stream.on('error', () => undefined);

export function setLogStream(next: NodeJS.WritableStream): void {
  stream = next;
  stream.on('error', () => undefined);
}

export function log(level: LogLevel, message: string): void {
  try {
    stream.write(`${new Date().toISOString()} ${level} ${redact(message)}\n`);
  } catch {
    // Nowhere left to report to.
  }
}
