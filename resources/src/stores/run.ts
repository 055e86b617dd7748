/** One AI block: its settings, the streaming output, and how the last run ended. */
import { defineStore } from 'pinia';
import { ref } from 'vue';
import type { CommandResult } from '@contract';
import type { RetryNotice, RunHandle } from '../api/client';
import { errorText } from '../lib/words';
import { useConnectionStore } from './connection';

type Response = CommandResult<'get_execution'>;
export type RunStatus = 'idle' | 'starting' | 'streaming' | 'completed' | 'cancelled' | 'failed';

interface Outcome {
  readonly finishReason: string;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly timeToFirstTokenMs: number | undefined;
  readonly tokensPerSecond: number;
  readonly totalMs: number;
  readonly error: string | undefined;
  readonly warnings: readonly string[];
}

export const useRunStore = defineStore('run', () => {
  const provider = ref('');
  const model = ref('');
  const system = ref('');
  const prompt = ref('');
  const temperature = ref(0.7);
  const maxTokens = ref(512);
  const output = ref('');
  const status = ref<RunStatus>('idle');
  const outcome = ref<Outcome>();
  const handle = ref<RunHandle>();
  /** Load progress of a local model file while a run waits for it (0 to 1). */
  const loading = ref<{ model: string; progress: number }>();
  /** The engine's latest retry while no text has come yet. */
  const retrying = ref<RetryNotice>();
  const connection = useConnectionStore();

  async function run(): Promise<void> {
    if (status.value === 'starting' || status.value === 'streaming') return;
    output.value = '';
    outcome.value = undefined;
    retrying.value = undefined;
    status.value = 'starting';
    const messages = [
      ...(system.value.trim() ? [{ role: 'system' as const, content: system.value }] : []),
      { role: 'user' as const, content: prompt.value },
    ];
    try {
      const h = await connection.require().callAIProvider(provider.value, { model: model.value, messages, temperature: temperature.value, maxTokens: maxTokens.value });
      handle.value = h;
      status.value = 'streaming';
      h.onChunk((text) => ((loading.value = undefined), (retrying.value = undefined), (output.value += text)))
        .onRetry((retry) => (retrying.value = retry))
        .onDone(({ response }) => finish(response.finishReason === 'cancelled' ? 'cancelled' : 'completed', response))
        .onError(({ response, error }) => finish('failed', { ...response, error }));
    } catch (e) {
      status.value = 'failed';
      outcome.value = { finishReason: 'error', inputTokens: 0, outputTokens: 0, timeToFirstTokenMs: undefined, tokensPerSecond: 0, totalMs: 0, error: e instanceof Error ? e.message : String(e), warnings: [] };
    }
  }

  function onModelLoad(event: { model: string; progress: number }): void {
    loading.value = event.progress >= 1 ? undefined : event;
  }

  function finish(next: RunStatus, response: { finishReason: string; usage: { inputTokens: number; outputTokens: number }; timing: { timeToFirstTokenMs?: number | undefined; totalMs: number; tokensPerSecond: number }; error?: { code: string; message: string } | undefined; warnings?: { message: string }[] | undefined }): void {
    status.value = next;
    handle.value = undefined;
    loading.value = undefined;
    retrying.value = undefined;
    outcome.value = {
      finishReason: response.finishReason,
      inputTokens: response.usage.inputTokens,
      outputTokens: response.usage.outputTokens,
      timeToFirstTokenMs: response.timing.timeToFirstTokenMs,
      tokensPerSecond: response.timing.tokensPerSecond,
      totalMs: response.timing.totalMs,
      error: response.error ? errorText(response.error) : undefined,
      warnings: (response.warnings ?? []).map((w) => w.message),
    };
  }

  async function stop(): Promise<void> {
    await handle.value?.cancel().catch(() => undefined);
  }

  return { provider, model, system, prompt, temperature, maxTokens, output, status, outcome, loading, retrying, onModelLoad, run, stop, running: () => status.value === 'starting' || status.value === 'streaming' };
});

export type { Response };
