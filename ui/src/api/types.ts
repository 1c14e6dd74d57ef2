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
