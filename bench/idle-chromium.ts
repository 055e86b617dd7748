/**
 * Idle memory in Chromium: the fallback of bench/launch.bench.ts part 2 when no real Neutralino
 * runtime is at hand (NEU_BIN unset). The shipped window is WebKitGTK, so these numbers only stand in
 * for it: they show what the app's page and sidecar keep beyond a trivial page and a bare Node
 * extension, both run the same way.
 *
 * Each round starts, in turn, the trivial page and the app under the stand-in runtime (which starts
 * the extension from the folder's neutralino.config.json, as the runtime would) with the page in a
 * fresh headless Debian Chromium, waits until the page is loaded and its extension connected, lets it
 * idle, and reads /proc of the page's renderer, the whole Chromium tree and the extension's Node
 * process. PSS counts shared pages in proportion to how many processes map them, so it moves with
 * whatever else runs on the machine; USS (pages only this process maps) is the steadier column.
 */
import { readFileSync, readlinkSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { closeAppWindow, launchChromium, startAppWindow, whenConnected } from '../tests/e2e/window.js';
import { nodeProcessOf } from '../tests/local/libuv-pool.js';
import { startNeutralinoStandIn, type StandIn } from '../tests/neutralino/runtime.js';
import { addMemory, descendantsOf, memoryOf, NO_MEMORY, parentOf, type Memory } from './proc.js';
import { fmt, median, table } from './stats.js';

/** How long a loaded page is left alone before measuring (as in the real-runtime part). */
const IDLE_MS = 6000;
const CHROMIUM_EXE = '/usr/lib/chromium/chromium';

/** One idle window: the page's renderer, the whole Chromium tree and the extension's Node process. */
interface IdleSample {
  readonly renderer: Memory;
  readonly chromium: Memory;
  readonly extension: Memory;
  readonly chromiumProcesses: number;
}

function isChromium(pid: number): boolean {
  try {
    return readlinkSync(`/proc/${pid}/exe`) === CHROMIUM_EXE;
  } catch {
    return false;
  }
}

/** Zygote children rewrite their command line into one space-separated string, so both separators count. */
function hasArgument(pid: number, argument: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split(/[\0 ]/).includes(argument);
  } catch {
    return false;
  }
}

/** The Chromium this process started (one at a time here): the Chromium whose parent is not Chromium, and its tree. */
function chromiumTree(): number[] {
  const browsers = descendantsOf(process.pid).filter((pid) => isChromium(pid) && !isChromium(parentOf(pid)));
  if (browsers.length !== 1 || browsers[0] === undefined) throw new Error(`expected one Chromium started by this benchmark, found ${browsers.length}`);
  return [browsers[0], ...descendantsOf(browsers[0])];
}

function cpuTicks(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return Number(fields[11]) + Number(fields[12]); // utime + stime
  } catch {
    return 0;
  }
}

/**
 * The renderer process that holds `page`. This Chromium keeps two more renderers beside a single tab:
 * the browser's own WebUI (the omnibox popup, marked --top-chrome-webui, busy for a while after start)
 * and a spare one for the next navigation. Nothing in a command line names the page, so the page is
 * made busy for a moment and, of the renderers that are not WebUI, the one whose CPU time grows is it.
 */
async function rendererOf(page: Page, tree: readonly number[]): Promise<number> {
  const renderers = tree.filter((pid) => hasArgument(pid, '--type=renderer') && !hasArgument(pid, '--top-chrome-webui'));
  const before = renderers.map(cpuTicks);
  await page.evaluate(() => {
    for (const start = performance.now(); performance.now() - start < 400; );
  });
  const grown = renderers.map((pid, i) => cpuTicks(pid) - (before[i] ?? 0));
  const busiest = grown.indexOf(Math.max(...grown));
  const renderer = renderers[busiest];
  if (renderer === undefined || (grown[busiest] ?? 0) <= 0) throw new Error(`no renderer of ${renderers.join(', ')} ran the page's work`);
  return renderer;
}

async function measureIdle(page: Page, runtime: StandIn): Promise<IdleSample> {
  const shell = runtime.extensionProcesses[0]?.pid;
  if (shell === undefined) throw new Error('the stand-in started no extension');
  const extension = nodeProcessOf(shell);
  const tree = chromiumTree();
  const renderer = await rendererOf(page, tree);
  await new Promise((r) => setTimeout(r, IDLE_MS));
  const live = chromiumTree(); // the same processes, unless Chromium started or ended one while idle
  return {
    renderer: memoryOf(renderer),
    chromium: live.map(memoryOf).reduce(addMemory, NO_MEMORY),
    extension: [extension, ...descendantsOf(extension)].map(memoryOf).reduce(addMemory, NO_MEMORY),
    chromiumProcesses: live.length,
  };
}

/** The app as the window tests start it: built UI, real sidecar, until the page shows it connected. */
async function idleApp(): Promise<IdleSample> {
  const window = await startAppWindow('sim-idle-chromium-');
  try {
    const page = await window.browser.newPage();
    await page.goto(window.runtime.url);
    await whenConnected(page);
    return await measureIdle(page, window.runtime);
  } finally {
    await closeAppWindow(window);
  }
}

/** The trivial page of `trivialDir` (see trivialApp() in launch.bench.ts), until its bare extension connected. */
async function idleTrivial(trivialDir: string): Promise<IdleSample> {
  const runtime = await startNeutralinoStandIn({ appDir: trivialDir });
  let browser: Browser | undefined;
  try {
    browser = await launchChromium();
    const page = await browser.newPage();
    await page.goto(runtime.url);
    await page.locator('input').waitFor();
    for (const started = Date.now(); !runtime.extensionOutput('bare').includes('bare extension ready'); ) {
      if (Date.now() - started > 20_000) throw new Error(`the bare extension did not connect: ${runtime.extensionOutput('bare')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return await measureIdle(page, runtime);
  } finally {
    await closeAppWindow(browser === undefined ? { runtime } : { runtime, browser });
  }
}

/** Measures `rounds` alternating rounds and prints the table: the trivial baseline, the app, ratios. */
export async function reportIdleInChromium(trivialDir: string, rounds: number): Promise<void> {
  const trivial: IdleSample[] = [];
  const app: IdleSample[] = [];
  for (let round = 0; round < rounds; round += 1) {
    trivial.push(await idleTrivial(trivialDir));
    app.push(await idleApp());
  }
  const parts: [string, (s: IdleSample) => Memory][] = [
    ['page renderer + extension Node', (s) => addMemory(s.renderer, s.extension)],
    ['whole Chromium tree + extension Node', (s) => addMemory(s.chromium, s.extension)],
    ['  page renderer alone', (s) => s.renderer],
    ['  extension Node alone', (s) => s.extension],
  ];
  const mib = (samples: IdleSample[], part: (s: IdleSample) => Memory, key: keyof Memory) => median(samples.map((s) => part(s)[key])) / 1024;
  console.log(`\nIdle memory, Chromium fallback (not the shipped WebKit; set NEU_BIN for the real runtime): headless Debian Chromium + stand-in runtime, ${rounds} alternating rounds (medians)`);
  console.log(table([
    ['processes', 'trivial PSS MiB', 'app PSS MiB', 'PSS ratio (target <= 1.10)', 'trivial USS MiB', 'app USS MiB', 'USS ratio'],
    ...parts.map(([name, part]) => [
      name,
      fmt(mib(trivial, part, 'pssKiB'), 1),
      fmt(mib(app, part, 'pssKiB'), 1),
      fmt(mib(app, part, 'pssKiB') / mib(trivial, part, 'pssKiB'), 3),
      fmt(mib(trivial, part, 'ussKiB'), 1),
      fmt(mib(app, part, 'ussKiB'), 1),
      fmt(mib(app, part, 'ussKiB') / mib(trivial, part, 'ussKiB'), 3),
    ]),
  ]));
  const perRound = (key: keyof Memory) => app.map((a, i) => fmt((a.renderer[key] + a.extension[key]) / ((trivial[i]?.renderer[key] ?? Number.NaN) + (trivial[i]?.extension[key] ?? Number.NaN)), 3)).join(' ');
  console.log(`Chromium processes: trivial ${trivial[0]?.chromiumProcesses ?? ''}, app ${app[0]?.chromiumProcesses ?? ''}; the trivial page's extension is bare Node with ws, the app's is the built sidecar`);
  console.log(`per round, page renderer + extension Node: PSS ${perRound('pssKiB')}; USS ${perRound('ussKiB')}`);
}
