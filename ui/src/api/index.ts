// Typed endpoint functions, one group per API area.
import { http, type Query } from './client'
import type { KubeObject } from './kube'
import type {
  ApplyResult,
  ApiToken,
  ApiTokenCreated,
  AuditEvent,
  Cluster,
  ClusterCreate,
  ClusterKubeconfig,
  ClusterOverview,
  ClusterUpdate,
  KindInfo,
  ImageRegistry,
  ImageRegistryWrite,
  List,
  LoginResult,
  Me,
  ResourceList,
  Role,
  RoleBinding,
  Scope,
  Secret,
  SecretWrite,
  User,
  UserChoice,
  UserCreate,
  UserUpdate,
  VersionInfo,
} from './types'

export { ApiError, onUnauthorized } from './client'
export * from './types'
export * from './kube'
export * from './pipelines'

export const setupApi = {
  status: () => http.get<{ needed: boolean }>('/setup', undefined, { quiet401: true }),
  create: (body: { username: string; password: string; email: string; setup_token: string }) =>
    http.post<User>('/setup', body, { quiet401: true }),
}

export const authApi = {
  login: (username: string, password: string) =>
    http.post<LoginResult>('/auth/login', { username, password }, { quiet401: true }),
  logout: () => http.post<void>('/auth/logout', undefined, { quiet401: true }),
  me: () => http.get<Me>('/users/me', undefined, { quiet401: true }),
  changePassword: (old_password: string, new_password: string) =>
    // A wrong current password must not end the session in the console: quiet401.
    http.put<void>('/users/me/password', { old_password, new_password }, { quiet401: true }),
  version: () => http.get<VersionInfo>('/version', undefined, { quiet401: true }),
}

export const usersApi = {
  // Full records: platform viewers and above.
  list: (query: Query) => http.get<List<User>>('/users', query),
  // The role-granting picker: admins of any scope; username and display name only.
  picker: (q: string, limit = 20) => http.get<{ items: UserChoice[] }>('/users/picker', { q, limit }),
  create: (body: UserCreate) => http.post<User>('/users', body),
  update: (id: number, body: UserUpdate) => http.put<User>(`/users/${id}`, body),
  remove: (id: number) => http.del(`/users/${id}`),
}

export const tokensApi = {
  list: (query: Query = {}) => http.get<List<ApiToken>>('/tokens', query),
  create: (body: { name: string; expires_at?: string }) => http.post<ApiTokenCreated>('/tokens', body),
  remove: (id: number) => http.del(`/tokens/${id}`),
}

export const roleBindingsApi = {
  list: (query: { scope?: Scope; scope_id?: number; limit?: number; continue?: string }) =>
    http.get<List<RoleBinding>>('/role-bindings', query),
  create: (body: { user_id: number; scope: Scope; scope_id: number; role: Role }) =>
    http.post<RoleBinding>('/role-bindings', body),
  remove: (id: number) => http.del(`/role-bindings/${id}`),
}

export const auditApi = {
  list: (query: Query) => http.get<List<AuditEvent>>('/audit-events', query),
}

export const secretsApi = {
  list: (query: Query = {}) => http.get<List<Secret>>('/secrets', query),
  create: (body: SecretWrite) => http.post<Secret>('/secrets', body),
  update: (id: number, body: Partial<SecretWrite>) => http.put<Secret>(`/secrets/${id}`, body),
  remove: (id: number) => http.del(`/secrets/${id}`),
}

export const registriesApi = {
  list: (query: Query = {}) => http.get<List<ImageRegistry>>('/image-registries', query),
  create: (body: ImageRegistryWrite) => http.post<ImageRegistry>('/image-registries', body),
  update: (id: number, body: Partial<ImageRegistryWrite>) =>
    http.put<ImageRegistry>(`/image-registries/${id}`, body),
  remove: (id: number) => http.del(`/image-registries/${id}`),
}

export const clustersApi = {
  list: (query: Query = {}) => http.get<List<Cluster>>('/clusters', query),
  get: (id: number) => http.get<Cluster>(`/clusters/${id}`),
  create: (body: ClusterCreate) => http.post<Cluster>('/clusters', body),
  update: (id: number, body: ClusterUpdate) => http.put<Cluster>(`/clusters/${id}`, body),
  remove: (id: number, force = false) => http.del(`/clusters/${id}`, { force: force || undefined }),
  kubeconfig: (id: number, expiresInDays?: number) =>
    http.post<ClusterKubeconfig>(`/clusters/${id}/kubeconfig`, { expires_in_days: expiresInDays }),
  kinds: (id: number) => http.get<{ items: KindInfo[] }>(`/clusters/${id}/kinds`),
  /** resources lists a kind from the server's cache; `resource` is "plural" or "plural.group". */
  resources: <T = KubeObject>(id: number, resource: string, query: Query = {}) =>
    http.get<ResourceList<T>>(`/clusters/${id}/resources/${resource}`, query),
  overview: (id: number) => http.get<ClusterOverview>(`/clusters/${id}/overview`),
  apply: (id: number, body: { yaml: string; namespace?: string; dry_run?: boolean }) =>
    http.post<{ results: ApplyResult[] }>(`/clusters/${id}/apply`, body),
}
