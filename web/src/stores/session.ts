import { computed, ref } from 'vue'
import { defineStore } from 'pinia'
import { api, ApiError, type Schemas } from '@/api/client'
import { policyRequired, unauthorized, type PolicyRequired } from '@/api/events'

export type Me = Schemas['MeRead']

/**
 * The signed-in user, from GET /api/v1/auth/me. Kept in memory only (never in browser storage):
 * a reload asks the server again, the session cookie being the only credential.
 */
export const useSessionStore = defineStore('session', () => {
  const me = ref<Me | null>(null)
  const loaded = ref(false)
  /** A policy version the user must accept before other routes answer. */
  const policy = ref<PolicyRequired | null>(null)
  let pending: Promise<Me | null> | null = null

  const loggedIn = computed(() => me.value !== null)

  function set(value: Me | null): void {
    me.value = value
    loaded.value = true
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
    }
  }

  unauthorized.on(() => {
    if (loaded.value) clear()
  })
  policyRequired.on((value) => {
    policy.value = value
  })

  return { me, loaded, loggedIn, policy, set, load, ensureLoaded, clear, logout }
})
