/**
 * Which provider runs an imported block's `model`. Sim names models only; this app names a provider
 * too. The mapping is by the model's family; anything unknown goes to OpenRouter, which serves most
 * families, and the import report says so, so the user can point the block elsewhere.
 */
export interface ProviderChoice {
  readonly provider: string;
  readonly model: string;
}

const RULES: readonly { readonly test: RegExp; readonly choose: (model: string) => ProviderChoice }[] = [
  { test: /\.gguf$/i, choose: (model) => ({ provider: 'local', model }) },
  { test: /^claude-/i, choose: (model) => ({ provider: 'anthropic', model }) },
  { test: /^(gpt-|chatgpt-|o1|o3|o4-|text-|davinci|babbage)/i, choose: (model) => ({ provider: 'openai', model }) },
  // A tag after a colon is how Ollama names models (llama3.2:3b, qwen2.5:latest).
  { test: /^[a-z0-9._-]+:[a-z0-9._-]+$/i, choose: (model) => ({ provider: 'ollama', model }) },
  { test: /^deepseek-(chat|reasoner|coder)$/i, choose: (model) => ({ provider: 'deepseek', model }) },
  { test: /^(mistral-(large|medium|small|tiny|saba)|codestral|open-mistral|open-mixtral|ministral|pixtral|magistral)/i, choose: (model) => ({ provider: 'mistral', model }) },
  // Open-weight families without a tag: run them on Ollama, which names them the same way.
  { test: /^(llama|mistral|mixtral|qwen|phi|gemma|deepseek|tinyllama|smollm|granite|codellama|starcoder|nomic)/i, choose: (model) => ({ provider: 'ollama', model: model.toLowerCase() }) },
  { test: /^gemini-/i, choose: (model) => ({ provider: 'openrouter', model: `google/${model}` }) },
  { test: /^grok-/i, choose: (model) => ({ provider: 'openrouter', model: `x-ai/${model}` }) },
  { test: /\//, choose: (model) => ({ provider: 'openrouter', model }) },
];

export function providerForModel(model: string): ProviderChoice {
  const trimmed = model.trim();
  for (const rule of RULES) if (rule.test.test(trimmed)) return rule.choose(trimmed);
  return { provider: 'openrouter', model: trimmed };
}
