package audit

import (
	"bytes"
	"encoding/json"
	"strings"
)

const (
	maxSummary = 4096
	redacted   = "[REDACTED]"
)

// secretKeys are JSON keys whose values never reach the audit log, matched case-insensitively
// after removing '_' and '-'.
var secretKeys = map[string]bool{
	"password": true, "oldpassword": true, "newpassword": true, "token": true, "setuptoken": true,
	"privatekey": true, "kubeconfig": true, "secret": true, "secretkey": true, "apikey": true,
	"accesskey": true, "clientsecret": true, "bindpassword": true, "authorization": true,
	"registrationtoken": true, "webhooksecret": true, "passphrase": true, "credentials": true,
}

func normalise(k string) string {
	return strings.ToLower(strings.NewReplacer("_", "", "-", "").Replace(k))
}

// Summarize renders a request body for the audit log: JSON with every secret value replaced
// (including a Kubernetes Secret's data and stringData), or a size note for anything else.
func Summarize(body []byte) string {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return ""
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return "(non-JSON body redacted)"
	}
	out, err := json.Marshal(Redact(v))
	if err != nil {
		return "(body redacted)"
	}
	return truncate(string(out), maxSummary)
}

// Redact returns v with secret values replaced; v is a decoded JSON value.
func Redact(v any) any {
	switch t := v.(type) {
	case map[string]any:
		isSecret := false
		if k, ok := t["kind"].(string); ok && k == "Secret" {
			isSecret = true
		}
		out := make(map[string]any, len(t))
		for k, val := range t {
			n := normalise(k)
			switch {
			case secretKeys[n]:
				out[k] = redacted
			case isSecret && (n == "data" || n == "stringdata"):
				out[k] = redacted
			case n == "yaml" || n == "manifest":
				// Manifests may embed Secrets; audit keeps their size, not their text.
				if s, ok := val.(string); ok && strings.Contains(s, "Secret") {
					out[k] = redacted
				} else {
					out[k] = Redact(val)
				}
			default:
				out[k] = Redact(val)
			}
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = Redact(e)
		}
		return out
	default:
		return v
	}
}
