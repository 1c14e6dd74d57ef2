// ANSI colour codes in job logs rendered as HTML: SGR sequences become spans with classes
// (ansi-red, ansi-bold, ...); every other escape sequence is dropped; a carriage return starts the
// line over (progress bars). Text is HTML-escaped, so a log can never inject markup.

const ESC = '\u001b'
const FG = ['black', 'red', 'green', 'yellow', 'blue', 'magenta', 'cyan', 'white']

interface Style {
  fg: string
  bg: string
  bold: boolean
  dim: boolean
  italic: boolean
  underline: boolean
}

const plain = (): Style => ({ fg: '', bg: '', bold: false, dim: false, italic: false, underline: false })

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}

/** AnsiRenderer turns a log fed in chunks into HTML lines; styles carry across chunks and lines. */
export class AnsiRenderer {
  private style: Style = plain()
  /** The unfinished last line: its HTML so far, and raw text held back (a split escape sequence). */
  private line = ''
  private held = ''

  /** feed renders a chunk and returns the lines it completed (HTML, without the newline). */
  feed(chunk: string): string[] {
    const text = this.held + chunk
    this.held = ''
    const done: string[] = []
    let i = 0
    let run = ''
    const flushRun = () => {
      if (run) this.line += this.wrap(escapeHtml(run))
      run = ''
    }
    while (i < text.length) {
      const c = text[i]!
      if (c === '\n') {
        flushRun()
        done.push(this.line)
        this.line = ''
        i++
      } else if (c === '\r') {
        flushRun()
        // "\r\n" ends the line; a lone "\r" starts it over.
        if (text[i + 1] === '\n' || i + 1 === text.length) {
          if (i + 1 === text.length) this.held = '\r'
        } else this.line = ''
        i++
      } else if (c === ESC) {
        const m = /^\u001b\[([0-9;?]*)([A-Za-z])/.exec(text.slice(i, i + 64))
        if (!m) {
          // A sequence cut by the chunk boundary waits for the rest; anything else is dropped.
          if (text.length - i < 16 && /^\u001b(\[[0-9;?]*)?$/.test(text.slice(i))) {
            this.held = text.slice(i)
            break
          }
          i++
          continue
        }
        flushRun()
        if (m[2] === 'm') this.apply(m[1]!)
        i += m[0].length
      } else {
        run += c
        i++
      }
    }
    flushRun()
    return done
  }

  /** partial is the HTML of the line not yet ended. */
  partial(): string {
    return this.line
  }

  private apply(params: string): void {
    const codes = params === '' ? [0] : params.split(';').map((p) => Number(p) || 0)
    for (let k = 0; k < codes.length; k++) {
      const n = codes[k]!
      if (n === 0) this.style = plain()
      else if (n === 1) this.style.bold = true
      else if (n === 2) this.style.dim = true
      else if (n === 3) this.style.italic = true
      else if (n === 4) this.style.underline = true
      else if (n === 22) this.style.bold = this.style.dim = false
      else if (n === 23) this.style.italic = false
      else if (n === 24) this.style.underline = false
      else if (n >= 30 && n <= 37) this.style.fg = FG[n - 30]!
      else if (n >= 90 && n <= 97) this.style.fg = `bright-${FG[n - 90]}`
      else if (n === 39) this.style.fg = ''
      else if (n >= 40 && n <= 47) this.style.bg = FG[n - 40]!
      else if (n >= 100 && n <= 107) this.style.bg = `bright-${FG[n - 100]}`
      else if (n === 49) this.style.bg = ''
      else if (n === 38 || n === 48) {
        // 256 colours and true colour: skip their arguments, keep the default colour.
        k += codes[k + 1] === 5 ? 2 : codes[k + 1] === 2 ? 4 : 0
      }
    }
  }

  private wrap(html: string): string {
    const s = this.style
    const cls: string[] = []
    if (s.fg) cls.push(`ansi-${s.fg}`)
    if (s.bg) cls.push(`ansi-bg-${s.bg}`)
    if (s.bold) cls.push('ansi-bold')
    if (s.dim) cls.push('ansi-dim')
    if (s.italic) cls.push('ansi-italic')
    if (s.underline) cls.push('ansi-underline')
    return cls.length ? `<span class="${cls.join(' ')}">${html}</span>` : html
  }
}
