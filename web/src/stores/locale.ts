import { computed, watch } from 'vue'
import { defineStore } from 'pinia'
import { i18n, storeLocale, type Locale } from '@/i18n'

/** UI language: drives vue-i18n, Element Plus, <html lang> and the API's Accept-Language. */
export const useLocaleStore = defineStore('locale', () => {
  const locale = computed<Locale>(() => i18n.global.locale.value)

  function setLocale(next: Locale): void {
    i18n.global.locale.value = next
    storeLocale(next)
  }

  watch(
    locale,
    (value) => {
      document.documentElement.lang = value
    },
    { immediate: true },
  )

  return { locale, setLocale }
})
