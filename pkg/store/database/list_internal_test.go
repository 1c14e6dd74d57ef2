package database

import (
	"encoding/base64"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/pkg/errs"
)

func TestCursorRoundTrip(t *testing.T) {
	t.Parallel()
	when := time.Date(2025, 2, 3, 4, 5, 6, 789000, time.UTC)
	for _, tc := range []struct {
		sort     string
		kind     valueKind
		nullable bool
		value    any
		want     any
	}{
		{"id", kindInt, false, int64(42), int64(42)},
		{"-username", kindString, false, `a"b'; --`, `a"b'; --`},
		{"created_at", kindTime, false, when, when},
		{"-last_login_at", kindTime, true, &when, when},
		{"last_login_at", kindTime, true, (*time.Time)(nil), nil},
	} {
		tok := encodeCursor(tc.sort, tc.kind, tc.value, 7)
		c, err := decodeCursor(tok, tc.sort, tc.kind, tc.nullable)
		require.NoError(t, err, tc.sort)
		require.Equal(t, tc.want, c.Value, tc.sort)
		require.EqualValues(t, 7, c.ID)
		_, err = decodeCursor(tok, "other", tc.kind, tc.nullable)
		require.True(t, errs.Is(err, errs.Invalid))
	}
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	for _, bad := range []string{
		"%%%",
		b64(`{"s":"id","v":1}x`),
		b64(`{"s":"id","v":"x","id":1}`),
		b64(`{"s":"id","v":null,"id":1}`), // NULL for a column that has none
		b64(`{"s":"id","v":1,"id":1,"extra":true}`),
		b64(`{"s":"id","v":1,"id":-1}`),
		b64(`{"s":"id","id":1}`),
	} {
		_, err := decodeCursor(bad, "id", kindInt, false)
		require.True(t, errs.Is(err, errs.Invalid), bad)
	}
	_, err := decodeCursor(b64(`{"s":"t","v":"yesterday","id":1}`), "t", kindTime, false)
	require.True(t, errs.Is(err, errs.Invalid))
}

func TestEscapeLike(t *testing.T) {
	t.Parallel()
	require.Equal(t, `a!%b!_c!!d\e`, escapeLike(`a%b_c!d\e`))
}
