/**
 * The console's single route table. The side menu and the breadcrumb are derived
 * from it, so menu and routes cannot disagree.
 */
import type { Component } from 'vue'
import type { RouteRecordRaw, RouteRecordSingleView } from 'vue-router'
import {
  ChatDotRound,
  DataAnalysis,
  Message,
  Odometer,
  Present,
  Promotion,
  Setting,
  User,
} from '@element-plus/icons-vue'
import type { Messages } from '@/i18n/zh-CN'

export type PageKey = keyof Messages['pages']
export type GroupKey = keyof Messages['groups']
export type PageTitleKey = `pages.${PageKey}`
export type GroupTitleKey = `groups.${GroupKey}`

declare module 'vue-router' {
  interface RouteMeta {
    /** i18n key of the page title (menu item, breadcrumb, <title>, page header). */
    titleKey?: PageTitleKey
    /** Menu group the page belongs to; absent for top-level pages. */
    group?: GroupKey
    /** Menu icon for top-level pages. */
    icon?: Component
    /** Reachable without a session (login, registration, password reset). */
    public?: boolean
  }
}

export interface MenuGroup {
  key: GroupKey
  titleKey: GroupTitleKey
  icon: Component
}

/** Menu groups, in menu order. */
export const menuGroups: readonly MenuGroup[] = [
  { key: 'acquisition', titleKey: 'groups.acquisition', icon: Promotion },
  { key: 'customers', titleKey: 'groups.customers', icon: User },
  { key: 'groups', titleKey: 'groups.groups', icon: ChatDotRound },
  { key: 'outreach', titleKey: 'groups.outreach', icon: Message },
  { key: 'marketing', titleKey: 'groups.marketing', icon: Present },
  { key: 'data', titleKey: 'groups.data', icon: DataAnalysis },
  { key: 'settings', titleKey: 'groups.settings', icon: Setting },
]

const ComingSoon = () => import('@/components/ComingSoon.vue')

/** A page that is not built yet: the shared "coming soon" view. */
function planned(path: string, name: string, page: PageKey, group: GroupKey): RouteRecordRaw {
  return { path, name, component: ComingSoon, meta: { titleKey: `pages.${page}`, group } }
}

/** A built settings page. */
function settingsPage(
  path: string,
  name: string,
  page: PageKey,
  component: RouteRecordSingleView['component'],
): RouteRecordRaw {
  return { path, name, component, meta: { titleKey: `pages.${page}`, group: 'settings' } }
}

/** Console pages (children of the layout), in menu order. Paths are relative to `/`. */
export const pageRoutes: RouteRecordRaw[] = [
  {
    path: '',
    name: 'dashboard',
    component: () => import('@/domains/dashboard/views/DashboardView.vue'),
    meta: { titleKey: 'pages.dashboard', icon: Odometer },
  },
  planned('acquisition/contact-ways', 'acquisition.contact-ways', 'contactWays', 'acquisition'),
  planned('acquisition/group-codes', 'acquisition.group-codes', 'groupCodes', 'acquisition'),
  planned('acquisition/welcome-messages', 'acquisition.welcome-messages', 'welcomeMessages', 'acquisition'),
  planned('customers/list', 'customers.list', 'customerList', 'customers'),
  planned('customers/tags', 'customers.tags', 'customerTags', 'customers'),
  planned('customers/lost', 'customers.lost', 'lostCustomers', 'customers'),
  planned('customers/handover', 'customers.handover', 'handover', 'customers'),
  planned('groups/list', 'groups.list', 'groupList', 'groups'),
  planned('groups/tags', 'groups.tags', 'groupTags', 'groups'),
  planned('groups/stats', 'groups.stats', 'groupStats', 'groups'),
  planned('outreach/mass-messages', 'outreach.mass-messages', 'massMessages', 'outreach'),
  planned('outreach/group-messages', 'outreach.group-messages', 'groupMessages', 'outreach'),
  planned('outreach/moments', 'outreach.moments', 'moments', 'outreach'),
  planned('marketing/materials', 'marketing.materials', 'materials', 'marketing'),
  planned('marketing/campaigns', 'marketing.campaigns', 'campaigns', 'marketing'),
  planned('data/overview', 'data.overview', 'dataOverview', 'data'),
  planned('data/members', 'data.members', 'memberStats', 'data'),
  settingsPage('settings/wecom', 'settings.wecom', 'wecom', () => import('@/domains/settings/views/WeComView.vue')),
  planned('settings/members', 'settings.members', 'members', 'settings'),
  planned('settings/roles', 'settings.roles', 'roles', 'settings'),
  settingsPage('settings/jobs', 'settings.jobs', 'jobs', () => import('@/domains/settings/views/JobCenterView.vue')),
  settingsPage('settings/privacy', 'settings.privacy', 'privacy', () => import('@/domains/settings/views/PrivacyView.vue')),
  settingsPage('settings/sessions', 'settings.sessions', 'sessions', () => import('@/domains/settings/views/SessionsView.vue')),
  settingsPage('settings/audit', 'settings.audit', 'audit', () => import('@/domains/settings/views/AuditView.vue')),
  settingsPage('settings/calendar', 'settings.calendar', 'calendar', () => import('@/domains/settings/views/CalendarView.vue')),
]

/** Pages outside the console layout, reachable without a session. */
export const authRoutes: RouteRecordRaw[] = [
  {
    path: '/login',
    name: 'login',
    component: () => import('@/domains/account/views/LoginView.vue'),
    meta: { titleKey: 'pages.login', public: true },
  },
  {
    path: '/register',
    name: 'register',
    component: () => import('@/domains/account/views/RegisterView.vue'),
    meta: { titleKey: 'pages.register', public: true },
  },
  {
    path: '/forgot-password',
    name: 'forgot-password',
    component: () => import('@/domains/account/views/ForgotPasswordView.vue'),
    meta: { titleKey: 'pages.forgotPassword', public: true },
  },
]

export const routes: RouteRecordRaw[] = [
  ...authRoutes,
  {
    path: '/',
    component: () => import('@/layouts/ConsoleLayout.vue'),
    children: [
      ...pageRoutes,
      {
        path: ':pathMatch(.*)*',
        name: 'not-found',
        component: () => import('@/components/NotFound.vue'),
        meta: { titleKey: 'pages.notFound' },
      },
    ],
  },
]

export interface MenuItem {
  path: string
  name: string
  titleKey: PageTitleKey
  icon?: Component
}

export interface MenuEntry {
  /** A top-level item (group absent) or a group with its items. */
  group?: MenuGroup
  items: MenuItem[]
}

function toMenuItem(r: RouteRecordRaw): MenuItem {
  return { path: `/${r.path}`, name: String(r.name), titleKey: r.meta!.titleKey!, icon: r.meta?.icon }
}

/** The side menu, derived from `pageRoutes` and `menuGroups`. */
export const menu: MenuEntry[] = [
  ...pageRoutes.filter((r) => !r.meta?.group).map((r) => ({ items: [toMenuItem(r)] })),
  ...menuGroups.map((group) => ({
    group,
    items: pageRoutes.filter((r) => r.meta?.group === group.key).map(toMenuItem),
  })),
]

export function findGroup(key: GroupKey | undefined): MenuGroup | undefined {
  return key ? menuGroups.find((g) => g.key === key) : undefined
}
