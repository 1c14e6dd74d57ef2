package pipeline_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kubespace/kubespace/pkg/errs"
	"github.com/kubespace/kubespace/pkg/pipeline"
)

func TestMatchBranch(t *testing.T) {
	exact := func(p string) pipeline.BranchRule { return pipeline.BranchRule{Type: pipeline.BranchExact, Pattern: p} }
	excl := func(p string) pipeline.BranchRule {
		return pipeline.BranchRule{Type: pipeline.BranchExclude, Pattern: p}
	}
	re := func(p string) pipeline.BranchRule { return pipeline.BranchRule{Type: pipeline.BranchRegex, Pattern: p} }
	cases := []struct {
		name   string
		rules  []pipeline.BranchRule
		branch string
		want   bool
	}{
		{"no rules match all", nil, "anything", true},
		{"exact hit", []pipeline.BranchRule{exact("main")}, "main", true},
		{"exact miss", []pipeline.BranchRule{exact("main")}, "dev", false},
		{"exclude others pass", []pipeline.BranchRule{excl("main")}, "dev", true},
		{"exclude hit", []pipeline.BranchRule{excl("main")}, "main", false},
		{"regex anchored", []pipeline.BranchRule{re("main")}, "not-main", false},
		{"regex hit", []pipeline.BranchRule{re("release/.*")}, "release/1.2", true},
		{"regex with exclude", []pipeline.BranchRule{re("release/.*"), excl("release/old")}, "release/old", false},
		{"any positive", []pipeline.BranchRule{exact("main"), re("hotfix-\\d+")}, "hotfix-12", true},
		{"bad regex matches nothing", []pipeline.BranchRule{re("(")}, "(", false},
		{"branch and trunk", []pipeline.BranchRule{excl("master"), excl("main")}, "main", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			require.Equal(t, c.want, pipeline.MatchBranch(c.rules, c.branch))
		})
	}
	d := pipeline.Definition{}
	require.False(t, d.MatchesBranch("main"), "a pipeline without code source matches no push")
	d.Sources = []pipeline.Source{{Type: pipeline.SourceCode, Branches: []pipeline.BranchRule{exact("main")}}}
	require.True(t, d.MatchesBranch("main"))
	require.False(t, d.MatchesBranch("dev"))
}

func TestParseSchedule(t *testing.T) {
	s, err := pipeline.ParseSchedule("30 2 * * *", "Asia/Shanghai")
	require.NoError(t, err)
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) // 08:00 in Shanghai
	next := s.Next(from)
	require.Equal(t, time.Date(2026, 1, 1, 18, 30, 0, 0, time.UTC), next.UTC(), "02:30 Shanghai is 18:30 UTC the day before")

	s, err = pipeline.ParseSchedule("@daily", "")
	require.NoError(t, err)
	require.Equal(t, time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC), s.Next(from).UTC())

	_, err = pipeline.ParseSchedule("@every 5m", "")
	require.NoError(t, err)
	for _, bad := range []string{"", "* * *", "TZ=UTC * * * * *", "0 0 31 2 *", "@yearly2", "@every 10s"} {
		_, err := pipeline.ParseSchedule(bad, "")
		require.Error(t, err, bad)
	}
	_, err = pipeline.ParseSchedule("* * * * *", "Nowhere/Town")
	require.ErrorContains(t, err, "IANA")
}

func TestRunEnv(t *testing.T) {
	env := pipeline.RunEnv(pipeline.RunInfo{
		WorkspaceID: 2, WorkspaceName: "shop", PipelineID: 5, PipelineName: "trunk", BuildNumber: 12,
		Trigger: "push", TriggerUser: "alice",
		Code: &pipeline.CodeInfo{URL: "https://git.example/shop.git", Provider: "gitea", Branch: "main", CommitID: "abc", Author: "bob", Message: "fix", Time: time.Date(2026, 3, 4, 5, 6, 7, 0, time.FixedZone("x", 3600))},
	})
	require.Equal(t, map[string]string{
		"PIPELINE_WORKSPACE_ID": "2", "PIPELINE_WORKSPACE_NAME": "shop", "PIPELINE_PIPELINE_ID": "5",
		"PIPELINE_PIPELINE_NAME": "trunk", "PIPELINE_NAME": "trunk", "PIPELINE_BUILD_NUMBER": "12",
		"PIPELINE_TRIGGER": "push", "PIPELINE_TRIGGER_USER": "alice",
		"PIPELINE_CODE_URL": "https://git.example/shop.git", "PIPELINE_CODE_TYPE": "gitea", "PIPELINE_CODE_BRANCH": "main",
		"PIPELINE_CODE_COMMIT_ID": "abc", "PIPELINE_CODE_COMMIT_AUTHOR": "bob", "PIPELINE_CODE_COMMIT_MESSAGE": "fix",
		"PIPELINE_CODE_COMMIT_TIME": "2026-03-04T04:06:07Z",
	}, env)

	// A custom run inherits its sources' variables but not their identity.
	env = pipeline.RunEnv(pipeline.RunInfo{
		WorkspaceID: 3, PipelineID: 9, PipelineName: "deploy", BuildNumber: 1, Trigger: "manual",
		SourceRunIDs: []int64{40, 41},
		Inherited: []map[string]string{
			{"PIPELINE_BUILD_NUMBER": "12", "PIPELINE_CODE_COMMIT_ID": "abc", "IMAGE": "a:1"},
			{"IMAGE": "a:2", "PIPELINE_BUILD_ID": "7"},
		},
	})
	require.Equal(t, "1", env["PIPELINE_BUILD_NUMBER"])
	require.Equal(t, "abc", env["PIPELINE_CODE_COMMIT_ID"])
	require.Equal(t, "a:2", env["IMAGE"])
	require.Equal(t, "40,41", env["PIPELINE_BUILD_ID"])
}

func TestStageEnvAndMergeOutputs(t *testing.T) {
	run := map[string]string{"PIPELINE_BUILD_NUMBER": "3", "A": "run"}
	outs := []map[string]string{
		{"A": "first", "B": "first", "PIPELINE_BUILD_NUMBER": "999", "bad-name": "x"},
		{"B": "second"},
	}
	env := pipeline.StageEnv(run, outs, map[string]string{"B": "param", "PIPELINE_CODE_BRANCH": "evil"})
	require.Equal(t, map[string]string{"PIPELINE_BUILD_NUMBER": "3", "A": "first", "B": "param"}, env)
	require.Equal(t, "run", run["A"], "inputs are not modified")

	require.Equal(t, map[string]string{"X": "1"}, pipeline.MergeOutputs(nil, map[string]string{"X": "1"}))
}

func TestStageParams(t *testing.T) {
	declared := []pipeline.Param{{Name: "VERSION", Default: "v1"}, {Name: "NOTE"}}
	got, err := pipeline.StageParams(declared, map[string]string{"NOTE": "hi"})
	require.NoError(t, err)
	require.Equal(t, map[string]string{"VERSION": "v1", "NOTE": "hi"}, got)
	_, err = pipeline.StageParams(declared, map[string]string{"VERISON": "v2"})
	e, ok := errs.As(err)
	require.True(t, ok)
	require.Contains(t, e.Fields, "params.VERISON")
}

func TestFindCycle(t *testing.T) {
	require.Nil(t, pipeline.FindCycle(map[int64][]int64{1: {2}, 2: {3}, 4: {3}}))
	require.Equal(t, []int64{2, 3, 2}, pipeline.FindCycle(map[int64][]int64{1: {2}, 2: {3}, 3: {2}}))
	require.Equal(t, []int64{5, 5}, pipeline.FindCycle(map[int64][]int64{5: {5}}))
}

func TestCheckChain(t *testing.T) {
	chain := func(from ...int64) *pipeline.Definition {
		d := &pipeline.Definition{}
		for _, f := range from {
			d.Triggers = append(d.Triggers, pipeline.Trigger{Type: pipeline.TriggerPipeline, PipelineID: f})
		}
		return d
	}
	// 1 starts 2 (2 has a trigger naming 1), 2 starts 3.
	others := map[int64]*pipeline.Definition{2: chain(1), 3: chain(2)}
	require.NoError(t, pipeline.CheckChain(1, chain(), others))
	require.NoError(t, pipeline.CheckChain(4, chain(3), others))
	require.NoError(t, pipeline.CheckChain(0, chain(3), others), "a new pipeline closes no cycle")

	err := pipeline.CheckChain(1, chain(9, 3), others)
	e, ok := errs.As(err)
	require.True(t, ok, "%v", err)
	require.Equal(t, errs.Invalid, e.Kind)
	require.Contains(t, e.Fields["triggers[1].pipeline_id"], "1 → 2 → 3 → 1")

	err = pipeline.CheckChain(6, chain(6), nil)
	e, _ = errs.As(err)
	require.Contains(t, e.Fields["triggers[0].pipeline_id"], "itself")
}
