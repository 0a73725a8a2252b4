/** Customers (external contacts): the list's filters as API query, API calls of the customer pages. */
import { api, rawFetch, type Schemas } from '@/api/client'
import type { operations } from '@/api/schema'

export type Contact = Schemas['ContactRead']
export type ContactDetail = Schemas['ContactDetail']
export type FollowRelation = Schemas['FollowRelationRead']
export type TimelineItem = Schemas['TimelineItem']
export type Alert = Schemas['AlertRead']
export type ContactStatus = Schemas['ContactStatus']
export type ContactType = Schemas['ContactType']
export type GroupMembership = Schemas['GroupMembership']

/** WeCom's add_way codes (§4.3), in the order the filter offers them. */
export const ADD_WAYS = [1, 2, 3, 4, 5, 6, 9, 10, 201, 202, 8, 0] as const
export const CONTACT_STATUSES: ContactStatus[] = ['active', 'lost', 'gone']
export const CONTACT_TYPES: ContactType[] = ['wechat', 'wecom']
export const GROUP_MEMBERSHIPS: GroupMembership[] = ['in', 'not_in', 'any', 'none']

export const STATUS_TAG: Record<ContactStatus, 'success' | 'danger' | 'info'> = {
  active: 'success',
  lost: 'danger',
  gone: 'info',
}

/** The filter bar's values (empty string / empty list: no filter). */
export interface CustomerFilterValues {
  keyword: string
  tagAny: string[]
  tagAll: string[]
  tagNone: string[]
  ownerIds: string[]
  departmentId: string
  /** [from, to] as YYYY-MM-DD (both days included). */
  added: [string, string] | null
  addWays: number[]
  states: string[]
  contactType: '' | ContactType
  status: '' | ContactStatus
  groupMembership: '' | GroupMembership
  groupChatId: string
}

export function emptyFilters(): CustomerFilterValues {
  return {
    keyword: '',
    tagAny: [],
    tagAll: [],
    tagNone: [],
    ownerIds: [],
    departmentId: '',
    added: null,
    addWays: [],
    states: [],
    contactType: '',
    status: '',
    groupMembership: '',
    groupChatId: '',
  }
}

/** A China-time day (YYYY-MM-DD) plus `days` as an instant: the list filters on [from, to). */
function dayStart(day: string, days = 0): string {
  const start = new Date(`${day}T00:00:00+08:00`)
  start.setUTCDate(start.getUTCDate() + days)
  return start.toISOString()
}

export type ContactQuery = NonNullable<operations['external_contacts:list_contacts']['parameters']['query']>

/** The API query of the filters (the same for list, count, export and bulk tag). */
export function filterQuery(f: CustomerFilterValues): ContactQuery {
  const needsGroup = f.groupMembership === 'in' || f.groupMembership === 'not_in'
  return {
    keyword: f.keyword.trim() || undefined,
    tag_any: f.tagAny.length ? f.tagAny : undefined,
    tag_all: f.tagAll.length ? f.tagAll : undefined,
    tag_none: f.tagNone.length ? f.tagNone : undefined,
    owner_id: f.ownerIds.length ? f.ownerIds : undefined,
    department_id: f.departmentId || undefined,
    added_from: f.added ? dayStart(f.added[0]) : undefined,
    added_to: f.added ? dayStart(f.added[1], 1) : undefined,
    add_way: f.addWays.length ? f.addWays : undefined,
    state: f.states.length ? f.states : undefined,
    contact_type: f.contactType || undefined,
    status: f.status || undefined,
    group_membership: f.groupMembership && (!needsGroup || f.groupChatId) ? f.groupMembership : undefined,
    group_chat_id: needsGroup && f.groupChatId ? f.groupChatId : undefined,
  }
}

/** The body `filters` of a bulk tag request (the same filters, as JSON). */
export function filterBody(f: CustomerFilterValues): Schemas['ContactFilters'] {
  const q = filterQuery(f)
  return {
    keyword: q.keyword ?? null,
    tag_any: q.tag_any ?? [],
    tag_all: q.tag_all ?? [],
    tag_none: q.tag_none ?? [],
    owner_ids: q.owner_id ?? [],
    department_id: q.department_id ?? null,
    added_from: q.added_from ?? null,
    added_to: q.added_to ?? null,
    add_ways: q.add_way ?? [],
    states: q.state ?? [],
    contact_type: q.contact_type ?? null,
    status: q.status ?? null,
    group_membership: q.group_membership ?? null,
    group_chat_id: q.group_chat_id ?? null,
  }
}

/** How many filters are set (shown on the "more filters" toggle). */
export function activeFilterCount(f: CustomerFilterValues): number {
  const q = filterQuery(f)
  return Object.values(q).filter((v) => v !== undefined).length - (q.added_from ? 1 : 0)
}

function searchParams(query: ContactQuery): URLSearchParams {
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null) continue
    for (const item of Array.isArray(value) ? value : [value]) params.append(key, String(item))
  }
  return params
}

/** Downloads the filtered list as CSV or xlsx (the server streams it and audits the export). */
export async function downloadExport(kind: 'csv' | 'xlsx', f: CustomerFilterValues): Promise<void> {
  const url = `/api/v1/external-contacts/export.${kind}?${searchParams(filterQuery(f)).toString()}`
  const blob = await (await rawFetch(url)).blob()
  const href = URL.createObjectURL(blob)
  const a = document.createElement('a')
  const stamp = new Date().toISOString().slice(0, 10).replace(/-/g, '')
  a.href = href
  a.download = `customers-${stamp}.${kind}`
  document.body.appendChild(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(href), 1000)
}

export async function listContacts(
  f: CustomerFilterValues,
  cursor: string | null,
  limit: number,
  order = '-added_at',
): Promise<Schemas['CursorPage_ContactRead_'] | undefined> {
  const query = { ...filterQuery(f), limit, order, cursor: cursor ?? undefined }
  return (await api.GET('/api/v1/external-contacts', { params: { query } })).data
}

export async function countContacts(f: CustomerFilterValues): Promise<number | undefined> {
  return (await api.GET('/api/v1/external-contacts/count', { params: { query: filterQuery(f) } })).data?.count
}

export async function getContact(id: string): Promise<ContactDetail | undefined> {
  const path = { external_contact_id: id }
  return (await api.GET('/api/v1/external-contacts/{external_contact_id}', { params: { path } })).data
}

export async function revealMobiles(id: string): Promise<Schemas['RevealRead'] | undefined> {
  const path = { external_contact_id: id }
  return (await api.POST('/api/v1/external-contacts/{external_contact_id}/reveal-mobiles', { params: { path } })).data
}

export async function editRelation(
  id: string,
  body: Schemas['FollowRelationEdit'],
): Promise<ContactDetail | undefined> {
  const path = { follow_relation_id: id }
  return (await api.PATCH('/api/v1/follow-relations/{follow_relation_id}', { params: { path }, body })).data
}

export async function setRelationTags(id: string, tagIds: string[]): Promise<ContactDetail | undefined> {
  const path = { follow_relation_id: id }
  return (await api.PUT('/api/v1/follow-relations/{follow_relation_id}/tags', { params: { path }, body: { tag_ids: tagIds } }))
    .data
}

/** WeCom's limits on what a member keeps about a customer (externalcontact/remark). */
export const REMARK_MAX = 20
export const DESCRIPTION_MAX = 150
export const MOBILES_MAX = 10
