package workspace

import (
	"encoding/json"

	"github.com/kubespace/kubespace/pkg/pipeline"
)

// Names of the pipelines every code workspace starts with.
const (
	BranchPipeline = "branch builds"
	TrunkPipeline  = "trunk builds"
)

// shellJob is an execute_shell job running script.
func shellJob(name, script string) pipeline.Job {
	params, _ := json.Marshal(map[string]string{"script": script})
	return pipeline.Job{Name: name, PluginKey: "execute_shell", Params: params}
}

// defaultPipelines are the two pipelines a code workspace starts with, as the original made
// them: branch builds run on a push to any branch but the trunk (master or main); trunk builds
// run on a push to the trunk and end with a manual release stage. Their jobs are shell steps
// that show the commit they build, for users to replace with their build.
func defaultPipelines() []pipeline.Definition {
	build := shellJob("build", "echo \"building $PIPELINE_CODE_BRANCH at $PIPELINE_CODE_COMMIT_ID\"\n"+
		"# replace with the build, for example: make test\n")
	push := []pipeline.Trigger{{Type: pipeline.TriggerPush}}
	return []pipeline.Definition{
		{
			Name:        BranchPipeline,
			Description: "Builds every branch but master and main on push",
			Sources: []pipeline.Source{{Type: pipeline.SourceCode, Branches: []pipeline.BranchRule{
				{Type: pipeline.BranchExclude, Pattern: "master"}, {Type: pipeline.BranchExclude, Pattern: "main"}}}},
			Triggers: push,
			Stages:   []pipeline.Stage{{Name: "build", TriggerMode: pipeline.StageAuto, Jobs: []pipeline.Job{build}}},
		},
		{
			Name:        TrunkPipeline,
			Description: "Builds master and main on push; releasing is a manual stage",
			Sources: []pipeline.Source{{Type: pipeline.SourceCode, Branches: []pipeline.BranchRule{
				{Type: pipeline.BranchExact, Pattern: "master"}, {Type: pipeline.BranchExact, Pattern: "main"}}}},
			Triggers: push,
			Stages: []pipeline.Stage{
				{Name: "build", TriggerMode: pipeline.StageAuto, Jobs: []pipeline.Job{build}},
				{Name: "release", TriggerMode: pipeline.StageManual,
					CustomParams: []pipeline.Param{{Name: "VERSION", Description: "the version to release"}},
					Jobs: []pipeline.Job{shellJob("release", "echo \"releasing $VERSION from $PIPELINE_CODE_COMMIT_ID\"\n"+
						"# replace with the release, for example: make release VERSION=$VERSION\n")}},
			},
		},
	}
}
