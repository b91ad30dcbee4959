package stages_test

import (
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/dagsec/dagsec/stages"
)

var updateRulesDoc = flag.Bool("update", false, "rewrite docs/rules.md from stages/rules.go")

// docs/rules.md is the documentation of dagsec's own rules and the help
// their findings carry: it must say what the code says.
func TestRulesDoc(t *testing.T) {
	const file = "../docs/rules.md"
	want := stages.RulesMarkdown()
	if *updateRulesDoc {
		if err := os.WriteFile(file, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("%s is stale: run go test ./stages -run TestRulesDoc -update", file)
	}
}

func TestOwnRulesAreExplained(t *testing.T) {
	ids := map[string]bool{}
	for _, r := range stages.OwnRules() {
		if ids[r.ID] {
			t.Errorf("rule %s twice", r.ID)
		}
		ids[r.ID] = true
		if r.Title == "" || r.Help == "" || r.Fix == "" || r.Tool == "" || r.Stage == "" || !r.Severity.Valid() || !strings.HasPrefix(r.HelpURI, "https://") {
			t.Errorf("rule %+v is incomplete", r)
		}
		doc := stages.OwnRuleDoc(r.ID)
		if doc == nil || doc.Description != r.Help || !strings.Contains(doc.Help, r.Fix) ||
			!strings.Contains(doc.HelpMarkdown, stages.RulesDocURL+"#"+strings.ToLower(r.ID)) {
			t.Errorf("rule %s: explanation %+v", r.ID, doc)
		}
		if !strings.Contains(stages.RulesMarkdown(), "\n### "+r.ID+"\n") {
			t.Errorf("rule %s has no section in docs/rules.md", r.ID)
		}
	}
	for _, id := range []string{stages.HardeningRootUser, stages.HardeningNoHealthcheck, stages.ImageRootUser, stages.ImageBaseNoDate,
		stages.RuleLicenseDenied, stages.RuleLicenseUnknown, stages.GosecLoadErrorRule, stages.BanditParseErrorRule} {
		if !ids[id] {
			t.Errorf("rule %s is not among dagsec's own rules", id)
		}
	}
	if stages.OwnRuleDoc("G101") != nil {
		t.Error("a tool's rule is taken for dagsec's own")
	}
}
