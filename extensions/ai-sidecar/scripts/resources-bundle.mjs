// The runtime's bundle mode: `resources.neu`, the asar archive `neu build` makes (via @electron/asar,
// the same library), holding neutralino.config.json and the built UI. In this mode the runtime looks
// every request up in the archive's file tree, so `..%2f` and directory requests find nothing. In
// directory mode (`--load-dir-res`, or a missing resources.neu, which the runtime silently falls back
// to) its file server decodes `..%2f` and serves any file the user can read: only `npm run dev` uses it.
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import asar from '@electron/asar';

export const RESOURCES_FILE = 'resources.neu';

/**
 * Writes `<out>`: `config` as /neutralino.config.json, and the folder `uiDir` at `config.cli.resourcesPath`
 * (which must equal `config.documentRoot`, where the runtime serves the UI from).
 */
export async function writeResourcesBundle({ config, uiDir, out }) {
  const resourcesPath = config.cli?.resourcesPath ?? config.documentRoot;
  if (resourcesPath !== config.documentRoot) throw new Error(`cli.resourcesPath (${resourcesPath}) must equal documentRoot (${config.documentRoot})`);
  if (!existsSync(path.join(uiDir, 'index.html'))) throw new Error(`${uiDir} has no index.html: build the UI first (npm run build:ui)`);
  const staging = mkdtempSync(path.join(os.tmpdir(), 'sim-resources-'));
  try {
    cpSync(uiDir, path.join(staging, ...resourcesPath.split('/').filter(Boolean)), { recursive: true });
    writeFileSync(path.join(staging, 'neutralino.config.json'), `${JSON.stringify(config, null, 2)}\n`);
    rmSync(out, { force: true });
    await asar.createPackage(staging, out);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return out;
}
