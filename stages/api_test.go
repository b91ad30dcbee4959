package stages

import (
	"strings"
	"testing"

	"github.com/dagsec/dagsec/findings"
)

func TestIsOpenAPI(t *testing.T) {
	tests := []struct {
		name, body string
		want       bool
	}{
		{"a.yaml", "openapi: 3.0.3\ninfo: {}\n", true},
		{"a.yml", "# api\nswagger: \"2.0\"\n", true},
		{"a.yaml", "openapi: '3.1.0'\n", true},
		{"a.json", "{\n  \"openapi\": \"3.0.0\",\n  \"info\": {}\n}", true},
		{"a.json", "{\"swagger\":\"2.0\"}", true},
		{"a.yaml", "components:\n  openapi: 3.0.0\n", false}, // not top level
		{"a.yaml", "openapi: 4.0\n", false},
		{"k8s.yaml", "apiVersion: v1\nkind: Service\n", false},
		{"a.json", "{\"name\": \"openapi\"}", false},
	}
	for _, tt := range tests {
		if got := IsOpenAPI(tt.name, []byte(tt.body)); got != tt.want {
			t.Errorf("%s %q: %v, want %v", tt.name, tt.body, got, tt.want)
		}
	}
}

func TestAPIScore(t *testing.T) {
	f := func(doc, rule string, sev findings.Severity) findings.Finding {
		return findings.Finding{Stage: API, Location: findings.Location{Path: doc}, RuleID: rule, Severity: sev}
	}
	high, med, low, info := findings.SeverityHigh, findings.SeverityMedium, findings.SeverityLow, findings.SeverityInfo
	tests := []struct {
		name string
		fs   []findings.Finding
		want int
	}{
		{"nothing", nil, 100},
		{"one error", []findings.Finding{f("a", "r1", high)}, 92},
		{"a rule counts once, at its worst", []findings.Finding{f("a", "r1", med), f("a", "r1", high), f("a", "r1", high)}, 92},
		{"every severity", []findings.Finding{f("a", "e", high), f("a", "w", med), f("a", "i", low), f("a", "h", info)}, 89},
		{"the lowest document", []findings.Finding{f("a", "e", high), f("b", "e", high), f("b", "e2", high)}, 84},
		{"never below 0", func() (fs []findings.Finding) {
			for _, r := range strings.Split("abcdefghijklmn", "") {
				fs = append(fs, f("a", r, high))
			}
			return fs
		}(), 0},
		{"other stages ignored", []findings.Finding{{Stage: SAST, RuleID: "x", Severity: high}}, 100},
	}
	for _, tt := range tests {
		if got := APIScore(tt.fs); got != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestParseSpectralRejectsWhatIsNotItsReport(t *testing.T) {
	for _, tt := range []struct{ name, report, want string }{
		{"empty", "", "not a JSON array"},
		{"truncated", `[{"code":"x","severity":0`, "not a JSON array"},
		{"no code", `[{"severity":0,"source":"/s/a.yaml","range":{"start":{"line":0}}}]`, "no rule code"},
		{"bad severity", `[{"code":"x","severity":7,"source":"/s/a.yaml"}]`, "severity"},
		{"outside the source", `[{"code":"x","severity":0,"source":"/elsewhere/a.yaml"}]`, "result 0"},
	} {
		if _, err := ParseSpectralIn([]byte(tt.report), "/s"); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.want)
		}
	}
	fs, err := ParseSpectralIn([]byte(`[{"code":"owasp:api8:2023-no-server-http","path":["servers","0","url"],"message":"Server URLs MUST be https.","severity":0,"range":{"start":{"line":5,"character":11},"end":{"line":5,"character":40}},"source":"/s/api/openapi.yaml"}]`), "/s")
	if err != nil || len(fs) != 1 {
		t.Fatalf("%v %+v", err, fs)
	}
	if g := fs[0]; g.Location.Path != "api/openapi.yaml" || g.Location.Line != 6 || g.Location.Column != 12 || g.Severity != findings.SeverityHigh ||
		!strings.Contains(g.Message, "(at servers.0.url)") || g.Fingerprint == "" {
		t.Errorf("%+v", g)
	}
}
