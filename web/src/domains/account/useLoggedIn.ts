import { useRoute, useRouter } from 'vue-router'
import type { Me } from '@/stores/session'
import { useSessionStore } from '@/stores/session'
import { safeRedirect } from '@/router'

/** After a login or registration: remember the user (in memory) and go where they were headed. */
export function useLoggedIn() {
  const session = useSessionStore()
  const route = useRoute()
  const router = useRouter()
  return async (me: Me | undefined): Promise<void> => {
    if (me) session.set(me)
    else await session.load()
    await router.replace(safeRedirect(route.query.redirect))
  }
}
