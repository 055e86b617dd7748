import { createPinia } from 'pinia';
import { createApp } from 'vue';
import App from './App.vue';
import { neutralinoTransport, whenReady } from './api/neutralino-transport';
import { useConnectionStore } from './stores/connection';
import { useConversationsStore } from './stores/conversations';
import { wireEvents } from './stores/events';
import { useOnboardingStore } from './stores/onboarding';
import { usePresetsStore } from './stores/presets';
import { useProvidersStore } from './stores/providers';
import { useVaultStore } from './stores/vault';
import './styles.css';

const app = createApp(App);
app.use(createPinia());
app.mount('#app');

async function start(): Promise<void> {
  const ready = whenReady();
  const transport = neutralinoTransport();
  wireEvents(transport);
  await ready;
  const connection = useConnectionStore();
  await connection.connect(transport);
  if (connection.state !== 'ready') return;
  const conversations = useConversationsStore();
  // Asked only now that the channel is up (asking earlier left the provider list empty until ↻).
  // Model lists may wait on the network: they are not waited for here.
  void useProvidersStore().refresh();
  void usePresetsStore().refresh();
  const [status] = await Promise.all([useOnboardingStore().refresh(), useVaultStore().refresh(), conversations.refreshList()]);
  // A new conversation, ready to type into, on the last used model (or the local model found),
  // unless the person has already started one.
  if (conversations.draft === undefined && conversations.current === undefined) conversations.startDraft(conversations.list.length > 0 ? {} : status?.suggested ?? {});
}

void start();
