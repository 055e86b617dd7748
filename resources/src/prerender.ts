/**
 * Build-time only (vite.config.ts): the first screen as HTML, rendered from the app itself in its
 * state before anything is known (no connection, no conversation). index.html carries it, so the
 * window shows a field a person can type into as soon as the page is parsed, before the app's
 * ~120 KB of script has run; main.ts then mounts the app over it and carries over what was typed.
 */
import { createPinia } from 'pinia';
import { createSSRApp } from 'vue';
import { renderToString } from 'vue/server-renderer';
import App from './App.vue';

export function renderFirstScreen(): Promise<string> {
  const app = createSSRApp(App);
  // A first screen that fails to render must fail the build, not ship half a page.
  app.config.errorHandler = (error) => {
    throw error;
  };
  app.use(createPinia());
  return renderToString(app);
}
