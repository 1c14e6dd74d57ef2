package audit

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSummarizeRedactsSecrets(t *testing.T) {
	cases := []struct {
		name, in string
		hidden   []string
		kept     []string
	}{
		{"passwords", `{"username":"bob","password":"hunter2hunter2","old_password":"o1d-pass","new_password":"n3w-pass"}`,
			[]string{"hunter2hunter2", "o1d-pass", "n3w-pass"}, []string{"bob"}},
		{"tokens and keys", `{"name":"x","token":"ghp_abc","private_key":"-----BEGIN KEY","kubeconfig":"apiVersion: v1","setup_token":"s3tup"}`,
			[]string{"ghp_abc", "BEGIN KEY", "apiVersion", "s3tup"}, []string{`"name":"x"`}},
		{"nested and case", `{"spec":{"Password":"p@ss","items":[{"API-Key":"k3y"}]}}`, []string{"p@ss", "k3y"}, []string{"spec"}},
		{"kubernetes secret", `{"kind":"Secret","metadata":{"name":"db"},"data":{"pw":"aHVudGVy"},"stringData":{"pw":"plain"}}`,
			[]string{"aHVudGVy", "plain"}, []string{`"name":"db"`}},
		{"configmap data kept", `{"kind":"ConfigMap","data":{"color":"blue"}}`, nil, []string{"blue"}},
		{"yaml with secret", `{"yaml":"kind: Secret\nstringData:\n  pw: plain"}`, []string{"plain"}, nil},
		{"not json", `password=hunter2`, []string{"hunter2"}, []string{"non-JSON"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Summarize([]byte(tc.in))
			for _, h := range tc.hidden {
				require.NotContains(t, got, h)
			}
			for _, k := range tc.kept {
				require.Contains(t, got, k)
			}
		})
	}
	require.Equal(t, "", Summarize(nil))
	long := `{"note":"` + strings.Repeat("é", 5000) + `"}`
	require.LessOrEqual(t, len(Summarize([]byte(long))), maxSummary+len("…"))
}
