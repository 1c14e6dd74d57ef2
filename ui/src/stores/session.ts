// The signed-in user, the first-run state and the permission checks the console
// uses to hide actions. The server stays the authority: hidden buttons are a
// convenience, and its 403 messages are shown when a check here is too lenient.
import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { ApiError, authApi, setupApi, type Me, type Role, type Scope, type VersionInfo } from '@/api'

const RANK: Record<Role, number> = { viewer: 1, editor: 2, admin: 3 }

export const useSessionStore = defineStore('session', () => {
  const me = ref<Me | null>(null)
  const setupNeeded = ref(false)
  const version = ref<VersionInfo | null>(null)
  const initialized = ref(false)
  let initializing: Promise<void> | null = null

  /** Loads the current user (null when signed out); a 401 is not an error here. */
  async function refreshMe(): Promise<Me | null> {
    try {
      me.value = await authApi.me()
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) me.value = null
      else throw err
    }
    return me.value
  }

  async function refreshSetup(): Promise<boolean> {
    setupNeeded.value = (await setupApi.status()).needed
    return setupNeeded.value
  }

  /** init runs once per page load, before the first route is resolved. */
  function init(): Promise<void> {
    initializing ??= (async () => {
      authApi.version().then((v) => (version.value = v), () => undefined)
      const needed = await refreshSetup().catch(() => false)
      if (!needed) await refreshMe().catch(() => (me.value = null))
      initialized.value = true
    })()
    return initializing
  }

  async function login(username: string, password: string): Promise<void> {
    await authApi.login(username, password)
    setupNeeded.value = false
    await refreshMe()
  }

  async function logout(): Promise<void> {
    try {
      await authApi.logout()
    } finally {
      me.value = null
    }
  }

  /** Forget the user locally (after a 401 or a password change). */
  function clear(): void {
    me.value = null
  }

  const isSuper = computed(() => me.value?.is_super === true)

  /** hasRole: the user holds at least `min` in the scope, or at platform scope, or is super. */
  function hasRole(scope: Scope, scopeId: number, min: Role): boolean {
    const user = me.value
    if (!user) return false
    if (user.is_super) return true
    return (user.permissions ?? []).some(
      (p) =>
        RANK[p.role] >= RANK[min] &&
        (p.scope === 'platform' || (p.scope === scope && Number(p.scope_id) === Number(scopeId))),
    )
  }

  /** hasAnyRole: the user holds some role somewhere (or is super). */
  function hasAnyRole(): boolean {
    return !!me.value && (me.value.is_super || (me.value.permissions ?? []).length > 0)
  }

  const isPlatformAdmin = computed(() => hasRole('platform', 0, 'admin'))
  const isPlatformEditor = computed(() => hasRole('platform', 0, 'editor'))

  return {
    me,
    setupNeeded,
    version,
    initialized,
    init,
    refreshMe,
    refreshSetup,
    login,
    logout,
    clear,
    isSuper,
    hasRole,
    hasAnyRole,
    isPlatformAdmin,
    isPlatformEditor,
  }
})
