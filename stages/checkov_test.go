package stages_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/dagsec/dagsec/findings"
	"github.com/dagsec/dagsec/stages"
)

// The checkov samples are genuine `checkov -o json` outputs committed to public
// repositories (see testdata/SOURCES.md):
//
//	checkov-2.2.34-defectdojo-severity.json: DefectDojo/django-DefectDojo
//	  unittests/scans/checkov/checkov-report-severity.json at commit
//	  029409be3bdfdc0fb47cdf247a35228f38c541dd; checkov 2.2.34, one framework
//	  (a single object), severities filled in by the Bridgecrew platform.
//	checkov-3.2.502-cloudshield-trimmed.json: oumayma-aydi/CloudShield
//	  results_json.json at commit 449bfb18298314ad6f94414296c802f7acb9a233;
//	  checkov 3.2.502, several frameworks (a list), open-source severities
//	  (null). Trimmed by whole results only: the terraform report lost two of
//	  its three skipped checks, the kubernetes report its 13 passed checks,
//	  and the later framework reports were dropped; every kept value is as
//	  checkov wrote it.
//	checkov-2.1.87-clean-summary.json: skyfjell/terraform-ci results_json.json
//	  at commit 2a9398657623adfc9a3d4556e68d5b843422c641; the bare summary
//	  checkov 2.1.87 prints when nothing was reported.

func TestParseCheckovGenuineSamples(t *testing.T) {
	const gcs = "gcs.tf"
	for _, tc := range []struct {
		file string
		want []schWant
	}{
		// One framework: CKV_GCP_29 and _62 MEDIUM, _78 LOW, _28 HIGH.
		{"checkov-2.2.34-defectdojo-severity.json", []schWant{
			{"CKV_GCP_29", findings.SeverityMedium, gcs, 1},
			{"CKV_GCP_62", findings.SeverityMedium, gcs, 1},
			{"CKV_GCP_78", findings.SeverityLow, gcs, 1},
			{"CKV_GCP_28", findings.SeverityHigh, gcs, 17},
		}},
		// Several frameworks: one failed check (severity null → high); the
		// passed CKV_AWS_41 and the skipped CKV_AWS_130 are no findings.
		{"checkov-3.2.502-cloudshield-trimmed.json", []schWant{
			{"CKV_K8S_40", findings.SeverityHigh, "k8s/juice-shop.yaml", 13},
		}},
		// Nothing reported: the bare summary.
		{"checkov-2.1.87-clean-summary.json", nil},
	} {
		t.Run(tc.file, func(t *testing.T) {
			data := schSample(t, tc.file)
			fs, err := stages.ParseCheckov(data)
			if err != nil {
				t.Fatal(err)
			}
			if fs == nil {
				t.Fatal("nil findings for a parsed report")
			}
			schCheckWant(t, fs, tc.want)
			schCheckOutput(t, stages.IaC, "checkov", fs, func() ([]findings.Finding, error) { return stages.ParseCheckov(data) })
		})
	}
}

func TestParseCheckovFields(t *testing.T) {
	fs, err := stages.ParseCheckov(schSample(t, "checkov-2.2.34-defectdojo-severity.json"))
	if err != nil {
		t.Fatal(err)
	}
	f := fs[3]
	if f.RuleName != "Ensure that Cloud Storage bucket is not anonymously or publicly accessible" ||
		!strings.Contains(f.Message, "google_storage_bucket_iam_binding.allow_public_read") {
		t.Errorf("rule name %q message %q", f.RuleName, f.Message)
	}
	if f.Location.EndLine != 21 || f.HelpURI != "https://docs.bridgecrew.io/docs/bc_gcp_public_1" {
		t.Errorf("location %+v help %q", f.Location, f.HelpURI)
	}
	tags := strings.Join(f.Tags, ",")
	if !strings.Contains(tags, "terraform") || !strings.Contains(tags, "public") {
		t.Errorf("tags %v", f.Tags)
	}
	// Three checks on one resource: one identity, three rules, three fingerprints.
	if fs[0].Identity != fs[1].Identity || fs[0].Fingerprint == fs[1].Fingerprint {
		t.Errorf("identities %q %q fingerprints %s %s", fs[0].Identity, fs[1].Identity, fs[0].Fingerprint, fs[1].Fingerprint)
	}
}

// Variants of the genuine samples, each changed in one place.
func TestParseCheckovVariants(t *testing.T) {
	single := string(schSample(t, "checkov-2.2.34-defectdojo-severity.json"))
	list := string(schSample(t, "checkov-3.2.502-cloudshield-trimmed.json"))
	var reports []json.RawMessage
	if err := json.Unmarshal([]byte(list), &reports); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, in string
		want     []schWant
	}{
		{"one 3.x framework object alone", string(reports[1]), []schWant{{"CKV_K8S_40", findings.SeverityHigh, "k8s/juice-shop.yaml", 13}}},
		{"terraform report alone (passed and skipped only)", string(reports[0]), nil},
		{"scanned /src itself", strings.ReplaceAll(single, `"/tf/gcs.tf"`, `"/src/gcs.tf"`), []schWant{
			{"CKV_GCP_29", findings.SeverityMedium, "gcs.tf", 1}, {"CKV_GCP_62", findings.SeverityMedium, "gcs.tf", 1},
			{"CKV_GCP_78", findings.SeverityLow, "gcs.tf", 1}, {"CKV_GCP_28", findings.SeverityHigh, "gcs.tf", 17}}},
		{"scanned a subfolder of /src", strings.ReplaceAll(list, "/home/oumayma/CloudShield/", "/src/deploy/"),
			[]schWant{{"CKV_K8S_40", findings.SeverityHigh, "deploy/k8s/juice-shop.yaml", 13}}},
		{"CRITICAL", strings.Replace(single, `"severity":"HIGH"`, `"severity":"CRITICAL"`, 1), []schWant{
			{"CKV_GCP_29", findings.SeverityMedium, "gcs.tf", 1}, {"CKV_GCP_62", findings.SeverityMedium, "gcs.tf", 1},
			{"CKV_GCP_78", findings.SeverityLow, "gcs.tf", 1}, {"CKV_GCP_28", findings.SeverityCritical, "gcs.tf", 17}}},
		{"INFO", strings.Replace(single, `"severity":"LOW"`, `"severity":"INFO"`, 1), []schWant{
			{"CKV_GCP_29", findings.SeverityMedium, "gcs.tf", 1}, {"CKV_GCP_62", findings.SeverityMedium, "gcs.tf", 1},
			{"CKV_GCP_78", findings.SeverityInfo, "gcs.tf", 1}, {"CKV_GCP_28", findings.SeverityHigh, "gcs.tf", 17}}},
		{"quiet mode (failed checks only)", `{"check_type": "kubernetes", "results": {"failed_checks": ` +
			failedChecksOf(t, reports[1]) + `}, "summary": {"passed": 13, "failed": 1, "skipped": 0, "parsing_errors": 0, "resource_count": 6, "checkov_version": "3.2.502"}}`,
			[]schWant{{"CKV_K8S_40", findings.SeverityHigh, "k8s/juice-shop.yaml", 13}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs, err := stages.ParseCheckov([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			schCheckWant(t, fs, tc.want)
		})
	}
}

func failedChecksOf(t *testing.T, report json.RawMessage) string {
	t.Helper()
	var r struct {
		Results struct {
			FailedChecks json.RawMessage `json:"failed_checks"`
		} `json:"results"`
	}
	if err := json.Unmarshal(report, &r); err != nil {
		t.Fatal(err)
	}
	return string(r.Results.FailedChecks)
}

func TestParseCheckovFingerprintSurvivesLineMove(t *testing.T) {
	orig := string(schSample(t, "checkov-3.2.502-cloudshield-trimmed.json"))
	a, err := stages.ParseCheckov([]byte(orig))
	if err != nil {
		t.Fatal(err)
	}
	b, err := stages.ParseCheckov([]byte(strings.ReplaceAll(orig, `"file_line_range": [13, 46]`, `"file_line_range": [113, 146]`)))
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 1 || b[0].Location.Line != 113 || b[0].Fingerprint != a[0].Fingerprint {
		t.Errorf("before %+v after %+v", a, b)
	}
}

func TestParseCheckovRejectsBadReports(t *testing.T) {
	single := string(schSample(t, "checkov-2.2.34-defectdojo-severity.json"))
	list := string(schSample(t, "checkov-3.2.502-cloudshield-trimmed.json"))
	clean := string(schSample(t, "checkov-2.1.87-clean-summary.json"))
	check := func(fields string) string {
		return `{"check_type": "terraform", "results": {"failed_checks": [{` + fields + `}]}}`
	}
	for name, in := range map[string]string{
		"empty":                 "",
		"whitespace":            "\n ",
		"garbage":               "\x00\x01not json",
		"null":                  "null",
		"number":                "42",
		"string":                `"results"`,
		"empty list":            "[]",
		"empty object":          "{}",
		"list of nothing":       "[{}]",
		"list of numbers":       "[1, 2]",
		"truncated object":      single[:len(single)/2],
		"truncated list":        list[:len(list)-40],
		"trailing data":         single + "{}",
		"two lists":             list + list,
		"summary says failed":   strings.Replace(clean, `"failed": 0`, `"failed": 2`, 1),
		"summary parse errors":  strings.Replace(clean, `"parsing_errors": 0`, `"parsing_errors": 1`, 1),
		"summaries in a list":   "[" + clean + ", " + clean + "]",
		"summary and report":    "[" + clean + ", " + single + "]",
		"parsing errors":        strings.Replace(single, "\"parsing_errors\":[\n          \n       ]", "\"parsing_errors\":[\n          \"/tf/broken.tf\"\n       ]", 1),
		"summary count differs": strings.Replace(single, `"failed":4`, `"failed":5`, 1),
		// --quiet drops "parsing_errors" from results; the summary still counts them.
		"quiet with parse errors": `{"check_type": "terraform", "results": {"failed_checks": []}, "summary": {"passed": 0, "failed": 0, "skipped": 0, "parsing_errors": 1, "resource_count": 0, "checkov_version": "3.2.255"}}`,
		"no check_type":           `{"results": {"failed_checks": []}}`,
		"empty check_type":        `{"check_type": "", "results": {"failed_checks": []}}`,
		"no results":              `{"check_type": "terraform", "summary": {"failed": 0}}`,
		"no failed_checks":        `{"check_type": "terraform", "results": {"passed_checks": []}}`,
		"null failed_checks":      `{"check_type": "terraform", "results": {"failed_checks": null}}`,
		"failed_checks object":    `{"check_type": "terraform", "results": {"failed_checks": {}}}`,
		"results a list":          `{"check_type": "terraform", "results": []}`,
		"check without id":        check(`"file_path": "/main.tf", "file_line_range": [1, 2]`),
		"check without file":      check(`"check_id": "CKV_AWS_20", "file_line_range": [1, 2]`),
		"passed among failed":     check(`"check_id": "CKV_AWS_20", "file_path": "/main.tf", "check_result": {"result": "PASSED"}`),
		"unknown severity":        check(`"check_id": "CKV_AWS_20", "file_path": "/main.tf", "severity": "SEVERE"`),
		"severity a number":       check(`"check_id": "CKV_AWS_20", "file_path": "/main.tf", "severity": 3`),
		"lines as strings":        check(`"check_id": "CKV_AWS_20", "file_path": "/main.tf", "file_line_range": ["1", "2"]`),
		"check a string":          `{"check_type": "terraform", "results": {"failed_checks": ["CKV_AWS_20"]}}`,
	} {
		t.Run(name, func(t *testing.T) {
			if in == single || in == list || in == clean {
				t.Fatal("test input unchanged")
			}
			if fs, err := stages.ParseCheckov([]byte(in)); err == nil {
				t.Fatalf("no error, got %d findings", len(fs))
			}
		})
	}
}

func FuzzParseCheckov(f *testing.F) {
	for _, name := range []string{
		"checkov-2.2.34-defectdojo-severity.json",
		"checkov-3.2.502-cloudshield-trimmed.json",
		"checkov-2.1.87-clean-summary.json",
	} {
		f.Add(schSample(f, name))
	}
	f.Add([]byte(`{"check_type": "terraform", "results": {"failed_checks": [{"check_id": "CKV_AWS_20", "file_path": "/main.tf", "file_abs_path": "/src/main.tf", "file_line_range": [3, 1]}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		fs, err := stages.ParseCheckov(data)
		if err != nil {
			return
		}
		for _, x := range fs {
			if x.Validate() != nil || x.Stage != stages.IaC || x.Tool != "checkov" || x.Fingerprint == "" {
				t.Fatalf("bad finding %+v", x)
			}
		}
	})
}
