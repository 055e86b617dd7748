/**
 * Autoscroll that follows a stream: while the view is at the bottom it stays there as content grows;
 * once the person scrolls up it stops following, until they come back to the bottom.
 */
import { onBeforeUnmount, onMounted, ref, type Ref } from 'vue';

/** Within this many pixels of the bottom counts as "at the bottom". */
const SLACK = 48;

export function useFollowScroll(box: Ref<HTMLElement | undefined>, content: Ref<HTMLElement | undefined>) {
  const following = ref(true);
  let observer: ResizeObserver | undefined;
  let lastTop = 0;

  const atBottom = (el: HTMLElement) => el.scrollHeight - el.scrollTop - el.clientHeight <= SLACK;
  function onScroll(): void {
    const el = box.value;
    if (el === undefined) return;
    // Only a move upwards stops following; growth below never does.
    if (el.scrollTop < lastTop - 2 && !atBottom(el)) following.value = false;
    else if (atBottom(el)) following.value = true;
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
    observer = new ResizeObserver(() => following.value && toBottom());
    if (content.value) observer.observe(content.value);
  });
  onBeforeUnmount(() => {
    box.value?.removeEventListener('scroll', onScroll);
    observer?.disconnect();
  });
  return { following, toBottom };
}
