/**
 * What a conversation sends on each turn: its system prompt, then as much of its history as the
 * model's context holds (the oldest turns go first; the system prompt and the newest message never
 * do), leaving room for the answer.
 */
import type { ChatMessage } from '../core/types.js';
import type { ConversationMessageData } from '../protocol/contract.js';

/** Counts tokens of one text: the model's own tokenizer, or an estimate. */
export interface TokenCounter {
  /** The model's context in tokens; null when unknown (then nothing is trimmed). */
  readonly contextSize: number | null;
  /** True when `count` estimates (cloud models) rather than tokenizes (local models). */
  readonly estimated: boolean;
  count(text: string): number;
}

/** Template tokens around each message (role markers, separators); a little more than most templates use. */
export const PER_MESSAGE_OVERHEAD = 6;
/** Room kept for the answer when the conversation sets no max tokens: at most this, at most a quarter of the context. */
export const DEFAULT_ANSWER_RESERVE = 512;

/** About four characters per token for English text and code; rounded up so the estimate errs long. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

export const estimatingCounter = (contextSize: number | null): TokenCounter => ({ contextSize, estimated: true, count: estimateTokens });

/**
 * The stored messages that make the history: user messages, and answers that completed or were
 * stopped with some text. Failed answers (and empty stopped ones) are left out: sending an error's
 * half-answer back would teach the model the failure.
 */
export function historyOf(messages: readonly ConversationMessageData[]): ChatMessage[] {
  return messages
    .filter((m) => m.role === 'user' || m.status === 'complete' || (m.status === 'cancelled' && m.content.trim() !== ''))
    .map((m) => ({ role: m.role, content: m.content }));
}

export interface FittedHistory {
  readonly messages: ChatMessage[];
  /** Oldest messages left out of this request to fit the context. */
  readonly droppedMessages: number;
  /** Tokens of what is sent (system prompt included), by `counter`. */
  readonly tokensUsed: number;
}

export function fitToContext(systemPrompt: string, history: readonly ChatMessage[], counter: TokenCounter, maxTokens: number | undefined): FittedHistory {
  const system: ChatMessage[] = systemPrompt.trim() === '' ? [] : [{ role: 'system', content: systemPrompt }];
  const cost = (m: ChatMessage): number => counter.count(m.content) + PER_MESSAGE_OVERHEAD;
  const systemCost = system.reduce((sum, m) => sum + cost(m), 0);
  const costs = history.map(cost);
  let used = systemCost + costs.reduce((a, b) => a + b, 0);
  let first = 0;
  if (counter.contextSize !== null) {
    const reserve = Math.min(maxTokens ?? DEFAULT_ANSWER_RESERVE, Math.floor(counter.contextSize / 4));
    const budget = counter.contextSize - reserve;
    // Drop from the front, never the newest message; then never start on an answer whose question went.
    while (used > budget && first < history.length - 1) used -= costs[first++] ?? 0;
    while (first < history.length - 1 && history[first]?.role === 'assistant') used -= costs[first++] ?? 0;
  }
  return { messages: [...system, ...history.slice(first)], droppedMessages: first, tokensUsed: used };
}

/** A list title from the first message: its first line, whitespace folded, cut at a word near 60 characters. */
export function titleFrom(text: string): string {
  const line = text.trim().split('\n').find((l) => l.trim() !== '') ?? '';
  const folded = line.replace(/[#>*`_]+/g, ' ').replace(/\s+/g, ' ').trim();
  if (folded.length <= 60) return folded || 'New conversation';
  const cut = folded.slice(0, 60);
  const space = cut.lastIndexOf(' ');
  return `${(space > 30 ? cut.slice(0, space) : cut).trimEnd()}…`;
}
