import { createApp } from 'vue'
import { createPinia } from 'pinia'
import ElementPlus from 'element-plus'
import 'element-plus/dist/index.css'
import './styles/main.css'
import App from './App.vue'
import { i18n } from './i18n'
import { installAuthGuard, router } from './router'

const app = createApp(App)
const pinia = createPinia()
app.use(pinia)
app.use(i18n)
installAuthGuard(pinia)
app.use(router)
app.use(ElementPlus)
app.mount('#app')
