/**
 * The OpenAI stand-in in its own process, as a real vendor is: the streaming benchmark measures the
 * client side alone, without the server's writes sharing the client's event loop. Every request
 * streams the same long answer. Prints the server's URL on its first line, then runs until killed.
 *
 *   node --import tsx bench/openai-server-process.ts <tokens>
 */
import { startOpenAIServer } from '../tests/wire/openai-server.js';

const count = Number(process.argv[2] ?? 4000);
const tokens = Array.from({ length: count }, (_, i) => `tok${i} `);
const server = await startOpenAIServer();
const scenario = { kind: 'ok' as const, tokens };
// The stand-in takes one scenario per request; queue more than any run makes.
for (let i = 0; i < 100_000; i += 1) server.script(scenario);
console.log(server.url);
process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
