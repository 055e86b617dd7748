/**
 * The one contract between the UI and the sidecar: every command and every event, as zod schemas
 * that both sides validate against (the UI what it receives, the sidecar what it receives and what
 * it sends). Imported by both; it depends on nothing but zod and the core's plain types.
 *
 * Transport (see ../channel): the UI sends `Neutralino.extensions.dispatch(SIDECAR_ID, REQUEST_EVENT,
 * envelope)`; the sidecar answers every request exactly once with a `REPLY_EVENT` broadcast, and
 * streams runs as `EVENTS.chunk` … then one `EVENTS.done` or one `EVENTS.error`.
 */
import { z } from 'zod';
import { AI_ERROR_CODES } from '../core/errors.js';

export const PROTOCOL_VERSION = 1;
/** Neutralino extension ids allow letters, digits and dots only (protocol doc §1), so not `ai-sidecar`. */
export const SIDECAR_ID = 'ai.sidecar';
export const REQUEST_EVENT = 'sim.request';
export const REPLY_EVENT = 'sim.reply';

/** Codes of protocol-level failures, beside the AI error codes. */
export const CHANNEL_ERROR_CODES = ['bad_message', 'unknown_command', 'not_found', 'timeout', 'disconnected', 'storage', 'read_only', 'internal', 'validation', 'wrong_passphrase', 'vault_exists', 'vault_not_initialised'] as const;

export const errorDataSchema = z.object({
  code: z.enum([...AI_ERROR_CODES, ...CHANNEL_ERROR_CODES]),
  message: z.string(),
  retryable: z.boolean(),
  status: z.number().optional(),
  retryAfterMs: z.number().optional(),
  provider: z.string().optional(),
});
export type ErrorData = z.infer<typeof errorDataSchema>;
export type ErrorCode = ErrorData['code'];

// ---- Shared shapes ----------------------------------------------------------------------------

const providerName = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'a provider id such as "openai"');

export const chatMessageSchema = z.object({
  role: z.enum(['system', 'user', 'assistant']),
  content: z.string().max(4_000_000),
});

export const responseFormatSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text') }),
  z.object({ type: z.literal('json') }),
  z.object({ type: z.literal('json_schema'), name: z.string().min(1).max(64), schema: z.record(z.string(), z.unknown()) }),
]);

/** An AI block's request as the UI sends it (`stream: true` is the only mode the UI uses). */
export const aiRequestSchema = z.object({
  model: z.string().min(1).max(4096),
  messages: z.array(chatMessageSchema).min(1).max(1000),
  stream: z.literal(true).optional(),
  temperature: z.number().min(0).max(2).optional(),
  maxTokens: z.number().int().positive().max(1_000_000).optional(),
  topP: z.number().gt(0).max(1).optional(),
  stop: z.array(z.string().min(1)).max(16).optional(),
  responseFormat: responseFormatSchema.optional(),
  contextSize: z.number().int().positive().max(1_048_576).optional(),
});
export type AIRequestInput = z.infer<typeof aiRequestSchema>;

const usageSchema = z.object({ inputTokens: z.number(), outputTokens: z.number() });
const timingSchema = z.object({
  timeToFirstTokenMs: z.number().optional(),
  totalMs: z.number(),
  tokensPerSecond: z.number(),
});
const finishReasonSchema = z.enum(['stop', 'length', 'cancelled', 'error', 'incomplete']);
const warningSchema = z.object({ code: z.enum(['prompt_truncated', 'context_reduced']), message: z.string() });

export const aiResponseSchema = z.object({
  provider: z.string(),
  model: z.string(),
  text: z.string(),
  finishReason: finishReasonSchema,
  usage: usageSchema,
  timing: timingSchema,
  error: errorDataSchema.optional(),
  warnings: z.array(warningSchema).optional(),
});

const providerStatusSchema = z.object({
  state: z.enum(['ready', 'needs_key', 'locked', 'not_running', 'error']),
  detail: z.string().optional(),
});
const providerKindSchema = z.enum(['openai-compatible', 'anthropic', 'ollama', 'local']);
const modelInfoSchema = z.object({
  id: z.string(),
  name: z.string().optional(),
  sizeBytes: z.number().optional(),
  family: z.string().optional(),
  contextLength: z.number().optional(),
});

export const providerInfoSchema = z.object({
  name: providerName,
  kind: providerKindSchema,
  label: z.string(),
  baseURL: z.string().optional(),
  preset: z.string().optional(),
  enabled: z.boolean(),
  keyRequired: z.boolean(),
  keepAlive: z.string().optional(),
  // Issue 12: how traffic to `baseURL` travels; `unencrypted` is plain http to another computer
  // (allowed for keyless servers only, and the UI says so).
  transport: z.enum(['https', 'loopback', 'unencrypted']).optional(),
});

const vaultStatusSchema = z.object({
  state: z.enum(['uninitialised', 'locked', 'unlocked']),
  /** Minutes of inactivity before the vault locks itself; null when auto-lock is off. */
  autoLockMinutes: z.number().nullable(),
});

const secretInfoSchema = z.object({
  provider: z.string(),
  present: z.boolean(),
  hint: z.string().nullable(),
  updatedAt: z.string().nullable(),
  // Issue 12: the origin (scheme://host:port) the key was entered for; it is sent nowhere else.
  origin: z.string().nullable(),
});

const executionStatusSchema = z.enum(['completed', 'cancelled', 'failed', 'incomplete']);
export const executionSummarySchema = z.object({
  id: z.string(),
  startedAt: z.string(),
  provider: z.string(),
  model: z.string(),
  status: executionStatusSchema,
  finishReason: finishReasonSchema,
  inputTokens: z.number(),
  outputTokens: z.number(),
  timeToFirstTokenMs: z.number().nullable(),
  totalMs: z.number(),
  errorCode: z.string().nullable(),
});
export const executionDetailSchema = executionSummarySchema.extend({
  text: z.string(),
  errorMessage: z.string().nullable(),
});

const localModelSchema = z.object({
  id: z.string(),
  name: z.string(),
  path: z.string(),
  sizeBytes: z.number(),
  architecture: z.string().nullable(),
  parameters: z.number().nullable(),
  quantization: z.string().nullable(),
  contextLength: z.number().nullable(),
  hasChatTemplate: z.boolean(),
  error: z.string().optional(),
});
const catalogueEntrySchema = z.object({
  id: z.string(),
  name: z.string(),
  url: z.string(),
  sizeBytes: z.number(),
  ramBytes: z.number(),
  sha256: z.string().nullable(),
  checksumVerified: z.boolean(),
  licence: z.string(),
});
const modelFileName = z.string().regex(/^[\w.() -]+\.gguf$/i, 'a .gguf file name').max(255);
const task = z.object({ taskId: z.string() });

const passphrase = z.string().min(8, 'at least 8 characters').max(1024);
const empty = z.object({}).strict();
const ok = z.object({ ok: z.literal(true) });

// ---- Commands ---------------------------------------------------------------------------------

/** Every command: the params the UI sends and the result the sidecar answers with. */
export const COMMANDS = {
  hello: {
    params: z.object({ protocolVersion: z.number().int() }),
    result: z.object({ protocolVersion: z.number().int(), sidecarVersion: z.string(), dataDir: z.string(), readOnly: z.boolean(), storageError: z.string().nullable() }),
  },
  call_ai_provider: {
    params: z.object({ provider: providerName, request: aiRequestSchema }),
    result: z.object({ executionId: z.string() }),
  },
  cancel_execution: { params: z.object({ executionId: z.string().min(1).max(128) }), result: ok },
  list_providers: { params: empty, result: z.array(providerInfoSchema) },
  list_models: {
    params: empty,
    result: z.array(z.object({ provider: z.string(), kind: providerKindSchema, status: providerStatusSchema, models: z.array(modelInfoSchema) })),
  },
  test_connection: { params: z.object({ provider: providerName }), result: z.object({ status: providerStatusSchema, models: z.number() }) },
  update_provider: {
    params: z.object({
      provider: providerName,
      baseURL: z.url().optional(),
      preset: z.string().max(64).optional(),
      enabled: z.boolean().optional(),
      keepAlive: z.string().regex(/^(-1|0|\d+(ms|s|m|h)?)$/, 'a duration such as 10m, 1h or -1').optional(),
    }),
    result: providerInfoSchema,
  },
  vault_status: { params: empty, result: vaultStatusSchema },
  vault_init: { params: z.object({ passphrase }), result: vaultStatusSchema },
  vault_unlock: { params: z.object({ passphrase: z.string().min(1).max(1024) }), result: vaultStatusSchema },
  vault_lock: { params: empty, result: vaultStatusSchema },
  vault_change_passphrase: { params: z.object({ current: z.string().min(1).max(1024), next: passphrase }), result: vaultStatusSchema },
  vault_set_auto_lock: { params: z.object({ minutes: z.number().int().min(1).max(1440).nullable() }), result: vaultStatusSchema },
  set_secret: { params: z.object({ provider: providerName, secret: z.string().min(1).max(4096) }), result: secretInfoSchema },
  delete_secret: { params: z.object({ provider: providerName }), result: ok },
  list_secrets: { params: empty, result: z.array(secretInfoSchema) },
  // ---- Issue 12: keys stay home. After a base-URL change to another origin, the stored key is
  // sent there only once the user confirms the new address with the vault passphrase (a page
  // script does not know it), or enters the key again.
  confirm_key_origin: { params: z.object({ provider: providerName, passphrase: z.string().min(1).max(1024) }), result: secretInfoSchema },
  list_executions: {
    params: z.object({ limit: z.number().int().min(1).max(500).optional(), offset: z.number().int().min(0).optional() }),
    result: z.array(executionSummarySchema),
  },
  get_execution: { params: z.object({ id: z.string().min(1).max(128) }), result: executionDetailSchema },
  list_local_models: { params: empty, result: z.array(localModelSchema) },
  model_catalogue: { params: empty, result: z.array(catalogueEntrySchema) },
  import_model: { params: z.object({ path: z.string().min(1).max(4096), link: z.boolean().optional() }), result: localModelSchema },
  delete_model: { params: z.object({ name: modelFileName }), result: ok },
  download_model: {
    // Issue 12: https from public addresses only (checked in the sidecar, redirects included); a
    // mirror the user set in SIM_AI_MODEL_MIRROR may be plain http on the LAN.
    params: z.object({ url: z.url({ protocol: /^https?$/ }), name: modelFileName, sha256: z.string().regex(/^[a-f0-9]{64}$/i).optional(), sizeBytes: z.number().int().positive().optional() }),
    result: task,
  },
  cancel_task: { params: task, result: ok },
  unload_model: { params: empty, result: ok },
  set_local_settings: { params: z.object({ idleUnloadMinutes: z.number().int().min(1).max(1440).nullable() }), result: ok },
  ollama_loaded: {
    params: empty,
    result: z.array(z.object({ id: z.string(), sizeBytes: z.number(), vramBytes: z.number(), expiresAt: z.string() })),
  },
  ollama_pull: { params: z.object({ model: z.string().min(1).max(256) }), result: task },
  ollama_delete: { params: z.object({ model: z.string().min(1).max(256) }), result: ok },
} as const;

export type CommandName = keyof typeof COMMANDS;
export type CommandParams<C extends CommandName> = z.input<(typeof COMMANDS)[C]['params']>;
export type CommandResult<C extends CommandName> = z.output<(typeof COMMANDS)[C]['result']>;

/** What the UI dispatches. `id` is the request id the one reply carries back. */
export const requestEnvelopeSchema = z.object({
  v: z.literal(PROTOCOL_VERSION),
  id: z.string().min(1).max(128),
  command: z.string().min(1).max(64),
  params: z.unknown(),
});
export type RequestEnvelope = z.infer<typeof requestEnvelopeSchema>;

export const replyEnvelopeSchema = z.discriminatedUnion('ok', [
  z.object({ id: z.string(), ok: z.literal(true), result: z.unknown() }),
  z.object({ id: z.string(), ok: z.literal(false), error: errorDataSchema }),
]);
export type ReplyEnvelope = z.infer<typeof replyEnvelopeSchema>;

// ---- Events (sidecar → UI) --------------------------------------------------------------------

/** Event names as broadcast by the sidecar and heard through `Neutralino.events.on`. */
export const EVENTS = {
  ready: 'sim.ready',
  chunk: 'sim.chunk',
  done: 'sim.done',
  error: 'sim.error',
  vault: 'sim.vault',
  task: 'sim.task',
  modelLoad: 'sim.model-load',
} as const;

export const EVENT_SCHEMAS = {
  [EVENTS.ready]: z.object({ protocolVersion: z.number().int(), sidecarVersion: z.string() }),
  /** Text coalesced to at most one event per animation frame; `seq` counts up from 0 per execution. */
  [EVENTS.chunk]: z.object({ executionId: z.string(), seq: z.number().int().min(0), text: z.string() }),
  [EVENTS.done]: z.object({ executionId: z.string(), seq: z.number().int().min(0), response: aiResponseSchema }),
  [EVENTS.error]: z.object({ executionId: z.string(), seq: z.number().int().min(0), error: errorDataSchema, response: aiResponseSchema }),
  [EVENTS.vault]: vaultStatusSchema,
  /** Progress of a download or an Ollama pull; the last event has status done, failed or cancelled. */
  [EVENTS.task]: z.object({
    taskId: z.string(),
    kind: z.enum(['download', 'pull']),
    status: z.enum(['running', 'done', 'failed', 'cancelled']),
    completed: z.number().optional(),
    total: z.number().optional(),
    message: z.string().optional(),
  }),
  [EVENTS.modelLoad]: z.object({ model: z.string(), progress: z.number().min(0).max(1) }),
} as const;

export type EventName = keyof typeof EVENT_SCHEMAS;
export type EventPayload<E extends EventName> = z.output<(typeof EVENT_SCHEMAS)[E]>;

export function isCommandName(value: string): value is CommandName {
  return Object.hasOwn(COMMANDS, value);
}
