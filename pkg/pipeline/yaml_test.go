package pipeline_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/pkg/errs"
	"github.com/kubespace/kubespace/pkg/pipeline"
)

func TestExportImportRoundTrip(t *testing.T) {
	d := goodDef()
	d.Description = "builds: everything"
	d.Stages[0].Jobs[0].Params = json.RawMessage(`{"script":"set -e\nmake\nmake test\n","shell":"bash"}`)
	d.Stages[1].CustomParams[0].Default = "2026-01-01"
	d.Stages[1].Jobs[0].Params = json.RawMessage(`{"n":3,"f":1.5,"ok":true,"s":"123","y":"yes","nested":{"b":[1,"x",null]}}`)
	require.NoError(t, validator(t).Validate(&d))

	out, err := pipeline.ExportYAML(&d)
	require.NoError(t, err)
	require.Contains(t, string(out), "script: |", "scripts are literal blocks")
	require.Less(t, strings.Index(string(out), "name: build"), strings.Index(string(out), "stages:"), "fields keep their order")

	back, err := pipeline.ImportYAML(out)
	require.NoError(t, err, "%s", out)
	require.NoError(t, validator(t).Validate(back))
	want, _ := json.Marshal(d)
	got, _ := json.Marshal(back)
	require.JSONEq(t, string(want), string(got))
}

func TestImportYAMLErrors(t *testing.T) {
	big := "name: x\ndescription: " + strings.Repeat("a", pipeline.MaxDefinitionBytes) + "\n"
	cases := []struct {
		name, yaml string
		kind       errs.Kind
		field      string // "" when the message says it all
		phrase     string
	}{
		{"empty", "", errs.Invalid, "", "empty"},
		{"malformed", "name: [x\nstages: 1", errs.Invalid, "", "malformed"},
		{"two documents", "name: a\n---\nname: b\n", errs.Invalid, "", "one document"},
		{"a list", "- a\n- b\n", errs.Invalid, "", "line 1: a pipeline definition must be a mapping"},
		{"unknown field", "name: a\nstages:\n  - name: s\n    jobz: []\n", errs.Invalid, "stages[0].jobz", "line 4: is not a known field"},
		{"wrong type", "name: a\nstages:\n  - name: s\n    jobs:\n      - name: j\n        timeout_seconds: soon\n", errs.Invalid, "stages[0].jobs[0].timeout_seconds", "line 6: must be an integer"},
		{"string for list", "name: a\nstages: build\n", errs.Invalid, "stages", "line 2: must be a list"},
		{"alias", "name: &n a\nstages: []\ndescription: *n\n", errs.Invalid, "", "line 1: anchors and aliases"},
		{"bomb", "a: &a [x, x, x, x]\nb: &b [*a, *a, *a, *a]\nc: &c [*b, *b, *b, *b]\n", errs.Invalid, "", "anchors and aliases"},
		{"merge key", "name: a\n<<: {description: b}\n", errs.Invalid, "", "line 2: merge keys"},
		{"repeated key", "name: a\nname: b\n", errs.Invalid, "", ""},
		{"custom tag", "name: !secret a\n", errs.Invalid, "", "line 1: tag !secret is not allowed"},
		{"non-string key", "name: a\n1: b\n", errs.Invalid, "", "line 2: keys must be strings"},
		{"infinite", "name: a\nstages:\n  - name: s\n    jobs:\n      - params: {x: .inf}\n", errs.Invalid, "", "line 5: \".inf\" is not a finite number"},
		{"too deep", "name: a\nstages:\n  - jobs:\n      - params: " + strings.Repeat("[", 100) + strings.Repeat("]", 100) + "\n", errs.Invalid, "", "deeper than"},
		{"too large", big, errs.TooLarge, "", "at most"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := pipeline.ImportYAML([]byte(c.yaml))
			require.Error(t, err)
			require.Equal(t, c.kind, errs.KindOf(err), "%v", err)
			e, _ := errs.As(err)
			if c.field != "" {
				require.Contains(t, e.Fields, c.field, "%v", err)
				require.Contains(t, e.Fields[c.field], c.phrase)
			} else {
				require.Contains(t, e.Error(), c.phrase)
			}
		})
	}
}

func TestValidatorImportGivesLines(t *testing.T) {
	y := `name: build
sources:
  - type: code
    branches:
      - type: regex
        pattern: "feat/(x"
stages:
  - name: compile
    jobs:
      - name: make
        plugin_key: execute_shell
        params:
          script: make
          shell: zsh
`
	_, err := validator(t).Import([]byte(y))
	e, ok := errs.As(err)
	require.True(t, ok, "%v", err)
	require.Equal(t, errs.Invalid, e.Kind)
	require.Equal(t, "line 6: is not a valid regular expression: missing closing ): `^(?:feat/(x)$`", e.Fields["sources[0].branches[0].pattern"])
	require.Contains(t, e.Fields["stages[0].jobs[0].params.shell"], "line 14: value must be one of")

	d, err := validator(t).Import([]byte("name: ok\nstages:\n  - name: s\n    jobs:\n      - name: j\n        plugin_key: noop\n"))
	require.NoError(t, err)
	require.Equal(t, pipeline.StageAuto, d.Stages[0].TriggerMode)
}

func TestDecodeJSON(t *testing.T) {
	d, err := pipeline.DecodeJSON([]byte(`{"name":"a","stages":[{"name":"s","jobs":[{"name":"j","plugin_key":"noop","params":{"x":[1,2]}}]}]}`))
	require.NoError(t, err)
	require.JSONEq(t, `{"x":[1,2]}`, string(d.Stages[0].Jobs[0].Params))

	cases := []struct{ name, body, field, phrase string }{
		{"not object", `[]`, "", "JSON object"},
		{"syntax", "{\n\"name\": }", "", "line 2"},
		{"trailing", `{"name":"a"} {}`, "", "single JSON object"},
		{"unknown", `{"name":"a","stage":[]}`, "stage", "not a known field"},
		{"nested unknown", `{"stages":[{"jobs":[{"plugin":"x"}]}]}`, "stages[0].jobs[0].plugin", "not a known field"},
		{"bad int", `{"stages":[{"jobs":[{"retries":1.5}]}]}`, "stages[0].jobs[0].retries", "integer"},
		{"huge int", `{"sources":[{"type":"pipeline","pipeline_id":99999999999999999999}]}`, "sources[0].pipeline_id", "integer between"},
		{"bad bool", `{"triggers":[{"poll":"yes"}]}`, "triggers[0].poll", "true or false"},
		{"labels not strings", `{"stages":[{"jobs":[{"schedule":{"labels":{"os":1}}}]}]}`, "stages[0].jobs[0].schedule.labels.os", "string"},
		{"string for object", `{"stages":["x"]}`, "stages[0]", "object"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := pipeline.DecodeJSON([]byte(c.body))
			require.True(t, errs.Is(err, errs.Invalid), "%v", err)
			e, _ := errs.As(err)
			if c.field != "" {
				require.Contains(t, e.Fields[c.field], c.phrase, "%v", err)
			} else {
				require.Contains(t, e.Error(), c.phrase)
			}
		})
	}
	_, err = pipeline.DecodeJSON(make([]byte, pipeline.MaxDefinitionBytes+1))
	require.True(t, errs.Is(err, errs.TooLarge))
}
