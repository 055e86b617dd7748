/**
 * Autoscroll that follows a stream: while the view is at the bottom it stays there as content grows;
 * once the person scrolls up (wheel, touch, keys, the scrollbar) it stops following, until they come
 * back to the bottom. Scroll changes the page makes by itself (content replaced, the view hidden and
 * shown again) never stop it.
 */
import { onActivated, onBeforeUnmount, onMounted, ref, type Ref } from 'vue';

/** Within this many pixels of the bottom counts as "at the bottom". */
const SLACK = 48;
/** A scroll this soon after the person touched the view is theirs. */
const INTENT_MS = 800;
const INTENT_EVENTS = ['wheel', 'touchmove', 'keydown', 'pointerdown'] as const;

export function useFollowScroll(box: Ref<HTMLElement | undefined>, content: Ref<HTMLElement | undefined>) {
  const following = ref(true);
  let observer: ResizeObserver | undefined;
  let lastTop = 0;
  let touchedAt = -Infinity;

  const atBottom = (el: HTMLElement) => el.scrollHeight - el.scrollTop - el.clientHeight <= SLACK;
  const touched = () => void (touchedAt = performance.now());
  function onScroll(): void {
    const el = box.value;
    if (el === undefined) return;
    if (atBottom(el)) following.value = true;
    else if (el.scrollTop < lastTop - 2 && performance.now() - touchedAt < INTENT_MS) following.value = false;
    lastTop = el.scrollTop;
  }
  function toBottom(): void {
    const el = box.value;
    if (el === undefined) return;
    el.scrollTop = el.scrollHeight;
    lastTop = el.scrollTop;
    following.value = true;
  }

  onMounted(() => {
    box.value?.addEventListener('scroll', onScroll, { passive: true });
    for (const name of INTENT_EVENTS) box.value?.addEventListener(name, touched, { passive: true });
    observer = new ResizeObserver(() => {
      const el = box.value;
      if (el !== undefined && atBottom(el)) following.value = true;
      if (following.value) toBottom();
    });
    if (content.value) observer.observe(content.value);
  });
  // Shown again after another area: the browser reset the scroll; go back to where the stream is.
  onActivated(() => following.value && toBottom());
  onBeforeUnmount(() => {
    box.value?.removeEventListener('scroll', onScroll);
    for (const name of INTENT_EVENTS) box.value?.removeEventListener(name, touched);
    observer?.disconnect();
  });
  return { following, toBottom };
}
