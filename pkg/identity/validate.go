package identity

import (
	"net/mail"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/kubespace/kubespace/pkg/errs"
)

var usernamePattern = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9._-]{1,63}$`)

func checkUsername(f errs.Fields, field, v string) {
	if !usernamePattern.MatchString(v) {
		f.Add(field, "must be 2-64 characters of letters, digits, '.', '_' or '-', starting with a letter or digit")
	}
}

// checkPassword enforces length only: bcrypt reads at most 72 bytes, and length beats
// composition rules.
func checkPassword(f errs.Fields, field, v string) {
	switch {
	case utf8.RuneCountInString(v) < 8:
		f.Add(field, "must be at least 8 characters")
	case len(v) > 72:
		f.Add(field, "must be at most 72 bytes")
	}
}

func checkEmail(f errs.Fields, field, v string, required bool) {
	if v == "" {
		if required {
			f.Add(field, "is required")
		}
		return
	}
	a, err := mail.ParseAddress(v)
	if err != nil || a.Address != v || len(v) > 255 {
		f.Add(field, "must be a valid email address")
	}
}

func checkDisplayName(f errs.Fields, field, v string) {
	if utf8.RuneCountInString(v) > 128 || strings.ContainsAny(v, "\x00\r\n") {
		f.Add(field, "must be at most 128 characters on one line")
	}
}
