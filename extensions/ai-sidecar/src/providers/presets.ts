/**
 * Known OpenAI-compatible endpoints. Users pick one or enter their own base URL; nothing here is
 * secret. Local servers (LM Studio, llama.cpp server, vLLM) need no key.
 */
export interface OpenAICompatiblePreset {
  readonly id: string;
  readonly label: string;
  readonly baseURL: string;
  readonly keyRequired: boolean;
  /** OpenAI's own API wants `max_completion_tokens`; compatible servers mostly still read `max_tokens`. */
  readonly maxTokensField: 'max_tokens' | 'max_completion_tokens';
  /** Whether `response_format: json_schema` is accepted. */
  readonly supportsJsonSchema: boolean;
}

export const OPENAI_COMPATIBLE_PRESETS: readonly OpenAICompatiblePreset[] = [
  { id: 'openai', label: 'OpenAI', baseURL: 'https://api.openai.com/v1', keyRequired: true, maxTokensField: 'max_completion_tokens', supportsJsonSchema: true },
  { id: 'openrouter', label: 'OpenRouter', baseURL: 'https://openrouter.ai/api/v1', keyRequired: true, maxTokensField: 'max_tokens', supportsJsonSchema: true },
  { id: 'groq', label: 'Groq', baseURL: 'https://api.groq.com/openai/v1', keyRequired: true, maxTokensField: 'max_tokens', supportsJsonSchema: true },
  { id: 'together', label: 'Together AI', baseURL: 'https://api.together.xyz/v1', keyRequired: true, maxTokensField: 'max_tokens', supportsJsonSchema: true },
  { id: 'deepseek', label: 'DeepSeek', baseURL: 'https://api.deepseek.com/v1', keyRequired: true, maxTokensField: 'max_tokens', supportsJsonSchema: false },
  { id: 'mistral', label: 'Mistral', baseURL: 'https://api.mistral.ai/v1', keyRequired: true, maxTokensField: 'max_tokens', supportsJsonSchema: true },
  { id: 'lmstudio', label: 'LM Studio', baseURL: 'http://127.0.0.1:1234/v1', keyRequired: false, maxTokensField: 'max_tokens', supportsJsonSchema: true },
  { id: 'llamacpp-server', label: 'llama.cpp server', baseURL: 'http://127.0.0.1:8080/v1', keyRequired: false, maxTokensField: 'max_tokens', supportsJsonSchema: true },
  { id: 'vllm', label: 'vLLM', baseURL: 'http://127.0.0.1:8000/v1', keyRequired: false, maxTokensField: 'max_tokens', supportsJsonSchema: true },
];

export function findPreset(id: string): OpenAICompatiblePreset | undefined {
  return OPENAI_COMPATIBLE_PRESETS.find((preset) => preset.id === id);
}
