package pipeline_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/pkg/errs"
	"github.com/kubespace/kubespace/pkg/pipeline"
)

// fakePlugin is a plugin as the validator sees it: a key and a params schema.
type fakePlugin struct {
	key    string
	schema string
}

func (p fakePlugin) Key() string             { return p.key }
func (p fakePlugin) Schema() json.RawMessage { return json.RawMessage(p.schema) }

var shell = fakePlugin{"execute_shell", `{"type":"object","properties":{"script":{"type":"string","minLength":1},"shell":{"enum":["bash","sh"]}},"required":["script"],"additionalProperties":false}`}

func validator(t testing.TB) *pipeline.Validator {
	t.Helper()
	v, err := pipeline.NewValidator([]pipeline.PluginSchema{shell, fakePlugin{"noop", `{"type":"object"}`}})
	require.NoError(t, err)
	return v
}

func goodDef() pipeline.Definition {
	return pipeline.Definition{
		Name:    "build",
		Sources: []pipeline.Source{{Type: pipeline.SourceCode, Branches: []pipeline.BranchRule{{Type: pipeline.BranchRegex, Pattern: "release/.*"}}}},
		Triggers: []pipeline.Trigger{
			{Type: pipeline.TriggerCron, Schedule: "0 3 * * *", TimeZone: "Asia/Shanghai"},
			{Type: pipeline.TriggerPush, Poll: true},
			{Type: pipeline.TriggerPipeline, PipelineID: 7},
		},
		Stages: []pipeline.Stage{
			{Name: "build", Jobs: []pipeline.Job{{Name: "compile", PluginKey: "execute_shell", Params: json.RawMessage(`{"script":"make"}`), Schedule: pipeline.Schedule{Labels: map[string]string{"os": "linux"}}, TimeoutSeconds: 600, Retries: 2}}},
			{Name: "release", TriggerMode: pipeline.StageManual, CustomParams: []pipeline.Param{{Name: "VERSION", Default: "v1"}}, Jobs: []pipeline.Job{{Name: "tag", PluginKey: "noop", Schedule: pipeline.Schedule{Hostname: "builder-1"}}}},
		},
	}
}

func TestValidateGoodDefinitionFillsDefaults(t *testing.T) {
	d := goodDef()
	require.NoError(t, validator(t).Validate(&d))
	require.Equal(t, pipeline.StageAuto, d.Stages[0].TriggerMode)
	require.JSONEq(t, `{}`, string(d.Stages[1].Jobs[0].Params))
}

// TestValidateReportsFields checks each kind of mistake is refused with the exact field path.
func TestValidateReportsFields(t *testing.T) {
	cases := []struct {
		name   string
		edit   func(d *pipeline.Definition)
		field  string
		phrase string
	}{
		{"no name", func(d *pipeline.Definition) { d.Name = "" }, "name", "is required"},
		{"padded name", func(d *pipeline.Definition) { d.Name = " x" }, "name", "spaces"},
		{"control char name", func(d *pipeline.Definition) { d.Name = "a\x01b" }, "name", "control"},
		{"long name", func(d *pipeline.Definition) { d.Name = string(make([]byte, 129)) }, "name", ""},
		{"bad regex", func(d *pipeline.Definition) {
			d.Sources[0].Branches = append(d.Sources[0].Branches, pipeline.BranchRule{Type: pipeline.BranchRegex, Pattern: "feat/(x"})
		}, "sources[0].branches[1].pattern", "missing closing )"},
		{"bad rule type", func(d *pipeline.Definition) { d.Sources[0].Branches[0].Type = "glob" }, "sources[0].branches[0].type", `not "glob"`},
		{"empty pattern", func(d *pipeline.Definition) { d.Sources[0].Branches[0].Pattern = "" }, "sources[0].branches[0].pattern", "is required"},
		{"two code sources", func(d *pipeline.Definition) {
			d.Sources = append(d.Sources, pipeline.Source{Type: pipeline.SourceCode})
		}, "sources[1].type", "repeats"},
		{"pipeline source without id", func(d *pipeline.Definition) {
			d.Sources = append(d.Sources, pipeline.Source{Type: pipeline.SourcePipeline})
		}, "sources[1].pipeline_id", "is required"},
		{"unknown source", func(d *pipeline.Definition) { d.Sources[0].Type = "svn" }, "sources[0].type", "code or pipeline"},
		{"bad cron", func(d *pipeline.Definition) { d.Triggers[0].Schedule = "61 * * * *" }, "triggers[0].schedule", "not a valid cron expression"},
		{"six fields", func(d *pipeline.Definition) { d.Triggers[0].Schedule = "0 0 3 * * *" }, "triggers[0].schedule", "not a valid cron expression"},
		{"never fires", func(d *pipeline.Definition) { d.Triggers[0].Schedule = "0 0 30 2 *" }, "triggers[0].schedule", "never fires"},
		{"tz in expression", func(d *pipeline.Definition) { d.Triggers[0].Schedule = "CRON_TZ=UTC 0 3 * * *" }, "triggers[0].schedule", "time_zone"},
		{"bad zone", func(d *pipeline.Definition) { d.Triggers[0].TimeZone = "Mars/Olympus" }, "triggers[0].time_zone", "IANA"},
		{"local zone", func(d *pipeline.Definition) { d.Triggers[0].TimeZone = "Local" }, "triggers[0].time_zone", "IANA"},
		{"push without code", func(d *pipeline.Definition) { d.Sources = nil }, "triggers[1].type", "need a code source"},
		{"two pushes", func(d *pipeline.Definition) {
			d.Triggers = append(d.Triggers, pipeline.Trigger{Type: pipeline.TriggerPush})
		}, "triggers[3].type", "repeats"},
		{"poll on cron", func(d *pipeline.Definition) { d.Triggers[0].Poll = true }, "triggers[0].poll", "only for push"},
		{"chain without id", func(d *pipeline.Definition) { d.Triggers[2].PipelineID = 0 }, "triggers[2].pipeline_id", "is required"},
		{"unknown trigger", func(d *pipeline.Definition) { d.Triggers[0].Type = "tag" }, "triggers[0].type", "cron, push or pipeline"},
		{"no stages", func(d *pipeline.Definition) { d.Stages = nil }, "stages", "at least one"},
		{"duplicate stage", func(d *pipeline.Definition) { d.Stages[1].Name = "build" }, "stages[1].name", "repeats"},
		{"bad mode", func(d *pipeline.Definition) { d.Stages[0].TriggerMode = "sometimes" }, "stages[0].trigger_mode", "auto or manual"},
		{"no jobs", func(d *pipeline.Definition) { d.Stages[0].Jobs = nil }, "stages[0].jobs", "at least one"},
		{"duplicate job", func(d *pipeline.Definition) {
			d.Stages[0].Jobs = append(d.Stages[0].Jobs, d.Stages[0].Jobs[0])
		}, "stages[0].jobs[1].name", "repeats"},
		{"unknown plugin", func(d *pipeline.Definition) { d.Stages[0].Jobs[0].PluginKey = "docker" }, "stages[0].jobs[0].plugin_key", `not a known plugin "docker" (one of execute_shell, noop)`},
		{"no plugin", func(d *pipeline.Definition) { d.Stages[0].Jobs[0].PluginKey = "" }, "stages[0].jobs[0].plugin_key", "is required"},
		{"params miss script", func(d *pipeline.Definition) { d.Stages[0].Jobs[0].Params = json.RawMessage(`{"shell":"sh"}`) }, "stages[0].jobs[0].params", "missing property 'script'"},
		{"params bad shell", func(d *pipeline.Definition) {
			d.Stages[0].Jobs[0].Params = json.RawMessage(`{"script":"x","shell":"zsh"}`)
		}, "stages[0].jobs[0].params.shell", "must be one of"},
		{"params array", func(d *pipeline.Definition) { d.Stages[0].Jobs[0].Params = json.RawMessage(`[1]`) }, "stages[0].jobs[0].params", "JSON object"},
		{"hostname and labels", func(d *pipeline.Definition) { d.Stages[0].Jobs[0].Schedule.Hostname = "h" }, "stages[0].jobs[0].schedule", "set one of them"},
		{"bad hostname", func(d *pipeline.Definition) { d.Stages[1].Jobs[0].Schedule.Hostname = "a b" }, "stages[1].jobs[0].schedule.hostname", "host name"},
		{"bad label key", func(d *pipeline.Definition) { d.Stages[0].Jobs[0].Schedule.Labels = map[string]string{"-x": "1"} }, "stages[0].jobs[0].schedule.labels", `key "-x"`},
		{"bad label value", func(d *pipeline.Definition) { d.Stages[0].Jobs[0].Schedule.Labels = map[string]string{"os": "a b"} }, "stages[0].jobs[0].schedule.labels.os", "at most 63"},
		{"timeout too long", func(d *pipeline.Definition) { d.Stages[0].Jobs[0].TimeoutSeconds = 86401 }, "stages[0].jobs[0].timeout_seconds", "between 0"},
		{"negative timeout", func(d *pipeline.Definition) { d.Stages[0].Jobs[0].TimeoutSeconds = -1 }, "stages[0].jobs[0].timeout_seconds", "between 0"},
		{"too many retries", func(d *pipeline.Definition) { d.Stages[0].Jobs[0].Retries = 11 }, "stages[0].jobs[0].retries", "between 0 and 10"},
		{"param name", func(d *pipeline.Definition) { d.Stages[1].CustomParams[0].Name = "1X" }, "stages[1].custom_params[0].name", "variable name"},
		{"long default", func(d *pipeline.Definition) { d.Stages[1].CustomParams[0].Default = strings.Repeat("x", 5000) }, "stages[1].custom_params[0].default", "at most 4096"},
		{"every second", func(d *pipeline.Definition) { d.Triggers[0].Schedule = "@every 1s" }, "triggers[0].schedule", "once a minute"},
		{"reserved param", func(d *pipeline.Definition) { d.Stages[1].CustomParams[0].Name = "PIPELINE_BUILD_NUMBER" }, "stages[1].custom_params[0].name", "reserved"},
		{"duplicate param", func(d *pipeline.Definition) {
			d.Stages[1].CustomParams = append(d.Stages[1].CustomParams, d.Stages[1].CustomParams[0])
		}, "stages[1].custom_params[1].name", "repeats"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := goodDef()
			c.edit(&d)
			err := validator(t).Validate(&d)
			require.Error(t, err)
			require.True(t, errs.Is(err, errs.Invalid), "kind of %v", err)
			e, _ := errs.As(err)
			require.Contains(t, e.Fields, c.field, "fields: %v", e.Fields)
			require.Contains(t, e.Fields[c.field], c.phrase)
		})
	}
}

func TestNewValidatorRefusesBadPlugins(t *testing.T) {
	_, err := pipeline.NewValidator([]pipeline.PluginSchema{shell, shell})
	require.ErrorContains(t, err, "twice")
	_, err = pipeline.NewValidator([]pipeline.PluginSchema{fakePlugin{"bad", `{"type": 1}`}})
	require.Error(t, err)
}
