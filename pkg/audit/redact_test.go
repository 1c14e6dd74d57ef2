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
		// Manifests are parsed as apply parses them, so the kind is the one apply sees.
		{"yaml with escaped kind", `{"yaml":"apiVersion: v1\nkind: \"Secr\\x65t\"\nmetadata: {name: db}\nstringData:\n  pw: plain-x65\n"}`,
			[]string{"plain-x65"}, []string{`"name":"db"`}},
		{"yaml with unicode-escaped kind", `{"yaml":"kind: \"Secr\\u0065t\"\nstringData: {pw: plain-u0065}\n"}`, []string{"plain-u0065"}, nil},
		{"json manifest with escaped kind", `{"yaml":"{\"kind\":\"Secr\\u0065t\",\"data\":{\"pw\":\"aHVudGVyMg==\"}}"}`, []string{"aHVudGVyMg=="}, nil},
		{"flow style", `{"yaml":"{apiVersion: v1, kind: Secret, metadata: {name: db}, stringData: {pw: plain-flow}}"}`,
			[]string{"plain-flow"}, []string{`"name":"db"`}},
		{"lower-case kind", `{"yaml":"kind: secret\nstringData: {pw: plain-lower}\n"}`, []string{"plain-lower"}, nil},
		{"secret among documents", `{"yaml":"kind: ConfigMap\nmetadata: {name: cm}\ndata: {color: blue}\n---\nkind: Secret\nstringData: {pw: plain-second}\n"}`,
			[]string{"plain-second"}, []string{"blue", `"name":"cm"`}},
		{"secret in a list", `{"yaml":"kind: List\nitems:\n- kind: Secret\n  stringData: {pw: plain-list}\n"}`, []string{"plain-list"}, nil},
		{"secret list items", `{"yaml":"kind: SecretList\nitems:\n- metadata: {name: a}\n  data: {pw: cGxhaW4tc2w=}\n"}`, []string{"cGxhaW4tc2w="}, nil},
		{"configmap manifest kept", `{"yaml":"kind: ConfigMap\nmetadata: {name: cm}\ndata: {color: blue}\n"}`, nil, []string{"blue"}},
		{"unparsable manifest", `{"yaml":"kind: Secret\nstringData: {pw: plain-broken\n"}`, []string{"plain-broken"}, []string{redacted}},
		{"manifest key in another case", `{"YAML":"kind: \"Secr\\x65t\"\nstringData: {pw: plain-case}\n"}`, []string{"plain-case"}, nil},
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
