// A destructive-action confirmation in the console's language.
import { ElMessageBox } from 'element-plus'
import { i18n } from '@/i18n'

/** confirmDanger resolves true when the user confirms, false when they cancel. */
export async function confirmDanger(message: string, confirmText?: string): Promise<boolean> {
  const t = i18n.global.t
  try {
    await ElMessageBox.confirm(message, t('common.confirmTitle'), {
      type: 'warning',
      confirmButtonText: confirmText ?? t('common.delete'),
      cancelButtonText: t('common.cancel'),
      confirmButtonClass: 'el-button--danger',
    })
    return true
  } catch {
    return false
  }
}
