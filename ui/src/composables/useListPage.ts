// What the console's list pages share: a cursor-paged list loaded on mount,
// the create/edit dialog's open state with the row being edited, and delete
// after a confirmation, with a toast and a reload.
import { onMounted, ref, type Ref } from 'vue'
import { ElMessage } from 'element-plus'
import type { List } from '@/api'
import type { Query } from '@/api/client'
import { useCursorList } from './useCursorList'
import { showError } from './useFormErrors'
import { confirmDanger } from './confirm'

/** usePagedList: a cursor list that loads when the page mounts. */
export function usePagedList<T>(fetchPage: (query: Query) => Promise<List<T>>) {
  const list = useCursorList<T>(fetchPage)
  onMounted(list.load)
  return list
}

/** useEditDialog: a dialog's open flag and the item it edits (null creates). */
export function useEditDialog<T>() {
  const open = ref(false)
  const editing = ref(null) as Ref<T | null>
  function openDialog(item: T | null): void {
    editing.value = item
    open.value = true
  }
  return { open, editing, openDialog }
}

export interface RemoveOptions {
  /** The confirmation's question. */
  confirm: string
  /** The confirm button's text (default: Delete). */
  confirmText?: string
  remove: () => Promise<unknown>
  /** The toast after it worked. */
  success: string
  /** What runs after it worked, e.g. the list's reload. */
  then: () => Promise<unknown>
}

/** removeConfirmed asks, removes, tells and reloads; a failure is shown as a toast. */
export async function removeConfirmed(o: RemoveOptions): Promise<void> {
  if (!(await confirmDanger(o.confirm, o.confirmText))) return
  try {
    await o.remove()
    ElMessage.success(o.success)
    await o.then()
  } catch (err) {
    showError(err)
  }
}
