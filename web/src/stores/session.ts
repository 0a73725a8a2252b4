import { computed, ref } from 'vue'
import { defineStore } from 'pinia'
import { api, ApiError, type GetResponse } from '@/api/client'
import { policyRequired, unauthorized, type PolicyRequired } from '@/api/events'

export type Me = GetResponse<'/api/v1/auth/me'>
export type MyPermissions = GetResponse<'/api/v1/permissions/me'>

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
  let pendingPermissions: Promise<void> | null = null

  const loggedIn = computed(() => me.value !== null)
  /** The user's permission codes (GET /api/v1/permissions/me); null until known. */
  const permissions = ref<ReadonlySet<string> | null>(null)

  /**
   * Whether to offer an action (menu item, button). Only hides what would be refused: the server
   * decides. Until the permissions are known, creators and admins are offered everything.
   */
  function can(permission: string): boolean {
    if (permissions.value) return permissions.value.has(permission)
    return me.value?.role === 'creator' || me.value?.role === 'admin'
  }

  function set(value: Me | null): void {
    const changed = value?.user_id !== me.value?.user_id
    if (changed) permissions.value = null
    me.value = value
    if (value && !value.policy_acceptance_required && (changed || permissions.value === null)) {
      pendingPermissions = loadPermissions().finally(() => {
        pendingPermissions = null
      })
    }
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
    if (pendingPermissions) await pendingPermissions
    return me.value
  }

  /** Asks for the user's permissions again (after a role change); failures keep the role fallback. */
  async function loadPermissions(): Promise<void> {
    try {
      const { data } = await api.GET('/api/v1/permissions/me')
      permissions.value = data ? new Set([...data.permissions, ...data.apps]) : null
    } catch {
      permissions.value = null
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
    }
  }

  unauthorized.on(() => {
    if (loaded.value) clear()
  })
  policyRequired.on((value) => {
    policy.value = value
  })

  return { me, loaded, loggedIn, policy, permissions, can, set, load, loadPermissions, ensureLoaded, clear, logout }
})
