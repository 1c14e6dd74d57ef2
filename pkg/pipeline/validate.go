package pipeline

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/kubespace/kubespace/pkg/errs"
	"github.com/kubespace/kubespace/pkg/plugin"
)

// Bounds of a definition. They keep a definition small enough to store, show and run, and
// refuse values no one means (a job retried 1000 times, a timeout of a year).
const (
	MaxNameLen        = 128
	MaxDescriptionLen = 512
	MaxSources        = 10
	MaxTriggers       = 20
	MaxStages         = 50
	MaxJobsPerStage   = 20
	MaxParamsPerStage = 50
	MaxPatternLen     = 256
	MaxParamsBytes    = 64 << 10
	// MaxParamDefaultBytes bounds a parameter's default (it becomes an environment variable).
	MaxParamDefaultBytes = 4 << 10
	MaxLabels            = 20
	// MaxTimeoutSeconds is a day; 0 means the default timeout of the run controller.
	MaxTimeoutSeconds = 24 * 60 * 60
	MaxRetries        = 10
)

// PluginSchema is what the validator needs of a plugin (plugin.Plugin satisfies it).
type PluginSchema interface {
	Key() string
	Schema() json.RawMessage
}

// Validator checks definitions against the known plugins. Build one with NewValidator at start
// (schemas are compiled once); it is safe for concurrent use.
type Validator struct {
	schemas map[string]*plugin.Schema
	keys    []string
}

// NewValidator compiles the params schema of every plugin. A plugin with a bad schema or a
// repeated key is a programming error reported here.
func NewValidator(plugins []PluginSchema) (*Validator, error) {
	v := &Validator{schemas: map[string]*plugin.Schema{}}
	for _, p := range plugins {
		if _, dup := v.schemas[p.Key()]; dup {
			return nil, fmt.Errorf("plugin %s registered twice", p.Key())
		}
		s, err := plugin.CompileSchema(p.Key(), p.Schema())
		if err != nil {
			return nil, err
		}
		v.schemas[p.Key()] = s
		v.keys = append(v.keys, p.Key())
	}
	sort.Strings(v.keys)
	return v, nil
}

// Validate checks a definition and fills in defaults (an empty trigger_mode is auto, absent
// params are {}). Every problem is reported at once as an errs Invalid error whose fields are
// paths such as "stages[0].jobs[1].params.script" or "sources[0].branches[1].pattern".
func (v *Validator) Validate(d *Definition) error {
	f := errs.Fields{}
	checkName(f, "name", d.Name, true)
	if utf8.RuneCountInString(d.Description) > MaxDescriptionLen {
		f.Add("description", "must be at most %d characters", MaxDescriptionLen)
	}
	v.checkSources(f, d)
	v.checkTriggers(f, d)
	v.checkStages(f, d)
	return f.Err()
}

func checkName(f errs.Fields, field, name string, required bool) {
	switch {
	case strings.TrimSpace(name) == "":
		if required {
			f.Add(field, "is required")
		}
	case name != strings.TrimSpace(name):
		f.Add(field, "must not start or end with spaces")
	case utf8.RuneCountInString(name) > MaxNameLen:
		f.Add(field, "must be at most %d characters", MaxNameLen)
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		f.Add(field, "must not contain control characters")
	}
}

func (v *Validator) checkSources(f errs.Fields, d *Definition) {
	if len(d.Sources) > MaxSources {
		f.Add("sources", "must hold at most %d sources", MaxSources)
		return
	}
	code := -1
	seen := map[int64]int{}
	for i, s := range d.Sources {
		at := fmt.Sprintf("sources[%d]", i)
		switch s.Type {
		case SourceCode:
			if code >= 0 {
				f.Add(at+".type", "repeats the code source of sources[%d]: a pipeline builds one repository", code)
			}
			code = i
			if s.PipelineID != 0 {
				f.Add(at+".pipeline_id", "is only for pipeline sources")
			}
			checkBranchRules(f, at, s.Branches)
		case SourcePipeline:
			if len(s.Branches) > 0 {
				f.Add(at+".branches", "are only for code sources")
			}
			if s.PipelineID <= 0 {
				f.Add(at+".pipeline_id", "is required (the id of the source pipeline)")
			} else if j, dup := seen[s.PipelineID]; dup {
				f.Add(at+".pipeline_id", "repeats sources[%d]", j)
			} else {
				seen[s.PipelineID] = i
			}
		case "":
			f.Add(at+".type", "is required (code or pipeline)")
		default:
			f.Add(at+".type", "must be code or pipeline, not %q", s.Type)
		}
	}
}

func checkBranchRules(f errs.Fields, at string, rules []BranchRule) {
	for j, r := range rules {
		rat := fmt.Sprintf("%s.branches[%d]", at, j)
		switch r.Type {
		case BranchExact, BranchExclude, BranchRegex:
		case "":
			f.Add(rat+".type", "is required (exact, exclude or regex)")
		default:
			f.Add(rat+".type", "must be exact, exclude or regex, not %q", r.Type)
		}
		switch {
		case r.Pattern == "":
			f.Add(rat+".pattern", "is required")
		case len(r.Pattern) > MaxPatternLen:
			f.Add(rat+".pattern", "must be at most %d bytes", MaxPatternLen)
		case r.Type == BranchRegex:
			if _, err := compileBranchRegex(r.Pattern); err != nil {
				f.Add(rat+".pattern", "is not a valid regular expression: %s", regexProblem(err))
			}
		}
	}
}

// regexProblem keeps the useful part of a regexp error ("missing closing ): `(a`").
func regexProblem(err error) string {
	return strings.TrimPrefix(err.Error(), "error parsing regexp: ")
}

func (v *Validator) checkTriggers(f errs.Fields, d *Definition) {
	if len(d.Triggers) > MaxTriggers {
		f.Add("triggers", "must hold at most %d triggers", MaxTriggers)
		return
	}
	_, hasCode := d.CodeSource()
	push := -1
	chained := map[int64]int{}
	for i, t := range d.Triggers {
		at := fmt.Sprintf("triggers[%d]", i)
		if t.Type != TriggerCron && (t.Schedule != "" || t.TimeZone != "") {
			f.Add(at+".schedule", "is only for cron triggers")
		}
		if t.Type != TriggerPush && t.Poll {
			f.Add(at+".poll", "is only for push triggers")
		}
		if t.Type != TriggerPipeline && t.PipelineID != 0 {
			f.Add(at+".pipeline_id", "is only for pipeline triggers")
		}
		switch t.Type {
		case TriggerCron:
			if _, err := LoadZone(t.TimeZone); err != nil {
				f.Add(at+".time_zone", "%v", err)
			} else if _, err := ParseSchedule(t.Schedule, t.TimeZone); err != nil {
				f.Add(at+".schedule", "%v", err)
			}
		case TriggerPush:
			if !hasCode {
				f.Add(at+".type", "push triggers need a code source")
			}
			if push >= 0 {
				f.Add(at+".type", "repeats the push trigger of triggers[%d]", push)
			}
			push = i
		case TriggerPipeline:
			if t.PipelineID <= 0 {
				f.Add(at+".pipeline_id", "is required (the id of the pipeline whose successful runs start this one)")
			} else if j, dup := chained[t.PipelineID]; dup {
				f.Add(at+".pipeline_id", "repeats triggers[%d]", j)
			} else {
				chained[t.PipelineID] = i
			}
		case "":
			f.Add(at+".type", "is required (cron, push or pipeline)")
		default:
			f.Add(at+".type", "must be cron, push or pipeline, not %q", t.Type)
		}
	}
}

func (v *Validator) checkStages(f errs.Fields, d *Definition) {
	switch {
	case len(d.Stages) == 0:
		f.Add("stages", "must hold at least one stage")
		return
	case len(d.Stages) > MaxStages:
		f.Add("stages", "must hold at most %d stages", MaxStages)
		return
	}
	names := map[string]int{}
	for i := range d.Stages {
		s := &d.Stages[i]
		at := fmt.Sprintf("stages[%d]", i)
		checkName(f, at+".name", s.Name, true)
		if j, dup := names[s.Name]; dup && s.Name != "" {
			f.Add(at+".name", "repeats the name of stages[%d]", j)
		} else {
			names[s.Name] = i
		}
		switch s.TriggerMode {
		case "":
			s.TriggerMode = StageAuto
		case StageAuto, StageManual:
		default:
			f.Add(at+".trigger_mode", "must be auto or manual, not %q", s.TriggerMode)
		}
		checkParams(f, at, s.CustomParams)
		v.checkJobs(f, at, s.Jobs)
	}
}

func checkParams(f errs.Fields, at string, params []Param) {
	if len(params) > MaxParamsPerStage {
		f.Add(at+".custom_params", "must hold at most %d parameters", MaxParamsPerStage)
		return
	}
	seen := map[string]int{}
	for i, p := range params {
		pat := fmt.Sprintf("%s.custom_params[%d]", at, i)
		switch {
		case p.Name == "":
			f.Add(pat+".name", "is required")
		case !ValidEnvName(p.Name) || len(p.Name) > MaxNameLen:
			f.Add(pat+".name", "must be a variable name (letters, digits and _, not starting with a digit, at most %d)", MaxNameLen)
		case strings.HasPrefix(p.Name, ReservedPrefix):
			f.Add(pat+".name", "must not start with %s (reserved for the run variables)", ReservedPrefix)
		default:
			if j, dup := seen[p.Name]; dup {
				f.Add(pat+".name", "repeats custom_params[%d]", j)
			}
			seen[p.Name] = i
		}
		if utf8.RuneCountInString(p.Description) > MaxDescriptionLen {
			f.Add(pat+".description", "must be at most %d characters", MaxDescriptionLen)
		}
		switch {
		case strings.IndexByte(p.Default, 0) >= 0:
			f.Add(pat+".default", "must not contain NUL bytes")
		case len(p.Default) > MaxParamDefaultBytes:
			f.Add(pat+".default", "must be at most %d bytes", MaxParamDefaultBytes)
		}
	}
}

func (v *Validator) checkJobs(f errs.Fields, at string, jobs []Job) {
	switch {
	case len(jobs) == 0:
		f.Add(at+".jobs", "must hold at least one job")
		return
	case len(jobs) > MaxJobsPerStage:
		f.Add(at+".jobs", "must hold at most %d jobs", MaxJobsPerStage)
		return
	}
	names := map[string]int{}
	for i := range jobs {
		j := &jobs[i]
		jat := fmt.Sprintf("%s.jobs[%d]", at, i)
		checkName(f, jat+".name", j.Name, true)
		if k, dup := names[j.Name]; dup && j.Name != "" {
			f.Add(jat+".name", "repeats the name of jobs[%d]", k)
		} else {
			names[j.Name] = i
		}
		v.checkPlugin(f, jat, j)
		checkSchedule(f, jat+".schedule", j.Schedule)
		if j.TimeoutSeconds < 0 || j.TimeoutSeconds > MaxTimeoutSeconds {
			f.Add(jat+".timeout_seconds", "must be between 0 (the default) and %d (a day)", MaxTimeoutSeconds)
		}
		if j.Retries < 0 || j.Retries > MaxRetries {
			f.Add(jat+".retries", "must be between 0 and %d", MaxRetries)
		}
	}
}

func (v *Validator) checkPlugin(f errs.Fields, jat string, j *Job) {
	if len(bytes.TrimSpace(j.Params)) == 0 || bytes.Equal(bytes.TrimSpace(j.Params), []byte("null")) {
		j.Params = json.RawMessage("{}")
	}
	if len(j.Params) > MaxParamsBytes {
		f.Add(jat+".params", "must be at most %d bytes", MaxParamsBytes)
		return
	}
	if j.PluginKey == "" {
		f.Add(jat+".plugin_key", "is required (one of %s)", strings.Join(v.keys, ", "))
		return
	}
	s, ok := v.schemas[j.PluginKey]
	if !ok {
		f.Add(jat+".plugin_key", "is not a known plugin %q (one of %s)", j.PluginKey, strings.Join(v.keys, ", "))
		return
	}
	trimmed := bytes.TrimSpace(j.Params)
	if trimmed[0] != '{' {
		f.Add(jat+".params", "must be a JSON object")
		return
	}
	for _, p := range s.Validate(j.Params) {
		field := jat + ".params"
		if p.Path != "" {
			field += "." + p.Path
		}
		f.Add(field, "%s", p.Message)
	}
}

var (
	labelKey   = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._/-]{0,61}[A-Za-z0-9])?$`)
	labelValue = regexp.MustCompile(`^([A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?)?$`)
	hostname   = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$`)
)

func checkSchedule(f errs.Fields, at string, s Schedule) {
	if s.Hostname != "" && len(s.Labels) > 0 {
		f.Add(at, "pins a hostname and selects labels: set one of them")
	}
	if s.Hostname != "" && !hostname.MatchString(s.Hostname) {
		f.Add(at+".hostname", "must be a host name (letters, digits, . and -)")
	}
	if len(s.Labels) > MaxLabels {
		f.Add(at+".labels", "must hold at most %d labels", MaxLabels)
		return
	}
	keys := make([]string, 0, len(s.Labels))
	for k := range s.Labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !labelKey.MatchString(k) {
			f.Add(at+".labels", "key %q must be 1-63 letters, digits, ., _, / or - starting and ending with a letter or digit", k)
		} else if !labelValue.MatchString(s.Labels[k]) {
			f.Add(at+".labels."+k, "must be at most 63 letters, digits, ., _ or - starting and ending with a letter or digit")
		}
	}
}
