package database

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"time"

	"github.com/kubespace/kubespace/pkg/errs"
)

// cursor is the position after the last row of a page. On the wire it is base64url JSON of the
// sort it was made under, the sort field's last value and the last id; clients treat it as
// opaque.
type cursor struct {
	Value any   // int64, string, time.Time, or nil for a NULL
	ID    int64 // tie-breaker
}

type cursorWire struct {
	Sort  string          `json:"s"`
	Value json.RawMessage `json:"v"`
	ID    int64           `json:"id"`
}

// encodeCursor makes the token for the row with sort value v and id.
func encodeCursor(sort string, kind valueKind, v any, id int64) string {
	if p, ok := v.(*time.Time); ok {
		if p == nil {
			v = nil
		} else {
			v = *p
		}
	}
	if t, ok := v.(time.Time); ok && kind == kindTime {
		v = t.UTC().Format(time.RFC3339Nano)
	}
	raw, _ := json.Marshal(v) // int64, string or nil: cannot fail
	b, _ := json.Marshal(cursorWire{Sort: sort, Value: raw, ID: id})
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor parses a token made by encodeCursor for the same sort; anything else is
// errs.Invalid, including a token made under another sort.
func decodeCursor(token, sort string, kind valueKind, nullable bool) (*cursor, error) {
	invalid := errs.Invalidf("invalid continue token")
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return nil, invalid
	}
	var w cursorWire
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil || dec.Decode(&struct{}{}) != io.EOF {
		return nil, invalid
	}
	if w.Sort != sort || len(w.Value) == 0 || w.ID <= 0 {
		return nil, invalid
	}
	c := &cursor{ID: w.ID}
	if string(w.Value) == "null" {
		if !nullable {
			return nil, invalid
		}
		return c, nil
	}
	switch kind {
	case kindInt:
		var n int64
		if json.Unmarshal(w.Value, &n) != nil {
			return nil, invalid
		}
		c.Value = n
	case kindString:
		var s string
		if json.Unmarshal(w.Value, &s) != nil {
			return nil, invalid
		}
		c.Value = s
	case kindTime:
		var s string
		if json.Unmarshal(w.Value, &s) != nil {
			return nil, invalid
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return nil, invalid
		}
		c.Value = normTime(t)
	}
	return c, nil
}
