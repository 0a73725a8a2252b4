/** The profile page: API shapes and the client-side avatar checks mirroring the server's. */
import type { GetResponse } from '@/api/client'

export type Profile = GetResponse<'/api/v1/auth/profile'>

/** account/profile.py AVATAR_MAX_BYTES; the server also sniffs the bytes (the type here is a hint). */
export const AVATAR_MAX_BYTES = 2 * 1024 * 1024
export const AVATAR_TYPES = ['image/png', 'image/jpeg', 'image/webp'] as const
/** account/profile.py DISPLAY_NAME_MAX. */
export const DISPLAY_NAME_MAX = 30

export type AvatarProblem = 'type' | 'size' | null

export function avatarProblem(file: File): AvatarProblem {
  if (!(AVATAR_TYPES as readonly string[]).includes(file.type)) return 'type'
  if (file.size > AVATAR_MAX_BYTES) return 'size'
  return null
}
