// A clock for relative times ("5m ago") that ticks while the component lives.
import { onBeforeUnmount, ref } from 'vue'

export function useNow(intervalMs = 15_000) {
  const now = ref(Date.now())
  const timer = setInterval(() => (now.value = Date.now()), intervalMs)
  onBeforeUnmount(() => clearInterval(timer))
  return now
}
