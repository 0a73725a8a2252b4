import createClient, { type Middleware } from 'openapi-fetch'
import type { components, paths } from './schema'
import { ApiError, CONSOLE_NOT_ALLOWED, isErrorEnvelope } from './errors'
import { currentLocale } from '@/i18n'
import { csrfHeaders } from './csrf'
import { policyRequired, unauthorized } from './events'

export { ApiError } from './errors'
export type { paths } from './schema'
/** Named API schemas (`Schemas['JobRead']`). */
export type Schemas = components['schemas']

/** Sends the UI language so the server translates its messages. */
const localeMiddleware: Middleware = {
  onRequest({ request }) {
    request.headers.set('Accept-Language', currentLocale())
    return request
  },
}

/** Unsafe methods carry the session's CSRF token (double submit: cookie `huike_csrf` → header). */
const csrfMiddleware: Middleware = {
  onRequest({ request }) {
    for (const [name, value] of Object.entries(csrfHeaders(request.method))) request.headers.set(name, value)
    return request
  },
}

/** Paths whose 401 is an answer for the form (wrong password…), not "the session is over". */
const AUTH_FORM_PREFIX = '/api/v1/auth/'

/** Raises the shell's signals: 401 or the console app taken away → login; 403 policy gate → the
 * acceptance dialog. */
function signal(error: ApiError, url: string): void {
  const path = new URL(url, window.location.origin).pathname
  if (error.status === 401 && !path.startsWith(AUTH_FORM_PREFIX)) unauthorized.emit('session_ended')
  if (error.status === 403 && error.code === CONSOLE_NOT_ALLOWED) unauthorized.emit('console_not_allowed')
  if (error.status === 403 && error.code === 'privacy.policy_acceptance_required') {
    const version = typeof error.details.version === 'string' ? error.details.version : ''
    const effective = typeof error.details.effective_date === 'string' ? error.details.effective_date : undefined
    policyRequired.emit({ version, effectiveDate: effective })
  }
}

/** Turns the API's error envelope into a thrown `ApiError`. Other non-2xx bodies pass through. */
const errorMiddleware: Middleware = {
  async onResponse({ response }) {
    if (response.ok) return response
    const type = response.headers.get('content-type') ?? ''
    if (!type.includes('json')) return response
    let body: unknown
    try {
      body = await response.clone().json()
    } catch {
      return response
    }
    if (isErrorEnvelope(body)) {
      const error = new ApiError(body.error.code, body.error.message, response.status, body.error.details ?? {})
      signal(error, response.url)
      throw error
    }
    return response
  },
}

/** Typed client for the Huike API (same origin; session cookie only, no tokens in storage). */
export const api = createClient<paths>({
  baseUrl: '',
  credentials: 'same-origin',
  headers: { Accept: 'application/json' },
})
api.use(localeMiddleware, csrfMiddleware, errorMiddleware)

/** Fetch for non-JSON endpoints (CSV): same locale and CSRF headers as the typed client. */
export async function rawFetch(url: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers)
  headers.set('Accept-Language', currentLocale())
  for (const [name, value] of Object.entries(csrfHeaders(init.method ?? 'GET'))) headers.set(name, value)
  const response = await fetch(url, { ...init, headers, credentials: 'same-origin' })
  if (!response.ok) {
    let body: unknown
    try {
      body = await response.json()
    } catch {
      body = undefined
    }
    const error = isErrorEnvelope(body)
      ? new ApiError(body.error.code, body.error.message, response.status, body.error.details ?? {})
      : new ApiError('http_error', response.statusText, response.status)
    signal(error, response.url || url)
    throw error
  }
  return response
}

/** Request body type of a path and method, derived from the generated schema. */
export type RequestBody<P extends keyof paths, M extends 'post' | 'put'> = paths[P] extends {
  [K in M]: { requestBody?: { content: { 'application/json': infer B } } }
}
  ? B
  : never

/** Response body type of a GET path, derived from the generated schema. */
export type GetResponse<P extends keyof paths> = paths[P] extends {
  get: { responses: { 200: { content: { 'application/json': infer B } } } }
}
  ? B
  : never
