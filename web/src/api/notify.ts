import { ElMessage } from 'element-plus'
import { ApiError, signsOut } from './errors'
import { i18n } from '@/i18n'

/** A user-facing message for any failure: the server's translated message when there is one. */
export function errorMessage(err: unknown): string {
  if (err instanceof ApiError) return err.message
  if (err instanceof TypeError) return i18n.global.t('common.networkError')
  return i18n.global.t('common.unknownError')
}

/** Shows a failure as a toast (not one that signs the user out: the login page says why). */
export function notifyError(err: unknown): void {
  if (signsOut(err)) return
  ElMessage.error({ message: errorMessage(err), grouping: true })
}
