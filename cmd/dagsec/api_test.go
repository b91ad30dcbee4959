package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dagsec/dagsec/internal/testenv"
)

func openAPIDoc(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "openapi", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// Real Spectral 6.16.3 with the OWASP API Security ruleset 2.0.1: the planted
// definition (no security scheme, an http server URL, unbounded strings)
// fails the OWASP rules, scores under 70 and blocks the api stage; the
// clean one scores 70 or more and passes; --openapi names the file to audit.
func TestScanAPIStageScoresAndGates(t *testing.T) {
	testenv.Tool(t, "spectral")
	tests := []struct {
		name     string
		files    map[string]string
		args     []string
		code     int
		status   string
		minScore int // score at least
		maxScore int // score at most
		rules    []string
	}{
		{"planted", map[string]string{"api/openapi.yaml": openAPIDoc(t, "planted.yaml"), "README.md": "# x\n"}, nil, 1, "blocked", 0, 69,
			[]string{"owasp:api8:2023-no-server-http", "owasp:api4:2023-string-limit", "owasp:api2:2023-read-restricted"}},
		{"clean", map[string]string{"openapi.json.yaml": openAPIDoc(t, "clean.yaml")}, nil, 0, "warned", 70, 100, nil},
		{"--openapi picks one", map[string]string{"a.yaml": openAPIDoc(t, "planted.yaml"), "b.yaml": openAPIDoc(t, "clean.yaml")},
			[]string{"--openapi", "b.yaml"}, 0, "warned", 70, 100, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := testenv.Dir(t, tt.files)
			rep, out := scanReport(t, tt.code, append(append([]string{"--stages", "api"}, tt.args...), dir)...)
			s := rep.Stages[0]
			if s.Name != "api" || string(s.Status) != tt.status || s.Score == nil || *s.Score < tt.minScore || *s.Score > tt.maxScore || s.MinScore != 70 {
				t.Fatalf("api stage %s %q score %v min %d, want %s with a score in %d-%d\n%s", s.Status, s.Reason, s.Score, s.MinScore, tt.status, tt.minScore, tt.maxScore, out)
			}
			if !strings.Contains(s.Reason, "API score") || !strings.Contains(out, "API score") {
				t.Errorf("the score is not in the stage's reason: %q", s.Reason)
			}
			got := ruleIDs(rep, "spectral")
			for _, r := range tt.rules {
				if !slices.Contains(got, r) {
					t.Errorf("%s not found: %v", r, got)
				}
			}
			for _, f := range rep.Findings {
				if f.Location.Line < 1 || f.Location.Path == "" || strings.HasPrefix(f.Location.Path, "/") {
					t.Errorf("finding %s at %s:%d", f.RuleID, f.Location.Path, f.Location.Line)
				}
			}
			if len(tt.args) > 0 {
				for _, f := range rep.Findings {
					if f.Location.Path != "b.yaml" {
						t.Errorf("--openapi b.yaml, but %s was audited", f.Location.Path)
					}
				}
			}
		})
	}

	// A definition named but not in the source is an input error naming it.
	_, out := scanReport(t, 2, "--stages", "api", "--openapi", "api/missing.yaml", testenv.Dir(t, map[string]string{"a.yaml": "x: 1\n"}))
	if !strings.Contains(out, "--openapi api/missing.yaml is not in the source") {
		t.Errorf("a missing --openapi file is not named:\n%s", out)
	}

	// No definition: the stage has nothing to audit, and a run of api alone
	// scanned nothing (exit 3), as for every code stage.
	rep, _ := scanReport(t, 3, "--stages", "api", testenv.Dir(t, map[string]string{"config.yaml": "a: 1\n"}))
	if s := rep.Stages[0]; s.Status != "skipped" || !strings.HasPrefix(s.Reason, "nothing to scan: ") || s.Score != nil {
		t.Errorf("no definition: %s %q score %v", s.Status, s.Reason, s.Score)
	}
}
