/**
 * How a role is named beside a person (header, profile, members): a built-in role in the console's
 * current language (it follows a language switch at once), a custom role as its creator named it.
 */
import { useI18n } from 'vue-i18n'
import type { Schemas } from '@/api/client'

export type RoleRef = Schemas['RoleRef']

export function useRoleLabel(): (role: RoleRef | null | undefined) => string {
  const { t, te } = useI18n()
  return (role) => {
    if (!role) return ''
    const key = `user.roles.${role.id}`
    return role.builtin && te(key) ? t(key) : role.name
  }
}
