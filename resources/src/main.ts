import { createPinia } from 'pinia';
import { createApp } from 'vue';
import { EVENTS, EVENT_SCHEMAS, type EventName, type EventPayload } from '@contract';
import App from './App.vue';
import { neutralinoTransport, whenReady } from './api/neutralino-transport';
import type { Transport } from './api/client';
import { useConnectionStore } from './stores/connection';
import { useConversationsStore } from './stores/conversations';
import { useModelsStore } from './stores/models';
import { useOnboardingStore } from './stores/onboarding';
import { usePresetsStore } from './stores/presets';
import { useProvidersStore } from './stores/providers';
import { useRunStore } from './stores/run';
import { useVaultStore } from './stores/vault';
import './styles.css';

const app = createApp(App);
app.use(createPinia());
app.mount('#app');

/** Hands each valid event of one kind to a store; events that break the contract are dropped. */
function listen<E extends EventName>(transport: Transport, event: E, handler: (data: EventPayload<E>) => void): void {
  transport.on(event, (data) => {
    const parsed = EVENT_SCHEMAS[event].safeParse(data);
    if (parsed.success) handler(parsed.data as EventPayload<E>);
  });
}

async function start(): Promise<void> {
  const ready = whenReady();
  const transport = neutralinoTransport();
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
  await ready;
  const connection = useConnectionStore();
  await connection.connect(transport);
  if (connection.state !== 'ready') return;
  // Asked only now that the channel is up (asking earlier left the provider list empty until ↻).
  const [status] = await Promise.all([useOnboardingStore().refresh(), vault.refresh(), useProvidersStore().refresh(), usePresetsStore().refresh(), conversations.refreshList()]);
  // A new conversation, ready to type into, on the last used model (or the local model found).
  conversations.startDraft(conversations.list.length > 0 ? {} : status?.suggested ?? {});
}

void start();
