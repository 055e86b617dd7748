/**
 * The workflow model as plain types: what a workflow is, what a run of one records. Shared by the
 * sidecar and the UI (import it with `import type`); it depends on nothing. The contract's zod
 * schemas (protocol/contract.ts, "Workflows" block) validate exactly these shapes on the wire.
 *
 * Shape taken from Sim's YAML 1.0 workflows: blocks with a type, a display name and inputs; outputs
 * referenced as `<blockname.field>` where the name is lower-cased with spaces removed.
 */

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export const BLOCK_TYPES = ['starter', 'agent', 'condition', 'router', 'response'] as const;
export type BlockType = (typeof BLOCK_TYPES)[number];

export interface Position {
  readonly x: number;
  readonly y: number;
}

/** Output constrained to a JSON schema; its top-level properties become `<block.field>` references. */
export interface JsonSchemaFormat {
  readonly name: string;
  readonly schema: JsonObject;
}

interface BlockBase {
  /** Stable id, unique in the workflow: letters, digits, `_` and `-`. */
  readonly id: string;
  /** Display name; its reference name is this lower-cased without spaces (see references.ts). */
  readonly name: string;
  /** What the block is for; a router reads its targets' descriptions to choose one. */
  readonly description?: string;
  /** Where the canvas draws it. */
  readonly position?: Position;
}

export interface StarterBlock extends BlockBase {
  readonly type: 'starter';
  readonly inputs: Record<string, never>;
}

export interface AgentInputs {
  readonly systemPrompt?: string;
  /** May contain references, e.g. `Summarise: <start.input>`. */
  readonly userPrompt: string;
  /** Provider id as in Providers (`openai`, `anthropic`, `ollama`, `local`, …). */
  readonly provider: string;
  /** Model id for that provider; for `local` a GGUF file name or path. */
  readonly model: string;
  readonly temperature?: number;
  readonly maxTokens?: number;
  readonly responseFormat?: JsonSchemaFormat;
}

export interface AgentBlock extends BlockBase {
  readonly type: 'agent';
  readonly inputs: AgentInputs;
}

/** One branch of a condition: `if` first, any `else-if`s, at most one `else` last (no expression). */
export interface ConditionBranch {
  /** Handle the branch's connections name: `if`, `else-if`, `else-if-2`, …, `else`. */
  readonly id: string;
  readonly kind: 'if' | 'else-if' | 'else';
  /** A boolean expression over references, e.g. `<judge.score> > 5 && <judge.label> == "spam"`. */
  readonly expression?: string;
}

export interface ConditionBlock extends BlockBase {
  readonly type: 'condition';
  readonly inputs: { readonly branches: ConditionBranch[] };
}

export interface RouterInputs {
  /** What to route; may contain references. */
  readonly prompt: string;
  readonly provider: string;
  readonly model: string;
  readonly temperature?: number;
}

export interface RouterBlock extends BlockBase {
  readonly type: 'router';
  readonly inputs: RouterInputs;
}

export interface ResponseBlock extends BlockBase {
  readonly type: 'response';
  /**
   * What the workflow returns. Exactly one reference (`<writer.content>`) returns that value as it is
   * (an object stays an object); anything else is text with its references filled in.
   */
  readonly inputs: { readonly data: string };
}

export type WorkflowBlock = StarterBlock | AgentBlock | ConditionBlock | RouterBlock | ResponseBlock;

/**
 * An edge. `success` runs the target after the source finished; `error` runs it when the source
 * failed (the source's failure is then handled, not fatal); `branch` runs it when a condition chose
 * `branch`. A router's `success` targets are its choices: it runs exactly one of them.
 */
export interface Connection {
  readonly source: string;
  readonly target: string;
  readonly kind: 'success' | 'error' | 'branch';
  /** The condition branch id; only with kind `branch`. */
  readonly branch?: string;
}

export interface Workflow {
  /** Empty for a workflow not yet saved; save_workflow assigns one. */
  readonly id: string;
  readonly name: string;
  readonly description?: string;
  readonly blocks: WorkflowBlock[];
  readonly connections: Connection[];
  /** Workflow variables, referenced as `<variable.name>`. Plain text, never secrets. */
  readonly variables: Readonly<Record<string, string>>;
  readonly createdAt?: string;
  readonly updatedAt?: string;
}

export interface WorkflowSummary {
  readonly id: string;
  readonly name: string;
  readonly description?: string;
  readonly blockCount: number;
  readonly updatedAt: string;
}

/** A problem that stops a workflow being saved or run, in plain words, pointing at its block. */
export interface WorkflowProblem {
  readonly blockId?: string;
  /** The input that holds it, e.g. `userPrompt`, `branches.if`. */
  readonly field?: string;
  /** The offending reference as written, e.g. `<writer.score>`. */
  readonly reference?: string;
  readonly message: string;
}

// ---- Import --------------------------------------------------------------------------------------

export interface ImportReport {
  readonly format: 'yaml' | 'json';
  /** Blocks taken, by name and type. */
  readonly taken: { readonly id: string; readonly name: string; readonly type: BlockType }[];
  /** Blocks of types this app does not run (function, api, loop, parallel, tool…): left out. */
  readonly notTaken: { readonly id: string; readonly name: string; readonly type: string }[];
  /** How each imported `model` was mapped to a provider. */
  readonly models: { readonly blockId: string; readonly model: string; readonly provider: string }[];
  /** Fields dropped because they may carry secrets (`apiKey`, `{{VAR}}` values). */
  readonly ignored: { readonly blockId: string; readonly field: string; readonly reason: string }[];
  /** Problems left in the imported workflow (e.g. a reference to a block not taken). */
  readonly problems: WorkflowProblem[];
}

// ---- Runs ----------------------------------------------------------------------------------------

export type WorkflowExecutionStatus = 'running' | 'completed' | 'failed' | 'cancelled';
export type BlockRunStatus = 'pending' | 'running' | 'completed' | 'failed' | 'skipped' | 'cancelled';

export interface BlockError {
  readonly code: string;
  readonly message: string;
}

/** One block's part of an execution's trace. */
export interface BlockTrace {
  readonly blockId: string;
  readonly blockName: string;
  readonly blockType: BlockType;
  readonly status: BlockRunStatus;
  /** Inputs after references were resolved (prompts as sent). */
  readonly input: JsonObject | null;
  /** `content` plus, for a structured answer, its fields; a condition's `selectedOption`, etc. */
  readonly output: JsonObject | null;
  readonly error: BlockError | null;
  /** Why it was skipped, in plain words. */
  readonly skipReason: string | null;
  readonly provider: string | null;
  readonly model: string | null;
  readonly startedAt: string | null;
  readonly durationMs: number | null;
  readonly timeToFirstTokenMs: number | null;
  readonly inputTokens: number;
  readonly outputTokens: number;
  /** True when a rerun took this block's stored output instead of running it. */
  readonly reused: boolean;
}

export interface WorkflowExecution {
  readonly id: string;
  readonly workflowId: string;
  readonly workflowName: string;
  readonly status: WorkflowExecutionStatus;
  readonly input: string;
  readonly startedAt: string;
  readonly finishedAt: string | null;
  readonly durationMs: number | null;
  /** What the response block returned (or, without one, the last finished block's content). */
  readonly response: JsonValue | null;
  readonly error: BlockError | null;
  /** Set on a rerun: the execution whose stored outputs it reused, and the block it ran from. */
  readonly rerunOf: string | null;
  readonly rerunFrom: string | null;
  /** In the order blocks started (pending/skipped ones after). */
  readonly blocks: BlockTrace[];
}

export interface WorkflowExecutionSummary {
  readonly id: string;
  readonly workflowId: string;
  readonly workflowName: string;
  readonly status: WorkflowExecutionStatus;
  readonly startedAt: string;
  readonly durationMs: number | null;
  readonly inputTokens: number;
  readonly outputTokens: number;
}
