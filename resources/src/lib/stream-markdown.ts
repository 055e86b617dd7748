/**
 * Markdown that grows while it streams, at the cost of the text it adds. The answer is cut into
 * blocks at blank lines and fences; a finished block is rendered once (through `renderMarkdown`,
 * so sanitised exactly as before) and never touched again. Only the last, open block is redrawn per
 * frame, and an open code fence is not redrawn at all: new code is appended to a text node.
 *
 * Cuts are made where markdown allows them: at a blank line followed by a line that starts at the
 * margin (an indented line after a blank continues a list item or indented code), before and after
 * fenced code, and, for a paragraph that never ends, at a line break once it is over `MAX_OPEN`.
 */
import { STREAM_UPDATE_MS } from '@contract/names';
import { renderMarkdown } from './markdown';

/** An open block longer than this is cut at its last line break (keeps a frame's work bounded). */
const MAX_OPEN = 8_000;
/**
 * The open block is re-parsed at most this often; new text in between is appended as plain text to
 * its last element (formatting catches up at the next parse, as it does when a `**` is still open).
 */
const REPARSE_MS = 100;
/**
 * Finished blocks are grouped this many to a section, so the answer's element has few children and
 * the browser skips whole sections off screen (`content-visibility` in the stylesheet).
 */
const BLOCKS_PER_SECTION = 16;
const FENCE = /^ {0,3}(`{3,}|~{3,})([^`]*)$/;

export interface StreamHooks {
  /** Called once per finished block that holds code (`pre`), after it is in the document. */
  readonly onBlock?: (block: HTMLElement) => void;
  /**
   * The page is changed at most this often while text streams (later text waits for the next
   * update; the first text and `finish` show at once). Tokens arrive up to once per frame, and each
   * change costs the browser a layout and a repaint of the scrolled view: in bench/render.bench.ts,
   * 50 ms cost 4.6x one render of the whole answer per 1,000 tokens, 100 ms 2.8x. Default 100 ms
   * (`STREAM_UPDATE_MS`, which the sidecar also sends text at).
   */
  readonly minIntervalMs?: number;
}

interface OpenFence {
  readonly marker: string;
  /** Offset where the fence's code starts (after the opening line). */
  readonly codeStart: number;
  readonly code: Text;
}

export class MarkdownStream {
  private text = '';
  /** Everything before this offset is in finished blocks. */
  private committed = 0;
  /** Complete lines before this offset have been scanned for cuts. */
  private scanned = 0;
  /** A blank line was seen after the open block; cut if the next line starts at the margin. */
  private pendingCut: number | undefined;
  private fence: OpenFence | undefined;
  private readonly tail: HTMLElement;
  private codeShown = 0;
  /** When the open block was last parsed, and how much of the text that parse covered. */
  private parsedAt = -Infinity;
  private parsedFrom = -1;
  private parsedTo = 0;
  private preview: Text | undefined;
  private section: HTMLElement | undefined;
  private wanted = '';
  private drawnAt = -Infinity;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly root: HTMLElement,
    private readonly hooks: StreamHooks = {},
  ) {
    this.tail = this.newTail();
  }

  /** Shows `text` (at the next update). When it extends what is shown, only the new part is rendered; otherwise it starts over. */
  set(text: string): void {
    this.wanted = text;
    const wait = (this.hooks.minIntervalMs ?? STREAM_UPDATE_MS) - (performance.now() - this.drawnAt);
    if (wait <= 0) this.apply();
    else this.timer ??= setTimeout(() => this.apply(), wait);
  }

  private apply(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.drawnAt = performance.now();
    const text = this.wanted;
    if (text.length < this.text.length || !text.startsWith(this.text.slice(this.committed), this.committed)) this.clear();
    if (text.length === this.text.length && this.text.length > 0) return;
    this.text = text;
    this.scan();
    this.drawTail();
  }

  /** Parses the open block, or between parses appends the new text to it as plain text. */
  private drawOpenBlock(force: boolean): void {
    const now = performance.now();
    const stale = this.parsedFrom !== this.committed || this.parsedTo > this.text.length;
    if (force || stale || this.preview === undefined || now - this.parsedAt >= REPARSE_MS) {
      const open = this.text.slice(this.committed);
      this.tail.innerHTML = open.trim() === '' ? '' : renderMarkdown(open);
      this.parsedAt = now;
      this.parsedFrom = this.committed;
      this.parsedTo = this.text.length;
      this.preview = document.createTextNode('');
      lastLeaf(this.tail).append(this.preview);
      return;
    }
    this.preview.appendData(this.text.slice(this.parsedTo));
    this.parsedTo = this.text.length;
  }

  /** The answer is complete: the open block becomes a finished one. */
  finish(): void {
    this.apply();
    this.scan();
    if (this.pendingCut !== undefined) this.commit(this.pendingCut);
    this.commit(this.text.length);
    this.drawTail(true);
  }

  /** Empties the view (a new answer will be shown). */
  reset(): void {
    this.wanted = '';
    clearTimeout(this.timer);
    this.timer = undefined;
    this.clear();
  }

  private clear(): void {
    this.root.replaceChildren();
    this.text = '';
    this.committed = this.scanned = this.codeShown = this.parsedTo = 0;
    this.parsedAt = -Infinity;
    this.parsedFrom = -1;
    this.pendingCut = this.fence = this.preview = this.section = undefined;
    this.root.append(this.tail);
    this.tail.replaceChildren();
  }

  private newTail(): HTMLElement {
    const tail = document.createElement('div');
    tail.className = 'md-tail';
    this.root.append(tail);
    return tail;
  }

  /** Walks the complete lines not yet seen and cuts finished blocks off the front. */
  private scan(): void {
    for (let end = this.text.indexOf('\n', this.scanned); end !== -1; end = this.text.indexOf('\n', this.scanned)) {
      const start = this.scanned;
      this.scanned = end + 1;
      this.line(this.text.slice(start, end), start, end + 1);
    }
    if (this.fence === undefined && this.scanned - this.committed > MAX_OPEN) this.commit(this.scanned);
  }

  private line(line: string, start: number, next: number): void {
    if (this.fence !== undefined) {
      const close = FENCE.exec(line);
      if (close?.[1] !== undefined && close[1][0] === this.fence.marker[0] && close[1].length >= this.fence.marker.length && close[2]?.trim() === '') {
        this.fence = undefined;
        this.commit(next);
      }
      return;
    }
    if (line.trim() === '') {
      this.pendingCut ??= start;
      return;
    }
    if (this.pendingCut !== undefined && !/^\s/.test(line)) this.commit(start);
    this.pendingCut = undefined;
    const open = FENCE.exec(line);
    if (open?.[1] !== undefined && !(open[1][0] === '`' && open[2]?.includes('`'))) {
      this.commit(start);
      this.fence = { marker: open[1], codeStart: next, code: document.createTextNode('') };
      this.codeShown = next;
    }
  }

  /** Renders text[committed, end) as a finished block placed before the tail. */
  private commit(end: number): void {
    const source = this.text.slice(this.committed, end);
    this.committed = end;
    this.pendingCut = undefined;
    if (source.trim() === '') return;
    const block = document.createElement('div');
    block.className = 'md-block';
    block.innerHTML = renderMarkdown(source);
    if (this.section === undefined || this.section.childElementCount >= BLOCKS_PER_SECTION) {
      this.section = document.createElement('div');
      this.section.className = 'md-section';
      this.root.insertBefore(this.section, this.tail);
    }
    this.section.append(block);
    if (block.querySelector('pre') !== null) this.hooks.onBlock?.(block);
  }

  private drawTail(force = false): void {
    const fence = this.fence;
    if (fence === undefined) return this.drawOpenBlock(force);
    this.preview = undefined;
    if (this.tail.firstChild?.firstChild !== fence.code) {
      const pre = document.createElement('pre');
      const code = document.createElement('code');
      code.append(fence.code);
      pre.append(code);
      this.tail.replaceChildren(pre);
    }
    // Appending to one text node: the browser lays out the new characters, nothing is re-parsed.
    fence.code.appendData(this.text.slice(this.codeShown));
    this.codeShown = this.text.length;
  }
}

/** The innermost last element of a rendered block, where running text continues. */
function lastLeaf(element: HTMLElement): HTMLElement {
  let leaf = element;
  for (let child = leaf.lastElementChild; child instanceof HTMLElement && /^(P|LI|UL|OL|BLOCKQUOTE|H[1-6]|TABLE|TBODY|TR|TD)$/.test(child.tagName); child = leaf.lastElementChild) leaf = child;
  return leaf;
}
