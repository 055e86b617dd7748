// Loaded with `node --require <this file>` ahead of every entry point (the sidecar as Neutralino and
// the portable launchers start it, `npm run ask`, `npm run flow`), so that it runs before anything
// can start libuv's thread pool. The pool reads UV_THREADPOOL_SIZE once, when its first task is
// queued; on Node 20 the ESM loader (and tsx's loader) queue one while reading the entry module,
// so a line at the top of main.ts comes too late and the pool starts with 4 threads. On 2 vCPUs
// those idle-but-woken threads cost llama.cpp's decode about a third of its speed. Two leave one
// thread for file I/O while scrypt runs. A value set by the user wins.
//
// CommonJS on purpose: `--require` runs synchronously before the ESM loader starts.
'use strict';

const POOL_SIZE = '2';
process.env.UV_THREADPOOL_SIZE ??= POOL_SIZE;

// Node 22.1+ (the portable folder ships 24) keeps compiled bytecode of the bundle between starts.
// The cache lives beside this file (inside the app or portable folder, never in TMPDIR); on
// read-only media enabling it fails quietly and the app starts as without it.
const { enableCompileCache } = require('node:module');
if (typeof enableCompileCache === 'function' && process.env.NODE_COMPILE_CACHE === undefined) {
  try {
    enableCompileCache(require('node:path').join(__dirname, '.node-compile-cache'));
  } catch {
    // A cache is an optimisation only.
  }
}
