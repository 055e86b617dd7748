import { createPinia } from 'pinia';
import { createApp } from 'vue';
import App from './App.vue';
import { carryTyping } from './lib/carry-typing';
import { useConnectionStore } from './stores/connection';
import { useConversationsStore } from './stores/conversations';
import { useOnboardingStore } from './stores/onboarding';
import { usePresetsStore } from './stores/presets';
import { useProvidersStore } from './stores/providers';
import { useVaultStore } from './stores/vault';
import './styles.css';

const app = createApp(App);
app.use(createPinia());

/**
 * A built index.html holds the first screen, rendered at build time (prerender.ts): once parsed and
 * styled the window shows it and takes typing, and boot.js loads this script only after that frame.
 * The app mounts over it; what was typed meanwhile carries over (carry-typing.ts).
 */
const root = document.getElementById('app');
if (root === null) throw new Error('index.html has no #app');
const restore = carryTyping(root);
app.mount(root);
delete root.dataset.shell;
restore();

/**
 * The channel: the runtime's client library, the contract's schemas (zod) and the event wiring load
 * once the app's first frame has been drawn, so a person can type before ~150 KB of script is parsed.
 * Nothing is lost by waiting: the page asks the sidecar for all it shows once connected (`hello`,
 * the lists), and no event could reach the page before its socket opened, then as now.
 */
async function start(): Promise<void> {
  await firstFrame();
  const [{ neutralinoTransport, whenReady }, { wireEvents }] = await Promise.all([import('./api/neutralino-transport'), import('./stores/events')]);
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

/** After the first screen is drawn; a window that starts hidden or minimised draws no frame, so at most 100 ms. */
function firstFrame(): Promise<void> {
  return new Promise((resolve) => {
    requestAnimationFrame(() => setTimeout(resolve));
    setTimeout(resolve, 100);
  });
}

void start();
