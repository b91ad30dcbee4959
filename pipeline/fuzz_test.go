package pipeline_test

import (
	"bytes"
	"io"
	"testing"

	"github.com/dagsec/dagsec/baseline"
	"github.com/dagsec/dagsec/pipeline"
	"github.com/dagsec/dagsec/reports"
	"github.com/dagsec/dagsec/reports/github"
	"github.com/dagsec/dagsec/reports/gitlab"
)

// FuzzReadReport reads a saved run report as `dagsec report` does and
// turns it into every output that command writes. No panic, whatever the
// file; a report ReadReport accepts:
//
//   - has only valid findings and writes back as JSON that reads back to
//     the same JSON (JSON is a fixed point after one round);
//   - renders into every report file (reports.Files: summary, annotations,
//     SARIF, JUnit, GitLab) without a panic;
//   - gives SARIF files that are schema-valid and that, loaded as a
//     baseline, know the fingerprint of every finding of the tools that ran
//     (a run's results.sarif is a baseline for the next run).
//
// The committed corpus (testdata/fuzz/FuzzReadReport) starts from a report
// `dagsec scan` wrote on this repository, trimmed to a few findings.
func FuzzReadReport(f *testing.F) {
	f.Add([]byte(`{"schema_version":"1","status":"passed","exit_code":0,"stages":[],"findings":[]}`))
	f.Add([]byte(`{"schema_version":"1","started_at":"2026-11-27T06:57:39Z","status":"blocked","exit_code":1,"counts":{"high":1},` +
		`"stages":[{"name":"sast","status":"blocked","reason":"1 finding at or above high","block_on":"high","findings":1,"blocking":1,` +
		`"tools":[{"name":"gosec","version":"v2.30.0","runner":"host","exit_code":0,"findings":1},{"name":"bandit","runner":"host","skipped":"no Python files"}]}],` +
		`"findings":[{"stage":"sast","tool":"gosec","rule_id":"G204","severity":"high","message":"Subprocess launched with variable","location":{"path":"main.go","line":9,"column":2},"fingerprint":"0123456789abcdef0123456789abcdef","tags":["CWE-78"]},` +
		`{"stage":"sast","tool":"gosec","rule_id":"G401","severity":"medium","message":"weak hash","location":{"path":"a b/%x.go"},"fingerprint":"fedcba9876543210fedcba9876543210","merged_fingerprints":["aa"],"baseline":"new","suppressed":{"source":"p.yaml:3","justification":"j","owner":"o","expires":"2026-12-31"}}],` +
		`"errors":[],"branch":"main","image":{"ref":"app:1","base_ref":"alpine:3.20","base_created":"2026-01-02T03:04:05+01:00"}}`))
	f.Add([]byte(`{"schema_version":"1","findings":[{"stage":"x","tool":"y","rule_id":"z","severity":"info"}],"stages":[{"name":"x","tools":[{"name":"y","error":"boom"}]},{"name":"x","tools":[{"name":"y"}]}]}`))
	// Rules, a DAST request shown at its handler, a dependency's manifest.
	f.Add([]byte(`{"schema_version":"1","stages":[{"name":"dast","tools":[{"name":"zap"}]},{"name":"sca","tools":[{"name":"govulncheck"}]}],` +
		`"findings":[{"stage":"dast","tool":"zap","rule_id":"zap-1","severity":"low","location":{"path":"main.go","line":4,"request":{"method":"GET","path":"/search?q=1","param":"q"}}},` +
		`{"stage":"sca","tool":"govulncheck","rule_id":"GO-1","severity":"high","message":"x@v1 has GO-1","location":{"path":"main.go","line":9,"manifest":"go.mod"}}],` +
		`"rules":[{"tool":"zap","id":"zap-1","description":"d","help":"h","help_markdown":"**h**"},{"tool":"nobody","id":"r","description":"d","help":"h"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, err := pipeline.ReadReport(data)
		if err != nil {
			if rep != nil {
				t.Fatalf("a report with the error %v", err)
			}
			return
		}
		for i, fd := range rep.Findings {
			if err := fd.Validate(); err != nil {
				t.Fatalf("finding %d: %v", i, err)
			}
		}
		js, err := rep.JSON()
		if err != nil {
			t.Fatalf("a report that reads does not write: %v", err)
		}
		again, err := pipeline.ReadReport(js)
		if err != nil {
			t.Fatalf("the report's own JSON does not read back: %v\n%s", err, js)
		}
		js2, err := again.JSON()
		if err != nil || !bytes.Equal(js, js2) {
			t.Fatalf("JSON changed on a second round (%v):\n%s\n%s", err, js, js2)
		}

		_ = rep.Markdown()
		_ = github.Outputs(rep)
		_ = github.Annotations(rep, io.Discard)
		_, _ = reports.Files(rep, gitlab.Options{Commit: "0123456789abcdef0123456789abcdef01234567", Target: "http://127.0.0.1:8080/"})

		sarifs, err := rep.SARIFFiles()
		if err != nil {
			return
		}
		known := map[string]bool{}
		for name, b := range sarifs {
			// Load checks the file against the SARIF schema first.
			base, err := baseline.Load(b, name)
			if err != nil {
				t.Fatalf("%s does not load as a baseline: %v", name, err)
			}
			for _, fd := range rep.Findings {
				known[fd.Fingerprint] = known[fd.Fingerprint] || base.Known(fd.Fingerprint)
			}
		}
		ran := map[[2]string]bool{}
		failed := map[[2]string]bool{}
		for _, s := range rep.Stages {
			for _, tr := range s.Tools {
				k := [2]string{s.Name, tr.Name}
				switch {
				case tr.Error != "":
					failed[k] = true
				case tr.Skipped == "":
					ran[k] = true
				}
			}
		}
		for i, fd := range rep.Findings {
			k := [2]string{fd.Stage, fd.Tool}
			if fd.Fingerprint != "" && ran[k] && !failed[k] && !known[fd.Fingerprint] {
				t.Fatalf("finding %d (%s/%s %s) of a tool that ran is not in the SARIF baseline", i, fd.Stage, fd.Tool, fd.RuleID)
			}
		}
	})
}
