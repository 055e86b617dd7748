/**
 * Model output as sanitised markdown: marked renders, DOMPurify removes anything that could run
 * (script, event handlers, javascript: URLs, frames, forms, styles). The CSP is the second wall.
 *
 * Links are shown, never followed: every `href` is moved to `data-href` (shown as the title), so no
 * click of any kind (left, middle, with Ctrl/Shift/Meta/Alt, Enter on a focused link, a drag) can
 * navigate the app's window or open a new one. The views render through `OutputView`, which also
 * cancels any click that reaches an anchor, as a second wall.
 */
import DOMPurify from 'dompurify';
import { marked } from 'marked';

const FORBID_TAGS = ['script', 'style', 'iframe', 'frame', 'object', 'embed', 'form', 'input', 'button', 'textarea', 'select', 'link', 'meta', 'base', 'svg', 'math', 'area', 'map'];

let hooked = false;

/** Anchors keep their text and show where they pointed, but carry nothing a browser would follow. */
function disarmLinks(): void {
  if (hooked) return;
  hooked = true;
  DOMPurify.addHook('afterSanitizeAttributes', (node) => {
    if (!(node instanceof Element)) return;
    const href = node.getAttribute('href');
    if (href !== null) {
      node.removeAttribute('href');
      node.setAttribute('data-href', href);
      node.setAttribute('title', href);
    }
    node.removeAttribute('target');
    node.removeAttribute('ping');
    if (node.tagName === 'A') node.setAttribute('rel', 'noopener noreferrer nofollow');
  });
}

export function renderMarkdown(text: string): string {
  disarmLinks();
  const html = marked.parse(text, { async: false, gfm: true, breaks: true });
  return DOMPurify.sanitize(html, {
    FORBID_TAGS,
    FORBID_ATTR: ['style', 'srcset', 'formaction', 'target', 'ping', 'download'],
    ALLOWED_URI_REGEXP: /^(?:https?:|mailto:)/i,
  });
}

/**
 * For the element that holds rendered output: cancels whatever a click on a link would do (the
 * anchors have no href already; this is the second wall). Bound to click, auxclick (middle button)
 * and dragstart.
 */
export function blockLinkActivation(event: Event): void {
  if ((event.target as Element | null)?.closest?.('a, [data-href]')) event.preventDefault();
}
