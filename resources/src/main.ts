import { createPinia } from 'pinia';
import { createApp } from 'vue';
import { EVENTS, EVENT_SCHEMAS } from '@contract';
import App from './App.vue';
import { neutralinoTransport, whenReady } from './api/neutralino-transport';
import { useConnectionStore } from './stores/connection';
import { useModelsStore } from './stores/models';
import { useRunStore } from './stores/run';
import { useVaultStore } from './stores/vault';
import './styles.css';

const app = createApp(App);
app.use(createPinia());
app.mount('#app');

async function start(): Promise<void> {
  const ready = whenReady();
  const transport = neutralinoTransport();
  const vault = useVaultStore();
  // The sidecar announces vault changes it makes by itself (auto-lock).
  transport.on(EVENTS.vault, (data) => {
    const status = EVENT_SCHEMAS[EVENTS.vault].safeParse(data);
    if (status.success) vault.set(status.data);
  });
  const models = useModelsStore();
  transport.on(EVENTS.task, (data) => {
    const task = EVENT_SCHEMAS[EVENTS.task].safeParse(data);
    if (task.success) models.onTask(task.data);
  });
  const run = useRunStore();
  transport.on(EVENTS.modelLoad, (data) => {
    const load = EVENT_SCHEMAS[EVENTS.modelLoad].safeParse(data);
    if (load.success) run.onModelLoad(load.data);
  });
  await ready;
  await useConnectionStore().connect(transport);
  await vault.refresh();
}

void start();
