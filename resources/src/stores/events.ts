/** The sidecar's events, each validated against the contract and handed to the store it concerns. */
import { EVENTS, EVENT_SCHEMAS, type EventName, type EventPayload } from '@contract';
import type { Transport } from '../api/client';
import { useConversationsStore } from './conversations';
import { useModelsStore } from './models';
import { useRunStore } from './run';
import { useVaultStore } from './vault';

/** Hands each valid event of one kind to a handler; events that break the contract are dropped. */
function listen<E extends EventName>(transport: Transport, event: E, handler: (data: EventPayload<E>) => void): void {
  transport.on(event, (data) => {
    const parsed = EVENT_SCHEMAS[event].safeParse(data);
    if (parsed.success) handler(parsed.data as EventPayload<E>);
  });
}

export function wireEvents(transport: Transport): void {
  const vault = useVaultStore();
  const models = useModelsStore();
  const run = useRunStore();
  const conversations = useConversationsStore();
  // The sidecar announces vault changes it makes by itself (auto-lock).
  listen(transport, EVENTS.vault, (status) => vault.set(status));
  listen(transport, EVENTS.task, (task) => models.onTask(task));
  listen(transport, EVENTS.modelLoad, (load) => (run.onModelLoad(load), conversations.onModelLoad(load)));
  listen(transport, EVENTS.conversation, (change) => conversations.onStored(change));
  listen(transport, EVENTS.context, (usage) => conversations.onContext(usage));
}
