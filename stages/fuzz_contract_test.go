package stages_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/stages"
)

// The scan roots the genuine samples were written in (testdata/SOURCES.md):
// tools that print absolute file names are parsed relative to them, as the
// plans do with their working folder.
const (
	fzGosecRoot = "/tmp/dagsec-sample"
	fzTfsecRoot = "/tmp/dagsec-iac-samples"
	fzOSVRoot   = "/tmp/dagsec-samples"
)

// fzParser is one tool-report parser as a plan calls it. extra is what the
// parser returns besides findings (the database it names), compared for
// determinism.
type fzParser struct {
	stage, tool string
	parse       func([]byte) (fs []findings.Finding, extra any, err error)
}

// fzKeepsAbsolutePaths are the parsers that keep a path the tool wrote as
// it is, beyond a "/src/" mount, "file://" or "./" prefix (srcRelPath and
// relPath, which say "Other absolute paths are left as the tool wrote
// them"): these tools run in the source folder and print relative paths.
var fzKeepsAbsolutePaths = map[string]bool{
	stages.SAST + "/semgrep":        true,
	stages.Dockerfile + "/hadolint": true,
	stages.Secrets + "/gitleaks":    true,
}

func fzNoExtra(p func([]byte) ([]findings.Finding, error)) func([]byte) ([]findings.Finding, any, error) {
	return func(b []byte) ([]findings.Finding, any, error) {
		fs, err := p(b)
		return fs, nil, err
	}
}

// fzParsers lists every parser a plan hands a tool's report to
// (codeplans.go, imageplans.go, dastplans.go).
var fzParsers = []fzParser{
	{stages.Secrets, "gitleaks", fzNoExtra(stages.ParseGitleaks)},
	{stages.SAST, "gosec", fzNoExtra(func(b []byte) ([]findings.Finding, error) { return stages.ParseGosecIn(b, fzGosecRoot) })},
	{stages.SAST, "bandit", fzNoExtra(stages.ParseBandit)},
	{stages.SAST, "semgrep", fzNoExtra(stages.ParseSemgrep)},
	{stages.SCA, "govulncheck", func(b []byte) ([]findings.Finding, any, error) {
		fs, db, err := stages.ParseGovulncheck(b, findings.SeverityLow)
		return fs, db, err
	}},
	{stages.SCA, "osv-scanner", func(b []byte) ([]findings.Finding, any, error) {
		fs, db, err := stages.ParseOSVScannerIn(b, fzOSVRoot)
		return fs, db, err
	}},
	{stages.SCA, "trivy", fzTrivy(stages.SCA)},
	{stages.Licenses, "syft", fzNoExtra(func(b []byte) ([]findings.Finding, error) {
		return stages.EvaluateLicenses(b, stages.LicensePolicy{Deny: stages.DefaultDeniedLicenses, Unknown: stages.LicenseWarn})
	})},
	{stages.IaC, "trivy", fzTrivy(stages.IaC)},
	{stages.IaC, "checkov", fzNoExtra(stages.ParseCheckov)},
	{stages.IaC, "tfsec", fzNoExtra(func(b []byte) ([]findings.Finding, error) { return stages.ParseTfsec(b, fzTfsecRoot) })},
	{stages.Dockerfile, "hadolint", fzNoExtra(stages.ParseHadolint)},
	{stages.Dockerfile, "trivy", fzTrivy(stages.Dockerfile)},
	{stages.Image, "trivy", func(b []byte) ([]findings.Finding, any, error) {
		fs, db, err := stages.ParseTrivyImage(b)
		return fs, db, err
	}},
	{stages.Image, "grype", fzNoExtra(stages.ParseGrype)},
	{stages.Image, "syft", fzNoExtra(stages.ParseImageSBOM)},
	{stages.DAST, "zap", fzNoExtra(stages.ParseZAP)},
	{stages.DAST, "wapiti", fzNoExtra(stages.ParseWapiti)},
}

func fzTrivy(stage string) func([]byte) ([]findings.Finding, any, error) {
	return func(b []byte) ([]findings.Finding, any, error) {
		fs, db, err := stages.ParseTrivy(b, stage)
		return fs, db, err
	}
}

// fzSourceStages report paths inside the scanned source; image and DAST
// findings name paths in an image or on a web site.
var fzSourceStages = map[string]bool{
	stages.Secrets: true, stages.SAST: true, stages.SCA: true,
	stages.Licenses: true, stages.IaC: true, stages.Dockerfile: true,
}

// fzSeedTestdata adds every genuine report in testdata (the samples of
// testdata/SOURCES.md; the gzipped govulncheck streams are left to
// FuzzParseGovulncheck's own corpus, being 580 KB each).
func fzSeedTestdata(f *testing.F) {
	f.Helper()
	var n int
	for _, pattern := range []string{"*.json", "*.sarif"} {
		files, err := filepath.Glob(filepath.Join("testdata", pattern))
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
			n++
		}
	}
	if n == 0 {
		f.Fatal("no samples in testdata")
	}
}

// FuzzToolReports feeds every input to every tool-report parser and checks
// the contract all of them share, whatever the tool:
//
//   - no panic, and the same input gives the same findings, database and
//     error twice (fingerprints and gates must not depend on map order);
//   - an error comes without findings, and its text quotes the report only
//     a value at a time: no run of report bytes longer than 256 or than the
//     longest JSON string or number in it (a parser must not paste a whole
//     report, or a large part of one, into a tool error);
//   - without an error, every finding passes findings.Finding.Validate,
//     names the plan's stage and tool, has a fingerprint unique within the
//     report, and, for the source stages, a path inside the source (relative,
//     forward slashes, no ".."; semgrep, hadolint and gitleaks keep other
//     paths as the tool wrote them, as srcRelPath documents).
func FuzzToolReports(f *testing.F) {
	fzSeedTestdata(f)
	for _, s := range []string{"", "{}", "[]", "null", `{"SchemaVersion":2}`, `{"version":"2.1.0","runs":[]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, p := range fzParsers {
			fzCheckParser(t, p, data)
		}
	})
}

func fzCheckParser(t *testing.T, p fzParser, data []byte) {
	t.Helper()
	name := p.stage + "/" + p.tool
	fs, extra, err := p.parse(bytes.Clone(data))
	fs2, extra2, err2 := p.parse(bytes.Clone(data))
	if (err == nil) != (err2 == nil) || (err != nil && err.Error() != err2.Error()) {
		t.Fatalf("%s: two parses of one report disagree: %v / %v", name, err, err2)
	}
	if !reflect.DeepEqual(fs, fs2) || !reflect.DeepEqual(extra, extra2) {
		t.Fatalf("%s: two parses of one report give different results", name)
	}
	if err != nil {
		if len(fs) != 0 {
			t.Fatalf("%s: %d findings with the error %v", name, len(fs), err)
		}
		if err.Error() == "" {
			t.Fatalf("%s: empty error text", name)
		}
		fzQuotesLittle(t, name, data, err.Error())
		return
	}
	seen := map[string]bool{}
	for i, fd := range fs {
		if err := fd.Validate(); err != nil {
			t.Fatalf("%s: finding %d is invalid: %v", name, i, err)
		}
		if fd.Stage != p.stage || fd.Tool != p.tool {
			t.Fatalf("%s: finding %d is from %s/%s", name, i, fd.Stage, fd.Tool)
		}
		if fd.Fingerprint == "" || seen[fd.Fingerprint] {
			t.Fatalf("%s: finding %d has fingerprint %q, empty or already taken", name, i, fd.Fingerprint)
		}
		seen[fd.Fingerprint] = true
		if fzSourceStages[p.stage] && !fzKeepsAbsolutePaths[name] && fd.Location.Path != "" {
			if q := fd.Location.Path; path.IsAbs(q) || q == ".." || strings.HasPrefix(q, "../") || strings.Contains(q, "\\") {
				t.Fatalf("%s: finding %d path %q is not a path inside the source", name, i, q)
			}
		}
	}
}

// fzQuotesLittle fails when msg holds a run of data's bytes longer than
// 256 and than the longest JSON string or number literal of data.
func fzQuotesLittle(t *testing.T, name string, data []byte, msg string) {
	t.Helper()
	limit := max(256, fzLongestToken(data)+2)
	if len(msg) <= limit {
		return
	}
	s := string(data)
	for i := 0; i+limit < len(msg); i++ {
		if strings.Contains(s, msg[i:i+limit+1]) {
			t.Fatalf("%s: the error quotes more than %d bytes of the report in one piece: %.300q…", name, limit, msg[i:])
		}
	}
}

// fzLongestToken is the length in bytes of data's longest JSON string or
// number literal (with what separates it from the token before), over as
// much of data as is JSON.
func fzLongestToken(data []byte) int {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	longest, prev := 0, int64(0)
	for {
		tok, err := dec.Token()
		if err != nil {
			return longest
		}
		end := dec.InputOffset()
		switch tok.(type) {
		case string, json.Number:
			longest = max(longest, int(end-prev))
		}
		prev = end
	}
}

// FuzzParseImageSBOM checks syft's image SBOM: a document it accepts is a
// JSON CycloneDX SBOM that gives no findings, and one it refuses is refused
// by the licenses stage too (both read CycloneDX the same way).
func FuzzParseImageSBOM(f *testing.F) {
	seedSamples(f, "syft-*.cdx.json")
	f.Add([]byte(`{"bomFormat":"CycloneDX","specVersion":"1.6"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		fs, err := stages.ParseImageSBOM(data)
		if err != nil {
			if fs != nil {
				t.Fatalf("findings with the error %v", err)
			}
			lp := stages.LicensePolicy{Deny: stages.DefaultDeniedLicenses, Unknown: stages.LicenseWarn}
			if _, lerr := stages.EvaluateLicenses(data, lp); lerr == nil {
				t.Fatalf("the image SBOM is refused (%v) but the licenses stage reads it", err)
			}
			return
		}
		if fs == nil || len(fs) != 0 {
			t.Fatalf("an SBOM gave findings %v", fs)
		}
		var head struct{ BOMFormat string }
		if !json.Valid(data) || json.Unmarshal(data, &head) != nil || head.BOMFormat != "CycloneDX" {
			t.Fatalf("accepted something that is not a CycloneDX JSON document: %.200q", data)
		}
	})
}

// FuzzParseVulnDBStamp checks the vulnerability database's VERSION file
// reader: whatever it accepts, written back by Marshal, reads back the same.
func FuzzParseVulnDBStamp(f *testing.F) {
	f.Add(stages.VulnDBStamp{Module: "golang.org/x/vulndb", Version: "v0.0.0-20261105234957-e22db6528018", Entries: 4789}.Marshal())
	f.Add([]byte("golang.org/x/vulndb@v0.0.0-20261105234957-e22db6528018\r\nentries 4789\r\n"))
	f.Add([]byte("golang.org/x/vulndb@v1\nentries 0\n"))
	f.Add([]byte("golang.org/x/vulndb@v1\nentries 99999999999999999999\n"))
	f.Add([]byte("@v1\nentries 1\n"))
	f.Add([]byte("a@b@c\n  entries +7  \n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := stages.ParseVulnDBStamp(data)
		if err != nil {
			return
		}
		if s.Module == "" || s.Version == "" || s.Entries <= 0 {
			t.Fatalf("accepted an incomplete stamp %+v", s)
		}
		back, err := stages.ParseVulnDBStamp(s.Marshal())
		if err != nil {
			t.Fatalf("Marshal of %+v does not read back: %v", s, err)
		}
		if back != s {
			t.Fatalf("round trip changed %+v into %+v", s, back)
		}
		if got := back.String(); got != s.Module+"@"+s.Version {
			t.Fatalf("String() = %q", got)
		}
	})
}
