/**
 * `npm start` on a machine without internet (this one): the runtime cannot be fetched, and the
 * first thing the user reads is the app's own instructions, not neu's stack trace.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '../..');
const binaryPresent = existsSync(path.join(ROOT, 'bin', 'neutralino-linux_x64'));

describe.skipIf(binaryPresent || process.platform !== 'linux')('npm start offline', () => {
  it('prints the instructions, with the reason in one line and no stack trace, and exits 1', () => {
    const run = spawnSync(process.execPath, [path.join(ROOT, 'extensions/ai-sidecar/scripts/start-app.mjs')], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    const output = `${run.stdout}${run.stderr}`;
    expect(run.status).toBe(1);
    expect(output).toMatch(/Could not download the Neutralino runtime( \(.+\))?\.\nThis machine may have no internet access\. What to do:/);
    expect(output).toContain(path.join(ROOT, 'bin'));
    expect(output).not.toMatch(/^\s+at |node:internal|triggerUncaughtException|\^$/m);
  });
});
