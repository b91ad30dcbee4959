package findings

import (
	"strings"
	"testing"
)

func TestDocRule(t *testing.T) {
	for _, tc := range []struct {
		name             string
		doc              Doc
		desc             string
		help, md, absent []string
	}{
		{"everything", Doc{Summary: "  What it\nfinds. ", Details: "More.", Fix: "Do this.",
			Facts: []Fact{{"CWE", "CWE-78"}, {"Empty", " "}}, Links: []string{"https://a.example/x", "not a url", "https://a.example/x", "https://b.example"}},
			"What it finds.",
			[]string{"What it finds.\n\nMore.\n\nFix: Do this.\n\nCWE: CWE-78\n\nMore information:\n- https://a.example/x\n- https://b.example"},
			[]string{"**Fix:** Do this.", "- **CWE:** CWE-78", "- <https://a.example/x>"},
			[]string{"Empty", "not a url"}},
		{"details only: the first paragraph describes", Doc{Details: "First.\n\nSecond."}, "First.",
			[]string{"First.\n\nFirst.\n\nSecond."}, nil, nil},
		{"one-paragraph details are not repeated", Doc{Details: "Only."}, "Only.", []string{"Only."}, nil, []string{"Only.\n\nOnly."}},
		{"fix only", Doc{Fix: "Upgrade."}, "Upgrade.", []string{"Upgrade."}, nil, []string{"Fix:"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.doc.Rule()
			if r == nil || r.Description != tc.desc {
				t.Fatalf("rule %+v, want description %q", r, tc.desc)
			}
			for _, w := range tc.help {
				if !strings.Contains(r.Help, w) {
					t.Errorf("help %q lacks %q", r.Help, w)
				}
			}
			for _, w := range tc.md {
				if !strings.Contains(r.HelpMarkdown, w) {
					t.Errorf("markdown %q lacks %q", r.HelpMarkdown, w)
				}
			}
			for _, w := range tc.absent {
				if strings.Contains(r.Help, w) {
					t.Errorf("help %q holds %q", r.Help, w)
				}
			}
		})
	}
	if (Doc{Links: []string{"https://x.example"}}).Rule() != nil {
		t.Error("a Doc that says nothing made a rule")
	}
	long := Doc{Summary: "s", Details: strings.Repeat("x", 3*maxDetails)}.Rule()
	if n := len([]rune(long.Help)); n > maxDetails+10 {
		t.Errorf("details not capped: %d characters", n)
	}
}

func TestRuleDocFallsBack(t *testing.T) {
	f := Finding{Stage: "sast", Tool: "semgrep", RuleID: "r.x", RuleName: "Rule X", Severity: SeverityMedium}
	for _, tc := range []struct {
		name string
		rule *Rule
		want []string
	}{
		{"nothing known", nil, []string{"semgrep reports this rule without a description.", "medium in the sast stage", "help link"}},
		{"an incomplete rule", &Rule{Description: "d"}, []string{"semgrep reports this rule without a description."}},
		{"the tool's own", &Rule{Description: "d", Help: "h"}, []string{"d\nh"}},
	} {
		g := f
		g.Rule = tc.rule
		r := g.RuleDoc()
		for _, w := range tc.want {
			if !strings.Contains(r.Description+"\n"+r.Help, w) || r.HelpMarkdown == "" && tc.rule == nil {
				t.Errorf("%s: %+v lacks %q", tc.name, r, w)
			}
		}
	}
}

// Rules are no part of a fingerprint.
func TestFingerprintIgnoresRuleAndKeepsDASTPaths(t *testing.T) {
	a := Finding{Stage: "dast", Tool: "zap", RuleID: "zap-1", Severity: SeverityLow, Location: Location{Path: "/search"}}
	b := a
	b.Rule = &Rule{Description: "d", Help: "h"}
	b.Location = Location{Path: "", Request: &Request{Method: "GET", Path: "/search"}}
	if Fingerprint(a) != Fingerprint(b) {
		t.Error("a DAST finding's fingerprint changed with its request moving out of the file path, or with its rule")
	}
	// Shown at the route's handler, it keeps its fingerprint.
	b.Location.Path, b.Location.Line = "main.go", 4
	if Fingerprint(a) != Fingerprint(b) {
		t.Error("a DAST finding's fingerprint changed with the file it is shown at")
	}
}
