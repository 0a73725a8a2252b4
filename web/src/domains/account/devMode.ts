import { ref } from 'vue'
import { api } from '@/api/client'

/**
 * Development aids: outside production the server logs SMS codes and answers the dev endpoint;
 * `/api/v1/meta` says so with `dev_tools`.
 */
const devMode = ref(false)
let asked = false

export function useDevMode() {
  if (!asked) {
    asked = true
    api
      .GET('/api/v1/meta')
      .then(({ data }) => {
        devMode.value = data?.dev_tools === true
      })
      .catch(() => {
        devMode.value = false
      })
  }
  return devMode
}
