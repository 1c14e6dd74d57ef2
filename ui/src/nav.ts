// The console's navigation, as data: each area is a group of pages, and the
// router is built from the same list. A new area (Clusters, Workspaces,
// Pipelines, ...) is one more entry here; nothing else needs to know about it.
import type { Component } from 'vue'
import type { RouteComponent, RouteRecordRaw } from 'vue-router'
import { Document, Key, Lock, Box, User, UserFilled, Setting, Platform, Monitor, Connection, Cpu, Share } from '@element-plus/icons-vue'
import type { Role, Scope } from '@/api'
import { clusterRoutes } from '@/views/clusters/routes'
import { pipelineRoutes } from '@/views/pipelines/routes'

/** What a page may ask of the signed-in user to decide whether to show itself. */
export interface Access {
  hasRole(scope: Scope, scopeId: number, min: Role): boolean
  hasAnyRole(): boolean
}

export interface NavPage {
  /** Route name, also the menu index. */
  name: string
  /** Path below the shell, without the leading slash. */
  path: string
  /** i18n key of the menu entry and page title. */
  title: string
  icon: Component
  component: () => Promise<RouteComponent | { default: RouteComponent }>
  /**
   * When set, the page is listed (and routed to) only for users it returns
   * true for. It mirrors the server's read permission; the server still decides.
   */
  visible?: (access: Access) => boolean
}

export interface NavArea {
  key: string
  title: string
  icon: Component
  pages: NavPage[]
  /** Further pages of the area reached from its pages, not listed in the menu. */
  routes?: RouteRecordRaw[]
}

const platformViewer = (a: Access) => a.hasRole('platform', 0, 'viewer')
const platformEditor = (a: Access) => a.hasRole('platform', 0, 'editor')

export const navAreas: NavArea[] = [
  {
    key: 'clusters',
    title: 'nav.clustersArea',
    icon: Platform,
    pages: [
      {
        name: 'clusters',
        path: 'clusters',
        title: 'nav.clusters',
        icon: Monitor,
        // Everyone sees the clusters they hold a role in (the server filters the list).
        component: () => import('@/views/clusters/ClustersView.vue'),
      },
    ],
    routes: clusterRoutes,
  },
  {
    key: 'pipelines',
    title: 'pnav.area',
    icon: Share,
    pages: [
      {
        name: 'pipeline-workspaces',
        path: 'pipelines',
        title: 'pnav.workspaces',
        icon: Connection,
        // Everyone sees the pipeline workspaces they hold a role in (the server filters the list).
        component: () => import('@/views/pipelines/PipelineWorkspacesView.vue'),
      },
      {
        name: 'spacelets',
        path: 'spacelets',
        title: 'pnav.spacelets',
        icon: Cpu,
        component: () => import('@/views/pipelines/SpaceletsView.vue'),
        visible: platformViewer,
      },
    ],
    routes: pipelineRoutes,
  },
  {
    key: 'settings',
    title: 'nav.settings',
    icon: Setting,
    pages: [
      {
        name: 'users',
        path: 'settings/users',
        title: 'nav.users',
        icon: User,
        component: () => import('@/views/settings/UsersView.vue'),
        visible: platformViewer,
      },
      {
        name: 'role-bindings',
        path: 'settings/role-bindings',
        title: 'nav.roleBindings',
        icon: UserFilled,
        component: () => import('@/views/settings/RoleBindingsView.vue'),
        // Scope admins manage their own scope's bindings here too.
        visible: (a) => a.hasAnyRole(),
      },
      {
        name: 'tokens',
        path: 'settings/tokens',
        title: 'nav.tokens',
        icon: Key,
        component: () => import('@/views/settings/TokensView.vue'),
      },
      {
        name: 'secrets',
        path: 'settings/secrets',
        title: 'nav.secrets',
        icon: Lock,
        component: () => import('@/views/settings/SecretsView.vue'),
        visible: platformEditor,
      },
      {
        name: 'registries',
        path: 'settings/image-registries',
        title: 'nav.registries',
        icon: Box,
        component: () => import('@/views/settings/RegistriesView.vue'),
        visible: platformEditor,
      },
      {
        name: 'audit',
        path: 'settings/audit',
        title: 'nav.audit',
        icon: Document,
        component: () => import('@/views/settings/AuditView.vue'),
        visible: platformViewer,
      },
    ],
  },
]

/** The page the console opens on after sign-in; every signed-in user may see it. */
export const homePage = navAreas[0]!.pages[0]!

/** pageVisible tells whether the page is available to the user. */
export function pageVisible(page: NavPage, access: Access): boolean {
  return page.visible ? page.visible(access) : true
}

/** findPage returns the navigation page of a route name. */
export function findPage(name: unknown): NavPage | undefined {
  for (const area of navAreas) for (const page of area.pages) if (page.name === name) return page
  return undefined
}
