/**
 * The one contract between the UI and the sidecar: every command and every event, as zod schemas
 * that both sides validate against (the UI what it receives, the sidecar what it receives and what
 * it sends). Imported by both; it depends on nothing but zod and the core's plain types.
 *
 * Written with zod/mini, zod's functional API (`z.optional(x)`, `.check(z.maxLength(n))`): the same
 * core, types and issues as zod classic, without the ~40 methods classic gives every schema it
 * builds, and half its bundle. Both sides load this at start, so that is start-up time.
 *
 * Transport (see ../channel): the UI sends `Neutralino.extensions.dispatch(SIDECAR_ID, REQUEST_EVENT,
 * envelope)`; the sidecar answers every request exactly once with a `REPLY_EVENT` broadcast, and
 * streams runs as `EVENTS.chunk` … then one `EVENTS.done` or one `EVENTS.error` (an `EVENTS.retry`
 * before the first chunk says a failed try will be made again).
 *
 * Every schema is built on first use (./lazy-schema.ts): a shared shape is a function that builds it
 * once, and `COMMANDS` / `EVENT_SCHEMAS` build an entry when it is first read. Building all of them
 * took about 20 ms of every sidecar start; now a process builds only what it validates.
 */
import * as z from 'zod/mini';
import { lazy, lazyRecord } from './lazy-schema.js';
import { CONVERSATION_EVENTS, EVENTS, PROTOCOL_VERSION, WORKFLOW_EVENTS } from './names.js';
import { AI_ERROR_CODES } from '../core/errors.js';
import type { ImportReport, Workflow, WorkflowExecution } from '../workflow/model.js';


/** Codes of protocol-level failures, beside the AI error codes. */
export const CHANNEL_ERROR_CODES = ['bad_message', 'unknown_command', 'not_found', 'timeout', 'disconnected', 'storage', 'read_only', 'internal', 'validation', 'wrong_passphrase', 'vault_exists', 'vault_not_initialised'] as const;

export const errorDataSchema = lazy(() => z.object({
  code: z.enum([...AI_ERROR_CODES, ...CHANNEL_ERROR_CODES]),
  message: z.string(),
  retryable: z.boolean(),
  status: z.optional(z.number()),
  retryAfterMs: z.optional(z.number()),
  provider: z.optional(z.string()),
}));
export type ErrorData = z.infer<ReturnType<typeof errorDataSchema>>;
export type ErrorCode = ErrorData['code'];

// ---- Shared shapes ----------------------------------------------------------------------------

const providerName = lazy(() => z.string().check(z.regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'a provider id such as "openai"')));

export const chatMessageSchema = lazy(() => z.object({
  role: z.enum(['system', 'user', 'assistant']),
  content: z.string().check(z.maxLength(4_000_000)),
}));

export const responseFormatSchema = lazy(() => z.discriminatedUnion('type', [
  z.object({ type: z.literal('text') }),
  z.object({ type: z.literal('json') }),
  z.object({ type: z.literal('json_schema'), name: z.string().check(z.minLength(1), z.maxLength(64)), schema: z.record(z.string(), z.unknown()) }),
]));

/** An AI block's request as the UI sends it (`stream: true` is the only mode the UI uses). */
export const aiRequestSchema = lazy(() => z.object({
  model: z.string().check(z.minLength(1), z.maxLength(4096)),
  messages: z.array(chatMessageSchema()).check(z.minLength(1), z.maxLength(1000)),
  stream: z.optional(z.literal(true)),
  temperature: z.optional(z.number().check(z.gte(0), z.lte(2))),
  maxTokens: z.optional(z.number().check(z.int(), z.positive(), z.lte(1_000_000))),
  topP: z.optional(z.number().check(z.gt(0), z.lte(1))),
  stop: z.optional(z.array(z.string().check(z.minLength(1))).check(z.maxLength(16))),
  responseFormat: z.optional(responseFormatSchema()),
  contextSize: z.optional(z.number().check(z.int(), z.positive(), z.lte(1_048_576))),
}));
export type AIRequestInput = z.infer<ReturnType<typeof aiRequestSchema>>;

const usageSchema = lazy(() => z.object({ inputTokens: z.number(), outputTokens: z.number() }));
const timingSchema = lazy(() => z.object({
  timeToFirstTokenMs: z.optional(z.number()),
  totalMs: z.number(),
  tokensPerSecond: z.number(),
}));
const finishReasonSchema = lazy(() => z.enum(['stop', 'length', 'cancelled', 'error', 'incomplete']));
const warningSchema = lazy(() => z.object({ code: z.enum(['prompt_truncated', 'context_reduced']), message: z.string() }));

export const aiResponseSchema = lazy(() => z.object({
  provider: z.string(),
  model: z.string(),
  text: z.string(),
  finishReason: finishReasonSchema(),
  usage: usageSchema(),
  timing: timingSchema(),
  error: z.optional(errorDataSchema()),
  warnings: z.optional(z.array(warningSchema())),
}));

const providerStatusSchema = lazy(() => z.object({
  state: z.enum(['ready', 'needs_key', 'locked', 'not_running', 'error']),
  detail: z.optional(z.string()),
}));
const providerKindSchema = lazy(() => z.enum(['openai-compatible', 'anthropic', 'ollama', 'local']));
const modelInfoSchema = lazy(() => z.object({
  id: z.string(),
  name: z.optional(z.string()),
  sizeBytes: z.optional(z.number()),
  family: z.optional(z.string()),
  contextLength: z.optional(z.number()),
}));

export const providerInfoSchema = lazy(() => z.object({
  name: providerName(),
  kind: providerKindSchema(),
  label: z.string(),
  baseURL: z.optional(z.string()),
  preset: z.optional(z.string()),
  enabled: z.boolean(),
  keyRequired: z.boolean(),
  keepAlive: z.optional(z.string()),
  // Issue 12: how traffic to `baseURL` travels; `unencrypted` is plain http to another computer
  // (allowed for keyless servers only, and the UI says so).
  transport: z.optional(z.enum(['https', 'loopback', 'unencrypted'])),
  /** Issue 10: silence between stream parts before a run fails with `timeout`; absent is 60 s. */
  idleTimeoutSeconds: z.optional(z.number()),
}));

const vaultStatusSchema = lazy(() => z.object({
  state: z.enum(['uninitialised', 'locked', 'unlocked']),
  /** Minutes of inactivity before the vault locks itself; null when auto-lock is off. */
  autoLockMinutes: z.nullable(z.number()),
}));

const secretInfoSchema = lazy(() => z.object({
  provider: z.string(),
  present: z.boolean(),
  hint: z.nullable(z.string()),
  updatedAt: z.nullable(z.string()),
  // Issue 12: the origin (scheme://host:port) the key was entered for; it is sent nowhere else.
  origin: z.nullable(z.string()),
}));

const executionStatusSchema = lazy(() => z.enum(['completed', 'cancelled', 'failed', 'incomplete']));
export const executionSummarySchema = lazy(() => z.object({
  id: z.string(),
  startedAt: z.string(),
  provider: z.string(),
  model: z.string(),
  status: executionStatusSchema(),
  finishReason: finishReasonSchema(),
  inputTokens: z.number(),
  outputTokens: z.number(),
  timeToFirstTokenMs: z.nullable(z.number()),
  totalMs: z.number(),
  errorCode: z.nullable(z.string()),
  /** The conversation this run belonged to (issue 14); null for a bare AI block run. */
  conversationId: z.nullable(z.string()),
}));
/** What a run was sent: the request's messages and settings. Null for runs recorded before this was kept. */
const executionRequestSchema = lazy(() => z.object({
  messages: z.array(chatMessageSchema()),
  temperature: z.optional(z.number()),
  maxTokens: z.optional(z.number()),
  topP: z.optional(z.number()),
  stop: z.optional(z.array(z.string())),
  contextSize: z.optional(z.number()),
}));
export const executionDetailSchema = lazy(() => z.extend(executionSummarySchema(), {
  text: z.string(),
  errorMessage: z.nullable(z.string()),
  request: z.nullable(executionRequestSchema()),
}));

const localModelSchema = lazy(() => z.object({
  id: z.string(),
  name: z.string(),
  path: z.string(),
  sizeBytes: z.number(),
  architecture: z.nullable(z.string()),
  parameters: z.nullable(z.number()),
  quantization: z.nullable(z.string()),
  contextLength: z.nullable(z.number()),
  hasChatTemplate: z.boolean(),
  error: z.optional(z.string()),
}));
const catalogueEntrySchema = lazy(() => z.object({
  id: z.string(),
  name: z.string(),
  url: z.string(),
  sizeBytes: z.number(),
  ramBytes: z.number(),
  sha256: z.nullable(z.string()),
  checksumVerified: z.boolean(),
  licence: z.string(),
}));
const modelFileName = lazy(() => z.string().check(z.regex(/^[\w.() -]+\.gguf$/i, 'a .gguf file name'), z.maxLength(255)));
const task = lazy(() => z.object({ taskId: z.string() }));

const passphrase = lazy(() => z.string().check(z.minLength(8, 'at least 8 characters'), z.maxLength(1024)));
const empty = lazy(() => z.strictObject({}));
const ok = lazy(() => z.object({ ok: z.literal(true) }));

// ---- Conversations (issue 14) -----------------------------------------------------------------
//
// A conversation is a title, a provider and model, settings, and its messages, stored as they stream
// (a kill loses at most the text of the last frame). The system prompt lives in the settings, never
// among the messages, and is never trimmed. Runs are ordinary executions: `send_message`,
// `regenerate` and `edit_and_resend` answer with the `executionId` whose `sim.chunk`/`sim.done`/
// `sim.error` events stream the answer (stop it with `cancel_execution`), and `sim.conversation`
// carries each stored change (title made from the first message, an answer's final status and stats).

const conversationId = lazy(() => z.string().check(z.minLength(1), z.maxLength(128)));
const isoTime = lazy(() => z.string());

/** A conversation's (and a preset's) model settings. Absent = the provider's default. */
export const conversationSettingsSchema = lazy(() => z.object({
  /** Sent first on every turn; '' for none. Never dropped when the history is trimmed. */
  systemPrompt: z._default(z.string().check(z.maxLength(100_000)), ''),
  temperature: z.optional(z.number().check(z.gte(0), z.lte(2))),
  maxTokens: z.optional(z.number().check(z.int(), z.positive(), z.lte(1_000_000))),
  topP: z.optional(z.number().check(z.gt(0), z.lte(1))),
  stop: z.optional(z.array(z.string().check(z.minLength(1))).check(z.maxLength(16))),
  /**
   * Local models: the context to run with (llama.cpp context size, Ollama num_ctx). Any provider: the
   * budget the history is trimmed to (cloud models otherwise use the context length their provider
   * lists, and are not trimmed when it lists none).
   */
  contextSize: z.optional(z.number().check(z.int(), z.gte(128), z.lte(1_048_576))),
}));
export type ConversationSettings = z.output<ReturnType<typeof conversationSettingsSchema>>;
export type ConversationSettingsInput = z.input<ReturnType<typeof conversationSettingsSchema>>;

export const conversationSchema = lazy(() => z.object({
  id: z.string(),
  title: z.string(),
  provider: z.string(),
  model: z.string(),
  settings: conversationSettingsSchema(),
  /** The preset it was started from, if any (informational; editing the preset later changes nothing here). */
  presetId: z.nullable(z.string()),
  createdAt: isoTime(),
  /** Last change of any kind, including a new message: the list is ordered by this, newest first. */
  updatedAt: isoTime(),
}));
export type ConversationData = z.output<ReturnType<typeof conversationSchema>>;

/** One row of the conversation list. `snippet` is the matching text when the list was searched. */
export const conversationSummarySchema = lazy(() => z.extend(z.pick(conversationSchema(), { id: true, title: true, provider: true, model: true, createdAt: true, updatedAt: true }), {
  messageCount: z.number().check(z.int()),
  snippet: z.nullable(z.string()),
}));

/**
 * `streaming`: being written now (an app killed or crashed meanwhile finds it `failed` at the next
 * start, code `incomplete_stream`, its text kept). `cancelled`: stopped by the user or by quitting
 * the app (partial text kept).
 */
export const messageStatusSchema = lazy(() => z.enum(['streaming', 'complete', 'cancelled', 'failed']));

/** What the app measured for one answer (assistant messages only, once it has ended). */
export const messageStatsSchema = lazy(() => z.object({
  timeToFirstTokenMs: z.nullable(z.number()),
  tokensPerSecond: z.number(),
  inputTokens: z.number(),
  outputTokens: z.number(),
  totalMs: z.number(),
  finishReason: finishReasonSchema(),
}));
export type MessageStats = z.output<ReturnType<typeof messageStatsSchema>>;


export const conversationMessageSchema = lazy(() => z.object({
  id: z.string(),
  conversationId: z.string(),
  role: z.enum(['user', 'assistant']),
  content: z.string(),
  status: messageStatusSchema(),
  /** The run that wrote this answer (links to History); null for user messages. */
  executionId: z.nullable(z.string()),
  /** Which provider and model wrote this answer (a conversation may switch model); null for user messages. */
  provider: z.nullable(z.string()),
  model: z.nullable(z.string()),
  stats: z.nullable(messageStatsSchema()),
  /** Why the answer failed, in words; null unless status is `failed`. */
  error: z.nullable(errorDataSchema()),
  createdAt: isoTime(),
}));
export type ConversationMessageData = z.output<ReturnType<typeof conversationMessageSchema>>;

/**
 * The history as the last run sent it: tokens used against the model's context, and how many of the
 * oldest messages had to be left out. `estimated` is true when the count is an estimate (cloud
 * models; local models are counted with their own tokenizer). Null before the first run.
 */
export const contextUsageSchema = lazy(() => z.object({
  tokensUsed: z.number().check(z.int()),
  contextSize: z.nullable(z.number().check(z.int())),
  droppedMessages: z.number().check(z.int()),
  estimated: z.boolean(),
}));

export const conversationDetailSchema = lazy(() => z.extend(conversationSchema(), {
  /** In order, oldest first. */
  messages: z.array(conversationMessageSchema()),
  context: z.nullable(contextUsageSchema()),
}));

export const presetSchema = lazy(() => z.object({
  id: z.string(),
  name: z.string(),
  /** Null: the preset does not choose; the conversation keeps the provider/model it is given. */
  provider: z.nullable(z.string()),
  model: z.nullable(z.string()),
  settings: conversationSettingsSchema(),
  /** Shipped with the app: can be used and copied, not deleted or overwritten. */
  builtIn: z.boolean(),
}));

/** A run started in a conversation: the messages as stored, so the UI can show them at once. */
const conversationRunSchema = lazy(() => z.object({
  executionId: z.string(),
  /** The user message just stored (send, edit_and_resend); absent for regenerate. */
  userMessage: z.optional(conversationMessageSchema()),
  /** The answer, stored empty with status `streaming`; its text arrives as `sim.chunk` events. */
  assistantMessage: conversationMessageSchema(),
}));

const conversationTitle = lazy(() => z.string().check(z.trim(), z.minLength(1, 'a title'), z.maxLength(200)));
/** Kept exactly as typed (leading indentation may be code); only an all-blank message is refused. */
const messageText = lazy(() => z.string().check(z.maxLength(1_000_000), z.refine((text) => text.trim() !== '', 'a message')));

/**
 * What the first screen needs to know to open on something that works: local models present (the
 * first is the one a new conversation uses), keys present, and whether the vault exists (a key can
 * only be saved into an existing vault: `set_secret` fails with `vault_not_initialised` otherwise).
 */
const firstLaunchStatusSchema = lazy(() => z.object({
  localModels: z.array(z.string()),
  keys: z.array(z.string()),
  vault: vaultStatusSchema().shape.state,
  conversations: z.number().check(z.int()),
  /** The provider/model a new conversation would start on, or null when there is none yet. */
  suggested: z.nullable(z.object({ provider: z.string(), model: z.string() })),
}));

export const CONVERSATION_COMMANDS = {
  /** Newest first. `query` matches titles and message text (case-insensitive); deleted ones are left out. */
  list_conversations: () => ({
    params: z.object({ query: z.optional(z.string().check(z.maxLength(500))), limit: z.optional(z.number().check(z.int(), z.gte(1), z.lte(500))), offset: z.optional(z.number().check(z.int(), z.gte(0))) }),
    result: z.array(conversationSummarySchema()),
  }),
  get_conversation: () => ({ params: z.object({ id: conversationId() }), result: conversationDetailSchema() }),
  /**
   * Provider/model/settings come from the params, else from the preset, else from `suggested` of
   * `first_launch_status`; none at all fails with `validation`. The title is made from the first
   * message unless given.
   */
  create_conversation: () => ({
    params: z.object({
      presetId: z.optional(z.string().check(z.minLength(1), z.maxLength(128))),
      title: z.optional(conversationTitle()),
      provider: z.optional(providerName()),
      model: z.optional(z.string().check(z.minLength(1), z.maxLength(4096))),
      settings: z.optional(conversationSettingsSchema()),
    }),
    result: conversationSchema(),
  }),
  /** Rename, switch provider/model, change settings. `settings` replaces the whole settings object. */
  update_conversation: () => ({
    params: z.object({
      id: conversationId(),
      title: z.optional(conversationTitle()),
      provider: z.optional(providerName()),
      model: z.optional(z.string().check(z.minLength(1), z.maxLength(4096))),
      settings: z.optional(conversationSettingsSchema()),
    }),
    result: conversationSchema(),
  }),
  /** Moves it aside (stops its run, if any); `restore_conversation` undoes. Purged after 7 days. */
  delete_conversation: () => ({ params: z.object({ id: conversationId() }), result: ok() }),
  restore_conversation: () => ({ params: z.object({ id: conversationId() }), result: conversationSchema() }),
  /**
   * Stores the user message, then runs the model with the conversation's history (system prompt
   * first, oldest turns dropped if they outgrow the context). Fails with `busy` while an answer in
   * this conversation is still streaming.
   */
  send_message: () => ({ params: z.object({ conversationId: conversationId(), content: messageText() }), result: conversationRunSchema() }),
  /** Replaces the last answer with a new one from the same history (the old answer is removed). */
  regenerate: () => ({ params: z.object({ conversationId: conversationId() }), result: conversationRunSchema() }),
  /** Edits a user message, removes everything after it, and answers it again. */
  edit_and_resend: () => ({
    params: z.object({ conversationId: conversationId(), messageId: z.string().check(z.minLength(1), z.maxLength(128)), content: messageText() }),
    result: conversationRunSchema(),
  }),
  /** The file's text; the UI saves it. JSON is the format `import_conversation` takes back. */
  export_conversation: () => ({
    params: z.object({ id: conversationId(), format: z.enum(['markdown', 'json']) }),
    result: z.object({ fileName: z.string(), mimeType: z.string(), content: z.string() }),
  }),
  /** A JSON export (this app's); imported as a new conversation with new ids. */
  import_conversation: () => ({ params: z.object({ content: z.string().check(z.minLength(2), z.maxLength(20_000_000)) }), result: conversationSchema() }),
  list_presets: () => ({ params: empty(), result: z.array(presetSchema()) }),
  /** Without `id`: a new preset. With the id of a built-in one: `validation` (save a copy instead). */
  save_preset: () => ({
    params: z.object({
      id: z.optional(z.string().check(z.minLength(1), z.maxLength(128))),
      name: z.string().check(z.trim(), z.minLength(1, 'a name'), z.maxLength(100)),
      provider: z.optional(z.nullable(providerName())),
      model: z.optional(z.nullable(z.string().check(z.minLength(1), z.maxLength(4096)))),
      settings: conversationSettingsSchema(),
    }),
    result: presetSchema(),
  }),
  delete_preset: () => ({ params: z.object({ id: z.string().check(z.minLength(1), z.maxLength(128)) }), result: ok() }),
  first_launch_status: () => ({ params: empty(), result: firstLaunchStatusSchema() }),
} as const;


export const CONVERSATION_EVENT_SCHEMAS = {
  [CONVERSATION_EVENTS.conversation]: () => z.object({
    conversation: conversationSchema(),
    message: z.optional(conversationMessageSchema()),
  }),
  [CONVERSATION_EVENTS.context]: () => z.object({
    conversationId: z.string(),
    executionId: z.string(),
    usage: contextUsageSchema(),
    /**
     * Set when the history outgrew the context and the oldest messages were left out of this run
     * (they stay in the conversation); in words, for the chat. The system prompt is never dropped.
     */
    trimmed: z.optional(z.object({ droppedMessages: z.number().check(z.int(), z.positive()), message: z.string() })),
  }),
} as const;

// ---- End of Conversations ---------------------------------------------------------------------

// ---- Workflows (issue 11) ---------------------------------------------------------------------
// Schemas for the workflow model in ../workflow/model.ts (plain types the UI imports); the type
// checks at the end of this block keep the two in step. Runs stream as the WORKFLOW_EVENTS below,
// every one tagged with the execution and (but `done`) the block, `seq` counting up from 0 per
// execution across all of them; block text is coalesced per block like `sim.chunk`.

const blockId = lazy(() => z.string().check(z.regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, "_" and "-" (at most 64)')));
const workflowId = lazy(() => z.string().check(z.minLength(1), z.maxLength(128)));
const blockName = lazy(() => z.string().check(z.trim(), z.minLength(1, 'a block needs a name'), z.maxLength(100)));
const promptText = lazy(() => z.string().check(z.maxLength(400_000)));
const positionSchema = lazy(() => z.object({ x: z.number(), y: z.number() }));
const blockBase = lazy(() => ({
  id: blockId(),
  name: blockName(),
  description: z.exactOptional(z.string().check(z.maxLength(2000))),
  position: z.exactOptional(positionSchema()),
}));
const jsonObjectSchema = lazy(() => z.record(z.string(), z.json()));
export const jsonSchemaFormatSchema = lazy(() => z.object({ name: z.string().check(z.minLength(1), z.maxLength(64)), schema: jsonObjectSchema() }));
const modelChoice = lazy(() => ({ provider: providerName(), model: z.string().check(z.minLength(1), z.maxLength(4096)) }));

export const workflowBlockSchema = lazy(() => z.discriminatedUnion('type', [
  z.object({ ...blockBase(), type: z.literal('starter'), inputs: z.strictObject({}) }),
  z.object({
    ...blockBase(),
    type: z.literal('agent'),
    inputs: z.object({
      systemPrompt: z.exactOptional(promptText()),
      userPrompt: promptText(),
      ...modelChoice(),
      temperature: z.exactOptional(z.number().check(z.gte(0), z.lte(2))),
      maxTokens: z.exactOptional(z.number().check(z.int(), z.positive(), z.lte(1_000_000))),
      responseFormat: z.exactOptional(jsonSchemaFormatSchema()),
    }),
  }),
  z.object({
    ...blockBase(),
    type: z.literal('condition'),
    inputs: z.object({
      branches: z
        .array(z.object({ id: blockId(), kind: z.enum(['if', 'else-if', 'else']), expression: z.exactOptional(z.string().check(z.maxLength(10_000))) }))
        .check(z.minLength(1), z.maxLength(32)),
    }),
  }),
  z.object({
    ...blockBase(),
    type: z.literal('router'),
    inputs: z.object({ prompt: promptText(), ...modelChoice(), temperature: z.exactOptional(z.number().check(z.gte(0), z.lte(2))) }),
  }),
  z.object({ ...blockBase(), type: z.literal('response'), inputs: z.object({ data: promptText() }) }),
]));

export const connectionSchema = lazy(() => z.object({
  source: blockId(),
  target: blockId(),
  kind: z.enum(['success', 'error', 'branch']),
  branch: z.exactOptional(blockId()),
}));

export const workflowSchema = lazy(() => z.object({
  /** Empty for a new workflow. */
  id: z.union([z.literal(''), workflowId()]),
  name: z.string().check(z.trim(), z.minLength(1, 'a workflow needs a name'), z.maxLength(200)),
  description: z.exactOptional(z.string().check(z.maxLength(4000))),
  blocks: z.array(workflowBlockSchema()).check(z.maxLength(500)),
  connections: z.array(connectionSchema()).check(z.maxLength(5000)),
  variables: z.record(z.string().check(z.regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'a variable name: letters, digits and "_"')), z.string().check(z.maxLength(100_000))),
  createdAt: z.exactOptional(z.string()),
  updatedAt: z.exactOptional(z.string()),
}));

const workflowSummarySchema = lazy(() => z.object({
  id: z.string(),
  name: z.string(),
  description: z.exactOptional(z.string()),
  blockCount: z.number(),
  updatedAt: z.string(),
}));

export const workflowProblemSchema = lazy(() => z.object({
  blockId: z.exactOptional(z.string()),
  field: z.exactOptional(z.string()),
  reference: z.exactOptional(z.string()),
  message: z.string(),
}));

const blockTypeSchema = lazy(() => z.enum(['starter', 'agent', 'condition', 'router', 'response']));
export const importReportSchema = lazy(() => z.object({
  format: z.enum(['yaml', 'json']),
  taken: z.array(z.object({ id: z.string(), name: z.string(), type: blockTypeSchema() })),
  notTaken: z.array(z.object({ id: z.string(), name: z.string(), type: z.string() })),
  models: z.array(z.object({ blockId: z.string(), model: z.string(), provider: z.string() })),
  ignored: z.array(z.object({ blockId: z.string(), field: z.string(), reason: z.string() })),
  problems: z.array(workflowProblemSchema()),
}));

const blockErrorSchema = lazy(() => z.object({ code: z.string(), message: z.string() }));
const workflowExecutionStatusSchema = lazy(() => z.enum(['running', 'completed', 'failed', 'cancelled']));
export const blockTraceSchema = lazy(() => z.object({
  blockId: z.string(),
  blockName: z.string(),
  blockType: blockTypeSchema(),
  status: z.enum(['pending', 'running', 'completed', 'failed', 'skipped', 'cancelled']),
  input: z.nullable(jsonObjectSchema()),
  output: z.nullable(jsonObjectSchema()),
  error: z.nullable(blockErrorSchema()),
  skipReason: z.nullable(z.string()),
  provider: z.nullable(z.string()),
  model: z.nullable(z.string()),
  startedAt: z.nullable(z.string()),
  durationMs: z.nullable(z.number()),
  timeToFirstTokenMs: z.nullable(z.number()),
  inputTokens: z.number(),
  outputTokens: z.number(),
  reused: z.boolean(),
}));
export const workflowExecutionSchema = lazy(() => z.object({
  id: z.string(),
  workflowId: z.string(),
  workflowName: z.string(),
  status: workflowExecutionStatusSchema(),
  input: z.string(),
  startedAt: z.string(),
  finishedAt: z.nullable(z.string()),
  durationMs: z.nullable(z.number()),
  response: z.nullable(z.json()),
  error: z.nullable(blockErrorSchema()),
  rerunOf: z.nullable(z.string()),
  rerunFrom: z.nullable(z.string()),
  blocks: z.array(blockTraceSchema()),
}));
const workflowExecutionSummarySchema = lazy(() => z.object({
  id: z.string(),
  workflowId: z.string(),
  workflowName: z.string(),
  status: workflowExecutionStatusSchema(),
  startedAt: z.string(),
  durationMs: z.nullable(z.number()),
  inputTokens: z.number(),
  outputTokens: z.number(),
}));

/** Points every agent and router of one run at one provider and model (a local GGUF included). */
const modelOverrideSchema = lazy(() => z.object(modelChoice()));

export const WORKFLOW_COMMANDS = {
  list_workflows: () => ({ params: empty(), result: z.array(workflowSummarySchema()) }),
  get_workflow: () => ({ params: z.object({ id: workflowId() }), result: workflowSchema() }),
  /**
   * Creates (empty id) or replaces a workflow. Refused with a `validation` error naming block and
   * reference when a reference points at a block that cannot have run yet or a field its schema
   * lacks, a connection names a missing block or branch, or the graph has a cycle.
   */
  save_workflow: () => ({ params: z.object({ workflow: workflowSchema() }), result: workflowSchema() }),
  /** The same checks as save, without saving: every problem, for the editor to mark. */
  validate_workflow: () => ({ params: z.object({ workflow: workflowSchema() }), result: z.object({ problems: z.array(workflowProblemSchema()) }) }),
  /** References a block's inputs may use (offered as the user types), e.g. `<start.input>`. */
  list_workflow_references: () => ({
    params: z.object({ workflow: workflowSchema(), blockId: blockId() }),
    result: z.array(z.object({ reference: z.string(), blockId: z.exactOptional(z.string()), description: z.string() })),
  }),
  delete_workflow: () => ({ params: z.object({ id: workflowId() }), result: ok() }),
  /** Sim YAML 1.0 or this app's JSON → a workflow (not saved yet) and what the import did. */
  import_workflow: () => ({
    params: z.object({ text: z.string().check(z.minLength(1), z.maxLength(5_000_000)), format: z.exactOptional(z.enum(['auto', 'yaml', 'json'])) }),
    result: z.object({ workflow: workflowSchema(), report: importReportSchema() }),
  }),
  export_workflow: () => ({
    params: z.object({ id: workflowId(), format: z.enum(['yaml', 'json']) }),
    result: z.object({ text: z.string(), fileName: z.string() }),
  }),
  /**
   * Starts an execution of a saved workflow (`workflowId`) or of the editor's unsaved one
   * (`workflow`; the same checks as save apply). Stop it with `cancel_execution`.
   */
  run_workflow: () => ({
    params: z
      .object({
        workflowId: z.exactOptional(workflowId()),
        workflow: z.exactOptional(workflowSchema()),
        input: z.string().check(z.maxLength(4_000_000)),
        override: z.exactOptional(modelOverrideSchema()),
      }).check(z.refine((p) => (p.workflowId === undefined) !== (p.workflow === undefined), 'give either workflowId or workflow')),
    result: z.object({ executionId: z.string() }),
  }),
  list_workflow_executions: () => ({
    params: z.object({ workflowId: z.exactOptional(workflowId()), limit: z.exactOptional(z.number().check(z.int(), z.gte(1), z.lte(500))), offset: z.exactOptional(z.number().check(z.int(), z.gte(0))) }),
    result: z.array(workflowExecutionSummarySchema()),
  }),
  get_workflow_trace: () => ({ params: z.object({ executionId: z.string().check(z.minLength(1), z.maxLength(128)) }), result: workflowExecutionSchema() }),
  /**
   * Runs an earlier execution's workflow again from `blockId`: blocks before it keep their stored
   * outputs (marked `reused`), it and everything after run anew. A new execution id.
   */
  rerun_from_block: () => ({
    params: z.object({ executionId: z.string().check(z.minLength(1), z.maxLength(128)), blockId: blockId(), override: z.exactOptional(modelOverrideSchema()) }),
    result: z.object({ executionId: z.string() }),
  }),
} as const;


const tagged = lazy(() => ({ executionId: z.string(), seq: z.number().check(z.int(), z.gte(0)), blockId: z.string() }));
const WORKFLOW_EVENT_SCHEMAS = {
  [WORKFLOW_EVENTS.blockStarted]: () => z.object({ ...tagged(), blockName: z.string(), blockType: blockTypeSchema(), input: jsonObjectSchema() }),
  /** Text as it arrives, coalesced per block to at most one event per frame interval. */
  [WORKFLOW_EVENTS.blockChunk]: () => z.object({ ...tagged(), text: z.string() }),
  [WORKFLOW_EVENTS.blockDone]: () => z.object({ ...tagged(), trace: blockTraceSchema() }),
  [WORKFLOW_EVENTS.blockSkipped]: () => z.object({ ...tagged(), reason: z.string() }),
  /** A failed block; `handled` when its error connection takes over (the execution goes on). */
  [WORKFLOW_EVENTS.blockFailed]: () => z.object({ ...tagged(), error: blockErrorSchema(), handled: z.boolean(), trace: blockTraceSchema() }),
  [WORKFLOW_EVENTS.blockRetry]: () => z.object({ ...tagged(), attempt: z.number().check(z.int(), z.gte(2)), delayMs: z.number().check(z.int(), z.gte(0)), message: z.string() }),
  /** Exactly one per execution, last: the whole trace (status completed, failed or cancelled). */
  [WORKFLOW_EVENTS.done]: () => z.object({ executionId: z.string(), seq: z.number().check(z.int(), z.gte(0)), execution: workflowExecutionSchema() }),
} as const;

// Keep the zod schemas and the plain model types in step (compile-time only).
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type DeepMutable<T> = T extends readonly (infer U)[] ? DeepMutable<U>[] : T extends object ? { -readonly [K in keyof T]: DeepMutable<T[K]> } : T;
const modelInStep: [
  Same<DeepMutable<Workflow>, DeepMutable<z.output<ReturnType<typeof workflowSchema>>>>,
  Same<DeepMutable<WorkflowExecution>, DeepMutable<z.output<ReturnType<typeof workflowExecutionSchema>>>>,
  Same<DeepMutable<ImportReport>, DeepMutable<z.output<ReturnType<typeof importReportSchema>>>>,
] = [true, true, true];
void modelInStep;

// ---- Commands ---------------------------------------------------------------------------------

/** Every command: the params the UI sends and the result the sidecar answers with. */
export const COMMANDS = lazyRecord({
  hello: () => ({
    params: z.object({ protocolVersion: z.number().check(z.int()) }),
    result: z.object({ protocolVersion: z.number().check(z.int()), sidecarVersion: z.string(), dataDir: z.string(), readOnly: z.boolean(), storageError: z.nullable(z.string()) }),
  }),
  call_ai_provider: () => ({
    params: z.object({ provider: providerName(), request: aiRequestSchema() }),
    result: z.object({ executionId: z.string() }),
  }),
  cancel_execution: () => ({ params: z.object({ executionId: z.string().check(z.minLength(1), z.maxLength(128)) }), result: ok() }),
  list_providers: () => ({ params: empty(), result: z.array(providerInfoSchema()) }),
  list_models: () => ({
    params: empty(),
    result: z.array(z.object({ provider: z.string(), kind: providerKindSchema(), status: providerStatusSchema(), models: z.array(modelInfoSchema()) })),
  }),
  test_connection: () => ({ params: z.object({ provider: providerName() }), result: z.object({ status: providerStatusSchema(), models: z.number() }) }),
  update_provider: () => ({
    params: z.object({
      provider: providerName(),
      baseURL: z.optional(z.url()),
      preset: z.optional(z.string().check(z.maxLength(64))),
      enabled: z.optional(z.boolean()),
      keepAlive: z.optional(z.string().check(z.regex(/^(-1|0|\d+(ms|s|m|h)?)$/, 'a duration such as 10m, 1h or -1'))),
      // Issue 10: per provider idle timeout.
      idleTimeoutSeconds: z.optional(z.number().check(z.int(), z.gte(1), z.lte(3600))),
    }),
    result: providerInfoSchema(),
  }),
  vault_status: () => ({ params: empty(), result: vaultStatusSchema() }),
  vault_init: () => ({ params: z.object({ passphrase: passphrase() }), result: vaultStatusSchema() }),
  vault_unlock: () => ({ params: z.object({ passphrase: z.string().check(z.minLength(1), z.maxLength(1024)) }), result: vaultStatusSchema() }),
  vault_lock: () => ({ params: empty(), result: vaultStatusSchema() }),
  vault_change_passphrase: () => ({ params: z.object({ current: z.string().check(z.minLength(1), z.maxLength(1024)), next: passphrase() }), result: vaultStatusSchema() }),
  vault_set_auto_lock: () => ({ params: z.object({ minutes: z.nullable(z.number().check(z.int(), z.gte(1), z.lte(1440))) }), result: vaultStatusSchema() }),
  set_secret: () => ({ params: z.object({ provider: providerName(), secret: z.string().check(z.minLength(1), z.maxLength(4096)) }), result: secretInfoSchema() }),
  delete_secret: () => ({ params: z.object({ provider: providerName() }), result: ok() }),
  list_secrets: () => ({ params: empty(), result: z.array(secretInfoSchema()) }),
  // ---- Issue 12: keys stay home. After a base-URL change to another origin, the stored key is
  // sent there only once the user confirms the new address with the vault passphrase (a page
  // script does not know it), or enters the key again.
  confirm_key_origin: () => ({ params: z.object({ provider: providerName(), passphrase: z.string().check(z.minLength(1), z.maxLength(1024)) }), result: secretInfoSchema() }),
  list_executions: () => ({
    params: z.object({ limit: z.optional(z.number().check(z.int(), z.gte(1), z.lte(500))), offset: z.optional(z.number().check(z.int(), z.gte(0))), conversationId: z.optional(z.string().check(z.minLength(1), z.maxLength(128))) }),
    result: z.array(executionSummarySchema()),
  }),
  get_execution: () => ({ params: z.object({ id: z.string().check(z.minLength(1), z.maxLength(128)) }), result: executionDetailSchema() }),
  list_local_models: () => ({ params: empty(), result: z.array(localModelSchema()) }),
  model_catalogue: () => ({ params: empty(), result: z.array(catalogueEntrySchema()) }),
  import_model: () => ({ params: z.object({ path: z.string().check(z.minLength(1), z.maxLength(4096)), link: z.optional(z.boolean()) }), result: localModelSchema() }),
  delete_model: () => ({ params: z.object({ name: modelFileName() }), result: ok() }),
  download_model: () => ({
    // Issue 12: https from public addresses only (checked in the sidecar, redirects included); a
    // mirror the user set in SIM_AI_MODEL_MIRROR may be plain http on the LAN.
    params: z.object({ url: z.url({ protocol: /^https?$/ }), name: modelFileName(), sha256: z.optional(z.string().check(z.regex(/^[a-f0-9]{64}$/i))), sizeBytes: z.optional(z.number().check(z.int(), z.positive())) }),
    result: task(),
  }),
  cancel_task: () => ({ params: task(), result: ok() }),
  unload_model: () => ({ params: empty(), result: ok() }),
  set_local_settings: () => ({ params: z.object({ idleUnloadMinutes: z.nullable(z.number().check(z.int(), z.gte(1), z.lte(1440))) }), result: ok() }),
  ollama_loaded: () => ({
    params: empty(),
    result: z.array(z.object({ id: z.string(), sizeBytes: z.number(), vramBytes: z.number(), expiresAt: z.string() })),
  }),
  ollama_pull: () => ({ params: z.object({ model: z.string().check(z.minLength(1), z.maxLength(256)) }), result: task() }),
  ollama_delete: () => ({ params: z.object({ model: z.string().check(z.minLength(1), z.maxLength(256)) }), result: ok() }),
  ...CONVERSATION_COMMANDS,
  ...WORKFLOW_COMMANDS,
});

export type CommandName = keyof typeof COMMANDS;
export type CommandParams<C extends CommandName> = z.input<(typeof COMMANDS)[C]['params']>;
export type CommandResult<C extends CommandName> = z.output<(typeof COMMANDS)[C]['result']>;

/** What the UI dispatches. `id` is the request id the one reply carries back. */
export const requestEnvelopeSchema = lazy(() => z.object({
  v: z.literal(PROTOCOL_VERSION),
  id: z.string().check(z.minLength(1), z.maxLength(128)),
  command: z.string().check(z.minLength(1), z.maxLength(64)),
  params: z.unknown(),
}));
export type RequestEnvelope = z.infer<ReturnType<typeof requestEnvelopeSchema>>;

export const replyEnvelopeSchema = lazy(() => z.discriminatedUnion('ok', [
  z.object({ id: z.string(), ok: z.literal(true), result: z.unknown() }),
  z.object({ id: z.string(), ok: z.literal(false), error: errorDataSchema() }),
]));
export type ReplyEnvelope = z.infer<ReturnType<typeof replyEnvelopeSchema>>;

// ---- Events (sidecar → UI) --------------------------------------------------------------------


export const EVENT_SCHEMAS = lazyRecord({
  [EVENTS.ready]: () => z.object({ protocolVersion: z.number().check(z.int()), sidecarVersion: z.string() }),
  /** Text coalesced to at most one event per animation frame; `seq` counts up from 0 per execution. */
  [EVENTS.chunk]: () => z.object({ executionId: z.string(), seq: z.number().check(z.int(), z.gte(0)), text: z.string() }),
  [EVENTS.done]: () => z.object({ executionId: z.string(), seq: z.number().check(z.int(), z.gte(0)), response: aiResponseSchema() }),
  [EVENTS.error]: () => z.object({ executionId: z.string(), seq: z.number().check(z.int(), z.gte(0)), error: errorDataSchema(), response: aiResponseSchema() }),
  [EVENTS.vault]: () => vaultStatusSchema(),
  /** Progress of a download or an Ollama pull; the last event has status done, failed or cancelled. */
  [EVENTS.task]: () => z.object({
    taskId: z.string(),
    kind: z.enum(['download', 'pull']),
    status: z.enum(['running', 'done', 'failed', 'cancelled']),
    completed: z.optional(z.number()),
    total: z.optional(z.number()),
    message: z.optional(z.string()),
  }),
  [EVENTS.modelLoad]: () => z.object({ model: z.string(), progress: z.number().check(z.gte(0), z.lte(1)) }),
  // ---- Issue 14: retries shown where the answer appears ----
  /**
   * The run failed before its first token and will try again after `delayMs` (Retry-After when the
   * provider gave one). It takes its place in the run's `seq` order, so it never shows after text;
   * `attempt` is the try about to be made (2 = the first retry); `message` is the reason in words.
   */
  [EVENTS.retry]: () => z.object({
    executionId: z.string(),
    seq: z.number().check(z.int(), z.gte(0)),
    attempt: z.number().check(z.int(), z.gte(2)),
    delayMs: z.number().check(z.int(), z.gte(0)),
    message: z.string(),
  }),
  ...CONVERSATION_EVENT_SCHEMAS,
  ...WORKFLOW_EVENT_SCHEMAS,
});

export type EventName = keyof typeof EVENT_SCHEMAS;
export type EventPayload<E extends EventName> = z.output<(typeof EVENT_SCHEMAS)[E]>;

export function isCommandName(value: string): value is CommandName {
  return Object.hasOwn(COMMANDS, value);
}

// ---- Validation errors in words (issue 10) ----------------------------------------------------
/** Both sides say a failed check the same way; see ./issue-text.ts. */
export { describeIssues } from './issue-text.js';
export * from './names.js';
