/**
 * Export a conversation as Markdown (to read) or JSON (to keep, and to import back); import the JSON.
 * The JSON carries everything stored except ids, which are new on import (importing twice gives two
 * conversations, never a clash).
 */
import * as z from 'zod/mini';
import { conversationMessageSchema, conversationSettingsSchema, type ConversationMessageData } from '../protocol/contract.js';
import { describeIssueAt } from '../protocol/issue-text.js';
import { lazy } from '../protocol/lazy-schema.js';
import type { ConversationRow } from '../storage/conversations.js';

export const EXPORT_FORMAT = 'sim-ai-desktop/conversation';
export const EXPORT_VERSION = 1;

const exportedMessageSchema = lazy(() => z.pick(conversationMessageSchema(), { role: true, content: true, status: true, provider: true, model: true, stats: true, error: true, createdAt: true }));
/** Built on the first import, like the contract's schemas. */
const conversationFileSchema = lazy(() =>
  z.object({
  format: z.literal(EXPORT_FORMAT),
  version: z.literal(EXPORT_VERSION),
  exportedAt: z.string(),
  conversation: z.object({
    title: z.string().check(z.minLength(1), z.maxLength(200)),
    provider: z.string().check(z.minLength(1), z.maxLength(64)),
    model: z.string().check(z.minLength(1), z.maxLength(4096)),
    settings: conversationSettingsSchema(),
    createdAt: z.string(),
    updatedAt: z.string(),
  }),
  messages: z.array(exportedMessageSchema()).check(z.maxLength(100_000)),
  }),
);
export type ConversationFile = z.output<ReturnType<typeof conversationFileSchema>>;

export function toJsonExport(conversation: ConversationRow, messages: readonly ConversationMessageData[]): string {
  const file: ConversationFile = {
    format: EXPORT_FORMAT,
    version: EXPORT_VERSION,
    exportedAt: new Date().toISOString(),
    conversation: {
      title: conversation.title,
      provider: conversation.provider,
      model: conversation.model,
      settings: conversation.settings,
      createdAt: conversation.createdAt,
      updatedAt: conversation.updatedAt,
    },
    messages: messages.map(({ role, content, status, provider, model, stats, error, createdAt }) => ({ role, content, status, provider, model, stats, error, createdAt })),
  };
  return `${JSON.stringify(file, null, 2)}\n`;
}

export function toMarkdownExport(conversation: ConversationRow, messages: readonly ConversationMessageData[]): string {
  const lines = [`# ${conversation.title}`, '', `${conversation.provider} · ${conversation.model} · started ${conversation.createdAt.slice(0, 16).replace('T', ' ')} UTC`, ''];
  if (conversation.settings.systemPrompt.trim() !== '') lines.push('## System prompt', '', conversation.settings.systemPrompt.trim(), '');
  for (const message of messages) {
    const who = message.role === 'user' ? 'You' : `Assistant${message.model === null ? '' : ` (${message.model})`}`;
    lines.push(`## ${who}`, '', message.content.trim() === '' ? '_(no text)_' : message.content.trim(), '');
    if (message.status === 'cancelled') lines.push('_Stopped before the end._', '');
    if (message.status === 'failed') lines.push(`_Failed: ${message.error?.message ?? 'the answer did not finish'}_`, '');
  }
  return lines.join('\n');
}

/** A file name from the title: letters, digits and dashes only. */
export function exportFileName(title: string, extension: 'md' | 'json'): string {
  const base = title.normalize('NFKD').replace(/[^\w\s-]/g, '').trim().replace(/\s+/g, '-').slice(0, 60) || 'conversation';
  return `${base}.${extension}`;
}

export class ImportError extends Error {
  override readonly name = 'ImportError';
}

/** Parses and checks an exported file; answers left streaming in it are imported as failed. */
export function parseConversationFile(content: string): ConversationFile {
  let raw: unknown;
  try {
    raw = JSON.parse(content);
  } catch {
    throw new ImportError('This file is not JSON. Import takes a conversation exported as JSON by this app.');
  }
  if ((raw as { format?: unknown } | null)?.format !== EXPORT_FORMAT) {
    throw new ImportError('This JSON is not a conversation exported by this app.');
  }
  const parsed = conversationFileSchema().safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ImportError(`This conversation file is damaged or from a newer version (${issue ? describeIssueAt(issue) : 'invalid'}).`);
  }
  return parsed.data;
}
