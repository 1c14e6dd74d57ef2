// Server validation errors shown beside form fields.
//
// A 400 with details.fields puts each message under its field (bound to
// el-form-item's `error` prop); any other failure is shown with ElMessage.
import { reactive } from 'vue'
import { ElMessage } from 'element-plus'
import { ApiError } from '@/api'

export function useFormErrors() {
  const errors = reactive<Record<string, string>>({})

  function clear(): void {
    for (const key of Object.keys(errors)) delete errors[key]
  }

  /** report shows an error; it returns true when it was attached to fields. */
  function report(err: unknown, fieldNames?: readonly string[]): boolean {
    clear()
    if (err instanceof ApiError && err.hasFieldErrors) {
      let placed = false
      for (const [field, message] of Object.entries(err.fields)) {
        if (!fieldNames || fieldNames.includes(field)) {
          errors[field] = message
          placed = true
        }
      }
      // Fields the form does not show still deserve a message.
      if (!placed) ElMessage.error(err.message)
      return placed
    }
    showError(err)
    return false
  }

  return { errors, clear, report }
}

/** showError shows any thrown value as an error toast. */
export function showError(err: unknown): void {
  const message = err instanceof Error ? err.message : String(err)
  ElMessage.error({ message, grouping: true })
}
