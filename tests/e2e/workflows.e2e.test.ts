/**
 * End to end: the Workflows view in headless Chromium, served by the Neutralino stand-in, with the
 * real sidecar behind it, the in-process local model and the OpenAI stand-in. Builds a two-block
 * workflow on the canvas by dragging a connection, runs it, stops a run, reads the trace.
 */
import { readFileSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../neutralino/build-once.js';
import type { StandIn } from '../neutralino/runtime.js';
import { startOpenAIServer, type OpenAIServer } from '../wire/openai-server.js';
import { closeAppWindow, startAppWindow, whenConnected } from './window.js';

const KEY = 'sk-proj-FlowFlowFlowFlowSECRET0011';
const MODEL = path.resolve(ROOT, '../shared/models/stories260K.gguf');
const SHOTS = path.join(ROOT, 'test-output', 'screenshots');
let runtime: StandIn;
let openai: OpenAIServer;
let browser: Browser;
let page: Page;
let dataDir: string;
/** Script files the page fetched, in order. */
const scripts: string[] = [];

const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `workflows-${name}.png`), fullPage: true });
const id = (testId: string) => page.getByTestId(testId);
const runStatus = () => id('workflow-run-status').getAttribute('data-status');

async function centre(locator: Locator): Promise<{ x: number; y: number }> {
  const box = await locator.boundingBox();
  if (box === null) throw new Error('not on screen');
  return { x: box.x + box.width / 2, y: box.y + box.height / 2 };
}

/** Drags a connection from a source handle to a block's target handle, as a person does with the mouse. */
async function dragConnection(from: Locator, toBlock: string): Promise<void> {
  const start = await centre(from);
  const end = await centre(page.locator(`.vue-flow__node:has([data-testid="block-${toBlock}"]) .vue-flow__handle.target`));
  await page.mouse.move(start.x, start.y);
  await page.mouse.down();
  await page.mouse.move((start.x + end.x) / 2, (start.y + end.y) / 2, { steps: 5 });
  await page.mouse.move(end.x, end.y, { steps: 5 });
  await page.mouse.up();
}

beforeAll(async () => {
  await mkdir(SHOTS, { recursive: true });
  openai = await startOpenAIServer();
  ({ dataDir, runtime, browser } = await startAppWindow('sim-flow-e2e-'));
  page = await browser.newPage({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  page.on('request', (request) => {
    if (request.resourceType() === 'script') scripts.push(new URL(request.url()).pathname);
  });
  await page.goto(runtime.url);
  await whenConnected(page);
}, 120_000);

afterAll(async () => {
  await closeAppWindow({ dataDir, runtime, browser });
  await openai?.close();
});

describe('the Workflows view, end to end', () => {
  it('loads the view and Vue Flow only when first shown; the main bundle has no canvas code', async () => {
    const before = [...scripts];
    expect(before.some((s) => /WorkflowsView/.test(s))).toBe(false);
    await id('tab-workflows').click();
    await id('workflow-list').waitFor();
    const lazy = scripts.filter((s) => /WorkflowsView/.test(s));
    expect(lazy).toHaveLength(1);
    const main = before.find((s) => /\/assets\/index-.*\.js$/.test(s));
    expect(main).toBeDefined();
    const mainCode = readFileSync(path.join(ROOT, 'resources/dist', main ?? ''), 'utf8');
    const lazyCode = readFileSync(path.join(ROOT, 'resources/dist', lazy[0] ?? ''), 'utf8');
    expect(mainCode).not.toMatch(/vue-flow__/);
    expect(lazyCode).toMatch(/vue-flow__/);
    await expect.poll(() => id('no-workflows').isVisible(), { timeout: 10_000 }).toBe(true);
    await shot('empty');
  });

  it('builds start → agent on the canvas by dragging a connection, with references offered in the prompt', async () => {
    await id('new-workflow').click();
    await id('workflow-name').fill('Story chain');
    await id('add-agent').click();
    await id('block-Agent').waitFor();
    expect(await page.locator('.vue-flow__edge').count()).toBe(0);
    await dragConnection(id('handle-Start-success'), 'Agent');
    await expect.poll(() => page.locator('.vue-flow__edge').count()).toBe(1);

    await id('block-Agent').click();
    await id('block-provider').selectOption('local');
    await id('block-model').fill(MODEL);
    await id('block-max-tokens').fill('40');
    await id('block-max-tokens').dispatchEvent('change');
    const prompt = id('user-prompt');
    await prompt.fill('');
    await prompt.pressSequentially('Once upon a time <st');
    await expect.poll(() => id('user-prompt-suggestions').textContent()).toMatch(/<start\.input>.*the text the workflow was run with/);
    await shot('references');
    await prompt.press('Enter');
    expect(await prompt.inputValue()).toBe('Once upon a time <start.input>');
    await id('block-name').fill('Teller');
    await id('block-Teller').waitFor();
    await shot('canvas');
  });

  it('removes a connection with the Delete key and a block with its button', async () => {
    await id('add-response').click();
    await id('block-Response').waitFor();
    await dragConnection(id('handle-Teller-success'), 'Response');
    await expect.poll(() => page.locator('.vue-flow__edge').count()).toBe(2);
    const middle = await page.locator('.vue-flow__edge').nth(1).locator('path.vue-flow__edge-path').evaluate((el) => {
      const pathEl = el as SVGPathElement;
      const point = pathEl.getPointAtLength(pathEl.getTotalLength() / 2);
      const m = pathEl.getScreenCTM();
      return m ? { x: point.x * m.a + m.e, y: point.y * m.d + m.f } : { x: 0, y: 0 };
    });
    await page.mouse.click(middle.x, middle.y);
    await expect.poll(() => page.locator('.vue-flow__edge.selected').count()).toBe(1);
    await page.keyboard.press('Delete');
    await expect.poll(() => page.locator('.vue-flow__edge').count()).toBe(1);
    await id('block-Response').click();
    await id('delete-block').click();
    await expect.poll(() => id('block-Response').count()).toBe(0);
    expect(await id('block-Teller').count()).toBe(1);
  });

  it('saves it, and it appears in the list', async () => {
    await id('save-workflow').click();
    await expect.poll(() => id('save-notice').textContent(), { timeout: 10_000 }).toBe('Saved.');
    await expect.poll(() => id('workflow-Story chain').count()).toBe(1);
    expect(await id('save-workflow').textContent()).toBe('Saved');
  });

  it('runs it on the local model: the block streams, then the trace shows status, first token, tokens, duration and the response', async () => {
    await id('workflow-input').fill('there was a little');
    await id('run-workflow').click();
    await expect.poll(runStatus, { timeout: 60_000 }).toMatch(/completed|failed|cancelled/);
    await shot('trace');
    expect(await runStatus(), (await id('run-panel').textContent().catch(() => '')) ?? '').toBe('completed');
    const output = (await id('output-Teller').textContent()) ?? '';
    expect(output.length).toBeGreaterThan(10);
    const row = id('trace-Teller');
    expect(await row.getAttribute('data-status')).toBe('completed');
    expect(await row.getByTestId('ttft').textContent()).toMatch(/^\d+(\.\d+)? m?s$/);
    expect(await row.getByTestId('tokens').textContent()).toMatch(/^[1-9]\d* in · [1-9]\d* out$/);
    expect(await row.getByTestId('duration').textContent()).toMatch(/\d/);
    expect(await id('block-Teller').getAttribute('data-status')).toBe('completed');
    expect(((await id('trace-response').textContent()) ?? '').length).toBeGreaterThan(10);
  }, 90_000);

  it('runs again from the agent, reusing the stored output of the blocks before it', async () => {
    await id('rerun-Teller').click();
    await expect.poll(runStatus, { timeout: 60_000 }).toMatch(/completed|failed|cancelled/);
    expect(await runStatus(), (await id('run-panel').textContent()) ?? '').toBe('completed');
    expect(await id('trace-Start').textContent()).toMatch(/\(reused\)/);
    expect(await id('trace-Teller').textContent()).not.toMatch(/reused/);
    expect(((await id('trace-response').textContent()) ?? '').length).toBeGreaterThan(10);
  }, 90_000);

  it('stops a slow run on the OpenAI stand-in: the whole execution is cancelled mid-stream', async () => {
    // Vault and Providers are under Settings; the vault's state is in its data-state, the words vary.
    await id('tab-settings').click();
    await id('tab-vault').click();
    await id('passphrase').fill('my long passphrase');
    await id('passphrase-confirm').fill('my long passphrase');
    await id('vault-create').click();
    await expect.poll(() => id('vault-state').getAttribute('data-state'), { timeout: 10_000 }).toBe('unlocked');
    await id('tab-providers').click();
    const card = id('provider-openai');
    await card.getByTestId('url-openai').fill(`${openai.url}/v1`);
    await card.getByTestId('save-url-openai').click();
    await card.getByTestId('key-openai').fill(KEY);
    await card.getByTestId('save-key-openai').click();
    await expect.poll(() => card.getByTestId('key-state-openai').textContent()).toBe('Key stored …0011');
    // The key is sealed with the stand-in's origin (the URL was set before the key).
    expect(await card.getByTestId('key-origin-openai').textContent()).toContain(`sent only to ${new URL(openai.url).origin}`);

    await id('tab-workflows').click();
    await id('block-Teller').click();
    await id('block-provider').selectOption('openai');
    await id('block-model').fill('gpt-4o-mini');
    openai.script({ kind: 'slow', intervalMs: 50, count: 400 });
    await id('run-workflow').click();
    await expect.poll(() => id('output-Teller').textContent(), { timeout: 15_000 }).toMatch(/t2 /);
    await shot('streaming');
    await id('stop-workflow').click();
    await expect.poll(runStatus, { timeout: 10_000 }).toBe('cancelled');
    expect(await id('trace-Teller').getAttribute('data-status')).toBe('cancelled');
    expect(await id('output-Teller').textContent()).not.toMatch(/t399/);
    await shot('stopped');
  });

  it('reads the stored trace of an earlier run', async () => {
    const past = id('past-runs');
    // Newest first: the stopped run, the rerun from Teller, the first run.
    await expect.poll(() => past.locator('option:not([disabled])').count(), { timeout: 10_000 }).toBe(3);
    const options = await past.locator('option:not([disabled])').allTextContents();
    expect(options.map((o) => o.match(/Stopped|Completed/)?.[0])).toEqual(['Stopped', 'Completed', 'Completed']);
    await past.selectOption({ index: 3 });
    await expect.poll(() => id('trace-Teller').getAttribute('data-status'), { timeout: 10_000 }).toBe('completed');
    expect(await runStatus()).toBe('completed');
    expect(await id('trace-Teller').getByTestId('tokens').textContent()).toMatch(/^[1-9]\d* in · [1-9]\d* out$/);
    await shot('past-run');
  });

  it('refuses to save a reference to a block that cannot have run, and says so next to the block', async () => {
    await id('block-Teller').click();
    await id('user-prompt').fill('Continue <later.content>');
    await id('save-workflow').click();
    await expect.poll(() => id('save-error').textContent(), { timeout: 10_000 }).toMatch(/Not saved/);
    expect(await id('issue-Teller').textContent()).toMatch(/later/);
    await shot('save-error');
    await id('user-prompt').fill('Continue <start.input>');
    await id('save-workflow').click();
    await expect.poll(() => id('save-notice').textContent(), { timeout: 10_000 }).toBe('Saved.');
    expect(await id('issue-Teller').count()).toBe(0);
  });

  it('exports YAML, and imports Sim YAML with the report in plain words', async () => {
    const download = page.waitForEvent('download');
    await id('export-yaml').click();
    const file = await download;
    const text = await readFile((await file.path()) ?? '', 'utf8');
    expect(text).toMatch(/version: ['"]?1\.0/);
    expect(text).not.toContain(KEY);
    expect(await id('export-text').locator('pre').textContent()).toBe(text);

    const sim = [
      "version: '1.0'",
      'blocks:',
      '  start:',
      '    type: starter',
      '    name: Start',
      '    connections:',
      '      success: writer',
      '  writer:',
      '    type: agent',
      '    name: Writer',
      '    inputs:',
      '      userPrompt: "Write about <start.input>"',
      '      model: claude-3-5-haiku-latest',
      "      apiKey: '{{ANTHROPIC_API_KEY}}'",
      '    connections:',
      '      success: fetch',
      '  fetch:',
      '    type: api',
      '    name: Fetch Page',
      '    inputs:',
      '      url: https://example.com',
    ].join('\n');
    await id('import-file').setInputFiles({ name: 'sim.yaml', mimeType: 'text/yaml', buffer: Buffer.from(sim) });
    const report = id('import-report');
    await expect.poll(() => report.textContent(), { timeout: 10_000 }).toMatch(/Writer/);
    expect(await id('import-not-taken').textContent()).toMatch(/Fetch Page \(api\)/);
    expect(await id('import-models').textContent()).toMatch(/claude-3-5-haiku-latest.*Anthropic/);
    expect(await id('import-ignored').textContent()).toMatch(/apiKey/);
    await id('block-Writer').waitFor();
    await shot('import');
  });

  it('asks before unsaved changes are discarded', async () => {
    // The import is open and unsaved: opening another workflow asks first.
    await id('workflow-Story chain').locator('button').first().click();
    await id('discard-prompt').waitFor();
    expect(await id('discard-prompt').textContent()).toMatch(/unsaved changes.*open Story chain/);
    await id('discard-cancel').click();
    expect(await id('block-Writer').count()).toBe(1);
    await id('workflow-Story chain').locator('button').first().click();
    await id('discard-confirm').click();
    await id('block-Teller').waitFor();
    expect(await id('block-Writer').count()).toBe(0);
  });

  it('builds a condition whose branches lead to two responses; only the branch taken runs', async () => {
    await id('new-workflow').click();
    await id('workflow-name').fill('Yes or no');
    await id('add-condition').click();
    await id('branch-if').fill('<start.input> == "yes"');
    await dragConnection(id('handle-Start-success'), 'Condition');
    await id('add-response').click();
    await id('response-data').fill('said yes');
    await id('add-response').click();
    await id('response-data').fill('said no');
    await dragConnection(id('handle-Condition-if'), 'Response');
    await dragConnection(id('handle-Condition-else'), 'Response 2');
    await expect.poll(() => page.locator('.vue-flow__edge').count()).toBe(3);
    await id('workflow-input').fill('yes');
    await id('run-workflow').click();
    await expect.poll(runStatus, { timeout: 20_000 }).toMatch(/completed|failed/);
    await shot('condition');
    expect(await runStatus(), (await id('run-panel').textContent()) ?? '').toBe('completed');
    expect(await id('trace-Response').getAttribute('data-status')).toBe('completed');
    expect(await id('trace-Response 2').getAttribute('data-status')).toBe('skipped');
    expect(await id('trace-response').textContent()).toBe('said yes');
  });

  it('deletes a workflow from the list', async () => {
    await id('workflow-Story chain').getByTestId('delete-workflow').click();
    await id('workflow-Story chain').getByTestId('delete-workflow').click();
    await expect.poll(() => id('workflow-Story chain').count(), { timeout: 10_000 }).toBe(0);
    await shot('list');
  });
});
