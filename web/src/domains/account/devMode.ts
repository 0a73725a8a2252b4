import { ref } from 'vue'
import { api } from '@/api/client'

/**
 * Development mode: the embedded all-in-one (`huike run`) logs SMS codes and, outside production,
 * answers the dev endpoint. The API exposes no environment flag, so the mode stands in for it; the
 * dev endpoint itself answers 404 in production, which the banner reports.
 */
const devMode = ref(false)
let asked = false

export function useDevMode() {
  if (!asked) {
    asked = true
    api
      .GET('/api/v1/meta')
      .then(({ data }) => {
        devMode.value = data?.mode === 'embedded'
      })
      .catch(() => {
        devMode.value = false
      })
  }
  return devMode
}
