// @vitest-environment node
/** The sanitiser, run against a real DOM implementation: DOMPurify needs one; jsdom is not installed, so Chromium's is used. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '../..');
let browser: Browser;
let bundle: string;

beforeAll(async () => {
  const result = await build({
    stdin: { contents: "import { renderMarkdown } from './resources/src/lib/markdown.ts'; window.renderMarkdown = renderMarkdown;", resolveDir: ROOT, loader: 'ts' },
    bundle: true, write: false, format: 'iife', platform: 'browser', logLevel: 'error',
  });
  bundle = result.outputFiles[0]?.text ?? '';
  if (!existsSync('/usr/bin/chromium')) throw new Error('Debian chromium is required: apt-get install chromium');
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
}, 60_000);
afterAll(() => browser?.close());

async function render(markdown: string): Promise<string> {
  const page = await browser.newPage();
  await page.setContent('<html><body></body></html>');
  await page.addScriptTag({ content: bundle });
  const html = await page.evaluate((text) => (window as unknown as { renderMarkdown: (t: string) => string }).renderMarkdown(text), markdown);
  await page.close();
  return html;
}

describe('renderMarkdown', () => {
  it('keeps ordinary markdown', async () => {
    const html = await render('# Title\n\n**bold** and `code` and [a link](https://example.com)');
    expect(html).toContain('<h1>Title</h1>');
    expect(html).toContain('<strong>bold</strong>');
    // Links are shown, never followed (issue 12): the address moves to data-href and the title.
    expect(html).toContain('data-href="https://example.com"');
    expect(html).not.toMatch(/\shref=/);
  });

  it.each([
    ['an img onerror handler', '<img src=x onerror="alert(1)">', /onerror/],
    ['a script tag', '<script>alert(1)</script>', /<script/],
    ['a javascript: link', '[x](javascript:alert(1))', /javascript:/],
    ['an iframe', '<iframe src="https://evil.example"></iframe>', /<iframe/],
    ['an svg onload', '<svg onload="alert(1)"><circle/></svg>', /onload|<svg/],
    ['a style attribute', '<p style="position:fixed">x</p>', /style=/],
  ])('removes %s', async (_name, markdown, forbidden) => {
    expect(await render(markdown)).not.toMatch(forbidden);
  });
});
