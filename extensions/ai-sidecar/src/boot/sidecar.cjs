// Loaded with `node --require <this file>` by the sidecar's launch command only (the CLIs read
// stdin for themselves): everything preload.cjs does, then it starts reading the auth the runtime
// writes to stdin (one JSON line, then stdin is closed) on libuv's pool, so the read runs beside
// the loading of the sidecar's modules instead of after it. main.ts takes the text from
// `globalThis[Symbol.for('sim-ai.early-stdin')]`: a promise of stdin's text, or of undefined when it
// could not be read this way (a terminal, a non-blocking pipe), and then reads the stream itself.
//
// CommonJS on purpose: `--require` runs synchronously before the ESM loader starts.
'use strict';

require('./preload.cjs');

const { read } = require('node:fs');
const { isatty } = require('node:tty');

/** The runtime's auth is a few hundred bytes; anything longer is not its auth. */
const MAX_BYTES = 64 * 1024;

globalThis[Symbol.for('sim-ai.early-stdin')] = isatty(0)
  ? Promise.resolve(undefined)
  : new Promise((resolve) => {
      const chunks = [];
      let total = 0;
      const buffer = Buffer.alloc(4096);
      const next = () =>
        read(0, buffer, 0, buffer.length, null, (error, bytes) => {
          // EAGAIN (the parent made the pipe non-blocking) and the like: main.ts reads the stream.
          if (error) return resolve(total === 0 ? undefined : Buffer.concat(chunks).toString('utf8'));
          if (bytes === 0 || total + bytes > MAX_BYTES) return resolve(Buffer.concat(chunks).toString('utf8'));
          chunks.push(Buffer.from(buffer.subarray(0, bytes)));
          total += bytes;
          next();
        });
      next();
    });
