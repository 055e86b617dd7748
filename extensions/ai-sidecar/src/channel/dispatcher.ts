/**
 * Validates each incoming request against the contract, runs its handler, validates the result, and
 * sends exactly one reply. Nothing a UI (or a hostile page) sends can crash the sidecar: every failure
 * becomes a typed error reply, and a message too broken to carry an id is dropped.
 *
 * Bounded work, so a flood from the page cannot take the sidecar's memory with it: one request's
 * params are at most `MAX_REQUEST_CHARS` (4 Mi characters of JSON), and at most
 * `MAX_PENDING_COMMANDS` (32) commands are being handled at once; past either limit the request is
 * answered at once with a typed error and nothing of it is kept. With at most `MAX_CONCURRENT_RUNS`
 * (8, see handlers/ai.ts) runs holding their requests, request data held at any moment stays under
 * (32 + 8) x 4 Mi characters: 160 Mi characters, about 320 MiB as UTF-16 at the very worst.
 */
import type * as z from 'zod/mini';
import { COMMANDS, isCommandName, requestEnvelopeSchema, type CommandName, type CommandParams, type CommandResult, type ReplyEnvelope } from '../protocol/contract.js';
import { AIError } from '../core/errors.js';
import { describeIssueAt, describeIssues } from '../protocol/issue-text.js';
import { retainRedactions } from '../core/redact.js';
import { ChannelError, toErrorData } from './errors.js';

export type Handlers = {
  [C in CommandName]: (params: z.output<(typeof COMMANDS)[C]['params']>) => Promise<CommandResult<C>> | CommandResult<C>;
};

export type SendReply = (reply: ReplyEnvelope) => void;

/** The largest request accepted, as characters of its JSON params. */
export const MAX_REQUEST_CHARS = 4 * 1024 * 1024;
/** Commands handled at once; the rest are refused as `busy` until one finishes. */
export const MAX_PENDING_COMMANDS = 32;

export class Dispatcher {
  private pending = 0;

  constructor(
    private readonly handlers: Handlers,
    private readonly send: SendReply,
  ) {}

  /**
   * Builds the schemas of `commands` and runs each once on an empty request, while the app is idle:
   * the first real request then skips that (3-7 ms for a run's request on Node 20). Calls no handler
   * and sends nothing.
   */
  prepare(commands: readonly CommandName[]): void {
    for (const command of commands) COMMANDS[command].params.safeParse({});
  }

  /** Handles one `sim.request` payload. Resolves once the reply has been handed to `send`. */
  async handle(payload: unknown): Promise<void> {
    const envelope = requestEnvelopeSchema().safeParse(payload);
    if (!envelope.success) {
      const id = idOf(payload);
      if (id !== undefined) this.send({ id, ok: false, error: toErrorData(new ChannelError('bad_message', describe(envelope.error))) });
      return;
    }
    const { id, command, params } = envelope.data;
    const refusal = this.refusal(params);
    if (refusal !== undefined) {
      this.send({ id, ok: false, error: toErrorData(refusal) });
      return;
    }
    // Keys retired while this command runs (a lock during a model list) stay redacted in its reply.
    const release = retainRedactions();
    this.pending += 1;
    try {
      const result = await this.run(command, params);
      this.send({ id, ok: true, result });
    } catch (error) {
      this.send({ id, ok: false, error: toErrorData(error) });
    } finally {
      this.pending -= 1;
      release();
    }
  }

  /** Why a request is refused before any work, if it is. */
  private refusal(params: unknown): Error | undefined {
    if (this.pending >= MAX_PENDING_COMMANDS) {
      return new AIError('busy', `The app is handling ${MAX_PENDING_COMMANDS} requests already; try again in a moment.`);
    }
    const size = jsonLength(params);
    if (size > MAX_REQUEST_CHARS) {
      return new ChannelError('validation', `This request is too large (${mega(size)} million characters; at most ${mega(MAX_REQUEST_CHARS)} million). Shorten the messages or split the work.`);
    }
    return undefined;
  }

  private async run(command: string, params: unknown): Promise<unknown> {
    if (!isCommandName(command)) throw new ChannelError('unknown_command', `Unknown command "${command}".`);
    const spec = COMMANDS[command];
    const parsed = spec.params.safeParse(params ?? {});
    // Said in words the UI can show as they are ("Temperature must be between 0 and 2.").
    if (!parsed.success) throw new ChannelError('validation', describeIssues(parsed.error.issues, spec.params));
    const handler = this.handlers[command] as (p: unknown) => Promise<unknown> | unknown;
    const result = await handler(parsed.data);
    // The sidecar validates what it sends, too: a handler bug must not reach the UI as a bad shape.
    const checked = spec.result.safeParse(result);
    if (!checked.success) throw new ChannelError('internal', `${command} produced an invalid result: ${describe(checked.error)}`);
    return checked.data;
  }
}

/** Characters of JSON, counted without building the string (stops early once past the limit). */
function jsonLength(value: unknown, limit = MAX_REQUEST_CHARS): number {
  let total = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0 && total <= limit) {
    const item = stack.pop();
    if (typeof item === 'string') total += item.length + 2;
    else if (typeof item === 'number' || typeof item === 'boolean' || item === null || item === undefined) total += 5;
    else if (Array.isArray(item)) (total += 2, stack.push(...item));
    else if (typeof item === 'object') for (const [key, child] of Object.entries(item)) (total += key.length + 4, stack.push(child));
  }
  return total;
}

function mega(chars: number): string {
  return (chars / (1024 * 1024)).toFixed(1);
}

function idOf(payload: unknown): string | undefined {
  const id = (payload as { id?: unknown } | null)?.id;
  return typeof id === 'string' && id.length > 0 && id.length <= 128 ? id : undefined;
}

function describe(error: z.core.$ZodError): string {
  return error.issues.slice(0, 3).map(describeIssueAt).join('; ');
}

export type { CommandParams };
