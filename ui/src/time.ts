// Times as the console shows them: API times (RFC 3339, UTC) in the browser's zone.

const pad = (n: number) => String(n).padStart(2, '0')

/** formatTime renders an RFC 3339 time in the browser's zone as "YYYY-MM-DD HH:mm:ss". */
export function formatTime(value?: string | null): string {
  if (!value) return ''
  const d = new Date(value)
  if (Number.isNaN(d.getTime()) || d.getFullYear() <= 1) return ''
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
}

/** isPast tells whether an RFC 3339 time lies in the past. */
export function isPast(value?: string | null): boolean {
  if (!value) return false
  const t = Date.parse(value)
  return !Number.isNaN(t) && t < Date.now()
}
