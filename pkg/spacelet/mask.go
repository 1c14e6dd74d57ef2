package spacelet

import (
	"bytes"
	"io"
	"sort"
	"strings"
	"sync"
)

// MaskText replaces a secret value in the log.
const MaskText = "***"

// minMaskLen is the shortest value masked: shorter ones would blank out ordinary words of every
// log line, and hide next to nothing.
const minMaskLen = 3

// Masker is a writer that replaces secret values with MaskText before passing text on, also when
// a value arrives split across writes: it holds back the end of what it got while that end could
// be the start of a secret, until the next write or Flush decides. It is safe for concurrent use.
type Masker struct {
	mu      sync.Mutex
	out     io.Writer
	secrets [][]byte // longest first, so a value containing another is masked whole
	pending []byte
	err     error
}

// NewMasker returns a Masker writing to out. Multi-line values are also masked line by line
// (a private key printed in pieces).
func NewMasker(out io.Writer, values []string) *Masker {
	seen := map[string]bool{}
	var secrets [][]byte
	add := func(v string) {
		if len(v) >= minMaskLen && !seen[v] {
			seen[v] = true
			secrets = append(secrets, []byte(v))
		}
	}
	for _, v := range values {
		add(v)
		if strings.Contains(v, "\n") {
			for _, line := range strings.Split(v, "\n") {
				if line = strings.TrimSpace(line); len(line) >= 8 {
					add(line)
				}
			}
		}
	}
	sort.Slice(secrets, func(i, j int) bool { return len(secrets[i]) > len(secrets[j]) })
	return &Masker{out: out, secrets: secrets}
}

// Write implements io.Writer. It reports len(p) written once the data is accepted; the masked
// text may reach the underlying writer later (Flush).
func (m *Masker) Write(p []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return 0, m.err
	}
	if len(m.secrets) == 0 {
		_, m.err = m.out.Write(p)
		return len(p), m.err
	}
	m.pending = append(m.pending, p...)
	masked := m.mask(m.pending)
	keep := m.heldBack(masked)
	if emit := masked[:len(masked)-keep]; len(emit) > 0 {
		if _, m.err = m.out.Write(emit); m.err != nil {
			return 0, m.err
		}
	}
	m.pending = append(m.pending[:0], masked[len(masked)-keep:]...)
	return len(p), nil
}

// Flush passes on what is held back (the job ended, or the log pauses).
func (m *Masker) Flush() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil || len(m.pending) == 0 {
		return m.err
	}
	_, m.err = m.out.Write(m.mask(m.pending))
	m.pending = m.pending[:0]
	return m.err
}

// mask replaces every whole secret in b.
func (m *Masker) mask(b []byte) []byte {
	for _, s := range m.secrets {
		if bytes.Contains(b, s) {
			b = bytes.ReplaceAll(b, s, []byte(MaskText))
		}
	}
	return b
}

// heldBack is the length of the longest end of b that is the start of a secret (and so may
// continue into one with the next write).
func (m *Masker) heldBack(b []byte) int {
	best := 0
	for _, s := range m.secrets {
		n := min(len(s)-1, len(b))
		for k := n; k > best; k-- {
			if bytes.HasSuffix(b, s[:k]) {
				best = k
				break
			}
		}
	}
	return best
}
