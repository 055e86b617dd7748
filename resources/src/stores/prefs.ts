/** Settings of this window kept in the page's local storage: the theme and how Enter behaves. */
import { defineStore } from 'pinia';
import { ref, watch } from 'vue';

export type ThemeChoice = 'system' | 'light' | 'dark';
export type SendKey = 'enter' | 'ctrl-enter';

function stored<T extends string>(key: string, allowed: readonly T[], fallback: T): T {
  try {
    const value = localStorage.getItem(key);
    return allowed.includes(value as T) ? (value as T) : fallback;
  } catch {
    return fallback;
  }
}
function keep(key: string, value: string): void {
  try {
    localStorage.setItem(key, value);
  } catch {
    // Storage refused (private mode, full): the choice lasts for this session only.
  }
}

export const usePrefsStore = defineStore('prefs', () => {
  const theme = ref<ThemeChoice>(stored('sim.theme', ['system', 'light', 'dark'], 'system'));
  const sendKey = ref<SendKey>(stored('sim.sendKey', ['enter', 'ctrl-enter'], 'enter'));

  /** The theme is one attribute on <html>; "system" leaves it to prefers-color-scheme in the CSS. */
  function apply(): void {
    if (typeof document === 'undefined') return; // rendered at build time (prerender.ts)
    if (theme.value === 'system') delete document.documentElement.dataset.theme;
    else document.documentElement.dataset.theme = theme.value;
  }
  // Written when changed, not at every start: the page's first storage write costs the window's
  // first frame a round trip to WebKit's storage process.
  apply();
  watch(theme, (value) => (keep('sim.theme', value), apply()));
  watch(sendKey, (value) => keep('sim.sendKey', value));

  /** Light → dark → system, in that order, from the toggle in the top bar. */
  function cycleTheme(): void {
    theme.value = theme.value === 'system' ? 'light' : theme.value === 'light' ? 'dark' : 'system';
  }

  return { theme, sendKey, cycleTheme };
});
