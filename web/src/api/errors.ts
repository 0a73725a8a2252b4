/** An error answered by the Huike API: `{"error": {"code", "message", "details"}}`. */
export class ApiError extends Error {
  override readonly name = 'ApiError'

  constructor(
    /** Stable machine-readable code, e.g. `auth.required`, `not_found`. */
    readonly code: string,
    /** Human-readable message, already translated by the server (Accept-Language). */
    message: string,
    /** HTTP status code (0 when the server could not be reached). */
    readonly status: number,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message)
  }
}

/** Every tenant request of a session whose role lost the web console app answers this (403): the
 * console signs the user out and says why on the login page. */
export const CONSOLE_NOT_ALLOWED = 'permission.console_not_allowed'

/** An error the shell answers by itself (signing out), so the page that met it shows nothing. */
export function signsOut(err: unknown): boolean {
  return err instanceof ApiError && err.status === 403 && err.code === CONSOLE_NOT_ALLOWED
}

interface ErrorEnvelope {
  error: { code: string; message: string; details?: Record<string, unknown> }
}

export function isErrorEnvelope(body: unknown): body is ErrorEnvelope {
  if (typeof body !== 'object' || body === null || !('error' in body)) return false
  const err = (body as { error: unknown }).error
  return (
    typeof err === 'object' &&
    err !== null &&
    typeof (err as { code?: unknown }).code === 'string' &&
    typeof (err as { message?: unknown }).message === 'string'
  )
}
