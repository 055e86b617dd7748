/**
 * Where the app keeps its data. In order: the `SIM_AI_DATA_DIR` environment variable; a `portable`
 * marker file beside the app → `<app>/data` (a USB stick carries everything, nothing is written
 * elsewhere); otherwise the OS's per-user data folder.
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const DATA_DIR_ENV = 'SIM_AI_DATA_DIR';
export const PORTABLE_MARKER = 'portable';
const APP_FOLDER = 'sim-ai-desktop';

export interface DataLocation {
  readonly dataDir: string;
  readonly portable: boolean;
  readonly source: 'env' | 'portable' | 'user';
}

export interface PathInputs {
  /** The app's folder (Neutralino's NL_PATH); the portable marker is looked for here. */
  readonly appDir: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly platform?: NodeJS.Platform;
  readonly home?: string;
}

export function resolveDataLocation({ appDir, env = process.env, platform = process.platform, home = os.homedir() }: PathInputs): DataLocation {
  const override = env[DATA_DIR_ENV]?.trim();
  if (override) return { dataDir: path.resolve(override), portable: false, source: 'env' };
  if (existsSync(path.join(appDir, PORTABLE_MARKER))) return { dataDir: path.join(appDir, 'data'), portable: true, source: 'portable' };
  return { dataDir: userDataDir(platform, env, home), portable: false, source: 'user' };
}

function userDataDir(platform: NodeJS.Platform, env: NodeJS.ProcessEnv, home: string): string {
  if (platform === 'win32') return path.join(env.APPDATA ?? path.join(home, 'AppData', 'Roaming'), APP_FOLDER);
  if (platform === 'darwin') return path.join(home, 'Library', 'Application Support', APP_FOLDER);
  return path.join(env.XDG_DATA_HOME ?? path.join(home, '.local', 'share'), APP_FOLDER);
}

/**
 * Files the sidecar creates are owner-only (0600, folders 0700): keys, history and models are nobody
 * else's business on a shared machine. Called once at start, before anything is written.
 */
export function restrictNewFileModes(): void {
  if (process.platform !== 'win32') process.umask(0o077);
}

/** The files and folders inside the data folder. */
export function dataPaths(dataDir: string) {
  return {
    database: path.join(dataDir, 'sim-ai.db'),
    models: path.join(dataDir, 'models'),
    logs: path.join(dataDir, 'logs'),
    threadCache: path.join(dataDir, 'thread-cache.json'),
  };
}
