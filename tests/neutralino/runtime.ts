/**
 * A stand-in for the Neutralino runtime (6.9) as ../shared/neutralino-protocol.md describes it, so
 * tests drive the real UI and the real sidecar. Test code only: the product never imports it.
 *
 * Implemented: config reading; static files with the globals script (one-time token); the WebSocket
 * endpoint with Host/connect-token/extension-id checks; extensions spawned through a shell with the
 * auth JSON on stdin; native calls with the token and allow/block-list checks exactly as the real
 * runtime's auth/permission.cpp makes them (`module.*` allows a whole module, anything else must be
 * named; a refused call gets `NE_RT_NATPRME` "Missing permission to execute the native method: <m>");
 * the methods `app.broadcast`, `events.broadcast`, `extensions.getStats|dispatch|broadcast`,
 * `app.exit`, `app.getConfig`, `debug.log`, `os.showOpenDialog` (answered from `answerOpenDialog`, as a
 * person picking files would), and `NE_RT_NATNTIM` for a name the runtime does not
 * have; connect/disconnect events; no reply to malformed calls; the 32 MB cap;
 * a second connection with the same extension id replacing the first. Exit closes sockets and never
 * kills extensions (they must leave by themselves).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';

export interface StandInOptions {
  /** Folder holding neutralino.config.json; `${NL_PATH}` in extension commands becomes this. */
  readonly appDir: string;
  /** Overrides the config's documentRoot (absolute path). */
  readonly documentRoot?: string;
  /** Environment for spawned extensions. Default: this process's. */
  readonly env?: NodeJS.ProcessEnv;
  /** Echo extension output to this process's stderr. Default false. */
  readonly echoExtensionOutput?: boolean;
  /**
   * Bundle mode, as the runtime runs without `--load-dir-res`: the config and every served file come
   * from `<appDir>/resources.neu`, looked up in its file tree (nothing outside it can be named).
   * Default: on when the folder has a resources.neu and no neutralino.config.json (a portable folder).
   */
  readonly bundle?: boolean;
}

/** What `os.showOpenDialog` was asked: the title and options the page passed. */
export interface OpenDialogRequest {
  readonly title?: string;
  readonly filters?: readonly { name: string; extensions: string[] }[];
  readonly multiSelections?: boolean;
}

interface ExtensionSpec {
  readonly id: string;
  readonly command?: string;
  readonly commandLinux?: string;
}

interface Config {
  readonly applicationId?: string;
  readonly version?: string;
  readonly documentRoot?: string;
  readonly url?: string;
  readonly enableExtensions?: boolean;
  readonly enableNativeAPI?: boolean;
  readonly tokenSecurity?: string;
  readonly nativeAllowList?: readonly string[];
  readonly nativeBlockList?: readonly string[];
  readonly globalVariables?: Readonly<Record<string, unknown>>;
  readonly extensions?: readonly ExtensionSpec[];
}

export interface ExtensionProcess {
  readonly id: string;
  readonly pid: number;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  output: string;
}

export interface NativeCall {
  readonly origin: 'app' | 'extension';
  readonly method: string;
  readonly at: number;
}

export interface StandIn {
  readonly url: string;
  readonly port: number;
  readonly token: string;
  readonly connectToken: string;
  readonly extensionProcesses: readonly ExtensionProcess[];
  readonly nativeCallLog: NativeCall[];
  /** Resolves when the app exits (`app.exit` or `close()`), with performance.now() of the moment. */
  readonly exited: Promise<number>;
  /** The code the page passed to `app.exit`, once it has (the real runtime exits the process with it). */
  exitCode(): number | undefined;
  appClientCount(): number;
  extensionOutput(id: string): string;
  /**
   * The files the next `os.showOpenDialog` returns, as if a person picked them (an empty list is a
   * cancelled dialog, which is also the answer when nothing was set). Used once, then cleared.
   */
  answerOpenDialog(paths: readonly string[]): void;
  /** Every open dialog the page asked for, in order. */
  readonly openDialogRequests: OpenDialogRequest[];
  /** Like closing the window: sockets and server close; extensions are not killed. */
  close(): Promise<number>;
  /** Test cleanup only: kill any extension that failed to leave. */
  killAll(): void;
}

const MAX_MESSAGE = 32_000_000;
const hexToken = () => randomBytes(24).toString('hex');

export async function startNeutralinoStandIn(options: StandInOptions): Promise<StandIn> {
  const bundlePath = path.join(options.appDir, 'resources.neu');
  const bundle = (options.bundle ?? (existsSync(bundlePath) && !existsSync(path.join(options.appDir, 'neutralino.config.json')))) ? readBundle(bundlePath) : undefined;
  const configText = bundle ? bundle.read('/neutralino.config.json')?.toString('utf8') : readFileSync(path.join(options.appDir, 'neutralino.config.json'), 'utf8');
  if (configText === undefined) throw new Error('resources.neu has no neutralino.config.json');
  const config = JSON.parse(configText) as Config;
  const connectToken = hexToken();
  const token = `${hexToken()}.${connectToken}`;
  const root = options.documentRoot ?? path.join(options.appDir, config.documentRoot ?? '/resources/');
  const extensionIds = new Set((config.extensions ?? []).map((e) => e.id));
  const apps = new Set<WebSocket>();
  const extensions = new Map<string, WebSocket>();
  const processes: ExtensionProcess[] = [];
  const nativeCallLog: NativeCall[] = [];
  let tokenHandedOut = false;
  let openDialogAnswer: readonly string[] = [];
  const openDialogRequests: OpenDialogRequest[] = [];
  let exitResolve!: (at: number) => void;
  const exited = new Promise<number>((resolve) => (exitResolve = resolve));
  let exitCode: number | undefined;

  const server = http.createServer((req, res) => serveFile(req, res));
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  function globals(): string {
    const handOut = config.tokenSecurity !== 'one-time' || !tokenHandedOut;
    tokenHandedOut = true;
    const values: Record<string, unknown> = {
      NL_OS: 'Linux', NL_ARCH: 'x64', NL_VERSION: '6.9.0', NL_COMMIT: 'standin', NL_APPID: config.applicationId ?? 'js.neutralino.app',
      NL_APPVERSION: config.version ?? '1.0.0', NL_PORT: port, NL_MODE: 'window', NL_TOKEN: handOut ? token : '', NL_CWD: options.appDir,
      NL_ARGS: [], NL_PATH: options.appDir, NL_DATAPATH: options.appDir, NL_PID: process.pid, NL_RESMODE: bundle ? 'bundle' : 'directory',
      NL_EXTENABLED: config.enableExtensions === true, NL_CMETHODS: [], NL_WSAVSTLOADED: false, NL_CINJECTED: false,
    };
    for (const [key, value] of Object.entries(config.globalVariables ?? {})) values[`NL_${key}`] = value;
    return Object.entries(values).map(([k, v]) => `var ${k} = ${JSON.stringify(v)};`).join('\n') + '\n';
  }

  function serveFile(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    if (url.pathname === '/__neutralino_globals.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(globals());
      return;
    }
    const relative = decodeURIComponent(url.pathname === '/' ? '/index.html' : url.pathname);
    if (bundle) {
      const body = bundle.read(`${config.documentRoot ?? '/resources/'}${relative}`);
      if (body === undefined) return void res.writeHead(404).end('Not found');
      const prefix = relative.endsWith('neutralino.js') ? globals() : '';
      res.writeHead(200, { 'content-type': contentType(relative) }).end(prefix === '' ? body : Buffer.concat([Buffer.from(prefix), body]));
      return;
    }
    const file = path.join(root, path.normalize(relative));
    if (!file.startsWith(path.resolve(root))) return void res.writeHead(403).end();
    try {
      if (!statSync(file).isFile()) throw new Error('not a file');
      const body = readFileSync(file);
      const prefix = file.endsWith('neutralino.js') ? globals() : '';
      res.writeHead(200, { 'content-type': contentType(file) }).end(prefix === '' ? body : Buffer.concat([Buffer.from(prefix), body]));
    } catch {
      res.writeHead(404).end('Not found');
    }
  }

  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const host = (req.headers.host ?? '').replace(/:\d+$/, '');
    const extensionId = url.searchParams.get('extensionId');
    const refuse = host !== '127.0.0.1' && host !== 'localhost'
      || url.searchParams.get('connectToken') !== connectToken
      || (extensionId !== null && !extensionIds.has(extensionId));
    if (refuse) {
      // websocketpp answers a refused validation with 400 (the real runtime sets no other status).
      socket.end('HTTP/1.1 400 Bad Request\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => (extensionId === null ? onApp(ws) : onExtension(ws, extensionId)));
  });

  function broadcastEvent(targets: Iterable<WebSocket>, event: string, data: unknown): void {
    const text = JSON.stringify({ event, data });
    for (const ws of targets) if (ws.readyState === ws.OPEN) ws.send(text);
  }
  const everyone = (): WebSocket[] => [...apps, ...extensions.values()];

  function onApp(ws: WebSocket): void {
    apps.add(ws);
    broadcastEvent(everyone(), 'clientConnect', apps.size + extensions.size);
    broadcastEvent(everyone(), 'windowFocus', null);
    broadcastEvent(everyone(), 'appClientConnect', apps.size);
    ws.on('message', (raw) => handleNative(ws, 'app', raw.toString()));
    ws.on('close', () => {
      apps.delete(ws);
      broadcastEvent(everyone(), 'appClientDisconnect', apps.size);
      broadcastEvent(everyone(), 'clientDisconnect', apps.size + extensions.size);
    });
  }

  function onExtension(ws: WebSocket, id: string): void {
    extensions.get(id)?.close();
    extensions.set(id, ws);
    broadcastEvent(everyone(), 'extClientConnect', id);
    ws.on('message', (raw) => handleNative(ws, 'extension', raw.toString()));
    ws.on('close', () => {
      if (extensions.get(id) !== ws) return;
      extensions.delete(id);
      broadcastEvent(everyone(), 'extClientDisconnect', id);
    });
  }

  /** As permission::hasMethodAccess: a block list, if present, wins; else an allow list; else anything. */
  function permitted(method: string): boolean {
    if (config.nativeBlockList !== undefined) return !listed(config.nativeBlockList, method);
    if (config.nativeAllowList !== undefined) return listed(config.nativeAllowList, method);
    return true;
  }

  function handleNative(ws: WebSocket, origin: 'app' | 'extension', text: string): void {
    if (text.length > MAX_MESSAGE) return;
    let message: { id?: unknown; method?: unknown; accessToken?: unknown; data?: unknown };
    try {
      message = JSON.parse(text) as typeof message;
    } catch {
      return;
    }
    const { id, method, accessToken, data } = message;
    if (typeof id !== 'string' || typeof method !== 'string' || typeof accessToken !== 'string') return;
    nativeCallLog.push({ origin, method, at: performance.now() });
    const reply = (payload: unknown): void => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ id, method, data: payload }));
    };
    const fail = (code: string, msg: string): void => reply({ error: { code, message: msg } });
    if (accessToken !== token) return fail('NE_RT_INVTOKN', 'Invalid or expired NL_TOKEN value from client');
    if (config.enableNativeAPI === false) return fail('NE_RT_APIPRME', 'Missing permission to access Native API');
    if (!permitted(method)) return fail('NE_RT_NATPRME', `Missing permission to execute the native method: ${method}`);
    const result = runNative(method, (data ?? {}) as Record<string, unknown>);
    if ('error' in result) return fail(result.error.code, result.error.message);
    reply(result.value === undefined ? { success: true } : { returnValue: result.value, success: true });
  }

  type NativeResult = { value?: unknown } | { error: { code: string; message: string } };

  function runNative(method: string, data: Record<string, unknown>): NativeResult {
    switch (method) {
      case 'app.broadcast':
        broadcastEvent(apps, String(data.event), data.data);
        return {};
      case 'events.broadcast':
        broadcastEvent(everyone(), String(data.event), data.data);
        return {};
      case 'extensions.broadcast':
        broadcastEvent(extensions.values(), String(data.event), data.data);
        return {};
      case 'extensions.getStats':
        return { value: { loaded: [...extensionIds], connected: [...extensions.keys()] } };
      case 'extensions.dispatch': {
        const target = String(data.extensionId);
        if (!extensionIds.has(target)) return { error: { code: 'NE_EX_EXTNOTL', message: `${target} is not loaded` } };
        const ws = extensions.get(target);
        if (ws === undefined) return { error: { code: 'NE_EX_EXTNOTC', message: `${target} is not connected` } };
        ws.send(JSON.stringify({ event: data.event, data: data.data }));
        return {};
      }
      case 'app.exit':
        exitCode = typeof data.code === 'number' ? data.code : 0;
        setImmediate(() => void close());
        return {};
      case 'app.getConfig':
        return { value: config };
      case 'debug.log':
        return {};
      case 'os.showOpenDialog': {
        // The real runtime blocks until the person picks; here the test has picked already.
        openDialogRequests.push(data as OpenDialogRequest);
        const picked = openDialogAnswer;
        openDialogAnswer = [];
        return { value: [...picked] };
      }
      default:
        if (!KNOWN_METHODS.has(method)) return { error: { code: 'NE_RT_NATNTIM', message: `${method} is not implemented in the Neutralinojs server` } };
        return { error: { code: 'NE_RT_NATRTNF', message: `${method} is not supported by the test stand-in` } };
    }
  }

  function spawnExtensions(): void {
    if (config.enableExtensions !== true) return;
    for (const spec of config.extensions ?? []) {
      const command = (spec.commandLinux ?? spec.command ?? '').replaceAll('${NL_PATH}', options.appDir);
      const child: ChildProcess = spawn('/bin/sh', ['-c', command], { cwd: options.appDir, env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
      const record: ExtensionProcess = {
        id: spec.id,
        pid: child.pid ?? -1,
        output: '',
        exited: new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal, at: performance.now() }))),
      };
      const relay = (chunk: Buffer) => {
        record.output += chunk.toString();
        if (options.echoExtensionOutput) process.stderr.write(chunk);
      };
      child.stdout?.on('data', relay);
      child.stderr?.on('data', relay);
      child.stdin?.end(`${JSON.stringify({ nlPort: String(port), nlToken: token, nlConnectToken: connectToken, nlExtensionId: spec.id })}\n`);
      processes.push(record);
    }
  }

  let closing: Promise<number> | undefined;
  function close(): Promise<number> {
    closing ??= new Promise<number>((resolve) => {
      const at = performance.now();
      for (const ws of everyone()) ws.terminate();
      wss.close();
      server.close(() => resolve(at));
      server.closeAllConnections();
      exitResolve(at);
    });
    return closing;
  }

  spawnExtensions();
  return {
    url: `http://127.0.0.1:${port}${config.url ?? '/'}`,
    port,
    token,
    connectToken,
    extensionProcesses: processes,
    nativeCallLog,
    exited,
    exitCode: () => exitCode,
    appClientCount: () => apps.size,
    extensionOutput: (id) => processes.filter((p) => p.id === id).map((p) => p.output).join(''),
    answerOpenDialog: (paths) => void (openDialogAnswer = paths),
    openDialogRequests,
    close,
    killAll: () => {
      for (const p of processes) {
        try {
          process.kill(-p.pid, 'SIGKILL');
        } catch {
          try {
            process.kill(p.pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
      }
    },
  };
}

/** `module.*` entries name a module (the part before the first dot); others name one method exactly. */
function listed(list: readonly string[], method: string): boolean {
  const module = method.split('.')[0] ?? method;
  return list.some((entry) => (/^.*\.\*$/.test(entry) ? entry.split('.')[0] === module : entry === method));
}

/** A sample of the real runtime's method map (server/router.cpp), enough to tell "not implemented" apart. */
const KNOWN_METHODS = new Set([
  'app.exit', 'app.killProcess', 'app.getConfig', 'app.broadcast', 'app.readProcessInput', 'app.writeProcessOutput', 'app.writeProcessError',
  'window.setTitle', 'window.getTitle', 'window.maximize', 'window.minimize', 'window.show', 'window.hide', 'window.focus', 'window.move',
  'window.setSize', 'window.getSize', 'window.snapshot', 'window.print', 'window.center', 'window.setIcon', 'window.setAlwaysOnTop',
  'filesystem.readFile', 'filesystem.readBinaryFile', 'filesystem.writeFile', 'filesystem.writeBinaryFile', 'filesystem.remove',
  'filesystem.readDirectory', 'filesystem.copy', 'filesystem.move', 'filesystem.getStats', 'os.execCommand', 'os.spawnProcess',
  'os.open', 'os.getEnv', 'os.getEnvs', 'os.showMessageBox', 'os.showOpenDialog', 'os.showSaveDialog', 'os.getPath', 'storage.setData',
  'storage.getData', 'computer.getMemoryInfo', 'clipboard.readText', 'clipboard.writeText', 'events.broadcast', 'extensions.dispatch',
  'extensions.broadcast', 'extensions.getStats', 'resources.getFiles', 'resources.readFile', 'server.mount', 'net.request', 'debug.log',
]);

interface AsarNode {
  files?: Record<string, AsarNode>;
  size?: number;
  offset?: string;
}

/**
 * Reads an asar `resources.neu` as resources.cpp does: the header's JSON at byte 16, its length from
 * the uint32 at byte 4 minus 8; a path is walked segment by segment through `files`, so `..` or a
 * decoded `%2f` names nothing; only a file entry (with size and offset) is served.
 */
function readBundle(file: string): { read(name: string): Buffer | undefined } {
  const archive = readFileSync(file);
  const headerSize = archive.readUInt32LE(4) - 8;
  const tree = JSON.parse(archive.subarray(16, 16 + headerSize).toString('utf8').replace(/\0+$/, '')) as AsarNode;
  const base = headerSize + 16;
  return {
    read(name) {
      let node: AsarNode | undefined = tree;
      for (const segment of name.split('/')) {
        if (segment === '') continue;
        node = node?.files !== undefined && Object.hasOwn(node.files, segment) ? node.files[segment] : undefined;
        if (node === undefined) return undefined;
      }
      if (node?.size === undefined || node.offset === undefined) return undefined;
      const start = base + Number(node.offset);
      return archive.subarray(start, start + node.size);
    },
  };
}

function contentType(file: string): string {
  const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.png': 'image/png', '.json': 'application/json', '.ico': 'image/x-icon' };
  return types[path.extname(file)] ?? 'application/octet-stream';
}
