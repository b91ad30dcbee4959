package stages_test

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/stages"
)

// licDefaultPolicy is the policy the default preset is meant to apply.
func licDefaultPolicy(unknown stages.LicenseAction) stages.LicensePolicy {
	return stages.LicensePolicy{Deny: stages.DefaultDeniedLicenses, Unknown: unknown}
}

// licCDXComponent builds one syft-like CycloneDX component; licenses are
// raw JSON license choices.
func licCDXComponent(name, version, purl, path string, licenses ...string) string {
	lic := ""
	if len(licenses) > 0 {
		lic = `"licenses":[` + strings.Join(licenses, ",") + `],`
	}
	return fmt.Sprintf(`{"bom-ref":%q,"type":"library","name":%q,"version":%q,%s"purl":%q,
		"properties":[{"name":"syft:package:type","value":"npm"},{"name":"syft:location:0:path","value":%q}]}`,
		purl+"?id=1", name, version, lic, purl, path)
}

func licCDXDoc(components ...string) []byte {
	return []byte(`{"$schema":"http://cyclonedx.org/schema/bom-1.6.schema.json","bomFormat":"CycloneDX","specVersion":"1.6",
		"metadata":{"component":{"bom-ref":"root","type":"file","name":"."}},
		"components":[` + strings.Join(components, ",") + `]}`)
}

func licID(id string) string     { return fmt.Sprintf(`{"license":{"id":%q}}`, id) }
func licName(name string) string { return fmt.Sprintf(`{"license":{"name":%q}}`, name) }
func licExpr(e string) string    { return fmt.Sprintf(`{"expression":%q}`, e) }

// licEvalOne evaluates a document with one component and returns its finding,
// or a zero finding when there is none.
func licEvalOne(t *testing.T, lp stages.LicensePolicy, licenses ...string) (findings.Finding, bool) {
	t.Helper()
	fs, err := stages.EvaluateLicenses(licCDXDoc(licCDXComponent("pkg", "1.0.0", "pkg:npm/pkg@1.0.0", "/package-lock.json", licenses...)), lp)
	if err != nil {
		t.Fatal(err)
	}
	switch len(fs) {
	case 0:
		return findings.Finding{}, false
	case 1:
		licCheckFinding(t, fs[0])
		return fs[0], true
	}
	t.Fatalf("one component gave %d findings: %+v", len(fs), fs)
	return findings.Finding{}, false
}

func licCheckFinding(t *testing.T, f findings.Finding) {
	t.Helper()
	if err := f.Validate(); err != nil {
		t.Error(err)
	}
	if f.Stage != stages.Licenses || f.Tool != "syft" || f.Fingerprint == "" || f.Location.Line != 0 {
		t.Errorf("finding %+v: wrong stage, tool, fingerprint or line", f)
	}
	if !slices.Contains(f.Tags, "license") {
		t.Errorf("finding %s has no license tag: %v", f.RuleID, f.Tags)
	}
	if strings.HasPrefix(f.Location.Path, "/") {
		t.Errorf("finding %s path %q is not relative", f.RuleID, f.Location.Path)
	}
}

func TestEvaluateLicensesCases(t *testing.T) {
	deny := licDefaultPolicy(stages.LicenseWarn)
	allowMIT := stages.LicensePolicy{Allow: []string{"MIT", "Apache-2.0", "BSD-3-Clause"}, Deny: stages.DefaultDeniedLicenses, Unknown: stages.LicenseWarn}
	type want struct {
		rule string // "" for no finding
		sev  findings.Severity
	}
	none := want{}
	denied := want{stages.RuleLicenseDenied, findings.SeverityHigh}
	notAllowed := want{stages.RuleLicenseNotAllowed, findings.SeverityMedium}
	unknownLow := want{stages.RuleLicenseUnknown, findings.SeverityLow}
	unknownHigh := want{stages.RuleLicenseUnknown, findings.SeverityHigh}

	for _, tc := range []struct {
		name     string
		lp       stages.LicensePolicy
		licenses []string
		want     want
	}{
		{"MIT passes", deny, []string{licID("MIT")}, none},
		{"GPL-3.0-only denied", deny, []string{licID("GPL-3.0-only")}, denied},
		{"deprecated GPL-3.0 denied", deny, []string{licID("GPL-3.0")}, denied},
		{"case-insensitive id", deny, []string{licID("gpl-3.0-ONLY")}, denied},
		{"AGPL name that is an id", deny, []string{licName("agpl-3.0-or-later")}, denied},
		{"GPL-2.0+ expression", deny, []string{licExpr("GPL-2.0+")}, denied},
		{"LGPL is not denied by default", deny, []string{licID("LGPL-2.1-only")}, none},
		{"LGPL-2.1+ is not denied by default", deny, []string{licExpr("LGPL-2.1+")}, none},
		{"OR with an acceptable alternative", deny, []string{licExpr("GPL-3.0-only OR MIT")}, none},
		{"OR of denied alternatives", deny, []string{licExpr("GPL-2.0-only OR GPL-3.0-only")}, denied},
		{"lower-case or", deny, []string{licExpr("GPL-3.0-only or MIT")}, none},
		{"AND with a denied part", deny, []string{licExpr("MIT AND GPL-3.0-only")}, denied},
		{"AND of acceptable parts", deny, []string{licExpr("MIT AND Apache-2.0")}, none},
		{"parentheses OR inside AND", deny, []string{licExpr("(MIT OR GPL-3.0-only) AND Apache-2.0")}, none},
		{"parentheses AND inside OR", deny, []string{licExpr("(MIT AND GPL-3.0-only) OR AGPL-3.0-only")}, denied},
		{"precedence: AND binds tighter than OR", deny, []string{licExpr("GPL-3.0-only AND MIT OR Apache-2.0")}, none},
		{"precedence: OR of an AND with a denied part", deny, []string{licExpr("Apache-2.0 OR MIT AND GPL-3.0-only")}, none},
		{"nested parentheses", deny, []string{licExpr("((GPL-3.0-only))")}, denied},
		{"WITH keeps the base license", deny, []string{licExpr("GPL-2.0-only WITH Classpath-exception-2.0")}, denied},
		{"deprecated with-exception id", deny, []string{licID("GPL-2.0-with-classpath-exception")}, denied},
		{"WITH form allowed as written", stages.LicensePolicy{
			Allow: []string{"GPL-2.0-only WITH Classpath-exception-2.0"}, Deny: stages.DefaultDeniedLicenses,
		}, []string{licExpr("GPL-2.0-only WITH Classpath-exception-2.0")}, none},
		{"several entries all count", deny, []string{licID("MIT"), licID("GPL-3.0-only")}, denied},
		{"complex expression in a name field", deny, []string{licID("MIT"), licName("(GPL-3.0-only OR AGPL-3.0-only)")}, denied},
		{"no license: unknown low under warn", deny, nil, unknownLow},
		{"no license: unknown high under block", licDefaultPolicy(stages.LicenseBlock), nil, unknownHigh},
		{"no license: nothing under allow", licDefaultPolicy(stages.LicenseAllow), nil, none},
		{"no license: warn is the default", stages.LicensePolicy{Deny: stages.DefaultDeniedLicenses}, nil, unknownLow},
		{"empty license choice counts as none", deny, []string{`{}`}, unknownLow},
		{"non-SPDX name", deny, []string{licName("Apache License, Version 2.0")}, unknownLow},
		{"non-SPDX name under block", licDefaultPolicy(stages.LicenseBlock), []string{licName("BSD-style")}, unknownHigh},
		{"syft unknown license ref", deny, []string{licName("UNKNOWN_eb2ff4ffbd1bdb4b1ef5df2b4c1bcf3f")}, unknownLow},
		{"LicenseRef", deny, []string{licExpr("LicenseRef-Proprietary")}, unknownLow},
		{"LicenseRef allowed explicitly", stages.LicensePolicy{Allow: []string{"LicenseRef-Proprietary", "MIT"}}, []string{licExpr("LicenseRef-Proprietary")}, none},
		{"custom name denied explicitly", stages.LicensePolicy{Deny: []string{"Commercial"}}, []string{licName("commercial")}, denied},
		{"URL only", deny, []string{`{"license":{"url":"https://example.com/license"}}`}, unknownLow},
		{"invalid expression", deny, []string{licExpr("MIT OR")}, unknownLow},
		{"unbalanced expression", deny, []string{licExpr("(MIT OR Apache-2.0")}, unknownLow},
		{"unknown OR denied is unknown", deny, []string{licExpr("LicenseRef-x OR GPL-3.0-only")}, unknownLow},
		{"unknown AND denied is denied", deny, []string{licExpr("LicenseRef-x AND GPL-3.0-only")}, denied},
		{"unknown OR MIT passes", deny, []string{licExpr("LicenseRef-x OR MIT")}, none},
		{"allow list: allowed", allowMIT, []string{licID("MIT")}, none},
		{"allow list: other known license", allowMIT, []string{licID("EPL-2.0")}, notAllowed},
		{"allow list: denied beats not allowed", allowMIT, []string{licID("GPL-3.0-only")}, denied},
		{"allow list: OR with an allowed alternative", allowMIT, []string{licExpr("EPL-2.0 OR Apache-2.0")}, none},
		{"allow list: AND with an unlisted part", allowMIT, []string{licExpr("EPL-2.0 AND Apache-2.0")}, notAllowed},
		{"allow list: unknown OR not allowed is unknown", allowMIT, []string{licExpr("LicenseRef-x OR EPL-2.0")}, unknownLow},
		{"allow list: unknown AND not allowed is not allowed", allowMIT, []string{licExpr("LicenseRef-x AND EPL-2.0")}, notAllowed},
		{"allow list: non-SPDX name is unknown, not unlisted", allowMIT, []string{licName("Some License")}, unknownLow},
		{"allow list: case-insensitive", stages.LicensePolicy{Allow: []string{"apache-2.0"}}, []string{licID("Apache-2.0")}, none},
		{"allow list: deprecated id in policy", stages.LicensePolicy{Allow: []string{"LGPL-2.1"}}, []string{licID("LGPL-2.1-only")}, none},
		{"allow list: GPL-3.0+ in policy is -or-later", stages.LicensePolicy{Allow: []string{"GPL-3.0+"}}, []string{licID("GPL-3.0-or-later")}, none},
		{"allow list: -only does not allow -or-later", stages.LicensePolicy{Allow: []string{"GPL-3.0-only"}}, []string{licID("GPL-3.0-or-later")}, notAllowed},
		{"allow list: X+ acceptable where X is", stages.LicensePolicy{Allow: []string{"MPL-1.1"}}, []string{licExpr("MPL-1.1+")}, none},
		{"deny wins over allow", stages.LicensePolicy{Allow: []string{"MIT"}, Deny: []string{"mit"}}, []string{licID("MIT")}, denied},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, ok := licEvalOne(t, tc.lp, tc.licenses...)
			if !ok {
				if tc.want.rule != "" {
					t.Fatalf("no finding, want %s %s", tc.want.rule, tc.want.sev)
				}
				return
			}
			if f.RuleID != tc.want.rule || f.Severity != tc.want.sev {
				t.Fatalf("got %s %s (%s), want %q %s", f.RuleID, f.Severity, f.Message, tc.want.rule, tc.want.sev)
			}
		})
	}
}

func TestEvaluateLicensesFindingFields(t *testing.T) {
	doc := licCDXDoc(
		licCDXComponent("gpl-lib", "2.1.0", "pkg:npm/gpl-lib@2.1.0", "/web/package-lock.json", licExpr("GPL-3.0-only OR AGPL-3.0-only")),
		licCDXComponent("nolicense", "0.3.0", "pkg:npm/nolicense@0.3.0", "/web/package-lock.json"),
	)
	fs, err := stages.EvaluateLicenses(doc, licDefaultPolicy(stages.LicenseWarn))
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 2 {
		t.Fatalf("got %d findings: %+v", len(fs), fs)
	}
	d, u := fs[0], fs[1]
	for _, f := range fs {
		licCheckFinding(t, f)
		if f.Location.Path != "web/package-lock.json" {
			t.Errorf("%s: path %q", f.RuleID, f.Location.Path)
		}
	}
	if d.RuleID != stages.RuleLicenseDenied {
		t.Fatalf("first finding %s", d.RuleID)
	}
	for _, s := range []string{"gpl-lib", "2.1.0", "pkg:npm/gpl-lib@2.1.0", "GPL-3.0-only", "AGPL-3.0-only"} {
		if !strings.Contains(d.Message, s) {
			t.Errorf("message %q does not name %s", d.Message, s)
		}
	}
	for _, tag := range []string{"license", "GPL-3.0-only", "AGPL-3.0-only", "npm"} {
		if !slices.Contains(d.Tags, tag) {
			t.Errorf("tags %v lack %s", d.Tags, tag)
		}
	}
	if d.Identity != "pkg:npm/gpl-lib@2.1.0|license-denied" {
		t.Errorf("identity %q", d.Identity)
	}
	if u.RuleID != stages.RuleLicenseUnknown || !strings.Contains(u.Message, "nolicense 0.3.0") || !strings.Contains(u.Message, "no license") {
		t.Errorf("unknown finding %+v", u)
	}
	if d.Fingerprint == u.Fingerprint {
		t.Error("two packages share a fingerprint")
	}

	// The fingerprint follows the package, not the run: same input, same
	// fingerprints; another version is another finding.
	again, err := stages.EvaluateLicenses(doc, licDefaultPolicy(stages.LicenseBlock))
	if err != nil {
		t.Fatal(err)
	}
	if again[0].Fingerprint != d.Fingerprint || again[1].Fingerprint != u.Fingerprint {
		t.Error("fingerprints changed between runs")
	}
	bumped, err := stages.EvaluateLicenses(licCDXDoc(licCDXComponent("gpl-lib", "2.2.0", "pkg:npm/gpl-lib@2.2.0", "/web/package-lock.json", licID("GPL-3.0-only"))), licDefaultPolicy(stages.LicenseWarn))
	if err != nil {
		t.Fatal(err)
	}
	if bumped[0].Fingerprint == d.Fingerprint {
		t.Error("another version kept the fingerprint")
	}
}

func TestEvaluateLicensesSkipsNonPackages(t *testing.T) {
	doc := []byte(`{"bomFormat":"CycloneDX","specVersion":"1.6",
		"metadata":{"component":{"bom-ref":"root","type":"application","name":"app"}},
		"components":[
		 {"bom-ref":"root","type":"application","name":"app"},
		 {"bom-ref":"f1","type":"file","name":"/go.mod"},
		 {"bom-ref":"os","type":"operating-system","name":"debian","version":"12"},
		 {"bom-ref":"lib","type":"library","name":"nested-parent","licenses":[{"license":{"id":"MIT"}}],
		  "components":[{"bom-ref":"child","type":"library","name":"child","version":"1","purl":"pkg:golang/example.com/child@1"}]}
		]}`)
	fs, err := stages.EvaluateLicenses(doc, licDefaultPolicy(stages.LicenseBlock))
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 1 || !strings.Contains(fs[0].Message, "child") || fs[0].RuleID != stages.RuleLicenseUnknown {
		t.Fatalf("want one unknown finding for the nested child, got %+v", fs)
	}
	if !slices.Contains(fs[0].Tags, "golang") || fs[0].Location.Path != "" {
		t.Errorf("tags %v path %q", fs[0].Tags, fs[0].Location.Path)
	}
	if fs[0].Identity != "pkg:golang/example.com/child@1|license-unknown" {
		t.Errorf("identity %q", fs[0].Identity)
	}
}

func TestEvaluateLicensesNoComponents(t *testing.T) {
	for name, doc := range map[string]string{
		"absent": `{"bomFormat":"CycloneDX","specVersion":"1.6","metadata":{"component":{"type":"file","name":"."}}}`,
		"empty":  `{"bomFormat":"CycloneDX","specVersion":"1.5","components":[]}`,
		"null":   `{"bomFormat":"CycloneDX","specVersion":"1.4","components":null}`,
	} {
		fs, err := stages.EvaluateLicenses([]byte(doc), licDefaultPolicy(stages.LicenseBlock))
		if err != nil || len(fs) != 0 {
			t.Errorf("%s: got %v, %v; want no findings", name, fs, err)
		}
	}
}

func TestEvaluateLicensesRejectsBadInput(t *testing.T) {
	full := string(licCDXDoc(licCDXComponent("a", "1", "pkg:npm/a@1", "/package-lock.json", licID("MIT"))))
	for name, in := range map[string]string{
		"empty":              "",
		"whitespace":         " \n\t",
		"null":               "null",
		"array":              `[{"bomFormat":"CycloneDX"}]`,
		"garbage":            "\x00\x01not json",
		"truncated":          full[:len(full)/2],
		"truncated by one":   full[:len(full)-1],
		"trailing data":      full + `{}`,
		"trailing brace":     full + ` }`,
		"miscased keys":      `{"BomFormat":"CycloneDX","SpecVersion":"1.6","components":[]}`,
		"bomFormat number":   `{"bomFormat":1,"specVersion":"1.6"}`,
		"no bomFormat":       `{"specVersion":"1.6","components":[]}`,
		"SPDX document":      `{"spdxVersion":"SPDX-2.3","dataLicense":"CC0-1.0","SPDXID":"SPDXRef-DOCUMENT","packages":[]}`,
		"wrong bomFormat":    `{"bomFormat":"cyclonedx-json","specVersion":"1.6","components":[]}`,
		"no specVersion":     `{"bomFormat":"CycloneDX","components":[]}`,
		"components object":  `{"bomFormat":"CycloneDX","specVersion":"1.6","components":{}}`,
		"component no name":  `{"bomFormat":"CycloneDX","specVersion":"1.6","components":[{"type":"library"}]}`,
		"component no type":  `{"bomFormat":"CycloneDX","specVersion":"1.6","components":[{"name":"x"}]}`,
		"component null":     `{"bomFormat":"CycloneDX","specVersion":"1.6","components":[null]}`,
		"licenses wrong":     `{"bomFormat":"CycloneDX","specVersion":"1.6","components":[{"type":"library","name":"x","licenses":"MIT"}]}`,
		"syft json":          `{"artifacts":[],"source":{"type":"directory"},"schema":{"version":"16.0.0"}}`,
		"nested too deep":    `{"bomFormat":"CycloneDX","specVersion":"1.6","components":[` + strings.Repeat(`{"type":"library","name":"x","components":[`, 40) + strings.Repeat(`]}`, 40) + `]}`,
		"nested bad element": `{"bomFormat":"CycloneDX","specVersion":"1.6","components":[{"type":"library","name":"x","components":[{"type":"library"}]}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			if fs, err := stages.EvaluateLicenses([]byte(in), licDefaultPolicy(stages.LicenseWarn)); err == nil {
				t.Fatalf("no error, got %v", fs)
			}
		})
	}
}

func TestEvaluateLicensesRejectsBadPolicies(t *testing.T) {
	doc := licCDXDoc()
	for name, lp := range map[string]stages.LicensePolicy{
		"unknown action":     {Unknown: "ignore"},
		"empty allow entry":  {Allow: []string{"MIT", ""}},
		"blank deny entry":   {Deny: []string{"  "}},
		"expression in deny": {Deny: []string{"MIT OR GPL-3.0-only"}},
		"expression allowed": {Allow: []string{"MIT AND Apache-2.0"}},
		"garbage entry":      {Deny: []string{"GPL-3.0-only)"}},
	} {
		if _, err := stages.EvaluateLicenses(doc, lp); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// The default deny list is the one the brief fixes; others reuse it.
func TestDefaultDeniedLicenses(t *testing.T) {
	want := []string{"GPL-2.0", "GPL-2.0-only", "GPL-2.0-or-later", "GPL-2.0+", "GPL-3.0", "GPL-3.0-only",
		"GPL-3.0-or-later", "GPL-3.0+", "AGPL-3.0", "AGPL-3.0-only", "AGPL-3.0-or-later", "AGPL-3.0+"}
	if !slices.Equal(stages.DefaultDeniedLicenses, want) {
		t.Fatalf("DefaultDeniedLicenses = %v", stages.DefaultDeniedLicenses)
	}
	for _, id := range want {
		if f, ok := licEvalOne(t, licDefaultPolicy(stages.LicenseAllow), licExpr(id)); !ok || f.RuleID != stages.RuleLicenseDenied {
			t.Errorf("%s is not denied by the default list", id)
		}
	}
}

func FuzzEvaluateLicenses(f *testing.F) {
	for _, seed := range []string{
		string(licCDXDoc(licCDXComponent("a", "1", "pkg:npm/a@1", "/package-lock.json", licExpr("(MIT OR GPL-3.0-only) AND Apache-2.0 WITH LLVM-exception")))),
		string(licCDXDoc(licCDXComponent("b", "2", "pkg:npm/b@2", "/x", licName("GPL-2.0+"), licID("mit")))),
		`{"bomFormat":"CycloneDX","specVersion":"1.6","components":[{"type":"library","name":"x","components":[{"type":"library","name":"y"}]}]}`,
		`{"bomFormat":"CycloneDX","specVersion":"1.6","components":[{"type":"library","name":"x","licenses":[{"expression":"((((MIT"}]}]}`,
		`{"bomFormat":"CycloneDX"}`,
		`[]`,
		``,
	} {
		f.Add([]byte(seed))
	}
	if data, err := os.ReadFile("testdata/syft-v1.57.1-npm.cdx.json"); err == nil {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, lp := range []stages.LicensePolicy{
			licDefaultPolicy(stages.LicenseBlock),
			{Allow: []string{"MIT", "Apache-2.0"}, Deny: stages.DefaultDeniedLicenses, Unknown: stages.LicenseWarn},
		} {
			fs, err := stages.EvaluateLicenses(data, lp)
			if err != nil {
				if fs != nil {
					t.Fatalf("error %v with findings %v", err, fs)
				}
				continue
			}
			if !json.Valid(data) {
				t.Fatalf("accepted invalid JSON %q", data)
			}
			for _, f := range fs {
				if err := f.Validate(); err != nil {
					t.Fatal(err)
				}
				if f.Stage != stages.Licenses || f.Fingerprint == "" || f.Message == "" {
					t.Fatalf("bad finding %+v", f)
				}
				switch f.RuleID {
				case stages.RuleLicenseDenied, stages.RuleLicenseNotAllowed, stages.RuleLicenseUnknown:
				default:
					t.Fatalf("unexpected rule %q", f.RuleID)
				}
			}
		}
	})
}

// The testdata/syft-v1.57.1-* SBOMs were written by syft v1.57.1 itself, run
// by the Syft tests with -update-syft-samples over their planted trees (see
// testdata/SOURCES.md).
func TestEvaluateLicensesGenuineSyftSamples(t *testing.T) {
	type w = struct {
		rule string
		sev  findings.Severity
		path string
	}
	for _, tc := range []struct {
		file string
		lp   stages.LicensePolicy
		want map[string]w // by purl
	}{
		{"syft-v1.57.1-npm.cdx.json", licDefaultPolicy(stages.LicenseWarn), map[string]w{
			"pkg:npm/copyleft-widget@2.1.0":      {stages.RuleLicenseDenied, findings.SeverityHigh, "package-lock.json"},
			"pkg:npm/unlabelled-util@0.3.0":      {stages.RuleLicenseUnknown, findings.SeverityLow, "package-lock.json"},
			"pkg:npm/%40corp/internal-sdk@3.0.1": {stages.RuleLicenseUnknown, findings.SeverityLow, "package-lock.json"},
		}},
		{"syft-v1.57.1-npm.cdx.json", licDefaultPolicy(stages.LicenseAllow), map[string]w{
			"pkg:npm/copyleft-widget@2.1.0": {stages.RuleLicenseDenied, findings.SeverityHigh, "package-lock.json"},
		}},
		// An allow list: dual-lib passes through its MIT alternative.
		{"syft-v1.57.1-npm.cdx.json", stages.LicensePolicy{Allow: []string{"MIT"}, Deny: stages.DefaultDeniedLicenses, Unknown: stages.LicenseBlock}, map[string]w{
			"pkg:npm/copyleft-widget@2.1.0":      {stages.RuleLicenseDenied, findings.SeverityHigh, "package-lock.json"},
			"pkg:npm/unlabelled-util@0.3.0":      {stages.RuleLicenseUnknown, findings.SeverityHigh, "package-lock.json"},
			"pkg:npm/%40corp/internal-sdk@3.0.1": {stages.RuleLicenseUnknown, findings.SeverityHigh, "package-lock.json"},
		}},
		// An allow list without MIT and no deny list: every other known
		// license is not allowed (dual-lib's two alternatives included), and
		// packages without a known license pass under Unknown: allow.
		{"syft-v1.57.1-npm.cdx.json", stages.LicensePolicy{Allow: []string{"Apache-2.0"}, Unknown: stages.LicenseAllow}, map[string]w{
			"pkg:npm/copyleft-widget@2.1.0": {stages.RuleLicenseNotAllowed, findings.SeverityMedium, "package-lock.json"},
			"pkg:npm/dual-lib@1.4.0":        {stages.RuleLicenseNotAllowed, findings.SeverityMedium, "package-lock.json"},
			"pkg:npm/is-number@7.0.0":       {stages.RuleLicenseNotAllowed, findings.SeverityMedium, "package-lock.json"},
		}},
		{"syft-v1.57.1-python.cdx.json", licDefaultPolicy(stages.LicenseBlock), map[string]w{
			"pkg:pypi/gplthing@1.2.0": {stages.RuleLicenseDenied, findings.SeverityHigh, "venv/lib/python3.11/site-packages/gplthing-1.2.0.dist-info/METADATA"},
		}},
		{"syft-v1.57.1-go-vendor.cdx.json", licDefaultPolicy(stages.LicenseBlock), map[string]w{
			"pkg:golang/example.com/gplmod@v1.0.0": {stages.RuleLicenseDenied, findings.SeverityHigh, "go.mod"},
		}},
		{"syft-v1.57.1-clean-npm.cdx.json", licDefaultPolicy(stages.LicenseBlock), map[string]w{}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			data, err := os.ReadFile("testdata/" + tc.file)
			if err != nil {
				t.Fatal(err)
			}
			fs, err := stages.EvaluateLicenses(data, tc.lp)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]findings.Finding{}
			for _, f := range fs {
				licCheckFinding(t, f)
				purl, _, _ := strings.Cut(f.Identity, "|")
				if _, dup := got[purl]; dup {
					t.Errorf("two findings for %s", purl)
				}
				got[purl] = f
				if !strings.Contains(f.Message, purl) {
					t.Errorf("message %q does not name %s", f.Message, purl)
				}
			}
			for purl, want := range tc.want {
				f, ok := got[purl]
				if !ok {
					t.Errorf("%s: no finding, want %s", purl, want.rule)
					continue
				}
				if f.RuleID != want.rule || f.Severity != want.sev || f.Location.Path != want.path {
					t.Errorf("%s: got %s %s at %q, want %s %s at %q", purl, f.RuleID, f.Severity, f.Location.Path, want.rule, want.sev, want.path)
				}
			}
			for purl, f := range got {
				if _, ok := tc.want[purl]; !ok {
					t.Errorf("unexpected finding %s %s: %s", purl, f.RuleID, f.Message)
				}
			}
		})
	}
}

// The scanned project's own package is not a dependency; the rule that
// recognises it must not swallow real dependencies.
func TestEvaluateLicensesProjectPackage(t *testing.T) {
	comp := func(name, path string) string {
		return fmt.Sprintf(`{"bom-ref":"ref-%s","type":"library","name":%q,"version":"1","purl":"pkg:npm/%s@1",
			"properties":[{"name":"syft:location:0:path","value":%q}]}`, name, name, name, path)
	}
	doc := func(deps string, comps ...string) []byte {
		return []byte(`{"bomFormat":"CycloneDX","specVersion":"1.7","components":[` + strings.Join(comps, ",") + `],"dependencies":[` + deps + `]}`)
	}
	names := func(fs []findings.Finding) []string {
		var out []string
		for _, f := range fs {
			purl, _, _ := strings.Cut(f.Identity, "|")
			out = append(out, purl)
		}
		slices.Sort(out)
		return out
	}
	lp := licDefaultPolicy(stages.LicenseBlock)
	for _, tc := range []struct {
		name string
		doc  []byte
		want []string
	}{
		{"lockfile root skipped", doc(`{"ref":"ref-app","dependsOn":["ref-a","ref-b"]}`,
			comp("app", "/package-lock.json"), comp("a", "/package-lock.json"), comp("b", "/package-lock.json")),
			[]string{"pkg:npm/a@1", "pkg:npm/b@1"}},
		{"two candidate roots: neither skipped", doc(`{"ref":"ref-app","dependsOn":["ref-a"]},{"ref":"ref-orphan","dependsOn":["ref-a"]}`,
			comp("app", "/package-lock.json"), comp("orphan", "/package-lock.json"), comp("a", "/package-lock.json")),
			[]string{"pkg:npm/a@1", "pkg:npm/app@1", "pkg:npm/orphan@1"}},
		{"no graph: nothing skipped", doc(``,
			comp("a", "/requirements.txt"), comp("b", "/requirements.txt")),
			[]string{"pkg:npm/a@1", "pkg:npm/b@1"}},
		{"one package per manifest: not skipped", doc(`{"ref":"ref-requests","dependsOn":["ref-urllib3"]}`,
			comp("requests", "/site-packages/requests.dist-info/METADATA"), comp("urllib3", "/site-packages/urllib3.dist-info/METADATA")),
			[]string{"pkg:npm/requests@1", "pkg:npm/urllib3@1"}},
		{"root without dependencies: not skipped", doc(`{"ref":"ref-a","dependsOn":["ref-b"]}`,
			comp("lonely", "/package-lock.json"), comp("a", "/package-lock.json"), comp("b", "/package-lock.json")),
			[]string{"pkg:npm/a@1", "pkg:npm/b@1", "pkg:npm/lonely@1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs, err := stages.EvaluateLicenses(tc.doc, lp)
			if err != nil {
				t.Fatal(err)
			}
			if got := names(fs); !slices.Equal(got, tc.want) {
				t.Fatalf("findings for %v, want %v", got, tc.want)
			}
		})
	}
}
