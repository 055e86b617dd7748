// @vitest-environment node
/**
 * The incremental renderer in Chromium: streamed in any chunking, the answer ends as the same HTML
 * as rendering it whole through the same blocks; finished blocks are never rebuilt while more text
 * arrives; the sanitiser still applies to every block and to the open tail.
 */
import path from 'node:path';
import { build } from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '../..');
let browser: Browser;
let page: Page;

const ANSWER = [
  '# Plan\n\nFirst a paragraph with **bold** and `code`.\n\n',
  '- one\n- two\n\n  still item two\n\n',
  '```ts\nconst a = 1;\n\nconst b = 2;\n```\n\n',
  '| a | b |\n| --- | --- |\n| 1 | 2 |\n\n',
  '1. first\n2. second\n\n> quoted\n\nThe end <img src=x onerror="window.__pwned=1">',
].join('');

beforeAll(async () => {
  const result = await build({
    stdin: { contents: "import { MarkdownStream } from './resources/src/lib/stream-markdown.ts'; window.MarkdownStream = MarkdownStream;", resolveDir: ROOT, loader: 'ts' },
    bundle: true, write: false, format: 'iife', platform: 'browser', logLevel: 'error',
  });
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
  page = await browser.newPage();
  await page.setContent('<html><body><div id="whole"></div><div id="streamed"></div></body></html>');
  await page.addScriptTag({ content: result.outputFiles[0]?.text ?? '' });
}, 60_000);
afterAll(() => browser?.close());

/** Streams `text` in chunks of the given sizes (cycled), recording whether finished blocks were ever replaced. */
function stream(text: string, sizes: number[]): Promise<{ whole: string; streamed: string; rebuilt: number; midFence: string }> {
  return page.evaluate(
    ([text, sizes]) => {
      type Stream = { set(t: string): void; finish(): void };
      const Ctor = (window as unknown as { MarkdownStream: new (el: HTMLElement, hooks?: { minIntervalMs: number }) => Stream }).MarkdownStream;
      const whole = document.getElementById('whole') as HTMLElement;
      const streamed = document.getElementById('streamed') as HTMLElement;
      whole.replaceChildren();
      streamed.replaceChildren();
      const once = new Ctor(whole);
      once.set(text);
      once.finish();
      const s = new Ctor(streamed, { minIntervalMs: 0 });
      const seen = new Set<Element>();
      let rebuilt = 0;
      let midFence = '';
      let at = 0;
      for (let i = 0; at < text.length; i += 1) {
        at = Math.min(text.length, at + (sizes[i % sizes.length] ?? 1));
        s.set(text.slice(0, at));
        const blocks = [...streamed.querySelectorAll('.md-block')];
        for (const b of seen) if (!blocks.includes(b)) rebuilt += 1;
        blocks.forEach((b) => seen.add(b));
        if (text.slice(0, at).endsWith('const b')) midFence = streamed.querySelector('.md-tail')?.innerHTML ?? '';
      }
      s.finish();
      return { whole: whole.innerHTML, streamed: streamed.innerHTML, rebuilt, midFence };
    },
    [text, sizes] as const,
  );
}

describe('MarkdownStream', () => {
  it.each([[[1]], [[3, 7, 2]], [[40]], [[1000]]])('ends as the whole render, chunk sizes %j, never rebuilding a finished block', async (sizes) => {
    const result = await stream(ANSWER, sizes);
    expect(result.streamed).toBe(result.whole);
    expect(result.rebuilt).toBe(0);
    expect(result.whole).toContain('<h1>Plan</h1>');
    expect(result.whole).toContain('<table>');
    expect(result.whole).toMatch(/<code class="language-ts">const a = 1;\n\nconst b = 2;\n<\/code>/);
    expect(result.whole).not.toMatch(/onerror/);
  });

  it('shows an open code fence as plain text, escaped', async () => {
    const result = await stream('```html\n<b onclick="x()">hi</b>\nconst b', [5]);
    expect(result.midFence).toBe('<pre><code>&lt;b onclick="x()"&gt;hi&lt;/b&gt;\nconst b</code></pre>');
  });

  it('changes the page at most once per interval while streaming, and shows everything on finish', async () => {
    const shown = await page.evaluate(async () => {
      type Stream = { set(t: string): void; finish(): void };
      const Ctor = (window as unknown as { MarkdownStream: new (el: HTMLElement, hooks?: { minIntervalMs: number }) => Stream }).MarkdownStream;
      const out = document.getElementById('streamed') as HTMLElement;
      out.replaceChildren();
      const s = new Ctor(out, { minIntervalMs: 1000 });
      s.set('one');
      const first = out.textContent;
      s.set('one two');
      s.set('one two three');
      const held = out.textContent;
      s.finish();
      return [first, held, out.textContent];
    });
    expect(shown.map((t) => t?.trim())).toEqual(['one', 'one', 'one two three']);
  });

  it('sanitises the open tail as it streams: no handler ever reaches the page', async () => {
    await stream('Look <img src=x onerror="window.__pwned=1"> and <a href="javascript:window.__pwned=2">x</a>', [4]);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(await page.locator('#streamed [onerror], #streamed a[href^="javascript"]').count()).toBe(0);
  });
});
