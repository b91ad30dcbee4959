package stages_test

import (
	"strings"
	"testing"

	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/stages"
)

// Lines shaped as trufflehog v3.90.0 prints them (`trufflehog filesystem .
// --json`, its output on a planted repository, with the values replaced).
const (
	thFS  = `{"SourceMetadata":{"Data":{"Filesystem":{"file":"app/settings.py","line":3}}},"SourceID":1,"SourceType":15,"SourceName":"trufflehog - filesystem","DetectorType":2,"DetectorName":"AWS","DetectorDescription":"AWS","DecoderName":"PLAIN","Verified":%s,"VerificationFromCache":false,"Raw":"VALUE-1","RawV2":"VALUE-1:VALUE-2","Redacted":"VALUE-1","ExtraData":{"account":"ACCT98765"},"StructuredData":null%s}`
	thGit = `{"SourceMetadata":{"Data":{"Git":{"commit":"0123456789abcdef0123","file":"db.env","email":"a <a@b>","repository":"file://.","timestamp":"2026-01-01 00:00:00 +0000","line":1}}},"DetectorName":"Postgres","DecoderName":"BASE64","Verified":false,"Raw":"VALUE-3"}`
)

func thLine(verified, extra string) string {
	return strings.NewReplacer("%s", "").Replace(strings.Replace(strings.Replace(thFS, "%s", verified, 1), "%s", extra, 1))
}

func TestParseTrufflehog(t *testing.T) {
	tests := []struct {
		name     string
		report   string
		verified bool // verification ran
		want     findings.Severity
		rule     string
		path     string
		line     int
		msg      string
		err      string
	}{
		{"verified live", thLine("true", ""), true, findings.SeverityCritical, "aws", "app/settings.py", 3, "verified live", ""},
		{"verification off", thLine("false", ""), false, findings.SeverityHigh, "aws", "app/settings.py", 3, "verification did not run", ""},
		{"verification failed", thLine("false", `,"VerificationError":"timeout"`), true, findings.SeverityHigh, "aws", "app/settings.py", 3, "verification failed", ""},
		{"found not live", thLine("false", ""), true, findings.SeverityMedium, "aws", "app/settings.py", 3, "not live", ""},
		{"git history", thGit, false, findings.SeverityHigh, "postgres", "db.env", 1, "(commit 0123456789ab)", ""},
		{"empty report", "", false, 0, "", "", 0, "", ""},
		{"truncated line", thLine("true", "")[:120], false, 0, "", "", 0, "", "line 1: not a JSON result"},
		{"not a result", `{"level":"info-0","msg":"running source"}`, false, 0, "", "", 0, "", "not a trufflehog result"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs, err := stages.ParseTrufflehog([]byte(tt.report+"\n"), tt.verified)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				if strings.Contains(err.Error(), "VALUE") {
					t.Errorf("the error quotes the report: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.rule == "" {
				if len(fs) != 0 {
					t.Fatalf("want no finding, got %+v", fs)
				}
				return
			}
			if len(fs) != 1 {
				t.Fatalf("want one finding, got %+v", fs)
			}
			f := fs[0]
			if f.Severity != tt.want || f.RuleID != tt.rule || f.Location.Path != tt.path || f.Location.Line != tt.line ||
				!strings.Contains(f.Message, tt.msg) || f.Fingerprint == "" || f.Tool != "trufflehog" {
				t.Errorf("got %s %s %s:%d %q %q", f.Severity, f.RuleID, f.Location.Path, f.Location.Line, f.Message, f.Fingerprint)
			}
			if err := f.Validate(); err != nil {
				t.Error(err)
			}
			for _, s := range []string{f.Message, f.Identity, f.RuleName, strings.Join(f.Tags, ",")} {
				if strings.Contains(s, "VALUE") || strings.Contains(s, "ACCT") {
					t.Errorf("a value was kept: %q", s)
				}
			}
		})
	}
}

func TestTrufflehogRulesShareGitleaksFamilies(t *testing.T) {
	for detector, want := range map[string]string{"AWS": "aws", "PrivateKey": "private-key", "GitHub": "github", "Slack": "slack", "Postgres": "postgres"} {
		if got := stages.TrufflehogRule(detector); got != want {
			t.Errorf("%s: rule %q, want %q", detector, got, want)
		}
	}
}
