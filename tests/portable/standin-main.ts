/**
 * The Neutralino stand-in as a program, so the portable folder's own launcher can start it where
 * the real runtime binary would be (`./neutralino-linux_x64 --load-dir-res --path=<folder> ...`).
 * Prints `STANDIN_URL <url>` once listening; SIGTERM closes it like the window closing (extensions
 * are not killed: they must leave by themselves). Test code only; bundled by the portable test.
 */
import { startNeutralinoStandIn } from '../neutralino/runtime.js';

const pathArg = process.argv.find((a) => a.startsWith('--path='));
const appDir = pathArg === undefined ? process.cwd() : pathArg.slice('--path='.length);
const runtime = await startNeutralinoStandIn({ appDir, echoExtensionOutput: true });
process.stdout.write(`STANDIN_URL ${runtime.url} ${process.pid}\n`);
process.once('SIGTERM', () => {
  void runtime.close().then(() => process.exit(0));
});
