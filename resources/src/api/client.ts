/**
 * The UI's side of the contract: `invoke(command, params)` returns a typed promise (one request id,
 * one reply, a timeout), and `callAIProvider` returns a handle that receives a run's chunks in order
 * and then one done or error. Everything received is validated against the contract's schemas.
 */
import {
  COMMANDS,
  EVENT_SCHEMAS,
  EVENTS,
  PROTOCOL_VERSION,
  REPLY_EVENT,
  describeIssues,
  replyEnvelopeSchema,
  WORKFLOW_EVENTS,
  type AIRequestInput,
  type CommandName,
  type CommandParams,
  type CommandResult,
  type ErrorData,
  type EventPayload,
  type RequestEnvelope,
} from '@contract';

/** How messages travel; the Neutralino transport in production, an in-memory one in tests. */
export interface Transport {
  send(envelope: RequestEnvelope): Promise<void>;
  on(event: string, handler: (data: unknown) => void): void;
  onOffline(handler: () => void): void;
  /** The runtime says the sidecar's socket closed (`extClientDisconnect`): it crashed or was killed. */
  onSidecarStopped?(handler: () => void): void;
  /** Restarts the whole app (`app.restartProcess`); rejects when the runtime refuses. */
  restartApp?(): Promise<void>;
}

/** `offline`: the runtime (the window's host) went away. `stopped`: the sidecar, the engine, did. */
export type ConnectionState = 'connecting' | 'ready' | 'offline' | 'stopped';

export class ClientError extends Error {
  override readonly name = 'ClientError';
  constructor(readonly data: ErrorData) {
    super(data.message);
  }
  get code(): ErrorData['code'] {
    return this.data.code;
  }
}

type Chunk = EventPayload<typeof EVENTS.chunk>;
type Done = EventPayload<typeof EVENTS.done>;
type Failed = EventPayload<typeof EVENTS.error>;
/** A failed try the engine will make again: attempt about to be made, the wait, and why. */
export type RetryNotice = EventPayload<typeof EVENTS.retry>;
type RunEvent = { kind: 'chunk'; payload: Chunk } | { kind: 'retry'; payload: RetryNotice } | { kind: 'done'; payload: Done } | { kind: 'error'; payload: Failed };
const RUN_EVENT_NAMES = { chunk: EVENTS.chunk, retry: EVENTS.retry, done: EVENTS.done, error: EVENTS.error } as const;

type WorkflowEventName = (typeof WORKFLOW_EVENTS)[keyof typeof WORKFLOW_EVENTS];
/** One workflow run event, by its contract name; `lost` when the channel went away before `done`. */
export type WorkflowRunEvent =
  | { [N in WorkflowEventName]: { name: N; payload: EventPayload<N> } }[WorkflowEventName]
  | { name: 'lost'; error: ErrorData };

export interface WorkflowRunHandle {
  readonly executionId: string;
  /** Every event of the execution once, in `seq` order, including those that came before this call. */
  onEvent(handler: (event: WorkflowRunEvent) => void): WorkflowRunHandle;
  cancel(): Promise<void>;
}

export interface RunHandle {
  readonly executionId: string;
  onChunk(handler: (text: string) => void): RunHandle;
  /** A retry before the first token, in its place among the chunks (so never after text). */
  onRetry(handler: (retry: RetryNotice) => void): RunHandle;
  onDone(handler: (payload: Done) => void): RunHandle;
  onError(handler: (payload: Failed) => void): RunHandle;
  cancel(): Promise<void>;
}

interface Pending {
  resolve(result: unknown): void;
  reject(error: ClientError): void;
  timer: ReturnType<typeof setTimeout>;
  command: CommandName;
}

export interface ClientOptions {
  /** Per command. Default 15 s. */
  readonly timeoutMs?: number;
  readonly newId?: () => string;
}

/** Executions whose events are kept while their start reply is awaited. */
const MAX_UNCLAIMED = 32;

export class SidecarClient {
  private readonly pending = new Map<string, Pending>();
  private readonly runs = new Map<string, RunReceiver>();
  /** Events for executions whose `call_ai_provider` reply has not arrived yet. */
  private readonly early = new Map<string, RunEvent[]>();
  private readonly flows = new Map<string, WorkflowReceiver>();
  private readonly earlyFlow = new Map<string, WorkflowRunEvent[]>();
  private readonly stateListeners = new Set<(state: ConnectionState) => void>();
  state: ConnectionState = 'connecting';

  constructor(
    private readonly transport: Transport,
    private readonly options: ClientOptions = {},
  ) {
    transport.on(REPLY_EVENT, (data) => this.onReply(data));
    transport.on(EVENTS.chunk, (data) => this.onRunEvent('chunk', data));
    transport.on(EVENTS.retry, (data) => this.onRunEvent('retry', data));
    transport.on(EVENTS.done, (data) => this.onRunEvent('done', data));
    transport.on(EVENTS.error, (data) => this.onRunEvent('error', data));
    for (const name of Object.values(WORKFLOW_EVENTS)) transport.on(name, (data) => this.onWorkflowEvent(name, data));
    transport.onOffline(() => this.goOffline('offline'));
    transport.onSidecarStopped?.(() => this.goOffline('stopped'));
  }

  onState(listener: (state: ConnectionState) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  setState(state: ConnectionState): void {
    this.state = state;
    for (const listener of this.stateListeners) listener(state);
  }

  invoke<C extends CommandName>(command: C, params: CommandParams<C>): Promise<CommandResult<C>> {
    if (this.state === 'offline' || this.state === 'stopped') return Promise.reject(new ClientError(disconnected(this.state)));
    const id = this.options.newId?.() ?? crypto.randomUUID();
    const timeoutMs = this.options.timeoutMs ?? 15_000;
    return new Promise<CommandResult<C>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        // Plain words for the window; the command's name is for logs, not people.
        reject(new ClientError({ code: 'timeout', message: `The app's engine did not answer within ${timeoutMs / 1000} s. It may be busy; if this keeps happening, restart the app.`, retryable: true }));
      }, timeoutMs);
      this.pending.set(id, { resolve: (r) => resolve(r as CommandResult<C>), reject, timer, command });
      this.transport.send({ v: PROTOCOL_VERSION, id, command, params }).catch((error: unknown) => {
        this.settle(id);
        reject(new ClientError({ code: 'disconnected', message: `Could not reach the sidecar: ${describe(error)}`, retryable: true }));
      });
    });
  }

  /** Starts an AI block run; chunks that arrive before the reply are kept and replayed in order. */
  async callAIProvider(provider: string, request: AIRequestInput): Promise<RunHandle> {
    const { executionId } = await this.invoke('call_ai_provider', { provider, request: { ...request, stream: true } });
    return this.track(executionId);
  }

  /**
   * A handle on a run some other command started (a conversation's send, regenerate, edit): its
   * events, including any that arrived before this call, in order.
   */
  track(executionId: string): RunHandle {
    const existing = this.runs.get(executionId);
    if (existing !== undefined) return existing;
    const receiver = new RunReceiver(executionId, () => this.invoke('cancel_execution', { executionId }).then(() => undefined), () => this.runs.delete(executionId));
    this.runs.set(executionId, receiver);
    for (const event of (this.early.get(executionId) ?? []).sort((a, b) => a.payload.seq - b.payload.seq)) receiver.deliver(event);
    this.early.delete(executionId);
    return receiver;
  }

  /** Starts a workflow execution (`run_workflow` or `rerun_from_block`); events before the reply are kept. */
  async runWorkflow(start: Promise<{ executionId: string }>): Promise<WorkflowRunHandle> {
    const { executionId } = await start;
    const receiver = new WorkflowReceiver(executionId, () => this.invoke('cancel_execution', { executionId }).then(() => undefined), () => this.flows.delete(executionId));
    this.flows.set(executionId, receiver);
    for (const event of this.earlyFlow.get(executionId) ?? []) receiver.deliver(event);
    this.earlyFlow.delete(executionId);
    return receiver;
  }

  private onWorkflowEvent(name: WorkflowEventName, data: unknown): void {
    const parsed = EVENT_SCHEMAS[name].safeParse(data);
    if (!parsed.success) return;
    const event = { name, payload: parsed.data } as WorkflowRunEvent;
    const id = parsed.data.executionId;
    const receiver = this.flows.get(id);
    if (receiver !== undefined) return receiver.deliver(event);
    this.earlyFlow.set(id, [...(this.earlyFlow.get(id) ?? []), event]);
    // Events nobody claims (their run's reply never came) must not pile up: keep the newest few executions.
    if (this.earlyFlow.size > MAX_UNCLAIMED) this.earlyFlow.delete(this.earlyFlow.keys().next().value ?? '');
  }

  private onReply(data: unknown): void {
    const reply = replyEnvelopeSchema().safeParse(data);
    if (!reply.success) return;
    const entry = this.settle(reply.data.id);
    if (entry === undefined) return;
    if (!reply.data.ok) return entry.reject(new ClientError(reply.data.error));
    const result = COMMANDS[entry.command].result.safeParse(reply.data.result);
    if (result.success) entry.resolve(result.data);
    else entry.reject(new ClientError({ code: 'bad_message', message: `The sidecar's answer to ${entry.command} broke the contract.`, retryable: false }));
  }

  private onRunEvent(kind: RunEvent['kind'], data: unknown): void {
    const schema = EVENT_SCHEMAS[RUN_EVENT_NAMES[kind]];
    const parsed = schema.safeParse(data);
    if (!parsed.success) {
      this.onBrokenRunEvent(kind, data, parsed.error.issues);
      return;
    }
    const event = { kind, payload: parsed.data } as RunEvent;
    const receiver = this.runs.get(event.payload.executionId);
    if (receiver !== undefined) receiver.deliver(event);
    else this.early.set(event.payload.executionId, [...(this.early.get(event.payload.executionId) ?? []), event]);
  }

  /**
   * An event that breaks the contract must not leave its run waiting forever. A broken final report
   * ends the run, saying what was wrong; a broken chunk or retry notice with a usable sequence number
   * holds its place as empty text (later events wait on its `seq`); anything else is ignored.
   */
  private onBrokenRunEvent(kind: RunEvent['kind'], data: unknown, issues: Parameters<typeof describeIssues>[0]): void {
    const { executionId, seq } = (typeof data === 'object' && data !== null ? data : {}) as { executionId?: unknown; seq?: unknown };
    if (typeof executionId !== 'string') return;
    const receiver = this.runs.get(executionId);
    if (kind === 'chunk' || kind === 'retry') {
      if (receiver !== undefined && Number.isInteger(seq) && (seq as number) >= 0) receiver.deliver({ kind: 'chunk', payload: { executionId, seq: seq as number, text: '' } });
      return;
    }
    receiver?.fail({ code: 'bad_message', message: `The run was ended: the engine's final report was malformed (${describeIssues(issues)}).`, retryable: false });
  }

  private settle(id: string): Pending | undefined {
    const entry = this.pending.get(id);
    if (entry === undefined) return undefined;
    clearTimeout(entry.timer);
    this.pending.delete(id);
    return entry;
  }

  /** Ends every pending call and every run at once, with the reason: nothing waits for a timeout. */
  private goOffline(state: 'offline' | 'stopped'): void {
    if (this.state === state) return;
    this.setState(state);
    const reason = disconnected(state);
    for (const id of [...this.pending.keys()]) this.settle(id)?.reject(new ClientError(reason));
    for (const receiver of [...this.runs.values()]) receiver.fail(reason);
    for (const [executionId] of this.early) this.early.delete(executionId);
    for (const receiver of [...this.flows.values()]) receiver.deliver({ name: 'lost', error: reason });
  }
}

/** Releases an execution's events in `seq` order from 0, holding those that arrive early. */
class SeqOrder<E extends { payload: { seq: number } }> {
  next = 0;
  private readonly held = new Map<number, E>();

  /** Takes one event; returns the events now ready, in order (none while a gap remains). */
  take(event: E): E[] {
    this.held.set(event.payload.seq, event);
    const ready: E[] = [];
    for (let e = this.held.get(this.next); e !== undefined; e = this.held.get(this.next)) {
      this.held.delete(this.next);
      this.next += 1;
      ready.push(e);
    }
    return ready;
  }

  /** Gives up on a gap: everything held, in order, as if nothing were missing. */
  flush(): E[] {
    const rest = [...this.held.values()].sort((a, b) => a.payload.seq - b.payload.seq);
    this.held.clear();
    const last = rest.at(-1);
    if (last !== undefined) this.next = last.payload.seq + 1;
    return rest;
  }
}

/** Orders one workflow execution's events by `seq` and hands each to the handlers once; `done` or `lost` ends it. */
class WorkflowReceiver implements WorkflowRunHandle {
  private readonly order = new SeqOrder<Exclude<WorkflowRunEvent, { name: 'lost' }>>();
  private readonly delivered: WorkflowRunEvent[] = [];
  private readonly handlers: ((event: WorkflowRunEvent) => void)[] = [];
  private finished = false;

  constructor(
    readonly executionId: string,
    private readonly cancelRun: () => Promise<void>,
    private readonly forget: () => void,
  ) {}

  onEvent(handler: (event: WorkflowRunEvent) => void): WorkflowRunHandle {
    this.handlers.push(handler);
    for (const event of this.delivered) handler(event);
    return this;
  }

  cancel(): Promise<void> {
    return this.finished ? Promise.resolve() : this.cancelRun();
  }

  deliver(event: WorkflowRunEvent): void {
    if (event.name === 'lost') return this.dispatch(event);
    for (const ready of this.order.take(event)) this.dispatch(ready);
  }

  private dispatch(event: WorkflowRunEvent): void {
    if (this.finished) return;
    this.delivered.push(event);
    for (const handler of this.handlers) handler(event);
    if (event.name === WORKFLOW_EVENTS.done || event.name === 'lost') {
      this.finished = true;
      this.forget();
    }
  }
}

/**
 * Orders a run's events by sequence number and hands each to the handlers once. Events that came
 * before a handler was attached are replayed to it, so nothing is lost between the reply and `onChunk`.
 */
class RunReceiver implements RunHandle {
  private readonly order = new SeqOrder<RunEvent>();
  private readonly delivered: RunEvent[] = [];
  private readonly handlers = { chunk: [] as ((text: string) => void)[], retry: [] as ((r: RetryNotice) => void)[], done: [] as ((p: Done) => void)[], error: [] as ((p: Failed) => void)[] };
  private finished = false;

  constructor(
    readonly executionId: string,
    private readonly cancelRun: () => Promise<void>,
    private readonly forget: () => void,
  ) {}

  onChunk(handler: (text: string) => void): RunHandle {
    this.handlers.chunk.push(handler);
    for (const e of this.delivered) if (e.kind === 'chunk' && e.payload.text !== '') handler(e.payload.text);
    return this;
  }
  onRetry(handler: (retry: RetryNotice) => void): RunHandle {
    this.handlers.retry.push(handler);
    for (const e of this.delivered) if (e.kind === 'retry') handler(e.payload);
    return this;
  }
  onDone(handler: (payload: Done) => void): RunHandle {
    this.handlers.done.push(handler);
    for (const e of this.delivered) if (e.kind === 'done') handler(e.payload);
    return this;
  }
  onError(handler: (payload: Failed) => void): RunHandle {
    this.handlers.error.push(handler);
    for (const e of this.delivered) if (e.kind === 'error') handler(e.payload);
    return this;
  }

  cancel(): Promise<void> {
    return this.finished ? Promise.resolve() : this.cancelRun();
  }

  deliver(event: RunEvent): void {
    for (const ready of this.order.take(event)) this.dispatch(ready);
    // The end arrived but something before it never did (dropped in transit): do not wait forever.
    // After a grace period, deliver what is held in order, skipping the gap; the end carries the text.
    if (isEnd(event) && !this.finished) {
      setTimeout(() => {
        for (const held of this.order.flush()) this.dispatch(held);
      }, GAP_GRACE_MS);
    }
  }

  /** Ends the run from this side (the engine is gone, or sent something broken), keeping its text. */
  fail(error: ErrorData): void {
    if (this.finished) return;
    const text = this.delivered.map((e) => (e.kind === 'chunk' ? e.payload.text : '')).join('');
    const response = { provider: '', model: '', text, finishReason: 'error' as const, usage: { inputTokens: 0, outputTokens: 0 }, timing: { totalMs: 0, tokensPerSecond: 0 }, error };
    this.dispatch({ kind: 'error', payload: { executionId: this.executionId, seq: this.order.next, error, response } });
  }

  private dispatch(event: RunEvent): void {
    if (this.finished) return;
    this.delivered.push(event);
    // An empty chunk only holds a broken event's place: nothing arrived, so nothing is announced.
    if (event.kind === 'chunk') for (const h of event.payload.text === '' ? [] : this.handlers.chunk) h(event.payload.text);
    else if (event.kind === 'retry') for (const h of this.handlers.retry) h(event.payload);
    else if (event.kind === 'done') for (const h of this.handlers.done) h(event.payload);
    else for (const h of this.handlers.error) h(event.payload);
    if (isEnd(event)) {
      this.finished = true;
      this.forget();
    }
  }
}

function isEnd(event: RunEvent): boolean {
  return event.kind === 'done' || event.kind === 'error';
}

/** How long a run's end waits for events missing before it. */
const GAP_GRACE_MS = 1_000;

function disconnected(state: 'offline' | 'stopped' = 'offline'): ErrorData {
  const message = state === 'stopped'
    ? 'The engine stopped (the app\'s AI process exited), so this was ended. Restart the app to go on.'
    : 'The app\'s runtime went away. Restart the app.';
  return { code: 'disconnected', message, retryable: false };
}

function describe(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'message' in error) return String((error as { message: unknown }).message);
  return String(error);
}
