package pipeline

import "regexp"

// MatchBranch reports whether branch passes the rules of a code source. No rules match every
// branch. Otherwise a branch matches when it is not excluded by any exclude rule and, if there
// are exact or regex rules, matches at least one of them; so [exclude main] is "every branch but
// main" and [regex release/.*, exclude release/old] is "release branches but release/old".
// Validated definitions never hold a bad regex; one that slips through matches nothing.
func MatchBranch(rules []BranchRule, branch string) bool {
	positive, hit := false, false
	for _, r := range rules {
		switch r.Type {
		case BranchExclude:
			if r.Pattern == branch {
				return false
			}
		case BranchExact:
			positive = true
			hit = hit || r.Pattern == branch
		case BranchRegex:
			positive = true
			if !hit {
				if re, err := compileBranchRegex(r.Pattern); err == nil && re.MatchString(branch) {
					hit = true
				}
			}
		}
	}
	return !positive || hit
}

// compileBranchRegex anchors a branch pattern: "release/.*" matches the whole branch name,
// never a part of it (the original matched substrings, so "main" also selected "not-main").
func compileBranchRegex(pattern string) (*regexp.Regexp, error) {
	return regexp.Compile("^(?:" + pattern + ")$")
}

// CodeSource returns the definition's code source, if any.
func (d *Definition) CodeSource() (Source, bool) {
	for _, s := range d.Sources {
		if s.Type == SourceCode {
			return s, true
		}
	}
	return Source{}, false
}

// MatchesBranch reports whether a push to branch concerns the pipeline: it has a code source
// whose rules match the branch.
func (d *Definition) MatchesBranch(branch string) bool {
	s, ok := d.CodeSource()
	return ok && MatchBranch(s.Branches, branch)
}

// PushTrigger reports whether the definition has a push trigger and whether it also polls.
func (d *Definition) PushTrigger() (push, poll bool) {
	for _, t := range d.Triggers {
		if t.Type == TriggerPush {
			return true, t.Poll
		}
	}
	return false, false
}
