/**
 * Launch and idle memory, each against a baseline measured in the same run, in alternating rounds:
 *
 * 1. Sidecar launch, spawn to first reply, as the runtime starts it (through a shell, from the
 *    config's command) against bare Node of the same binary (spawn to its first output byte):
 *    the checkout on this machine's Node, and the portable folder on its own Node 24 with the module
 *    compile cache kept in the folder. Target: at most bare Node + 50 ms. For scale, the same
 *    measurement of a trivial extension on the same binary (reads the auth, connects with `ws`,
 *    answers every request with an empty result): what the runtime stand-in, the shell, the page's
 *    connection and `ws` cost before any sidecar code runs.
 * 2. Idle memory of the whole app (runtime, WebKit processes, sidecar; PSS) against a trivial page
 *    with a bare Node extension, in the real Neutralino runtime under Xvfb when NEU_BIN names one
 *    (otherwise the page and the sidecar in Chromium against the same trivial page, bench/idle-chromium.ts).
 *    Target: at most 1.10x. The app runs with the
 *    WebKit settings its launchers give it (scripts/webview-env.mjs); the trivial page runs as the
 *    runtime starts any page, and again with the app's settings, to show what is the app's own.
 * 3. Launch to a window that takes input, in the real runtime (NEU_BIN): runtime spawn until the page
 *    first shows an enabled text field (bench/input-probe.js, injected into both pages, reports it on
 *    the console), the app against the trivial page, on one Xvfb server. Target: at most 1.2x.
 *    The app's window shows its first screen from index.html; the probe also reports when the app
 *    itself has mounted over it, printed beside (not part of the target), so a slow app cannot hide.
 * 4. Launch with a long history: the checkout's sidecar, spawn to first reply, with a data folder of
 *    HISTORY conversations (default 1,000, 50 messages each, with their ledger rows), closed cleanly
 *    and after an unclean end (a writer killed, its WAL left), against the same sidecar on an empty
 *    data folder, in alternating rounds. A long history must not make every start slower.
 *
 *   npm run build && npm run bench:launch      (NEU_BIN=/path/to/neutralino-linux_x64 ROUNDS=5;
 *   PARTS=launch,idle,input,history picks parts, e.g. PARTS=input for 3 alone)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PageClient } from '../tests/neutralino/page-client.js';
import { startNeutralinoStandIn } from '../tests/neutralino/runtime.js';
import { ROOT } from './llama-tools.js';
import { withWebviewEnv } from '../extensions/ai-sidecar/scripts/webview-env.mjs';
import { addMemory, descendantsOf, memoryOf, NO_MEMORY } from './proc.js';
import { fmt, median, medianDifference, table } from './stats.js';
import { reportIdleInChromium } from './idle-chromium.js';
import { leaveUnclean, writeHistory } from './history-data.js';

const ROUNDS = Number(process.env.ROUNDS ?? 7);
const PARTS = new Set((process.env.PARTS ?? 'launch,idle,input,history').split(',').map((p) => p.trim()));

// ---------------------------------------------------------------------------------------------
// 1. Launch.

async function sidecarFirstReply(appDir: string, dataDir: string): Promise<number> {
  const started = performance.now();
  const runtime = await startNeutralinoStandIn({ appDir, env: { ...process.env, SIM_AI_DATA_DIR: dataDir } });
  const page = await PageClient.connect(runtime);
  // Like the client library: ask until the sidecar answers.
  let elapsed = Number.NaN;
  for (;;) {
    const reply = await Promise.race([page.request('hello', { protocolVersion: 1 }), new Promise<undefined>((r) => setTimeout(r, 2))]);
    if (reply?.ok) {
      elapsed = performance.now() - started;
      break;
    }
  }
  page.close();
  await runtime.close();
  await runtime.extensionProcesses[0]?.exited;
  return elapsed;
}

/** Bare Node of `binary`, started the way the runtime starts extensions: spawn to its first byte out. */
function bareNode(binary: string): Promise<number> {
  const started = performance.now();
  const child = spawn('/bin/sh', ['-c', `"${binary}" -e "process.stdout.write('.')"`], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve) => child.stdout.once('data', () => resolve(performance.now() - started)));
}

/**
 * A folder with a static page and one Node extension that reads the runtime's auth from stdin and
 * connects back with ws; `body` runs with the auth `a` and the socket `s`.
 */
async function extensionApp(o: { prefix: string; page: string; id: string; node: string; body: string }): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), o.prefix));
  await mkdir(path.join(dir, 'www'));
  await writeFile(path.join(dir, 'www', 'index.html'), o.page);
  const ws = JSON.stringify(path.join(ROOT, 'node_modules', 'ws'));
  await writeFile(
    path.join(dir, 'extension.cjs'),
    `let input = '';
process.stdin.on('data', (d) => (input += d));
process.stdin.on('end', () => {
  const a = JSON.parse(input.split('\\n')[0]);
  const W = require(${ws});
  const s = new W('ws://127.0.0.1:' + a.nlPort + '?extensionId=' + a.nlExtensionId + '&connectToken=' + a.nlConnectToken);
${o.body}
  s.on('close', () => process.exit(0));
});
`,
  );
  const config = JSON.parse(readFileSync(path.join(ROOT, 'neutralino.config.json'), 'utf8')) as Record<string, unknown>;
  config.documentRoot = '/www/';
  config.extensions = [{ id: o.id, command: `"${o.node}" "\${NL_PATH}/extension.cjs"` }];
  delete config.cli;
  await writeFile(path.join(dir, 'neutralino.config.json'), JSON.stringify(config, null, 2));
  return dir;
}

/** An app whose one extension, under the sidecar's id, is the least that can answer a request. */
function trivialExtensionApp(nodeBinary: string): Promise<string> {
  return extensionApp({
    prefix: 'sim-launch-floor-',
    page: '<!doctype html><title>floor</title>\n',
    id: 'ai.sidecar',
    node: nodeBinary,
    body: `  let n = 0;
  s.on('message', (raw) => {
    const m = JSON.parse(raw.toString());
    if (m.event !== 'sim.request') return;
    const reply = { event: 'sim.reply', data: { id: m.data.id, ok: true, result: {} } };
    s.send(JSON.stringify({ id: 'r' + (n += 1), method: 'app.broadcast', accessToken: a.nlToken, data: reply }));
  });`,
  });
}

const dataDir = await mkdtemp(path.join(os.tmpdir(), 'sim-launch-bench-'));

/** Part 1, in alternating rounds; the portable folder is built for it (and only for it). Resolves with its report. */
async function measureLaunch(): Promise<string> {
  const { dist } = (await import(path.join(ROOT, 'extensions/ai-sidecar/scripts/dist.mjs'))) as { dist: (o: { skipUi: boolean }) => Promise<{ outDir: string; nodeVersion: string }> };
  const portable = await dist({ skipUi: existsSync(path.join(ROOT, 'resources/dist/index.html')) });
  const portableNode = path.join(portable.outDir, 'node', 'node');
  const launch = { repo: [] as number[], repoBare: [] as number[], repoFloor: [] as number[], portable: [] as number[], portableBare: [] as number[], portableFloor: [] as number[] };
  const floorApps = { repo: await trivialExtensionApp(process.execPath), portable: await trivialExtensionApp(portableNode) };
  // One unmeasured start each: the first portable start writes the compile cache, as on a user's first launch.
  await sidecarFirstReply(ROOT, dataDir);
  await sidecarFirstReply(portable.outDir, dataDir);
  for (let round = 0; round < ROUNDS; round += 1) {
    launch.repoBare.push(await bareNode(process.execPath));
    launch.repoFloor.push(await sidecarFirstReply(floorApps.repo, dataDir));
    launch.repo.push(await sidecarFirstReply(ROOT, dataDir));
    launch.portableBare.push(await bareNode(portableNode));
    launch.portableFloor.push(await sidecarFirstReply(floorApps.portable, dataDir));
    launch.portable.push(await sidecarFirstReply(portable.outDir, dataDir));
  }
  for (const dir of Object.values(floorApps)) await rm(dir, { recursive: true, force: true });
  const cacheDir = path.join(portable.outDir, 'extensions', 'ai-sidecar', '.node-compile-cache');
  const cacheFiles = existsSync(cacheDir) ? readdirSync(cacheDir, { recursive: true }).length : 0;
  await rm(path.join(portable.outDir, 'data'), { recursive: true, force: true });
  return [
    `Sidecar launch, spawn → first reply, ${ROUNDS} alternating rounds (medians; the difference is per round, then the median)`,
    table([
      ['launch', 'sidecar ms', 'bare Node ms', 'sidecar − bare, ms (target <= 50)', 'ratio', 'trivial extension ms', 'trivial − bare, ms'],
      [`checkout, Node ${process.versions.node}`, fmt(median(launch.repo), 0), fmt(median(launch.repoBare), 0), fmt(medianDifference(launch.repo, launch.repoBare), 0), fmt(median(launch.repo) / median(launch.repoBare), 2), fmt(median(launch.repoFloor), 0), fmt(medianDifference(launch.repoFloor, launch.repoBare), 0)],
      [`portable folder, Node ${portable.nodeVersion} + compile cache`, fmt(median(launch.portable), 0), fmt(median(launch.portableBare), 0), fmt(medianDifference(launch.portable, launch.portableBare), 0), fmt(median(launch.portable) / median(launch.portableBare), 2), fmt(median(launch.portableFloor), 0), fmt(medianDifference(launch.portableFloor, launch.portableBare), 0)],
    ]),
    `compile cache in the portable folder: ${cacheFiles} entries under extensions/ai-sidecar/.node-compile-cache`,
  ].join('\n');
}
const launchReport = PARTS.has('launch') ? await measureLaunch() : undefined;

/** Part 4: the same start with a long history, clean and after an unclean end, against an empty folder. */
async function measureHistory(): Promise<string> {
  const conversations = Number(process.env.HISTORY ?? 1000);
  const [empty, history] = [await mkdtemp(path.join(os.tmpdir(), 'sim-launch-empty-')), await mkdtemp(path.join(os.tmpdir(), 'sim-launch-history-'))];
  const bytes = writeHistory(history, conversations);
  const times = { empty: [] as number[], clean: [] as number[], unclean: [] as number[] };
  await sidecarFirstReply(ROOT, empty);
  await sidecarFirstReply(ROOT, history); // the first start after writing records its full check
  for (let round = 0; round < ROUNDS; round += 1) {
    times.empty.push(await sidecarFirstReply(ROOT, empty));
    times.clean.push(await sidecarFirstReply(ROOT, history));
    await leaveUnclean(history);
    times.unclean.push(await sidecarFirstReply(ROOT, history));
  }
  for (const dir of [empty, history]) await rm(dir, { recursive: true, force: true });
  return [
    `Sidecar launch with a long history (${conversations} conversations of 50 messages, database ${fmt(bytes / 2 ** 20, 0)} MiB), spawn → first reply, ${ROUNDS} alternating rounds`,
    table([
      ['data folder', 'sidecar ms', 'over the empty folder, ms'],
      ['empty', fmt(median(times.empty), 0), '0'],
      ['long history, closed cleanly', fmt(median(times.clean), 0), fmt(medianDifference(times.clean, times.empty), 0)],
      ['long history, after an unclean end', fmt(median(times.unclean), 0), fmt(medianDifference(times.unclean, times.empty), 0)],
    ]),
  ].join('\n');
}
const historyReport = PARTS.has('history') ? await measureHistory() : undefined;

// ---------------------------------------------------------------------------------------------
// 2. Idle memory in the real runtime.

interface TreeMemory {
  readonly pssKiB: number;
  readonly processes: number;
}

/** Starts the real runtime on `appDir` under Xvfb, waits for `readyText` from the extension, idles, measures. */
async function idleTree(binary: string, appDir: string, env: NodeJS.ProcessEnv, readyText: string): Promise<TreeMemory> {
  const xvfb: ChildProcess = spawn('xvfb-run', ['-a', binary, '--load-dir-res', `--path=${appDir}`, '--enable-extensions=true'], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  const ready = new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes(readyText)) resolve();
    };
    xvfb.stdout?.on('data', onData);
    xvfb.stderr?.on('data', onData);
    setTimeout(() => reject(new Error(`no "${readyText}" within 60 s:\n${output}`)), 60_000).unref();
  });
  try {
    await ready;
    await new Promise((r) => setTimeout(r, 6000)); // idle: page loaded, nothing happening
    const runtime = descendantsOf(xvfb.pid ?? 0).find((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith(binary);
      } catch {
        return false;
      }
    });
    if (runtime === undefined) throw new Error('the runtime process was not found');
    const tree = [runtime, ...descendantsOf(runtime)];
    return { pssKiB: tree.map(memoryOf).reduce(addMemory, NO_MEMORY).pssKiB, processes: tree.length };
  } finally {
    if (xvfb.pid !== undefined) process.kill(-xvfb.pid, 'SIGTERM');
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** A trivial app: one static page with an input, and a bare Node extension that connects back. */
function trivialApp(): Promise<string> {
  return extensionApp({
    prefix: 'sim-trivial-app-',
    page: '<!doctype html><html><head><meta charset="utf-8"><title>trivial</title></head><body><p>trivial page</p><input></body></html>\n',
    id: 'bare',
    node: 'node',
    body: "  s.on('open', () => console.log('bare extension ready'));",
  });
}

const NEU_BIN = process.env.NEU_BIN;
const idle = { app: [] as TreeMemory[], trivial: [] as TreeMemory[], trivialSameEnv: [] as TreeMemory[] };
if (NEU_BIN !== undefined && PARTS.has('idle')) {
  const trivial = await trivialApp();
  const env: NodeJS.ProcessEnv = { ...process.env, SIM_AI_DATA_DIR: dataDir };
  for (const name of Object.keys(withWebviewEnv({}))) delete env[name];
  const appEnv = withWebviewEnv(env);
  const idleRounds = Math.max(3, Math.ceil(ROUNDS / 2));
  for (let round = 0; round < idleRounds; round += 1) {
    idle.trivial.push(await idleTree(NEU_BIN, trivial, env, 'bare extension ready'));
    idle.app.push(await idleTree(NEU_BIN, ROOT, appEnv, 'sidecar ready'));
    idle.trivialSameEnv.push(await idleTree(NEU_BIN, trivial, appEnv, 'bare extension ready'));
  }
  await rm(trivial, { recursive: true, force: true });
}
// ---------------------------------------------------------------------------------------------
// 3. Launch to a window that takes input, in the real runtime.

/** One Xvfb server for all launch rounds, so its own start is in neither measurement. */
async function startXvfb(): Promise<{ display: string; stop: () => void }> {
  const server = spawn('Xvfb', ['-displayfd', '1', '-screen', '0', '1280x800x24', '-nolisten', 'tcp'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const display = await new Promise<string>((resolve, reject) => {
    server.stdout.once('data', (chunk: Buffer) => resolve(`:${chunk.toString().trim()}`));
    server.once('exit', () => reject(new Error('Xvfb did not start')));
  });
  return { display, stop: () => server.kill() };
}

/**
 * Runtime spawn until the page's probe says it shows a field that takes input, and with `untilApp`
 * also until the app itself has mounted (over the first screen index.html brings).
 */
async function launchToInput(binary: string, appDir: string, env: NodeJS.ProcessEnv, probe: string, untilApp = false): Promise<{ input: number; app: number }> {
  const started = performance.now();
  const runtime = spawn(binary, ['--load-dir-res', `--path=${appDir}`, '--enable-extensions=true', '--window-enable-inspector=true', `--window-inject-script=${probe}`], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  let input = Number.NaN;
  try {
    return await new Promise<{ input: number; app: number }>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (Number.isNaN(input) && output.includes('sim-bench: takes input')) input = performance.now() - started;
        if (!Number.isNaN(input) && (!untilApp || output.includes('sim-bench: app mounted'))) resolve({ input, app: untilApp ? performance.now() - started : Number.NaN });
      };
      runtime.stdout?.on('data', onData);
      runtime.stderr?.on('data', onData);
      setTimeout(() => reject(new Error(`no input field within 30 s:\n${output}`)), 30_000).unref();
    });
  } finally {
    if (runtime.pid !== undefined) process.kill(-runtime.pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 500));
  }
}

const toInput = { app: [] as number[], trivial: [] as number[], appMounted: [] as number[] };
if (NEU_BIN !== undefined && PARTS.has('input')) {
  const trivial = await trivialApp();
  await mkdir(path.join(trivial, 'bench'));
  await writeFile(path.join(trivial, 'bench', 'input-probe.js'), readFileSync(path.join(ROOT, 'bench', 'input-probe.js')));
  const xvfb = await startXvfb();
  const env: NodeJS.ProcessEnv = { ...process.env, SIM_AI_DATA_DIR: dataDir, DISPLAY: xvfb.display };
  for (const name of Object.keys(withWebviewEnv({}))) delete env[name];
  try {
    await launchToInput(NEU_BIN, trivial, env, '/bench/input-probe.js'); // unmeasured: disk caches warm for both
    await launchToInput(NEU_BIN, ROOT, withWebviewEnv(env), '/bench/input-probe.js');
    for (let round = 0; round < ROUNDS; round += 1) {
      toInput.trivial.push((await launchToInput(NEU_BIN, trivial, env, '/bench/input-probe.js')).input);
      const app = await launchToInput(NEU_BIN, ROOT, withWebviewEnv(env), '/bench/input-probe.js', true);
      toInput.app.push(app.input);
      toInput.appMounted.push(app.app);
    }
  } finally {
    xvfb.stop();
    await rm(trivial, { recursive: true, force: true });
  }
}

await rm(dataDir, { recursive: true, force: true });

// ---------------------------------------------------------------------------------------------
// Report.

console.log(`\nmachine: ${os.cpus().length} vCPUs, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} (shared with other work)`);
if (launchReport !== undefined) console.log(launchReport);
if (historyReport !== undefined) console.log(`\n${historyReport}`);

if (NEU_BIN === undefined && PARTS.has('idle')) {
  // No real runtime: the page and the sidecar in Chromium against the same trivial page (bench/idle-chromium.ts).
  const trivial = await trivialApp();
  await reportIdleInChromium(trivial, Math.max(3, Math.ceil(ROUNDS / 2)));
  await rm(trivial, { recursive: true, force: true });
} else if (PARTS.has('idle')) {
  const pss = (xs: TreeMemory[]) => median(xs.map((x) => x.pssKiB)) / 1024;
  console.log(`\nIdle memory, real runtime under Xvfb, whole process tree (PSS), ${idle.app.length} alternating rounds`);
  console.log(table([
    ['tree', 'PSS MiB (median)', 'processes', 'ratio (target <= 1.10)'],
    ['trivial page + bare Node extension', fmt(pss(idle.trivial), 1), String(idle.trivial[0]?.processes ?? ''), '1.00'],
    ['Sim AI Desktop, as its launchers start it', fmt(pss(idle.app), 1), String(idle.app[0]?.processes ?? ''), fmt(pss(idle.app) / pss(idle.trivial), 3)],
    ['trivial page with the app\'s WebKit settings', fmt(pss(idle.trivialSameEnv), 1), String(idle.trivialSameEnv[0]?.processes ?? ''), `app to it: ${fmt(pss(idle.app) / pss(idle.trivialSameEnv), 3)}`],
  ]));
  console.log(`WebKit settings from the launchers: ${JSON.stringify(withWebviewEnv({}))}`);
  console.log(`per round: ${idle.app.map((a, i) => fmt(a.pssKiB / (idle.trivial[i]?.pssKiB ?? Number.NaN), 3)).join(' ')}`);
}

if (NEU_BIN !== undefined && PARTS.has('input')) {
  console.log(`\nLaunch to a window that takes input, real runtime on Xvfb, ${ROUNDS} alternating rounds (runtime spawn → first enabled text field shown)`);
  console.log(table([
    ['page', 'ms (median)', 'per round', 'ratio (target <= 1.2)'],
    ['trivial page + bare Node extension', fmt(median(toInput.trivial), 0), toInput.trivial.map((t) => fmt(t, 0)).join(' '), '1.00'],
    ['Sim AI Desktop, as its launchers start it', fmt(median(toInput.app), 0), toInput.app.map((t) => fmt(t, 0)).join(' '), fmt(median(toInput.app.map((t, i) => t / (toInput.trivial[i] ?? Number.NaN))), 3)],
    ['  … the app mounted (over the first screen)', fmt(median(toInput.appMounted), 0), toInput.appMounted.map((t) => fmt(t, 0)).join(' '), fmt(median(toInput.appMounted.map((t, i) => t / (toInput.trivial[i] ?? Number.NaN))), 3)],
  ]));
}
