package plugin_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/pkg/plugin"
)

const shellSchema = `{
  "type": "object",
  "properties": {
    "script": {"type": "string", "minLength": 1},
    "shell": {"enum": ["bash", "sh"]}
  },
  "required": ["script"],
  "additionalProperties": false
}`

func TestSchemaValidate(t *testing.T) {
	s, err := plugin.CompileSchema("execute_shell", json.RawMessage(shellSchema))
	require.NoError(t, err)
	cases := []struct {
		name, params string
		want         []plugin.Problem
	}{
		{"good", `{"script":"echo hi","shell":"sh"}`, nil},
		{"missing required", `{}`, []plugin.Problem{{Path: "", Message: "missing property 'script'"}}},
		{"empty means {}", ``, []plugin.Problem{{Path: "", Message: "missing property 'script'"}}},
		{"bad enum", `{"script":"x","shell":"zsh"}`, []plugin.Problem{{Path: "shell", Message: "value must be one of 'bash', 'sh'"}}},
		{"wrong type", `{"script":3}`, []plugin.Problem{{Path: "script", Message: "got number, want string"}}},
		{"not JSON", `{`, []plugin.Problem{{Message: "must be a JSON object"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			require.Equal(t, c.want, s.Validate(json.RawMessage(c.params)))
		})
	}
}

func TestCompileSchemaRefusesBadAndRemoteSchemas(t *testing.T) {
	_, err := plugin.CompileSchema("x", json.RawMessage(`{"type": 3}`))
	require.Error(t, err)
	_, err = plugin.CompileSchema("x", json.RawMessage(`not json`))
	require.Error(t, err)
	_, err = plugin.CompileSchema("x", json.RawMessage(`{"$ref": "https://example.com/s.json"}`))
	require.ErrorContains(t, err, "not allowed")
}
