/**
 * Headless workflow runner: the same executor the app uses, on a Sim YAML 1.0 or app JSON file.
 * Each block's output streams to stderr labelled by block; the response goes to stdout (`--json`:
 * the whole trace). Exit 0 when completed, 1 when failed, 130 when stopped, 2 for bad usage or a
 * workflow that cannot run. Ctrl-C stops the whole execution (twice: quit at once).
 *
 *   npm run flow -- examples/workflows/two-agent-chain.sim.yaml --input "a fox" \
 *     --provider local --model ../shared/models/stories260K.gguf
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { dataPaths, resolveDataLocation } from '../storage/paths.js';
import { managerAICall } from '../workflow/manager-ai.js';
import { WorkflowExecutor, type WorkflowEvent } from '../workflow/executor.js';
import type { ImportReport, Workflow, WorkflowBlock, WorkflowExecution } from '../workflow/model.js';
import { describeProblems } from '../workflow/validate.js';
import { importWorkflow } from '../workflow/yaml.js';
import { createHeadlessAI, formatMs, UsageError } from './headless.js';

const USAGE = `Usage: npm run flow -- <workflow.yaml|json> --input "text" [options]
  --input <text>         what the workflow runs on (<start.input>)
  --provider <name>      run every agent and router on this provider ...
  --model <model>        ... and this model (for local: a .gguf file name or path)
  --models-dir <dir>     folder where local model names are looked up (default: the app's models folder)
  --base-url <url>       base URL for --provider (an OpenAI-compatible server, an Ollama host)
  --json                 print the whole trace as JSON instead of the response
  --quiet                do not stream block output to stderr
Keys come from the environment: OPENAI_API_KEY, ANTHROPIC_API_KEY, ...`;

interface FlowOptions {
  readonly file: string;
  readonly input: string;
  readonly override: { provider: string; model: string } | undefined;
  readonly modelsDir: string;
  /** The app's thread-count cache: measured once per model and machine, for the app and both runners. */
  readonly threadCacheFile: string;
  readonly baseURL: string | undefined;
  readonly json: boolean;
  readonly quiet: boolean;
}

function parse(argv: string[], env: NodeJS.ProcessEnv): FlowOptions {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      input: { type: 'string' },
      provider: { type: 'string' },
      model: { type: 'string' },
      'models-dir': { type: 'string' },
      'base-url': { type: 'string' },
      json: { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  const [file] = positionals;
  if (values.help || file === undefined || positionals.length > 1) throw new UsageError(USAGE);
  if (values.input === undefined) throw new UsageError(`--input is required.\n${USAGE}`);
  if ((values.provider === undefined) !== (values.model === undefined)) throw new UsageError('--provider and --model go together.');
  const data = dataPaths(resolveDataLocation({ appDir: process.cwd(), env }).dataDir);
  const modelsDir = values['models-dir'] ?? data.models;
  const override = values.provider === undefined || values.model === undefined ? undefined : { provider: values.provider, model: localPath(values.provider, values.model, process.cwd()) };
  return { file, input: values.input, override, modelsDir: path.resolve(modelsDir), threadCacheFile: data.threadCache, baseURL: values['base-url'], json: values.json, quiet: values.quiet };
}

/** A local model given as a relative path is taken from `base`; a bare file name stays for the models folder. */
function localPath(provider: string, model: string, base: string): string {
  if (provider !== 'local' || path.isAbsolute(model) || !/[\\/]/.test(model)) return model;
  return path.resolve(base, model);
}

/** Relative local model paths in the file are relative to the file. */
function withLocalPaths(workflow: Workflow, folder: string): Workflow {
  const fix = (block: WorkflowBlock): WorkflowBlock =>
    block.type === 'agent' || block.type === 'router' ? ({ ...block, inputs: { ...block.inputs, model: localPath(block.inputs.provider, block.inputs.model, folder) } } as WorkflowBlock) : block;
  return { ...workflow, blocks: workflow.blocks.map(fix) };
}

function describeImport(report: ImportReport): string[] {
  const lines: string[] = [];
  for (const b of report.notTaken) lines.push(`not taken: "${b.name}" (${b.type}) — this app does not run that kind of block`);
  for (const i of report.ignored) lines.push(`ignored: ${i.blockId}.${i.field} — ${i.reason}`);
  for (const m of report.models) lines.push(`model: ${m.blockId} uses ${m.model} on ${m.provider}`);
  return lines;
}

/** Block output to stderr, each run of text labelled with its block's name. */
function streamer(workflow: Workflow, quiet: boolean): (event: WorkflowEvent) => void {
  const names = new Map(workflow.blocks.map((b) => [b.id, b.name]));
  let current: string | undefined;
  const line = (text: string): void => {
    if (current !== undefined) process.stderr.write('\n');
    current = undefined;
    process.stderr.write(`${text}\n`);
  };
  return (event) => {
    if (quiet) return;
    switch (event.type) {
      case 'block-text':
        if (current !== event.blockId) {
          if (current !== undefined) process.stderr.write('\n');
          process.stderr.write(`[${names.get(event.blockId) ?? event.blockId}] `);
          current = event.blockId;
        }
        process.stderr.write(event.text.replace(/\n/g, `\n[${names.get(event.blockId) ?? event.blockId}] `));
        return;
      case 'block-retry':
        line(`[${names.get(event.blockId) ?? event.blockId}] ${event.retry.message}; retrying in ${Math.ceil(event.retry.delayMs / 1000)} s (attempt ${event.retry.attempt})`);
        return;
      case 'block-started':
        if (event.block.type !== 'starter') line(`[${event.block.name}] started`);
        return;
      case 'block-done': {
        const t = event.trace;
        if (t.blockType === 'starter') return;
        const tokens = t.outputTokens > 0 ? `${t.outputTokens} tokens, first after ${formatMs(t.timeToFirstTokenMs)}, ` : '';
        const choice = t.blockType === 'condition' ? `branch ${String(t.output?.selectedOption)}, ` : t.blockType === 'router' ? `chose ${String(t.output?.selectedPath)}, ` : '';
        line(`[${t.blockName}] done (${choice}${tokens}${formatMs(t.durationMs)})`);
        return;
      }
      case 'block-skipped':
        line(`[${event.trace.blockName}] skipped: ${event.trace.skipReason ?? ''}`);
        return;
      case 'block-failed':
        line(`[${event.trace.blockName}] ${event.trace.status === 'cancelled' ? 'stopped' : `failed${event.handled ? ' (following its error path)' : ''}: ${event.trace.error?.message ?? ''}`}`);
        return;
      case 'done':
        line(`— ${event.execution.status} in ${formatMs(event.execution.durationMs)}`);
    }
  };
}

function printResult(execution: WorkflowExecution, json: boolean): void {
  if (json) process.stdout.write(`${JSON.stringify(execution, null, 2)}\n`);
  else if (execution.response !== null) process.stdout.write(`${typeof execution.response === 'string' ? execution.response : JSON.stringify(execution.response, null, 2)}\n`);
  if (execution.error !== null && execution.status === 'failed') process.stderr.write(`error (${execution.error.code}): ${execution.error.message}\n`);
}

/** Reads and imports the file, telling what the import did; throws in plain words. */
async function load(options: FlowOptions): Promise<Workflow> {
  const text = await readFile(options.file, 'utf8').catch((error: unknown) => {
    throw new UsageError(`Cannot read ${options.file}: ${error instanceof Error ? error.message : String(error)}`);
  });
  const imported = importWorkflow(text);
  for (const line of describeImport(imported.report)) process.stderr.write(`${line}\n`);
  return withLocalPaths(imported.workflow, path.dirname(path.resolve(options.file)));
}

async function main(): Promise<number> {
  let options: FlowOptions;
  let workflow: Workflow;
  try {
    options = parse(process.argv.slice(2), process.env);
    workflow = await load(options);
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    return 2;
  }
  const ai = createHeadlessAI({ modelsDir: options.modelsDir, threadCacheFile: options.threadCacheFile });
  const providers = new Set(options.override ? [options.override.provider] : workflow.blocks.flatMap((b) => (b.type === 'agent' || b.type === 'router' ? [b.inputs.provider] : [])));
  for (const provider of providers) {
    if (!ai.enable(provider, options.override?.provider === provider ? options.baseURL : undefined)) process.stderr.write(`warning: unknown provider "${provider}"\n`);
  }
  try {
    const executor = new WorkflowExecutor({ ai: managerAICall(ai.manager) });
    let handle: ReturnType<WorkflowExecutor['start']>;
    try {
      handle = executor.start({ workflow, input: options.input, override: options.override, onEvent: streamer(workflow, options.quiet) });
    } catch (error) {
      const problems = (error as { problems?: Parameters<typeof describeProblems>[0] }).problems;
      process.stderr.write(`${problems === undefined ? String(error) : `This workflow cannot run: ${describeProblems(problems)}`}\n`);
      return 2;
    }
    let interrupts = 0;
    const onInterrupt = (): void => {
      interrupts += 1;
      if (interrupts > 1) process.exit(130);
      process.stderr.write('\nstopping…\n');
      handle.cancel();
    };
    process.on('SIGINT', onInterrupt);
    const execution = await handle.result;
    process.off('SIGINT', onInterrupt);
    printResult(execution, options.json);
    return execution.status === 'completed' ? 0 : execution.status === 'cancelled' ? 130 : 1;
  } finally {
    await ai.dispose();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`flow failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
