// A create/edit dialog's form: reset when it opens, validate, submit with a
// busy flag, close on success, and server field errors under their fields.
import { ref, useTemplateRef, watch, type Ref } from 'vue'
import type { FormInstance } from 'element-plus'
import { useFormErrors } from './useFormErrors'

export interface FormDialogOptions {
  /** The fields the form shows: server errors for them land under the field. */
  fields: readonly string[]
  /** Refills the form each time the dialog opens (errors and validation are cleared after it). */
  reset: () => void
}

/** The dialog's el-form must carry ref="formRef". */
export function useFormDialog(open: Ref<boolean>, options: FormDialogOptions) {
  const formRef = useTemplateRef<FormInstance>('formRef')
  const { errors, clear, report } = useFormErrors()
  const busy = ref(false)

  watch(open, (isOpen) => {
    if (!isOpen) return
    options.reset()
    clear()
    formRef.value?.clearValidate()
  })

  /**
   * submit validates the form, runs save with busy set, then closes the dialog
   * and runs done with save's result. A failure goes to onError first; when
   * that does not take it (returns false or is absent) it is reported.
   */
  async function submit<R>(
    save: () => Promise<R>,
    done?: (result: R) => void | Promise<void>,
    onError?: (err: unknown) => boolean,
  ): Promise<void> {
    if (!(await formRef.value?.validate().catch(() => false))) return
    busy.value = true
    try {
      const result = await save()
      open.value = false
      await done?.(result)
    } catch (err) {
      if (!onError?.(err)) report(err, options.fields)
    } finally {
      busy.value = false
    }
  }

  return { errors, clear, report, busy, submit }
}
