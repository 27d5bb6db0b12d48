/**
 * A header menu's popover (help, account): open or closed, its id for `aria-controls`, closed by a click outside
 * `root` or by Escape (`onKey` on the root; focus goes back to the menu's button).
 */
import { onBeforeUnmount, onMounted, ref, useId } from 'vue';

export function usePopover() {
  const open = ref(false);
  const id = useId();
  const root = ref<HTMLElement | null>(null);

  function outside(event: MouseEvent) {
    if (open.value && root.value && !root.value.contains(event.target as Node)) open.value = false;
  }
  function onKey(event: KeyboardEvent) {
    if (event.key === 'Escape' && open.value) {
      open.value = false;
      root.value?.querySelector('button')?.focus();
    }
  }
  onMounted(() => document.addEventListener('click', outside));
  onBeforeUnmount(() => document.removeEventListener('click', outside));

  return { open, id, root, onKey };
}
