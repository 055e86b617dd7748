/**
 * Model output as sanitised markdown: marked renders, DOMPurify removes anything that could run
 * (script, event handlers, javascript: URLs, frames, forms, styles). The CSP is the second wall.
 */
import DOMPurify from 'dompurify';
import { marked } from 'marked';

const FORBID_TAGS = ['script', 'style', 'iframe', 'frame', 'object', 'embed', 'form', 'input', 'button', 'textarea', 'select', 'link', 'meta', 'base', 'svg', 'math'];

export function renderMarkdown(text: string): string {
  const html = marked.parse(text, { async: false, gfm: true, breaks: true });
  return DOMPurify.sanitize(html, {
    FORBID_TAGS,
    FORBID_ATTR: ['style', 'srcset', 'formaction'],
    ALLOWED_URI_REGEXP: /^(?:https?:|mailto:)/i,
  });
}
