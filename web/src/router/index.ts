import { createRouter, createWebHistory, type RouteLocationNormalized } from 'vue-router'
import type { Pinia } from 'pinia'
import { routes } from './routes'
import { unauthorized } from '@/api/events'
import { useSessionStore } from '@/stores/session'

export const router = createRouter({
  history: createWebHistory(import.meta.env.BASE_URL),
  routes,
  scrollBehavior: () => ({ top: 0 }),
})

/** Where to go after logging in: only a same-site path, never an absolute URL (open redirect). */
export function safeRedirect(value: unknown): string {
  const target = Array.isArray(value) ? value[0] : value
  if (typeof target !== 'string' || !target.startsWith('/') || target.startsWith('//')) return '/'
  if (['/login', '/register', '/forgot-password'].some((p) => target.startsWith(p))) return '/'
  return target
}

function loginFor(to: RouteLocationNormalized) {
  return { name: 'login', query: to.fullPath === '/' ? {} : { redirect: to.fullPath } }
}

/** Sends visitors without a session to /login?redirect=…; public pages stay reachable. */
export function installAuthGuard(pinia: Pinia): void {
  const session = useSessionStore(pinia)
  router.beforeEach(async (to) => {
    if (to.meta.public) return true
    try {
      await session.ensureLoaded()
    } catch {
      return true // server unreachable: let the page show its own error
    }
    return session.loggedIn ? true : loginFor(to)
  })
  // Any API call answering 401 means the session ended (expired, revoked elsewhere); one answering 403
  // permission.console_not_allowed means the role lost the console (the session store signs out and
  // the login page says why). Either way: to the login page, back to this page after logging in.
  unauthorized.on(() => {
    const current = router.currentRoute.value
    if (!current.meta.public) void router.replace(loginFor(current))
  })
}
