/**
 * Syntax colours for code in answers: highlight.js core and a few common languages, fetched the
 * first time an answer holds code (the first screen never loads them). Unknown languages stay plain.
 */
import type { HLJSApi } from 'highlight.js';

let loading: Promise<HLJSApi> | undefined;

function load(): Promise<HLJSApi> {
  loading ??= (async () => {
    const [core, ...languages] = await Promise.all([
      import('highlight.js/lib/core'),
      import('highlight.js/lib/languages/javascript'),
      import('highlight.js/lib/languages/typescript'),
      import('highlight.js/lib/languages/python'),
      import('highlight.js/lib/languages/bash'),
      import('highlight.js/lib/languages/json'),
      import('highlight.js/lib/languages/xml'),
      import('highlight.js/lib/languages/css'),
      import('highlight.js/lib/languages/sql'),
      import('highlight.js/lib/languages/rust'),
      import('highlight.js/lib/languages/go'),
      import('highlight.js/lib/languages/cpp'),
    ]);
    const hljs = core.default;
    const names = ['javascript', 'typescript', 'python', 'bash', 'json', 'xml', 'css', 'sql', 'rust', 'go', 'cpp'];
    languages.forEach((language, i) => hljs.registerLanguage(names[i] ?? `l${i}`, language.default));
    return hljs;
  })();
  return loading;
}

/** Colours every `pre > code` in a finished block; code without a known language is left as it is. */
export async function highlightBlock(block: HTMLElement): Promise<void> {
  const blocks = [...block.querySelectorAll<HTMLElement>('pre > code')];
  if (blocks.length === 0) return;
  const hljs = await load();
  for (const code of blocks) {
    const language = /language-([\w+-]+)/.exec(code.className)?.[1];
    if (language === undefined || hljs.getLanguage(language) === undefined) continue;
    // highlight.js escapes the text it is given; the result holds only its own spans.
    code.innerHTML = hljs.highlight(code.textContent ?? '', { language, ignoreIllegals: true }).value;
    code.classList.add('hljs');
  }
}

/** Has the highlighter been fetched? (For tests of lazy loading.) */
export const highlighterLoaded = (): boolean => loading !== undefined;
