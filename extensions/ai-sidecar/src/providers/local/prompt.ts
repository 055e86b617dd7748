/** Turns the block's messages into what llama.cpp takes: a chat history, or plain text for models with no chat template. */
import type { ChatMessage } from '../../core/types.js';

export type LocalChatItem =
  | { type: 'system'; text: string }
  | { type: 'user'; text: string }
  | { type: 'model'; response: string[] };

/** For chat models: the conversation so far, ending with an empty model turn to be completed. */
export function toChatHistory(messages: readonly ChatMessage[]): LocalChatItem[] {
  const history: LocalChatItem[] = messages.map((m) =>
    m.role === 'assistant' ? { type: 'model', response: [m.content] } : { type: m.role, text: m.content },
  );
  history.push({ type: 'model', response: [] });
  return history;
}

/**
 * For plain-completion models (no chat template, e.g. story models): the texts in order, separated
 * by blank lines, so "system: once upon a time" style prompts continue naturally.
 */
export function toCompletionPrompt(messages: readonly ChatMessage[]): string {
  return messages
    .map((m) => m.content.trim())
    .filter((text) => text !== '')
    .join('\n\n');
}
