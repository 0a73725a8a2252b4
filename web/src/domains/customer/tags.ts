/** Customer tags: API calls of the tag page and how their errors map onto the page's inputs. */
import { api, ApiError, type Schemas } from '@/api/client'
import { errorMessage } from '@/api/notify'

export type TagGroup = Schemas['TagGroupRead']
export type Tag = Schemas['TagRead']
export type TagGroupList = Schemas['TagGroupList']

/** WeCom's limit on the length of a group or tag name (tag/models.py MAX_NAME). */
export const MAX_NAME = 30

export interface TagError {
  /** The server's translated message. */
  message: string
  code: string
  /** `details.field`: `name` or `tags[i].name`. */
  field?: string
  /** Made outside Huike's app (WeCom 48002): Huike may not change it. */
  notAppOwned: boolean
  /** A job the server queued to reconcile with WeCom (`tag.reconcile_pending`). */
  jobId?: string
}

export function tagError(err: unknown): TagError {
  if (!(err instanceof ApiError)) return { message: errorMessage(err), code: '', notAppOwned: false }
  const field = typeof err.details.field === 'string' ? err.details.field : undefined
  const jobId = typeof err.details.job_id === 'string' ? err.details.job_id : undefined
  return { message: err.message, code: err.code, field, notAppOwned: err.code === 'tag.not_app_owned', jobId }
}

/** Index of the tag row a `tags[i].name` field names. */
export function tagRow(field: string | undefined): number | undefined {
  const match = field?.match(/^tags\[(\d+)\]/)
  return match ? Number(match[1]) : undefined
}

/** Client-side check mirroring the server's (trimmed, 1–30 characters). */
export function nameProblem(name: string, empty: string, tooLong: string): string {
  const trimmed = name.trim()
  if (!trimmed) return empty
  return trimmed.length > MAX_NAME ? tooLong : ''
}

export async function listGroups(): Promise<TagGroupList | undefined> {
  return (await api.GET('/api/v1/tag-groups')).data
}

/** WeCom sorts larger orders first: the first name typed gets the largest. */
function ordered(names: string[]) {
  return names.map((name, i) => ({ name, order: names.length - i }))
}

export async function createGroup(name: string, tags: string[]): Promise<void> {
  await api.POST('/api/v1/tag-groups', { body: { name, order: 0, tags: ordered(tags) } })
}

export async function renameGroup(id: string, name: string): Promise<void> {
  await api.PATCH('/api/v1/tag-groups/{tag_group_id}', { params: { path: { tag_group_id: id } }, body: { name } })
}

export async function deleteGroup(id: string): Promise<void> {
  await api.DELETE('/api/v1/tag-groups/{tag_group_id}', { params: { path: { tag_group_id: id } } })
}

export async function addTags(groupId: string, names: string[]): Promise<void> {
  await api.POST('/api/v1/tag-groups/{tag_group_id}/tags', {
    params: { path: { tag_group_id: groupId } },
    body: { tags: names.map((name) => ({ name, order: 0 })) },
  })
}

export async function renameTag(id: string, name: string): Promise<void> {
  await api.PATCH('/api/v1/tags/{tag_id}', { params: { path: { tag_id: id } }, body: { name } })
}

export async function deleteTag(id: string): Promise<void> {
  await api.DELETE('/api/v1/tags/{tag_id}', { params: { path: { tag_id: id } } })
}

export async function reorderGroups(ids: string[]): Promise<void> {
  await api.PUT('/api/v1/tag-groups/order', { body: { tag_group_ids: ids } })
}

export async function reorderTags(groupId: string, ids: string[]): Promise<void> {
  await api.PUT('/api/v1/tag-groups/{tag_group_id}/tag-order', {
    params: { path: { tag_group_id: groupId } },
    body: { tag_ids: ids },
  })
}

/** `ids` with the item at `index` swapped with its neighbour in `direction`. */
export function moved(ids: string[], index: number, direction: -1 | 1): string[] | null {
  const other = index + direction
  if (index < 0 || other < 0 || other >= ids.length) return null
  const next = [...ids]
  ;[next[index], next[other]] = [next[other]!, next[index]!]
  return next
}
