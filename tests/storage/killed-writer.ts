/**
 * A writer killed mid-session, as by a crash, a kill or a pulled stick: it writes one row in WAL mode
 * and is SIGKILLed with the connection open, so its WAL stays beside the database. For the tests and
 * the launch benchmark of what a start checks after an unclean end.
 */
import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '../..');

export async function killWriterMidSession(file: string): Promise<void> {
  const script = `const D = require('better-sqlite3'); const db = new D(${JSON.stringify(file)}); db.pragma('journal_mode = WAL');
db.prepare("INSERT OR REPLACE INTO provider_settings (provider, enabled) VALUES ('groq', 0)").run();
process.stdout.write('written'); setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['-e', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve) => child.stdout.once('data', resolve));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
  if ((statSync(`${file}-wal`, { throwIfNoEntry: false })?.size ?? 0) === 0) throw new Error('the killed writer left no WAL');
}
