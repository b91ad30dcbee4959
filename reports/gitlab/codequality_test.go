package gitlab_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/policies"
	"github.com/dagsec/dagsec/reports/gitlab"
	"github.com/dagsec/dagsec/stages"
)

type cqEntry struct {
	Type        string   `json:"type"`
	CheckName   string   `json:"check_name"`
	Description string   `json:"description"`
	Categories  []string `json:"categories"`
	Severity    string   `json:"severity"`
	Fingerprint string   `json:"fingerprint"`
	EngineName  string   `json:"engine_name"`
	Location    struct {
		Path  string `json:"path"`
		Lines struct {
			Begin *int `json:"begin"`
			End   int  `json:"end"`
		} `json:"lines"`
	} `json:"location"`
}

// codeQuality writes the report, checks each entry against the schema
// GitLab's parser applies and the fields its documentation requires, and
// returns the entries.
func codeQuality(t *testing.T, data []byte) []cqEntry {
	t.Helper()
	var raw []json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatalf("not a JSON array: %v", err)
	}
	for i, e := range raw {
		for _, p := range validateSchema(t, "codeclimate.json", e) {
			t.Errorf("entry %d does not follow codeclimate.json: %s", i, p)
		}
	}
	entries := decode[[]cqEntry](t, data)
	fps := map[string]bool{}
	for i, e := range entries {
		// GitLab's documented fields: description, check_name, fingerprint,
		// severity (info, minor, major, critical, blocker), location.path,
		// location.lines.begin.
		if e.Description == "" || e.CheckName == "" || e.Fingerprint == "" || e.Location.Path == "" ||
			e.Location.Lines.Begin == nil || *e.Location.Lines.Begin < 1 {
			t.Errorf("entry %d lacks a documented field: %+v", i, e)
		}
		if !slices.Contains([]string{"info", "minor", "major", "critical", "blocker"}, e.Severity) {
			t.Errorf("entry %d: severity %q", i, e.Severity)
		}
		if fps[e.Fingerprint] {
			t.Errorf("entry %d: fingerprint %s repeats", i, e.Fingerprint)
		}
		fps[e.Fingerprint] = true
		if e.Type != "issue" || !slices.Equal(e.Categories, []string{"Security"}) || e.EngineName == "" {
			t.Errorf("entry %d: Code Climate fields %+v", i, e)
		}
	}
	return entries
}

func TestCodeQualityFromGenuineToolOutput(t *testing.T) {
	fx := loadFixture(t)
	rep := fx.fullRun(t)
	data, err := gitlab.CodeQuality(rep)
	if err != nil {
		t.Fatal(err)
	}
	entries := codeQuality(t, data)
	// Every finding at a file, licenses included; DAST findings (a URL)
	// and findings without a file have none.
	inFiles := slices.DeleteFunc(slices.Clone(rep.Findings), func(f findings.Finding) bool {
		return f.Location.Path == "" || f.Stage == stages.DAST
	})
	if len(inFiles) == len(rep.Findings) || !slices.ContainsFunc(rep.Findings, func(f findings.Finding) bool { return f.Stage == stages.DAST }) {
		t.Fatal("the samples have no DAST finding or none without a file")
	}
	if len(entries) != len(inFiles) {
		t.Fatalf("%d entries for %d findings at files", len(entries), len(inFiles))
	}
	for _, e := range entries {
		if e.Location.Path == "" || e.Location.Path == "." || strings.HasPrefix(e.Location.Path, "/") {
			t.Errorf("entry at %q, not a file of the source", e.Location.Path)
		}
	}
	want := map[findings.Severity]string{
		findings.SeverityCritical: "blocker", findings.SeverityHigh: "critical", findings.SeverityMedium: "major",
		findings.SeverityLow: "minor", findings.SeverityInfo: "info",
	}
	bySev := map[string]bool{}
	for i, f := range inFiles {
		e := entries[i]
		if e.Severity != want[f.Severity] {
			t.Errorf("%s %s: severity %s, want %s", f.Tool, f.RuleID, e.Severity, want[f.Severity])
		}
		bySev[e.Severity] = true
		if e.Fingerprint != f.Fingerprint {
			t.Errorf("%s %s: fingerprint %s, want the finding's %s", f.Tool, f.RuleID, e.Fingerprint, f.Fingerprint)
		}
		if e.CheckName != f.Tool+"/"+f.RuleID || e.EngineName != f.Tool || e.Location.Path != f.Location.Path {
			t.Errorf("entry %+v for %+v", e, f)
		}
		if f.Location.Line > 0 && *e.Location.Lines.Begin != f.Location.Line {
			t.Errorf("%s %s at line %d, want %d", f.Tool, f.RuleID, *e.Location.Lines.Begin, f.Location.Line)
		}
		if !strings.Contains(e.Description, "["+f.Stage+" "+f.Tool+" ") {
			t.Errorf("description %q does not name stage and tool", e.Description)
		}
	}
	// The samples' info findings are all DAST: one at a file shows info.
	info := fx.sast[0]
	info.Severity = findings.SeverityInfo
	infoRep := runReport(t, stageRun{name: stages.SAST, status: policies.StatusWarned, fs: []findings.Finding{info}})
	if data, err := gitlab.CodeQuality(infoRep); err != nil || codeQuality(t, data)[0].Severity != "info" {
		t.Errorf("info finding: %s %v", data, err)
	} else {
		bySev["info"] = true
	}
	if len(bySev) != 5 {
		t.Errorf("the samples cover severities %v, want all five", bySev)
	}
	g401 := entries[slices.IndexFunc(inFiles, func(f findings.Finding) bool { return f.RuleID == "G401" })]
	if g401.Location.Path != "main.go" || *g401.Location.Lines.Begin != 15 || g401.Severity != "major" {
		t.Errorf("G401: %+v", g401)
	}
}

// Entries GitLab would merge (one fingerprint) stay apart; a run with no
// finding is an empty array.
func TestCodeQualityFingerprintsAreUnique(t *testing.T) {
	fx := loadFixture(t)
	dup := []findings.Finding{fx.sast[0], fx.sast[0], fx.sast[0]}
	dup[2].Fingerprint = ""
	rep := runReport(t, stageRun{name: stages.SAST, status: policies.StatusWarned, fs: dup})
	data, err := gitlab.CodeQuality(rep)
	if err != nil {
		t.Fatal(err)
	}
	entries := codeQuality(t, data)
	if len(entries) != 3 || entries[0].Fingerprint != fx.sast[0].Fingerprint {
		t.Errorf("entries %+v", entries)
	}
	again, _ := gitlab.CodeQuality(rep)
	if string(again) != string(data) {
		t.Error("two writes of one run differ")
	}

	empty, err := gitlab.CodeQuality(runReport(t, stageRun{name: stages.SAST, status: policies.StatusPassed}))
	if err != nil || strings.TrimSpace(string(empty)) != "[]" {
		t.Errorf("empty run: %q, %v", empty, err)
	}
	if _, err := gitlab.CodeQuality(nil); err == nil {
		t.Error("nil report accepted")
	}
}
