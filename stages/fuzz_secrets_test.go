package stages_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/stages"
)

// Secret values never appear in any output (README): the secret parsers
// read only where a secret is, never what it is. These targets plant a
// value in every field of a report that can hold the secret, then look for
// it in all that a finding shows (its JSON) and in the error.
//
// Genuine samples holding no real secret are the seeds; the planted value
// comes from the fuzzer, so no corpus file holds anything secret-like.

// fzPlantable reports whether the planted value can be searched for in
// JSON output as is: long enough not to occur by chance, and written by
// encoding/json without escapes.
func fzPlantable(secret string) bool {
	if len(secret) < 8 {
		return false
	}
	q, err := json.Marshal(secret)
	return err == nil && string(q) == `"`+secret+`"`
}

// fzNoSecret fails if secret is in the findings' JSON or in err.
func fzNoSecret(t *testing.T, name, secret string, fs []findings.Finding, err error) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), secret) {
		t.Fatalf("%s: the error shows the secret: %v", name, err)
	}
	out, merr := json.Marshal(fs)
	if merr != nil {
		t.Fatalf("%s: findings do not marshal: %v", name, merr)
	}
	if strings.Contains(string(out), secret) {
		t.Fatalf("%s: a finding shows the secret: %s", name, out)
	}
}

// FuzzParseGitleaksSecret plants the secret in Secret and Match (the
// latter as gitleaks writes it without --redact, and with a partial
// redaction) of every leak of the report.
func FuzzParseGitleaksSecret(f *testing.F) {
	f.Add(readSample(f, "testdata/gitleaks-v8.30.1.json"), "0123456789abcdefXYZ")
	f.Add([]byte(`[{"RuleID":"generic-api-key","File":"a.env","Description":"","Tags":[]}]`), "zq-8kR0-pW2m-9vLd")
	f.Add([]byte(`[{"RuleID":"r","File":"f","Commit":"0123456789abcdef0123"}]`), "REDACTED-suffix-x")
	f.Fuzz(func(t *testing.T, data []byte, secret string) {
		if !fzPlantable(secret) || strings.Contains(string(data), secret) {
			return
		}
		var leaks []map[string]any
		if json.Unmarshal(data, &leaks) != nil {
			return
		}
		for i, l := range leaks {
			if l == nil {
				continue
			}
			l["Secret"] = secret
			switch i % 3 {
			case 0:
				l["Match"] = "api_key = " + secret
			case 1:
				l["Match"] = secret[:len(secret)/2] + "REDACTED" + " " + secret
			default:
				l["Match"] = secret
			}
		}
		report, err := json.Marshal(leaks)
		if err != nil {
			return
		}
		fs, err := stages.ParseGitleaks(report)
		fzNoSecret(t, "gitleaks", secret, fs, err)
	})
}

// FuzzParseTrivySecret plants the secret in what trivy's secret scanner
// writes around each secret (Match, Code.Lines[].Content), and in an image
// report's copy of the image config environment (Metadata.ImageConfig),
// then parses the report for each stage that reads trivy and as an image
// report.
func FuzzParseTrivySecret(f *testing.F) {
	for _, s := range []string{
		"testdata/trivy-defectdojo-misconfigurations-and-secrets.json",
		"testdata/trivy-golden-alpine-310-image.json",
		"testdata/trivy-golden-busybox-with-lockfile-image.json",
	} {
		f.Add(readSample(f, s), "k9-Qz7wLmX2vRt5s")
	}
	f.Add([]byte(`{"SchemaVersion":2,"ArtifactName":"app.tar","ArtifactType":"container_image","Results":[{"Target":"app.tar","Class":"secret","Secrets":[{"RuleID":"generic","Category":"Generic","Severity":"HIGH","Title":"t","StartLine":1,"EndLine":1}]}]}`), "Zm9vYmFyYmF6cXV4")
	f.Fuzz(func(t *testing.T, data []byte, secret string) {
		if !fzPlantable(secret) || strings.Contains(string(data), secret) {
			return
		}
		var r map[string]any
		if json.Unmarshal(data, &r) != nil || r == nil {
			return
		}
		if results, ok := r["Results"].([]any); ok {
			for _, res := range results {
				res, ok := res.(map[string]any)
				if !ok {
					continue
				}
				secrets, ok := res["Secrets"].([]any)
				if !ok {
					continue
				}
				for _, s := range secrets {
					if s, ok := s.(map[string]any); ok {
						s["Match"] = "TOKEN=" + secret
						s["Code"] = map[string]any{"Lines": []any{map[string]any{
							"Number": 1, "Content": "TOKEN=" + secret, "IsCause": true, "Highlighted": "TOKEN=" + secret,
						}}}
					}
				}
			}
		}
		if md, ok := r["Metadata"].(map[string]any); ok {
			md["ImageConfig"] = map[string]any{"config": map[string]any{"Env": []any{"TOKEN=" + secret}}}
		}
		report, err := json.Marshal(r)
		if err != nil {
			return
		}
		for _, stage := range []string{stages.Secrets, stages.SCA, stages.IaC, stages.Dockerfile, stages.Licenses, stages.Image} {
			fs, _, err := stages.ParseTrivy(report, stage)
			fzNoSecret(t, "trivy "+stage, secret, fs, err)
			if err == nil {
				for _, fd := range fs {
					if fd.Stage != stage || fd.Tool != "trivy" || fd.Validate() != nil {
						t.Fatalf("trivy %s: bad finding %+v", stage, fd)
					}
				}
			}
		}
		fs, _, err := stages.ParseTrivyImage(report)
		fzNoSecret(t, "trivy image", secret, fs, err)
	})
}
