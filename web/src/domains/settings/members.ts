/** Display helpers of the members page. */
import type { Schemas } from '@/api/client'

export type Member = Schemas['MemberRead']
export type Invitation = Schemas['InvitationRead']

export const MEMBER_STATUS_TAG = {
  active: 'success',
  disabled: 'danger',
  not_activated: 'warning',
  resigned: 'info',
} as const

/** The server invites only members in scope, active in WeCom and without an account yet. */
export function invitable(member: Member): boolean {
  return member.in_scope && member.status === 'active' && !member.activated && !member.deleted_at
}

export function departmentNames(member: Member): string {
  return member.departments.map((d) => d.name ?? `#${d.wecom_id}`).join('、') || '—'
}

export const MEMBER_STATUSES = ['active', 'disabled', 'not_activated', 'resigned'] as const
