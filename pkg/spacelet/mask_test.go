package spacelet_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/pkg/spacelet"
)

func TestMaskerWholeAndSplit(t *testing.T) {
	secret := "s3cr3t-token-value"
	text := "login with s3cr3t-token-value now; again:s3cr3t-token-value\nbye s3cr3t"
	want := "login with *** now; again:***\nbye s3cr3t"
	// Every way of cutting the text in two, and byte by byte.
	for cut := 0; cut <= len(text); cut++ {
		var out bytes.Buffer
		m := spacelet.NewMasker(&out, []string{secret, "", "ab"})
		_, err := m.Write([]byte(text[:cut]))
		require.NoError(t, err)
		_, err = m.Write([]byte(text[cut:]))
		require.NoError(t, err)
		require.NoError(t, m.Flush())
		require.Equal(t, want, out.String(), "cut at %d", cut)
	}
	var out bytes.Buffer
	m := spacelet.NewMasker(&out, []string{secret})
	for i := range len(text) {
		_, _ = m.Write([]byte{text[i]})
		require.NotContains(t, out.String(), secret)
	}
	require.NoError(t, m.Flush())
	require.Equal(t, want, out.String())
}

func TestMaskerNestedMultilineAndPassThrough(t *testing.T) {
	var out bytes.Buffer
	key := "-----BEGIN KEY-----\nAAAABBBBCCCCDDDD\n-----END KEY-----"
	m := spacelet.NewMasker(&out, []string{"pass", "password123", key})
	_, _ = m.Write([]byte("a password123 b pass c AAAABBBBCCCCDDDD d\n" + key + "\n"))
	require.NoError(t, m.Flush())
	require.Equal(t, "a *** b *** c *** d\n***\n", out.String())

	// Text that cannot start a secret passes at once (a live log is not held back).
	out.Reset()
	m = spacelet.NewMasker(&out, []string{"zzzz-secret"})
	_, _ = m.Write([]byte("hello world\n"))
	require.Equal(t, "hello world\n", out.String())
	_, _ = m.Write([]byte("ends with zz"))
	require.Equal(t, "hello world\nends with ", out.String())
	require.NoError(t, m.Flush())
	require.True(t, strings.HasSuffix(out.String(), "zz"))
}
