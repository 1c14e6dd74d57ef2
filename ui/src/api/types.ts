// Wire types of the KubeSpace REST API (snake_case, RFC 3339 times, integer ids).

export interface List<T> {
  items: T[]
  total: number
  continue?: string
}

export type Scope = 'platform' | 'cluster' | 'workspace' | 'pipeline_workspace'
export type Role = 'viewer' | 'editor' | 'admin'
export type UserStatus = 'active' | 'disabled'

export interface User {
  id: number
  username: string
  email: string
  display_name: string
  status: UserStatus
  is_super: boolean
  source: 'local' | 'ldap' | 'oidc'
  last_login_at?: string | null
  created_at: string
  updated_at: string
}

/** A user as the role-granting picker shows it (GET /users/picker): no email or standing. */
export interface UserChoice {
  id: number
  username: string
  display_name: string
}

export interface Permission {
  scope: Scope
  scope_id: number
  role: Role
}

export interface Me extends User {
  permissions: Permission[]
}

export interface LoginResult {
  token: string
  expires_at: string
  user: User
}

export interface UserCreate {
  username: string
  password: string
  email: string
  display_name: string
  is_super?: boolean
}

export interface UserUpdate {
  email?: string
  display_name?: string
  status?: UserStatus
  is_super?: boolean
  password?: string
}

export interface ApiToken {
  id: number
  name: string
  /** The first characters of the secret, to recognise a token (when the server sends it). */
  prefix?: string
  expires_at?: string | null
  last_used_at?: string | null
  created_at: string
}

export interface ApiTokenCreated extends ApiToken {
  token: string
}

export interface RoleBinding {
  id: number
  user_id: number
  username: string
  scope: Scope
  scope_id: number
  role: Role
  created_at: string
}

export interface AuditEvent {
  id: number
  time: string
  username: string
  ip: string
  action: string
  scope: string
  scope_id?: number | null
  resource_type: string
  resource_id?: string | number | null
  resource_name?: string
  result: 'success' | 'failure'
  status_code: number
  summary: string
}

export type SecretType = 'password' | 'ssh_key' | 'token'

export interface Secret {
  id: number
  name: string
  description: string
  type: SecretType
  username: string
  has_password: boolean
  has_private_key: boolean
  has_token: boolean
  created_at: string
  updated_at: string
}

export interface SecretWrite {
  name: string
  description: string
  type: SecretType
  username?: string
  password?: string
  private_key?: string
  token?: string
}

export interface ImageRegistry {
  id: number
  registry: string
  username: string
  insecure: boolean
  has_password: boolean
  created_at: string
  updated_at: string
}

export interface ImageRegistryWrite {
  registry: string
  username: string
  password?: string
  insecure: boolean
}

export interface VersionInfo {
  version: string
  commit: string
}

export type ClusterMode = 'direct' | 'agent'
export type ClusterStatus = 'pending' | 'connected' | 'disconnected' | 'error'

export interface Cluster {
  id: number
  name: string
  description: string
  mode: ClusterMode
  context: string
  server: string
  status: ClusterStatus
  status_reason: string
  version: string
  node_count: number
  last_seen_at?: string | null
  created_at: string
  updated_at: string
}

export interface ClusterCreate {
  name: string
  description: string
  kubeconfig?: string
  context?: string
}

export type ClusterUpdate = Partial<ClusterCreate>

export interface ClusterKubeconfig {
  kubeconfig: string
  token_id: number
  expires_at: string
}

/** A resource kind from the cluster's discovery (`GET /clusters/{id}/kinds`). */
export interface KindInfo {
  group: string
  version: string
  /** The plural resource name, e.g. "deployments". */
  resource: string
  kind: string
  namespaced: boolean
  verbs: string[]
}

/** A cached list of Kubernetes objects (`GET /clusters/{id}/resources/{resource}`). */
export interface ResourceList<T> extends List<T> {
  resource_version?: string
}

export interface ClusterOverview {
  version: string
  nodes: { total: number; ready: number }
  capacity: { cpu_cores: number; memory_bytes: number }
  allocatable: { cpu_cores: number; memory_bytes: number }
  counts: Record<string, number>
  pods_by_phase: Record<string, number>
}

export interface ApplyResult {
  kind: string
  namespace?: string
  name: string
  action: 'created' | 'configured' | 'unchanged' | string
  error?: string
}
