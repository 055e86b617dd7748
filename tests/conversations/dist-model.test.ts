/**
 * `npm run dist -- --model <file.gguf>`: the model lands in the portable folder's models folder, so
 * the app's first start there offers a conversation on it; a file that is not a GGUF model is
 * refused before anything is built.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { MODEL_FILE, startTestSidecar } from './helpers.js';

const DIST = path.resolve(__dirname, '../../extensions/ai-sidecar/scripts/dist.mjs');
let dir: string;
afterEach(async () => rm(dir, { recursive: true, force: true }));

it('refuses a --model that is not a GGUF file, before building anything', async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'sim-dist-model-'));
  const fake = path.join(dir, 'fake.gguf');
  await writeFile(fake, 'PK\u0003\u0004 not a model');
  const result = spawnSync(process.execPath, [DIST, '--skip-ui', '--model', fake], { encoding: 'utf8', timeout: 60_000 });
  expect(result.status).not.toBe(0);
  expect(result.stderr).toMatch(/fake\.gguf is not a GGUF model/);
  expect(result.stdout).not.toMatch(/bundling the sidecar/);
  const missing = spawnSync(process.execPath, [DIST, '--skip-ui', `--model=${path.join(dir, 'nope.gguf')}`], { encoding: 'utf8', timeout: 60_000 });
  expect(missing.stderr).toMatch(/no file at .*nope\.gguf/);
});

it('puts the model into data/models of the portable folder, where the first start finds it', async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'sim-dist-model-'));
  const { addModels, checkModel } = (await import(DIST)) as { addModels: (folder: string, sources: string[]) => string[]; checkModel: (file: string) => string };
  const folder = path.join(dir, 'sim-ai-desktop-linux_x64');
  await mkdir(folder, { recursive: true });
  const [copied] = addModels(folder, [checkModel(MODEL_FILE)]);
  expect(copied).toBe(path.join(folder, 'data', 'models', 'stories260K.gguf'));
  expect((await stat(copied ?? '')).size).toBe((await stat(MODEL_FILE)).size);

  const app = await startTestSidecar({ dataDir: path.join(folder, 'data') });
  try {
    expect(await app.call('first_launch_status', {})).toMatchObject({ localModels: ['stories260K.gguf'], suggested: { provider: 'local', model: 'stories260K.gguf' } });
  } finally {
    await app.close({ keepData: true });
  }
});
