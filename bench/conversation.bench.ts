/**
 * Local conversations that remember: time to first token of a turn that follows ~1,000 tokens of
 * history, continuing the conversation's kept context sequence (only the new turn is evaluated),
 * against the same request evaluated from scratch (a fresh sequence), in the same run, on the real
 * stories260K model. Rounds alternate the order (ABBA); the ratio is the median of per-round ratios.
 * Target: at most 0.2.
 *
 * stories260K's GGUF metadata gives a 2,048-token context, so the ~1,000-token history, the new turn
 * and the answer fit in a 2,048-token context without trimming.
 *
 *   npx tsx bench/conversation.bench.ts
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AIRequest, ChatMessage } from '../extensions/ai-sidecar/src/core/types.js';
import { LocalLlamaProvider } from '../extensions/ai-sidecar/src/providers/local-llama.js';
import { DEFAULT_FRAME_MS } from '../extensions/ai-sidecar/src/channel/run-streamer.js';
import { openDatabase } from '../extensions/ai-sidecar/src/storage/database.js';
import { ConversationsRepository, FrameWriter } from '../extensions/ai-sidecar/src/storage/conversations.js';
import { fmt, median, percentile, table } from './stats.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const MODEL = ['../../shared/models/stories260K.gguf', '../../../shared/models/stories260K.gguf'].map((p) => path.resolve(here, p)).find((p) => existsSync(p)) ?? '';
const CONTEXT = 2048;
const HISTORY_TOKENS = 1000;
const ROUNDS = 10;
const ANSWER_TOKENS = 8;

const SENTENCES = [
  'Once upon a time there was a little girl named Lily who loved to play in the park with her dog Max.',
  'One day she found a shiny red ball under a big green tree and she wanted to show it to her mom.',
  'Her friend Tom came to play and they ran and laughed together until the sun went down behind the hills.',
  'The next morning it was raining, so Lily and Max stayed inside and built a tall tower with blocks.',
];

async function main(): Promise<void> {
  if (MODEL === '') throw new Error('stories260K.gguf not found beside the project (../shared/models).');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sim-conv-bench-'));
  const provider = new LocalLlamaProvider({ threadCacheFile: path.join(dir, 'threads.json'), idleUnloadMs: null });
  try {
    const counter = await provider.tokenCounter(MODEL, CONTEXT);
    // A history of alternating turns until it holds ~1,000 tokens.
    const history: ChatMessage[] = [];
    let tokens = 0;
    // A little over, so the turn's prompt (history minus its last answer, plus the new answer and message) is ~1,000 tokens.
    for (let i = 0; tokens < HISTORY_TOKENS + 60; i += 1) {
      const content = `${SENTENCES[i % SENTENCES.length]} ${SENTENCES[(i + 1) % SENTENCES.length]}`;
      history.push({ role: i % 2 === 0 ? 'user' : 'assistant', content });
      tokens = counter.count(history.map((m) => m.content).join('\n\n'));
    }
    if (history.at(-1)?.role === 'user') history.push({ role: 'assistant', content: SENTENCES[0] ?? '' });
    const next: ChatMessage = { role: 'user', content: 'Then Lily saw a small bird.' };
    const request = (messages: ChatMessage[], sessionKey: string): AIRequest => ({ model: MODEL, messages, maxTokens: ANSWER_TOKENS, temperature: 0, contextSize: CONTEXT, sessionKey });
    const previousTurn = history.slice(0, -1);

    const firstToken = async (r: AIRequest): Promise<{ ms: number; evaluated: number; reused: boolean; answer: string }> => {
      const start = performance.now();
      let ms = Number.NaN;
      let answer = '';
      for await (const part of provider.streamCompletion(r)) {
        if (part.type === 'text-delta') {
          if (Number.isNaN(ms)) ms = performance.now() - start;
          answer += part.text;
        }
        if (part.type === 'error') throw new Error(part.error.message);
      }
      const evaluation = provider.lastEvaluation;
      return { ms, evaluated: evaluation?.evaluatedTokens ?? 0, reused: evaluation?.reused ?? false, answer };
    };

    /** The turn after the previous one, in the same conversation: the sequence holds the history. */
    const continued = async (round: number) => {
      const key = `continued-${round}`;
      const previous = await firstToken(request(previousTurn, key));
      return firstToken(request([...previousTurn, { role: 'assistant', content: previous.answer }, next], key));
    };
    /** The same turn with nothing kept: the whole history is evaluated. */
    const scratch = async (round: number) => {
      const previous = await firstToken(request(previousTurn, `prime-${round}`));
      return firstToken(request([...previousTurn, { role: 'assistant', content: previous.answer }, next], `scratch-${round}`));
    };

    await continued(-1); // load, thread measurement, caches
    await scratch(-1);
    const rows: { reuse: Awaited<ReturnType<typeof continued>>; fresh: Awaited<ReturnType<typeof scratch>> }[] = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      if (round % 2 === 0) {
        const reuse = await continued(round);
        const fresh = await scratch(round);
        rows.push({ reuse, fresh });
      } else {
        const fresh = await scratch(round);
        const reuse = await continued(round);
        rows.push({ reuse, fresh });
      }
    }
    if (!rows.every((r) => r.reuse.reused && !r.fresh.reused)) throw new Error('A continued turn did not reuse its sequence, or a scratch one did.');
    const promptTokens = counter.count([...previousTurn, { role: 'assistant', content: 'x' }, next].map((m) => m.content).join('\n\n'));
    const reuseMs = median(rows.map((r) => r.reuse.ms));
    const freshMs = median(rows.map((r) => r.fresh.ms));
    const ratio = median(rows.map((r) => r.reuse.ms / r.fresh.ms));
    console.log(`Conversation turn after ~${HISTORY_TOKENS} tokens of history (${promptTokens} prompt tokens), stories260K, context ${CONTEXT}, ${provider.loadedThreads} thread(s), ${ROUNDS} ABBA rounds`);
    console.log(
      table([
        ['', 'TTFT median ms', 'tokens evaluated (median)'],
        ['continued sequence', fmt(reuseMs), String(median(rows.map((r) => r.reuse.evaluated)))],
        ['from scratch', fmt(freshMs), String(median(rows.map((r) => r.fresh.evaluated)))],
      ]),
    );
    console.log(`ratio continued / scratch (median of per-round ratios): ${fmt(ratio, 3)}  (target <= 0.2: ${ratio <= 0.2 ? 'met' : 'NOT met'})`);
    frameWrites(dir);
  } finally {
    await provider.dispose();
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * What storing an answer as it streams costs on the event loop: one UPDATE per frame over a
 * 10,000-token answer (5 tokens a frame, 300 tokens/s at 60 frames/s), on the app's own
 * synchronous=FULL connection against the frame writer's synchronous=NORMAL one, alternating frames.
 */
function frameWrites(dir: string): void {
  const file = path.join(dir, 'frames.db');
  const { db } = openDatabase(file);
  const repo = new ConversationsRepository(db);
  const writer = FrameWriter.open(file);
  const at = new Date().toISOString();
  repo.create({ id: 'c', title: 'bench', titleSet: true, provider: 'local', model: 'm', settings: { systemPrompt: '' }, presetId: null, createdAt: at, updatedAt: at });
  repo.appendMessage({ id: 'full', conversationId: 'c', role: 'assistant', content: '', status: 'streaming' });
  repo.appendMessage({ id: 'normal', conversationId: 'c', role: 'assistant', content: '', status: 'streaming' });
  const full: number[] = [];
  const normal: number[] = [];
  const time = (into: number[], write: () => void) => {
    const start = performance.now();
    write();
    into.push(performance.now() - start);
  };
  for (let frame = 0; frame < 2000; frame += 1) {
    time(full, () => repo.appendText('full', 'tok tok tok tok tok '));
    time(normal, () => writer.append('normal', 'tok tok tok tok tok '));
  }
  writer.close();
  db.close();
  const line = (label: string, times: number[]) =>
    [label, fmt(median(times), 3), fmt(percentile(times, 99), 3), `${fmt((percentile(times, 99) / DEFAULT_FRAME_MS) * 100, 1)}%`];
  console.log('\nStoring an answer as it streams: one write per frame, 10,000-token answer');
  console.log(table([['', 'median ms', 'p99 ms', 'p99 / 16 ms frame'], line('frame writer (synchronous=NORMAL)', normal), line('main connection (synchronous=FULL)', full)]));
  console.log(`ratio frame writer / main connection, median: ${fmt(median(normal) / median(full), 3)}`);
}

await main();
