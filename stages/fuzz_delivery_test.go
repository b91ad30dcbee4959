package stages_test

import (
	"path/filepath"
	"testing"

	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/stages"
)

// seedSamples adds every genuine sample matching pattern to the corpus.
func seedSamples(f *testing.F, pattern string) {
	f.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", pattern))
	if err != nil || len(files) == 0 {
		f.Fatalf("no samples match %s: %v", pattern, err)
	}
	for _, file := range files {
		f.Add(readSample(f, file))
	}
}

// validFindings fails on a finding no gate could judge: a parser must
// return an error rather than a half-read result.
func validFindings(t *testing.T, fs []findings.Finding) {
	for _, fd := range fs {
		if err := fd.Validate(); err != nil {
			t.Fatalf("parser returned an invalid finding: %v", err)
		}
	}
}

func FuzzParseWapiti(f *testing.F) {
	seedSamples(f, "wapiti-*.json")
	f.Add([]byte(`{"vulnerabilities":{},"anomalies":{},"additionals":{},"infos":{}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if fs, err := stages.ParseWapiti(data); err == nil {
			validFindings(t, fs)
		}
	})
}

func FuzzParseZAP(f *testing.F) {
	seedSamples(f, "zap-*.json")
	f.Add([]byte(`{"@version":"2.16.1","site":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if fs, err := stages.ParseZAP(data); err == nil {
			validFindings(t, fs)
		}
	})
}

func FuzzParseTrivyImage(f *testing.F) {
	seedSamples(f, "trivy-golden-*-image.json")
	f.Fuzz(func(t *testing.T, data []byte) {
		if fs, _, err := stages.ParseTrivyImage(data); err == nil {
			validFindings(t, fs)
		}
	})
}

func FuzzParseImageConfig(f *testing.F) {
	f.Add([]byte(`{"created":"2026-01-02T03:04:05Z","config":{"User":"10001","Env":["PATH=/usr/bin"]}}`))
	f.Add([]byte(`{"config":{}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		facts, err := stages.ParseImageConfig(data)
		if err != nil {
			return
		}
		img := stages.BuiltImage{Ref: "fuzz", Config: data, BaseRef: "base", BaseConfig: data}
		if fs, err := stages.CheckImageConfig(img, 0, facts.Created.AddDate(0, 0, 1)); err == nil {
			validFindings(t, fs)
		}
	})
}
