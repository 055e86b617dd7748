/** Which part of the window is shown. Views ask here instead of reaching into each other. */
import { defineStore } from 'pinia';
import { ref } from 'vue';

export type Area = 'chat' | 'workflows' | 'history' | 'settings';
export type SettingsTab = 'providers' | 'models' | 'vault' | 'run';

export const useNavStore = defineStore('nav', () => {
  const area = ref<Area>('chat');
  const settingsTab = ref<SettingsTab>('providers');
  /** Narrow windows show the conversation list over the chat, on request. */
  const listOpen = ref(false);
  /** Bumped to ask the composer or the search box to take the focus (keyboard shortcuts). */
  const focusComposer = ref(0);
  const focusSearch = ref(0);
  return {
    area,
    settingsTab,
    listOpen,
    focusComposer,
    focusSearch,
    go: (next: Area) => (area.value = next),
    settings: (tab: SettingsTab) => ((area.value = 'settings'), (settingsTab.value = tab)),
  };
});
