// Package errs is KubeSpace's one error vocabulary. Every layer wraps errors with context on the
// way up; the kind decides the HTTP status in exactly one place (the API layer), and the code is the
// stable machine-readable string clients match on.
package errs

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Kind classifies an error; there is one kind per HTTP status class in the API contract.
type Kind int

// The kinds, in the order of API.md.
const (
	Internal Kind = iota
	Invalid
	Unauthenticated
	Forbidden
	NotFound
	Conflict
	TooLarge
	Unprocessable
	RateLimited
	Unavailable
)

var kindCodes = map[Kind]string{
	Internal:        "internal",
	Invalid:         "invalid",
	Unauthenticated: "unauthenticated",
	Forbidden:       "forbidden",
	NotFound:        "not_found",
	Conflict:        "conflict",
	TooLarge:        "too_large",
	Unprocessable:   "unprocessable",
	RateLimited:     "rate_limited",
	Unavailable:     "unavailable",
}

// String returns the default stable code of the kind.
func (k Kind) String() string { return kindCodes[k] }

// Error is a classified error with a stable code and a message safe to show to the client.
type Error struct {
	Kind    Kind
	Code    string            // stable snake_case code; defaults to the kind's code
	Message string            // human text, shown to clients (never for Internal)
	Fields  map[string]string // per-field validation messages
	// RetryAfter is set on RateLimited errors.
	RetryAfter time.Duration
	Err        error // cause, never shown to clients
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Message)
	if len(e.Fields) > 0 {
		keys := make([]string, 0, len(e.Fields))
		for k := range e.Fields {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for i, k := range keys {
			if i == 0 && b.Len() > 0 {
				b.WriteString(": ")
			} else if i > 0 {
				b.WriteString("; ")
			}
			fmt.Fprintf(&b, "%s %s", k, e.Fields[k])
		}
	}
	if e.Err != nil {
		if b.Len() > 0 {
			b.WriteString(": ")
		}
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap exposes the cause.
func (e *Error) Unwrap() error { return e.Err }

// StableCode returns the code, defaulting to the kind's.
func (e *Error) StableCode() string {
	if e.Code != "" {
		return e.Code
	}
	return e.Kind.String()
}

// New returns an error of the given kind with a formatted message.
func New(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// WithCode sets a specific stable code and returns e.
func (e *Error) WithCode(code string) *Error { e.Code = code; return e }

// Wrap returns an error of the given kind whose cause is err; the message is for clients.
func Wrap(kind Kind, err error, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...), Err: err}
}

// Invalidf returns an Invalid error.
func Invalidf(format string, args ...any) *Error { return New(Invalid, format, args...) }

// NotFoundf returns a NotFound error.
func NotFoundf(format string, args ...any) *Error { return New(NotFound, format, args...) }

// Conflictf returns a Conflict error.
func Conflictf(format string, args ...any) *Error { return New(Conflict, format, args...) }

// Forbiddenf returns a Forbidden error.
func Forbiddenf(format string, args ...any) *Error { return New(Forbidden, format, args...) }

// Unprocessablef returns an Unprocessable error.
func Unprocessablef(format string, args ...any) *Error { return New(Unprocessable, format, args...) }

// Unauthenticatedf returns an Unauthenticated error.
func Unauthenticatedf(format string, args ...any) *Error {
	return New(Unauthenticated, format, args...)
}

// Fields is a collector of per-field validation problems.
type Fields map[string]string

// Add records a problem with field unless one is already recorded.
func (f Fields) Add(field, format string, args ...any) {
	if _, ok := f[field]; !ok {
		f[field] = fmt.Sprintf(format, args...)
	}
}

// Err returns an Invalid error listing the fields, or nil when there are none.
func (f Fields) Err() error {
	if len(f) == 0 {
		return nil
	}
	return &Error{Kind: Invalid, Code: "validation_failed", Message: "request is invalid", Fields: f}
}

// Field returns an Invalid error about one field (the shape of Fields.Err with one entry).
func Field(field, format string, args ...any) error {
	f := Fields{}
	f.Add(field, format, args...)
	return f.Err()
}

// As returns the *Error in err's chain, if any.
func As(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}

// KindOf returns the kind of err (Internal when unclassified).
func KindOf(err error) Kind {
	if e, ok := As(err); ok {
		return e.Kind
	}
	return Internal
}

// Is reports whether err is of kind k.
func Is(err error, k Kind) bool { return err != nil && KindOf(err) == k }
