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
	"credential": true, // a spacelet's (POST /spacelet/register)
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
func Redact(v any) any { return redact(v, false) }

// redact replaces secret values; inSecretList marks the items of a SecretList, which carry no
// kind of their own.
func redact(v any, inSecretList bool) any {
	switch t := v.(type) {
	case map[string]any:
		kind, _ := t["kind"].(string)
		isSecret := inSecretList || secretKind(kind)
		out := make(map[string]any, len(t))
		for k, val := range t {
			n := normalise(k)
			switch {
			case secretKeys[n]:
				out[k] = redacted
			case isSecret && (n == "data" || n == "stringdata"):
				out[k] = redacted
			case n == "yaml" || n == "manifest":
				out[k] = redactManifest(val)
			case n == "items" && strings.EqualFold(kind, "SecretList"):
				out[k] = redact(val, true)
			default:
				out[k] = redact(val, false)
			}
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = redact(e, inSecretList)
		}
		return out
	default:
		return v
	}
}

// secretKind reports whether an object's kind is a Secret's. Case is ignored: redaction errs
// towards hiding.
func secretKind(kind string) bool { return strings.EqualFold(kind, "Secret") }
