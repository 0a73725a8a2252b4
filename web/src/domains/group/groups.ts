/** Types, labels and API calls shared by the customer-group pages. */
import { api, type Schemas } from '@/api/client'

export type GroupChat = Schemas['GroupChatRead']
export type GroupDetail = Schemas['GroupChatDetail']
export type GroupMember = Schemas['GroupMemberRead']
export type GroupStatus = Schemas['GroupStatus']
export type GroupSort = Schemas['GroupSort']
export type GroupTag = Schemas['GroupTagRead']
export type GroupOwner = Schemas['GroupOwner']
export type TrendPoint = Schemas['TrendPoint']
export type Overview = Schemas['GroupOverview']

export const GROUP_STATUSES: readonly GroupStatus[] = ['normal', 'owner_resigned', 'inheriting', 'inherited', 'dismissed']
export const GROUP_SORTS: readonly GroupSort[] = ['created_desc', 'created_asc', 'size_desc', 'size_asc']

export const STATUS_TAG: Record<GroupStatus, 'success' | 'warning' | 'info' | 'danger' | 'primary'> = {
  normal: 'success',
  owner_resigned: 'danger',
  inheriting: 'warning',
  inherited: 'primary',
  dismissed: 'info',
}

export const TREND_DAYS = [7, 30, 90] as const

/** Date and time in the reader's locale, or a dash. */
export function formatTime(value: string | null | undefined, locale: string): string {
  if (!value) return '—'
  const d = new Date(value)
  return Number.isNaN(d.getTime()) ? value : d.toLocaleString(locale, { hour12: false })
}

/** `YYYY-MM-DD` of a trend point as `MM-DD` for chart labels. */
export function shortDay(day: string): string {
  return day.slice(5)
}

/** The start of a local calendar day `YYYY-MM-DD` as an ISO instant (the end is the next day's start). */
export function dayStart(day: string, plusDays = 0): string {
  const [y, m, d] = day.split('-').map(Number)
  return new Date(y!, m! - 1, d! + plusDays).toISOString()
}

export async function listTags(): Promise<GroupTag[]> {
  const { data } = await api.GET('/api/v1/group-chat-tags')
  return data?.items ?? []
}

export async function listOwners(): Promise<GroupOwner[]> {
  const { data } = await api.GET('/api/v1/group-chats/owners')
  return data?.items ?? []
}

export async function setGroupTags(id: string, tagIds: string[]): Promise<GroupDetail | undefined> {
  const { data } = await api.PUT('/api/v1/group-chats/{group_chat_id}/tags', {
    params: { path: { group_chat_id: id } },
    body: { tag_ids: tagIds },
  })
  return data
}

export async function bulkTags(groupIds: string[], add: string[], remove: string[]): Promise<number> {
  const { data } = await api.POST('/api/v1/group-chats/bulk-tags', {
    body: { group_chat_ids: groupIds, add_tag_ids: add, remove_tag_ids: remove },
  })
  return data?.groups ?? 0
}
