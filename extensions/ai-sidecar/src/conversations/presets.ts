/** The presets that ship with the app. They choose no provider or model: they work with whichever the user has. */
import type { ConversationSettings } from '../protocol/contract.js';

export interface BuiltInPreset {
  readonly id: string;
  readonly name: string;
  readonly provider: null;
  readonly model: null;
  readonly settings: ConversationSettings;
}

const preset = (id: string, name: string, systemPrompt: string, extra: Partial<ConversationSettings> = {}): BuiltInPreset => ({
  id: `builtin:${id}`,
  name,
  provider: null,
  model: null,
  settings: { systemPrompt, ...extra },
});

export const BUILT_IN_PRESETS: readonly BuiltInPreset[] = [
  preset('assistant', 'General assistant', 'You are a helpful, honest assistant. Answer clearly and say when you are not sure.'),
  preset('concise', 'Short answers', 'Answer in as few words as the question allows. No preamble, no summary at the end.', { temperature: 0.3 }),
  preset('coder', 'Programming helper', 'You are an experienced programmer. Give working code in fenced code blocks with the language named, and explain only what is not obvious.', { temperature: 0.2 }),
  preset('writer', 'Writing editor', 'You are a careful editor. Improve the clarity and flow of the text you are given, keep its meaning and voice, and list the main changes briefly.', { temperature: 0.7 }),
  preset('translator', 'Translator', 'Translate the text you are given. If no target language is named, translate into English; otherwise into the language named. Output only the translation.', { temperature: 0.1 }),
];

export function isBuiltIn(id: string): boolean {
  return id.startsWith('builtin:');
}
