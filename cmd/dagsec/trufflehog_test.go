package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/internal/testenv"
	"github.com/dagsec/dagsec/pipeline"
)

// Real trufflehog v3.90.0 beside gitleaks: the planted AWS key pair and the
// database URL are each one finding both found (merged on their line), the
// report says verification did not run (offline), and no value appears in
// any output.
func TestScanTrufflehogBesideGitleaksKeepsNoValue(t *testing.T) {
	testenv.Tool(t, "gitleaks")
	testenv.Tool(t, "trufflehog")
	awsSecret := testenv.AWSSecret
	dir := testenv.GitRepo(t, map[string]string{
		"app/settings.py": "import os\n\nAWS_ACCESS_KEY_ID = \"" + testenv.AWSKeyID + "\"\nAWS_SECRET_ACCESS_KEY = \"" + awsSecret + "\"\n",
		"config/db.env":   "DATABASE_URL=" + testenv.DatabaseURL + "\n",
		// a built program holds strings as data: binaries are skipped
		"bin/prog": "\x7fELF\x00\x00" + testenv.DatabaseURL + "\n",
		// dagsec's own reports are not scanned
		"dagsec-report/old.json": "{\"k\": \"" + testenv.DatabaseURL + "\"}\n",
	})
	out := filepath.Join(t.TempDir(), "report")
	code, stdout, stderr := dagsec(t, "scan", "--stages", "secrets", "--out", out, dir)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s%s", code, stdout, stderr)
	}
	rep, err := pipeline.ReadReportFile(filepath.Join(out, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	row := toolRow(t, rep, "secrets", "trufflehog")
	if row.Error != "" || row.Findings == 0 || !strings.Contains(row.Note, "verification did not run (offline)") || row.Network != "none" {
		t.Errorf("trufflehog row: %+v", row)
	}

	var aws *findings.Finding
	for i, f := range rep.Findings {
		if (f.Tool == "trufflehog" || slices.Contains(f.AlsoFoundBy, "trufflehog")) &&
			(strings.HasPrefix(f.Location.Path, "dagsec-report/") || f.Location.Path == "bin/prog") {
			t.Errorf("trufflehog scanned %s", f.Location.Path)
		}
		if f.Location.Path == "app/settings.py" && f.Location.Line == 3 {
			if aws != nil {
				t.Errorf("two findings on app/settings.py:3: %s/%s and %s/%s", aws.Tool, aws.RuleID, f.Tool, f.RuleID)
			}
			aws = &rep.Findings[i]
		}
	}
	if aws == nil {
		t.Fatalf("no finding on app/settings.py:3: %+v", rep.Findings)
	}
	if tools := append([]string{aws.Tool}, aws.AlsoFoundBy...); !slices.Contains(tools, "gitleaks") || !slices.Contains(tools, "trufflehog") {
		t.Errorf("the AWS key is not one merged finding of gitleaks and trufflehog: %s, also %v", aws.Tool, aws.AlsoFoundBy)
	}
	if aws.Severity != findings.SeverityCritical {
		t.Errorf("merged AWS key severity %s, want critical (gitleaks' copy)", aws.Severity)
	}
	// The database URL: gitleaks' dagsec-database-url-credentials and
	// trufflehog's postgres are one credential-in-URL finding.
	pg := slices.IndexFunc(rep.Findings, func(f findings.Finding) bool {
		return f.Location.Path == "config/db.env" && f.Location.Line == 1
	})
	if pg < 0 {
		t.Fatalf("no finding on config/db.env:1: %+v", rep.Findings)
	}
	if f := rep.Findings[pg]; f.Tool != "gitleaks" || !slices.Equal(f.AlsoFoundBy, []string{"trufflehog"}) || !slices.Contains(f.Tags, "unverified") {
		t.Errorf("config/db.env:1: %s/%s also %v tags %v, want gitleaks' copy merged with trufflehog's unverified one", f.Tool, f.RuleID, f.AlsoFoundBy, f.Tags)
	}
	var entries []os.DirEntry
	values := []string{testenv.AWSKeyID, awsSecret, testenv.DBPassword, awsSecret[len(awsSecret)-12:]}
	entries, err = os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(out, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range values {
			if strings.Contains(string(data), v) {
				t.Errorf("%s holds a secret value (%.4s…)", e.Name(), v)
			}
		}
	}
	for _, v := range values {
		if strings.Contains(stdout+stderr, v) {
			t.Errorf("the output holds a secret value (%.4s…)", v)
		}
	}
}
