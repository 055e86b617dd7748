/**
 * The contract's plain values: ids, event names, the protocol version, and the one rule for an
 * answer's stats. No zod here, so the window's first screen can import them without the schemas,
 * which load with the channel code right after it (see resources/src/main.ts). contract.ts
 * re-exports all of it: there is still one contract, and this is part of it.
 */
import type { FinishReason } from '../core/types.js';
import type { MessageStats } from './contract.js';

export const PROTOCOL_VERSION = 1;
/** Neutralino extension ids allow letters, digits and dots only (protocol doc §1), so not `ai-sidecar`. */
export const SIDECAR_ID = 'ai.sidecar';
export const REQUEST_EVENT = 'sim.request';
export const REPLY_EVENT = 'sim.reply';
/**
 * The runtime cannot restart an extension, and the page may not spawn processes (no `os.*`). So the
 * page restarts the app by leaving with this exit code (`app.exit`), and every launcher (`npm start`,
 * the portable folder's) starts the runtime again when it sees it. EX_TEMPFAIL: "try again".
 */
export const RESTART_EXIT_CODE = 75;

/**
 * How often a streaming answer changes on screen, at most: the window's update interval
 * (resources/src/lib/stream-markdown.ts), and the sidecar's coalescing interval for text events
 * (channel/run-streamer.ts, workflow-streamer.ts), so no event carries text the window would not show.
 */
export const STREAM_UPDATE_MS = 100;

export const CONVERSATION_EVENTS = {
  /** A stored change: a conversation's title or time, and/or one message's new state (final text, status, stats). */
  conversation: 'sim.conversation',
  /** Sent as each conversation run starts: tokens used against the context, and what was trimmed. */
  context: 'sim.context',
} as const;

/** Workflow run events (sidecar → UI). */
export const WORKFLOW_EVENTS = {
  blockStarted: 'sim.workflow.block-started',
  blockChunk: 'sim.workflow.block-chunk',
  blockDone: 'sim.workflow.block-done',
  blockSkipped: 'sim.workflow.block-skipped',
  blockFailed: 'sim.workflow.block-failed',
  done: 'sim.workflow.done',
  // Issue 14: an AI block's model is tried again before its first token (as `sim.retry`).
  blockRetry: 'sim.workflow.block-retry',
} as const;

/** Event names as broadcast by the sidecar and heard through `Neutralino.events.on`. */
export const EVENTS = {
  ready: 'sim.ready',
  chunk: 'sim.chunk',
  done: 'sim.done',
  error: 'sim.error',
  vault: 'sim.vault',
  task: 'sim.task',
  modelLoad: 'sim.model-load',
  // Issue 14: a run says when it retries (its schema is in contract.ts).
  retry: 'sim.retry',
  ...CONVERSATION_EVENTS,
} as const;

/** An answer's stats from its run's response: one rule for what the sidecar stores and the window shows. */
export function messageStatsOf(response: {
  readonly timing: { readonly timeToFirstTokenMs?: number | undefined; readonly tokensPerSecond: number; readonly totalMs: number };
  readonly usage: { readonly inputTokens: number; readonly outputTokens: number };
  readonly finishReason: FinishReason;
}): MessageStats {
  return {
    timeToFirstTokenMs: response.timing.timeToFirstTokenMs ?? null,
    tokensPerSecond: response.timing.tokensPerSecond,
    inputTokens: response.usage.inputTokens,
    outputTokens: response.usage.outputTokens,
    totalMs: response.timing.totalMs,
    finishReason: response.finishReason,
  };
}
