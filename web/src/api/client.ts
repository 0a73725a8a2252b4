import createClient, { type Middleware } from 'openapi-fetch'
import type { paths } from './schema'
import { ApiError, isErrorEnvelope } from './errors'
import { currentLocale } from '@/i18n'

export { ApiError } from './errors'
export type { paths } from './schema'

/** Sends the UI language so the server translates its messages. */
const localeMiddleware: Middleware = {
  onRequest({ request }) {
    request.headers.set('Accept-Language', currentLocale())
    return request
  },
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
      throw new ApiError(body.error.code, body.error.message, response.status, body.error.details ?? {})
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
api.use(localeMiddleware, errorMiddleware)

/** Response body type of a GET path, derived from the generated schema. */
export type GetResponse<P extends keyof paths> = paths[P] extends {
  get: { responses: { 200: { content: { 'application/json': infer B } } } }
}
  ? B
  : never
