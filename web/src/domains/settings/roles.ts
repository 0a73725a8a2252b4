/** Roles and permissions: the catalogue's labels in the UI language, and implied permissions. */
import type { GetResponse, Schemas } from '@/api/client'

export type Catalog = GetResponse<'/api/v1/permissions/catalog'>
export type Role = Schemas['RoleRead']
export type DataScope = Schemas['DataScope']
export type PermissionEntry = Schemas['PermissionEntry']

/** A catalogue label in the UI language. */
export function label(value: { zh: string; en: string }, locale: string): string {
  return locale.startsWith('zh') ? value.zh : value.en
}

/** Every permission of the catalogue by code (modules, apps, creator-only). */
export function entries(catalog: Catalog): Map<string, PermissionEntry> {
  const all = [...catalog.modules.flatMap((m) => m.permissions), ...catalog.apps, ...catalog.creator_only]
  return new Map(all.map((entry) => [entry.code, entry]))
}

/** `codes` with everything they imply (the server stores the same closure). */
export function closure(codes: Iterable<string>, byCode: Map<string, PermissionEntry>): Set<string> {
  const found = new Set<string>()
  const pending = [...codes]
  while (pending.length) {
    const code = pending.pop()!
    if (found.has(code)) continue
    found.add(code)
    pending.push(...(byCode.get(code)?.implies ?? []))
  }
  return found
}

/** The checked permissions that imply `code` (it cannot be unchecked while they are checked). */
export function impliedBy(code: string, checked: Set<string>, byCode: Map<string, PermissionEntry>): string[] {
  return [...checked].filter((other) => other !== code && closure([other], byCode).has(code))
}
