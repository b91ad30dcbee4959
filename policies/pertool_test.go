package policies

import (
	"maps"
	"testing"
)

// per_tool config names a tool's configuration file; it reaches the stage
// options and survives policy show's round trip.
func TestPerToolConfig(t *testing.T) {
	src := "stages:\n  sast:\n    per_tool:\n      bandit: {config: ci/bandit.yaml, timeout: 5m}\n      semgrep: {config: ci/semgrep.yml}\n  iac:\n    per_tool:\n      trivy: {on_error: warn}\n"
	p, err := Parse([]byte(src), "p.yaml", "")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		stage string
		want  map[string]string
	}{
		{"sast", map[string]string{"bandit": "ci/bandit.yaml", "semgrep": "ci/semgrep.yml"}},
		{"iac", nil},
		{"secrets", nil},
	}
	for _, tt := range tests {
		if got := p.Stage(tt.stage).ToolConfigs(); !maps.Equal(got, tt.want) {
			t.Errorf("%s: ToolConfigs() = %v, want %v", tt.stage, got, tt.want)
		}
	}
	out, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse(out, "shown.yaml", "")
	if err != nil {
		t.Fatalf("policy show output does not load: %v\n%s", err, out)
	}
	if got := back.Stage("sast").ToolConfigs(); !maps.Equal(got, tests[0].want) {
		t.Errorf("after the round trip: %v\n%s", got, out)
	}
}
