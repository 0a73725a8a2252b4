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
    /** Shown in the menu only to users holding any of these permissions (the server still decides). */
    permissions?: readonly string[]
    /** Not in the side menu (reached from elsewhere, e.g. the user menu). */
    hidden?: boolean
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
function planned(
  path: string,
  name: string,
  page: PageKey,
  group: GroupKey,
  permissions?: readonly string[],
): RouteRecordRaw {
  return { path, name, component: ComingSoon, meta: { titleKey: `pages.${page}`, group, permissions } }
}

/** A built settings page. */
function settingsPage(
  path: string,
  name: string,
  page: PageKey,
  component: RouteRecordSingleView['component'],
  permissions?: readonly string[],
): RouteRecordRaw {
  return { path, name, component, meta: { titleKey: `pages.${page}`, group: 'settings', permissions } }
}

/** Console pages (children of the layout), in menu order. Paths are relative to `/`. */
export const pageRoutes: RouteRecordRaw[] = [
  {
    path: '',
    name: 'dashboard',
    component: () => import('@/domains/dashboard/views/DashboardView.vue'),
    meta: { titleKey: 'pages.dashboard', icon: Odometer },
  },
  planned('acquisition/contact-ways', 'acquisition.contact-ways', 'contactWays', 'acquisition', ['contact_ways.view']),
  planned('acquisition/group-codes', 'acquisition.group-codes', 'groupCodes', 'acquisition', ['contact_ways.view']),
  planned('acquisition/welcome-messages', 'acquisition.welcome-messages', 'welcomeMessages', 'acquisition', ['welcome.view']),
  {
    path: 'customers/list',
    name: 'customers.list',
    component: () => import('@/domains/customer/views/CustomerListView.vue'),
    meta: { titleKey: 'pages.customerList', group: 'customers', permissions: ['customers.view'] },
  },
  {
    path: 'customers/:id([0-9a-fA-F-]+)',
    name: 'customers.detail',
    component: () => import('@/domains/customer/views/CustomerDetailView.vue'),
    meta: { titleKey: 'pages.customerDetail', group: 'customers', permissions: ['customers.view'], hidden: true },
  },
  {
    path: 'customers/tags',
    name: 'customers.tags',
    component: () => import('@/domains/customer/views/TagsView.vue'),
    meta: { titleKey: 'pages.customerTags', group: 'customers', permissions: ['customers.view', 'tags.manage'] },
  },
  {
    path: 'customers/lost',
    name: 'customers.lost',
    component: () => import('@/domains/customer/views/LostCustomersView.vue'),
    meta: { titleKey: 'pages.lostCustomers', group: 'customers', permissions: ['customers.view'] },
  },
  planned('customers/handover', 'customers.handover', 'handover', 'customers', ['customers.edit']),
  {
    path: 'groups/list',
    name: 'groups.list',
    component: () => import('@/domains/group/views/GroupListView.vue'),
    meta: { titleKey: 'pages.groupList', group: 'groups', permissions: ['groups.view'] },
  },
  {
    path: 'groups/:id([0-9a-fA-F-]{36})',
    name: 'groups.detail',
    component: () => import('@/domains/group/views/GroupDetailView.vue'),
    meta: { titleKey: 'pages.groupDetail', group: 'groups', permissions: ['groups.view'], hidden: true },
  },
  {
    path: 'groups/tags',
    name: 'groups.tags',
    component: () => import('@/domains/group/views/GroupTagsView.vue'),
    meta: { titleKey: 'pages.groupTags', group: 'groups', permissions: ['groups.view'] },
  },
  {
    path: 'groups/stats',
    name: 'groups.stats',
    component: () => import('@/domains/group/views/GroupStatsView.vue'),
    meta: { titleKey: 'pages.groupStats', group: 'groups', permissions: ['groups.view'] },
  },
  planned('outreach/mass-messages', 'outreach.mass-messages', 'massMessages', 'outreach', ['mass_messages.view']),
  planned('outreach/group-messages', 'outreach.group-messages', 'groupMessages', 'outreach', ['mass_messages.view']),
  planned('outreach/moments', 'outreach.moments', 'moments', 'outreach', ['moments.view']),
  planned('marketing/materials', 'marketing.materials', 'materials', 'marketing', ['materials.manage']),
  planned('marketing/campaigns', 'marketing.campaigns', 'campaigns', 'marketing', ['materials.manage']),
  planned('data/overview', 'data.overview', 'dataOverview', 'data', ['analytics.view']),
  planned('data/members', 'data.members', 'memberStats', 'data', ['analytics.view']),
  settingsPage('settings/wecom', 'settings.wecom', 'wecom', () => import('@/domains/settings/views/WeComView.vue'), ['wecom.manage']),
  settingsPage('settings/members', 'settings.members', 'members', () => import('@/domains/settings/views/MembersView.vue'), ['members.view']),
  settingsPage('settings/roles', 'settings.roles', 'roles', () => import('@/domains/settings/views/RolesView.vue'), ['roles.manage']),
  // everyone's own jobs; jobs.manage shows everyone's (the page says which)
  settingsPage('settings/jobs', 'settings.jobs', 'jobs', () => import('@/domains/settings/views/JobCenterView.vue')),
  settingsPage('settings/privacy', 'settings.privacy', 'privacy', () => import('@/domains/settings/views/PrivacyView.vue')),
  settingsPage('settings/sessions', 'settings.sessions', 'sessions', () => import('@/domains/settings/views/SessionsView.vue')),
  settingsPage('settings/audit', 'settings.audit', 'audit', () => import('@/domains/settings/views/AuditView.vue'), ['audit.view']),
  {
    path: 'settings/profile',
    name: 'settings.profile',
    component: () => import('@/domains/account/views/ProfileView.vue'),
    meta: { titleKey: 'pages.profile', group: 'settings', hidden: true },
  },
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
  permissions?: readonly string[]
}

export interface MenuEntry {
  /** A top-level item (group absent) or a group with its items. */
  group?: MenuGroup
  items: MenuItem[]
}

function toMenuItem(r: RouteRecordRaw): MenuItem {
  return {
    path: `/${r.path}`,
    name: String(r.name),
    titleKey: r.meta!.titleKey!,
    icon: r.meta?.icon,
    permissions: r.meta?.permissions,
  }
}

/** The side menu, derived from `pageRoutes` and `menuGroups`. */
export const menu: MenuEntry[] = [
  ...pageRoutes.filter((r) => !r.meta?.group).map((r) => ({ items: [toMenuItem(r)] })),
  ...menuGroups.map((group) => ({
    group,
    items: pageRoutes.filter((r) => r.meta?.group === group.key && !r.meta.hidden).map(toMenuItem),
  })),
]

/** The menu without the pages the user may not use (`can` is the session store's); empty groups go. */
export function visibleMenu(can: (permission: string) => boolean): MenuEntry[] {
  const allowed = (item: MenuItem) => !item.permissions || item.permissions.some(can)
  return menu
    .map((entry) => ({ ...entry, items: entry.items.filter(allowed) }))
    .filter((entry) => entry.items.length > 0)
}

export function findGroup(key: GroupKey | undefined): MenuGroup | undefined {
  return key ? menuGroups.find((g) => g.key === key) : undefined
}
