package findings_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/internal/samples"
	"github.com/dagsec/dagsec/stages"
)

// govulncheck and osv-scanner on the same module (stages/testdata/SOURCES.md:
// both scanned the "called" module, golang.org/x/text v0.3.0).
func calledModule(t *testing.T) (gv, osv []findings.Finding) {
	t.Helper()
	gv, _, err := stages.ParseGovulncheck(samples.Read(t, "govulncheck-v1.9.0-called.json.gz"), 0)
	if err != nil {
		t.Fatal(err)
	}
	osv, _, err = stages.ParseOSVScannerIn(samples.Read(t, "osv-scanner-v2.6.0-go-offline.json"), "/tmp/dagsec-samples/called")
	if err != nil {
		t.Fatal(err)
	}
	return gv, osv
}

func byRule(fs []findings.Finding, rule string) []findings.Finding {
	var out []findings.Finding
	for _, f := range fs {
		if f.RuleID == rule {
			out = append(out, f)
		}
	}
	return out
}

func TestDedupMergesGovulncheckAndOSVScannerCopies(t *testing.T) {
	gv, osv := calledModule(t)
	in := slices.Concat(gv, osv)
	before := slices.Clone(in)
	out := findings.Dedup(in)
	if !reflect.DeepEqual(in, before) {
		t.Fatal("Dedup changed its input")
	}
	// The five golang.org/x/text advisories are in both reports; the 14
	// standard-library ones only in govulncheck's (osv-scanner skips stdlib).
	if want := len(gv); len(out) != want {
		for _, f := range out {
			t.Logf("%s %s %s %v", f.Tool, f.RuleID, f.Severity, f.AlsoFoundBy)
		}
		t.Fatalf("%d + %d findings deduplicated to %d, want %d", len(gv), len(osv), len(out), want)
	}

	// GO-2021-0113 is called: govulncheck says high, osv-scanner (no
	// severity in the Go database) medium. The high copy is kept.
	got := byRule(out, "GO-2021-0113")
	if len(got) != 1 {
		t.Fatalf("GO-2021-0113: %d findings, want 1", len(got))
	}
	f := got[0]
	osvCopy := byRule(osv, "GO-2021-0113")[0]
	if f.Tool != "govulncheck" || f.Severity != findings.SeverityHigh || f.Location.Path != "main.go" {
		t.Errorf("kept %s %s at %s, want govulncheck's high copy at main.go", f.Tool, f.Severity, f.Location.Path)
	}
	if !slices.Equal(f.AlsoFoundBy, []string{"osv-scanner"}) {
		t.Errorf("AlsoFoundBy %v, want [osv-scanner]", f.AlsoFoundBy)
	}
	if !slices.Equal(f.MergedFingerprints, []string{osvCopy.Fingerprint}) {
		t.Errorf("MergedFingerprints %v, want osv-scanner's %s", f.MergedFingerprints, osvCopy.Fingerprint)
	}
	if f.Fingerprint != byRule(gv, "GO-2021-0113")[0].Fingerprint || f.Message != byRule(gv, "GO-2021-0113")[0].Message {
		t.Error("the kept copy's fingerprint or message changed")
	}
	for _, tag := range []string{"reachable", "called", "Go", "CVE-2021-38561", "GHSA-ppp9-7jff-5vj2"} {
		if !slices.Contains(f.Tags, tag) {
			t.Errorf("merged tags %v lack %q", f.Tags, tag)
		}
	}

	// GO-2020-0015 is not even imported: govulncheck lowers it to low,
	// osv-scanner says medium. The most severe copy wins.
	f = byRule(out, "GO-2020-0015")[0]
	if f.Tool != "osv-scanner" || f.Severity != findings.SeverityMedium || !slices.Equal(f.AlsoFoundBy, []string{"govulncheck"}) {
		t.Errorf("GO-2020-0015: kept %s %s also %v, want osv-scanner medium also [govulncheck]", f.Tool, f.Severity, f.AlsoFoundBy)
	}

	// Output is in Sort order, whatever the input order.
	sorted := slices.Clone(out)
	findings.Sort(sorted)
	if !reflect.DeepEqual(out, sorted) {
		t.Error("output not in Sort order")
	}
	rev := slices.Clone(in)
	slices.Reverse(rev)
	if again := findings.Dedup(rev); !reflect.DeepEqual(again, out) {
		t.Error("reversed input deduplicated differently")
	}
	if again := findings.Dedup(out); !reflect.DeepEqual(again, out) {
		t.Error("Dedup of its own output changed it")
	}
}

// trivyGoModReport is a `trivy fs` report of a go.mod requiring
// golang.org/x/text v0.3.0, in the layout of stages/testdata/trivy-golden-pip.json.
func trivyGoModReport(pkg, version, severity string) []byte {
	return []byte(`{
  "SchemaVersion": 2,
  "ArtifactName": ".",
  "ArtifactType": "repository",
  "Results": [
    {
      "Target": "go.mod",
      "Class": "lang-pkgs",
      "Type": "gomod",
      "Vulnerabilities": [
        {
          "VulnerabilityID": "CVE-2021-38561",
          "PkgName": "` + pkg + `",
          "InstalledVersion": "` + version + `",
          "FixedVersion": "0.3.7",
          "Status": "fixed",
          "PrimaryURL": "https://avd.aquasec.com/nvd/cve-2021-38561",
          "Title": "golang: out-of-bounds read in golang.org/x/text/language leads to DoS",
          "Severity": "` + severity + `",
          "CweIDs": ["CWE-125"]
        }
      ]
    }
  ]
}`)
}

func trivyFindings(t *testing.T, report []byte, stage string) []findings.Finding {
	t.Helper()
	fs, _, err := stages.ParseTrivy(report, stage)
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

// trivy names the CVE, govulncheck and osv-scanner the GO id with the CVE
// as an alias: one issue, three tools.
func TestDedupLinksAliasesAcrossThreeTools(t *testing.T) {
	gv, osv := calledModule(t)
	tv := trivyFindings(t, trivyGoModReport("golang.org/x/text", "v0.3.0", "CRITICAL"), stages.SCA)
	out := findings.Dedup(slices.Concat(byRule(gv, "GO-2021-0113"), byRule(osv, "GO-2021-0113"), tv))
	if len(out) != 1 {
		t.Fatalf("%d findings, want 1", len(out))
	}
	f := out[0]
	if f.Tool != "trivy" || f.RuleID != "CVE-2021-38561" || f.Severity != findings.SeverityCritical {
		t.Errorf("kept %s %s %s, want trivy's critical CVE-2021-38561", f.Tool, f.RuleID, f.Severity)
	}
	if !slices.Equal(f.AlsoFoundBy, []string{"govulncheck", "osv-scanner"}) {
		t.Errorf("AlsoFoundBy %v, want [govulncheck osv-scanner] (sorted)", f.AlsoFoundBy)
	}
	if len(f.MergedFingerprints) != 2 || !slices.IsSorted(f.MergedFingerprints) {
		t.Errorf("MergedFingerprints %v, want two, sorted", f.MergedFingerprints)
	}
	// Tags: trivy's own first, then the others' (aliases, reachability).
	if f.Tags[0] != "vulnerability" || !slices.Contains(f.Tags, "CWE-125") || !slices.Contains(f.Tags, "GHSA-ppp9-7jff-5vj2") || !slices.Contains(f.Tags, "reachable") {
		t.Errorf("tags %v", f.Tags)
	}
}

func TestDedupKeepsDifferentPackagesVersionsAndStagesApart(t *testing.T) {
	_, osv := calledModule(t)
	base := byRule(osv, "GO-2021-0113")
	cases := map[string][]findings.Finding{
		// The same CVE in another package is another issue.
		"other package": trivyFindings(t, trivyGoModReport("example.com/text-fork", "v0.3.0", "HIGH"), stages.SCA),
		// Another version of the package is another copy of it.
		"other version": trivyFindings(t, trivyGoModReport("golang.org/x/text", "v0.3.5", "HIGH"), stages.SCA),
		// The image stage's trivy does not merge with sca's osv-scanner.
		"other stage": trivyFindings(t, trivyGoModReport("golang.org/x/text", "v0.3.0", "HIGH"), stages.Image),
	}
	for name, other := range cases {
		t.Run(name, func(t *testing.T) {
			out := findings.Dedup(slices.Concat(base, other))
			if len(out) != 2 {
				t.Fatalf("%d findings, want 2 (nothing merged)", len(out))
			}
			for _, f := range out {
				if len(f.AlsoFoundBy) > 0 || len(f.MergedFingerprints) > 0 {
					t.Errorf("%s %s merged with %v", f.Tool, f.RuleID, f.AlsoFoundBy)
				}
			}
		})
	}
	// Package names compare as PyPI does; versions without their "v".
	same := trivyFindings(t, trivyGoModReport("Golang.org/X/Text", "0.3.0", "LOW"), stages.SCA)
	if out := findings.Dedup(slices.Concat(base, same)); len(out) != 1 {
		t.Errorf("case and the v prefix kept two copies apart: %d findings", len(out))
	}
}

// One tool's own findings never merge, and a group where a tool shows up
// twice is only merged where paths tell the copies apart.
func TestDedupAmbiguousGroups(t *testing.T) {
	vuln := func(tool, path, msg string) findings.Finding {
		f := findings.Finding{Stage: stages.Image, Tool: tool, RuleID: "CVE-2023-0001", Severity: findings.SeverityHigh,
			Message: msg, Location: findings.Location{Path: path}, Tags: []string{"vulnerability"}}
		f.Fingerprint = findings.Fingerprint(f)
		return f
	}
	twoBinaries := []findings.Finding{
		vuln("trivy", "usr/bin/a", "stdlib@v1.20.0 is affected by CVE-2023-0001"),
		vuln("trivy", "usr/bin/b", "stdlib@v1.20.0 is affected by CVE-2023-0001"),
		vuln("grype", "usr/bin/a", "stdlib@v1.20.0 (go-module) is affected by CVE-2023-0001"),
		vuln("grype", "usr/bin/b", "stdlib@v1.20.0 (go-module) is affected by CVE-2023-0001"),
	}
	out := findings.Dedup(twoBinaries)
	if len(out) != 2 {
		t.Fatalf("%d findings, want 2 (one per binary)", len(out))
	}
	for _, f := range out {
		if f.Tool != "grype" || !slices.Equal(f.AlsoFoundBy, []string{"trivy"}) {
			t.Errorf("%s at %s also %v, want grype also [trivy]", f.Tool, f.Location.Path, f.AlsoFoundBy)
		}
	}
	// Paths that do not tell them apart: nothing merges.
	twoBinaries[3].Location.Path = "usr/bin/c"
	twoBinaries[3].Fingerprint = findings.Fingerprint(twoBinaries[3])
	if out := findings.Dedup(twoBinaries); len(out) != 3 {
		t.Errorf("%d findings, want 3 (a and a merged, b and c kept)", len(out))
	}
	// Two findings linked only through a third without a version.
	a := vuln("trivy", "go.mod", "golang.org/x/text@v0.3.0 is affected by CVE-2023-0001")
	b := vuln("grype", "go.mod", "golang.org/x/text@v0.3.5 (go-module) is affected by CVE-2023-0001")
	c := vuln("govulncheck", "go.mod", "golang.org/x/text has CVE-2023-0001.")
	if out := findings.Dedup([]findings.Finding{a, b, c}); len(out) != 3 {
		t.Errorf("%d findings, want 3: versions v0.3.0 and v0.3.5 are not one issue", len(out))
	}
}

// trivy and tfsec share the Aqua check ids: trivy's AWS-0086 carries the
// tag AVD-AWS-0086, tfsec's rule id. Both scanned the same planted tree
// (stages/testdata/SOURCES.md).
func TestDedupMergesTrivyAndTfsecChecks(t *testing.T) {
	tv := trivyFindings(t, samples.Read(t, "trivy-v0.74.0-config-terraform.json"), stages.IaC)
	tf, err := stages.ParseTfsec(samples.Read(t, "tfsec-v1.28.14-planted.json"), "/tmp/dagsec-iac-samples/planted")
	if err != nil {
		t.Fatal(err)
	}
	out := findings.Dedup(slices.Concat(tv, tf))
	// trivy 10, tfsec 11; ten checks are shared, AVD-AWS-0088 is tfsec's alone.
	if len(tv) != 10 || len(tf) != 11 || len(out) != 11 {
		t.Fatalf("trivy %d + tfsec %d = %d after dedup, want 10 + 11 = 11", len(tv), len(tf), len(out))
	}
	for _, f := range out {
		switch {
		case f.RuleID == "AVD-AWS-0088":
			if f.AlsoFoundBy != nil {
				t.Errorf("AVD-AWS-0088 also found by %v", f.AlsoFoundBy)
			}
		case f.Tool == "tfsec" && !slices.Equal(f.AlsoFoundBy, []string{"trivy"}),
			f.Tool == "trivy" && !slices.Equal(f.AlsoFoundBy, []string{"tfsec"}):
			t.Errorf("%s %s also found by %v", f.Tool, f.RuleID, f.AlsoFoundBy)
		}
	}
	// tfsec rates the open SSH port critical, trivy high.
	for _, f := range out {
		if f.Location.Line == 15 && (f.Tool != "tfsec" || f.Severity != findings.SeverityCritical) {
			t.Errorf("line 15: kept %s %s, want tfsec's critical copy", f.Tool, f.Severity)
		}
	}
	// The same check id on another line is another resource.
	moved := slices.Clone(tf)
	for i := range moved {
		moved[i].Location.Line += 100
	}
	if out := findings.Dedup(slices.Concat(tv, moved)); len(out) != 21 {
		t.Errorf("checks on different lines merged: %d findings, want 21", len(out))
	}
	// Without the alias tag, different rule ids stay apart.
	bare := slices.Clone(tv)
	for i := range bare {
		bare[i].Tags = slices.DeleteFunc(slices.Clone(bare[i].Tags), func(s string) bool { return strings.HasPrefix(s, "AVD-") })
	}
	if out := findings.Dedup(slices.Concat(bare, tf)); len(out) != 21 {
		t.Errorf("rule ids without an alias merged: %d findings, want 21", len(out))
	}
}

// trivySecretReport is a `trivy fs --scanners secret` result with one AWS
// key at config.py line 1, where gitleaks' sample also found one.
const trivySecretReport = `{
  "SchemaVersion": 2,
  "ArtifactName": ".",
  "ArtifactType": "repository",
  "Results": [
    {
      "Target": "config.py",
      "Class": "secret",
      "Secrets": [
        {"RuleID": "aws-access-key-id", "Category": "AWS", "Severity": "CRITICAL", "Title": "AWS Access Key ID", "StartLine": LINE, "EndLine": LINE}
      ]
    }
  ]
}`

func TestDedupMergesSecretsOnOneLine(t *testing.T) {
	gl, err := stages.ParseGitleaks(samples.Read(t, "gitleaks-v8.30.1.json"))
	if err != nil {
		t.Fatal(err)
	}
	at := func(line string) []findings.Finding {
		return trivyFindings(t, []byte(strings.ReplaceAll(trivySecretReport, "LINE", line)), stages.Secrets)
	}
	out := findings.Dedup(slices.Concat(gl, at("1")))
	if len(out) != len(gl) {
		t.Fatalf("%d findings, want %d: trivy's aws-access-key-id is gitleaks' aws-access-token at config.py:1", len(out), len(gl))
	}
	aws := byRule(out, "aws-access-token")
	if len(aws) != 1 || aws[0].Tool != "gitleaks" || !slices.Equal(aws[0].AlsoFoundBy, []string{"trivy"}) || !slices.Contains(aws[0].Tags, "AWS") {
		t.Errorf("merged secret %+v", aws)
	}
	// Another line, or another vendor on the same line: two issues.
	if out := findings.Dedup(slices.Concat(gl, at("3"))); len(out) != len(gl)+1 {
		t.Errorf("secrets on different lines merged")
	}
	other := at("2") // line 2 holds gitleaks' database URL, not an AWS key
	if out := findings.Dedup(slices.Concat(gl, other)); len(out) != len(gl)+1 {
		t.Errorf("secrets of different families merged")
	}
}

// DedupInPlace gives Dedup's findings in its input's own array, and clears
// the copies it merged away.
func TestDedupInPlaceUsesItsInput(t *testing.T) {
	gv, osv := calledModule(t)
	in := slices.Concat(osv, gv)
	want := findings.Dedup(in)
	out := findings.DedupInPlace(in)
	if !reflect.DeepEqual(out, want) {
		t.Fatalf("DedupInPlace gave %d findings, Dedup %d, or different ones", len(out), len(want))
	}
	if len(out) >= len(in) || &out[0] != &in[0] {
		t.Fatalf("%d of %d findings, not a prefix of the input's array", len(out), len(in))
	}
	for i, f := range in[len(out):] {
		if !reflect.DeepEqual(f, findings.Finding{}) {
			t.Errorf("merged-away copy %d left in the array: %s", i, f.RuleID)
		}
	}
	if got := findings.DedupInPlace(nil); got == nil || len(got) != 0 {
		t.Errorf("DedupInPlace(nil) = %#v, want empty", got)
	}
}
