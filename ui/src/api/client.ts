// A small typed fetch wrapper for the KubeSpace REST API (/api/v1).
//
// The console authenticates with the HttpOnly `kubespace_session` cookie set
// by login, so every request is same-origin with credentials and no token is
// ever stored in the browser. Non-2xx answers throw ApiError carrying the
// server's stable code, its human message and, for validation errors, the
// per-field messages from details.fields.

export const API_BASE = '/api/v1'

/**
 * The error body every endpoint returns on failure. Answers relayed from a
 * cluster through the Kubernetes proxy are Kubernetes Status objects instead:
 * a numeric `code`, a `reason` and a `message`.
 */
interface ErrorBody {
  code?: string | number
  reason?: string
  message?: string
  details?: { fields?: Record<string, string> } & Record<string, unknown>
}

/** errorCode is the stable code of an error body: KubeSpace's own, or a Kubernetes reason. */
function errorCode(body: ErrorBody, status: number): string {
  if (typeof body.code === 'string' && body.code) return body.code
  if (body.reason) return body.reason.replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase()
  return `http_${status}`
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
  /** The body's media type; JSON bodies default to application/json (patches differ). */
  contentType?: string
  /** Do not notify the unauthorized listeners on 401 (login, session probe). */
  quiet401?: boolean
  signal?: AbortSignal
}

/** request performs one API call and decodes the JSON answer (undefined for 204). */
export async function request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' }
  const init: RequestInit = { method, headers, credentials: 'same-origin', signal: opts.signal }
  if (opts.body !== undefined) {
    headers['Content-Type'] = opts.contentType ?? 'application/json'
    // A text body of a non-JSON media type (a YAML import) is sent as it is.
    const text = typeof opts.body === 'string' && opts.contentType && !opts.contentType.includes('json')
    init.body = text ? (opts.body as string) : JSON.stringify(opts.body)
  }
  const res = await send(`${API_BASE}${path}${buildQuery(opts.query)}`, init)
  if (res.status === 204) return undefined as T
  const text = await res.text()
  const data = parseJSON(text)
  if (!res.ok) throw failure(res, text, data, path, opts.quiet401)
  return data as T
}

async function send(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init)
  } catch (err) {
    if (err instanceof DOMException && err.name === 'AbortError') throw err
    throw new ApiError(0, 'network_error', err instanceof Error ? err.message : String(err))
  }
}

function parseJSON(text: string): unknown {
  if (!text) return undefined
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/** failure turns a non-2xx answer into an ApiError and tells the 401 listeners. */
function failure(res: Response, text: string, data: unknown, path: string, quiet401?: boolean): ApiError {
  const body = (data && typeof data === 'object' ? data : {}) as ErrorBody
  const details = body.details && typeof body.details === 'object' ? body.details : {}
  const error = new ApiError(
    res.status,
    errorCode(body, res.status),
    body.message || text.trim().slice(0, 200) || res.statusText || `HTTP ${res.status}`,
    details,
    parseRetryAfter(res.headers.get('Retry-After')),
  )
  if (res.status === 401 && !quiet401) unauthorizedListeners.forEach((fn) => fn(path))
  return error
}

/**
 * stream opens a long-lived GET (a Kubernetes watch or a followed log) and
 * returns the response once its headers arrived, for the caller to read
 * `res.body`; a non-2xx answer throws ApiError like request does.
 */
export async function stream(path: string, query?: Query, signal?: AbortSignal): Promise<Response> {
  const res = await send(`${API_BASE}${path}${buildQuery(query)}`, {
    method: 'GET',
    credentials: 'same-origin',
    headers: { Accept: 'application/json, */*' },
    signal,
  })
  if (!res.ok) {
    const text = await res.text()
    throw failure(res, text, parseJSON(text), path)
  }
  return res
}

export const http = {
  get: <T>(path: string, query?: Query, opts: Omit<RequestOptions, 'query' | 'body'> = {}) =>
    request<T>('GET', path, { ...opts, query }),
  post: <T>(path: string, body?: unknown, opts: Omit<RequestOptions, 'body'> = {}) =>
    request<T>('POST', path, { ...opts, body }),
  put: <T>(path: string, body?: unknown, opts: Omit<RequestOptions, 'body'> = {}) =>
    request<T>('PUT', path, { ...opts, body }),
  del: (path: string, query?: Query) => request<void>('DELETE', path, { query }),
  patch: <T>(path: string, body: unknown, contentType: string) =>
    request<T>('PATCH', path, { body, contentType }),
}
