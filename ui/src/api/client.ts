// A small typed fetch wrapper for the KubeSpace REST API (/api/v1).
//
// The console authenticates with the HttpOnly `kubespace_session` cookie set
// by login, so every request is same-origin with credentials and no token is
// ever stored in the browser. Non-2xx answers throw ApiError carrying the
// server's stable code, its human message and, for validation errors, the
// per-field messages from details.fields.

export const API_BASE = '/api/v1'

/** The error body every endpoint returns on failure. */
interface ErrorBody {
  code?: string
  message?: string
  details?: { fields?: Record<string, string> } & Record<string, unknown>
}

/** ApiError is thrown for every non-2xx answer and for network failures (status 0). */
export class ApiError extends Error {
  readonly status: number
  readonly code: string
  readonly fields: Record<string, string>
  readonly details: Record<string, unknown>
  /** Seconds from a Retry-After header (429 answers), else null. */
  readonly retryAfter: number | null

  constructor(
    status: number,
    code: string,
    message: string,
    details: Record<string, unknown> = {},
    retryAfter: number | null = null,
  ) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
    this.details = details
    const fields = details.fields
    this.fields = fields && typeof fields === 'object' ? (fields as Record<string, string>) : {}
    this.retryAfter = retryAfter
  }

  /** True when the server rejected the request field by field. */
  get hasFieldErrors(): boolean {
    return Object.keys(this.fields).length > 0
  }
}

/** Query values; undefined, null and '' are left out of the query string. */
export type Query = Record<string, string | number | boolean | undefined | null>

export function buildQuery(query?: Query): string {
  if (!query) return ''
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === '') continue
    params.set(key, String(value))
  }
  const text = params.toString()
  return text ? `?${text}` : ''
}

function parseRetryAfter(value: string | null): number | null {
  if (!value) return null
  const seconds = Number(value)
  if (Number.isFinite(seconds)) return Math.max(0, Math.ceil(seconds))
  const date = Date.parse(value)
  return Number.isNaN(date) ? null : Math.max(0, Math.ceil((date - Date.now()) / 1000))
}

/** Listeners told about every 401, so the app can return to the login page. */
const unauthorizedListeners = new Set<(path: string) => void>()

export function onUnauthorized(listener: (path: string) => void): () => void {
  unauthorizedListeners.add(listener)
  return () => unauthorizedListeners.delete(listener)
}

export interface RequestOptions {
  query?: Query
  body?: unknown
  /** Do not notify the unauthorized listeners on 401 (login, session probe). */
  quiet401?: boolean
  signal?: AbortSignal
}

/** request performs one API call and decodes the JSON answer (undefined for 204). */
export async function request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' }
  const init: RequestInit = { method, headers, credentials: 'same-origin', signal: opts.signal }
  if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json'
    init.body = JSON.stringify(opts.body)
  }
  let res: Response
  try {
    res = await fetch(`${API_BASE}${path}${buildQuery(opts.query)}`, init)
  } catch (err) {
    if (err instanceof DOMException && err.name === 'AbortError') throw err
    throw new ApiError(0, 'network_error', err instanceof Error ? err.message : String(err))
  }
  if (res.status === 204) return undefined as T
  const text = await res.text()
  let data: unknown = undefined
  if (text) {
    try {
      data = JSON.parse(text)
    } catch {
      data = undefined
    }
  }
  if (!res.ok) {
    const body = (data && typeof data === 'object' ? data : {}) as ErrorBody
    const error = new ApiError(
      res.status,
      body.code || `http_${res.status}`,
      body.message || text.trim().slice(0, 200) || res.statusText || `HTTP ${res.status}`,
      body.details ?? {},
      parseRetryAfter(res.headers.get('Retry-After')),
    )
    if (res.status === 401 && !opts.quiet401) unauthorizedListeners.forEach((fn) => fn(path))
    throw error
  }
  return data as T
}

export const http = {
  get: <T>(path: string, query?: Query, opts: Omit<RequestOptions, 'query' | 'body'> = {}) =>
    request<T>('GET', path, { ...opts, query }),
  post: <T>(path: string, body?: unknown, opts: Omit<RequestOptions, 'body'> = {}) =>
    request<T>('POST', path, { ...opts, body }),
  put: <T>(path: string, body?: unknown, opts: Omit<RequestOptions, 'body'> = {}) =>
    request<T>('PUT', path, { ...opts, body }),
  del: (path: string) => request<void>('DELETE', path),
}
