package pipeline_test

import (
	"encoding/json"
	"testing"

	"github.com/kubespace/kubespace/pkg/errs"
	"github.com/kubespace/kubespace/pkg/pipeline"
)

// FuzzDecodeJSON: any body decodes to a definition or a classified 4xx error, never a panic
// or an unclassified error; a decoded definition validates without panicking.
func FuzzDecodeJSON(f *testing.F) {
	d := goodDef()
	b, _ := json.Marshal(d)
	f.Add(b)
	f.Add([]byte(`{"stages":[{"jobs":[{"params":null,"schedule":{"labels":{"a":"b"}}}]}]}`))
	f.Add([]byte(`{"triggers":[{"type":"cron","schedule":"* * * * *","time_zone":"UTC"}]}`))
	f.Add([]byte(`{`))
	v := validator(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		d, err := pipeline.DecodeJSON(body)
		if err != nil {
			if k := errs.KindOf(err); k != errs.Invalid && k != errs.TooLarge {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		if err := v.Validate(d); err != nil && !errs.Is(err, errs.Invalid) {
			t.Fatalf("validate: unclassified error %v", err)
		}
	})
}

// FuzzImportYAML: any input imports or is refused as invalid; what imports exports and
// imports back to the same definition.
func FuzzImportYAML(f *testing.F) {
	d := goodDef()
	out, _ := pipeline.ExportYAML(&d)
	f.Add(out)
	f.Add([]byte("name: a\nstages:\n  - name: s\n    jobs:\n      - params: {x: [1, 2.5, true, ~]}\n"))
	f.Add([]byte("a: &a [x]\nb: *a\n"))
	f.Add([]byte("name: !!binary aGk=\n"))
	v := validator(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := pipeline.ImportYAML(data)
		if err != nil {
			if k := errs.KindOf(err); k != errs.Invalid && k != errs.TooLarge {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		_ = v.Validate(d)
		out, err := pipeline.ExportYAML(d)
		if err != nil {
			t.Fatalf("export: %v", err)
		}
		back, err := pipeline.ImportYAML(out)
		if err != nil {
			t.Fatalf("re-import of\n%s\nfailed: %v", out, err)
		}
		a, _ := json.Marshal(d)
		b, _ := json.Marshal(back)
		if !jsonEqual(a, b) {
			t.Fatalf("round trip changed the definition:\n%s\n%s", a, b)
		}
	})
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return string(xa) == string(ya)
}
