import { computed, ref } from 'vue'
import { defineStore } from 'pinia'
import { api, ApiError, type GetResponse } from '@/api/client'
import { policyRequired, unauthorized, type PolicyRequired, type SignOutReason } from '@/api/events'

export type Me = GetResponse<'/api/v1/auth/me'>

/**
 * The signed-in user, from GET /api/v1/auth/me (also the login answers): who they are, their effective
 * role (a custom role assigned to them, else their account's built-in role) and every permission that
 * role gives. Kept in memory only (never in browser storage): a reload asks the server again, the
 * session cookie being the only credential.
 */
export const useSessionStore = defineStore('session', () => {
  const me = ref<Me | null>(null)
  const loaded = ref(false)
  /** A policy version the user must accept before other routes answer. */
  const policy = ref<PolicyRequired | null>(null)
  /** Why the console last signed the user out by itself (the login page says so); null once they log in. */
  const signedOut = ref<SignOutReason | null>(null)
  let pending: Promise<Me | null> | null = null
  let leaving: Promise<void> | null = null

  const loggedIn = computed(() => me.value !== null)
  /** The user's permission codes (function and app permissions); null when not signed in. */
  const permissions = computed<ReadonlySet<string> | null>(() => (me.value ? new Set(me.value.permissions) : null))
  /** The role the permissions come from, as the server names it (in the current language). */
  const role = computed(() => me.value?.role ?? null)

  /** Whether to offer an action (menu item, button). Only hides what would be refused: the server decides. */
  function can(permission: string): boolean {
    return permissions.value?.has(permission) ?? false
  }

  function set(value: Me | null): void {
    me.value = value
    loaded.value = true
    if (value) signedOut.value = null
    const required = value?.policy_acceptance_required
    policy.value = required ? { version: required } : null
  }

  async function load(): Promise<Me | null> {
    try {
      const { data } = await api.GET('/api/v1/auth/me')
      set(data ?? null)
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) set(null)
      else throw err
    }
    return me.value
  }

  /** Asks again who the user is (after a role change, a phone change); a failure keeps what is known. */
  async function reload(): Promise<void> {
    try {
      await load()
    } catch {
      // the next navigation asks again
    }
  }

  /** Loads once; later calls reuse the answer (the router guard calls it on every navigation). */
  function ensureLoaded(): Promise<Me | null> {
    if (loaded.value) return Promise.resolve(me.value)
    pending ??= load().finally(() => {
      pending = null
    })
    return pending
  }

  function clear(): void {
    set(null)
  }

  async function logout(): Promise<void> {
    try {
      await api.POST('/api/v1/auth/logout')
    } finally {
      clear()
      // R-CK-2: both browser storages are empty after logout. The chosen language (the only entry,
      // in localStorage) lives on in this tab's memory, so the login page keeps speaking it.
      window.sessionStorage.clear()
      window.localStorage.clear()
    }
  }

  /** The role lost the console app: forget the user at once (the login page must not find them), then
   * end the session on the server, which still answers logout. Refusals of requests in flight at the
   * same time end it once. */
  function leave(): void {
    clear()
    leaving ??= logout()
      .catch(() => undefined) // gone already: nothing left to end
      .finally(() => {
        leaving = null
      })
  }

  unauthorized.on((reason) => {
    if (reason === 'console_not_allowed') {
      signedOut.value = reason
      leave()
    } else if (loaded.value) {
      // a late 401 of a request sent before the sign-out keeps the reason already given
      if (me.value) signedOut.value = reason
      clear()
    }
  })
  policyRequired.on((value) => {
    policy.value = value
  })

  return {
    me,
    loaded,
    loggedIn,
    policy,
    signedOut,
    permissions,
    role,
    can,
    set,
    load,
    reload,
    ensureLoaded,
    clear,
    logout,
  }
})
