/**
 * The built index.html carries the first screen as plain HTML (prerender.ts), so a person can type
 * before the app runs; mounting replaces those elements. This keeps what they typed: each text field's
 * value, caret and focus move to the app's field with the same `data-testid`, and an `input` event
 * lets `v-model` take the text as if typed there.
 */
type Field = HTMLInputElement | HTMLTextAreaElement;

const TEXT_FIELDS = 'textarea[data-testid], input[data-testid]:not([type=file]):not([type=checkbox]):not([type=radio])';

interface Typed {
  testid: string;
  value: string;
  start: number | null;
  end: number | null;
  focused: boolean;
}

/** Reads the typing in `root` now; the function returned puts it into the fields `root` holds then. */
export function carryTyping(root: HTMLElement): () => void {
  const typed: Typed[] = [...root.querySelectorAll<Field>(TEXT_FIELDS)]
    .filter((field) => field.value !== '' || field === document.activeElement)
    .map((field) => ({ testid: field.dataset.testid ?? '', value: field.value, start: field.selectionStart, end: field.selectionEnd, focused: field === document.activeElement }));
  return () => {
    for (const t of typed) {
      const field = root.querySelector<Field>(`[data-testid="${CSS.escape(t.testid)}"]`);
      if (field === null || !field.matches(TEXT_FIELDS)) continue;
      if (t.value !== '' && field.value === '') {
        field.value = t.value;
        field.dispatchEvent(new Event('input', { bubbles: true }));
      }
      if (t.focused) field.focus();
      if (t.start !== null && t.end !== null) field.setSelectionRange(t.start, t.end);
    }
  };
}
