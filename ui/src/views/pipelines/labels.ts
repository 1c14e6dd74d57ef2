// Labels as people type them: "key=value" lines.

/** parseLabels reads "key=value" lines (blank lines ignored; a line without "=" is a key with an empty value). */
export function parseLabels(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const line of text.split(/[\n,]/)) {
    const s = line.trim()
    if (!s) continue
    const i = s.indexOf('=')
    if (i < 0) out[s] = ''
    else out[s.slice(0, i).trim()] = s.slice(i + 1).trim()
  }
  return out
}

/** formatLabels writes labels as "key=value" lines. */
export function formatLabels(labels?: Record<string, string> | null): string {
  return Object.entries(labels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join('\n')
}
